/*
 * theap.c - a binary min-heap of deadlines (see theap.h).
 */
#include "theap.h"

#include <errno.h>
#include <stdlib.h>

static void put(struct theap *h, size_t i, struct theap_node *x)
{
	h->v[i] = x;
	x->pos = i;
}

static void up(struct theap *h, size_t i)
{
	struct theap_node *x = h->v[i];

	while (i > 0 && h->v[(i - 1) / 2]->at > x->at) {
		put(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	put(h, i, x);
}

static void down(struct theap *h, size_t i)
{
	struct theap_node *x = h->v[i];
	size_t c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (h->v[c]->at >= x->at)
			break;
		put(h, i, h->v[c]);
		i = c;
	}
	put(h, i, x);
}

static void take_out(struct theap *h, struct theap_node *x)
{
	size_t i = x->pos;
	struct theap_node *last = h->v[--h->n];

	x->at = 0;
	if (last == x)
		return;
	put(h, i, last);
	if (i > 0 && h->v[(i - 1) / 2]->at > last->at)
		up(h, i);
	else
		down(h, i);
}

int theap_reserve(struct theap *h, size_t n)
{
	struct theap_node **v;

	if (n <= h->cap)
		return 0;
	v = realloc(h->v, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = n;
	return 0;
}

int theap_set(struct theap *h, struct theap_node *x, int64_t at)
{
	int64_t was = x->at;

	if (at == was)
		return 0;
	if (!at) {
		take_out(h, x);
		return 0;
	}
	if (!was) {
		if (h->n == h->cap && theap_reserve(h, h->cap ? 2 * h->cap : 16) < 0)
			return -ENOMEM;
		x->at = at;
		put(h, h->n++, x);
		up(h, x->pos);
		return 0;
	}
	x->at = at;
	if (at < was)
		up(h, x->pos);
	else
		down(h, x->pos);
	return 0;
}

void theap_free(struct theap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
