/*
 * loop.c - the one event loop.  It owns every runtime; it waits in
 * epoll_wait() on the signalfd, the command eventfd, the inotify fd, the
 * children's pidfds and output pipes, curl's sockets, the notifier's ack
 * eventfd, the FUSE session's end eventfd and /proc/self/mountinfo, with a
 * timeout set to the earliest deadline.  No polling: it sleeps until
 * something happens.
 *
 * Each pass: handle what woke it, run due timers, then publish what changed
 * (new views swapped in, kernel attribute caches dropped), and only then
 * send the replies of the pass (the outbox).  So once a ctl write has
 * returned, every file already shows its effect.
 *
 * FUSE threads hand it commands through cmdq (mutex + eventfd); cmdq.mu
 * protects the queue only.  Replies to FUSE requests are sent from here.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cgroup.h"
#include "fs.h"
#include "log.h"
#include "mount.h"
#include "notify.h"
#include "probe.h"
#include "spawn.h"
#include "sup.h"

struct sup sup;

static int sig_fd = -1;
static int mounts_fd = -1;

/* Interrupts that arrived before their command: matched when it comes. */
#define EARLY_MAX 64
static uint64_t early[EARLY_MAX];
static size_t nearly;


/* ---- the outbox: replies wait for the end of the pass ----
 * Loop thread only.  An entry with after_seq also waits until the notifier
 * has done everything queued before it (a removed entry is gone from the
 * kernel's cache only then), for NOTIFIER_HOLD_MS at most. */

#define NOTIFIER_HOLD_MS 1000

struct reply {
	fuse_req_t req;
	struct fs_open *of;
	int err;
	size_t size;
	uint64_t after_seq;          /* notifier sequence to wait for, 0: none */
	int64_t hold_until;          /* mono */
	struct reply *next;
	char text[];
};

static struct reply *outbox, **outbox_tail = &outbox;

static void queue_reply(fuse_req_t req, struct fs_open *of, int err, size_t size,
			uint64_t after_seq, const char *fmt, va_list ap)
{
	char text[1024];
	struct reply *r;
	int n = vsnprintf(text, sizeof(text) - 1, fmt, ap);

	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(text) - 2)
		n = (int)sizeof(text) - 2;
	text[n++] = '\n';
	text[n] = '\0';
	r = malloc(sizeof(*r) + (size_t)n + 1);
	if (!r) {
		fs_reply(req, of, err, size, text);
		return;
	}
	r->req = req;
	r->of = of;
	r->err = err;
	r->size = size;
	r->after_seq = after_seq;
	r->hold_until = after_seq ? mono_ms() + NOTIFIER_HOLD_MS : 0;
	r->next = NULL;
	memcpy(r->text, text, (size_t)n + 1);
	*outbox_tail = r;
	outbox_tail = &r->next;
}

void loop_reply(fuse_req_t req, struct fs_open *of, int err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	queue_reply(req, of, err, size, 0, fmt, ap);
	va_end(ap);
}

/* The same, held until the notifier has worked through what is queued now. */
void loop_reply_synced(fuse_req_t req, struct fs_open *of, int err, size_t size,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	queue_reply(req, of, err, size, notify_queued(), fmt, ap);
	va_end(ap);
}

/* Send what may go: everything, when `all`.  (An acknowledgement from the
 * notifier wakes the loop, and each pass ends here.) */
static void flush_replies(bool all)
{
	struct reply **pr, *r;
	uint64_t done = notify_done();
	int64_t mono = mono_ms();

	for (pr = &outbox; (r = *pr);) {
		if (!all && r->after_seq > done && mono < r->hold_until) {
			pr = &r->next;
			continue;
		}
		*pr = r->next;
		fs_reply(r->req, r->of, r->err, r->size, r->text);
		free(r);
	}
	outbox_tail = pr;
}

static int64_t outbox_deadline(void)
{
	const struct reply *r;
	int64_t d = 0;

	for (r = outbox; r; r = r->next)
		if (r->hold_until && (!d || r->hold_until < d))
			d = r->hold_until;
	return d;
}

static void drain_cmds(void *ctx, uint32_t events);
static int start_fs_threads(void);
static void drain_signals(void *ctx, uint32_t events);
static void on_notify_ack(void *ctx, uint32_t events);
static void on_notify_exit(void *ctx, uint32_t events);
static void on_session_end(void *ctx, uint32_t events);
static void on_mounts(void *ctx, uint32_t events);
static void check_todo(void);

int loop_init(void)
{
	sigset_t set;
	int r;

	if ((r = watch_init()) < 0)
		return r;
	if (0)
		return -errno;
	if ((r = cmdq_init()) < 0)
		return r;
	if (0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0)
		return -errno;
	if ((r = loop_watch(cmdq_fd(), EPOLLIN, drain_cmds, NULL)) < 0)
		return r;
	if ((r = loop_watch(sig_fd, EPOLLIN, drain_signals, NULL)) < 0)
		return r;
	return probe_init();
}

/* The notifier helper's socket and pidfd (again after a restart of it). */
static int watch_notifier(void)
{
	int r = 0;

	if (notify_sock() >= 0 && (r = loop_watch(notify_sock(), EPOLLIN, on_notify_ack, NULL)) < 0)
		return r;
	if (notify_pidfd() >= 0)
		r = loop_watch(notify_pidfd(), EPOLLIN, on_notify_exit, NULL);
	return r;
}

/* After the mount and the notifier are up: their fds, and mountinfo (a
 * change of the mount table makes it readable with EPOLLPRI). */
int loop_watch_tree(void)
{
	int r;

	if ((r = watch_notifier()) < 0)
		return r;
	if ((r = loop_watch(fs_end_fd(), EPOLLIN, on_session_end, NULL)) < 0)
		return r;
	mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (mounts_fd < 0)
		return -errno;
	return loop_watch(mounts_fd, EPOLLPRI, on_mounts, NULL);
}

static void begin_shutdown(const char *why)
{
	size_t i;

	if (sup.shutting_down)
		return;
	log_info("%s: stopping every runtime", why);
	sup.shutting_down = true;
	sup.shutdown_at = mono_ms() + sup.shutdown_timeout_ms;
	waiter_fail_all(&sup.root_waiters, ESHUTDOWN, "the supervisor is shutting down");
	for (i = 0; i < sup.nrts; i++)
		if (sup.rts[i])
			rt_stop_for_shutdown(sup.rts[i]);
}

static void handle_cmd(struct loop_cmd *c)
{
	struct runtime *rt;
	size_t i;

	if (c->kind != CMD_INTERRUPT && c->park_id) {
		for (i = 0; i < nearly; i++) {
			if (early[i] == c->park_id) {
				/* interrupted before it even got here: not done */
				early[i] = early[--nearly];
				fuse_reply_err(c->req, EINTR);
				return;
			}
		}
	}
	switch (c->kind) {
	case CMD_CTL_ROOT:
		root_ctl(c);
		break;
	case CMD_CTL_RT:
		rt = c->slot < sup.nrts ? sup.rts[c->slot] : NULL;
		if (!rt || rt->gen != c->gen || rt->removing) {
			loop_reply(c->req, c->of, ENOENT, 0, "error %s: runtime removed", c->text);
			break;
		}
		rt_ctl(rt, c);
		break;
	case CMD_INTERRUPT:
		if (waiter_interrupt(&sup.root_waiters, c->park_id))
			return;
		for (i = 0; i < sup.nrts; i++)
			if (sup.rts[i] && rt_interrupt(sup.rts[i], c->park_id))
				return;
		if (nearly == EARLY_MAX)
			memmove(early, early + 1, --nearly * sizeof(*early));
		early[nearly++] = c->park_id;
		break;
	}
}

static void drain_cmds(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	struct loop_cmd *c, *next;

	c = cmdq_take(false);
	for (; c; c = next) {
		next = c->next;
		handle_cmd(c);
		free(c);
	}
}

/* Answer every queued command with `err` (and queue nothing more, when
 * `close`: the loop has ended). */
static void refuse_queued(int err, const char *why, bool close)
{
	struct loop_cmd *c, *next;

	c = cmdq_take(close);
	for (; c; c = next) {
		next = c->next;
		if (c->kind != CMD_INTERRUPT)
			loop_reply(c->req, c->of, err, 0, "error %s: %s", c->text, why);
		free(c);
	}
}

static void drain_signals(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			rt_on_sigchld();
			break;
		case SIGHUP:
			if (!sup.shutting_down) {
				log_info("SIGHUP: rescanning %s", sup.manifests);
				scan_all();
			}
			break;
		case SIGTERM:
		case SIGINT:
			begin_shutdown(si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
}

/* What is wrong with the node itself, not one runtime: NULL when nothing. */
static const char *node_problem(char *buf, size_t len)
{
	size_t i, n = 0;
	int err = 0;

	for (i = 0; i < sup.nrts; i++) {
		const struct runtime *rt = sup.rts[i];

		if (rt && (rt->state_unsaved || rt->pid_unsaved)) {
			n++;
			err = rt->save_errno;
		}
	}
	if (!n)
		return NULL;
	snprintf(buf, len, "State folder %s cannot be written (%s): what changed for %zu runtime%s "
		 "is lost if the supervisor restarts", sup.state, strerror(err), n, n == 1 ? "" : "s");
	return buf;
}

void loop_publish_root(void)
{
	char problem[PATH_MAX + 200];
	struct rt_view **views;
	size_t i, n = 0;
	char *txt;
	size_t len;
	struct snap *s;
	int64_t now = now_ms();

	sup.matrix_dirty = false;
	if (reg_rt_views(&views, &n) < 0)
		return;   /* (out of memory: the next change tries again) */
	txt = render_matrix(views, n, sup.node, cg_mode_text(), node_problem(problem, sizeof(problem)),
			    sup.matrix_ttl, now, &len);
	for (i = 0; i < n; i++)
		rt_view_unref(views[i]);
	free(views);
	if (!txt)
		return;
	s = snap_new(txt, len, now);
	free(txt);
	if (s) {
		reg_top_set(TOP_MATRIX, s);
		notify_changed(TOP_MATRIX, "runtime_matrix.json");
	}
}

static bool anything_running(void)
{
	size_t i;

	for (i = 0; i < sup.nrts; i++)
		if (sup.rts[i] && (sup.rts[i]->pid > 0 || sup.rts[i]->xprobe))
			return true;
	return false;
}

/* ---- a lost mount ----
 * Someone unmounted the tree (umount -l) or aborted its connection.  The
 * runtimes keep running; the tree comes back: every request parked on the
 * dead session is answered (they fail), the session is freed, the dead
 * mount detached, and a new one mounted in its place.  More than
 * REMOUNT_MAX losses within REMOUNT_WINDOW_MS, or a failed remount, and
 * the supervisor gives up: it stops every runtime and exits 1. */

#define REMOUNT_MAX 5
#define REMOUNT_WINDOW_MS 60000

static int64_t lost_at[REMOUNT_MAX];
static size_t nlost;

static void give_up(const char *why)
{
	log_warnx("%s: stopping every runtime and exiting", why);
	sup.exit_code = 1;
	begin_shutdown("the tree is gone");
}

/* Answer whatever holds a request of the dead session. */
static void drop_parked(void)
{
	size_t i;

	refuse_queued(ENOTCONN, "the tree was lost", false);
	nearly = 0;
	waiter_fail_all(&sup.root_waiters, ENOTCONN, "the tree was lost");
	for (i = 0; i < sup.nrts; i++)
		if (sup.rts[i])
			waiter_fail_all(&sup.rts[i]->waiters, ENOTCONN, "the tree was lost");
	flush_replies(true);
	events_drop_parked();
}

static void on_session_end(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	char err[512];
	int64_t mono = mono_ms();
	int r;

	drop_parked();
	fs_reap(sup.mount);
	if (sup.shutting_down)
		return;
	log_warnx("%s: the tree was unmounted or its connection aborted; mounting it again",
		  sup.mount);
	while (nlost && mono - lost_at[0] > REMOUNT_WINDOW_MS)
		memmove(lost_at, lost_at + 1, --nlost * sizeof(*lost_at));
	if (nlost == REMOUNT_MAX) {
		give_up("the tree was lost too often (5 times within 60 s)");
		return;
	}
	lost_at[nlost++] = mono;
	if ((r = mnt_claim(sup.mount, sup.state, sup.shared_parent, err, sizeof(err))) < 0 ||
	    (r = fs_mount(sup.mount, &sup.fs)) < 0 || (r = start_fs_threads()) < 0) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), "%scannot mount %s again: %s",
			 err[0] ? "; " : "", sup.mount, strerror(-r));
		give_up(err);
		return;
	}
	log_info("%s: mounted again; runtimes kept running", sup.mount);
}

/* The mount table changed: is our tree still there? */
static void on_mounts(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	/* (polling the file is what marks the change as seen) */
	if (sup.shutting_down || fs_attached(sup.mount))
		return;
	/* Detached while files were open: the connection lives on with
	 * nobody able to reach it; end it so the session ends. */
	log_warnx("%s: our mount is no longer attached", sup.mount);
	if (fs_abort() < 0)
		log_warnx("%s: cannot abort the old connection; it ends when its last file is closed",
			  sup.mount);
}

/* ---- the pass ---- */

/* The runtime after rt on sup.todo, up to `last` (then NULL). */
static struct runtime *todo_upto(const struct runtime *rt, const struct runtime *last)
{
	return rt == last ? NULL : rt->todo_next;
}

/* Publish what changed, answer the waiters that are settled, then the
 * replies of the pass. */
static void publish_and_reply(void)
{
	struct runtime *rt, *next, *last;
	int64_t mono;

	if (sup.rescan_deferred && !sup.shutting_down)
		scan_deferred();
	if (sup.check_timers)
		check_todo();
	/* The runtimes with work, not all of them.  `last`: the end of the
	 * list as this pass found it (what the walks below add is for the
	 * next pass). */
	last = sup.todo_tail;
	for (rt = sup.todo; rt; rt = todo_upto(rt, last))
		if (rt->dirty)
			rt_publish(rt);
	/* the disk after the tree; a failed save shows before the replies */
	for (rt = sup.todo; rt; rt = todo_upto(rt, last)) {
		if (rt->save_state_after || rt->save_pid_after || rt->clear_pid_after) {
			rt_save_after_publish(rt);
			if (rt->dirty)
				rt_publish(rt);
		}
	}
	if (sup.matrix_dirty)
		loop_publish_root();
	mono = mono_ms();
	if (sup.root_waiters)
		root_check_waiters(mono);
	/* expiry after the checks: a waiter satisfied in this pass wins */
	for (rt = sup.todo; rt; rt = todo_upto(rt, last)) {
		if (rt->waiters) {
			waiter_expire(&rt->waiters, mono);
			rt_timers_changed(rt);
		}
	}
	/* off the list once nothing is left to do */
	for (rt = sup.todo; rt; rt = next) {
		next = todo_upto(rt, last);
		if (!rt_has_todo(rt))
			rt_untodo(rt);
	}
	flush_replies(false);
}

/* ---- timers ---- */

static struct runtime *timer_rt(struct theap_node *t)
{
	return (struct runtime *)(void *)((char *)t - offsetof(struct runtime, timer));
}

/* ARW_CHECK_TIMERS=1 (the tests set it): each pass also walks every
 * runtime, and a deadline the heap does not have (a change that forgot
 * rt_timers_changed) is an internal error, then filed. */
static void check_timers(void)
{
	size_t k;

	for (k = 0; k < sup.nrts; k++) {
		struct runtime *rt = sup.rts[k];
		int64_t d = rt ? rt_deadline(rt) : 0;

		if (d && (!rt->timer.at || d < rt->timer.at)) {
			if (rt->timer.at)
				log_warnx("internal: runtime[%s]: a deadline in %lld ms is filed for %lld ms "
					  "in the timer heap", rt->spec->id, (long long)(d - mono_ms()),
					  (long long)(rt->timer.at - mono_ms()));
			else
				log_warnx("internal: runtime[%s]: a deadline in %lld ms is not in the timer heap",
					  rt->spec->id, (long long)(d - mono_ms()));
			rt_timers_changed(rt);
		}
	}
}

/* The same for sup.todo: a runtime with work for the end of the pass that
 * is not on it (a flag set without rt_todo) is an internal error. */
static void check_todo(void)
{
	size_t k;

	for (k = 0; k < sup.nrts; k++) {
		struct runtime *rt = sup.rts[k];

		if (rt && !rt->in_todo && rt_has_todo(rt)) {
			log_warnx("internal: runtime[%s]: has work for the end of the pass "
				  "(dirty %d, saves %d%d%d, waiters %d, sweep %d) and is not on the list",
				  rt->spec->id, rt->dirty, rt->save_state_after, rt->save_pid_after,
				  rt->clear_pid_after, rt->waiters != NULL, rt->sweep_pending);
			rt_todo(rt);
		}
	}
}

static uint32_t *due;      /* fire_timers' list, kept between passes */
static size_t due_cap;

/* The runtimes whose earliest deadline has come: each taken out of the
 * heap first, so that each runs once per pass (an expired waiter keeps its
 * deadline until the publication), then its timers run and it is filed
 * again. */
static void fire_timers(int64_t mono)
{
	struct theap_node *t;
	size_t n = 0, i;

	if (due_cap < sup.nrts) {
		uint32_t *d = realloc(due, sup.nrts * sizeof(*d));

		if (d) {
			due = d;
			due_cap = sup.nrts;
		}
	}
	while (n < due_cap && (t = theap_top(&sup.timers)) && t->at <= mono) {
		struct runtime *rt = timer_rt(t);

		theap_set(&sup.timers, t, 0);
		due[n++] = rt->slot;
	}
	for (i = 0; i < n; i++) {
		struct runtime *rt = sup.rts[due[i]];

		if (!rt)
			continue;   /* removed by an earlier one's timer */
		rt_on_timer(rt, mono);
		if ((rt = sup.rts[due[i]])) {   /* a timer may remove it */
			rt_check_deadlines(rt, mono);
			rt_timers_changed(rt);
		}
	}
}

static int64_t next_deadline(void)
{
	int64_t next = probe_deadline(), d;

	d = waiter_deadline(sup.root_waiters);
	if (d && (!next || d < next))
		next = d;
	d = outbox_deadline();
	if (d && (!next || d < next))
		next = d;
	d = sup.shutdown_at;
	if (d && (!next || d < next))
		next = d;
	if (sup.check_timers)
		check_timers();
	if (theap_top(&sup.timers) && (!next || theap_top(&sup.timers)->at < next))
		next = theap_top(&sup.timers)->at;
	return next;
}

/* ---- the notifier helper's descriptors ---- */

static void on_notify_ack(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	notify_on_ack();   /* the outbox is flushed at the top of the next pass */
}

static void on_notify_exit(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
	notify_on_exit();
	watch_notifier();
	rt_on_sigchld();   /* strays behind its zombie */
}

/* The shutdown deadline passed: what is still running cannot die (a
 * process in uninterruptible sleep).  Say which, and leave. */
static void abandon(void)
{
	size_t k;

	log_warnx("shutdown: runtimes still running %d s after the stop began; leaving them",
		  sup.shutdown_timeout_ms / 1000);
	for (k = 0; k < sup.nrts; k++)
		if (sup.rts[k])
			rt_abandon(sup.rts[k]);
	sup.exit_code = 1;
}

/* How much higher the loop thread's priority is than the daemon's. */
#define LOOP_NICE_BOOST 5
static int base_nice;
static bool boosted;

/* The loop reacts to deaths and answers ctl writes.  At the daemon's own
 * priority it is preempted by the very process it just signalled (which
 * wakes on the loop's CPU to die) and by every busy engine; so the loop
 * thread alone runs LOOP_NICE_BOOST nice levels higher when it may (root,
 * CAP_SYS_NICE), and what it spawns gets the daemon's nice back.  The FUSE
 * threads and the notifier helper stay as they are. */
static void boost_loop(void)
{
	errno = 0;
	base_nice = getpriority(PRIO_PROCESS, 0);   /* this thread's */
	if (errno)
		return;
	if (setpriority(PRIO_PROCESS, 0, base_nice - LOOP_NICE_BOOST) == 0) {
		boosted = true;
		spawn_keep_nice(base_nice);
	}
}

/* FUSE threads started again by the loop (after a remount) start at the
 * daemon's priority, not the loop's. */
static int start_fs_threads(void)
{
	int r;

	if (boosted)
		setpriority(PRIO_PROCESS, 0, base_nice);
	r = fs_start();
	if (boosted)
		setpriority(PRIO_PROCESS, 0, base_nice - LOOP_NICE_BOOST);
	return r;
}

int loop_run(void)
{
	int n, timeout;
	int64_t mono, next;

	boost_loop();

	for (;;) {
		publish_and_reply();
		if (sup.shutting_down && !anything_running())
			break;
		next = next_deadline();
		notify_flush();
		mono = mono_ms();
		timeout = !next ? -1 : next <= mono ? 0 : (int)(next - mono > 86400000 ? 86400000 : next - mono);
		if ((n = watch_poll(timeout)) < 0) {
			log_warnx("epoll_wait: %s", strerror(-n));
			return n;
		}
		mono = mono_ms();
		if (probe_deadline() && probe_deadline() <= mono)
			probe_timeout();
		fire_timers(mono);
		rt_sweep();
		if (sup.shutdown_at && mono >= sup.shutdown_at && anything_running()) {
			abandon();
			break;
		}
	}
	rt_on_sigchld();   /* the last zombies */
	events_shutdown();
	refuse_queued(ESHUTDOWN, "the supervisor is shutting down", true);
	flush_replies(true);
	return 0;
}

void loop_fini(void);
void loop_fini(void)
{
	probe_fini();
	if (sig_fd >= 0)
		close(sig_fd);
	if (mounts_fd >= 0)
		close(mounts_fd);
	cmdq_fini();
	watch_fini();
	theap_free(&sup.timers);
	free(due);
	due = NULL;
	due_cap = 0;
}
