/*
 * waiter.h - ctl writes parked until something happens (wait=N): a list of
 * held fuse requests with deadlines.  A runtime has one list, the root ctl
 * another.  Loop thread only; every function answers the requests it drops.
 */
#ifndef ARW_WAITER_H
#define ARW_WAITER_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "loop.h"

struct waiter {
	fuse_req_t req;
	uint64_t park_id;
	size_t size;
	struct fs_open *of;
	enum ctl_verb verb;          /* CTL_STOP waits for down, the rest for ready */
	int64_t deadline;            /* mono ms */
	char text[256];
	struct waiter *next;
};

/* Park the write `c` on *list, waiting on `verb`.  False when out of memory
 * (the caller answers it then). */
bool waiter_park(struct waiter **list, const struct loop_cmd *c, enum ctl_verb verb);
/* Answer and drop the waiter with this park id: EINTR.  True if found. */
bool waiter_interrupt(struct waiter **list, uint64_t park_id);
/* Answer and drop every waiter with `err`. */
void waiter_fail_all(struct waiter **list, int err, const char *why);
/* Answer and drop waiters past their deadline: ETIMEDOUT. */
void waiter_expire(struct waiter **list, int64_t mono);
/* The earliest deadline on the list, 0 for none. */
int64_t waiter_deadline(const struct waiter *list);

#endif
