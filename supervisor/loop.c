/*
 * loop.c - the one event loop.  It owns every runtime; it waits in
 * epoll_wait() on the signalfd, the command eventfd, the inotify fd, the
 * children's pidfds and output pipes and curl's sockets, with a timeout set
 * to the earliest deadline.  No polling: it sleeps until something happens.
 *
 * FUSE threads hand it commands through cmdq (mutex + eventfd); cmdq.mu
 * protects the queue only.  Replies to FUSE requests are sent from here.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "sup.h"

struct sup sup;

static struct {
	pthread_mutex_t mu;
	struct loop_cmd *head, *tail;
	int efd;
	bool closed;   /* the loop has ended: answer here, queue nothing */
} cmdq = { .mu = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static int sig_fd = -1;
static atomic_uint_fast64_t park_seq;

/* Interrupts that arrived before their command: matched when it comes. */
#define EARLY_MAX 64
static uint64_t early[EARLY_MAX];
static size_t nearly;

uint64_t loop_park_id(void)
{
	return atomic_fetch_add(&park_seq, 1) + 1;
}

int loop_watch(int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event e = { .events = events, .data.u64 = tag };

	if (epoll_ctl(sup.epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	return 0;
}

int loop_rewatch(int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event e = { .events = events, .data.u64 = tag };

	if (epoll_ctl(sup.epfd, EPOLL_CTL_MOD, fd, &e) < 0) {
		if (errno == ENOENT)
			return loop_watch(fd, events, tag);
		return -errno;
	}
	return 0;
}

void loop_unwatch(int fd)
{
	epoll_ctl(sup.epfd, EPOLL_CTL_DEL, fd, NULL);
}

void loop_submit(struct loop_cmd *c)
{
	uint64_t one = 1;

	c->next = NULL;
	pthread_mutex_lock(&cmdq.mu);
	if (cmdq.closed) {
		pthread_mutex_unlock(&cmdq.mu);
		if (c->kind != CMD_INTERRUPT)
			loop_reply(c->req, c->of, ESHUTDOWN, 0, "error %s: the supervisor is shutting down", c->text);
		free(c);
		return;
	}
	if (cmdq.tail)
		cmdq.tail->next = c;
	else
		cmdq.head = c;
	cmdq.tail = c;
	pthread_mutex_unlock(&cmdq.mu);
	if (write(cmdq.efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the loop is awake anyway */
	}
}

void loop_reply(fuse_req_t req, struct fs_open *of, int err, size_t size, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(text) - 2)
		n = (int)sizeof(text) - 2;
	text[n++] = '\n';
	text[n] = '\0';
	if (of)
		fs_open_set_reply(of, text);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

int loop_init(void)
{
	sigset_t set;
	int r;

	sup.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sup.epfd < 0)
		return -errno;
	cmdq.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cmdq.efd < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0)
		return -errno;
	if ((r = loop_watch(cmdq.efd, EPOLLIN, LOOP_TAG(TAG_CMD, 0))) < 0)
		return r;
	if ((r = loop_watch(sig_fd, EPOLLIN, LOOP_TAG(TAG_SIGNAL, 0))) < 0)
		return r;
	return probe_init();
}

static void root_record(const char *text, const char *result)
{
	char ts[32];
	struct snap *s;

	snprintf(sup.root_ctl_last, sizeof(sup.root_ctl_last), "last: %s\nat: %s\nresult: %s\n",
		 text, fmt_time(ts, sizeof(ts), now_ms()), result);
	s = snap_new(sup.root_ctl_last, strlen(sup.root_ctl_last), now_ms());
	if (s) {
		reg_top_set(TOP_CTL, s);
		notify_inval_inode(TOP_CTL);   /* the writer's own write raised IN_MODIFY */
	}
}

static void begin_shutdown(const char *why)
{
	size_t i;

	if (sup.shutting_down)
		return;
	log_info("%s: stopping every runtime", why);
	sup.shutting_down = true;
	waiter_fail_all(&sup.root_waiters, EINTR, "the supervisor is shutting down");
	for (i = 0; i < sup.nrts; i++)
		if (sup.rts[i])
			rt_stop_for_shutdown(sup.rts[i]);
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

static void check_root_waiters(int64_t mono)
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

static void root_ctl(struct loop_cmd *c)
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
		root_record(c->text, "ok: manifests folder rescanned");
		loop_reply(c->req, c->of, 0, c->size, "ok %s: manifests folder rescanned", c->text);
		return;
	case CTL_STOP_ALL:
		log_info("ctl: stop-all");
		rt_stop_all();
		root_record(c->text, "ok: stopping every runtime; they stay down");
		if (c->ctl.wait_s >= 0)
			root_park(c, CTL_STOP);
		else
			loop_reply(c->req, c->of, 0, c->size, "ok %s: stopping every runtime", c->text);
		return;
	case CTL_START_ALL:
		log_info("ctl: start-all");
		rt_start_all();
		root_record(c->text, "ok: starting every runtime");
		if (c->ctl.wait_s >= 0)
			root_park(c, CTL_START);
		else
			loop_reply(c->req, c->of, 0, c->size, "ok %s: starting every runtime", c->text);
		return;
	default:
		root_record(c->text, "error: not a root verb");
		loop_reply(c->req, c->of, EINVAL, 0, "error %s: not a root verb", c->text);
		return;
	}
}

static void handle_cmd(struct loop_cmd *c)
{
	struct runtime *rt;
	size_t i;

	switch (c->kind) {
	case CMD_CTL_ROOT:
		root_ctl(c);
		break;
	case CMD_CTL_RT:
		for (i = 0; i < nearly; i++) {
			if (early[i] == c->park_id) {
				early[i] = early[--nearly];
				fuse_reply_err(c->req, EINTR);
				return;
			}
		}
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

static void drain_cmds(void)
{
	struct loop_cmd *c, *next;
	uint64_t v;

	if (read(cmdq.efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a previous drain took them */
	}
	pthread_mutex_lock(&cmdq.mu);
	c = cmdq.head;
	cmdq.head = cmdq.tail = NULL;
	pthread_mutex_unlock(&cmdq.mu);
	for (; c; c = next) {
		next = c->next;
		handle_cmd(c);
		free(c);
	}
}

/* Answer whatever is still queued when the loop ends. */
static void refuse_cmds(void)
{
	struct loop_cmd *c, *next;

	pthread_mutex_lock(&cmdq.mu);
	c = cmdq.head;
	cmdq.head = cmdq.tail = NULL;
	cmdq.closed = true;
	pthread_mutex_unlock(&cmdq.mu);
	for (; c; c = next) {
		next = c->next;
		if (c->kind != CMD_INTERRUPT)
			loop_reply(c->req, c->of, ESHUTDOWN, 0, "error %s: the supervisor is shutting down", c->text);
		free(c);
	}
}

static void drain_signals(void)
{
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

void loop_publish_root(void)
{
	struct rt_view **views;
	size_t i, n = 0;
	char *txt;
	size_t len;
	struct snap *s;
	int64_t now = now_ms();

	sup.matrix_dirty = false;
	views = calloc(sup.nrts ? sup.nrts : 1, sizeof(*views));
	if (!views)
		return;
	for (i = 0; i < sup.nrts; i++) {
		struct rt_view *v = sup.rts[i] ? reg_rt_view((uint32_t)i, NULL, NULL) : NULL;

		if (v)
			views[n++] = v;
	}
	txt = render_matrix(views, n, sup.node, sup.matrix_ttl, now, &len);
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
		if (sup.rts[i] && (sup.rts[i]->pid > 0 || sup.rts[i]->xpid > 0))
			return true;
	return false;
}

int loop_run(void)
{
	struct epoll_event evs[64];
	int n, i, timeout;
	int64_t mono, next;
	size_t k;

	for (;;) {
		/* publish what changed, then sleep until the next deadline */
		for (k = 0; k < sup.nrts; k++)
			if (sup.rts[k] && sup.rts[k]->dirty)
				rt_publish(sup.rts[k]);
		if (sup.rescan_deferred && !sup.shutting_down)
			scan_deferred();
		if (sup.matrix_dirty)
			loop_publish_root();
		if (sup.root_waiters)
			check_root_waiters(mono_ms());
		if (sup.shutting_down && !anything_running())
			break;
		next = probe_deadline();
		if (waiter_deadline(sup.root_waiters) &&
		    (!next || waiter_deadline(sup.root_waiters) < next))
			next = waiter_deadline(sup.root_waiters);
		for (k = 0; k < sup.nrts; k++) {
			int64_t d = sup.rts[k] ? rt_deadline(sup.rts[k]) : 0;

			if (d && (!next || d < next))
				next = d;
		}
		mono = mono_ms();
		timeout = !next ? -1 : next <= mono ? 0 : (int)(next - mono > 86400000 ? 86400000 : next - mono);
		n = epoll_wait(sup.epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			return -errno;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			uint32_t what = (uint32_t)(tag >> 32), idx = (uint32_t)tag;
			struct runtime *rt = idx < sup.nrts ? sup.rts[idx] : NULL;

			switch (what) {
			case TAG_SIGNAL:
				drain_signals();
				break;
			case TAG_CMD:
				drain_cmds();
				break;
			case TAG_INOTIFY:
				if (!sup.shutting_down)
					scan_on_inotify();
				break;
			case TAG_CURL:
				probe_socket_event((int)idx, evs[i].events);
				break;
			case TAG_RT_PID:
				if (rt)
					rt_on_pidfd(rt);
				break;
			case TAG_RT_OUT:
				if (rt)
					rt_on_output(rt);
				break;
			case TAG_XPROBE_PID:
			case TAG_XPROBE_OUT:
				if (rt)
					rt_on_xprobe(rt, what == TAG_XPROBE_OUT);
				break;
			}
		}
		mono = mono_ms();
		if (probe_deadline() && probe_deadline() <= mono)
			probe_timeout();
		for (k = 0; k < sup.nrts; k++) {
			struct runtime *rt = sup.rts[k];
			int64_t d = rt ? rt_deadline(rt) : 0;

			if (d && d <= mono) {
				rt_on_timer(rt, mono);
				if (sup.rts[k])   /* a timer may remove it */
					rt_check_deadlines(sup.rts[k], mono);
			}
		}
	}
	events_shutdown();
	refuse_cmds();
	return 0;
}

void loop_fini(void);
void loop_fini(void)
{
	probe_fini();
	if (sig_fd >= 0)
		close(sig_fd);
	if (cmdq.efd >= 0)
		close(cmdq.efd);
	if (sup.epfd >= 0)
		close(sup.epfd);
}
