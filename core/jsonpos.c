/*
 * jsonpos.c - line:col of every node of a cJSON tree (pure: no fd, no clock).
 *
 * cJSON keeps object members and array items in document order, duplicate
 * keys included, so a recursive-descent pass over the same text meets the
 * nodes in the order of a depth-first walk of the tree.  The pass only runs on
 * text that cJSON accepted, and it skips exactly what cJSON skips (every byte
 * <= 32 is blank, a leading UTF-8 BOM, a number is a run of [0-9+-.eE]), so it
 * needs no error reporting of its own: a disagreement is a bug, reported as
 * -EINVAL.  Any thread.
 */
#include "jsonpos.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cJSON refuses deeper documents (CJSON_NESTING_LIMIT); never recurse past. */
#define JSONPOS_MAX_DEPTH 1100

struct walker {
	const unsigned char *s;
	size_t len, off;
	unsigned line;
	size_t line_start;          /* offset of the first byte of `line` */
	struct jsonpos_table *t;
};

static void step(struct walker *w)
{
	if (w->s[w->off] == '\n') {
		w->line++;
		w->line_start = w->off + 1;
	}
	w->off++;
}

static unsigned col_here(const struct walker *w)
{
	return (unsigned)(w->off - w->line_start + 1);
}

static bool at(const struct walker *w, unsigned char c)
{
	return w->off < w->len && w->s[w->off] == c;
}

static void skip_blank(struct walker *w)
{
	while (w->off < w->len && w->s[w->off] <= 32)
		step(w);
}

/* From the opening quote past the closing one, as cJSON's parse_string
 * delimits a string (a backslash takes the next byte with it). */
static int skip_string(struct walker *w, bool *nul)
{
	*nul = false;
	if (!at(w, '"'))
		return -EINVAL;
	step(w);
	while (w->off < w->len && w->s[w->off] != '"') {
		if (w->s[w->off] == '\\') {
			if (w->len - w->off > 5 && w->s[w->off + 1] == 'u' &&
			    memcmp(w->s + w->off + 2, "0000", 4) == 0)
				*nul = true;
			step(w);
			if (w->off >= w->len)
				return -EINVAL;
		}
		step(w);
	}
	if (w->off >= w->len)
		return -EINVAL;
	step(w);
	return 0;
}

/* Append an entry for `node` at the current offset; its index in *idx. */
static int record(struct walker *w, const cJSON *node, bool has_key,
		  unsigned key_line, unsigned key_col, bool key_nul, size_t *idx)
{
	struct jsonpos_table *t = w->t;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct jsonpos *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	struct jsonpos *p = &t->v[t->n];
	p->node = node;
	p->line = w->line;
	p->col = col_here(w);
	p->key_line = has_key ? key_line : p->line;
	p->key_col = has_key ? key_col : p->col;
	p->nul = false;
	p->key_nul = has_key && key_nul;
	*idx = t->n++;
	return 0;
}

static int walk_value(struct walker *w, const cJSON *node, bool has_key,
		      unsigned key_line, unsigned key_col, bool key_nul,
		      unsigned depth);

/* Members of an object or items of an array, after the opening bracket. */
static int walk_children(struct walker *w, const cJSON *node, bool object,
			 unsigned depth)
{
	const unsigned char close = object ? '}' : ']';
	const cJSON *child = node->child;
	int r;

	step(w);
	skip_blank(w);
	if (at(w, close)) {
		step(w);
		return child ? -EINVAL : 0;
	}
	for (;;) {
		unsigned kl = 0, kc = 0;
		bool knul = false;

		if (!child)
			return -EINVAL;
		skip_blank(w);
		if (object) {
			kl = w->line;
			kc = col_here(w);
			r = skip_string(w, &knul);
			if (r < 0)
				return r;
			skip_blank(w);
			if (!at(w, ':'))
				return -EINVAL;
			step(w);
			skip_blank(w);
		}
		r = walk_value(w, child, object, kl, kc, knul, depth + 1);
		if (r < 0)
			return r;
		skip_blank(w);
		child = child->next;
		if (at(w, ',')) {
			step(w);
			continue;
		}
		if (!at(w, close))
			return -EINVAL;
		step(w);
		return child ? -EINVAL : 0;
	}
}

static int skip_literal(struct walker *w, const char *lit)
{
	size_t n = strlen(lit);

	if (w->len - w->off < n || memcmp(w->s + w->off, lit, n) != 0)
		return -EINVAL;
	while (n--)
		step(w);
	return 0;
}

static int walk_value(struct walker *w, const cJSON *node, bool has_key,
		      unsigned key_line, unsigned key_col, bool key_nul,
		      unsigned depth)
{
	size_t idx;
	bool nul;
	int r;

	if (depth > JSONPOS_MAX_DEPTH || w->off >= w->len || !node)
		return -EINVAL;
	r = record(w, node, has_key, key_line, key_col, key_nul, &idx);
	if (r < 0)
		return r;

	switch (w->s[w->off]) {
	case '"':
		if (!cJSON_IsString(node))
			return -EINVAL;
		r = skip_string(w, &nul);
		w->t->v[idx].nul = nul;
		return r;
	case '{':
		if (!cJSON_IsObject(node))
			return -EINVAL;
		return walk_children(w, node, true, depth);
	case '[':
		if (!cJSON_IsArray(node))
			return -EINVAL;
		return walk_children(w, node, false, depth);
	case 'n':
		return cJSON_IsNull(node) ? skip_literal(w, "null") : -EINVAL;
	case 't':
		return cJSON_IsTrue(node) ? skip_literal(w, "true") : -EINVAL;
	case 'f':
		return cJSON_IsFalse(node) ? skip_literal(w, "false") : -EINVAL;
	default:
		if (!cJSON_IsNumber(node))
			return -EINVAL;
		while (w->off < w->len && w->s[w->off] != '\0' &&
		       strchr("0123456789+-.eE", w->s[w->off]))
			step(w);
		return 0;
	}
}

static int by_node(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct jsonpos *)a)->node;
	uintptr_t y = (uintptr_t)((const struct jsonpos *)b)->node;

	return (x > y) - (x < y);
}

int jsonpos_build(struct jsonpos_table *t, const char *text, size_t len,
		  const cJSON *root)
{
	struct walker w = {
		.s = (const unsigned char *)text, .len = len, .line = 1, .t = t,
	};
	int r;

	t->v = NULL;
	t->n = t->cap = 0;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		w.off = 3;
	skip_blank(&w);
	r = walk_value(&w, root, false, 0, 0, false, 0);
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), by_node);
	return r;
}

const struct jsonpos *jsonpos_find(const struct jsonpos_table *t,
				   const cJSON *node)
{
	struct jsonpos key = { .node = node };

	if (!t || !t->n)
		return NULL;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), by_node);
}

void jsonpos_free(struct jsonpos_table *t)
{
	if (!t)
		return;
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

void jsonpos_linecol(const char *text, size_t len, size_t off,
		     unsigned *line, unsigned *col)
{
	size_t line_start = 0;
	unsigned l = 1;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			line_start = i + 1;
		}
	}
	*line = l;
	*col = (unsigned)(off - line_start + 1);
}
