/*
 * notify.h - the notifier thread.  The loop queues what changed; the
 * notifier (1) invalidates the kernel's caches with fuse_lowlevel_notify_*,
 * with no lock held that a FUSE handler could need (libfuse documents the
 * deadlock otherwise), and (2) makes the change visible to inotify by
 * operating through the mount, because the kernel emits no inotify event for
 * what a FUSE daemon changes by itself: it writes one byte to a changed file
 * (IN_MODIFY), and makes or removes an entry that appeared or went
 * (IN_CREATE / IN_DELETE).  The FUSE handlers recognise the notifier's
 * requests (notify_is_caller) and answer them without changing anything.
 * notify_* queue calls: any thread.
 */
#ifndef ARW_NOTIFY_H
#define ARW_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fuse_session;

/* `mount` enables the through-the-mount events (NULL: invalidations only). */
int notify_start(struct fuse_session *se, const char *mount);
void notify_stop(void);

void notify_inval_inode(uint64_t ino);
/* A file's content changed: invalidate, then IN_MODIFY on `relpath`. */
void notify_changed(uint64_t ino, const char *relpath);
/* An entry appeared in / went from folder `parent` (a directory when
 * `dir`): IN_CREATE / IN_DELETE.  `ino` is the entry's inode. */
void notify_created(uint64_t parent, const char *name, uint64_t ino, bool dir);
void notify_removed(uint64_t parent, const char *name, uint64_t ino, bool dir);

/* --- for the FUSE handlers --- */
/* Is this request the notifier's own (by the calling thread's id)? */
bool notify_is_caller(pid_t caller);
enum notify_intent { NI_NONE = 0, NI_CREATE, NI_DELETE };
/* What the notifier is doing right now, for lookups it triggers: a lookup
 * of the entry it creates must miss, one of the entry it removes must hit. */
enum notify_intent notify_current(uint64_t *parent, char *name, size_t len,
				  uint64_t *ino, bool *dir);

#endif
