/*
 * events.h - the `events` stream: a bounded ring of JSON lines with sequence
 * numbers.  The loop appends (events_emit); FUSE threads read.  A read with
 * nothing new is parked (its fuse_req_t kept) and answered by the next
 * emit, by an interrupt, or at shutdown: blocked readers hold no thread.
 */
#ifndef ARW_EVENTS_H
#define ARW_EVENTS_H

#include <fuse_lowlevel.h>
#include <stdint.h>

#define EVENTS_RING 1024

struct ev_reader;

struct ev_reader *events_open(void);
void events_read(struct ev_reader *r, fuse_req_t req, size_t size, int nonblock);
void events_poll(struct ev_reader *r, fuse_req_t req, struct fuse_pollhandle *ph);
void events_release(struct ev_reader *r);

/* --- loop thread --- */
struct cJSON;
/* Append one line to the event stream; takes over `payload` (may be NULL). */
void events_emit(const char *kind, struct cJSON *payload);
/* Answer every parked reader with what is left; no read parks after this. */
void events_shutdown(void);
/* Answer the parked readers of a session that is gone. */
void events_drop_parked(void);

#endif
