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
#include "view.h"


/* The text of one runtime file (not RF_LOGS, not RF_DIR); malloc'd. */
char *render_rt_file(enum rt_file f, const struct rt_view *v, int64_t now, size_t *len);
/* health.json without its uptime's digits: *uptime_at is where they go,
 * RT_NO_UPTIME when it is null (see struct rt_view). */
char *render_health_parts(const struct rt_view *v, int64_t now, size_t *len, size_t *uptime_at);
/* "<state_label> - <summary>" */
char *render_label(const struct rt_view *v);

/* runtime_matrix.json from every runtime's view.  `problem` (NULL: none)
 * is something wrong with the node itself: it makes the node degraded. */
char *render_matrix(struct rt_view *const *views, size_t n, const char *node, const char *tracking,
		    const char *problem, int ttl_seconds, int64_t now, size_t *len);
char *render_readme(size_t *len);

/* The view's restart budget as of now, in b. */
struct budget;
void budget_of(const struct rt_view *v, int64_t now, struct budget *b);

/* metrics.prom (metrics.c): the Prometheus text exposition of every
 * runtime's view and of the node; `start_ms` is when the supervisor
 * started. */
char *render_metrics(struct rt_view *const *views, size_t n, const int *accel_counts, int64_t start_ms,
		     const char *version, int64_t now, size_t *len);

#endif
