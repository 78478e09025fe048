/*
 * render.h - a runtime's published view and the text of every generated
 * file.  Pure: the caller passes `now`; no fd, no clock, no FUSE.
 *
 * The loop thread builds a view after each change and publishes it in the
 * registry; FUSE threads render files from it at open time, so time-derived
 * fields (uptime, budget windows) are current when read.
 */
#ifndef ARW_RENDER_H
#define ARW_RENDER_H

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

struct rt_view {
	atomic_int ref;
	int64_t mtime[RF_COUNT];      /* last content change of each file */
	char id[RT_ID_MAX + 1];
	char *name, *adapter, *profile;
	enum rt_state state;
	enum severity severity;
	char *summary;
	char **detail;
	size_t ndetail;
	int pid;                      /* 0: not running */
	int processes;                /* in its cgroup (or process group); 0 none */
	char *cgroup;                 /* its cgroup's folder; NULL in fallback mode */
	int64_t started_at, updated_at;
	enum accel accelerator;
	unsigned modalities;
	int max_restarts, window_seconds;
	int64_t *restarts;            /* counted restart times, oldest first */
	size_t nrestarts;
	bool has_exit;
	int exit_code, exit_signal;   /* -1 when not applicable */
	int64_t exit_at;
	char *exit_reason;
	enum probe_type probe_type;
	char *probe_target;
	char *probe_result;           /* NULL: no probe has finished */
	int64_t probe_latency_ms;
	int probe_failures;
	int64_t probe_last_ok_at;
	char *source;
	int64_t loaded_at;
	char *log_path;               /* NULL when file logging is off */
	char *manifest_json;
	char *ctl_last;               /* text shown by reading ctl */
};

struct rt_view *rt_view_new(void);
struct rt_view *rt_view_ref(struct rt_view *v);
void rt_view_unref(struct rt_view *v);

const char *state_slug(enum rt_state s);
const char *state_label(enum rt_state s);
const char *severity_slug(enum severity s);
const char *severity_label(enum severity s);
const char *probe_type_name(enum probe_type t);

/* The text of one runtime file (not RF_LOGS, not RF_DIR); malloc'd. */
char *render_rt_file(enum rt_file f, const struct rt_view *v, int64_t now, size_t *len);
/* "<state_label> - <summary>" */
char *render_label(const struct rt_view *v);

/* runtime_matrix.json from every runtime's view.  `problem` (NULL: none)
 * is something wrong with the node itself: it makes the node degraded. */
char *render_matrix(struct rt_view *const *views, size_t n, const char *node, const char *tracking,
		    const char *problem, int ttl_seconds, int64_t now, size_t *len);
char *render_readme(size_t *len);

#endif
