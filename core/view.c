/*
 * view.c - views (see view.h) and the names of states and severities.
 */
#include "view.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const st_slugs[ST_COUNT] = {
	"unknown", "starting", "ready", "degraded", "error", "stopping", "offline"
};
static const char *const st_labels[ST_COUNT] = {
	"Unknown", "Starting", "Ready", "Degraded", "Error", "Stopping", "Offline"
};
static const char *const sev_slugs[SEV_COUNT] = { "info", "warn", "error" };
static const char *const sev_labels[SEV_COUNT] = { "Info", "Warn", "Error" };

const char *state_slug(enum rt_state s) { return (unsigned)s < ST_COUNT ? st_slugs[s] : "unknown"; }
const char *state_label(enum rt_state s) { return (unsigned)s < ST_COUNT ? st_labels[s] : "Unknown"; }
const char *severity_slug(enum severity s) { return (unsigned)s < SEV_COUNT ? sev_slugs[s] : "info"; }
const char *severity_label(enum severity s) { return (unsigned)s < SEV_COUNT ? sev_labels[s] : "Info"; }

const char *exit_kind_name(enum exit_kind k)
{
	static const char *const names[EXIT_KINDS] = { "crash", "signal", "health", "operator" };

	return (unsigned)k < EXIT_KINDS ? names[k] : "crash";
}

const char *probe_type_name(enum probe_type t)
{
	switch (t) {
	case PROBE_HTTP: return "http";
	case PROBE_TCP: return "tcp";
	case PROBE_EXEC: return "exec";
	default: return "process";
	}
}

struct rt_view *rt_view_new(void)
{
	struct rt_view *v = calloc(1, sizeof(*v));

	if (v) {
		atomic_init(&v->ref, 1);
		v->exit_code = v->exit_signal = -1;
		v->uptime_at = RT_NO_UPTIME;
	}
	return v;
}

int64_t rt_view_uptime(const struct rt_view *v, int64_t now)
{
	int64_t s = (now - v->started_at) / 1000;

	return s > 0 ? s : 0;
}

/* Where file f's text has a hole for the uptime's digits. */
static size_t hole_of(const struct rt_view *v, enum rt_file f)
{
	return f == RF_HEALTH ? v->uptime_at : RT_NO_UPTIME;
}

char *rt_text_fill(const char *text, size_t n, size_t at, int64_t uptime, size_t *len)
{
	char up[24], *out;
	int d = 0;

	if (at == RT_NO_UPTIME)
		at = n;
	else
		d = snprintf(up, sizeof(up), "%" PRId64, uptime);
	out = malloc(n + (size_t)d + 1);
	if (!out)
		return NULL;
	memcpy(out, text, at);
	memcpy(out + at, up, (size_t)d);
	memcpy(out + at + (size_t)d, text + at, n - at);
	out[n + (size_t)d] = '\0';
	*len = n + (size_t)d;
	return out;
}

size_t rt_view_len(const struct rt_view *v, enum rt_file f, int64_t now)
{
	char up[24];

	if ((unsigned)f >= RF_COUNT || !v->text[f])
		return 0;
	if (hole_of(v, f) == RT_NO_UPTIME)
		return v->text_len[f];
	return v->text_len[f] + (size_t)snprintf(up, sizeof(up), "%" PRId64, rt_view_uptime(v, now));
}

char *rt_view_text(const struct rt_view *v, enum rt_file f, int64_t now, size_t *len)
{
	if ((unsigned)f >= RF_COUNT || !v->text[f]) {
		errno = ENOENT;
		return NULL;
	}
	return rt_text_fill(v->text[f], v->text_len[f], hole_of(v, f), rt_view_uptime(v, now), len);
}

struct rt_view *rt_view_ref(struct rt_view *v)
{
	if (v)
		atomic_fetch_add(&v->ref, 1);
	return v;
}

void rt_view_unref(struct rt_view *v)
{
	size_t i;

	if (!v || atomic_fetch_sub(&v->ref, 1) != 1)
		return;
	rt_spec_free(v->spec);
	free(v->summary);
	free(v->cgroup);
	for (i = 0; i < v->ndetail; i++)
		free(v->detail[i]);
	free(v->detail);
	free(v->restarts);
	free(v->exit_reason);
	free(v->probe_result);
	free(v->source);
	free(v->log_path);
	free(v->ctl_last);
	for (i = 0; i < RF_COUNT; i++)
		free(v->text[i]);
	free(v);
}

