/*
 * test_fsm.c - unit tests of core/fsm.c, the runtime life cycle as a
 * transition table (pure: the clock is a number passed in).
 */
#include "fsm.h"
#include "test.h"

#include <stdint.h>

#define T0 INT64_C(5000000)   /* mono ms; any base works */

static struct fsm fresh(void)
{
	struct fsm f = { PH_IDLE, AFTER_NONE, false, 0, 0, 0, 0, 0 };

	return f;
}

static struct fsm_out step(struct fsm *f, enum fsm_event ev, const struct fsm_in *in, int64_t now)
{
	return fsm_step(f, ev, in, now);
}

/* A running process with a health check and a 5 s startup timeout. */
static struct fsm running(int64_t now)
{
	struct fsm f = fresh();
	struct fsm_in in = { .has_probe = true, .startup_timeout_ms = 5000 };

	step(&f, EV_SPAWNED, &in, now);
	return f;
}

static void test_start_and_launch(void)
{
	struct fsm f = fresh();
	struct fsm_in in = { .has_probe = true, .startup_timeout_ms = 5000 };
	struct fsm_out o;

	o = step(&f, EV_START, NULL, T0);
	CHECK_INT(o.actions, A_SPAWN);
	CHECK_INT(f.phase, PH_IDLE);   /* the launch's outcome moves it */

	o = step(&f, EV_SPAWNED, &in, T0);
	CHECK_INT(o.actions, 0);
	CHECK_INT(f.phase, PH_RUNNING);
	CHECK_INT(f.probe_at, T0);            /* the first check at once */
	CHECK_INT(f.startup_at, T0 + 5000);
	CHECK_INT(fsm_deadline(&f), T0);

	/* no health check: nothing scheduled */
	f = fresh();
	in.has_probe = false;
	step(&f, EV_SPAWNED, &in, T0);
	CHECK_INT(f.phase, PH_RUNNING);
	CHECK_INT(fsm_deadline(&f), 0);

	/* start while running: nothing */
	o = step(&f, EV_START, NULL, T0);
	CHECK_INT(o.actions, 0);
	CHECK_INT(f.phase, PH_RUNNING);

	/* a failed launch stays idle; a backoff then schedules the retry */
	f = fresh();
	step(&f, EV_SPAWN_FAILED, NULL, T0);
	CHECK_INT(f.phase, PH_IDLE);
	in.delay_ms = 2000;
	step(&f, EV_BACKOFF, &in, T0);
	CHECK_INT(f.phase, PH_BACKOFF);
	CHECK_INT(f.backoff_at, T0 + 2000);
	CHECK_INT(fsm_due(&f, T0 + 1999), EV_NONE);
	CHECK_INT(fsm_due(&f, T0 + 2000), EV_BACKOFF_DUE);
	CHECK_INT(f.backoff_at, 0);           /* cleared before its row runs */
	o = step(&f, EV_BACKOFF_DUE, NULL, T0 + 2000);
	CHECK_INT(o.actions, A_SPAWN);

	/* start during a backoff: launch now, the backoff is dropped */
	f = fresh();
	step(&f, EV_BACKOFF, &in, T0);
	o = step(&f, EV_START, NULL, T0 + 10);
	CHECK_INT(o.actions, A_SPAWN);
	CHECK_INT(f.backoff_at, 0);
}

static void test_stop(void)
{
	struct fsm f = running(T0);
	struct fsm_in in = { .after = AFTER_START, .stop_timeout_ms = 3000 };
	struct fsm_out o;

	o = step(&f, EV_STOP, &in, T0 + 100);
	CHECK_INT(o.actions, A_PROBE_STOP | A_STOPPING | A_TERM);
	CHECK_INT(f.phase, PH_STOPPING);
	CHECK_INT(f.after, AFTER_START);
	CHECK_INT(f.kill_at, T0 + 3100);
	CHECK_INT(f.probe_at, 0);              /* health checks end with the stop */
	CHECK_INT(f.startup_at, 0);

	/* the stop timeout passes: SIGKILL, and a look at who is left later */
	CHECK_INT(fsm_due(&f, T0 + 3100), EV_KILL_DUE);
	o = step(&f, EV_KILL_DUE, NULL, T0 + 3100);
	CHECK_INT(o.actions, A_KILL | A_TIMED_OUT);
	CHECK_INT(f.stuck_at, T0 + 3100 + FSM_STUCK_MS);
	CHECK_INT(fsm_due(&f, T0 + 3100 + FSM_STUCK_MS), EV_STUCK_DUE);
	o = step(&f, EV_STUCK_DUE, NULL, T0 + 3100 + FSM_STUCK_MS);
	CHECK_INT(o.actions, A_STUCK);
	CHECK_INT(f.stuck_at, T0 + 3100 + FSM_STUCK_MS + FSM_STUCK_REFRESH_MS);

	/* the leader goes; then the group: the `after` comes back */
	o = step(&f, EV_LEADER_EXIT, NULL, T0 + 5000);
	CHECK_INT(o.actions, A_PROBE_STOP | A_KILL);
	CHECK(f.leader_done);
	o = step(&f, EV_GONE, NULL, T0 + 5001);
	CHECK_INT(o.actions, A_END | A_STOPPED);
	CHECK_INT(o.after, AFTER_START);
	CHECK_INT(f.phase, PH_IDLE);
	CHECK_INT(f.after, AFTER_NONE);
	CHECK(!f.leader_done);
	CHECK_INT(fsm_deadline(&f), 0);       /* nothing of the phase is left */

	/* the leader exits before the stop timeout: the timeout is moot */
	f = running(T0);
	step(&f, EV_STOP, &in, T0);
	step(&f, EV_LEADER_EXIT, NULL, T0 + 10);
	CHECK_INT(f.kill_at, 0);
	CHECK_INT(f.stuck_at, T0 + 10 + FSM_STUCK_MS);

	/* a stop of a runtime whose leader already exited: SIGKILL at once */
	f = running(T0);
	step(&f, EV_LEADER_EXIT, NULL, T0 + 10);
	o = step(&f, EV_STOP, &in, T0 + 20);
	CHECK_INT(o.actions, A_PROBE_STOP | A_STOPPING | A_KILL);
	CHECK_INT(f.kill_at, 0);
	CHECK_INT(f.phase, PH_STOPPING);

	/* stop when idle or in backoff: stays down, the backoff is dropped */
	f = fresh();
	in.delay_ms = 1000;
	step(&f, EV_BACKOFF, &in, T0);
	in.after = AFTER_NONE;
	o = step(&f, EV_STOP, &in, T0 + 1);
	CHECK_INT(o.actions, A_PROBE_STOP);
	CHECK_INT(f.phase, PH_IDLE);
	CHECK_INT(f.backoff_at, 0);
}

static void test_after(void)
{
	struct fsm f = running(T0);
	struct fsm_in in = { .after = AFTER_NONE, .stop_timeout_ms = 100 };
	struct fsm_out o;

	step(&f, EV_STOP, &in, T0);
	step(&f, EV_START, NULL, T0);         /* start while stopping: start after */
	CHECK_INT(f.after, AFTER_START);
	step(&f, EV_STOP, &in, T0);           /* stop again: stays down */
	CHECK_INT(f.after, AFTER_NONE);
	in.after = AFTER_REMOVE;
	step(&f, EV_STOP, &in, T0);
	in.after = AFTER_START;
	step(&f, EV_STOP, &in, T0);           /* a removal stays a removal */
	step(&f, EV_START, NULL, T0);
	CHECK_INT(f.after, AFTER_REMOVE);
	o = step(&f, EV_GONE, NULL, T0 + 1);
	CHECK_INT(o.after, AFTER_REMOVE);
}

static void test_crash_and_health(void)
{
	struct fsm f = running(T0);
	struct fsm_in in = { .delay_ms = 500 };
	struct fsm_out o;

	/* checks: scheduled by their results, only while running */
	CHECK_INT(fsm_due(&f, T0), EV_PROBE_DUE);
	o = step(&f, EV_PROBE_DUE, NULL, T0);
	CHECK_INT(o.actions, A_PROBE);
	step(&f, EV_PROBED, &in, T0 + 20);
	CHECK_INT(f.probe_at, T0 + 520);
	step(&f, EV_HEALTHY, NULL, T0 + 20);
	CHECK_INT(f.startup_at, 0);

	/* not healthy in time */
	f = running(T0);
	f.probe_at = 0;
	CHECK_INT(fsm_due(&f, T0 + 5000), EV_STARTUP_DUE);
	o = step(&f, EV_STARTUP_DUE, NULL, T0 + 5000);
	CHECK_INT(o.actions, A_STARTUP_FAILED);

	/* a crash: the leader, then the group */
	f = running(T0);
	o = step(&f, EV_LEADER_EXIT, NULL, T0 + 50);
	CHECK_INT(o.actions, A_PROBE_STOP | A_KILL);
	CHECK_INT(f.probe_at, 0);             /* no check of a dead leader */
	CHECK_INT(f.startup_at, 0);
	o = step(&f, EV_GONE, NULL, T0 + 51);
	CHECK_INT(o.actions, A_END | A_CRASHED);
	CHECK_INT(f.phase, PH_IDLE);
	CHECK_INT(fsm_deadline(&f), 0);

	/* a result that comes after the process phase ended changes nothing */
	o = step(&f, EV_PROBED, &in, T0 + 60);
	CHECK_INT(o.actions, 0);
	CHECK_INT(f.probe_at, 0);
	o = step(&f, EV_KILL_DUE, NULL, T0 + 60);
	CHECK_INT(o.actions, 0);
}

/* ---- property: a random walk through the table ---- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Which deadlines a phase may hold. */
static int owned(const struct fsm *f)
{
	switch (f->phase) {
	case PH_IDLE:
		return fsm_deadline(f) == 0;
	case PH_BACKOFF:
		return !f->kill_at && !f->stuck_at && !f->startup_at && !f->probe_at && f->backoff_at;
	case PH_RUNNING:
		return !f->kill_at && !f->backoff_at;
	case PH_STOPPING:
		return !f->backoff_at && !f->startup_at && !f->probe_at;
	default:
		return 0;
	}
}

static long fired[PH_COUNT][EV_COUNT];   /* timers, by the phase they fired in */
static long visits[PH_COUNT][EV_COUNT];  /* every event, by phase */

/* One event, and what runtime.c does in answer to its actions: a launch
 * ends in a process or a failure; a startup failure stops.  Then the
 * timers that are due, the same way. */
static void drive(struct fsm *f, enum fsm_event ev, const struct fsm_in *in, int64_t now, int depth)
{
	struct fsm_out o;
	enum fsm_event due;

	visits[f->phase][ev]++;
	o = fsm_step(f, ev, in, now);
	if (depth > 8)
		return;
	if (o.actions & A_SPAWN)
		drive(f, next_rand() & 1 ? EV_SPAWNED : EV_SPAWN_FAILED, in, now, depth + 1);
	if (o.actions & A_STARTUP_FAILED)
		drive(f, EV_STOP, in, now, depth + 1);
	while ((due = fsm_due(f, now)) != EV_NONE) {
		fired[f->phase][due]++;
		drive(f, due, in, now, depth + 1);
	}
}

static void test_random_walk(void)
{
	struct fsm f = fresh();
	int64_t now = T0;
	long steps, past = 0, foreign = 0;

	for (steps = 0; steps < 200000; steps++) {
		enum fsm_event ev = (enum fsm_event)(next_rand() % EV_COUNT);
		struct fsm_in in;

		in.after = (enum after)(next_rand() % 3);
		in.delay_ms = (int64_t)(next_rand() % 4) * 700;         /* 0 too */
		in.stop_timeout_ms = (int)(next_rand() % 3) * 1500;
		in.startup_timeout_ms = (int)(next_rand() % 3) * 2500;
		in.has_probe = next_rand() & 1;
		now += (int64_t)(next_rand() % 3000);
		drive(&f, ev, &in, now, 0);
		if ((f.kill_at && f.kill_at <= now) || (f.stuck_at && f.stuck_at <= now) ||
		    (f.backoff_at && f.backoff_at <= now) || (f.startup_at && f.startup_at <= now) ||
		    (f.probe_at && f.probe_at <= now))
			past++;
		if (!owned(&f))
			foreign++;
	}
	CHECK_INT(past, 0);       /* no past deadline survives any transition */
	CHECK_INT(foreign, 0);    /* a phase holds only its own deadlines */
	/* a timer never fires in a phase that cannot hold it */
	CHECK_INT(fired[PH_IDLE][EV_KILL_DUE] + fired[PH_IDLE][EV_PROBE_DUE] +
		  fired[PH_IDLE][EV_STUCK_DUE] + fired[PH_IDLE][EV_STARTUP_DUE] +
		  fired[PH_IDLE][EV_BACKOFF_DUE] + fired[PH_BACKOFF][EV_STUCK_DUE] +
		  fired[PH_BACKOFF][EV_PROBE_DUE] + fired[PH_STOPPING][EV_PROBE_DUE] +
		  fired[PH_STOPPING][EV_STARTUP_DUE] + fired[PH_RUNNING][EV_KILL_DUE], 0);
	/* the walk went through the rows that matter */
	CHECK(visits[PH_STOPPING][EV_GONE] > 0);
	CHECK(visits[PH_RUNNING][EV_GONE] > 0);
	CHECK(fired[PH_BACKOFF][EV_BACKOFF_DUE] > 0);
	CHECK(fired[PH_STOPPING][EV_KILL_DUE] > 0);
	CHECK(fired[PH_STOPPING][EV_STUCK_DUE] > 0);
	CHECK(fired[PH_RUNNING][EV_STARTUP_DUE] > 0);
	CHECK(fired[PH_RUNNING][EV_PROBE_DUE] > 0);
}

static void test_names(void)
{
	CHECK_STR(fsm_phase_name(PH_STOPPING), "stopping");
	CHECK_STR(fsm_event_name(EV_PROBE_DUE), "probe-due");
	CHECK_STR(fsm_event_name(EV_NONE), "none");
}

int main(void)
{
	test_start_and_launch();
	test_stop();
	test_after();
	test_crash_and_health();
	test_random_walk();
	test_names();
	return test_summary("fsm");
}
