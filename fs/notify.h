/*
 * notify.h - the notifier thread.  The loop queues kernel cache
 * invalidations here; the notifier calls libfuse's fuse_lowlevel_notify_*
 * with no lock held that a FUSE handler could need (libfuse documents the
 * deadlock otherwise).  Later it will also make inotify-visible changes by
 * operating through the mount.  notify_* queue calls: any thread.
 */
#ifndef ARW_NOTIFY_H
#define ARW_NOTIFY_H

#include <stdint.h>

struct fuse_session;

int notify_start(struct fuse_session *se);
void notify_stop(void);
void notify_inval_inode(uint64_t ino);
void notify_inval_entry(uint64_t parent, const char *name);

#endif
