/*
 * control.c - the ctl verbs: a runtime's, and the root's (reload,
 * start-all, stop-all); and the writes that wait (wait=N) until their
 * runtime, or every runtime, gets there.  Loop thread.
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
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "inventory.h"
#include "notify.h"
#include "procscan.h"
#include "registry.h"
#include "render.h"
#include "rt.h"
#include "sup.h"

/* ---- control ---- */

static void record_ctl(struct runtime *rt, const char *text, const char *result)
{
	char ts[32];

	snprintf(rt->ctl_last, sizeof(rt->ctl_last), "last: %s\nat: %s\nresult: %s\n",
		 text, fmt_time(ts, sizeof(ts), now_ms()), result);
	rt_dirty(rt);
}

static bool is_up(const struct runtime *rt)
{
	return rt->fsm.phase == PH_RUNNING;
}

/* Would a waiter for `verb` be satisfied (0), failed (errno) or wait (-1)? */
int rt_wait_status(const struct runtime *rt, enum ctl_verb verb)
{
	if (verb == CTL_STOP)
		return rt->fsm.phase == PH_IDLE ? 0 : -1;
	if (rt->fsm.phase == PH_RUNNING && rt->state == ST_READY)
		return 0;
	/* serving on its fallback: as ready as it gets here */
	if (rt->fsm.phase == PH_RUNNING && rt->on_fallback && rt->ever_ready && !rt->probe_failures &&
	    rt->state == ST_DEGRADED)
		return 0;
	/* in error, unless on its way through a restart after failed checks */
	if (rt->state == ST_ERROR && rt->fsm.phase != PH_STOPPING)
		return EIO;
	if (rt->fsm.phase == PH_IDLE && rt->state == ST_OFFLINE)
		return EIO;
	return -1;
}

void rt_check_waiters(struct runtime *rt)
{
	struct waiter **pw;

	for (pw = &rt->waiters; *pw;) {
		struct waiter *w = *pw;
		int st = rt_wait_status(rt, w->verb);

		if (st < 0) {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		if (st == 0)
			loop_reply(w->req, w->of, 0, w->size, "ok %s: %s - %s", w->text,
				   state_label(rt->state), rt->summary);
		else
			loop_reply(w->req, w->of, st, 0, "error %s: %s - %s", w->text,
				   state_label(rt->state), rt->summary);
		free(w);
	}
}

bool rt_interrupt(struct runtime *rt, uint64_t park_id)
{
	return waiter_interrupt(&rt->waiters, park_id);
}

static void restore_requested(struct runtime *rt, const char *why)
{
	cJSON *p = rt_payload(rt);

	cJSON_AddStringToObject(p, "reason", why);
	events_emit("runtime.restore.requested", p);
}

/* Counted restart (restart/restore).  0 or -EAGAIN. */
static int counted_restart(struct runtime *rt, const char *why)
{
	if (budget_take(&rt->budget, now_ms()) < 0)
		return -EAGAIN;
	rt->restarts_total++;
	rt->restore_pending = true;
	rt->latched = false;
	rt->quick_crashes = 0;
	if (rt->fsm.phase == PH_RUNNING || rt->fsm.phase == PH_STOPPING) {
		/* the stop signal first (the process needs its time to die),
		 * then the event: the stop's own event comes at publication */
		rt_begin_stop(rt, AFTER_START, "Restarting (operator request)");
		restore_requested(rt, why);
	} else {
		restore_requested(rt, why);   /* before runtime.started */
		rt_spawn(rt, mono_ms());
	}
	return 0;
}

/* Each verb: 0 with "ok: ..." in result, or an errno with "error: ...". */

static int verb_start(struct runtime *rt, char *result, size_t rlen)
{
	rt->desired = DESIRED_AUTO;
	rt->latched = false;
	if (is_up(rt)) {
		snprintf(result, rlen, "ok: already running");
		return 0;
	}
	rt->quick_crashes = 0;
	rt_start(rt, mono_ms());
	snprintf(result, rlen, "ok: starting");
	return 0;
}

static int verb_stop(struct runtime *rt, char *result, size_t rlen)
{
	bool down = rt->fsm.phase == PH_IDLE || rt->fsm.phase == PH_BACKOFF;

	rt->desired = DESIRED_DOWN;
	rt->latched = false;
	rt_begin_stop(rt, AFTER_NONE, "Stopping (operator request)");
	if (down)
		rt_set_state(rt, ST_OFFLINE, SEV_INFO, "Stopped by operator");
	snprintf(result, rlen, "%s", down ? "ok: not running; stays down" : "ok: stopping; stays down");
	return 0;
}

static int verb_restart(struct runtime *rt, enum ctl_verb verb, char *result, size_t rlen)
{
	if (counted_restart(rt, ctl_verb_name(verb)) < 0) {
		snprintf(result, rlen, "error: restart budget exhausted (%d of %d used; echo reset-budget > ctl)",
			 budget_used(&rt->budget, now_ms()), rt->budget.max_restarts);
		return EAGAIN;
	}
	rt->desired = DESIRED_AUTO;
	snprintf(result, rlen, "ok: %s; budget %d of %d used",
		 rt->fsm.phase == PH_STOPPING ? "restarting" : "starting",
		 budget_used(&rt->budget, now_ms()), rt->budget.max_restarts);
	return 0;
}

static int verb_kill(struct runtime *rt, int sig, char *result, size_t rlen)
{
	const char *name = ctl_signal_name(sig);
	int err;

	if (rt->pid <= 0 || rt->fsm.leader_done) {
		snprintf(result, rlen, "error: not running");
		return ESRCH;
	}
	if (kill(-rt->pid, sig) < 0) {
		err = errno;
		snprintf(result, rlen, "error: %s", strerror(err));
		return err;
	}
	snprintf(result, rlen, "ok: sent SIG%s to process group %d", name ? name : "?", (int)rt->pid);
	return 0;
}

static int do_verb(struct runtime *rt, const struct loop_cmd *c, char *result, size_t rlen)
{
	switch (c->ctl.verb) {
	case CTL_START:
		return verb_start(rt, result, rlen);
	case CTL_STOP:
		return verb_stop(rt, result, rlen);
	case CTL_RESTART:
	case CTL_RESTORE:
		return verb_restart(rt, c->ctl.verb, result, rlen);
	case CTL_RESET_BUDGET:
		budget_reset(&rt->budget);
		snprintf(result, rlen, "ok: budget reset, %d restarts available", rt->budget.max_restarts);
		return 0;
	case CTL_KILL:
		return verb_kill(rt, c->ctl.signal, result, rlen);
	default:
		snprintf(result, rlen, "error: not a runtime verb");
		return EINVAL;
	}
}

void rt_ctl(struct runtime *rt, const struct loop_cmd *c)
{
	char result[300];
	int err;

	if (c->parse_err) {
		snprintf(result, sizeof(result), "error: %s", c->errmsg);
		record_ctl(rt, c->text, result);
		loop_reply(c->req, c->of, EINVAL, 0, "error %s: %s", c->text, c->errmsg);
		return;
	}
	if (sup.shutting_down) {
		record_ctl(rt, c->text, "error: the supervisor is shutting down");
		loop_reply(c->req, c->of, ESHUTDOWN, 0, "error %s: the supervisor is shutting down", c->text);
		return;
	}
	err = do_verb(rt, c, result, sizeof(result));
	/* Every verb but kill changes what the state folder keeps (the desired
	 * state, the budget): the operator must learn when it was not kept. */
	if (!err && c->ctl.verb != CTL_KILL && (err = rt_save_state(rt))) {
		char done[300];

		snprintf(done, sizeof(done), "%s", result + 4);
		snprintf(result, sizeof(result), "error: carried out (%s), but not saved: %s "
			 "(state folder %s); it is lost if the supervisor restarts",
			 done, strerror(err), sup.state);
	}
	record_ctl(rt, c->text, result);
	log_info("runtime[%s]: ctl \"%s\": %s", rt->spec->id, c->text, result);
	if (err) {
		loop_reply(c->req, c->of, err, 0, "error %s: %s", c->text, result + 7);
		return;
	}
	if (c->ctl.wait_s > 0 && waiter_park(&rt->waiters, c, c->ctl.verb)) {
		rt_dirty(rt);   /* checked at publish */
		rt_timers_changed(rt);
		return;
	}
	loop_reply(c->req, c->of, 0, c->size, "ok %s: %s", c->text, result + 4);
}

void rt_stop_for_shutdown(struct runtime *rt)
{
	waiter_fail_all(&rt->waiters, ESHUTDOWN, "the supervisor is shutting down");
	if (rt->fsm.phase != PH_IDLE)
		rt_begin_stop(rt, AFTER_NONE, "Stopping (supervisor shutting down)");
	rt_dirty(rt);
}

/* start-all (up) or stop-all: every runtime's desired state, saved and
 * acted on.  0, or the errno of the first save that failed. */
int rt_set_all(bool up)
{
	size_t i;
	int err = 0, r;

	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];

		if (!rt || rt->removing)
			continue;
		rt->desired = up ? DESIRED_AUTO : DESIRED_DOWN;
		rt->latched = false;
		if ((r = rt_save_state(rt)) && !err)
			err = r;
		if (up && !is_up(rt)) {
			rt_start(rt, mono_ms());
		} else if (!up) {
			rt_begin_stop(rt, AFTER_NONE, "Stopping (operator request)");
			if (rt->fsm.phase == PH_IDLE)
				rt_set_state(rt, ST_OFFLINE, SEV_INFO, "Stopped by operator");
		}
		rt_dirty(rt);
	}
	return err;
}

/* ---- the root ctl ---- */

static void root_record(const char *text, const char *result)
{
	char ts[32];
	struct snap *s;

	snprintf(sup.root_ctl_last, sizeof(sup.root_ctl_last), "last: %s\nat: %s\nresult: %s\n",
		 text, fmt_time(ts, sizeof(ts), now_ms()), result);
	s = snap_new(sup.root_ctl_last, strlen(sup.root_ctl_last), now_ms());
	if (s)
		reg_top_set(TOP_CTL, s);
}

/* ---- root wait=: start-all waits for every runtime ready, stop-all for
 * every one down ---- */

static void root_park(struct loop_cmd *c, enum ctl_verb verb)
{
	if (!waiter_park(&sup.root_waiters, c, verb))
		loop_reply(c->req, c->of, 0, c->size, "ok %s: not waiting (out of memory)", c->text);
}

/* 0 when every runtime got there, an errno when one ended badly, -1 wait. */
static int root_wait_status(enum ctl_verb verb, const char **bad)
{
	size_t i;
	int worst = 0;

	for (i = 0; i < sup.nrts; i++) {
		const struct runtime *rt = sup.rts[i];
		int st;

		if (!rt || rt->removing)
			continue;
		st = rt_wait_status(rt, verb);
		if (st < 0)
			return -1;
		if (st > 0 && !worst) {
			worst = st;
			*bad = rt->spec->id;
		}
	}
	return worst;
}

void root_check_waiters(int64_t mono)
{
	struct waiter **pw;

	for (pw = &sup.root_waiters; *pw;) {
		struct waiter *w = *pw;
		const char *bad = "";
		int st = root_wait_status(w->verb, &bad);

		if (st < 0) {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		if (st > 0)
			loop_reply(w->req, w->of, st, 0, "error %s: runtime %s ended in error", w->text, bad);
		else
			loop_reply(w->req, w->of, 0, w->size, "ok %s: every runtime %s", w->text,
				   w->verb == CTL_STOP ? "stopped" : "ready");
		free(w);
	}
	waiter_expire(&sup.root_waiters, mono);
}

void root_ctl(struct loop_cmd *c)
{
	if (c->parse_err) {
		char result[300];

		snprintf(result, sizeof(result), "error: %s", c->errmsg);
		root_record(c->text, result);
		loop_reply(c->req, c->of, EINVAL, 0, "error %s: %s", c->text, c->errmsg);
		return;
	}
	if (sup.shutting_down) {
		loop_reply(c->req, c->of, ESHUTDOWN, 0, "error %s: the supervisor is shutting down", c->text);
		return;
	}
	switch (c->ctl.verb) {
	case CTL_RELOAD:
		log_info("ctl: reload");
		scan_all();
		inv_rescan("reload");
		root_record(c->text, "ok: manifests folder rescanned");
		/* entries it removed must be gone from the kernel's cache too */
		loop_reply_synced(c->req, c->of, 0, c->size, "ok %s: manifests folder rescanned", c->text);
		return;
	case CTL_STOP_ALL:
	case CTL_START_ALL: {
		bool stop = c->ctl.verb == CTL_STOP_ALL;
		const char *what = stop ? "stopping every runtime; they stay down" : "starting every runtime";
		char result[600];
		int err;

		log_info("ctl: %s", ctl_verb_name(c->ctl.verb));
		err = rt_set_all(!stop);
		if (err) {
			snprintf(result, sizeof(result), "error: carried out (%s), but not saved: %s "
				 "(state folder %s); it is lost if the supervisor restarts",
				 what, strerror(err), sup.state);
			root_record(c->text, result);
			loop_reply(c->req, c->of, err, 0, "error %s: %s", c->text, result + 7);
			return;
		}
		snprintf(result, sizeof(result), "ok: %s", what);
		root_record(c->text, result);
		if (c->ctl.wait_s > 0)
			root_park(c, stop ? CTL_STOP : CTL_START);
		else
			loop_reply(c->req, c->of, 0, c->size, "ok %s: %s", c->text, what);
		return;
	}
	default:
		root_record(c->text, "error: not a root verb");
		loop_reply(c->req, c->of, EINVAL, 0, "error %s: not a root verb", c->text);
		return;
	}
}
