/*
 * notify.h - the notifier thread: it makes changes visible to inotify by
 * operating through the mount, because the kernel emits no inotify event for
 * what a FUSE daemon changes by itself.  It writes one byte to a changed file
 * (IN_MODIFY), and makes or removes an entry that appeared or went
 * (IN_CREATE / IN_DELETE; a removal through the mount also drops the
 * kernel's cached entry).  The FUSE handlers recognise its requests
 * (notify_is_caller) and answer them without changing anything.
 *
 * It never holds /dev/fuse: the thread unshares its file table and closes
 * every inherited descriptor before its first operation on the mount.  If
 * the daemon is killed while one of its requests is in a worker's hands, the
 * kernel waits uninterruptibly for that answer; since this thread shares no
 * file table with the device, the other threads' exit still closes it, the
 * connection aborts, the request fails, and the thread dies too.
 *
 * Kernel cache invalidations are not its job: the loop drops cached
 * attributes itself (fs_inval_attr), before it answers a ctl write.
 *
 * notify_* queue calls: any thread.
 */
#ifndef ARW_NOTIFY_H
#define ARW_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Start the thread for the tree mounted at `mount`.  0 or -errno. */
int notify_start(const char *mount);
void notify_stop(void);

/* A file's content changed: IN_MODIFY on `relpath` (below the mount). */
void notify_changed(uint64_t ino, const char *relpath);
/* An entry appeared in / went from folder `parent` (a directory when
 * `dir`): IN_CREATE / IN_DELETE.  `ino` is the entry's inode. */
void notify_created(uint64_t parent, const char *name, uint64_t ino, bool dir);
void notify_removed(uint64_t parent, const char *name, uint64_t ino, bool dir);

/* Sequence numbers, for replies that must wait until the kernel saw what
 * was queued before them (a removed entry is gone only once the notifier
 * removed it through the mount).  notify_queued(): the number of the last
 * item queued; notify_done(): the last one finished.  notify_ack_fd() is
 * readable once notify_done() reaches the target set by notify_want(). */
uint64_t notify_queued(void);
uint64_t notify_done(void);
void notify_want(uint64_t seq);
int notify_ack_fd(void);

/* --- for the FUSE handlers --- */
/* Is this request the notifier's own (by the calling thread's id)? */
bool notify_is_caller(pid_t caller);
enum notify_intent { NI_NONE = 0, NI_CREATE, NI_DELETE };
/* What the notifier is doing right now, for lookups it triggers: a lookup
 * of the entry it creates must miss, one of the entry it removes must hit. */
enum notify_intent notify_current(uint64_t *parent, char *name, size_t len,
				  uint64_t *ino, bool *dir);

#endif
