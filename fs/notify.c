/*
 * notify.c - the notifier thread (see notify.h).
 *
 * nq.mu protects the queue and the stop flag; the thread takes the whole
 * queue under the lock and works through it without the lock.
 */
#include "notify.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct nitem {
	uint64_t ino;       /* inode to invalidate, or the parent for an entry */
	char *name;         /* NULL: inode invalidation */
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
} nq = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *notify_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&nq.mu);
	for (;;) {
		struct nitem *list, *it;

		while (!nq.head && !nq.stop)
			pthread_cond_wait(&nq.cond, &nq.mu);
		if (nq.stop && !nq.head)
			break;
		list = nq.head;
		nq.head = nq.tail = NULL;
		pthread_mutex_unlock(&nq.mu);
		while ((it = list)) {
			int r;

			list = it->next;
			if (it->name)
				r = fuse_lowlevel_notify_inval_entry(nq.se, it->ino, it->name,
								     strlen(it->name));
			else
				r = fuse_lowlevel_notify_inval_inode(nq.se, it->ino, 0, 0);
			if (r < 0 && r != -ENOENT && r != -EBADF && r != -ENOTCONN)
				log_debug("notify: invalidation of %llu failed: %s",
					  (unsigned long long)it->ino, strerror(-r));
			free(it->name);
			free(it);
		}
		pthread_mutex_lock(&nq.mu);
	}
	pthread_mutex_unlock(&nq.mu);
	return NULL;
}

int notify_start(struct fuse_session *se)
{
	int r;

	nq.se = se;
	nq.stop = false;
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
	/* Nothing left to invalidate once we are going away. */
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

static void push(uint64_t ino, const char *name)
{
	struct nitem *it = calloc(1, sizeof(*it));

	if (!it)
		return;
	it->ino = ino;
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
	push(ino, NULL);
}

void notify_inval_entry(uint64_t parent, const char *name)
{
	push(parent, name);
}
