/*
 * loop.h - the one event loop (epoll) and the command queue that feeds it.
 * The loop thread owns every runtime, every child fd and the prober; FUSE
 * threads only call loop_submit().
 */
#ifndef ARW_LOOP_H
#define ARW_LOOP_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"

/* The event loop's mechanism: a module watches a descriptor with a
 * callback and its context (as redis's ae.c does); the loop knows no
 * module.  An event for a descriptor unwatched (or watched again) earlier
 * in the same pass is dropped. */
typedef void (*loop_fn)(void *ctx, uint32_t events);

int loop_watch(int fd, uint32_t events, loop_fn fn, void *ctx);
/* Change the events (or watch, if not watched yet). */
int loop_rewatch(int fd, uint32_t events, loop_fn fn, void *ctx);
void loop_unwatch(int fd);

/* watch.c's own life: the epoll descriptor; one wait (up to timeout_ms,
 * -1 none) and the callbacks of what it returned: their count or -errno. */
int watch_init(void);
int watch_poll(int timeout_ms);
void watch_fini(void);

#include "cmdq.h"

#endif
