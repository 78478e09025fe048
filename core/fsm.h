/*
 * fsm.h - the life cycle of one runtime's process, as a transition table.
 *
 * Pure: no fd, no clock, no global.  The caller passes the time (mono ms)
 * and the facts an event carries, and gets back what to do (actions, as
 * bits) while the machine keeps its phase and its deadlines.  runtime.c
 * carries out the actions (launch, signals, the cgroup, probes, the state
 * shown in the tree); policy that needs the budget or the manifest (restart
 * or not, after how long) is decided there and comes back as an event.
 *
 * Every deadline belongs to the machine: a transition that ends a phase
 * clears what the phase scheduled, and a deadline that fires is cleared
 * before its row runs, so none is ever left in the past.
 */
#ifndef ARW_FSM_H
#define ARW_FSM_H

#include <stdbool.h>
#include <stdint.h>

/* Where a runtime's process is in its life. */
enum phase {
	PH_IDLE = 0,     /* no process */
	PH_BACKOFF,      /* no process, waiting to restart */
	PH_RUNNING,      /* process alive */
	PH_STOPPING,     /* stop signal sent, waiting for the group to go */
	PH_COUNT
};

/* What to do once the process group is gone after a stop. */
enum after { AFTER_NONE = 0, AFTER_START, AFTER_REMOVE };

enum fsm_event {
	EV_START = 0,     /* start if not running (ctl start, start-all, a load) */
	EV_STOP,          /* stop; `after` says what comes next */
	EV_SPAWNED,       /* a process was launched */
	EV_SPAWN_FAILED,  /* the launch failed: no process */
	EV_BACKOFF,       /* wait `delay_ms`, then launch */
	EV_LEADER_EXIT,   /* the leader exited (others may still be there) */
	EV_GONE,          /* every process of the runtime is gone */
	EV_PROBED,        /* a health check ended: the next in `delay_ms` */
	EV_HEALTHY,       /* the first health check passed */
	EV_KILL_DUE,      /* timers: the stop timeout passed */
	EV_STUCK_DUE,     /* ... time to look at what SIGKILL left */
	EV_BACKOFF_DUE,   /* ... the backoff ended */
	EV_STARTUP_DUE,   /* ... not ready within the startup timeout */
	EV_PROBE_DUE,     /* ... time for a health check */
	EV_COUNT,
	EV_NONE = EV_COUNT
};

/* Actions, carried out by the caller in this order. */
enum fsm_action {
	A_PROBE_STOP = 1u << 0,   /* drop the health check in flight */
	A_TERM = 1u << 1,         /* the stop signal to the process group */
	A_KILL = 1u << 2,         /* SIGKILL to everything of the runtime */
	A_TIMED_OUT = 1u << 3,    /* (with A_KILL) the stop timeout passed */
	A_STUCK = 1u << 4,        /* count what SIGKILL left, say so */
	A_STOPPING = 1u << 5,     /* show `stopping` */
	A_END = 1u << 6,          /* the process phase ended: drain output,
				   * close its fds, drop its cgroup, pid file */
	A_CRASHED = 1u << 7,      /* gone on its own: the policy decides */
	A_STOPPED = 1u << 8,      /* gone after a stop: carry out `after` */
	A_SPAWN = 1u << 9,        /* launch */
	A_STARTUP_FAILED = 1u << 10, /* not ready in time: a failed check */
	A_PROBE = 1u << 11,       /* start a health check */
};

/* Deadlines, mono ms; 0 = none. */
struct fsm {
	enum phase phase;
	enum after after;
	bool leader_done;       /* the leader was reaped; the group drains */
	int64_t kill_at;        /* stopping: SIGKILL after the stop timeout */
	int64_t stuck_at;       /* after SIGKILL: look at who is still there */
	int64_t backoff_at;     /* backoff: launch again */
	int64_t startup_at;     /* running, not yet healthy: give up */
	int64_t probe_at;       /* running: the next health check */
};

/* What an event carries (the fields it does not use are ignored). */
struct fsm_in {
	enum after after;           /* EV_STOP */
	int64_t delay_ms;           /* EV_BACKOFF, EV_PROBED */
	int stop_timeout_ms;        /* EV_STOP */
	int startup_timeout_ms;     /* EV_SPAWNED: 0 = none */
	bool has_probe;             /* EV_SPAWNED: a health check is configured */
};

struct fsm_out {
	unsigned actions;           /* enum fsm_action bits */
	enum after after;           /* A_STOPPED: what was asked for */
};

#define FSM_STUCK_MS 1000           /* SIGKILL to the first look */
#define FSM_STUCK_REFRESH_MS 5000   /* between later looks */

/* Apply one event at `now`. */
struct fsm_out fsm_step(struct fsm *f, enum fsm_event ev, const struct fsm_in *in, int64_t now);
/* The earliest deadline, 0 if none. */
int64_t fsm_deadline(const struct fsm *f);
/* The timer event of the earliest deadline due at `now`, which is cleared
 * (EV_NONE when none is due).  The caller steps it, then asks again. */
enum fsm_event fsm_due(struct fsm *f, int64_t now);

const char *fsm_phase_name(enum phase p);
const char *fsm_event_name(enum fsm_event ev);

#endif
