/*
 * test_theap.c - the deadline heap against a plain walk: random filings,
 * moves and removals; after each, the top is the earliest deadline, every
 * member knows its place, and a member is in the heap exactly when it has
 * a deadline.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "test.h"
#include "theap.h"

#define N 300

static struct theap_node nodes[N];

static bool consistent(const struct theap *h)
{
	size_t i, in = 0;
	int64_t min = 0;

	for (i = 0; i < h->n; i++) {
		if (h->v[i]->pos != i || !h->v[i]->at)
			return false;
		if (i > 0 && h->v[(i - 1) / 2]->at > h->v[i]->at)
			return false;
	}
	for (i = 0; i < N; i++) {
		if (!nodes[i].at)
			continue;
		in++;
		if (!min || nodes[i].at < min)
			min = nodes[i].at;
	}
	if (in != h->n)
		return false;
	return min ? theap_top(h) && theap_top(h)->at == min : theap_top(h) == NULL;
}

int main(void)
{
	struct theap h = {0};
	int round, bad = 0, ops = 0;

	srand(7);
	CHECK(theap_top(&h) == NULL);
	for (round = 0; round < 20000; round++) {
		struct theap_node *x = &nodes[rand() % N];
		int r = rand() % 10;
		int64_t at = r < 3 ? 0 : 1 + rand() % 1000;   /* few distinct times: ties */

		if (theap_set(&h, x, at) < 0 || x->at != at)
			bad++;
		if (!consistent(&h))
			bad++;
		ops++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(ops, 20000);
	/* draining in order, the way the loop takes the due ones */
	{
		int64_t last = 0;
		int order = 0;
		struct theap_node *t;

		while ((t = theap_top(&h))) {
			if (t->at < last)
				order++;
			last = t->at;
			theap_set(&h, t, 0);
		}
		CHECK_INT(order, 0);
		CHECK_INT(h.n, 0);
	}
	theap_free(&h);
	return test_summary("theap");
}
