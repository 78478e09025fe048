/*
 * view.h - the core types both sides share: a runtime's state, severity,
 * and its published view (what the loop builds after each change and the
 * FUSE threads render files from).  A view is immutable once published
 * and refcounted: a reader keeps its reference while it renders.
 */
#ifndef ARW_VIEW_H
#define ARW_VIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "registry.h"

enum rt_state {
	ST_UNKNOWN = 0, ST_STARTING, ST_READY, ST_DEGRADED, ST_ERROR, ST_STOPPING,
	ST_OFFLINE, ST_COUNT
};
enum severity { SEV_INFO = 0, SEV_WARN, SEV_ERROR, SEV_COUNT };

/* Why a process ended, for metrics: on its own with an exit code, killed by
 * a signal nobody here sent, stopped after failed health checks, or
 * stopped on request (an operator, a manifest change, the shutdown). */
enum exit_kind { EXIT_CRASH = 0, EXIT_SIGNAL, EXIT_HEALTH, EXIT_OPERATOR, EXIT_KINDS };
const char *exit_kind_name(enum exit_kind k);

struct rt_view {
	atomic_int ref;
	int64_t mtime[RF_COUNT];      /* last content change of each file */
	/* each file's text, rendered when the view was published (NULL if
	 * that failed).  health.json's uptime moves with the clock: its text
	 * leaves the number out, and uptime_at says where it goes (or
	 * RT_NO_UPTIME when it is null); rt_view_len and rt_view_text fill
	 * it in for the time asked */
	char *text[RF_COUNT];
	size_t text_len[RF_COUNT];
	size_t uptime_at;
	char id[RT_ID_MAX + 1];
	struct rt_spec *spec;         /* its manifest: shared, sealed (rt_spec_seal) */
	enum rt_state state;
	enum severity severity;
	char *summary;
	char **detail;
	size_t ndetail;
	int pid;                      /* 0: not running */
	int processes;                /* in its cgroup (or process group); 0 none */
	char *cgroup;                 /* its cgroup's folder; NULL in fallback mode */
	int64_t started_at, updated_at;
	int max_restarts, window_seconds;
	int64_t *restarts;            /* counted restart times, oldest first */
	size_t nrestarts;
	int64_t restarts_total;       /* counted restarts since it was loaded */
	int64_t exits[EXIT_KINDS];    /* process ends since it was loaded, by kind */
	bool has_exit;
	int exit_code, exit_signal;   /* -1 when not applicable */
	int64_t exit_at;
	char *exit_reason;
	char *probe_result;           /* NULL: no probe has finished */
	int64_t probe_latency_ms;
	int probe_failures;
	int64_t probe_last_ok_at;
	char *source;
	int64_t loaded_at;
	char *log_path;               /* NULL when file logging is off */
	char *ctl_last;               /* text shown by reading ctl */
};

#define RT_NO_UPTIME ((size_t)-1)

struct rt_view *rt_view_new(void);
/* Whole seconds it has been running at `now` (wall ms), never below 0. */
int64_t rt_view_uptime(const struct rt_view *v, int64_t now);
/* The size of file f's published text at `now`, and a copy of it
 * (malloc'd, NUL-terminated; NULL with ENOMEM, or when f has none). */
size_t rt_view_len(const struct rt_view *v, enum rt_file f, int64_t now);
char *rt_view_text(const struct rt_view *v, enum rt_file f, int64_t now, size_t *len);
/* text[0..n) with the digits of `uptime` put in at `at` (RT_NO_UPTIME:
 * none), malloc'd and NUL-terminated; NULL when out of memory. */
char *rt_text_fill(const char *text, size_t n, size_t at, int64_t uptime, size_t *len);
struct rt_view *rt_view_ref(struct rt_view *v);
void rt_view_unref(struct rt_view *v);

const char *state_slug(enum rt_state s);
const char *state_label(enum rt_state s);
const char *severity_slug(enum severity s);
const char *severity_label(enum severity s);
const char *probe_type_name(enum probe_type t);

#endif
