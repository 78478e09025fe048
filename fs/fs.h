/*
 * fs.h - the FUSE filesystem on libfuse's low-level API.  Handlers run on
 * libfuse's worker threads; they read registry snapshots and queue ctl
 * writes to the loop, and never block without a bound.  The session
 * functions below are for main() and the loop thread.
 */
#ifndef ARW_FS_H
#define ARW_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/types.h>

struct fs_open;

/* Who the tree belongs to: set once, before the first mount. */
struct fs_config {
	bool allow_other;   /* other users (dashboards, containers) may use it */
	uid_t uid;          /* owner of every file */
	gid_t gid;
	bool has_ctl_group; /* members of ctl_gid may write ctl files */
	gid_t ctl_gid;
};

/* Create the session and mount it (the mount point is claimed already).
 * 0 or -errno. */
int fs_mount(const char *mountpoint, const struct fs_config *cfg);
/* Run the worker threads in the background. */
int fs_start(void);
/* Readable (an eventfd) once the workers are gone: the session ended,
 * because the mount was lost or aborted. */
int fs_end_fd(void);
/* Is our mount still attached at `mountpoint` (mountinfo)? */
bool fs_attached(const char *mountpoint);
/* Abort our own connection (fusectl): every request fails, the workers end. */
int fs_abort(void);
/* After the session ended and every parked request was answered: free it,
 * and detach our dead mount if it is still there. */
void fs_reap(const char *mountpoint);
/* Shutdown: detach the mount, abort the connection, wait for the workers. */
void fs_stop(const char *mountpoint);
/* Drop the kernel's cached attributes of folder `ino` (loop thread), after
 * its new listing or mtime is published and before a ctl write that caused
 * it is answered.  Files need none: their attributes are never cached. */
void fs_inval_attr(uint64_t ino);
/* Set the reply a later read on this open file returns (loop thread). */
void fs_open_set_reply(struct fs_open *of, const char *text);
/* Answer a ctl write: `text` for a later read of this open file (of may
 * be NULL), then the error, or `size` bytes written. */
void fs_reply(fuse_req_t req, struct fs_open *of, int err, size_t size, const char *text);

#endif
