/*
 * rt.h - what the files of one runtime's life share among themselves:
 * runtime.c (the life cycle: spawn, reap, stop, health, timers), output.c
 * (the output pump and log files), publish.c (the files and events) and
 * control.c (ctl verbs and waiters).  Loop thread only.  Everything else
 * uses the rt_* functions of sup.h.
 */
#ifndef ARW_RT_H
#define ARW_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"
#include "sup.h"

struct cJSON;

/* runtime.c */
/* fsm_step on rt's machine, its deadlines filed again. */
struct fsm_out rt_fsm_step(struct runtime *rt, enum fsm_event ev, const struct fsm_in *in, int64_t mono);
void rt_set_state(struct runtime *rt, enum rt_state st, enum severity sev,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* {"id": ...}: the start of every event payload about rt */
struct cJSON *rt_payload(const struct runtime *rt);
/* Save its desired state and budget: 0, or the errno (said once, retried). */
int rt_save_state(struct runtime *rt);
void rt_spawn(struct runtime *rt, int64_t mono);
/* Running and healthy: `ready` (with this summary), or `degraded` on its
 * fallback. */
void rt_set_running_state(struct runtime *rt, const char *ready_summary);
/* Start if not running (not counted); a stop under way starts it after. */
void rt_start(struct runtime *rt, int64_t mono);
void rt_begin_stop(struct runtime *rt, enum after after, const char *why);
/* Drop the health probe in flight (an exec probe's processes are killed). */
void rt_probe_stop(struct runtime *rt);

/* Count an automatic restart; false (and latched in error) when none is left. */
bool rt_take_restart(struct runtime *rt, const char *why);
/* Launch cmd through the one launch path, in the runtime's cgroup (or its
 * probes', `probe`); *in_cg says whether it went into one. */
struct spawn_result;
int rt_launch(struct runtime *rt, const struct rt_spec *s, char *const *cmd, size_t ncmd, bool probe,
	      bool *in_cg, struct spawn_result *res, char *err, size_t errlen);
/* Stop watching the cgroup, close it, remove its folder. */
void rt_drop_cg(struct cg *cg);
/* Reap the leader of group pgid if it exited (its status, -1 if lost). */
bool rt_reap_leader(pid_t pgid, int *status);
/* Reap what is left of group pgid: true once no child of ours is in it. */
bool rt_reap_members(pid_t pgid);

/* health.c */
void rt_probe_now(struct runtime *rt);
void rt_health_failed(struct runtime *rt, const char *why);
void rt_on_probe(void *ctx, const struct probe_outcome *o);

/* output.c */
/* Read what the process wrote; `all` drains the pipe (the group is gone). */
void rt_read_output(struct runtime *rt, bool all);
/* IN_MODIFY of `logs` now (the throttle's deadline came). */
void rt_logs_notify(struct runtime *rt, int64_t mono);

/* control.c */
/* Answer the waiters whose runtime got where they wait for. */
void rt_check_waiters(struct runtime *rt);

#endif
