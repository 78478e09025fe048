/*
 * notify.h - the notifier: makes changes visible to inotify by operating
 * through the mount, because the kernel emits no inotify event for what a
 * FUSE daemon changes by itself.  A changed file is truncated (the kernel
 * sends us a SETATTR that changes nothing and raises IN_MODIFY); an entry
 * that appeared or went is made or removed (IN_CREATE / IN_DELETE; a
 * removal through the mount also drops the kernel's cached entry).  The
 * FUSE handlers recognise these requests (notify_is_caller) and answer them
 * without changing anything.
 *
 * The operations run in a helper *process*, forked by the daemon, that
 * holds no /dev/fuse descriptor and is killed when the daemon dies
 * (PR_SET_PDEATHSIG).  A thread would not do: if the daemon dies while one
 * of its requests is in a worker's hands, the kernel waits for the answer
 * uninterruptibly, and a thread stuck that way keeps its process from
 * finishing to die (a core dump even waits for it), so /dev/fuse is never
 * closed and the mount wedges for everyone.  A separate process lets the
 * daemon die; its exit closes /dev/fuse, the connection aborts, and the
 * helper's request fails.
 *
 * The loop thread drives it: one message at a time over a socketpair,
 * each acknowledged.  A message is one entry operation, or every change
 * waiting in a row (a truncate each).  notify_changed/created/removed
 * queue, notify_flush sends; loop thread only (like everything here but
 * notify_is_caller and notify_current).
 */
#ifndef ARW_NOTIFY_H
#define ARW_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Fork the helper for the tree mounted at `mount`.  0 or -errno. */
int notify_start(const char *mount);
/* Close the socket (the helper exits) and reap it, killing it if it lingers. */
void notify_stop(void);

/* The socket and the helper's pidfd, for the loop's epoll; -1 if none. */
int notify_sock(void);
int notify_pidfd(void);
/* The helper's pid (the loop reaps it on its exit event), 0 none. */
pid_t notify_pid(void);
/* Send what is queued (one operation at a time): the loop calls it at the
 * end of each pass, so that the helper (and the FUSE requests it causes)
 * starts once the pass's work, a respawn say, is done. */
void notify_flush(void);
/* The socket is readable: take acks, send what is next. */
void notify_on_ack(void);
/* The helper exited: reap it, start another one. */
void notify_on_exit(void);

/* A file's content changed: IN_MODIFY on `relpath` (below the mount). */
void notify_changed(uint64_t ino, const char *relpath);
/* An entry appeared in / went from folder `parent` (a directory when
 * `dir`): IN_CREATE / IN_DELETE.  `ino` is the entry's inode. */
void notify_created(uint64_t parent, const char *name, uint64_t ino, bool dir);
void notify_removed(uint64_t parent, const char *name, uint64_t ino, bool dir);

/* Sequence numbers, for replies that must wait until the kernel saw what
 * was queued before them (a removed entry is gone from its cache only once
 * the helper removed it through the mount): the last item queued, and the
 * last one the helper finished (or that was dropped). */
uint64_t notify_queued(void);
uint64_t notify_done(void);

/* --- for the FUSE handlers (any thread) --- */
/* Is this request the helper's (by the caller's pid)? */
bool notify_is_caller(pid_t caller);
enum notify_intent { NI_NONE = 0, NI_CREATE, NI_DELETE };
/* What the helper is doing right now, for lookups it triggers: a lookup of
 * the entry it creates must miss, one of the entry it removes must hit. */
enum notify_intent notify_current(uint64_t *parent, char *name, size_t len,
				  uint64_t *ino, bool *dir);

#endif
