/*
 * events.c - the event stream (see events.h).
 *
 * ev.mu protects the ring, every reader's cursor/parked request/poll handle
 * and the shutdown flag.  Replies to parked readers and poll notifications
 * are sent after ev.mu is released.  events_emit: loop thread;
 * events_open/read/poll/release: FUSE threads.
 */
#include "events.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "utf8.h"

struct ev_reader {
	uint64_t cursor;             /* next sequence number to read */
	fuse_req_t parked;           /* a read waiting for a line */
	size_t parked_size;
	fuse_req_t current;          /* a read being handled (interrupt race) */
	bool interrupted;
	struct fuse_pollhandle *ph;
	struct ev_reader *next;      /* all open readers */
};

static struct {
	pthread_mutex_t mu;
	char *line[EVENTS_RING];     /* line[seq % EVENTS_RING] */
	uint64_t next_seq;           /* sequence number of the next line */
	struct ev_reader *readers;
	bool shutdown;
} ev = { .mu = PTHREAD_MUTEX_INITIALIZER };

static uint64_t oldest_locked(void)
{
	return ev.next_seq > EVENTS_RING ? ev.next_seq - EVENTS_RING : 0;
}

/* Whole lines from the reader's cursor that fit in `size`; advances it.
 * Returns a malloc'd buffer (len 0 when nothing is new). */
static char *take_lines_locked(struct ev_reader *r, size_t size, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL, drop[128];
	uint64_t oldest = oldest_locked();

	*len = 0;
	if (r->cursor < oldest) {
		int k = snprintf(drop, sizeof(drop),
				 "{\"kind\":\"events.dropped\",\"payload\":{\"count\":%llu}}\n",
				 (unsigned long long)(oldest - r->cursor));
		buf = malloc((size_t)k + 1);
		if (!buf)
			return NULL;
		memcpy(buf, drop, (size_t)k);
		n = cap = (size_t)k;
		r->cursor = oldest;
	}
	while (r->cursor < ev.next_seq) {
		const char *l = ev.line[r->cursor % EVENTS_RING];
		size_t ll = strlen(l);
		char *nb;

		if (n + ll > size && n > 0)
			break;
		if (n + ll > cap) {
			cap = (n + ll) * 2;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		memcpy(buf + n, l, ll);
		n += ll;
		r->cursor++;
		if (n >= size)
			break;
	}
	*len = n;
	return buf;
}

/* One event as a line of valid UTF-8 JSON ending in a newline, or NULL.
 * Takes the payload. */
static char *event_line(const char *kind, cJSON *payload)
{
	cJSON *o = cJSON_CreateObject();
	char ts[32], *txt, *line;
	size_t len;

	if (!o) {
		cJSON_Delete(payload);
		return NULL;
	}
	cJSON_AddStringToObject(o, "time", fmt_time(ts, sizeof(ts), now_ms()));
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddItemToObject(o, "payload", payload ? payload : cJSON_CreateObject());
	txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		return NULL;
	/* every line valid JSON, whatever bytes a runtime sent us */
	line = utf8_clean(txt, strlen(txt), &len);
	free(txt);
	if (!line || !(txt = realloc(line, len + 2))) {
		free(line);
		return NULL;
	}
	txt[len] = '\n';
	txt[len + 1] = '\0';
	return txt;
}

/* A reader to wake once the lock is dropped: its parked read, its poll. */
struct wake {
	fuse_req_t req;
	char *buf;
	size_t len;
	struct fuse_pollhandle *ph;
};

/* Under ev.mu: take every waiting reader's wake-up (as many as fit). */
static struct wake *take_wakes_locked(size_t *n)
{
	struct wake *wk = NULL, *w2;
	struct ev_reader *r;
	size_t cap = 0;

	*n = 0;
	for (r = ev.readers; r; r = r->next) {
		if (!r->parked && !r->ph)
			continue;
		if (*n == cap) {
			if (!(w2 = realloc(wk, (cap ? cap * 2 : 8) * sizeof(*wk))))
				break;
			wk = w2;
			cap = cap ? cap * 2 : 8;
		}
		memset(&wk[*n], 0, sizeof(wk[*n]));
		if (r->parked) {
			wk[*n].req = r->parked;
			wk[*n].buf = take_lines_locked(r, r->parked_size, &wk[*n].len);
			r->parked = NULL;
		}
		wk[*n].ph = r->ph;
		r->ph = NULL;
		(*n)++;
	}
	return wk;
}

void events_emit(const char *kind, cJSON *payload)
{
	char *line = event_line(kind, payload);
	struct wake *wk;
	size_t nwk, i;

	if (!line)
		return;
	log_debug("event %.*s", (int)strlen(line) - 1, line);
	pthread_mutex_lock(&ev.mu);
	free(ev.line[ev.next_seq % EVENTS_RING]);
	ev.line[ev.next_seq % EVENTS_RING] = line;
	ev.next_seq++;
	wk = take_wakes_locked(&nwk);
	pthread_mutex_unlock(&ev.mu);
	for (i = 0; i < nwk; i++) {
		if (wk[i].req)
			fuse_reply_buf(wk[i].req, wk[i].buf, wk[i].len);
		free(wk[i].buf);
		if (wk[i].ph) {
			fuse_lowlevel_notify_poll(wk[i].ph);
			fuse_pollhandle_destroy(wk[i].ph);
		}
	}
	free(wk);
}

struct ev_reader *events_open(void)
{
	struct ev_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_lock(&ev.mu);
	r->cursor = ev.next_seq;   /* each open starts at "now" */
	r->next = ev.readers;
	ev.readers = r;
	pthread_mutex_unlock(&ev.mu);
	return r;
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct ev_reader *r = data;
	bool reply = false;

	pthread_mutex_lock(&ev.mu);
	if (r->parked == req) {
		r->parked = NULL;
		reply = true;
	} else if (r->current == req) {
		r->interrupted = true;
	}
	pthread_mutex_unlock(&ev.mu);
	if (reply)
		fuse_reply_err(req, EINTR);
}

void events_read(struct ev_reader *r, fuse_req_t req, size_t size, int nonblock)
{
	char *buf;
	size_t len;
	int err = 0;

	pthread_mutex_lock(&ev.mu);
	r->current = req;
	pthread_mutex_unlock(&ev.mu);
	fuse_req_interrupt_func(req, on_interrupt, r);

	pthread_mutex_lock(&ev.mu);
	r->current = NULL;
	if (r->interrupted) {
		r->interrupted = false;
		err = EINTR;
	} else if (r->parked) {
		err = EBUSY;   /* one blocked read per open file at a time */
	}
	if (err) {
		pthread_mutex_unlock(&ev.mu);
		fuse_reply_err(req, err);
		return;
	}
	buf = take_lines_locked(r, size, &len);
	if (len || ev.shutdown) {
		pthread_mutex_unlock(&ev.mu);
		fuse_reply_buf(req, buf, len);
		free(buf);
		return;
	}
	free(buf);
	if (nonblock) {
		pthread_mutex_unlock(&ev.mu);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	r->parked = req;
	r->parked_size = size;
	pthread_mutex_unlock(&ev.mu);
}

void events_poll(struct ev_reader *r, fuse_req_t req, struct fuse_pollhandle *ph)
{
	unsigned revents = 0;
	struct fuse_pollhandle *old = NULL;

	pthread_mutex_lock(&ev.mu);
	if (r->cursor < ev.next_seq || ev.shutdown)
		revents = POLLIN | POLLRDNORM;
	if (ph) {
		old = r->ph;
		r->ph = ph;
	}
	pthread_mutex_unlock(&ev.mu);
	if (old)
		fuse_pollhandle_destroy(old);
	fuse_reply_poll(req, revents);
}

void events_release(struct ev_reader *r)
{
	struct ev_reader **pr;
	fuse_req_t parked = NULL;
	struct fuse_pollhandle *ph = NULL;

	if (!r)
		return;
	pthread_mutex_lock(&ev.mu);
	for (pr = &ev.readers; *pr; pr = &(*pr)->next) {
		if (*pr == r) {
			*pr = r->next;
			break;
		}
	}
	parked = r->parked;
	ph = r->ph;
	pthread_mutex_unlock(&ev.mu);
	if (parked)
		fuse_reply_err(parked, EINTR);
	if (ph)
		fuse_pollhandle_destroy(ph);
	free(r);
}

/* Answer every parked reader with end-of-file and wake every poller. */
static void wake_all(bool shutdown)
{
	struct ev_reader *r;
	struct { fuse_req_t req; struct fuse_pollhandle *ph; } *wk = NULL;
	size_t n = 0, cap = 0, i;

	pthread_mutex_lock(&ev.mu);
	if (shutdown)
		ev.shutdown = true;
	for (r = ev.readers; r; r = r->next) {
		if (!r->parked && !r->ph)
			continue;
		if (n == cap) {
			void *nw = realloc(wk, (cap ? cap * 2 : 8) * sizeof(*wk));
			if (!nw)
				break;
			wk = nw;
			cap = cap ? cap * 2 : 8;
		}
		wk[n].req = r->parked;
		wk[n].ph = r->ph;
		r->parked = NULL;
		r->ph = NULL;
		n++;
	}
	pthread_mutex_unlock(&ev.mu);
	for (i = 0; i < n; i++) {
		if (wk[i].req)
			fuse_reply_buf(wk[i].req, NULL, 0);
		if (wk[i].ph) {
			fuse_lowlevel_notify_poll(wk[i].ph);
			fuse_pollhandle_destroy(wk[i].ph);
		}
	}
	free(wk);
}

/* The supervisor is going: every read from now on ends the file. */
void events_shutdown(void)
{
	wake_all(true);
}

/* The session ended (the tree was lost): nothing may stay parked on it. */
void events_drop_parked(void)
{
	wake_all(false);
}

void events_fini(void);
void events_fini(void)
{
	size_t i;

	pthread_mutex_lock(&ev.mu);
	for (i = 0; i < EVENTS_RING; i++) {
		free(ev.line[i]);
		ev.line[i] = NULL;
	}
	pthread_mutex_unlock(&ev.mu);
}
