/*
 * fs.h - the FUSE filesystem on libfuse's low-level API.  Handlers run on
 * libfuse's worker threads; they read registry snapshots and queue ctl
 * writes to the loop, and never block without a bound.
 */
#ifndef ARW_FS_H
#define ARW_FS_H

#include <stddef.h>

struct fs_open;
struct fuse_session;

/* Create the session and mount it.  0 or -errno. */
int fs_mount(const char *mountpoint, int allow_other, struct fuse_session **out);
/* Run the worker threads in the background. */
int fs_start(struct fuse_session *se);
/* Unmount and wait for the workers. */
void fs_stop(struct fuse_session *se, const char *mountpoint);
/* Set the reply a later read on this open file returns (loop thread). */
void fs_open_set_reply(struct fs_open *of, const char *text);
/* A stale mount ("Transport endpoint is not connected") is lazily
 * unmounted; a live FUSE mount is refused.  0 or -errno. */
int fs_prepare_mountpoint(const char *mountpoint, char *err, size_t errlen);

#endif
