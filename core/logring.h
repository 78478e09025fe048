/*
 * logring.h - a bounded byte ring holding the last output of one runtime.
 * The loop thread appends; FUSE threads copy it out.  Its own mutex, so a
 * runtime flooding its output never holds the registry lock.
 */
#ifndef ARW_LOGRING_H
#define ARW_LOGRING_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct logring {
	pthread_mutex_t mu;   /* protects everything below */
	char *buf;
	size_t cap, start, len;
	int64_t mtime_ms;     /* last append */
};

struct logring *logring_new(size_t cap);
void logring_free(struct logring *r);
void logring_append(struct logring *r, const char *data, size_t len, int64_t now);
/* Copy the content into a fresh malloc'd buffer; returns its length. */
size_t logring_copy(struct logring *r, char **out, int64_t *mtime_ms);
size_t logring_len(struct logring *r, int64_t *mtime_ms);
/* Change capacity keeping the newest bytes. */
void logring_resize(struct logring *r, size_t cap);

#endif
