/*
 * notify.c - the notifier thread (see notify.h).
 *
 * nq.mu protects the queue, the stop flag and the current intent; the
 * thread takes the whole queue under the lock and works through it without
 * the lock.  Its syscalls on the mount are answered by FUSE workers, which
 * never wait for the notifier, so it cannot deadlock with them.  Sequence
 * numbers (queued, done, want) are atomics; ack_fd is an eventfd the loop
 * watches.
 */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"

enum nkind { N_CHANGED, N_CREATED, N_REMOVED };

struct nitem {
	enum nkind kind;
	uint64_t ino;       /* the inode */
	uint64_t parent;    /* entries: the folder */
	char *name;         /* entries: the name; N_CHANGED: the path below the mount */
	bool dir;
	uint64_t seq;
	struct nitem *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct nitem *head, *tail;   /* pending, in order */
	bool stop;
	bool running;
	pthread_t thread;
	char mount[PATH_MAX];
	/* what the notifier's current syscall is about */
	enum notify_intent intent;
	uint64_t i_parent, i_ino;
	bool i_dir;
	char i_name[256];
	uint64_t next_seq;           /* under mu */
} nq = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static atomic_int notifier_tid;
static atomic_uint_fast64_t queued_seq, done_seq, want_seq;
static int ack_fd = -1;
static atomic_int setup_err;    /* the thread's set-up result, for notify_start */

bool notify_is_caller(pid_t caller)
{
	int tid = atomic_load(&notifier_tid);

	return tid > 0 && caller == tid;
}

enum notify_intent notify_current(uint64_t *parent, char *name, size_t len,
				  uint64_t *ino, bool *dir)
{
	enum notify_intent i;

	pthread_mutex_lock(&nq.mu);
	i = nq.intent;
	*parent = nq.i_parent;
	*ino = nq.i_ino;
	*dir = nq.i_dir;
	snprintf(name, len, "%s", nq.i_name);
	pthread_mutex_unlock(&nq.mu);
	return i;
}

uint64_t notify_queued(void)
{
	return atomic_load(&queued_seq);
}

uint64_t notify_done(void)
{
	return atomic_load(&done_seq);
}

int notify_ack_fd(void)
{
	return ack_fd;
}

void notify_want(uint64_t seq)
{
	atomic_store(&want_seq, seq);
}

static void set_intent(enum notify_intent i, const struct nitem *it)
{
	pthread_mutex_lock(&nq.mu);
	nq.intent = i;
	if (it) {
		nq.i_parent = it->parent;
		nq.i_ino = it->ino;
		nq.i_dir = it->dir;
		snprintf(nq.i_name, sizeof(nq.i_name), "%s", it->name);
	}
	pthread_mutex_unlock(&nq.mu);
}

/* The path of an entry below the mount: folders are top-level ones. */
static void entry_path(const struct nitem *it, char *out, size_t len)
{
	const char *folder = it->parent == TOP_MANIFESTS ? "manifests" : "runtimes";

	snprintf(out, len, "%s/%s/%s", nq.mount, folder, it->name);
}

static void through_mount(const struct nitem *it)
{
	char path[PATH_MAX + 300];
	int fd;

	switch (it->kind) {
	case N_CHANGED:
		snprintf(path, sizeof(path), "%s/%s", nq.mount, it->name);
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			return;
		if (write(fd, "\n", 1) < 0) {
			/* gone meanwhile: nothing to tell */
		}
		close(fd);
		return;
	case N_CREATED:
		entry_path(it, path, sizeof(path));
		set_intent(NI_CREATE, it);
		if (it->dir) {
			if (mkdir(path, 0555) < 0 && errno != EEXIST && errno != ENOENT)
				log_debug("notify: mkdir %s: %s", path, strerror(errno));
		} else if (mknod(path, S_IFREG | 0444, 0) < 0 && errno != EEXIST && errno != ENOENT) {
			log_debug("notify: mknod %s: %s", path, strerror(errno));
		}
		set_intent(NI_NONE, NULL);
		return;
	case N_REMOVED:
		entry_path(it, path, sizeof(path));
		set_intent(NI_DELETE, it);
		if ((it->dir ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
			log_debug("notify: remove %s: %s", path, strerror(errno));
		set_intent(NI_NONE, NULL);
		return;
	}
}

static void finished(uint64_t seq)
{
	uint64_t want, one = 1;

	atomic_store(&done_seq, seq);
	want = atomic_load(&want_seq);
	if (want && seq >= want && atomic_compare_exchange_strong(&want_seq, &want, 0)) {
		if (write(ack_fd, &one, sizeof(one)) < 0) {
			/* saturated: the loop is awake anyway */
		}
	}
}

/* Leave the daemon's file table: from here on this thread holds no
 * /dev/fuse descriptor, only its own copy of ack_fd (and stdio for logs). */
static int private_files(void)
{
	if (unshare(CLONE_FILES) < 0)
		return -errno;
	if (ack_fd > 3 && syscall(SYS_close_range, 3U, (unsigned)ack_fd - 1, 0U) < 0)
		return -errno;
	if (syscall(SYS_close_range, (unsigned)ack_fd + 1, ~0U, 0U) < 0)
		return -errno;
	return 0;
}

static void *notify_main(void *arg)
{
	int r;

	(void)arg;
	r = private_files();
	pthread_mutex_lock(&nq.mu);
	atomic_store(&setup_err, r ? r : 1);
	pthread_cond_broadcast(&nq.cond);
	if (r < 0) {
		pthread_mutex_unlock(&nq.mu);
		return NULL;
	}
	atomic_store(&notifier_tid, (int)gettid());
	for (;;) {
		struct nitem *list, *it;

		while (!nq.head && !nq.stop)
			pthread_cond_wait(&nq.cond, &nq.mu);
		if (nq.stop)
			break;
		list = nq.head;
		nq.head = nq.tail = NULL;
		pthread_mutex_unlock(&nq.mu);
		while ((it = list)) {
			list = it->next;
			through_mount(it);
			finished(it->seq);
			free(it->name);
			free(it);
		}
		pthread_mutex_lock(&nq.mu);
	}
	pthread_mutex_unlock(&nq.mu);
	return NULL;
}

int notify_start(const char *mount)
{
	int r;

	if (ack_fd < 0 && (ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	nq.stop = false;
	snprintf(nq.mount, sizeof(nq.mount), "%s", mount);
	atomic_store(&setup_err, 0);
	r = pthread_create(&nq.thread, NULL, notify_main, NULL);
	if (r)
		return -r;
	/* Nothing goes through the mount before the file table is private. */
	pthread_mutex_lock(&nq.mu);
	while (!atomic_load(&setup_err))
		pthread_cond_wait(&nq.cond, &nq.mu);
	r = atomic_load(&setup_err);
	pthread_mutex_unlock(&nq.mu);
	if (r < 0) {
		pthread_join(nq.thread, NULL);
		return r;
	}
	nq.running = true;
	return 0;
}

void notify_stop(void)
{
	struct nitem *it;

	if (!nq.running)
		return;
	pthread_mutex_lock(&nq.mu);
	nq.stop = true;
	/* Nothing left to tell once we are going away. */
	while ((it = nq.head)) {
		nq.head = it->next;
		free(it->name);
		free(it);
	}
	nq.tail = NULL;
	pthread_cond_signal(&nq.cond);
	pthread_mutex_unlock(&nq.mu);
	pthread_join(nq.thread, NULL);
	nq.running = false;
	atomic_store(&done_seq, atomic_load(&queued_seq));
}

static void push(enum nkind kind, uint64_t ino, uint64_t parent, const char *name, bool dir)
{
	struct nitem *it, *p;

	pthread_mutex_lock(&nq.mu);
	if (!nq.running || nq.stop) {
		pthread_mutex_unlock(&nq.mu);
		return;
	}
	/* A change already waiting covers this one (a flood of output makes
	 * one event per pass of the notifier, not one per write). */
	if (kind == N_CHANGED) {
		for (p = nq.head; p; p = p->next) {
			if (p->kind == kind && p->ino == ino) {
				pthread_mutex_unlock(&nq.mu);
				return;
			}
		}
	}
	pthread_mutex_unlock(&nq.mu);
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
	pthread_mutex_lock(&nq.mu);
	if (!nq.running || nq.stop) {
		pthread_mutex_unlock(&nq.mu);
		free(it->name);
		free(it);
		return;
	}
	it->seq = ++nq.next_seq;
	atomic_store(&queued_seq, it->seq);
	if (nq.tail)
		nq.tail->next = it;
	else
		nq.head = it;
	nq.tail = it;
	pthread_cond_signal(&nq.cond);
	pthread_mutex_unlock(&nq.mu);
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
