/*
 * mount.h - the mount point: who owns it, what is mounted there, and how to
 * get rid of what a dead daemon left, without ever blocking on it.
 *
 * Nothing here opens or stats the mount point while a FUSE filesystem may
 * be mounted there: a dead connection answers at once, but a wedged one
 * (its daemon stuck in the kernel) would hang the caller.  What is mounted
 * comes from /proc/self/mountinfo; a connection is aborted through fusectl
 * (/sys/fs/fuse/connections/N/abort, mounted when missing).
 *
 * Ownership: each daemon holds an flock on an owner file named after its
 * mount point, in ARW_RUN_DIR (default /run/arw-supervisor as root, else
 * $XDG_RUNTIME_DIR/arw-supervisor or /tmp/arw-supervisor-UID).  A mount point
 * whose owner is alive is never called stale.  main() and the loop thread.
 */
#ifndef ARW_MOUNT_H
#define ARW_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct mnt_entry {
	unsigned maj, min;        /* st_dev of the mount: fusectl's N is min */
	char fstype[64];          /* "fuse.arw" for ours */
	char source[256];
	bool shared;              /* its propagation: a peer group ("shared:N") */
};

/* Pure: one line of /proc/self/mountinfo: its mount point (unescaped) into
 * point, its device, fs type and source into e.  0, or -EINVAL. */
int mnt_parse_line(const char *line, char *point, size_t plen, struct mnt_entry *e);
/* Call fn for each entry of a mountinfo stream, in order, until it returns
 * false. */
void mnt_each(FILE *f, bool (*fn)(const char *point, const struct mnt_entry *e, void *arg),
	      void *arg);
/* The top mount at `mp` (the last listed).  1 found, 0 none, -errno. */
int mnt_top(const char *mp, struct mnt_entry *e);
/* Is a mount with this device still attached at `mp`? */
bool mnt_attached(const char *mp, unsigned maj, unsigned min);
/* Abort FUSE connection `min` through fusectl (mounting it if needed). */
int mnt_abort(unsigned min);
/* Of a lock file that says "pid N" and "<key> <value>" lines: N and the
 * value ("" when missing). */
void holder_read(int fd, const char *key, pid_t *pid, char *val, size_t len);
/* Does process `pid` exist but is dying (a zombie leader, or a SIGKILL
 * pending on one of its threads)? */
bool proc_dying(pid_t pid);
/* A lock whose recorded holder `pid` is no live daemon may still be held
 * for a moment: when the holder is gone, by what it forked (a child between
 * clone and exec); when it is dying but stuck in the kernel (a SIGKILLed
 * daemon whose request on its own mount is never answered), until its
 * connection at `mp` ("" if unknown) is aborted, which this does.  True,
 * after a pause of 20 ms, when the caller should try again.  `who` names
 * the lock in the log line, said when `first`. */
bool lock_holder_letting_go(pid_t pid, const char *mp, const char *who, bool first);

/* Take the mount point: lock its owner file (refusing a live owner; kept
 * when we hold it already), clear a stale mount of ours (abort, lazy
 * unmount), create the folder.  `state` is written into the owner file for
 * the message another daemon prints.  With `share` (--shared-parent), the
 * folder above mp is created when missing and made a shared mount point
 * (bound onto itself when it is not a mount point, then MS_SHARED): a mount
 * made below it propagates into every bind of it made with slave
 * propagation, such as a container's, so a daemon that restarts mounts
 * again there and the container sees the new tree.  That parent mount is
 * left in place at exit (the containers' binds refer to it).
 * 0, -EBUSY (a live owner, or a foreign mount), -EINVAL (`share` with mp
 * directly under /) or another -errno; `err` says what. */
int mnt_claim(const char *mp, const char *state, bool share, char *err, size_t errlen);
/* mkdir -p, mode 0755.  0 or -errno. */
int mnt_mkdir_p(const char *path);
/* After daemon(): the owner file names the new pid. */
int mnt_owner_repid(const char *state);
/* Drop a dead mount of ours still attached at `mp` (after a lost session). */
int mnt_clear_own(const char *mp, unsigned maj, unsigned min);
/* At a clean exit: remove the owner file (the lock goes with the process). */
void mnt_release(void);

#endif
