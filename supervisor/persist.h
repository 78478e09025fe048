/*
 * persist.h - what survives a restart of the supervisor, under --state:
 *   runtimes/<id>.state   desired=up|down, restart=<ms> lines (the budget)
 *   run/<id>.pid          "pid starttime" of a running process group, so
 *                         the next start can kill what a crash left behind
 *   logs/<id>.log[.N]     rotated output (log.c of the runtime, not here)
 * Files are replaced atomically (write to .tmp, rename).  Loop thread only.
 */
#ifndef ARW_PERSIST_H
#define ARW_PERSIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "budget.h"

enum desired { DESIRED_AUTO = 0, DESIRED_DOWN };

int persist_init(const char *state_dir);
/* One supervisor per state folder: an flock on <state>/lock held for the
 * process's life; the file says "pid N" and "mount M" of its holder.
 * -EWOULDBLOCK when another live daemon holds it (a dying one stuck in the
 * kernel gets its FUSE connection aborted and is waited for, 2 s at most),
 * -EEXIST when `lock` is not a regular file.  `err` says what. */
int persist_lock(const char *mount, char *err, size_t errlen);
/* After daemon(): the lock file names the new pid. */
void persist_lock_repid(const char *mount);
/* Load a runtime's state: desired and counted restarts (into b).  A file
 * that cannot be read or parsed (a symlink, a FIFO, too large, truncated,
 * garbage) is renamed to <file>.corrupt and the state starts fresh: then
 * `why` says so (else it is ""), and the return is -errno. */
int persist_load(const char *id, enum desired *desired, struct budget *b, int64_t now,
		 char *why, size_t whylen);
int persist_save(const char *id, enum desired desired, const struct budget *b);
int persist_pid_write(const char *id, pid_t pid);
void persist_pid_clear(const char *id);
/* Kill process groups recorded in run/ whose leader is still the process we
 * started (same start time).  Returns how many groups were killed. */
int persist_kill_stale(void);
/* "<state>/logs/<id>.log" into buf. */
int persist_log_path(const char *id, char *buf, size_t len);

#endif
