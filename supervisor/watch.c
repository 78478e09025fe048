/*
 * watch.c - the event loop's mechanism, after redis's ae.c: one epoll
 * descriptor, a callback and context per watched descriptor, dispatch.
 * It knows no module: they watch their descriptors with callbacks.  Loop
 * thread only.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epfd = -1;

/* The watch of each descriptor, indexed by fd.  `gen` tells a watch from
 * an earlier one of the same number; epoll carries fd and gen. */
struct watch {
	loop_fn fn;
	void *ctx;
	uint32_t gen;
};
static struct watch *watches;
static size_t nwatches;
static uint32_t watch_gen;

static int set_watch(int op, int fd, uint32_t events, loop_fn fn, void *ctx)
{
	struct epoll_event e = { .events = events };
	uint32_t gen = ++watch_gen;

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= nwatches) {
		size_t n = nwatches ? nwatches : 64;
		struct watch *nw;

		while (n <= (size_t)fd)
			n *= 2;
		nw = realloc(watches, n * sizeof(*nw));
		if (!nw)
			return -ENOMEM;
		memset(nw + nwatches, 0, (n - nwatches) * sizeof(*nw));
		watches = nw;
		nwatches = n;
	}
	e.data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd;
	if (epoll_ctl(epfd, op, fd, &e) < 0)
		return -errno;
	watches[fd] = (struct watch){ fn, ctx, gen };
	return 0;
}

int loop_watch(int fd, uint32_t events, loop_fn fn, void *ctx)
{
	return set_watch(EPOLL_CTL_ADD, fd, events, fn, ctx);
}

int loop_rewatch(int fd, uint32_t events, loop_fn fn, void *ctx)
{
	int r = set_watch(EPOLL_CTL_MOD, fd, events, fn, ctx);

	return r == -ENOENT ? loop_watch(fd, events, fn, ctx) : r;
}

void loop_unwatch(int fd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	if (fd >= 0 && (size_t)fd < nwatches)
		watches[fd] = (struct watch){ NULL, NULL, 0 };
}

static void dispatch(const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct watch w;

	if (fd < 0 || (size_t)fd >= nwatches || watches[fd].gen != gen || !watches[fd].fn)
		return;   /* unwatched, or another watch now, earlier in this pass */
	w = watches[fd];
	w.fn(w.ctx, ev->events);
}

int watch_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -errno : 0;
}

int watch_poll(int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(epfd, evs, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++)
		dispatch(&evs[i]);
	return n;
}

void watch_fini(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
	free(watches);
	watches = NULL;
	nwatches = 0;
}
