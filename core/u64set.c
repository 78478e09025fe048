/*
 * u64set.c - see u64set.h.
 */
#include "u64set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GONE UINT64_MAX

static size_t slot_of(uint64_t x, size_t cap)
{
	x ^= x >> 33;   /* a mix of the bits: inodes differ in the high ones too */
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

bool u64set_has(const struct u64set *s, uint64_t x)
{
	size_t i;

	if (!s->cap)
		return false;
	for (i = slot_of(x, s->cap); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == x)
			return true;
	return false;
}

/* Into a table of `cap` slots, without the removed ones. */
static int rehash(struct u64set *s, size_t cap)
{
	uint64_t *v = calloc(cap, sizeof(*v));
	size_t i, j;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++) {
		if (!s->v[i] || s->v[i] == GONE)
			continue;
		for (j = slot_of(s->v[i], cap); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	s->used = s->n;
	return 0;
}

int u64set_add(struct u64set *s, uint64_t x)
{
	size_t i, cap;

	if (u64set_has(s, x))
		return 0;
	/* at most half full, removed slots counted */
	if ((s->used + 1) * 2 > s->cap) {
		cap = s->cap ? s->cap : 64;
		while ((s->n + 1) * 2 > cap)
			cap *= 2;
		if (rehash(s, cap) < 0)
			return -ENOMEM;
	}
	for (i = slot_of(x, s->cap); s->v[i] && s->v[i] != GONE; i = (i + 1) & (s->cap - 1))
		;
	if (!s->v[i])
		s->used++;
	s->v[i] = x;
	s->n++;
	return 0;
}

void u64set_del(struct u64set *s, uint64_t x)
{
	size_t i;

	if (!s->cap)
		return;
	for (i = slot_of(x, s->cap); s->v[i]; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == x) {
			s->v[i] = GONE;
			s->n--;
			return;
		}
	}
}

void u64set_clear(struct u64set *s)
{
	if (s->cap)
		memset(s->v, 0, s->cap * sizeof(*s->v));
	s->n = s->used = 0;
}

void u64set_free(struct u64set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
