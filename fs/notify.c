/*
 * notify.c - the notifier helper process and its queue (see notify.h).
 *
 * Loop thread: the queue, the item in flight, the sequence numbers, the
 * helper's pid/pidfd/socket.  cur.mu protects the current intent, which the
 * FUSE workers read; helper_pid is an atomic for them.
 *
 * The helper is forked from the running daemon, so between fork and exec
 * rules apply: it calls only system calls (no malloc, no stdio, no locks),
 * on a message buffer of its own.
 */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "registry.h"
#include "u64set.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum nkind { N_CHANGED = 1, N_CREATED, N_REMOVED };

/* One message to the helper: what to do, where.  Acks are the seq alone.
 * N_CHANGED: one or more paths, each ended by a NUL (the changes waiting
 * at the end of a pass go together; seq is the last one's). */
struct nmsg {
	uint64_t seq;
	uint8_t kind;
	uint8_t dir;
	char path[PATH_MAX + 300];
};

struct nitem {
	enum nkind kind;
	uint64_t ino;       /* the inode */
	uint64_t parent;    /* entries: the folder */
	char *name;         /* entries: the name; N_CHANGED: the path below the mount */
	bool dir;
	uint64_t seq;
	struct nitem *next;
};

static struct nitem *head, *tail;   /* waiting to be sent */
static struct u64set queued_changes; /* the inodes of the N_CHANGED items waiting */
static struct nitem *inflight;      /* sent, not acknowledged (a chain: one message) */
static uint64_t next_seq, done_seq;
static char mount[PATH_MAX];
static int sock = -1, pidfd = -1;
static pid_t child;
static atomic_int helper_pid;
static int64_t started_at;
static int quick_deaths;
static bool running, given_up;

static struct {
	pthread_mutex_t mu;          /* protects the fields below */
	enum notify_intent intent;
	uint64_t parent, ino;
	bool dir;
	char name[256];
} cur = { .mu = PTHREAD_MUTEX_INITIALIZER };

bool notify_is_caller(pid_t caller)
{
	int p = atomic_load(&helper_pid);

	return p > 0 && caller == p;
}

enum notify_intent notify_current(uint64_t *parent, char *name, size_t len,
				  uint64_t *ino, bool *dir)
{
	enum notify_intent i;

	pthread_mutex_lock(&cur.mu);
	i = cur.intent;
	*parent = cur.parent;
	*ino = cur.ino;
	*dir = cur.dir;
	snprintf(name, len, "%s", cur.name);
	pthread_mutex_unlock(&cur.mu);
	return i;
}

static void set_intent(const struct nitem *it)
{
	pthread_mutex_lock(&cur.mu);
	cur.intent = !it || it->kind == N_CHANGED ? NI_NONE :
		     it->kind == N_CREATED ? NI_CREATE : NI_DELETE;
	if (cur.intent != NI_NONE) {
		cur.parent = it->parent;
		cur.ino = it->ino;
		cur.dir = it->dir;
		snprintf(cur.name, sizeof(cur.name), "%s", it->name);
	}
	pthread_mutex_unlock(&cur.mu);
}

uint64_t notify_queued(void)
{
	return next_seq;
}

uint64_t notify_done(void)
{
	return done_seq;
}

int notify_sock(void)
{
	return sock;
}

int notify_pidfd(void)
{
	return pidfd;
}

pid_t notify_pid(void)
{
	return child;
}

/* ---- the helper (a forked child: system calls only) ---- */

static _Noreturn void helper_main(int s, pid_t parent)
{
	static struct nmsg m;
	sigset_t none;
	ssize_t n;
	char *p;
	int sig;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	setpgid(0, 0);   /* out of the terminal's way: Ctrl-C is for the daemon */
	/* Announcing a change to inotify can wait for a moment; a runtime
	 * that is being restarted cannot: on a busy machine the helper yields
	 * the CPU (the FUSE requests it causes follow its pace). */
	setpriority(PRIO_PROCESS, 0, 10);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Keep only the socket (and stderr): no /dev/fuse, no lock file. */
	if (dup2(s, 3) < 0)
		_exit(1);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	s = 3;
	for (;;) {
		n = recv(s, &m, sizeof(m) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= (ssize_t)offsetof(struct nmsg, path))
			_exit(0);   /* the daemon closed the socket */
		((char *)&m)[n] = '\0';
		switch (m.kind) {
		case N_CHANGED:
			for (p = m.path; p < (char *)&m + n; p += strlen(p) + 1) {
				if (truncate(p, 0) < 0) {
					/* gone meanwhile: nothing to tell */
				}
			}
			break;
		case N_CREATED:
			if ((m.dir ? mkdir(m.path, 0555) : mknod(m.path, S_IFREG | 0444, 0)) < 0) {
				/* EEXIST: someone looked it up first; no event then */
			}
			break;
		case N_REMOVED:
			if ((m.dir ? rmdir(m.path) : unlink(m.path)) < 0) {
				/* ENOENT: gone already */
			}
			break;
		}
		while (send(s, &m.seq, sizeof(m.seq), 0) < 0 && errno == EINTR)
			;
	}
}

static int fork_helper(void)
{
	int sv[2];
	pid_t parent = getpid(), p;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	p = fork();
	if (p < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (p == 0) {
		close(sv[0]);
		helper_main(sv[1], parent);
	}
	close(sv[1]);
	sock = sv[0];
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	child = p;
	atomic_store(&helper_pid, (int)p);
	pidfd = (int)syscall(SYS_pidfd_open, p, 0);
	if (pidfd >= 0)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	started_at = mono_ms();
	return 0;
}

int notify_start(const char *mnt)
{
	int r;

	snprintf(mount, sizeof(mount), "%s", mnt);
	if ((r = fork_helper()) < 0)
		return r;
	running = true;
	return 0;
}

/* ---- the queue ---- */

static void item_free(struct nitem *it)
{
	if (it) {
		free(it->name);
		free(it);
	}
}

/* The last item of a message's chain: its seq is the message's. */
static struct nitem *chain_last(struct nitem *it)
{
	while (it->next)
		it = it->next;
	return it;
}

static void finished(struct nitem *it)
{
	struct nitem *next;

	for (; it; it = next) {
		next = it->next;
		if (it->seq > done_seq)
			done_seq = it->seq;
		item_free(it);
	}
}

/* The head item, off the queue. */
static struct nitem *pop(void)
{
	struct nitem *it = head;

	head = it->next;
	if (!head)
		tail = NULL;
	it->next = NULL;
	if (it->kind == N_CHANGED)
		u64set_del(&queued_changes, it->ino);
	return it;
}

/* it's path into m at `off`, NUL-ended; false when it does not fit. */
static bool put(struct nmsg *m, size_t *off, const struct nitem *it)
{
	size_t room = sizeof(m->path) - *off;
	int n;

	if (it->kind == N_CHANGED)
		n = snprintf(m->path + *off, room, "%s/%s", mount, it->name);
	else
		n = snprintf(m->path + *off, room, "%s/%s/%s", mount,
			     it->parent == TOP_MANIFESTS ? "manifests" : "runtimes", it->name);
	if (n < 0 || (size_t)n >= room)
		return false;
	*off += (size_t)n + 1;
	return true;
}

/* Send the next message when none is in flight.  Entry operations carry an
 * intent the lookups they cause must see, so one at a time, in order;
 * changes carry none, and those in a row at the head go together. */
static void send_next(void)
{
	static struct nmsg m;
	struct nitem *it, *last;
	size_t off;

	while (!inflight && head && sock >= 0) {
		off = 0;
		if (!put(&m, &off, head)) {
			finished(pop());   /* a path too long: nothing to announce */
			continue;
		}
		it = last = pop();
		while (it->kind == N_CHANGED && head && head->kind == N_CHANGED && put(&m, &off, head))
			last = last->next = pop();
		m.seq = last->seq;
		m.kind = (uint8_t)it->kind;
		m.dir = it->dir;
		set_intent(it);
		if (send(sock, &m, offsetof(struct nmsg, path) + off, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* the helper is gone: notify_on_exit starts another */
			set_intent(NULL);
			finished(it);
			continue;
		}
		inflight = it;
	}
}

void notify_on_ack(void)
{
	uint64_t seq;
	ssize_t n;

	while ((n = recv(sock, &seq, sizeof(seq), MSG_DONTWAIT)) == (ssize_t)sizeof(seq)) {
		if (inflight && chain_last(inflight)->seq == seq) {
			set_intent(NULL);
			finished(inflight);
			inflight = NULL;
		}
	}
	if (n == 0) {
		/* the helper is gone (its pidfd brings notify_on_exit); stop
		 * watching a socket that would report the hang-up forever */
		close(sock);
		sock = -1;
		return;
	}
	send_next();
}

static void drop_all(void)
{
	set_intent(NULL);
	finished(inflight);
	inflight = NULL;
	finished(head);
	head = tail = NULL;
	u64set_clear(&queued_changes);
}

static void reap_helper(bool wait_for_it)
{
	if (sock >= 0) {
		close(sock);
		sock = -1;
	}
	atomic_store(&helper_pid, 0);
	if (child > 0) {
		if (wait_for_it) {
			/* it exits on EOF; give it a moment, then make sure */
			struct timespec ts = { 0, 5 * 1000000 };
			int i;

			for (i = 0; i < 200 && waitpid(child, NULL, WNOHANG) == 0; i++)
				nanosleep(&ts, NULL);
			if (i == 200) {
				kill(child, SIGKILL);
				waitpid(child, NULL, 0);
			}
		} else {
			waitpid(child, NULL, WNOHANG);
		}
		child = 0;
	}
	if (pidfd >= 0) {
		close(pidfd);
		pidfd = -1;
	}
}

void notify_on_exit(void)
{
	int64_t lived = mono_ms() - started_at;

	reap_helper(false);
	drop_all();
	if (!running)
		return;
	quick_deaths = lived < 1000 ? quick_deaths + 1 : 0;
	if (quick_deaths >= 3) {
		if (!given_up)
			log_warnx("notifier helper died 3 times within a second of starting; "
				  "inotify watchers of the tree get no more events");
		given_up = true;
		return;
	}
	log_warnx("notifier helper exited; starting another");
	if (fork_helper() < 0)
		log_warn("cannot start the notifier helper");
}

void notify_stop(void)
{
	if (!running)
		return;
	running = false;
	reap_helper(true);
	drop_all();
	u64set_free(&queued_changes);
}

static void push(enum nkind kind, uint64_t ino, uint64_t parent, const char *name, bool dir)
{
	struct nitem *it;

	if (!running || given_up)
		return;
	/* A change already waiting covers this one (a flood of output makes
	 * one event per pass of the helper, not one per write).  Without
	 * room in the set, the change is queued again: one event too many. */
	if (kind == N_CHANGED && u64set_has(&queued_changes, ino))
		return;
	it = calloc(1, sizeof(*it));
	if (!it)
		return;
	it->kind = kind;
	it->ino = ino;
	it->parent = parent;
	it->dir = dir;
	if (name && !(it->name = strdup(name))) {
		free(it);
		return;
	}
	if (kind == N_CHANGED)
		(void)u64set_add(&queued_changes, ino);
	it->seq = ++next_seq;
	if (tail)
		tail->next = it;
	else
		head = it;
	tail = it;
}

void notify_flush(void)
{
	send_next();
}

void notify_changed(uint64_t ino, const char *relpath)
{
	push(N_CHANGED, ino, 0, relpath, false);
}

void notify_created(uint64_t parent, const char *name, uint64_t ino, bool dir)
{
	push(N_CREATED, ino, parent, name, dir);
}

void notify_removed(uint64_t parent, const char *name, uint64_t ino, bool dir)
{
	push(N_REMOVED, ino, parent, name, dir);
}
