/*
 * health.c - a runtime's health: when to probe (soon and backing off until
 * the first pass, then every interval_ms), what a result means (loading,
 * ready, degraded, a restart after failure_threshold failures).  Every
 * kind of probe runs in probe.c and reports to rt_on_probe; an exec probe is
 * born through the runtime's launch path into its probes' cgroup (xops).
 * Loop thread.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "procscan.h"
#include "rt.h"
#include "spawn.h"
#include "sup.h"

/* Until the first pass, probe soon and back off: 10, 20, 40 ... ms up to
 * STARTUP_PROBE_MS (or interval_ms if smaller), so readiness is seen within
 * a few ms of it happening without hammering a model that loads for minutes. */
#define STARTUP_PROBE_FIRST_MS 10
#define STARTUP_PROBE_MS 250

/* ---- health ---- */

void rt_health_failed(struct runtime *rt, const char *why)
{
	if (!rt_take_restart(rt, why)) {
		rt->stop_for_health = true;
		rt_begin_stop(rt, AFTER_NONE, "Stopping after failed health checks");
		rt_set_state(rt, ST_ERROR, SEV_ERROR, "Restart budget exhausted");
		return;
	}
	log_warnx("runtime[%s]: %s; restarting", rt->spec->id, why);
	rt->stop_for_health = true;
	rt_begin_stop(rt, AFTER_START, "Restarting after failed health checks");
	rt_set_state(rt, ST_ERROR, SEV_ERROR, "%s; restarting", why);
}

/* The next health check, `delay` ms from now. */
static void next_probe(struct runtime *rt, int64_t delay, int64_t mono)
{
	struct fsm_in in = { .delay_ms = delay };

	rt_fsm_step(rt, EV_PROBED, &in, mono);
}

void rt_on_probe(void *ctx, const struct probe_outcome *o)
{
	struct runtime *rt = ctx;
	const struct health_spec *h = &rt->spec->health;
	int64_t mono = mono_ms();

	rt->probe = NULL;
	if (rt->fsm.phase != PH_RUNNING)
		return;
	rt->has_probe_result = true;
	snprintf(rt->probe_result, sizeof(rt->probe_result), "%s", o->msg);
	rt->probe_latency = o->latency_ms;
	rt_dirty(rt);
	if (o->ok) {
		rt->probe_failures = 0;
		rt->probe_last_ok = now_ms();
		rt_fsm_step(rt, EV_HEALTHY, NULL, mono);
		/* (on a fallback it stays degraded: set it again, in case a
		 * failed check said something else meanwhile) */
		if (!rt->ever_ready || rt->state != ST_READY || rt->on_fallback) {
			if (!rt->ever_ready)
				log_info("runtime[%s]: ready%s (%s in %lld ms)", rt->spec->id,
					 rt->on_fallback ? " on its fallback" : "", o->msg,
					 (long long)(mono - rt->started_mono));
			rt->ever_ready = true;
			rt_set_running_state(rt, "Process healthy");
		}
	} else if (!rt->ever_ready) {
		if (o->loading)
			rt_set_state(rt, ST_STARTING, SEV_INFO, "Loading model");
		else
			rt_set_state(rt, ST_STARTING, SEV_INFO, "Waiting for health check (%s)", o->msg);
	} else {
		rt->probe_failures++;
		if (rt->probe_failures >= h->failure_threshold) {
			char why[300];

			snprintf(why, sizeof(why), "Health check failed %d times in a row (%s)",
				 rt->probe_failures, o->msg);
			rt_health_failed(rt, why);
			return;
		}
		rt_set_state(rt, ST_DEGRADED, SEV_WARN, "Health check failed (%d of %d): %s",
			  rt->probe_failures, h->failure_threshold, o->msg);
	}
	if (rt->ever_ready) {
		next_probe(rt, h->interval_ms, mono);
	} else {
		int64_t cap = h->interval_ms < STARTUP_PROBE_MS ? h->interval_ms : STARTUP_PROBE_MS;
		int64_t d = (int64_t)STARTUP_PROBE_FIRST_MS << (rt->startup_probes < 16 ? rt->startup_probes : 16);

		rt->startup_probes++;
		next_probe(rt, d < cap ? d : cap, mono);
	}
}

/* ---- exec probes: probe.c runs them; these put them in the runtime's
 * probes cgroup, through its launch path ---- */

static int xlaunch(void *opsctx, char *const *argv, size_t argc, struct spawn_result *res,
		   char *err, size_t errlen)
{
	struct runtime *rt = opsctx;
	int r = rt_launch(rt, rt->spec, argv, argc, true, &rt->xin_cg, res, err, errlen);

	if (r < 0) {
		rt_drop_cg(&rt->xcg);   /* nothing was born in it */
		rt->xin_cg = false;
	}
	return r;
}

static void xkill(void *opsctx, pid_t pgid)
{
	struct runtime *rt = opsctx;

	if (rt->xin_cg && cg_populated(&rt->xcg) != 0)
		cg_kill(&rt->xcg);
	kill(-pgid, SIGKILL);
}

static int xpopulated(void *opsctx)
{
	struct runtime *rt = opsctx;

	return rt->xin_cg ? cg_populated(&rt->xcg) : -1;
}

static bool xdone(void *opsctx, struct probe *p)
{
	struct runtime *rt = opsctx;

	if (rt->xprobe == p)
		rt->xprobe = NULL;
	if (rt->probe == p)
		rt->probe = NULL;
	rt_drop_cg(&rt->xcg);
	rt->xin_cg = false;
	if (rt->removing && rt->pid <= 0) {
		rt_remove(rt);   /* it was waiting for this probe's group */
		return true;
	}
	return false;
}

static const struct probe_exec_ops xops = { xlaunch, xkill, xpopulated, xdone };

void rt_probe_now(struct runtime *rt)
{
	const struct health_spec *h = &rt->spec->health;

	if (h->type == PROBE_HTTP)
		rt->probe = probe_http(h->url, h->method, h->expect_status, h->expect_body,
				       h->timeout_ms, rt_on_probe, rt);
	else if (h->type == PROBE_TCP)
		rt->probe = probe_tcp(h->tcp, h->timeout_ms, rt_on_probe, rt);
	else if (h->type == PROBE_EXEC)
		rt->probe = rt->xprobe = probe_exec(h->exec, h->nexec, h->timeout_ms, &xops, rt,
						    rt_on_probe, rt);
	if (!rt->probe)
		next_probe(rt, h->interval_ms, mono_ms());
}

/* Drop whatever probe is in flight; an exec probe's group is killed and
 * reaped later (rt->xprobe until then), its result ignored. */
void rt_probe_stop(struct runtime *rt)
{
	if (rt->probe) {
		probe_cancel(rt->probe);
		rt->probe = NULL;
	}
}
