/*
 * runtime.c - one runtime's life: spawn, watch, probe, stop, restart, and
 * what it publishes.  Loop thread only.
 *
 * The phase, the `after` intent and the life-cycle deadlines are fsm.c's
 * transition table; this file feeds it events and carries out the actions
 * it returns (run()), and sets the state shown to operators
 * (state/severity/summary) at each transition.
 * Nothing here blocks: stops and restarts finish when the pidfd says the
 * leader died and waitpid() on the process group says nobody is left.
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "inventory.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "procscan.h"
#include "rt.h"
#include "spawn.h"
#include "sup.h"

static void kill_all(struct runtime *rt);
static void rt_backoff(struct runtime *rt, int64_t delay_ms, int64_t mono);

void rt_set_state(struct runtime *rt, enum rt_state st, enum severity sev,
		      const char *fmt, ...)
{
	va_list ap;

	rt->state = st;
	rt->sev = sev;
	va_start(ap, fmt);
	vsnprintf(rt->summary, sizeof(rt->summary), fmt, ap);
	va_end(ap);
	rt_dirty(rt);
}

struct runtime *rt_find(const char *id)
{
	size_t i;

	for (i = 0; i < sup.nrts; i++)
		if (sup.rts[i] && strcmp(sup.rts[i]->spec->id, id) == 0)
			return sup.rts[i];
	return NULL;
}

cJSON *rt_payload(const struct runtime *rt)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "id", rt->spec->id);
	return p;
}

/* ---- what the state folder keeps ----
 * A write that fails (a full disk, a read-only folder) is said once in the
 * log and in the runtime's detail, makes the node degraded, and is tried
 * again every SAVE_RETRY_MS until it works. */

#define SAVE_RETRY_MS 5000

static void save_result(struct runtime *rt, bool *unsaved, const char *what, int r)
{
	bool was = rt->state_unsaved || rt->pid_unsaved;

	if (r < 0) {
		if (!*unsaved || rt->save_errno != -r)
			log_warnx("runtime[%s]: cannot save its %s in %s: %s", rt->spec->id, what,
				  sup.state, strerror(-r));
		*unsaved = true;
		rt->save_errno = -r;
		rt->save_retry_at = mono_ms() + SAVE_RETRY_MS;
	} else {
		*unsaved = false;
	}
	if (was && !rt->state_unsaved && !rt->pid_unsaved) {
		log_info("runtime[%s]: saving to %s works again", rt->spec->id, sup.state);
		rt->save_retry_at = 0;
	}
	if (was != (rt->state_unsaved || rt->pid_unsaved)) {
		rt_dirty(rt);
		sup.matrix_dirty = true;
	}
	rt_timers_changed(rt);
}

/* 0, or the errno of a failed save. */
int rt_save_state(struct runtime *rt)
{
	int r = persist_save(rt->spec->id, rt->desired, &rt->budget);

	save_result(rt, &rt->state_unsaved, "state (desired state, restart budget)", r);
	return r < 0 ? -r : 0;
}

static void save_pid(struct runtime *rt)
{
	int r = rt->pid > 0 ? persist_pid_write(rt->spec->id, rt->pid) : 0;

	save_result(rt, &rt->pid_unsaved, "pid file", r);
}

void rt_save_after_publish(struct runtime *rt)
{
	if (rt->clear_pid_after) {
		rt->clear_pid_after = false;
		if (rt->pid <= 0)
			persist_pid_clear(rt->spec->id);   /* else its new pid file replaces it */
	}
	if (rt->save_state_after) {
		rt->save_state_after = false;
		rt_save_state(rt);
	}
	if (rt->save_pid_after) {
		rt->save_pid_after = false;
		save_pid(rt);
	}
}

static void save_retry(struct runtime *rt)
{
	rt->save_retry_at = 0;
	if (rt->state_unsaved)
		rt_save_state(rt);
	if (rt->pid_unsaved)
		save_pid(rt);
}

/* ---- life cycle ---- */

static void rt_reap(struct runtime *rt);

/* ---- the loop's callbacks for a runtime's descriptors ---- */

static void on_pidfd(void *ctx, uint32_t events)
{
	(void)events;
	rt_reap(ctx);
}

static void on_output(void *ctx, uint32_t events)
{
	(void)events;
	rt_read_output(ctx, false);
}

/* cgroup.events changed.  Reading it is what re-arms the notification (the
 * descriptor stays readable until then), so it is read every time. */
static void on_cg(void *ctx, uint32_t events)
{
	struct runtime *rt = ctx;

	(void)events;
	if (cg_populated(&rt->cg) == 0 && rt->pid > 0 && rt->fsm.leader_done)
		rt_reap(rt);
}

static void on_xprobe_cg(void *ctx, uint32_t events)
{
	struct runtime *rt = ctx;

	(void)events;
	if (rt->xprobe && cg_populated(&rt->xcg) == 0)
		probe_exec_check(rt->xprobe);
}

/* Open the runtime's cgroup (or its probes') and watch its events: false
 * in fallback mode, or when it cannot be created (said in the log). */
static bool use_cg(struct runtime *rt, bool probe)
{
	struct cg *cg = probe ? &rt->xcg : &rt->cg;
	int r;

	if (!cg_enabled())
		return false;
	if (cg_is_open(cg))
		return true;
	r = cg_open(cg, probe ? "probes" : "runtimes", rt->spec->id);
	if (r == 0)
		r = loop_watch(cg->evfd, EPOLLPRI, probe ? on_xprobe_cg : on_cg, rt);
	if (r < 0) {
		log_warnx("runtime[%s]: cannot use cgroup %s: %s; tracking its %s by process group",
			  rt->spec->id, cg->path, strerror(-r), probe ? "probes" : "processes");
		cg_close(cg, false);
		return false;
	}
	return true;
}

void rt_drop_cg(struct cg *cg)
{
	if (cg_is_open(cg))
		loop_unwatch(cg->evfd);
	cg_close(cg, true);
}

/* Launch `cmd` for rt (its command, or its exec probe) through the one
 * launch path, in the runtime's cgroup or its probes'. */
int rt_launch(struct runtime *rt, const struct rt_spec *s, char *const *cmd, size_t ncmd, bool probe,
	      bool *in_cg, struct spawn_result *res, char *err, size_t errlen)
{
	struct spawn_req req;
	int r = spawn_prepare(&req, s, cmd, ncmd, sup.manifests, sup.node, sup.mount, err, errlen);

	if (r < 0)
		return r;
	*in_cg = use_cg(rt, probe);
	if (*in_cg) {
		const struct cg *cg = probe ? &rt->xcg : &rt->cg;

		req.cg_dirfd = cg->dirfd;
		req.cg_procsfd = cg->procsfd;
	}
	r = spawn_process(&req, res, err, errlen);
	spawn_req_free(&req);
	return r;
}

/* Count an automatic restart, not saved yet.  When none is left, the
 * runtime goes to error, latched, and the exhaustion is logged and emitted:
 * false then. */
static bool take_restart(struct runtime *rt, const char *why)
{
	cJSON *p;

	if (budget_take(&rt->budget, now_ms()) == 0) {
		rt->restarts_total++;
		return true;
	}
	rt->latched = true;
	rt_set_state(rt, ST_ERROR, SEV_ERROR, "Restart budget exhausted");
	log_warnx("runtime[%s]: %s; restart budget exhausted (%d restarts in %d s), leaving it down",
		  rt->spec->id, why, rt->budget.max_restarts, rt->budget.window_seconds);
	p = rt_payload(rt);
	cJSON_AddNumberToObject(p, "max_restarts", rt->budget.max_restarts);
	cJSON_AddNumberToObject(p, "window_seconds", rt->budget.window_seconds);
	cJSON_AddStringToObject(p, "reason", why);
	events_emit("runtime.budget.exhausted", p);
	return false;
}

bool rt_take_restart(struct runtime *rt, const char *why)
{
	if (!take_restart(rt, why))
		return false;
	rt_save_state(rt);
	return true;
}

static void launch_failed(struct runtime *rt, const char *why)
{
	int64_t backoff;

	log_warnx("runtime[%s]: failed to launch: %s", rt->spec->id, why);
	rt_fsm_step(rt, EV_SPAWN_FAILED, NULL, mono_ms());
	snprintf(rt->exit_reason, sizeof(rt->exit_reason), "failed to launch: %s", why);
	rt->has_exit = true;
	rt->exit_code = -1;
	rt->exit_sig = -1;
	rt->exit_at = now_ms();
	if (rt->spec->restart_policy == RESTART_NEVER || sup.shutting_down) {
		rt->latched = true;
		rt_set_state(rt, ST_ERROR, SEV_ERROR, "Failed to launch: %s", why);
		return;
	}
	/* Retried like a crash in the first second: the binary may be in the
	 * middle of an upgrade.  Each retry is counted. */
	rt->quick_crashes++;
	if (!rt_take_restart(rt, rt->exit_reason))
		return;
	backoff = budget_backoff_ms(0, rt->quick_crashes);
	rt_backoff(rt, backoff, mono_ms());
	rt_set_state(rt, ST_ERROR, SEV_ERROR, "Failed to launch: %s; retrying in %lld ms",
		  why, (long long)backoff);
}

/* What to say when a launch failed for lack of file descriptors. */
static void fd_shortage(char *err, size_t len, int r)
{
	struct rlimit rl;

	if (r == -ENFILE || getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, len, "out of file descriptors (%s)", strerror(-r));
		return;
	}
	snprintf(err, len, "out of file descriptors (the supervisor's limit is %llu; "
		 "raise LimitNOFILE or ulimit -n)", (unsigned long long)rl.rlim_cur);
}

/* Launch spec s's command (the manifest's, or its fallback's): 0, or
 * -errno with the reason in err. */
static int launch_command(struct runtime *rt, const struct rt_spec *s, struct spawn_result *res,
			  char *err, size_t len)
{
	char **cmd = calloc(s->nargs + 1, sizeof(char *));
	size_t i;
	int r;

	if (!cmd) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	cmd[0] = s->command;
	for (i = 0; i < s->nargs; i++)
		cmd[i + 1] = s->args[i];
	r = rt_launch(rt, s, cmd, s->nargs + 1, false, &rt->in_cg, res, err, len);
	free(cmd);
	if (r < 0) {
		rt_drop_cg(&rt->cg);   /* nothing was born in it */
		rt->in_cg = false;
		rt->cg_spare = false;
		if (r == -EMFILE || r == -ENFILE)
			fd_shortage(err, len, r);
	}
	return r;
}

enum placement rt_placement(const struct rt_spec *s)
{
	const struct inventory *inv = inv_get();

	if (!s->accelerator_set || accel_available(inv, s->accelerator))
		return PLACE_DECLARED;
	if (s->has_fallback && accel_available(inv, s->fb_accelerator))
		return PLACE_FALLBACK;
	return PLACE_NONE;
}

/* The accelerator it asks for is missing and there is no fallback: it is
 * not launched, and stays down (no budget is used) until the device
 * appears or the manifest changes. */
static void accelerator_missing(struct runtime *rt)
{
	const char *label = accel_label(rt->spec);

	log_warnx("runtime[%s]: %s not available on this node and no fallback; not started",
		  rt->spec->id, label);
	rt->missing_accel = true;
	rt->latched = true;
	rt_set_state(rt, ST_ERROR, SEV_ERROR, "%s not available", label);
}

void rt_on_accelerators(void)
{
	size_t i;

	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];
		const char *label;

		if (!rt || rt->removing)
			continue;
		label = accel_label(rt->spec);
		rt_dirty(rt);   /* its details say where it runs */
		if (sup.shutting_down)
			continue;
		if (rt->missing_accel && rt->fsm.phase == PH_IDLE && rt->desired == DESIRED_AUTO &&
		    rt_placement(rt->spec) != PLACE_NONE) {
			log_info("runtime[%s]: it can run now (%s); starting it", rt->spec->id,
				 rt_placement(rt->spec) == PLACE_DECLARED ? label : "on its fallback");
			rt->latched = false;
			rt->quick_crashes = 0;
			rt_spawn(rt, mono_ms());
		} else if (rt->on_fallback && rt->fsm.phase == PH_RUNNING && rt->spec->prefer_restart &&
			   rt_placement(rt->spec) == PLACE_DECLARED &&
			   !budget_exhausted(&rt->budget, now_ms()) &&
			   rt_take_restart(rt, "its accelerator is available")) {
			char why[80];

			snprintf(why, sizeof(why), "Restarting on %s", label);
			log_info("runtime[%s]: %s is here now; moving back to it (a counted restart)",
				 rt->spec->id, label);
			rt_begin_stop(rt, AFTER_START, why);
		}
	}
}

/* What shows while it runs: ready, or degraded on its fallback. */
void rt_set_running_state(struct runtime *rt, const char *ready_summary)
{
	if (rt->on_fallback)
		rt_set_state(rt, ST_DEGRADED, SEV_WARN, "%s fallback",
			     accel_label_of(rt->spec->fb_accelerator));
	else
		rt_set_state(rt, ST_READY, SEV_INFO, "%s", ready_summary);
}

/* After a crash or a stop: the cgroup kept for a spawn that follows at
 * once goes when none took it (see end_process_phase). */
static void drop_spare_cg(struct runtime *rt)
{
	if (rt->cg_spare) {
		rt_drop_cg(&rt->cg);
		rt->cg_spare = false;
	}
}

/* `after`: the pid file is written once the pass has published (a crash's
 * restart); else now, so that a ctl write learns of a failed save. */
static void spawn(struct runtime *rt, int64_t mono, bool after)
{
	const struct rt_spec *s = rt->spec;
	struct fsm_in in = { .has_probe = s->health.type != PROBE_NONE,
			     .startup_timeout_ms = s->health.startup_timeout_ms };
	enum placement pl = rt_placement(s);
	struct rt_spec *fb = NULL;
	struct spawn_result res;
	char err[300];
	cJSON *p;
	int r;

	if (pl == PLACE_NONE) {
		accelerator_missing(rt);
		return;
	}
	if (pl == PLACE_FALLBACK && !(fb = rt_spec_fallback(s))) {
		launch_failed(rt, "out of memory");
		return;
	}
	r = launch_command(rt, fb ? fb : s, &res, err, sizeof(err));
	rt_spec_free(fb);
	if (r < 0) {
		launch_failed(rt, err);
		return;
	}
	rt->cg_spare = false;   /* reused, or dropped by a failed launch */
	rt->on_fallback = pl == PLACE_FALLBACK;
	rt->missing_accel = false;
	rt->pid = res.pid;
	rt->pidfd = res.pidfd;
	rt->outfd = res.outfd;
	rt->stop_timed_out = false;
	rt->stop_for_health = false;
	rt->started_wall = now_ms();
	rt->started_mono = mono;
	rt_fsm_step(rt, EV_SPAWNED, &in, mono);
	rt->latched = false;
	rt->ever_ready = !in.has_probe;
	rt->probe_failures = 0;
	rt->startup_probes = 0;
	rt->has_probe_result = false;
	if (rt->pidfd >= 0)
		loop_watch(rt->pidfd, EPOLLIN, on_pidfd, rt);
	loop_watch(rt->outfd, EPOLLIN, on_output, rt);
	if (after) {
		rt->save_pid_after = true;   /* once the tree shows it */
		rt_todo(rt);
	} else {
		save_pid(rt);
	}
	proc_scan_forget();
	log_info("runtime[%s]: started pid %d: %s%s", s->id, (int)rt->pid, s->command,
		 rt->in_cg ? "" : cg_enabled() ? " (not in a cgroup)" : "");
	if (in.has_probe)
		rt_set_state(rt, ST_STARTING, SEV_INFO, "Waiting for health check");
	else
		rt_set_running_state(rt, "Process running");
	p = rt_payload(rt);
	cJSON_AddNumberToObject(p, "pid", rt->pid);
	events_emit("runtime.started", p);
}

void rt_spawn(struct runtime *rt, int64_t mono)
{
	spawn(rt, mono, false);
}

/* ---- the life cycle: fsm.c decides, this carries it out ---- */

static void end_process_phase(struct runtime *rt);
static void after_stop(struct runtime *rt, enum after after, int64_t mono);
static void after_crash(struct runtime *rt, int64_t lived, int64_t mono);
static void rt_stuck(struct runtime *rt);

/* The stop signal to the process group (the leader alone if it has none). */
static void term_group(struct runtime *rt)
{
	int sig = rt->spec->stop_signal;

	if (kill(-rt->pid, sig) < 0 && errno == ESRCH)
		kill(rt->pid, sig);
}

/* Carry out a step's actions, in the order of enum fsm_action.  `why` is
 * the reason of a stop (A_STOPPING). */
static void run(struct runtime *rt, struct fsm_out out, int64_t mono, const char *why)
{
	unsigned a = out.actions;

	if (a & A_PROBE_STOP)
		rt_probe_stop(rt);
	if (a & A_TERM)
		term_group(rt);   /* first: the process needs its time to die */
	if (a & A_TIMED_OUT) {
		log_warnx("runtime[%s]: pid %d ignored the stop signal for %d ms; sending SIGKILL",
			  rt->spec->id, (int)rt->pid, rt->spec->stop_timeout_ms);
		rt->stop_timed_out = true;
	}
	if (a & A_KILL)
		kill_all(rt);
	if (a & A_STUCK)
		rt_stuck(rt);
	if (a & A_STOPPING) {
		rt_set_state(rt, ST_STOPPING, SEV_INFO, "%s", why ? why : "Stopping");
		log_info("runtime[%s]: stopping pid %d (%s)", rt->spec->id, (int)rt->pid,
			 why ? why : "Stopping");
	}
	if (a & A_END)
		end_process_phase(rt);
	if (a & A_CRASHED) {
		after_crash(rt, mono - rt->started_mono, mono);
		drop_spare_cg(rt);
	}
	if (a & A_STOPPED)
		after_stop(rt, out.after, mono);   /* may remove rt: nothing after it */
	if (a & A_SPAWN)
		rt_spawn(rt, mono);
	if ((a & A_STARTUP_FAILED) && !rt->ever_ready) {
		char msg[200];

		snprintf(msg, sizeof(msg), "Not ready within startup timeout of %d ms",
			 rt->spec->health.startup_timeout_ms);
		rt_health_failed(rt, msg);
	}
	if ((a & A_PROBE) && !rt->probe && !rt->xprobe)
		rt_probe_now(rt);
}

/* Start if not running.  Not counted. */
void rt_start(struct runtime *rt, int64_t mono)
{
	run(rt, rt_fsm_step(rt, EV_START, NULL, mono), mono, NULL);
}

static void rt_backoff(struct runtime *rt, int64_t delay_ms, int64_t mono)
{
	struct fsm_in in = { .delay_ms = delay_ms };

	rt_fsm_step(rt, EV_BACKOFF, &in, mono);
}

/* SIGKILL to everything of the runtime: its cgroup, its process group, and
 * in fallback mode (at the end of the pass) what left the group. */
static void kill_all(struct runtime *rt)
{
	if (rt->in_cg && cg_populated(&rt->cg) != 0) {
		cg_kill(&rt->cg);
		rt->cg_killed = true;
	}
	kill(-rt->pid, SIGKILL);
	if (!rt->fsm.leader_done)
		kill(rt->pid, SIGKILL);
	if (!rt->in_cg) {
		rt->sweep_pending = true;
		rt_todo(rt);
	}
}


/* Nobody of the runtime is left: its cgroup is empty (or, in fallback
 * mode, no child of ours is in its process group). */
static bool group_gone(struct runtime *rt)
{
	bool none = rt_reap_members(rt->pid);
	int p, i;

	if (rt->in_cg && (p = cg_populated(&rt->cg)) >= 0)
		return p == 0;
	/* fallback: and what the sweep killed has died (a zombie is dead) */
	for (i = 0; i < rt->nswept; i++) {
		struct proc_info pi;

		if (proc_info(rt->swept[i], &pi) == 0 && pi.state != 'Z')
			return false;
	}
	rt->nswept = 0;
	return none;
}

/* The pids of the runtime's processes, up to max; how many there are. */
static int rt_pids(struct runtime *rt, pid_t *pids, int max)
{
	int n;

	if (rt->pid <= 0)
		return 0;
	if (rt->in_cg && (n = cg_pids(&rt->cg, pids, max)) >= 0)
		return n;
	return proc_group_pids(rt->pid, pids, max);
}

void rt_begin_stop(struct runtime *rt, enum after after, const char *why)
{
	struct fsm_in in = { .after = after, .stop_timeout_ms = rt->spec->stop_timeout_ms };
	int64_t mono = mono_ms();

	run(rt, rt_fsm_step(rt, EV_STOP, &in, mono), mono, why);
}

/* What the process phase held and scheduled ends with it. */
static void end_process_phase(struct runtime *rt)
{
	rt_read_output(rt, true);
	rt_probe_stop(rt);
	rt->stuck_count = 0;
	rt->sweep_pending = false;
	rt->nswept = 0;
	proc_scan_forget();
	/* The empty cgroup is kept for a spawn that follows at once (a crash's
	 * restart, a ctl restart): removing it and making it again is on that
	 * path.  Not one that was killed: on some kernels a child born with
	 * CLONE_INTO_CGROUP into a cgroup that was once killed is killed too. */
	if (rt->cg_killed) {
		rt_drop_cg(&rt->cg);
		rt->cg_killed = false;
	} else {
		rt->cg_spare = true;
	}
	rt->in_cg = false;
	if (rt->pidfd >= 0) {
		loop_unwatch(rt->pidfd);
		close(rt->pidfd);
		rt->pidfd = -1;
	}
	/* The pid file goes after the publication, off the way to a respawn
	 * (on ext4, removing a file frees and may discard its blocks); a new
	 * process's pid file replaces it then. */
	rt->clear_pid_after = true;
	rt_todo(rt);
	rt->pid = 0;
	if (rt->pid_unsaved)
		save_result(rt, &rt->pid_unsaved, "pid file", 0);   /* nothing to keep now */
	rt_dirty(rt);
}

/* Gone after a stop: carry out what was asked for after it. */
static void after_stop(struct runtime *rt, enum after after, int64_t mono)
{
	if (after == AFTER_REMOVE || rt->removing) {
		rt_remove(rt);
		return;
	}
	if (rt->next_spec) {
		rt_spec_free(rt->spec);
		rt->spec = rt->next_spec;
		rt->next_spec = NULL;
	}
	if (after == AFTER_START && !sup.shutting_down)
		rt_spawn(rt, mono);
	else if (!rt->latched)
		rt_set_state(rt, ST_OFFLINE, SEV_INFO, "%s",
			     rt->desired == DESIRED_DOWN ? "Stopped by operator" :
			     sup.shutting_down ? "Supervisor shutting down" : "Stopped");
	drop_spare_cg(rt);
}

/* Gone on its own: the restart policy, the budget, the backoff. */
static void after_crash(struct runtime *rt, int64_t lived, int64_t mono)
{
	const struct rt_spec *s = rt->spec;
	int64_t backoff;

	if (lived < 1000)
		rt->quick_crashes++;
	else
		rt->quick_crashes = 0;
	if (sup.shutting_down) {
		rt_set_state(rt, ST_OFFLINE, SEV_INFO, "Supervisor shutting down");
		return;
	}
	if (s->restart_policy == RESTART_NEVER ||
	    (s->restart_policy == RESTART_ON_FAILURE && rt->exit_code == 0)) {
		if (rt->exit_code == 0) {
			rt_set_state(rt, ST_OFFLINE, SEV_INFO, "Exited cleanly (code 0)");
		} else {
			rt->latched = true;
			rt_set_state(rt, ST_ERROR, SEV_ERROR, "%c%s",
				     rt->exit_reason[0] >= 'a' && rt->exit_reason[0] <= 'z' ?
				     rt->exit_reason[0] - 'a' + 'A' : rt->exit_reason[0],
				     rt->exit_reason[0] ? rt->exit_reason + 1 : "");
		}
		return;
	}
	if (!take_restart(rt, rt->exit_reason))
		return;
	backoff = budget_backoff_ms(lived, rt->quick_crashes ? rt->quick_crashes : 1);
	if (backoff == 0) {
		/* The death shows first: the old pid gone and `starting`, in
		 * the tree before the new process exists, so that a watcher
		 * sees both.  Then the spawn, which waits on nothing else: the
		 * counted restart is saved once the tree shows the new process
		 * (see rt_save_after_publish). */
		rt_set_state(rt, ST_STARTING, SEV_WARN, "Restarting (%s)", rt->exit_reason);
		rt_publish(rt);
		spawn(rt, mono, true);
		rt->save_state_after = true;
		rt_todo(rt);
		log_info("runtime[%s]: %s; restarted", s->id, rt->exit_reason);
		return;
	}
	rt_save_state(rt);
	rt_backoff(rt, backoff, mono);
	rt_set_state(rt, ST_STARTING, SEV_WARN, "Restarting in %lld ms (%s within its first second)",
		     (long long)backoff, rt->exit_reason);
	log_info("runtime[%s]: %s within its first second; restarting in %lld ms",
		 s->id, rt->exit_reason, (long long)backoff);
}

/* Every process of the runtime is gone: decide what comes next. */
static void rt_process_gone(struct runtime *rt)
{
	int64_t mono = mono_ms();

	run(rt, rt_fsm_step(rt, EV_GONE, NULL, mono), mono, NULL);
}

/* Reap the leader of process group `pgid` if it has exited: true then, with
 * its wait status in *status (-1 if someone else reaped it). */
bool rt_reap_leader(pid_t pgid, int *status)
{
	pid_t w = waitpid(pgid, status, WNOHANG);

	if (w == 0 || (w < 0 && errno != ECHILD))
		return false;
	if (w < 0)
		*status = -1;
	return true;
}

/* Reap whatever is left of group `pgid` (members come to us: we are a
 * subreaper).  True once nobody is left; false while some are still dying,
 * and SIGCHLD brings us back. */
bool rt_reap_members(pid_t pgid)
{
	int status;
	pid_t w;

	while ((w = waitpid(-pgid, &status, WNOHANG)) > 0)
		;
	return w < 0;   /* ECHILD */
}

/* Why the leader ended (see enum exit_kind). */
static enum exit_kind exit_kind_of(const struct runtime *rt)
{
	if (rt->fsm.phase == PH_STOPPING)
		return rt->stop_for_health ? EXIT_HEALTH : EXIT_OPERATOR;
	return rt->exit_sig > 0 ? EXIT_SIGNAL : EXIT_CRASH;
}

/* Reap the leader and whoever is left of its group. */
static void rt_reap(struct runtime *rt)
{
	int status;

	if (rt->pid <= 0)
		return;
	if (!rt->fsm.leader_done) {
		if (!rt_reap_leader(rt->pid, &status))
			return;
		/* A reaped process's pidfd stays readable: stop watching it, or
		 * the loop would spin while the rest of the group drains (the
		 * cgroup's events and SIGCHLD bring us back). */
		if (rt->pidfd >= 0)
			loop_unwatch(rt->pidfd);
		rt->has_exit = true;
		rt->exit_at = now_ms();
		if (status < 0) {
			rt->exit_code = -1;
			rt->exit_sig = -1;
			snprintf(rt->exit_reason, sizeof(rt->exit_reason), "exited (status lost)");
		} else if (WIFEXITED(status)) {
			rt->exit_code = WEXITSTATUS(status);
			rt->exit_sig = -1;
			snprintf(rt->exit_reason, sizeof(rt->exit_reason), "exited with code %d",
				 rt->exit_code);
		} else {
			const char *name = ctl_signal_name(WTERMSIG(status));

			rt->exit_code = -1;
			rt->exit_sig = WTERMSIG(status);
			snprintf(rt->exit_reason, sizeof(rt->exit_reason), "killed by signal %d%s%s%s",
				 rt->exit_sig, name ? " (SIG" : "", name ? name : "", name ? ")" : "");
		}
		if (rt->fsm.phase == PH_STOPPING)
			snprintf(rt->exit_reason + strlen(rt->exit_reason),
				 sizeof(rt->exit_reason) - strlen(rt->exit_reason), " after %s%s",
				 rt->stop_timed_out ? "the stop timeout" : "the stop signal", "");
		{
			cJSON *p = rt_payload(rt);

			cJSON_AddNumberToObject(p, "pid", rt->pid);
			if (rt->exit_code >= 0)
				cJSON_AddNumberToObject(p, "code", rt->exit_code);
			else
				cJSON_AddNullToObject(p, "code");
			if (rt->exit_sig > 0)
				cJSON_AddNumberToObject(p, "signal", rt->exit_sig);
			else
				cJSON_AddNullToObject(p, "signal");
			cJSON_AddStringToObject(p, "reason", rt->exit_reason);
			cJSON_AddBoolToObject(p, "expected", rt->fsm.phase == PH_STOPPING);
			rt->exits[exit_kind_of(rt)]++;
			events_emit("runtime.exited", p);
		}
		log_info("runtime[%s]: pid %d %s", rt->spec->id, (int)rt->pid, rt->exit_reason);
		/* Members left behind by the leader never outlive it. */
		run(rt, rt_fsm_step(rt, EV_LEADER_EXIT, NULL, mono_ms()), mono_ms(), NULL);
	}
	if (!rt->sweep_pending && group_gone(rt))
		rt_process_gone(rt);
}

/* The runtime whose leader is `pid`, not yet reaped. */
static struct runtime *leader_of(pid_t pid)
{
	size_t i;

	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];

		if (rt && rt->pid == pid && !rt->fsm.leader_done)
			return rt;
	}
	return NULL;
}

/* Every child that comes to us is reaped, whoever it is: helpers orphaned
 * by a runtime come to the subreaper, and no zombie may stay.  Leaders go
 * to their runtime or exec probe (which want the status); the notifier's
 * status is its own business. */
static void reap_strays(void)
{
	int guard;

	for (guard = 0; guard < 100000; guard++) {
		siginfo_t si;
		struct runtime *rt;

		si.si_pid = 0;
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			return;
		if (si.si_pid == notify_pid())
			return;   /* its exit event reaps it, then calls us again */
		if (probe_exec_reap(si.si_pid))
			continue;
		rt = leader_of(si.si_pid);
		if (rt)
			rt_reap(rt);
		else
			waitpid(si.si_pid, NULL, WNOHANG);
	}
}

void rt_on_sigchld(void)
{
	size_t i;

	for (i = 0; i < sup.nrts; i++) {
		struct runtime *rt = sup.rts[i];

		if (rt && rt->pid > 0 && (rt->fsm.leader_done || rt->pidfd < 0))
			rt_reap(rt);
	}
	probe_exec_sigchld();
	reap_strays();
}

void rt_sweep(void)
{
	const char **ids;
	size_t n = 0;
	pid_t pids[SWEPT_MAX];
	struct runtime *rt, *next;
	int k;

	for (rt = sup.todo; rt; rt = rt->todo_next)
		if (rt->sweep_pending)
			n++;
	if (!n)
		return;
	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return;   /* tried again next pass */
	for (rt = sup.todo, n = 0; rt; rt = rt->todo_next)
		if (rt->sweep_pending)
			ids[n++] = rt->spec->id;
	k = proc_signal_marked(sup.mount, ids, n, SIGKILL, pids, SWEPT_MAX);
	if (k > 0)
		log_info("sent SIGKILL to %d process%s of %s%s found by their environment (pid %d%s)",
			 k, k == 1 ? "" : "es", ids[0], n > 1 ? " and others" : "", (int)pids[0],
			 k > 1 ? ", ..." : "");
	free(ids);
	for (rt = sup.todo; rt; rt = next) {
		next = rt->todo_next;   /* rt_reap may remove rt */
		if (rt->sweep_pending) {
			rt->sweep_pending = false;
			/* with one runtime the pids are its own; with more, each
			 * waits for all (they die together) */
			rt->nswept = k < SWEPT_MAX ? k : SWEPT_MAX;
			memcpy(rt->swept, pids, (size_t)rt->nswept * sizeof(pid_t));
			rt_reap(rt);
		}
	}
}

void rt_abandon(struct runtime *rt)
{
	pid_t pids[64];
	char list[600];
	size_t k = 0;
	int n, i;

	if (rt->pid <= 0 && !rt->xprobe)
		return;
	n = rt_pids(rt, pids, 64);
	list[0] = '\0';
	for (i = 0; i < n && i < 64 && k + 12 < sizeof(list); i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%d", i ? " " : "", (int)pids[i]);
	log_warnx("shutdown: abandoning runtime[%s]: %d process%s still there after SIGKILL%s%s%s",
		  rt->spec->id, n, n == 1 ? "" : "es", n ? " (pids " : "", list, n ? ")" : "");
}

/* ---- timers ---- */

static int64_t earliest(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

struct fsm_out rt_fsm_step(struct runtime *rt, enum fsm_event ev, const struct fsm_in *in, int64_t mono)
{
	struct fsm_out out = fsm_step(&rt->fsm, ev, in, mono);

	rt_timers_changed(rt);
	return out;
}

void rt_todo(struct runtime *rt)
{
	if (rt->in_todo)
		return;
	rt->in_todo = true;
	rt->todo_next = NULL;
	rt->todo_prev = sup.todo_tail;
	if (sup.todo_tail)
		sup.todo_tail->todo_next = rt;
	else
		sup.todo = rt;
	sup.todo_tail = rt;
}

void rt_dirty(struct runtime *rt)
{
	rt->dirty = true;
	rt_todo(rt);
}

void rt_untodo(struct runtime *rt)
{
	if (!rt->in_todo)
		return;
	if (rt->todo_prev)
		rt->todo_prev->todo_next = rt->todo_next;
	else
		sup.todo = rt->todo_next;
	if (rt->todo_next)
		rt->todo_next->todo_prev = rt->todo_prev;
	else
		sup.todo_tail = rt->todo_prev;
	rt->todo_prev = rt->todo_next = NULL;
	rt->in_todo = false;
}

/* What keeps a runtime on sup.todo. */
bool rt_has_todo(const struct runtime *rt)
{
	return rt->dirty || rt->save_state_after || rt->save_pid_after || rt->clear_pid_after ||
	       rt->waiters || rt->sweep_pending;
}

void rt_timers_changed(struct runtime *rt)
{
	/* cannot fail: rt_register reserved a place for every runtime */
	(void)theap_set(&sup.timers, &rt->timer, rt_deadline(rt));
}

int64_t rt_deadline(const struct runtime *rt)
{
	int64_t d = 0;

	d = earliest(d, fsm_deadline(&rt->fsm));
	d = earliest(d, rt->republish_at);
	d = earliest(d, rt->logs_notify_at);
	d = earliest(d, rt->save_retry_at);
	d = earliest(d, waiter_deadline(rt->waiters));
	return d;
}

/* SIGKILL was sent a while ago and processes are still there: say how many
 * in the status (and the pids in the log, once); the machine looks again
 * later. */
static void rt_stuck(struct runtime *rt)
{
	pid_t pids[8];
	int n = rt_pids(rt, pids, 8);

	if (n <= 0 || n == rt->stuck_count)
		return;
	if (!rt->stuck_count)
		log_warnx("runtime[%s]: %d process%s still exiting %d ms after SIGKILL (pid %d%s); "
			  "a process in uninterruptible sleep dies when its system call ends",
			  rt->spec->id, n, n == 1 ? "" : "es", FSM_STUCK_MS, (int)pids[0],
			  n > 1 ? ", ..." : "");
	rt->stuck_count = n;
	rt_set_state(rt, ST_STOPPING, SEV_WARN, "%d process%s still exiting after SIGKILL", n,
		  n == 1 ? "" : "es");
}

/* Each deadline that is due is cleared before its action runs: an action
 * that needs it again sets it anew, so none is left in the past.  The life
 * cycle's deadlines are fsm.c's (fsm_due clears them); the others are
 * kept here. */
void rt_on_timer(struct runtime *rt, int64_t mono)
{
	enum fsm_event ev;

	/* (no life-cycle timer removes the runtime: rt stays valid) */
	while ((ev = fsm_due(&rt->fsm, mono)) != EV_NONE)
		run(rt, rt_fsm_step(rt, ev, NULL, mono), mono, NULL);
	if (rt->logs_notify_at && mono >= rt->logs_notify_at)
		rt_logs_notify(rt, mono);
	if (rt->republish_at && mono >= rt->republish_at) {
		rt->republish_at = 0;
		rt_dirty(rt);
	}
	if (rt->save_retry_at && mono >= rt->save_retry_at)
		save_retry(rt);
	/* (expired waiters are answered after the publish of this pass: one
	 * that was satisfied in the same pass gets its "ok") */
}

/* The loop's safety net for the rule above: a deadline still in the past
 * after its timer ran would make epoll_wait return at once, forever.  Says
 * which one (the integration tests fail on this line) and drops it. */
void rt_check_deadlines(struct runtime *rt, int64_t mono)
{
	int64_t *const ds[] = { &rt->fsm.kill_at, &rt->fsm.stuck_at, &rt->fsm.backoff_at,
				&rt->fsm.probe_at, &rt->fsm.startup_at, &rt->republish_at,
				&rt->logs_notify_at, &rt->save_retry_at };
	static const char *const names[] = { "kill_at", "stuck_at", "backoff_at", "probe_at", "startup_at",
					     "republish_at", "logs_notify_at", "save_retry_at" };
	size_t i;

	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		if (*ds[i] && *ds[i] <= mono) {
			log_warnx("internal: runtime[%s]: %s is %lld ms in the past in phase %s "
				  "and nothing handles it; dropping it", rt->spec->id, names[i],
				  (long long)(mono - *ds[i]), fsm_phase_name(rt->fsm.phase));
			*ds[i] = 0;
		}
	}
}

/* ---- creation and removal ---- */

/* A runtime with nothing running: its fields, its ring, its saved state. */
static struct runtime *rt_new(struct rt_spec *spec, const char *source, int64_t now)
{
	struct runtime *rt = calloc(1, sizeof(*rt));
	char why[PATH_MAX + 100];

	if (!rt)
		return NULL;
	rt->spec = spec;
	snprintf(rt->source, sizeof(rt->source), "%s", source);
	rt->loaded_at = now;
	rt->pidfd = rt->outfd = rt->logfd = -1;
	rt->cg = (struct cg)CG_INIT;
	rt->xcg = (struct cg)CG_INIT;
	rt->exit_code = rt->exit_sig = -1;
	rt->ring = logring_new(spec->ring_bytes);
	budget_init(&rt->budget, spec->max_restarts, spec->window_seconds);
	if (persist_load(spec->id, &rt->desired, &rt->budget, now, why, sizeof(why)) < 0 && why[0])
		rt->state_note = strdup(why);
	persist_log_path(spec->id, rt->log_path, sizeof(rt->log_path));
	rt->state = ST_UNKNOWN;
	rt->ev_state = ST_UNKNOWN;
	snprintf(rt->summary, sizeof(rt->summary), "Loaded");
	snprintf(rt->ctl_last, sizeof(rt->ctl_last),
		 "no command yet (verbs: start, stop, restart, restore, reset-budget, kill SIG)\n");
	return rt;
}

/* A slot in the registry and in sup.rts: 0, or -errno. */
static int rt_register(struct runtime *rt)
{
	int r = rt->ring ? reg_rt_add(rt->spec->id, rt->ring, &rt->slot, &rt->gen) : -ENOMEM;

	if (r < 0)
		return r;
	if (rt->slot >= sup.nrts) {
		size_t n = sup.nrts ? sup.nrts : 64;
		struct runtime **nr;

		while (n <= rt->slot)
			n *= 2;
		nr = realloc(sup.rts, n * sizeof(*nr));
		if (!nr) {
			reg_rt_remove(rt->slot);
			return -ENOMEM;
		}
		memset(nr + sup.nrts, 0, (n - sup.nrts) * sizeof(*nr));
		sup.rts = nr;
		sup.nrts = n;
	}
	/* a place in the timer heap for every slot: filing a runtime there
	 * never fails */
	if (theap_reserve(&sup.timers, sup.nrts) < 0) {
		reg_rt_remove(rt->slot);
		return -ENOMEM;
	}
	sup.rts[rt->slot] = rt;
	return 0;
}

struct runtime *rt_create(struct rt_spec *spec, const char *source, int64_t now)
{
	struct runtime *rt = rt_new(spec, source, now);
	cJSON *p;
	int r;

	if (!rt) {
		rt_spec_free(spec);
		return NULL;
	}
	if ((r = rt_register(rt)) < 0) {
		log_warnx("runtime[%s]: cannot register: %s", spec->id, strerror(-r));
		logring_free(rt->ring);
		free(rt->state_note);
		rt_spec_free(spec);
		free(rt);
		return NULL;
	}
	reg_dir_touch(TOP_RUNTIMES, now);
	fs_inval_attr(TOP_RUNTIMES);
	p = rt_payload(rt);
	cJSON_AddStringToObject(p, "source", rt->source);
	events_emit("runtime.added", p);
	if (rt->desired == DESIRED_DOWN)
		rt_set_state(rt, ST_OFFLINE, SEV_INFO, "Stopped by operator");
	else if (spec->auto_start && !sup.shutting_down)
		rt_spawn(rt, mono_ms());
	else
		rt_set_state(rt, ST_OFFLINE, SEV_INFO, "Not started (auto_start is false)");
	rt_publish(rt);
	/* From here on its files' changes are announced.  Not those of this
	 * first publication: nobody can watch a file of a folder that did
	 * not exist, and each would be a truncate through the mount (six per
	 * runtime, 6,000 while 1,000 start). */
	rt->announced = true;
	notify_created(TOP_RUNTIMES, spec->id, INO_RT(rt->slot, RF_DIR), true);
	log_info("runtime[%s]: loaded from %s", spec->id, source);
	return rt;
}


void rt_remove(struct runtime *rt)
{
	if (!rt->removing) {
		rt->removing = true;
		reg_rt_set_removing(rt->slot);
		waiter_fail_all(&rt->waiters, ENOENT, "runtime removed");
	}
	if (rt->pid > 0) {
		rt_begin_stop(rt, AFTER_REMOVE, "Removing (manifest gone)");
		rt_dirty(rt);
		return;
	}
	rt_probe_stop(rt);
	if (rt->xprobe)
		return;   /* the exec probe's group goes first; it calls back */
	log_info("runtime[%s]: removed", rt->spec->id);
	events_emit("runtime.removed", rt_payload(rt));
	reg_rt_remove(rt->slot);
	reg_dir_touch(TOP_RUNTIMES, now_ms());
	fs_inval_attr(TOP_RUNTIMES);
	notify_removed(TOP_RUNTIMES, rt->spec->id, INO_RT(rt->slot, RF_DIR), true);
	sup.rts[rt->slot] = NULL;
	rt_untodo(rt);
	theap_set(&sup.timers, &rt->timer, 0);
	if (rt->clear_pid_after)
		persist_pid_clear(rt->spec->id);
	sup.matrix_dirty = true;
	sup.rescan_deferred = true;
	if (rt->logfd >= 0)
		close(rt->logfd);
	rt_drop_cg(&rt->cg);
	rt_drop_cg(&rt->xcg);
	logring_free(rt->ring);
	rt_view_unref(rt->view);
	free(rt->rejected);
	free(rt->state_note);
	rt_spec_free(rt->next_spec);
	rt_spec_free(rt->spec);
	free(rt);
}

void rt_set_rejected(struct runtime *rt, const char *why)
{
	free(rt->rejected);
	rt->rejected = why ? strdup(why) : NULL;
	rt_dirty(rt);
}

void rt_update_spec(struct runtime *rt, struct rt_spec *spec)
{
	bool launch = rt_spec_launch_differs(rt->spec, spec);
	bool was_auto = rt->spec->auto_start;

	rt_set_rejected(rt, NULL);
	rt->loaded_at = now_ms();
	budget_configure(&rt->budget, spec->max_restarts, spec->window_seconds);
	if (spec->ring_bytes != rt->spec->ring_bytes)
		logring_resize(rt->ring, spec->ring_bytes);
	if (launch && (rt->fsm.phase == PH_RUNNING || rt->fsm.phase == PH_STOPPING)) {
		/* applied once the old group is gone; a stop under way stays a stop */
		rt_spec_free(rt->next_spec);
		rt->next_spec = spec;
		if (rt->fsm.phase == PH_RUNNING) {
			log_info("runtime[%s]: launch settings changed; restarting", spec->id);
			rt_begin_stop(rt, AFTER_START, "Restarting (manifest changed)");
		}
		return;
	}
	if ((rt->probe || rt->xprobe) && spec->health.type != rt->spec->health.type) {
		struct fsm_in now_in = { .delay_ms = 0 };

		rt_probe_stop(rt);
		rt_fsm_step(rt, EV_PROBED, &now_in, mono_ms());   /* a check of the new kind now */
	}
	rt_spec_free(rt->spec);
	rt->spec = spec;
	if (launch && rt->fsm.phase == PH_IDLE && rt->latched && rt->desired == DESIRED_AUTO) {
		/* Fixing the launch fields of a runtime left in error is the
		 * operator acting: try the new ones (not counted). */
		log_info("runtime[%s]: launch settings changed; starting it again", spec->id);
		rt->latched = false;
		rt->quick_crashes = 0;
		rt_spawn(rt, mono_ms());
		return;
	}
	if (rt->fsm.phase == PH_RUNNING && spec->health.type == PROBE_NONE && !rt->ever_ready) {
		rt->ever_ready = true;
		rt_set_running_state(rt, "Process running");
	}
	if (rt->desired == DESIRED_AUTO && !was_auto && spec->auto_start &&
	    rt->fsm.phase == PH_IDLE && !rt->latched)
		rt_spawn(rt, mono_ms());
	else if (rt->desired == DESIRED_AUTO && was_auto && !spec->auto_start &&
		 (rt->fsm.phase == PH_RUNNING || rt->fsm.phase == PH_BACKOFF))
		rt_begin_stop(rt, AFTER_NONE, "Stopping (auto_start turned off)");
	rt_dirty(rt);
}

