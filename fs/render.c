/*
 * render.c - the text of every generated file, from a published view.
 * Pure (see render.h): any thread may call it; `now` comes from the caller.
 */
#include "render.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "jsontext.h"
#include "log.h"

/* A growable string; on allocation failure it stays NULL and later appends
 * are no-ops, so callers check once at the end. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap ? b->cap * 2 : 256);
		while (ncap < b->len + (size_t)n + 1)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (!np) {
			free(b->p);
			b->p = NULL;
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
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

static void add_str_or_null(cJSON *o, const char *key, const char *val)
{
	if (val)
		cJSON_AddStringToObject(o, key, val);
	else
		cJSON_AddNullToObject(o, key);
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

static cJSON *modalities_json(unsigned m)
{
	cJSON *a = cJSON_CreateArray();

	if (m & MOD_TEXT)
		cJSON_AddItemToArray(a, cJSON_CreateString("text"));
	if (m & MOD_AUDIO)
		cJSON_AddItemToArray(a, cJSON_CreateString("audio"));
	if (m & MOD_VISION)
		cJSON_AddItemToArray(a, cJSON_CreateString("vision"));
	return a;
}

static cJSON *budget_json(const struct rt_view *v, int64_t now)
{
	struct budget *b = malloc(sizeof(*b));
	cJSON *o = cJSON_CreateObject();

	if (!b || !o) {
		free(b);
		cJSON_Delete(o);
		return NULL;
	}
	budget_of(v, now, b);
	cJSON_AddNumberToObject(o, "max_restarts", b->max_restarts);
	cJSON_AddNumberToObject(o, "window_seconds", b->window_seconds);
	cJSON_AddNumberToObject(o, "used", budget_used(b, now));
	cJSON_AddNumberToObject(o, "remaining", budget_remaining(b, now));
	add_time(o, "reset_at", budget_reset_at(b, now));
	cJSON_AddBoolToObject(o, "exhausted", budget_exhausted(b, now));
	free(b);
	return o;
}

static char *json_done(cJSON *root, size_t *len)
{
	char *out = json_text(root, len);

	cJSON_Delete(root);
	return out;
}

/* A number, or null when `has` is false. */
static void add_num_or_null(cJSON *o, const char *k, bool has, double n)
{
	if (has)
		cJSON_AddNumberToObject(o, k, n);
	else
		cJSON_AddNullToObject(o, k);
}

/* "last_exit": the last time its process ended, or every field null. */
static void add_last_exit(cJSON *o, const struct rt_view *v)
{
	cJSON *x = cJSON_AddObjectToObject(o, "last_exit");

	add_num_or_null(x, "code", v->has_exit && v->exit_code >= 0, v->exit_code);
	add_num_or_null(x, "signal", v->has_exit && v->exit_signal > 0, v->exit_signal);
	if (v->has_exit) {
		add_time(x, "at", v->exit_at);
		add_str_or_null(x, "reason", v->exit_reason);
	} else {
		cJSON_AddNullToObject(x, "at");
		cJSON_AddNullToObject(x, "reason");
	}
}

static void add_probe(cJSON *o, const struct rt_view *v)
{
	cJSON *x = cJSON_AddObjectToObject(o, "probe");

	cJSON_AddStringToObject(x, "type", probe_type_name(v->spec->health.type));
	add_str_or_null(x, "target", v->spec->probe_target);
	add_str_or_null(x, "last_result", v->probe_result);
	add_num_or_null(x, "last_latency_ms", v->probe_result != NULL, (double)v->probe_latency_ms);
	cJSON_AddNumberToObject(x, "consecutive_failures", v->probe_failures);
	add_time(x, "last_ok_at", v->probe_last_ok_at);
}

/* What it is and how it is: id, state, label, detail. */
static void add_status(cJSON *o, const struct rt_view *v, const char *label, const char *hint)
{
	cJSON *d;
	size_t i;

	cJSON_AddStringToObject(o, "id", v->id);
	cJSON_AddStringToObject(o, "name", v->spec->name ? v->spec->name : v->id);
	cJSON_AddStringToObject(o, "adapter", v->spec->adapter ? v->spec->adapter : "process");
	add_str_or_null(o, "profile", v->spec->profile);
	cJSON_AddStringToObject(o, "state", state_slug(v->state));
	cJSON_AddStringToObject(o, "state_label", state_label(v->state));
	cJSON_AddStringToObject(o, "severity", severity_slug(v->severity));
	cJSON_AddStringToObject(o, "severity_label", severity_label(v->severity));
	cJSON_AddStringToObject(o, "summary", v->summary ? v->summary : "");
	cJSON_AddStringToObject(o, "label", label);
	d = cJSON_AddArrayToObject(o, "detail");
	for (i = 0; i < v->ndetail; i++)
		cJSON_AddItemToArray(d, cJSON_CreateString(v->detail[i]));
	cJSON_AddStringToObject(o, "aria_hint", hint);
}

/* Stands for the uptime's digits while health.json is printed: a control
 * character, which cJSON escapes in every string, so only this raw item
 * can put it in the text. */
#define UPTIME_MARK "\x01"

char *render_health_parts(const struct rt_view *v, int64_t now, size_t *len, size_t *uptime_at)
{
	cJSON *o = cJSON_CreateObject(), *x;
	char *label = render_label(v), *hint = aria_hint(v), *out, *mark;
	bool up = v->pid > 0;

	if (!o || !label || !hint) {
		cJSON_Delete(o);
		free(label);
		free(hint);
		return NULL;
	}
	add_status(o, v, label, hint);
	add_num_or_null(o, "pid", up, v->pid);
	cJSON_AddNumberToObject(o, "processes", v->processes);
	add_str_or_null(o, "cgroup", v->cgroup);
	add_time(o, "started_at", up ? v->started_at : 0);
	if (up && v->started_at > 0)
		cJSON_AddRawToObject(o, "uptime_seconds", UPTIME_MARK);
	else
		cJSON_AddNullToObject(o, "uptime_seconds");
	add_time(o, "updated_at", v->updated_at);
	cJSON_AddStringToObject(o, "accelerator", accel_name(v->spec->accelerator));
	cJSON_AddItemToObject(o, "modalities", modalities_json(v->spec->modalities));
	cJSON_AddItemToObject(o, "restart_budget", budget_json(v, now));
	add_last_exit(o, v);
	add_probe(o, v);
	x = cJSON_AddObjectToObject(o, "manifest");
	add_str_or_null(x, "source", v->source);
	add_time(x, "loaded_at", v->loaded_at);
	add_str_or_null(o, "log_file", v->log_path);
	free(label);
	free(hint);
	out = json_done(o, len);
	*uptime_at = RT_NO_UPTIME;
	if (out && (mark = memchr(out, UPTIME_MARK[0], *len))) {
		*uptime_at = (size_t)(mark - out);
		memmove(mark, mark + 1, *len - *uptime_at);   /* with the NUL */
		(*len)--;
	}
	return out;
}

/* health.json whole, its uptime at `now` filled in. */
static char *render_health(const struct rt_view *v, int64_t now, size_t *len)
{
	struct sbuf s = {0};
	size_t n, at;
	char *parts = render_health_parts(v, now, &n, &at);

	if (!parts || at == RT_NO_UPTIME) {
		*len = n;
		return parts;
	}
	sb_printf(&s, "%.*s%" PRId64 "%s", (int)at, parts, rt_view_uptime(v, now), parts + at);
	free(parts);
	return sb_done(&s, len);
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
