/*
 * health.c - a runtime's health: when to probe (soon and backing off until
 * the first pass, then every interval_ms), what a result means (loading,
 * ready, degraded, a restart after failure_threshold failures), and exec
 * probes, each a short-lived child in the probes' cgroup of its runtime.
 * HTTP and TCP probes run in probe.c.  Loop thread.
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
		rt_begin_stop(rt, AFTER_NONE, "Stopping after failed health checks");
		rt_set_state(rt, ST_ERROR, SEV_ERROR, "Restart budget exhausted");
		return;
	}
	log_warnx("runtime[%s]: %s; restarting", rt->spec->id, why);
	rt_begin_stop(rt, AFTER_START, "Restarting after failed health checks");
	rt_set_state(rt, ST_ERROR, SEV_ERROR, "%s; restarting", why);
}

/* The next health check, `delay` ms from now. */
static void next_probe(struct runtime *rt, int64_t delay, int64_t mono)
{
	struct fsm_in in = { .delay_ms = delay };

	fsm_step(&rt->fsm, EV_PROBED, &in, mono);
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
	rt->dirty = true;
	if (o->ok) {
		rt->probe_failures = 0;
		rt->probe_last_ok = now_ms();
		fsm_step(&rt->fsm, EV_HEALTHY, NULL, mono);
		if (!rt->ever_ready || rt->state != ST_READY) {
			if (!rt->ever_ready)
				log_info("runtime[%s]: ready (%s in %lld ms)", rt->spec->id, o->msg,
					 (long long)(mono - rt->started_mono));
			rt->ever_ready = true;
			rt_set_state(rt, ST_READY, SEV_INFO, "Process healthy");
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

void rt_probe_now(struct runtime *rt)
{
	const struct health_spec *h = &rt->spec->health;

	if (h->type == PROBE_HTTP)
		rt->probe = probe_http(h->url, h->method, h->expect_status, h->expect_body,
				       h->timeout_ms, rt_on_probe, rt);
	else if (h->type == PROBE_TCP)
		rt->probe = probe_tcp(h->tcp, h->timeout_ms, rt_on_probe, rt);
	else if (h->type == PROBE_EXEC) {
		rt_xprobe_start(rt);
		return;
	}
	if (!rt->probe)
		next_probe(rt, h->interval_ms, mono_ms());
}

/* ---- exec probes: a short-lived child per check, in its own group ---- */

static void xprobe_close(struct runtime *rt)
{
	if (rt->xpidfd >= 0) {
		loop_unwatch(rt->xpidfd);
		close(rt->xpidfd);
		rt->xpidfd = -1;
	}
	if (rt->xoutfd >= 0) {
		loop_unwatch(rt->xoutfd);
		close(rt->xoutfd);
		rt->xoutfd = -1;
	}
}

static void on_xprobe_exit(void *ctx, uint32_t events)
{
	(void)events;
	rt_xprobe_reap(ctx);
}

static void on_xprobe_output(void *ctx, uint32_t events);

void rt_xprobe_start(struct runtime *rt)
{
	const struct rt_spec *s = rt->spec;
	char err[300];
	struct spawn_result res;
	struct probe_outcome o;
	int r;

	memset(&o, 0, sizeof(o));
	r = rt_launch(rt, s->health.exec, s->health.nexec, true, &rt->xin_cg, &res, err, sizeof(err));
	if (r < 0) {
		rt_drop_cg(&rt->xcg);   /* nothing was born in it */
		rt->xin_cg = false;
		snprintf(o.msg, sizeof(o.msg), "exec probe cannot start: %s", err);
		rt_on_probe(rt, &o);
		return;
	}
	rt->xpid = res.pid;
	rt->xpidfd = res.pidfd;
	rt->xoutfd = res.outfd;
	rt->xreaping = rt->xtimed_out = rt->xabandoned = false;
	rt->xlen = 0;
	rt->xout[0] = '\0';
	rt->xstarted = mono_ms();
	rt->xdeadline = rt->xstarted + s->health.timeout_ms;
	if (rt->xpidfd >= 0)
		loop_watch(rt->xpidfd, EPOLLIN, on_xprobe_exit, rt);
	loop_watch(rt->xoutfd, EPOLLIN, on_xprobe_output, rt);
}

void rt_xprobe_kill(struct runtime *rt)
{
	if (rt->xin_cg && cg_populated(&rt->xcg) != 0)
		cg_kill(&rt->xcg);
	kill(-rt->xpid, SIGKILL);
}

/* Reap the exec probe and its group; judge it once nobody is left. */
void rt_xprobe_reap(struct runtime *rt)
{
	struct probe_outcome o;
	char *nl;

	if (rt->xpid <= 0)
		return;
	if (!rt->xreaping) {
		if (!rt_reap_leader(rt->xpid, &rt->xstatus))
			return;
		rt->xreaping = true;
		rt_xprobe_kill(rt);
	}
	if (!rt_reap_members(rt->xpid))
		return;
	if (rt->xin_cg && cg_populated(&rt->xcg) == 1)
		return;   /* cgroup.events brings us back */
	while (rt->xoutfd >= 0 && rt->xlen < sizeof(rt->xout) - 1) {
		ssize_t n = read(rt->xoutfd, rt->xout + rt->xlen, sizeof(rt->xout) - 1 - rt->xlen);

		if (n <= 0)
			break;
		rt->xlen += (size_t)n;
	}
	rt->xout[rt->xlen] = '\0';
	if ((nl = strchr(rt->xout, '\n')))
		*nl = '\0';
	xprobe_close(rt);
	rt_drop_cg(&rt->xcg);
	rt->xin_cg = false;
	rt->xpid = 0;
	rt->xreaping = false;
	memset(&o, 0, sizeof(o));
	o.latency_ms = mono_ms() - rt->xstarted;
	if (rt->xtimed_out)
		snprintf(o.msg, sizeof(o.msg), "no answer within %d ms", rt->spec->health.timeout_ms);
	else if (rt->xstatus >= 0 && WIFEXITED(rt->xstatus) && WEXITSTATUS(rt->xstatus) == 0)
		o.ok = true, snprintf(o.msg, sizeof(o.msg), "exit 0%s%s", rt->xout[0] ? ": " : "", rt->xout);
	else if (rt->xstatus >= 0 && WIFEXITED(rt->xstatus))
		snprintf(o.msg, sizeof(o.msg), "exit %d%s%s", WEXITSTATUS(rt->xstatus),
			 rt->xout[0] ? ": " : "", rt->xout);
	else if (rt->xstatus >= 0 && WIFSIGNALED(rt->xstatus))
		snprintf(o.msg, sizeof(o.msg), "killed by signal %d", WTERMSIG(rt->xstatus));
	else
		snprintf(o.msg, sizeof(o.msg), "exit status lost");
	if (rt->removing && rt->pid <= 0) {
		rt_remove(rt);   /* it was waiting for this probe's group */
		return;
	}
	if (!rt->xabandoned)
		rt_on_probe(rt, &o);
}

/* Keep the first line or so of its output for the result; drop the rest. */
static void on_xprobe_output(void *ctx, uint32_t events)
{
	struct runtime *rt = ctx;

	(void)events;
	for (;;) {
		char sink[4096];
		ssize_t n;

		if (rt->xoutfd < 0)
			return;
		if (rt->xlen < sizeof(rt->xout) - 1)
			n = read(rt->xoutfd, rt->xout + rt->xlen, sizeof(rt->xout) - 1 - rt->xlen);
		else
			n = read(rt->xoutfd, sink, sizeof(sink));
		if (n > 0) {
			if (rt->xlen < sizeof(rt->xout) - 1)
				rt->xlen += (size_t)n;
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		loop_unwatch(rt->xoutfd);
		close(rt->xoutfd);
		rt->xoutfd = -1;
		return;
	}
}

/* Drop whatever probe is in flight; an exec probe's group is killed and
 * reaped later, its result ignored. */
void rt_probe_stop(struct runtime *rt)
{
	if (rt->probe) {
		probe_cancel(rt->probe);
		rt->probe = NULL;
	}
	if (rt->xpid > 0) {
		rt->xabandoned = true;
		rt_xprobe_kill(rt);
	}
}

