/*
 * theap.h - a min-heap of deadlines (pure, no allocation of its own but the
 * array).  Each member embeds a struct theap_node and holds at most one
 * deadline in it; the loop keeps one node per runtime, so that finding the
 * next deadline and the due ones costs O(log n), not a walk of every
 * runtime per pass.
 */
#ifndef ARW_THEAP_H
#define ARW_THEAP_H

#include <stddef.h>
#include <stdint.h>

struct theap_node {
	int64_t at;    /* the deadline it is filed under; 0: not in the heap */
	size_t pos;    /* its index in the array, when in */
};

struct theap {
	struct theap_node **v;
	size_t n, cap;
};

/* File x under `at` (0: take it out).  0, or -ENOMEM (x is then out). */
int theap_set(struct theap *h, struct theap_node *x, int64_t at);
/* Room for n members without growing: 0, or -ENOMEM. */
int theap_reserve(struct theap *h, size_t n);
/* The earliest member, NULL when empty. */
static inline struct theap_node *theap_top(const struct theap *h)
{
	return h->n ? h->v[0] : NULL;
}
void theap_free(struct theap *h);

#endif
