/*
 * render.c - the text of every generated file, from a published view.
 * Pure (see render.h): any thread may call it; `now` comes from the caller.
 */
#include "render.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "jsontext.h"
#include "log.h"
#include "utf8.h"

/* A growable string; on allocation failure it stays NULL and later appends
 * are no-ops, so callers check once at the end. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* Room for n more bytes and a NUL: false (the buffer dropped, oom set)
 * when there is none. */
static bool sb_room(struct sbuf *b, size_t n)
{
	size_t ncap;
	char *np;

	if (b->oom)
		return false;
	if (b->p && b->cap - b->len >= n + 1)
		return true;
	ncap = b->cap ? b->cap * 2 : 256;
	while (ncap < b->len + n + 1)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np) {
		free(b->p);
		b->p = NULL;
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* room first: formatting once to measure, then again, costs more */
	if (!sb_room(b, 0))
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			free(b->p);
			b->p = NULL;
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (!sb_room(b, (size_t)n))
			return;
	}
}

static char *sb_done(struct sbuf *b, size_t *len)
{
	if (b->oom)
		return NULL;
	if (!b->p)
		sb_printf(b, "%s", "");
	*len = b->len;
	return b->p;
}

char *render_label(const struct rt_view *v)
{
	struct sbuf b = {0};
	size_t len;

	sb_printf(&b, "%s - %s", state_label(v->state), v->summary ? v->summary : "");
	return sb_done(&b, &len);
}

void budget_of(const struct rt_view *v, int64_t now, struct budget *b)
{
	size_t i;

	budget_init(b, v->max_restarts, v->window_seconds);
	for (i = 0; i < v->nrestarts; i++)
		budget_record(b, v->restarts[i], now);
}

static char *render_budget(const struct rt_view *v, int64_t now, size_t *len)
{
	struct budget *b = malloc(sizeof(*b));
	struct sbuf s = {0};
	char ts[32];

	if (!b)
		return NULL;
	budget_of(v, now, b);
	sb_printf(&s, "max_restarts=%d\nwindow_seconds=%d\nused=%d\nremaining=%d\nreset_at=%s\nexhausted=%s\n",
		  b->max_restarts, b->window_seconds, budget_used(b, now),
		  budget_remaining(b, now), fmt_time(ts, sizeof(ts), budget_reset_at(b, now)),
		  budget_exhausted(b, now) ? "yes" : "no");
	free(b);
	return sb_done(&s, len);
}

static char *render_status(const struct rt_view *v, size_t *len)
{
	struct sbuf s = {0};
	size_t i;

	sb_printf(&s, "%s - %s\n", state_label(v->state), v->summary ? v->summary : "");
	for (i = 0; i < v->ndetail; i++)
		sb_printf(&s, "%s\n", v->detail[i]);
	return sb_done(&s, len);
}

static cJSON *add_time(cJSON *o, const char *key, int64_t ms)
{
	char ts[32];

	if (ms <= 0)
		return cJSON_AddNullToObject(o, key);
	return cJSON_AddStringToObject(o, key, fmt_time(ts, sizeof(ts), ms));
}

static char *aria_hint(const struct rt_view *v)
{
	struct sbuf s = {0};
	size_t i, len;

	sb_printf(&s, "Runtime %s status %s - %s.", v->spec->name ? v->spec->name : v->id,
		  state_label(v->state), v->summary ? v->summary : "");
	for (i = 0; i < v->ndetail; i++)
		sb_printf(&s, "%s%s", i ? "; " : " ", v->detail[i]);
	return sb_done(&s, &len);
}

static char *json_done(cJSON *root, size_t *len)
{
	char *out = json_text(root, len);

	cJSON_Delete(root);
	return out;
}

/* ---- health.json, written directly ----
 *
 * It is rendered at every change of every runtime (each probe result), and
 * building a cJSON tree to print it cost most of a publication.  So it is
 * written here in the layout cJSON_Print gives the same document (tabs,
 * "key":<tab>value, arrays on one line), which test_render holds by
 * printing the parsed text again, and cleaned to UTF-8 as json_text does. */

/* A JSON string, escaped as cJSON escapes it. */
static void jw_string(struct sbuf *b, const char *s)
{
	const char *run = s;
	char esc[8];

	sb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 32 && c != '"' && c != '\\')
			continue;
		sb_put(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': sb_put(b, "\\\"", 2); break;
		case '\\': sb_put(b, "\\\\", 2); break;
		case '\b': sb_put(b, "\\b", 2); break;
		case '\f': sb_put(b, "\\f", 2); break;
		case '\n': sb_put(b, "\\n", 2); break;
		case '\r': sb_put(b, "\\r", 2); break;
		case '\t': sb_put(b, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			sb_put(b, esc, 6);
		}
	}
	sb_put(b, run, (size_t)(s - run));
	sb_put(b, "\"", 1);
}

struct jw {
	struct sbuf b;
	int depth;          /* of the object being written, 1 at the top */
	int members[4];     /* written so far in each open object */
};

static const char tabs[] = "\t\t\t\t\t\t\t\t";

/* The separator, the indentation and "key":<tab> of the next member. */
static void jw_key(struct jw *w, const char *k)
{
	if (w->members[w->depth]++)
		sb_put(&w->b, ",\n", 2);
	sb_put(&w->b, tabs, (size_t)w->depth);
	jw_string(&w->b, k);
	sb_put(&w->b, ":\t", 2);
}

static void jw_raw(struct jw *w, const char *k, const char *raw)
{
	jw_key(w, k);
	sb_put(&w->b, raw, strlen(raw));
}

static void jw_str(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	if (v)
		jw_string(&w->b, v);
	else
		sb_put(&w->b, "null", 4);
}

static void jw_int(struct jw *w, const char *k, bool has, long long n)
{
	char num[24];

	if (!has) {
		jw_raw(w, k, "null");
		return;
	}
	snprintf(num, sizeof(num), "%lld", n);
	jw_raw(w, k, num);
}

static void jw_time(struct jw *w, const char *k, int64_t ms)
{
	char ts[32];

	jw_str(w, k, ms > 0 ? fmt_time(ts, sizeof(ts), ms) : NULL);
}

static void jw_open(struct jw *w, const char *k)
{
	if (k)
		jw_key(w, k);
	sb_put(&w->b, "{\n", 2);
	w->members[++w->depth] = 0;
}

static void jw_close(struct jw *w)
{
	if (w->members[w->depth])
		sb_put(&w->b, "\n", 1);
	w->depth--;
	sb_put(&w->b, tabs, (size_t)w->depth);
	sb_put(&w->b, "}", 1);
}

/* "k":<tab>["a", "b"] */
static void jw_strings(struct jw *w, const char *k, const char *const *v, size_t n)
{
	size_t i;

	jw_key(w, k);
	sb_put(&w->b, "[", 1);
	for (i = 0; i < n; i++) {
		if (i)
			sb_put(&w->b, ", ", 2);
		jw_string(&w->b, v[i]);
	}
	sb_put(&w->b, "]", 1);
}

static void jw_modalities(struct jw *w, unsigned m)
{
	const char *v[3];
	size_t n = 0;

	if (m & MOD_TEXT)
		v[n++] = "text";
	if (m & MOD_AUDIO)
		v[n++] = "audio";
	if (m & MOD_VISION)
		v[n++] = "vision";
	jw_strings(w, "modalities", v, n);
}

static void jw_budget(struct jw *w, const struct rt_view *v, int64_t now)
{
	struct budget *b = malloc(sizeof(*b));

	if (!b) {
		w->b.oom = true;
		return;
	}
	budget_of(v, now, b);
	jw_open(w, "restart_budget");
	jw_int(w, "max_restarts", true, b->max_restarts);
	jw_int(w, "window_seconds", true, b->window_seconds);
	jw_int(w, "used", true, budget_used(b, now));
	jw_int(w, "remaining", true, budget_remaining(b, now));
	jw_time(w, "reset_at", budget_reset_at(b, now));
	jw_raw(w, "exhausted", budget_exhausted(b, now) ? "true" : "false");
	jw_close(w);
	free(b);
}

/* "last_exit": the last time its process ended, or every field null. */
static void jw_last_exit(struct jw *w, const struct rt_view *v)
{
	jw_open(w, "last_exit");
	jw_int(w, "code", v->has_exit && v->exit_code >= 0, v->exit_code);
	jw_int(w, "signal", v->has_exit && v->exit_signal > 0, v->exit_signal);
	jw_time(w, "at", v->has_exit ? v->exit_at : 0);
	jw_str(w, "reason", v->has_exit ? v->exit_reason : NULL);
	jw_close(w);
}

static void jw_probe(struct jw *w, const struct rt_view *v)
{
	jw_open(w, "probe");
	jw_str(w, "type", probe_type_name(v->spec->health.type));
	jw_str(w, "target", v->spec->probe_target);
	jw_str(w, "last_result", v->probe_result);
	jw_int(w, "last_latency_ms", v->probe_result != NULL, v->probe_latency_ms);
	jw_int(w, "consecutive_failures", true, v->probe_failures);
	jw_time(w, "last_ok_at", v->probe_last_ok_at);
	jw_close(w);
}

/* Stands for the uptime's digits until the text is clean UTF-8: a control
 * character, which every string escapes, so only this can put it there. */
#define UPTIME_MARK "\x01"

char *render_health_parts(const struct rt_view *v, int64_t now, size_t *len, size_t *uptime_at)
{
	struct jw w = { .depth = 0 };
	char *label = render_label(v), *hint = aria_hint(v), *out, *mark;
	bool up = v->pid > 0;

	if (!label || !hint) {
		free(label);
		free(hint);
		return NULL;
	}
	jw_open(&w, NULL);
	jw_str(&w, "id", v->id);
	jw_str(&w, "name", v->spec->name ? v->spec->name : v->id);
	jw_str(&w, "adapter", v->spec->adapter ? v->spec->adapter : "process");
	jw_str(&w, "profile", v->spec->profile);
	jw_str(&w, "state", state_slug(v->state));
	jw_str(&w, "state_label", state_label(v->state));
	jw_str(&w, "severity", severity_slug(v->severity));
	jw_str(&w, "severity_label", severity_label(v->severity));
	jw_str(&w, "summary", v->summary ? v->summary : "");
	jw_str(&w, "label", label);
	jw_strings(&w, "detail", (const char *const *)v->detail, v->ndetail);
	jw_str(&w, "aria_hint", hint);
	jw_int(&w, "pid", up, v->pid);
	jw_int(&w, "processes", true, v->processes);
	jw_str(&w, "cgroup", v->cgroup);
	jw_time(&w, "started_at", up ? v->started_at : 0);
	jw_raw(&w, "uptime_seconds", up && v->started_at > 0 ? UPTIME_MARK : "null");
	jw_time(&w, "updated_at", v->updated_at);
	jw_str(&w, "accelerator", accel_name(v->spec->accelerator));
	jw_modalities(&w, v->spec->modalities);
	jw_budget(&w, v, now);
	jw_last_exit(&w, v);
	jw_probe(&w, v);
	jw_open(&w, "manifest");
	jw_str(&w, "source", v->source);
	jw_time(&w, "loaded_at", v->loaded_at);
	jw_close(&w);
	jw_str(&w, "log_file", v->log_path);
	jw_close(&w);
	sb_put(&w.b, "\n", 1);
	free(label);
	free(hint);
	if (w.b.oom)
		return NULL;
	/* bytes that are not UTF-8 (a runtime's output in a probe result)
	 * become U+FFFD, as in every JSON file */
	if (utf8_bad(w.b.p, w.b.len, 0) == w.b.len) {
		out = w.b.p;
		*len = w.b.len;
	} else {
		out = utf8_clean(w.b.p, w.b.len, len);
		free(w.b.p);
		if (!out)
			return NULL;
	}
	*uptime_at = RT_NO_UPTIME;
	if ((mark = memchr(out, UPTIME_MARK[0], *len))) {
		*uptime_at = (size_t)(mark - out);
		memmove(mark, mark + 1, *len - *uptime_at);   /* with the NUL */
		(*len)--;
	}
	return out;
}

/* health.json whole, its uptime at `now` filled in. */
static char *render_health(const struct rt_view *v, int64_t now, size_t *len)
{
	size_t n, at;
	char *parts = render_health_parts(v, now, &n, &at), *out;

	if (!parts)
		return NULL;
	out = rt_text_fill(parts, n, at, rt_view_uptime(v, now), len);
	free(parts);
	return out;
}

char *render_rt_file(enum rt_file f, const struct rt_view *v, int64_t now, size_t *len)
{
	struct sbuf s = {0};

	switch (f) {
	case RF_STATE:
		sb_printf(&s, "%s\n", state_slug(v->state));
		return sb_done(&s, len);
	case RF_STATUS:
		return render_status(v, len);
	case RF_HEALTH:
		return render_health(v, now, len);
	case RF_BUDGET:
		return render_budget(v, now, len);
	case RF_CTL:
		sb_printf(&s, "%s", v->ctl_last ? v->ctl_last : "");
		return sb_done(&s, len);
	case RF_MANIFEST:
		sb_printf(&s, "%s", v->spec->json ? v->spec->json : "{}\n");
		return sb_done(&s, len);
	case RF_PID:
		if (v->pid > 0)
			sb_printf(&s, "%d\n", v->pid);
		return sb_done(&s, len);
	default:
		errno = EINVAL;
		return NULL;
	}
}

/* ARW's accelerator labels, in its order: the keys of by_accelerator. */
static const char *const acc_labels[] = {
	"CPU", "GPU (CUDA)", "GPU (ROCm)", "GPU (Metal)", "GPU (Vulkan)",
	"NPU (DirectML)", "NPU (CoreML)", "NPU", "Other", "Unspecified",
};
#define NACC (sizeof(acc_labels) / sizeof(acc_labels[0]))

static size_t acc_index(const struct rt_spec *s)
{
	const char *l = accel_label(s);
	size_t i;

	for (i = 0; i < NACC; i++)
		if (strcmp(acc_labels[i], l) == 0)
			return i;
	return NACC - 2;   /* Other */
}

/* What render_matrix counts over every view. */
struct tally {
	size_t n;
	int count[ST_COUNT], sevc[SEV_COUNT];
	int acc_total[NACC], acc_state[NACC][ST_COUNT];
	int64_t updated;
	int considered;             /* runtimes not offline */
	enum severity node_sev;     /* the worst of those */
	cJSON *press;               /* restart_pressure entries */
	cJSON *why;                 /* "<id>: <label>" of each runtime that degrades the node */
};

static cJSON *pressure_entry(const struct rt_view *v, int64_t now)
{
	struct budget *b = malloc(sizeof(*b));
	cJSON *p = NULL;

	if (!b)
		return NULL;
	budget_of(v, now, b);
	if (budget_used(b, now) > 0 || budget_exhausted(b, now)) {
		char ts[32], msg[300];

		/* ARW's sentence, then the same as fields */
		snprintf(msg, sizeof(msg), "%s restart budget %s (%d of %d remaining; window %ds; resets at %s)",
			 v->id, budget_exhausted(b, now) ? "exhausted" : "low", budget_remaining(b, now),
			 b->max_restarts, b->window_seconds, fmt_time(ts, sizeof(ts), budget_reset_at(b, now)));
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "message", msg);
		cJSON_AddStringToObject(p, "id", v->id);
		cJSON_AddNumberToObject(p, "used", budget_used(b, now));
		cJSON_AddNumberToObject(p, "remaining", budget_remaining(b, now));
		cJSON_AddNumberToObject(p, "max_restarts", b->max_restarts);
		cJSON_AddNumberToObject(p, "window_seconds", b->window_seconds);
		add_time(p, "reset_at", budget_reset_at(b, now));
		cJSON_AddBoolToObject(p, "exhausted", budget_exhausted(b, now));
	}
	free(b);
	return p;
}

static void tally_views(struct rt_view *const *views, size_t n, int64_t now, struct tally *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->n = n;
	t->node_sev = SEV_INFO;
	t->press = cJSON_CreateArray();
	t->why = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		const struct rt_view *v = views[i];
		cJSON *p;
		int f;

		t->count[v->state]++;
		t->sevc[v->severity]++;
		t->acc_total[acc_index(v->spec)]++;
		t->acc_state[acc_index(v->spec)][v->state]++;
		/* the last change of what the matrix shows of it */
		for (f = RF_STATE; f < RF_COUNT; f++)
			if ((RF_MATRIX_FILES & (1u << f)) && v->mtime[f] > t->updated)
				t->updated = v->mtime[f];
		if (v->state != ST_OFFLINE) {
			t->considered++;
			if (v->severity > t->node_sev)
				t->node_sev = v->severity;
			/* the reason, for the node's detail (a few at most) */
			if (v->severity > SEV_INFO && cJSON_GetArraySize(t->why) < 5) {
				char *label = render_label(v), line[300];

				snprintf(line, sizeof(line), "%s: %s", v->id, label ? label : "");
				free(label);
				cJSON_AddItemToArray(t->why, cJSON_CreateString(line));
			}
		}
		if ((p = pressure_entry(v, now)))
			cJSON_AddItemToArray(t->press, p);
	}
}

/* "status": code, severity, label, detail and aria_hint of the node. */
static void add_matrix_status(cJSON *item, const struct tally *t, const char *problem,
			      const char *tracking)
{
	const char *code = "ok", *summary;
	enum severity node_sev = t->node_sev;
	cJSON *status, *detail;
	struct sbuf hb = {0};
	char buf[256], *hint;
	size_t i, hlen;
	int s;

	if (node_sev == SEV_ERROR)
		code = "error";
	else if (node_sev == SEV_WARN || t->count[ST_STARTING] || t->count[ST_STOPPING])
		code = "degraded";
	if (problem) {
		if (strcmp(code, "ok") == 0)
			code = "degraded";
		if (node_sev < SEV_WARN)
			node_sev = SEV_WARN;
	}
	status = cJSON_AddObjectToObject(item, "status");
	cJSON_AddStringToObject(status, "code", code);
	cJSON_AddStringToObject(status, "severity", severity_slug(node_sev));
	cJSON_AddStringToObject(status, "severity_label", severity_label(node_sev));
	if (problem && strcmp(code, "degraded") == 0 && node_sev == SEV_WARN &&
	    !t->count[ST_STARTING] && !t->count[ST_STOPPING] && !t->sevc[SEV_WARN])
		summary = "State is not being saved";
	else if (t->considered == 0)
		summary = t->n ? "All runtimes offline" : "No runtimes configured";
	else if (strcmp(code, "ok") == 0)
		summary = "Runtime telemetry nominal";
	else if (strcmp(code, "error") == 0)
		summary = "Runtime errors need attention";
	else
		summary = "Some runtimes are not ready";
	snprintf(buf, sizeof(buf), "%s - %s",
		 strcmp(code, "ok") == 0 ? "Ready" : strcmp(code, "error") == 0 ? "Error" : "Degraded",
		 summary);
	cJSON_AddStringToObject(status, "label", buf);
	detail = cJSON_AddArrayToObject(status, "detail");
	snprintf(buf, sizeof(buf), "%d of %zu runtimes ready", t->count[ST_READY], t->n);
	cJSON_AddItemToArray(detail, cJSON_CreateString(buf));
	for (s = 0; s < ST_COUNT; s++) {
		if (s == ST_READY || !t->count[s])
			continue;
		snprintf(buf, sizeof(buf), "%d %s", t->count[s], state_slug((enum rt_state)s));
		cJSON_AddItemToArray(detail, cJSON_CreateString(buf));
	}
	for (i = 0; t->why && i < (size_t)cJSON_GetArraySize(t->why); i++)
		cJSON_AddItemToArray(detail, cJSON_CreateString(cJSON_GetArrayItem(t->why, (int)i)->valuestring));
	if (problem)
		cJSON_AddItemToArray(detail, cJSON_CreateString(problem));
	if (tracking && *tracking)
		cJSON_AddItemToArray(detail, cJSON_CreateString(tracking));
	sb_printf(&hb, "Runtime status %s.", cJSON_GetObjectItem(status, "label")->valuestring);
	for (i = 0; i < (size_t)cJSON_GetArraySize(detail); i++)
		sb_printf(&hb, "%s%s", i ? "; " : " ", cJSON_GetArrayItem(detail, (int)i)->valuestring);
	hint = sb_done(&hb, &hlen);
	cJSON_AddStringToObject(status, "aria_hint", hint ? hint : "");
	free(hint);
}

/* {"<name>": count, ...} of the non-zero counts, or NULL when all are 0
 * (ARW leaves empty objects out). */
static cJSON *counts_json(const int *counts, int n, const char *(*name)(int))
{
	cJSON *o = NULL;
	int i;

	for (i = 0; i < n; i++) {
		if (!counts[i])
			continue;
		if (!o && !(o = cJSON_CreateObject()))
			return NULL;
		cJSON_AddNumberToObject(o, name(i), counts[i]);
	}
	return o;
}

static const char *state_key(int s)
{
	return state_slug((enum rt_state)s);
}

static const char *severity_key(int s)
{
	return severity_slug((enum severity)s);
}

/* Add o under k unless it is NULL (an optional key left out). */
static void add_optional(cJSON *parent, const char *k, cJSON *o)
{
	if (o)
		cJSON_AddItemToObject(parent, k, o);
}

/* "runtime": totals, states, severities, restart pressure, accelerators;
 * the last four only when not empty.  Takes over t->press. */
static void add_matrix_runtime(cJSON *item, struct tally *t, int64_t now)
{
	cJSON *rt = cJSON_AddObjectToObject(item, "runtime"), *byacc = NULL;
	size_t a;

	cJSON_AddNumberToObject(rt, "total", (double)t->n);
	add_time(rt, "updated", t->updated ? t->updated : now);
	add_optional(rt, "states", counts_json(t->count, ST_COUNT, state_key));
	add_optional(rt, "severity", counts_json(t->sevc, SEV_COUNT, severity_key));
	if (cJSON_GetArraySize(t->press) > 0)
		cJSON_AddItemToObject(rt, "restart_pressure", t->press);
	else
		cJSON_Delete(t->press);
	t->press = NULL;
	for (a = 0; a < NACC; a++) {
		cJSON *ao;

		if (!t->acc_total[a])
			continue;
		if (!byacc)
			byacc = cJSON_AddObjectToObject(rt, "by_accelerator");
		ao = cJSON_AddObjectToObject(byacc, acc_labels[a]);
		cJSON_AddNumberToObject(ao, "total", t->acc_total[a]);
		add_optional(ao, "states", counts_json(t->acc_state[a], ST_COUNT, state_key));
	}
}

char *render_matrix(struct rt_view *const *views, size_t n, const char *node, const char *tracking,
		    const char *problem, int ttl_seconds, int64_t now, size_t *len)
{
	cJSON *root = cJSON_CreateObject(), *items, *item;
	struct tally *t;

	if (!root)
		return NULL;
	t = malloc(sizeof(*t));
	if (!t) {
		cJSON_Delete(root);
		return NULL;
	}
	cJSON_AddNumberToObject(root, "ttl_seconds", ttl_seconds);
	items = cJSON_AddObjectToObject(root, "items");
	item = cJSON_AddObjectToObject(items, node);
	cJSON_AddStringToObject(item, "target", node);
	add_time(item, "generated", now);
	tally_views(views, n, now, t);
	add_matrix_status(item, t, problem, tracking);
	add_matrix_runtime(item, t, now);
	cJSON_Delete(t->why);
	free(t);
	return json_done(root, len);
}

static const char readme_text[] =
"arw-supervisor: local inference runtimes as files\n"
"\n"
"  node                  this node's id\n"
"  ctl                   write: reload | stop-all | start-all\n"
"  runtime_matrix.json   node read-model: states, severity, restart pressure\n"
"  metrics.prom          Prometheus text format, rendered when read\n"
"  accelerators.json     the node's CPU, memory, GPUs and NPUs\n"
"  manifests/<file>      \"ok ...\" or \"error <file>:<line>:<col>: <message>\"\n"
"  runtimes/<id>/\n"
"    state               one word: unknown starting ready degraded error stopping offline\n"
"    status              line 1 the label (\"Ready - Process healthy\"), then details\n"
"    health.json         the full status object\n"
"    budget              restart budget, key=value lines\n"
"    logs                the last output of the runtime (stdout+stderr)\n"
"    ctl                 write a verb; read the last command and its result\n"
"    manifest.json       the effective manifest, defaults filled in\n"
"    pid                 the process id, empty when not running\n"
"\n"
"ctl verbs: start | stop | restart | restore | reset-budget | kill SIG\n"
"  restart and restore count against the budget (EAGAIN when exhausted);\n"
"  unknown verbs fail with EINVAL; append \" wait=N\" to wait up to N s for ready.\n"
"  Example: echo restore > /arw/runtimes/<id>/ctl\n"
"\n"
"Manifests: JSON files in the watched folder; see docs/manifest.md.\n";

char *render_readme(size_t *len)
{
	char *p = strdup(readme_text);

	if (p)
		*len = sizeof(readme_text) - 1;
	return p;
}
