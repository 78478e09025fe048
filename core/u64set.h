/*
 * u64set.h - a set of non-zero 64-bit numbers (open addressing, linear
 * probing, tombstones).  Pure, one owner.  The notifier keeps in one the
 * inodes whose change is already queued, so that queuing another is a
 * lookup, not a walk of the queue.
 */
#ifndef ARW_U64SET_H
#define ARW_U64SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64set {
	uint64_t *v;        /* 0 empty, UINT64_MAX removed */
	size_t cap, n, used; /* slots; members; members + removed */
};

bool u64set_has(const struct u64set *s, uint64_t x);
/* Add x (not 0, not UINT64_MAX): 0, or -ENOMEM (the set is as it was). */
int u64set_add(struct u64set *s, uint64_t x);
void u64set_del(struct u64set *s, uint64_t x);
void u64set_clear(struct u64set *s);
void u64set_free(struct u64set *s);

#endif
