/*
 * manifest.c - runtime manifests: one file's text in, runtime specs or
 * "file:line:col: message" errors out (the specs themselves are spec.c's).
 *
 * Pure: no fd, no clock.  The only shared state is a mutex around cJSON's
 * parser, which writes a global error slot of its own; everything else lives
 * on the caller's stack, so any thread may call in.  cJSON keeps no
 * positions: jsonpos.c finds them in the text.  Every error of a file is
 * reported, in document order, and a file with any error yields no spec.
 */
#include "manifest.h"
#include "ctl.h"
#include "jsonpos.h"
#include "utf8.h"
#include "jsontext.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* Past this many, one line says how many more there were. */
#define MANIFEST_MAX_ERRORS 100
/* Bytes of a file-supplied string (an id, a key) quoted in a message. */
#define QUOTE_MAX 64

static const struct manifest_defaults builtin_defs = {
	.max_restarts = 3, .window_seconds = 600, .interval_ms = 5000,
};

/* cJSON_Parse* stores its error position in a global (protects nothing else). */
static pthread_mutex_t cjson_parse_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- name tables -------------------------------------------------------- */

static const char *const method_names[] = { "GET", "HEAD", "POST" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const wrapper_keys[] = { "version", "runtimes", NULL };
static const char *const runtime_keys[] = {
	"id", "adapter", "name", "profile", "preset", "modalities",
	"accelerator", "auto_start", "tags", "process", "restart", "fallback", "prefer", NULL,
};
static const char *const process_keys[] = {
	"command", "args", "env", "workdir", "user", "group", "health",
	"stop", "logs", NULL,
};
static const char *const health_keys[] = {
	"url", "tcp", "exec", "method", "expect_status", "expect_body",
	"timeout_ms", "interval_ms", "startup_timeout_ms", "failure_threshold",
	NULL,
};
static const char *const stop_keys[] = { "signal", "timeout_ms", NULL };
static const char *const logs_keys[] = {
	"ring_bytes", "file_max_bytes", "files", NULL,
};
static const char *const fallback_keys[] = { "accelerator", "args", "env", NULL };
static const char *const prefer_names[] = { "stay", "restart" };
static const char *const restart_keys[] = {
	"policy", "max_restarts", "window_seconds", NULL,
};
#define MAX_KEYS 16	/* no key table above is longer */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool manifest_file_ignored(const char *name)
{
	/* '.' covers editor locks (".#x.json") and swap files (".x.json.swp"). */
	if (!name || !name[0] || name[0] == '.')
		return true;
	if (ends_with(name, "~") || ends_with(name, ".swp") ||
	    ends_with(name, ".tmp"))
		return true;
	return !ends_with(name, ".json");
}

static bool env_name_valid(const char *s)
{
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      s[0] == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* ---- results -------------------------------------------------------------- */

static void free_specs(struct rt_spec **specs, size_t n)
{
	if (!specs)
		return;
	for (size_t i = 0; i < n; i++)
		rt_spec_free(specs[i]);
	free(specs);
}

void manifest_result_free(struct manifest_result *res)
{
	if (!res)
		return;
	free_specs(res->specs, res->nspecs);
	for (size_t i = 0; i < res->nerrors; i++)
		free(res->errors[i]);
	free(res->errors);
	memset(res, 0, sizeof(*res));
}

static int result_append(struct manifest_result *res, char *line)
{
	char **v = realloc(res->errors, (res->nerrors + 1) * sizeof(*v));

	if (!v) {
		free(line);
		return -ENOMEM;
	}
	res->errors = v;
	res->errors[res->nerrors++] = line;
	free_specs(res->specs, res->nspecs);
	res->specs = NULL;
	res->nspecs = 0;
	return 0;
}

int manifest_add_error(struct manifest_result *res, const char *file,
		       unsigned line, unsigned col, const char *fmt, ...)
{
	char *msg, *full;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = asprintf(&full, "%s:%u:%u: %s", file ? file : "(manifest)", line,
		     col, msg);
	free(msg);
	if (r < 0)
		return -ENOMEM;
	return result_append(res, full);
}

/* ---- checking ------------------------------------------------------------- */

struct perr {
	unsigned line, col;
	size_t seq;             /* order of discovery, to keep sorting stable */
	char *msg;
};

struct ctx {
	const char *file;
	const struct manifest_defaults *defs;
	struct jsonpos_table pos;
	struct perr *errs;
	size_t nerrs, cap;
	bool oom;
};

__attribute__((format(printf, 4, 0)))
static void verr(struct ctx *c, unsigned line, unsigned col, const char *fmt,
		 va_list ap)
{
	char *msg;

	if (c->nerrs == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct perr *v = realloc(c->errs, cap * sizeof(*v));

		if (!v) {
			c->oom = true;
			return;
		}
		c->errs = v;
		c->cap = cap;
	}
	if (vasprintf(&msg, fmt, ap) < 0) {
		c->oom = true;
		return;
	}
	c->errs[c->nerrs] = (struct perr){
		.line = line, .col = col, .seq = c->nerrs, .msg = msg,
	};
	c->nerrs++;
}

__attribute__((format(printf, 4, 5)))
static void err_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, line, col, fmt, ap);
	va_end(ap);
}

/* At the value of `n` (for an object: its opening brace). */
__attribute__((format(printf, 3, 4)))
static void err_val(struct ctx *c, const cJSON *n, const char *fmt, ...)
{
	const struct jsonpos *p = jsonpos_find(&c->pos, n);
	va_list ap;

	va_start(ap, fmt);
	verr(c, p ? p->line : 1, p ? p->col : 1, fmt, ap);
	va_end(ap);
}

/* At the key of object member `n`. */
__attribute__((format(printf, 3, 4)))
static void err_key(struct ctx *c, const cJSON *n, const char *fmt, ...)
{
	const struct jsonpos *p = jsonpos_find(&c->pos, n);
	va_list ap;

	va_start(ap, fmt);
	verr(c, p ? p->key_line : 1, p ? p->key_col : 1, fmt, ap);
	va_end(ap);
}

/* A file-supplied string made fit to stand between quotes on one line:
 * escaped like JSON, cut after QUOTE_MAX bytes (not inside a UTF-8 sequence). */
struct qbuf {
	char b[QUOTE_MAX * 6 + 16];
};

static const char *q(struct qbuf *qb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *o = qb->b;
	size_t i;

	for (i = 0; p[i]; i++) {
		unsigned char ch = p[i];

		/* A UTF-8 sequence is at most 4 bytes: finish it, no more. */
		if (i >= QUOTE_MAX && ((ch & 0xC0) != 0x80 || i >= QUOTE_MAX + 3))
			break;

		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (ch == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (ch == '\r') {
			*o++ = '\\';
			*o++ = 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			o += sprintf(o, "\\u%04x", ch);
		} else {
			*o++ = (char)ch;
		}
	}
	if (p[i])
		o += sprintf(o, "...");
	*o = '\0';
	return qb->b;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	for (const cJSON *n = obj->child; n; n = n->next)
		if (n->string && strcmp(n->string, key) == 0)
			return n;
	return NULL;
}

static const char *leaf(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

static void set_str(struct ctx *c, char **dst, const char *v)
{
	char *d = strdup(v);

	if (!d) {
		c->oom = true;
		return;
	}
	free(*dst);
	*dst = d;
}

/* Unknown and repeated keys of a fixed-shape object; `where` names it in
 * messages ("process.health"), NULL for a runtime or the file itself. */
static void check_keys(struct ctx *c, const cJSON *obj,
		       const char *const *known, const char *where)
{
	const cJSON *first[MAX_KEYS] = { 0 };
	struct qbuf qb;

	for (const cJSON *n = obj->child; n; n = n->next) {
		const char *key = n->string ? n->string : "";
		size_t k;

		for (k = 0; known[k] && strcmp(known[k], key) != 0; k++)
			;
		if (!known[k]) {
			if (where)
				err_key(c, n, "unknown field \"%s\" in %s", q(&qb, key), where);
			else
				err_key(c, n, "unknown field \"%s\"", q(&qb, key));
		} else if (first[k]) {
			if (where)
				err_key(c, n, "duplicate field \"%s\" in %s", key, where);
			else
				err_key(c, n, "duplicate field \"%s\"", key);
		} else {
			first[k] = n;
		}
	}
}

static bool is_integer(const cJSON *f)
{
	double d;

	if (!cJSON_IsNumber(f))
		return false;
	d = f->valuedouble;
	if (isnan(d))
		return false;
	/* Beyond 2^63 (and at infinity) every double is whole; the range check
	 * that follows refuses it. */
	if (d >= 9.0e18 || d <= -9.0e18)
		return true;
	return d == (double)(long long)d;
}

/* An optional integer field within [min, max]: true when present and good. */
static bool get_int(struct ctx *c, const cJSON *obj, const char *path,
		    long long min, long long max, long long *out)
{
	const cJSON *f = field(obj, leaf(path));

	if (!f)
		return false;
	if (!is_integer(f)) {
		err_val(c, f, "\"%s\" must be an integer", path);
		return false;
	}
	if (f->valuedouble < (double)min || f->valuedouble > (double)max) {
		err_val(c, f, "\"%s\" must be between %lld and %lld", path, min, max);
		return false;
	}
	*out = (long long)f->valuedouble;
	return true;
}

static void get_int_into(struct ctx *c, const cJSON *obj, const char *path,
			 long long min, long long max, int *out)
{
	long long v;

	if (get_int(c, obj, path, min, max, &v))
		*out = (int)v;
}

static void get_size_into(struct ctx *c, const cJSON *obj, const char *path,
			  long long min, long long max, size_t *out)
{
	long long v;

	if (get_int(c, obj, path, min, max, &v))
		*out = (size_t)v;
}

/* An optional string field, copied into *dst. */
static const cJSON *get_str(struct ctx *c, const cJSON *obj, const char *path,
			    char **dst)
{
	const cJSON *f = field(obj, leaf(path));

	if (!f)
		return NULL;
	if (!cJSON_IsString(f)) {
		err_val(c, f, "\"%s\" must be a string", path);
		return NULL;
	}
	if (dst)
		set_str(c, dst, f->valuestring);
	return f;
}

/* An optional object field. */
static const cJSON *get_obj(struct ctx *c, const cJSON *obj, const char *path)
{
	const cJSON *f = field(obj, leaf(path));

	if (f && !cJSON_IsObject(f)) {
		err_val(c, f, "\"%s\" must be an object", path);
		return NULL;
	}
	return f;
}

/* An optional string field from a fixed list: its index, or -1. */
static int get_enum(struct ctx *c, const cJSON *obj, const char *path,
		    const char *const *names, size_t n)
{
	const cJSON *f = field(obj, leaf(path));
	char list[160] = "";

	if (!f)
		return -1;
	if (cJSON_IsString(f))
		for (size_t i = 0; i < n; i++)
			if (strcmp(f->valuestring, names[i]) == 0)
				return (int)i;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(list, ", ");
		strcat(list, names[i]);
	}
	err_val(c, f, "\"%s\" must be one of %s", path, list);
	return -1;
}

/* An array of strings into a NULL-terminated vector.  A bad item leaves a
 * NULL hole: the spec is dropped anyway, and frees go by count. */
static void get_strv(struct ctx *c, const cJSON *f, const char *path,
		     char ***out, size_t *nout)
{
	const cJSON *e;
	size_t n = 0, i = 0;
	char **v;

	if (!cJSON_IsArray(f)) {
		err_val(c, f, "\"%s\" must be an array of strings", path);
		return;
	}
	for (e = f->child; e; e = e->next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	for (e = f->child; e; e = e->next, i++) {
		if (!cJSON_IsString(e)) {
			err_val(c, e, "\"%s[%zu]\" must be a string", path, i);
			continue;
		}
		v[i] = strdup(e->valuestring);
		if (!v[i])
			c->oom = true;
	}
	spec_strv_free(*out, *nout);
	*out = v;
	*nout = n;
}

struct member {
	const cJSON *node;
	size_t index;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int r = strcmp(x->node->string, y->node->string);

	if (r)
		return r;
	return (x->index > y->index) - (x->index < y->index);
}

/* Repeated keys of a free-form object (tags, env), found by sorting: such
 * an object may be large. */
static void check_map_dups(struct ctx *c, const cJSON *obj, size_t n,
			   const char *where)
{
	struct member *m;
	struct qbuf qb;
	size_t i = 0;

	if (n < 2)
		return;
	m = malloc(n * sizeof(*m));
	if (!m) {
		c->oom = true;
		return;
	}
	for (const cJSON *e = obj->child; e; e = e->next, i++)
		m[i] = (struct member){ .node = e, .index = i };
	qsort(m, n, sizeof(*m), member_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(m[i].node->string, m[i - 1].node->string) == 0)
			err_key(c, m[i].node, "duplicate field \"%s\" in %s",
				q(&qb, m[i].node->string), where);
	free(m);
}

/* An object of string values (tags, process.env). */
static void get_map(struct ctx *c, const cJSON *f, const char *path, bool env,
		    struct kv **out, size_t *nout)
{
	struct qbuf qb;
	struct kv *kv;
	size_t n = 0, i = 0;

	for (const cJSON *e = f->child; e; e = e->next)
		if (e->string)
			n++;
		else
			return;		/* not from the parser; cannot happen */
	check_map_dups(c, f, n, path);
	kv = calloc(n ? n : 1, sizeof(*kv));
	if (!kv) {
		c->oom = true;
		return;
	}
	spec_kv_free(*out, *nout);
	*out = kv;
	*nout = n;
	for (const cJSON *e = f->child; e; e = e->next, i++) {
		if (env && !env_name_valid(e->string))
			err_key(c, e, "invalid environment variable name \"%s\" in %s",
				q(&qb, e->string), path);
		if (!cJSON_IsString(e)) {
			err_val(c, e, "\"%s.%s\" must be a string", path,
				q(&qb, e->string));
			continue;
		}
		kv[i].key = strdup(e->string);
		kv[i].val = strdup(e->valuestring);
		if (!kv[i].key || !kv[i].val)
			c->oom = true;
	}
}

static bool tcp_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned long port = 0;
	const char *p;

	if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
		return false;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static bool url_valid(const char *s)
{
	return (strncasecmp(s, "http://", 7) == 0 && s[7]) ||
	       (strncasecmp(s, "https://", 8) == 0 && s[8]);
}

/* The kind of check: one of url, tcp, exec. */
static void check_probe_kind(struct ctx *c, const cJSON *h, struct health_spec *hs)
{
	const cJSON *f;
	unsigned nprobes = 0;

	for (const cJSON *n = h->child; n; n = n->next) {
		if (!n->string || (strcmp(n->string, "url") != 0 &&
				   strcmp(n->string, "tcp") != 0 &&
				   strcmp(n->string, "exec") != 0))
			continue;
		if (field(h, n->string) == n && ++nprobes == 2)
			err_key(c, n, "health: only one of url, tcp, exec");
	}
	f = get_str(c, h, "process.health.url", NULL);
	if (f && !url_valid(f->valuestring)) {
		err_val(c, f, "\"process.health.url\" must start with http:// or https://");
	} else if (f) {
		set_str(c, &hs->url, f->valuestring);
		hs->type = PROBE_HTTP;
	}
	f = get_str(c, h, "process.health.tcp", NULL);
	if (f && !tcp_valid(f->valuestring)) {
		err_val(c, f, "\"process.health.tcp\" must be \"host:port\" with a port between 1 and 65535");
	} else if (f) {
		set_str(c, &hs->tcp, f->valuestring);
		hs->type = PROBE_TCP;
	}
	f = field(h, "exec");
	if (f) {
		size_t before = c->nerrs;

		get_strv(c, f, "process.health.exec", &hs->exec, &hs->nexec);
		if (c->nerrs == before && cJSON_IsArray(f)) {
			if (hs->nexec == 0)
				err_val(c, f, "\"process.health.exec\" must not be empty");
			else if (!hs->exec[0][0])
				err_val(c, f->child, "\"process.health.exec[0]\" must not be empty");
			else
				hs->type = PROBE_EXEC;
		}
	}
}

static void check_health(struct ctx *c, const cJSON *h, struct rt_spec *s)
{
	struct health_spec *hs = &s->health;
	int r;

	check_keys(c, h, health_keys, "process.health");
	check_probe_kind(c, h, hs);
	r = get_enum(c, h, "process.health.method", method_names, NELEM(method_names));
	if (r >= 0)
		set_str(c, &hs->method, method_names[r]);
	get_int_into(c, h, "process.health.expect_status", 100, 599, &hs->expect_status);
	get_str(c, h, "process.health.expect_body", &hs->expect_body);
	get_int_into(c, h, "process.health.timeout_ms", 1, 600000, &hs->timeout_ms);
	get_int_into(c, h, "process.health.interval_ms", 100, 3600000, &hs->interval_ms);
	get_int_into(c, h, "process.health.startup_timeout_ms", 0, 86400000,
		     &hs->startup_timeout_ms);
	get_int_into(c, h, "process.health.failure_threshold", 1, 1000,
		     &hs->failure_threshold);
}

static void check_stop(struct ctx *c, const cJSON *st, struct rt_spec *s)
{
	const cJSON *f;
	int sig = 0;

	check_keys(c, st, stop_keys, "process.stop");
	f = field(st, "signal");
	if (f) {
		if (cJSON_IsString(f))
			sig = stop_signal_by_name(f->valuestring);
		else if (is_integer(f) && f->valuedouble >= 1 && f->valuedouble <= 64)
			sig = (int)f->valuedouble;
		if (sig > 0)
			s->stop_signal = sig;
		else
			err_val(c, f, "\"process.stop.signal\" must be a signal name such as TERM or a number between 1 and 64");
	}
	get_int_into(c, st, "process.stop.timeout_ms", 0, 3600000, &s->stop_timeout_ms);
}

static void check_logs(struct ctx *c, const cJSON *l, struct rt_spec *s)
{
	check_keys(c, l, logs_keys, "process.logs");
	get_size_into(c, l, "process.logs.ring_bytes", 1024, 16777216, &s->ring_bytes);
	get_size_into(c, l, "process.logs.file_max_bytes", 0, 1073741824,
		      &s->file_max_bytes);
	get_int_into(c, l, "process.logs.files", 1, 100, &s->log_files);
}

static void check_process(struct ctx *c, const cJSON *p, struct rt_spec *s)
{
	const cJSON *f;

	check_keys(c, p, process_keys, "process");
	f = field(p, "command");
	if (!f)
		err_val(c, p, "missing required field \"process.command\"");
	else if (!cJSON_IsString(f))
		err_val(c, f, "\"process.command\" must be a string");
	else if (!f->valuestring[0])
		err_val(c, f, "\"process.command\" must not be empty");
	else
		set_str(c, &s->command, f->valuestring);
	f = field(p, "args");
	if (f)
		get_strv(c, f, "process.args", &s->args, &s->nargs);
	f = get_obj(c, p, "process.env");
	if (f)
		get_map(c, f, "process.env", true, &s->env, &s->nenv);
	get_str(c, p, "process.workdir", &s->workdir);
	get_str(c, p, "process.user", &s->user);
	get_str(c, p, "process.group", &s->group);
	f = get_obj(c, p, "process.health");
	if (f)
		check_health(c, f, s);
	f = get_obj(c, p, "process.stop");
	if (f)
		check_stop(c, f, s);
	f = get_obj(c, p, "process.logs");
	if (f)
		check_logs(c, f, s);
}

/* "fallback": what to run when the declared accelerator is missing, and
 * "prefer": whether to move back (a counted restart) once it appears. */
static void check_fallback(struct ctx *c, const cJSON *obj, struct rt_spec *s)
{
	const cJSON *fb = get_obj(c, obj, "fallback"), *f;
	int i;

	if ((i = get_enum(c, obj, "prefer", prefer_names, NELEM(prefer_names))) >= 0)
		s->prefer_restart = i == 1;
	if (!fb)
		return;
	check_keys(c, fb, fallback_keys, "fallback");
	s->has_fallback = true;
	s->fb_accelerator = ACCEL_CPU;
	if ((i = get_enum(c, fb, "fallback.accelerator", accel_names, ACCEL_COUNT)) >= 0)
		s->fb_accelerator = (enum accel)i;
	if ((f = field(fb, "args"))) {
		get_strv(c, f, "fallback.args", &s->fb_args, &s->fb_nargs);
		s->fb_args_set = true;
	}
	if ((f = get_obj(c, fb, "fallback.env")))
		get_map(c, f, "fallback.env", true, &s->fb_env, &s->fb_nenv);
}

static void check_restart(struct ctx *c, const cJSON *r, struct rt_spec *s)
{
	int i;

	check_keys(c, r, restart_keys, "restart");
	i = get_enum(c, r, "restart.policy", restart_policy_names, NELEM(restart_policy_names));
	if (i >= 0)
		s->restart_policy = (enum restart_policy)i;
	get_int_into(c, r, "restart.max_restarts", 0, 1000, &s->max_restarts);
	get_int_into(c, r, "restart.window_seconds", 1, 604800, &s->window_seconds);
}

static void check_modalities(struct ctx *c, const cJSON *f, struct rt_spec *s)
{
	unsigned bits = 0;
	size_t i = 0;

	if (!cJSON_IsArray(f)) {
		err_val(c, f, "\"modalities\" must be an array of strings");
		return;
	}
	if (!f->child) {
		err_val(c, f, "\"modalities\" must not be empty");
		return;
	}
	for (const cJSON *e = f->child; e; e = e->next, i++) {
		size_t k;

		if (!cJSON_IsString(e)) {
			err_val(c, e, "\"modalities[%zu]\" must be a string", i);
			continue;
		}
		for (k = 0; k < NELEM(modality_names); k++)
			if (strcmp(e->valuestring, modality_names[k]) == 0)
				break;
		if (k == NELEM(modality_names))
			err_val(c, e, "\"modalities[%zu]\" must be one of text, audio, vision", i);
		else if (bits & modality_bits[k])
			err_val(c, e, "duplicate modality \"%s\"", modality_names[k]);
		else
			bits |= modality_bits[k];
	}
	if (bits)
		s->modalities = bits;
}

/* One runtime object.  NULL only when out of memory: a spec with errors is
 * still returned (and dropped later with the rest of the file). */
/* "id" (required, and where it is, for errors about it later). */
static void check_id(struct ctx *c, const cJSON *obj, struct rt_spec *s)
{
	const cJSON *f = field(obj, "id");
	const struct jsonpos *p;
	struct qbuf qb;

	if (!f) {
		err_val(c, obj, "missing required field \"id\"");
	} else if (!cJSON_IsString(f)) {
		err_val(c, f, "\"id\" must be a string");
	} else if (!rt_id_valid(f->valuestring)) {
		err_val(c, f, "invalid id \"%s\": must match [a-z0-9][a-z0-9._-]{0,63}",
			q(&qb, f->valuestring));
	} else {
		strcpy(s->id, f->valuestring);
		p = jsonpos_find(&c->pos, f);
		s->id_line = p ? p->line : 1;
		s->id_col = p ? p->col : 1;
	}
}

/* "adapter": required, and only "process" exists. */
static void check_adapter(struct ctx *c, const cJSON *obj, struct rt_spec *s)
{
	const cJSON *f = field(obj, "adapter");
	struct qbuf qb;

	if (!f)
		err_val(c, obj, "missing required field \"adapter\"");
	else if (!cJSON_IsString(f))
		err_val(c, f, "\"adapter\" must be a string");
	else if (strcmp(f->valuestring, "process") != 0)
		err_val(c, f, "unsupported adapter \"%s\": only \"process\" is supported",
			q(&qb, f->valuestring));
	else
		set_str(c, &s->adapter, f->valuestring);
}

/* The descriptive fields: name, profile, preset, modalities, accelerator,
 * auto_start, tags. */
static void check_labels(struct ctx *c, const cJSON *obj, struct rt_spec *s)
{
	const cJSON *f;
	int i;

	get_str(c, obj, "name", &s->name);
	get_str(c, obj, "profile", &s->profile);
	get_str(c, obj, "preset", &s->preset);
	f = field(obj, "modalities");
	if (f)
		check_modalities(c, f, s);
	i = get_enum(c, obj, "accelerator", accel_names, ACCEL_COUNT);
	if (i >= 0) {
		s->accelerator = (enum accel)i;
		s->accelerator_set = true;
	}
	f = field(obj, "auto_start");
	if (f) {
		if (cJSON_IsBool(f))
			s->auto_start = cJSON_IsTrue(f);
		else
			err_val(c, f, "\"auto_start\" must be a boolean");
	}
	f = get_obj(c, obj, "tags");
	if (f)
		get_map(c, f, "tags", false, &s->tags, &s->ntags);
}

static struct rt_spec *check_runtime(struct ctx *c, const cJSON *obj)
{
	struct rt_spec *s = rt_spec_new(c->defs);
	const cJSON *f;

	if (!s) {
		c->oom = true;
		return NULL;
	}
	check_keys(c, obj, runtime_keys, NULL);
	check_id(c, obj, s);
	check_adapter(c, obj, s);
	check_labels(c, obj, s);
	f = field(obj, "process");
	if (!f)
		err_val(c, obj, "missing required field \"process\"");
	else if (!cJSON_IsObject(f))
		err_val(c, f, "\"process\" must be an object");
	else
		check_process(c, f, s);
	f = get_obj(c, obj, "restart");
	if (f)
		check_restart(c, f, s);
	check_fallback(c, obj, s);
	if (!s->name)
		set_str(c, &s->name, s->id);
	return s;
}

struct spec_list {
	struct rt_spec **v;
	size_t n, cap;
};

static void spec_list_add(struct ctx *c, struct spec_list *l, struct rt_spec *s)
{
	if (!s)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct rt_spec **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			rt_spec_free(s);
			c->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

static int spec_id_cmp(const void *a, const void *b)
{
	const struct rt_spec *x = *(const struct rt_spec *const *)a;
	const struct rt_spec *y = *(const struct rt_spec *const *)b;
	int r = strcmp(x->id, y->id);

	if (r)
		return r;
	if (x->id_line != y->id_line)
		return x->id_line < y->id_line ? -1 : 1;
	return (x->id_col > y->id_col) - (x->id_col < y->id_col);
}

/* The same id twice in one file; ids across files are the scanner's job. */
static void check_dup_ids(struct ctx *c, const struct spec_list *l)
{
	struct rt_spec **v;

	if (l->n < 2)
		return;
	v = malloc(l->n * sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	memcpy(v, l->v, l->n * sizeof(*v));
	qsort(v, l->n, sizeof(*v), spec_id_cmp);
	for (size_t i = 1, first = 0; i < l->n; i++) {
		if (!v[i]->id[0] || strcmp(v[i]->id, v[first]->id) != 0) {
			first = i;
			continue;
		}
		err_at(c, v[i]->id_line, v[i]->id_col,
		       "duplicate id \"%s\" (first at line %u)", v[i]->id,
		       v[first]->id_line);
	}
	free(v);
}

static void check_document(struct ctx *c, const cJSON *root, struct spec_list *l)
{
	const cJSON *rts, *f;
	size_t i = 0;

	if (!cJSON_IsObject(root)) {
		err_val(c, root, "manifest must be a JSON object");
		return;
	}
	rts = field(root, "runtimes");
	if (!rts) {
		spec_list_add(c, l, check_runtime(c, root));
		return;
	}

	check_keys(c, root, wrapper_keys, NULL);
	f = field(root, "version");
	if (!f) {
		err_val(c, root, "missing required field \"version\"");
	} else if (!is_integer(f)) {
		err_val(c, f, "\"version\" must be an integer");
	} else if (f->valuedouble != 1) {
		if (f->valuedouble > -1e15 && f->valuedouble < 1e15)
			err_val(c, f, "unsupported version %lld", (long long)f->valuedouble);
		else
			err_val(c, f, "unsupported version %g", f->valuedouble);
	}
	if (!cJSON_IsArray(rts)) {
		err_val(c, rts, "\"runtimes\" must be an array");
		return;
	}
	for (const cJSON *e = rts->child; e; e = e->next, i++) {
		if (!cJSON_IsObject(e))
			err_val(c, e, "\"runtimes[%zu]\" must be an object", i);
		else
			spec_list_add(c, l, check_runtime(c, e));
	}
	check_dup_ids(c, l);
}

static int perr_cmp(const void *a, const void *b)
{
	const struct perr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Errors (sorted, capped) or specs into `out`. */
static int finish(struct ctx *c, struct spec_list *l, struct manifest_result *out)
{
	size_t n = c->nerrs < MANIFEST_MAX_ERRORS ? c->nerrs : MANIFEST_MAX_ERRORS;
	int r = 0;

	if (c->oom)
		goto nomem;
	if (!c->nerrs) {
		out->specs = l->v;
		out->nspecs = l->n;
		l->v = NULL;
		l->n = 0;
		return 0;
	}
	qsort(c->errs, c->nerrs, sizeof(*c->errs), perr_cmp);
	for (size_t i = 0; i < n && r == 0; i++)
		r = manifest_add_error(out, c->file, c->errs[i].line, c->errs[i].col,
				       "%s", c->errs[i].msg);
	if (r == 0 && c->nerrs > n)
		r = manifest_add_error(out, c->file, c->errs[n].line, c->errs[n].col,
				       "too many errors, %zu more not shown",
				       c->nerrs - n);
	if (r == 0)
		return -EINVAL;
nomem:
	manifest_result_free(out);
	return -ENOMEM;
}

static bool blank(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", text[i]) || !text[i])
			return false;
	return true;
}

/* What must hold before the text goes to cJSON: a size, some content, no
 * NUL byte (cJSON would end the text there), UTF-8 (strings end up in JSON
 * files of the tree).  False, with the errors in c, when it does not. */
static bool check_bytes(struct ctx *c, const char *text, size_t len)
{
	const char *nul;
	unsigned line, col;
	size_t off;

	if (len > MANIFEST_MAX_BYTES) {
		err_at(c, 1, 1, "file too large (%zu bytes, limit %d)", len, MANIFEST_MAX_BYTES);
		return false;
	}
	if (blank(text, len)) {
		err_at(c, 1, 1, "empty file");
		return false;
	}
	nul = memchr(text, '\0', len);
	if (nul) {
		jsonpos_linecol(text, len, (size_t)(nul - text), &line, &col);
		err_at(c, line, col, "invalid JSON");
		return false;
	}
	for (off = utf8_bad(text, len, 0); off < len; off = utf8_bad(text, len, off + 1)) {
		jsonpos_linecol(text, len, off, &line, &col);
		err_at(c, line, col, "invalid UTF-8 (byte 0x%02x): manifests must be UTF-8",
		       (unsigned char)text[off]);
	}
	return c->nerrs == 0;
}

/* Parse buf (len bytes, NUL after them) into a cJSON tree, or NULL with an
 * error at the place cJSON stopped.
 * cJSON 1.7.15 wants the terminating NUL inside the length it is given, or
 * it places errors at the end one byte early; trailing garbage is checked
 * here rather than by require_null_terminated, for the same reason.  cJSON
 * cannot tell a failed allocation from bad syntax: out of memory, a good
 * file reads as "invalid JSON", and is refused, which keeps what runs
 * running. */
static cJSON *parse_json(struct ctx *c, const char *buf, size_t len)
{
	const char *end = NULL;
	unsigned line, col;
	cJSON *root;
	size_t off;

	pthread_mutex_lock(&cjson_parse_lock);
	root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 0);
	pthread_mutex_unlock(&cjson_parse_lock);
	off = end ? (size_t)(end - buf) : 0;
	if (root)
		while (off < len && (unsigned char)buf[off] <= 32)
			off++;
	if (!root || off < len) {
		cJSON_Delete(root);
		jsonpos_linecol(buf, len, off, &line, &col);
		err_at(c, line, col, "invalid JSON");
		return NULL;
	}
	return root;
}

/* Where every value is (for errors by line and column), and no NUL
 * character in any string: 0, or -ENOMEM. */
static int map_positions(struct ctx *c, const char *buf, size_t len, const cJSON *root)
{
	/* -EINVAL here would be a walker bug: errors then fall back to 1:1. */
	if (jsonpos_build(&c->pos, buf, len, root) == -ENOMEM)
		return -ENOMEM;
	for (size_t i = 0; i < c->pos.n; i++) {
		const struct jsonpos *p = &c->pos.v[i];

		if (p->key_nul)
			err_at(c, p->key_line, p->key_col, "NUL character (\\u0000) in a string");
		if (p->nul)
			err_at(c, p->line, p->col, "NUL character (\\u0000) in a string");
	}
	return 0;
}

int manifest_parse(const char *file, const char *text, size_t len,
		   const struct manifest_defaults *defs, struct manifest_result *out)
{
	struct ctx c = {
		.file = file ? file : "(manifest)",
		.defs = defs ? defs : &builtin_defs,
	};
	struct spec_list l = { 0 };
	cJSON *root = NULL;
	char *buf = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!text)
		len = 0;
	if (!check_bytes(&c, text, len))
		goto out;
	buf = malloc(len + 1);
	if (!buf) {
		c.oom = true;
		goto out;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	root = parse_json(&c, buf, len);
	if (!root)
		goto out;
	if (map_positions(&c, buf, len, root) < 0) {
		c.oom = true;
		goto out;
	}
	check_document(&c, root, &l);
out:
	r = finish(&c, &l, out);
	free_specs(l.v, l.n);
	for (size_t i = 0; i < c.nerrs; i++)
		free(c.errs[i].msg);
	free(c.errs);
	jsonpos_free(&c.pos);
	cJSON_Delete(root);
	free(buf);
	return r;
}

