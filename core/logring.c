/*
 * logring.c - see logring.h.  Appends from the loop thread, copies from FUSE
 * threads, both under r->mu.
 */
#include "logring.h"

#include <stdlib.h>
#include <string.h>

struct logring *logring_new(size_t cap)
{
	struct logring *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->buf = malloc(cap ? cap : 1);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	r->cap = cap ? cap : 1;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void logring_free(struct logring *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->buf);
	free(r);
}

static void ring_put(struct logring *r, const char *data, size_t len)
{
	size_t end, first;

	if (len >= r->cap) {
		memcpy(r->buf, data + len - r->cap, r->cap);
		r->start = 0;
		r->len = r->cap;
		return;
	}
	end = (r->start + r->len) % r->cap;
	first = r->cap - end < len ? r->cap - end : len;
	memcpy(r->buf + end, data, first);
	memcpy(r->buf, data + first, len - first);
	if (r->len + len > r->cap) {
		size_t over = r->len + len - r->cap;
		r->start = (r->start + over) % r->cap;
		r->len = r->cap;
	} else {
		r->len += len;
	}
}

void logring_append(struct logring *r, const char *data, size_t len, int64_t now)
{
	if (!len)
		return;
	pthread_mutex_lock(&r->mu);
	ring_put(r, data, len);
	r->mtime_ms = now;
	pthread_mutex_unlock(&r->mu);
}

static size_t ring_copy_locked(const struct logring *r, char *dst)
{
	size_t first = r->cap - r->start < r->len ? r->cap - r->start : r->len;

	memcpy(dst, r->buf + r->start, first);
	memcpy(dst + first, r->buf, r->len - first);
	return r->len;
}

size_t logring_copy(struct logring *r, char **out, int64_t *mtime_ms)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	*out = malloc(r->len ? r->len : 1);
	if (!*out) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	n = ring_copy_locked(r, *out);
	if (mtime_ms)
		*mtime_ms = r->mtime_ms;
	pthread_mutex_unlock(&r->mu);
	return n;
}

size_t logring_len(struct logring *r, int64_t *mtime_ms)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = r->len;
	if (mtime_ms)
		*mtime_ms = r->mtime_ms;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void logring_resize(struct logring *r, size_t cap)
{
	char *old, *nbuf;
	size_t n;

	if (!cap)
		cap = 1;
	pthread_mutex_lock(&r->mu);
	if (cap == r->cap) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	old = malloc(r->len ? r->len : 1);
	nbuf = malloc(cap);
	if (!old || !nbuf) {
		free(old);
		free(nbuf);
		pthread_mutex_unlock(&r->mu);
		return;
	}
	n = ring_copy_locked(r, old);
	free(r->buf);
	r->buf = nbuf;
	r->cap = cap;
	r->start = 0;
	r->len = 0;
	ring_put(r, old, n);
	free(old);
	pthread_mutex_unlock(&r->mu);
}
