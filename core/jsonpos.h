/*
 * jsonpos.h - where each cJSON node stands in its source text (pure: no fd,
 * no clock).  cJSON keeps no positions; jsonpos_build() walks the raw text a
 * second time, in step with a tree that cJSON accepted, and records line:col
 * for every value and every object key.  Any thread; a table belongs to its
 * caller.
 */
#ifndef ARW_JSONPOS_H
#define ARW_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct jsonpos {
	const cJSON *node;
	unsigned line, col;         /* first byte of the value, 1-based, bytes */
	unsigned key_line, key_col; /* opening quote of its key; = line, col when none */
	bool nul;                   /* string value that holds a \u0000 escape */
	bool key_nul;               /* key that holds a \u0000 escape */
};

struct jsonpos_table {
	struct jsonpos *v;          /* sorted by node address after a build */
	size_t n, cap;
};

/* Walk `len` bytes of `text`, which cJSON parsed into `root` (with a UTF-8
 * BOM skipped, as cJSON does).  0, -ENOMEM, or -EINVAL when the text and the
 * tree disagree (a bug: the table then holds what was walked so far). */
int jsonpos_build(struct jsonpos_table *t, const char *text, size_t len,
		  const cJSON *root);
/* The entry of `node`, or NULL. */
const struct jsonpos *jsonpos_find(const struct jsonpos_table *t,
				   const cJSON *node);
void jsonpos_free(struct jsonpos_table *t);

/* Line and column (1-based, column in bytes) of byte offset `off`. */
void jsonpos_linecol(const char *text, size_t len, size_t off,
		     unsigned *line, unsigned *col);

#endif
