/*
 * fsm.c - the runtime life cycle as a transition table (see fsm.h).
 *
 * One row per (phase, event[, guard]): the next phase, the actions for the
 * caller, and what happens to the deadlines.  A (phase, event) with no row
 * changes nothing: a timer of a phase that ended, a probe result after a
 * stop.  docs/design.md prints this table.
 */
#include "fsm.h"

#include <stddef.h>

/* What a row does to the machine's own fields. */
enum fsm_op {
	O_CLEAR_ALL = 1u << 0,      /* every deadline */
	O_CLEAR_HEALTH = 1u << 1,   /* probe_at, startup_at */
	O_CLEAR_BACKOFF = 1u << 2,
	O_CLEAR_KILL = 1u << 3,
	O_CLEAR_STARTUP = 1u << 4,
	O_SET_KILL = 1u << 5,       /* now + stop timeout */
	O_STUCK_FIRST = 1u << 6,    /* now + FSM_STUCK_MS, unless already set */
	O_STUCK_AGAIN = 1u << 7,    /* now + FSM_STUCK_REFRESH_MS */
	O_SET_BACKOFF = 1u << 8,    /* now + delay */
	O_SET_PROBE = 1u << 9,      /* now + delay */
	O_LAUNCHED = 1u << 10,      /* a new process: health deadlines, fresh flags */
	O_AFTER = 1u << 11,         /* after = in->after */
	O_AFTER_KEEP_REMOVE = 1u << 12, /* the same, but a removal stays one */
	O_AFTER_START = 1u << 13,   /* after = start, unless a removal */
	O_LEADER_DONE = 1u << 14,
	O_ENDED = 1u << 15,         /* the process phase ended: report `after`, reset */
};

enum guard { G_ANY = 0, G_LEADER_ALIVE, G_LEADER_DONE };

#define SAME PH_COUNT

struct row {
	enum phase from;
	enum fsm_event ev;
	enum guard guard;
	enum phase to;          /* SAME: stays */
	unsigned actions;
	unsigned ops;
};

static const struct row table[] = {
	/* start */
	{ PH_IDLE,     EV_START, G_ANY, SAME, A_SPAWN, 0 },
	{ PH_BACKOFF,  EV_START, G_ANY, SAME, A_SPAWN, O_CLEAR_BACKOFF },
	{ PH_STOPPING, EV_START, G_ANY, SAME, 0, O_AFTER_START },
	/* stop */
	{ PH_IDLE,     EV_STOP, G_ANY, PH_IDLE, A_PROBE_STOP, O_CLEAR_ALL | O_AFTER },
	{ PH_BACKOFF,  EV_STOP, G_ANY, PH_IDLE, A_PROBE_STOP, O_CLEAR_ALL | O_AFTER },
	{ PH_RUNNING,  EV_STOP, G_LEADER_ALIVE, PH_STOPPING, A_PROBE_STOP | A_STOPPING | A_TERM,
	  O_CLEAR_HEALTH | O_SET_KILL | O_AFTER },
	{ PH_RUNNING,  EV_STOP, G_LEADER_DONE, PH_STOPPING, A_PROBE_STOP | A_STOPPING | A_KILL,
	  O_CLEAR_HEALTH | O_STUCK_FIRST | O_AFTER },
	{ PH_STOPPING, EV_STOP, G_ANY, SAME, A_PROBE_STOP, O_CLEAR_HEALTH | O_AFTER_KEEP_REMOVE },
	/* launch */
	{ PH_IDLE,     EV_SPAWNED, G_ANY, PH_RUNNING, 0, O_CLEAR_ALL | O_LAUNCHED },
	{ PH_BACKOFF,  EV_SPAWNED, G_ANY, PH_RUNNING, 0, O_CLEAR_ALL | O_LAUNCHED },
	{ PH_IDLE,     EV_SPAWN_FAILED, G_ANY, PH_IDLE, 0, O_CLEAR_ALL },
	{ PH_BACKOFF,  EV_SPAWN_FAILED, G_ANY, PH_IDLE, 0, O_CLEAR_ALL },
	{ PH_IDLE,     EV_BACKOFF, G_ANY, PH_BACKOFF, 0, O_SET_BACKOFF },
	{ PH_BACKOFF,  EV_BACKOFF_DUE, G_ANY, SAME, A_SPAWN, 0 },
	/* the process ends */
	{ PH_RUNNING,  EV_LEADER_EXIT, G_LEADER_ALIVE, SAME, A_PROBE_STOP | A_KILL,
	  O_CLEAR_HEALTH | O_LEADER_DONE | O_STUCK_FIRST },
	{ PH_STOPPING, EV_LEADER_EXIT, G_LEADER_ALIVE, SAME, A_PROBE_STOP | A_KILL,
	  O_CLEAR_KILL | O_LEADER_DONE | O_STUCK_FIRST },
	{ PH_RUNNING,  EV_GONE, G_ANY, PH_IDLE, A_END | A_CRASHED, O_CLEAR_ALL | O_ENDED },
	{ PH_STOPPING, EV_GONE, G_ANY, PH_IDLE, A_END | A_STOPPED, O_CLEAR_ALL | O_ENDED },
	{ PH_STOPPING, EV_KILL_DUE, G_LEADER_ALIVE, SAME, A_KILL | A_TIMED_OUT, O_STUCK_FIRST },
	{ PH_RUNNING,  EV_STUCK_DUE, G_ANY, SAME, A_STUCK, O_STUCK_AGAIN },
	{ PH_STOPPING, EV_STUCK_DUE, G_ANY, SAME, A_STUCK, O_STUCK_AGAIN },
	/* health */
	{ PH_RUNNING,  EV_PROBED, G_ANY, SAME, 0, O_SET_PROBE },
	{ PH_RUNNING,  EV_HEALTHY, G_ANY, SAME, 0, O_CLEAR_STARTUP },
	{ PH_RUNNING,  EV_PROBE_DUE, G_ANY, SAME, A_PROBE, 0 },
	{ PH_RUNNING,  EV_STARTUP_DUE, G_ANY, SAME, A_STARTUP_FAILED, 0 },
};

static const struct row *find_row(const struct fsm *f, enum fsm_event ev)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];

		if (r->from != f->phase || r->ev != ev)
			continue;
		if ((r->guard == G_LEADER_ALIVE && f->leader_done) ||
		    (r->guard == G_LEADER_DONE && !f->leader_done))
			continue;
		return r;
	}
	return NULL;
}

static int64_t after_ms(int64_t now, int64_t ms)
{
	int64_t d = now + (ms > 0 ? ms : 0);

	return d > 0 ? d : 1;   /* 0 means none */
}

static void clear_deadlines(struct fsm *f, unsigned ops)
{
	if (ops & O_CLEAR_ALL)
		f->kill_at = f->stuck_at = f->backoff_at = f->startup_at = f->probe_at = 0;
	if (ops & O_CLEAR_HEALTH)
		f->probe_at = f->startup_at = 0;
	if (ops & O_CLEAR_BACKOFF)
		f->backoff_at = 0;
	if (ops & O_CLEAR_KILL)
		f->kill_at = 0;
	if (ops & O_CLEAR_STARTUP)
		f->startup_at = 0;
}

static void set_deadlines(struct fsm *f, unsigned ops, const struct fsm_in *in, int64_t now)
{
	if (ops & O_SET_KILL)
		f->kill_at = after_ms(now, in->stop_timeout_ms);
	if ((ops & O_STUCK_FIRST) && !f->stuck_at)
		f->stuck_at = after_ms(now, FSM_STUCK_MS);
	if (ops & O_STUCK_AGAIN)
		f->stuck_at = after_ms(now, FSM_STUCK_REFRESH_MS);
	if (ops & O_SET_BACKOFF)
		f->backoff_at = after_ms(now, in->delay_ms);
	if (ops & O_SET_PROBE)
		f->probe_at = after_ms(now, in->delay_ms);
	if (ops & O_LAUNCHED) {
		f->probe_at = in->has_probe ? after_ms(now, 0) : 0;
		f->startup_at = in->has_probe && in->startup_timeout_ms > 0 ?
				after_ms(now, in->startup_timeout_ms) : 0;
	}
}

struct fsm_out fsm_step(struct fsm *f, enum fsm_event ev, const struct fsm_in *in, int64_t now)
{
	static const struct fsm_in none;
	const struct row *r = find_row(f, ev);
	struct fsm_out out = { 0, AFTER_NONE };

	if (!r)
		return out;
	if (!in)
		in = &none;
	out.actions = r->actions;
	if (r->ops & O_ENDED) {
		out.after = f->after;
		f->after = AFTER_NONE;
		f->leader_done = false;
	}
	if (r->ops & O_LAUNCHED) {
		f->after = AFTER_NONE;
		f->leader_done = false;
	}
	if (r->ops & O_AFTER)
		f->after = in->after;
	if ((r->ops & O_AFTER_KEEP_REMOVE) && f->after != AFTER_REMOVE)
		f->after = in->after;
	if ((r->ops & O_AFTER_START) && f->after != AFTER_REMOVE)
		f->after = AFTER_START;
	if (r->ops & O_LEADER_DONE)
		f->leader_done = true;
	clear_deadlines(f, r->ops);
	set_deadlines(f, r->ops, in, now);
	if (r->to != SAME)
		f->phase = r->to;
	return out;
}

static int64_t earliest(int64_t a, int64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

int64_t fsm_deadline(const struct fsm *f)
{
	return earliest(earliest(earliest(f->kill_at, f->stuck_at), earliest(f->backoff_at, f->startup_at)),
			f->probe_at);
}

enum fsm_event fsm_due(struct fsm *f, int64_t now)
{
	struct { int64_t *at; enum fsm_event ev; } const timers[] = {
		{ &f->kill_at, EV_KILL_DUE }, { &f->stuck_at, EV_STUCK_DUE },
		{ &f->backoff_at, EV_BACKOFF_DUE }, { &f->startup_at, EV_STARTUP_DUE },
		{ &f->probe_at, EV_PROBE_DUE },
	};
	size_t i;

	for (i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
		if (*timers[i].at && *timers[i].at <= now) {
			*timers[i].at = 0;
			return timers[i].ev;
		}
	}
	return EV_NONE;
}

const char *fsm_phase_name(enum phase p)
{
	static const char *const names[] = { "idle", "backoff", "running", "stopping" };

	return p < PH_COUNT ? names[p] : "?";
}

const char *fsm_event_name(enum fsm_event ev)
{
	static const char *const names[] = {
		"start", "stop", "spawned", "spawn-failed", "backoff", "leader-exit", "gone",
		"probed", "healthy", "kill-due", "stuck-due", "backoff-due", "startup-due",
		"probe-due",
	};

	return ev < EV_COUNT ? names[ev] : "none";
}
