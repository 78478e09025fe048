/*
 * cmdq.c - commands from the FUSE threads to the loop.  cmdq.mu guards the
 * list and `closed`; the eventfd wakes the loop.  A command that comes
 * after the loop has ended is refused (-ESHUTDOWN): its sender answers it.
 */
#include "cmdq.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>


static struct {
	pthread_mutex_t mu;
	struct loop_cmd *head, *tail;   /* under mu */
	bool closed;                    /* under mu: the loop has ended */
	int efd;
} cmdq = { .mu = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static atomic_uint_fast64_t park_seq;

uint64_t loop_park_id(void)
{
	return atomic_fetch_add(&park_seq, 1) + 1;
}

int loop_submit(struct loop_cmd *c)
{
	uint64_t one = 1;

	c->next = NULL;
	pthread_mutex_lock(&cmdq.mu);
	if (cmdq.closed) {
		pthread_mutex_unlock(&cmdq.mu);
		return -ESHUTDOWN;
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
	return 0;
}

int cmdq_init(void)
{
	cmdq.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return cmdq.efd < 0 ? -errno : 0;
}

int cmdq_fd(void)
{
	return cmdq.efd;
}

struct loop_cmd *cmdq_take(bool close)
{
	struct loop_cmd *c;
	uint64_t v;

	if (read(cmdq.efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a previous take had them */
	}
	pthread_mutex_lock(&cmdq.mu);
	c = cmdq.head;
	cmdq.head = cmdq.tail = NULL;
	if (close)
		cmdq.closed = true;
	pthread_mutex_unlock(&cmdq.mu);
	return c;
}

void cmdq_fini(void)
{
	if (cmdq.efd >= 0)
		close(cmdq.efd);
	cmdq.efd = -1;
}
