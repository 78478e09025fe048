/*
 * publish.c - a runtime's files: build its view, render every file, swap
 * the view in, drop the kernel's cached attributes of what changed, tell
 * inotify watchers, emit the state change event.  Loop thread.
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
#include "notify.h"
#include "procscan.h"
#include "rt.h"
#include "sup.h"

/* ---- publishing ---- */

static void add_detail(struct rt_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_detail(struct rt_view *v, const char *fmt, ...)
{
	char **nd = realloc(v->detail, (v->ndetail + 1) * sizeof(char *));
	va_list ap;

	if (!nd)
		return;
	v->detail = nd;
	va_start(ap, fmt);
	if (vasprintf(&v->detail[v->ndetail], fmt, ap) >= 0)
		v->ndetail++;
	va_end(ap);
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Where it runs: its accelerator, its fallback, or why it is not started. */
static void add_placement(struct rt_view *v, const struct runtime *rt)
{
	const struct rt_spec *s = rt->spec;
	const char *label = accel_label(s);

	if (rt->missing_accel && !v->pid) {
		add_detail(v, "No %s on this node (see accelerators.json); add a \"fallback\" to the "
			   "manifest, or install the device and echo reload > /arw/ctl", label);
	} else if (rt->on_fallback && v->pid) {
		add_detail(v, "%s not available: running on its fallback (%s)", label,
			   accel_label_of(s->fb_accelerator));
		if (rt_placement(s) == PLACE_DECLARED)
			add_detail(v, s->prefer_restart ? "%s is here now: moving back to it" :
				   "fallback active; restart to use %s", label);
	} else if (s->accelerator_set && v->pid) {
		add_detail(v, "Accelerator: %s", label);
	}
}

/* detail[]: what an operator needs next to the label. */
static void add_details(struct rt_view *v, const struct runtime *rt, int64_t now)
{
	const struct rt_spec *s = rt->spec;
	char ts[32];
	int used;

	if (v->pid)
		add_detail(v, "Process %d running since %s", v->pid, fmt_time(ts, sizeof(ts), rt->started_wall));
	else
		add_detail(v, "Not running");
	if (v->processes && v->cgroup)
		add_detail(v, "%d process%s in cgroup %s", v->processes, v->processes == 1 ? "" : "es",
			   v->cgroup);
	else if (v->processes)
		add_detail(v, "%d process%s in process group %d", v->processes,
			   v->processes == 1 ? "" : "es", (int)rt->pid);
	add_placement(v, rt);
	if (v->pid && s->health.type != PROBE_NONE)
		add_detail(v, "Health check %s: %s", s->probe_target,
			   rt->has_probe_result ? rt->probe_result : "no result yet");
	used = budget_used(&rt->budget, now);
	add_detail(v, "Restart budget: %d of %d used in %d s windows%s%s", used,
		   rt->budget.max_restarts, rt->budget.window_seconds,
		   used ? ", resets at " : "", used ? fmt_time(ts, sizeof(ts), budget_reset_at(&rt->budget, now)) : "");
	if (rt->has_exit)
		add_detail(v, "Last exit: %s at %s", rt->exit_reason, fmt_time(ts, sizeof(ts), rt->exit_at));
	if (rt->rejected)
		add_detail(v, "Manifest update rejected, previous manifest kept: %s", rt->rejected);
	if (rt->state_unsaved || rt->pid_unsaved)
		add_detail(v, "Not saved in the state folder (%s): %s%s%s are lost if the supervisor restarts; "
			   "retrying", strerror(rt->save_errno),
			   rt->state_unsaved ? "its desired state and restart budget" : "",
			   rt->state_unsaved && rt->pid_unsaved ? " and " : "",
			   rt->pid_unsaved ? "its pid file (for clean-up after a crash)" : "");
	if (rt->state_note)
		add_detail(v, "State file was unreadable: %s; desired state and budget started fresh",
			   rt->state_note);
	if (rt->log_errno)
		add_detail(v, "Log file %s cannot be written (%s); the output is kept in logs only",
			   rt->log_path, strerror(rt->log_errno));
	if (rt->latched && rt->state == ST_ERROR && !rt->missing_accel)
		add_detail(v, "Stays down until an operator acts (echo restore > ctl)");
}

static struct rt_view *make_view(struct runtime *rt, int64_t now)
{
	const struct rt_spec *s = rt->spec;
	struct rt_view *v = rt_view_new();

	if (!v)
		return NULL;
	rt_spec_seal(rt->spec);   /* once per spec; without memory, "{}" is shown */
	snprintf(v->id, sizeof(v->id), "%s", s->id);
	v->spec = rt_spec_ref(rt->spec);
	v->state = rt->state;
	v->severity = rt->sev;
	v->summary = xstrdup(rt->summary);
	v->pid = rt->pid > 0 && !rt->fsm.leader_done ? (int)rt->pid : 0;
	if (rt->pid <= 0)
		v->processes = 0;
	else if (rt->in_cg)
		v->processes = cg_pids(&rt->cg, NULL, 0);
	else
		v->processes = proc_count_group(rt->pid, mono_ms());
	if (v->processes < 0)
		v->processes = 0;
	v->cgroup = rt->pid > 0 && rt->in_cg ? xstrdup(rt->cg.path) : NULL;
	v->started_at = rt->started_wall;
	v->updated_at = now;
	v->max_restarts = rt->budget.max_restarts;
	v->window_seconds = rt->budget.window_seconds;
	if (rt->budget.n && (v->restarts = malloc(rt->budget.n * sizeof(int64_t)))) {
		memcpy(v->restarts, rt->budget.at, rt->budget.n * sizeof(int64_t));
		v->nrestarts = rt->budget.n;
	}
	v->restarts_total = rt->restarts_total;
	memcpy(v->exits, rt->exits, sizeof(v->exits));
	v->has_exit = rt->has_exit;
	v->exit_code = rt->exit_code;
	v->exit_signal = rt->exit_sig;
	v->exit_at = rt->exit_at;
	v->exit_reason = rt->has_exit ? xstrdup(rt->exit_reason) : NULL;
	v->probe_result = rt->has_probe_result ? xstrdup(rt->probe_result) : NULL;
	v->probe_latency_ms = rt->probe_latency;
	v->probe_failures = rt->probe_failures;
	v->probe_last_ok_at = rt->probe_last_ok;
	v->source = xstrdup(rt->source);
	v->loaded_at = rt->loaded_at;
	v->log_path = s->file_max_bytes ? xstrdup(rt->log_path) : NULL;
	v->ctl_last = xstrdup(rt->ctl_last);

	add_details(v, rt, now);
	return v;
}

static void emit_state_change(struct runtime *rt)
{
	cJSON *p;

	if (rt->ev_state == rt->state && rt->ev_sev == rt->sev &&
		   strcmp(rt->ev_summary, rt->summary) == 0) {
		return;
	}
	p = rt_payload(rt);
	cJSON_AddStringToObject(p, "from", state_slug(rt->ev_state));
	cJSON_AddStringToObject(p, "state", state_slug(rt->state));
	cJSON_AddStringToObject(p, "severity", severity_slug(rt->sev));
	cJSON_AddStringToObject(p, "summary", rt->summary);
	{
		char label[260];

		snprintf(label, sizeof(label), "%s - %s", state_label(rt->state), rt->summary);
		cJSON_AddStringToObject(p, "label", label);
	}
	events_emit("runtime.state.changed", p);
	if (rt->restore_pending && (rt->state == ST_READY ||
				    (rt->state == ST_ERROR && rt->fsm.phase == PH_IDLE))) {
		rt->restore_pending = false;
		p = rt_payload(rt);
		cJSON_AddBoolToObject(p, "ok", rt->state == ST_READY);
		cJSON_AddStringToObject(p, "state", state_slug(rt->state));
		cJSON_AddStringToObject(p, "summary", rt->summary);
		events_emit("runtime.restore.completed", p);
	}
	rt->ev_state = rt->state;
	rt->ev_sev = rt->sev;
	snprintf(rt->ev_summary, sizeof(rt->ev_summary), "%s", rt->summary);
}

void rt_publish(struct runtime *rt)
{
	int64_t now = now_ms(), reset;
	struct rt_view *v, *prev = rt->view;
	unsigned changed = 0;
	int f;

	rt->dirty = false;
	budget_prune(&rt->budget, now);
	v = make_view(rt, now);
	if (!v)
		return;
	for (f = RF_STATE; f < RF_COUNT; f++) {
		char *txt;
		size_t len = 0;

		if (f == RF_LOGS)
			continue;
		if (f == RF_HEALTH)
			txt = render_health_parts(v, now, &len, &v->uptime_at);
		else
			txt = render_rt_file((enum rt_file)f, v, now, &len);
		if (!txt)
			continue;
		/* health.json always changes (updated_at); the others only
		 * when their text does. */
		if (!prev || !prev->text[f] || strcmp(prev->text[f], txt) != 0) {
			rt->mtime[f] = now;
			changed |= 1u << f;
		}
		/* The view keeps what was rendered: a stat and an open of the
		 * file copy it (health.json with its uptime, see view.h). */
		v->text[f] = txt;
		v->text_len[f] = len;
		v->mtime[f] = rt->mtime[f];
	}
	v->mtime[RF_DIR] = rt->mtime[RF_STATE];
	/* The new view first: from here on every open and stat sees it (file
	 * attributes are never cached; the folder's are dropped). */
	rt->view = rt_view_ref(v);
	rt_view_unref(prev);
	reg_rt_publish(rt->slot, v);
	if (changed & (1u << RF_STATE))
		fs_inval_attr(INO_RT(rt->slot, RF_DIR));
	for (f = RF_STATE; f < RF_COUNT; f++) {
		char rel[RT_ID_MAX + 40];

		if (!(changed & (1u << f)))
			continue;
		/* IN_MODIFY for watchers; a ctl change comes from a write to
		 * it, which raised IN_MODIFY itself */
		if (rt->announced && f != RF_CTL) {
			snprintf(rel, sizeof(rel), "runtimes/%s/%s", rt->spec->id,
				 rt_file_name((enum rt_file)f));
			notify_changed(INO_RT(rt->slot, f), rel);
		}
	}
	emit_state_change(rt);
	/* A probe's result that only moves health.json's times leaves the
	 * matrix alone (rendering it walks every runtime). */
	if (changed & RF_MATRIX_FILES)
		sup.matrix_dirty = true;
	/* When the oldest counted restart leaves the window, the budget file
	 * changes by itself: publish again then. */
	reset = budget_reset_at(&rt->budget, now);
	rt->republish_at = reset > now ? mono_ms() + (reset - now) + 1 : 0;
	rt_timers_changed(rt);
	rt_check_waiters(rt);
}

