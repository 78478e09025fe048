/*
 * notify.c - the notifier thread (see notify.h).
 *
 * nq.mu protects the queue, the stop flag and the current intent; the
 * thread takes the whole queue under the lock and works through it without
 * the lock.  Its syscalls on the mount are answered by FUSE workers, which
 * never wait for the notifier, so it cannot deadlock with them.
 */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"

enum nkind { N_INVAL_INODE, N_CHANGED, N_CREATED, N_REMOVED };

struct nitem {
	enum nkind kind;
	uint64_t ino;       /* the inode */
	uint64_t parent;    /* entries: the folder */
	char *name;         /* entries: the name; N_CHANGED: the path below the mount */
	bool dir;
	struct nitem *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct nitem *head, *tail;   /* pending, in order */
	bool stop;
	bool running;
	pthread_t thread;
	struct fuse_session *se;
	char mount[PATH_MAX];        /* "" : no through-the-mount events */
	/* what the notifier's current syscall is about */
	enum notify_intent intent;
	uint64_t i_parent, i_ino;
	bool i_dir;
	char i_name[256];
} nq = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static atomic_int notifier_tid;

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
	default:
		return;
	}
}

static void handle(const struct nitem *it)
{
	int r = 0;

	switch (it->kind) {
	case N_INVAL_INODE:
	case N_CHANGED:
		r = fuse_lowlevel_notify_inval_inode(nq.se, it->ino, 0, 0);
		break;
	case N_REMOVED:
		r = fuse_lowlevel_notify_inval_entry(nq.se, it->parent, it->name, strlen(it->name));
		break;
	case N_CREATED:
		break;
	}
	if (r < 0 && r != -ENOENT && r != -EBADF && r != -ENOTCONN)
		log_debug("notify: invalidation of %llu failed: %s",
			  (unsigned long long)it->ino, strerror(-r));
	if (nq.mount[0] && it->kind >= N_CHANGED)
		through_mount(it);
}

static void *notify_main(void *arg)
{
	(void)arg;
	atomic_store(&notifier_tid, (int)gettid());
	pthread_mutex_lock(&nq.mu);
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
			handle(it);
			free(it->name);
			free(it);
		}
		pthread_mutex_lock(&nq.mu);
	}
	pthread_mutex_unlock(&nq.mu);
	return NULL;
}

int notify_start(struct fuse_session *se, const char *mount)
{
	int r;

	nq.se = se;
	nq.stop = false;
	snprintf(nq.mount, sizeof(nq.mount), "%s", mount ? mount : "");
	r = pthread_create(&nq.thread, NULL, notify_main, NULL);
	if (r)
		return -r;
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
	if (kind == N_CHANGED || kind == N_INVAL_INODE) {
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
	if (nq.tail)
		nq.tail->next = it;
	else
		nq.head = it;
	nq.tail = it;
	pthread_cond_signal(&nq.cond);
	pthread_mutex_unlock(&nq.mu);
}

void notify_inval_inode(uint64_t ino)
{
	push(N_INVAL_INODE, ino, 0, NULL, false);
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
