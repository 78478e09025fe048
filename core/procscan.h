/*
 * procscan.h - what /proc says about processes: for the fallback mode (no
 * cgroup: a runtime is its process group, plus every process that carries
 * its environment marker) and for the clean-up after a crash.
 *
 * Every process the daemon starts gets ARW_MOUNT=<mount point> and
 * ARW_RUNTIME_ID=<id> in its environment; descendants inherit them, even
 * those that call setsid() and leave the process group.
 */
#ifndef ARW_PROCSCAN_H
#define ARW_PROCSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_info {
	pid_t ppid, pgrp, sid;
	char state;                 /* R S D Z T ... */
	unsigned long long start;   /* clock ticks after boot */
};

/* /proc/<pid>/stat.  0 or -errno (-ENOENT once it is gone). */
int proc_info(pid_t pid, struct proc_info *pi);
/* Its start time (clock ticks after boot), 0 when it is gone. */
unsigned long long proc_start(pid_t pid);
/* SIGKILL every member of the dead leader's group and session that started
 * after it (a reused pid is younger).  How many. */
int proc_kill_group_members(pid_t leader, unsigned long long start);
/* Pure: parse one stat line.  0 or -EIO. */
int proc_parse_stat(const char *buf, struct proc_info *pi);

/* Pure: does the environment block (NUL-separated, `len` bytes) hold the
 * entry `kv` ("KEY=value") exactly? */
bool env_block_has(const char *blk, size_t len, const char *kv);

/* Send `sig` to every process but this one (and its ancestors) whose
 * environment has ARW_MOUNT=<mount> and ARW_RUNTIME_ID=<one of ids> (any
 * runtime id when `ids` is NULL).
 * Pids signalled go to pids[] (up to max).  The count signalled. */
int proc_signal_marked(const char *mount, const char *const *ids, size_t nids, int sig,
		       pid_t *pids, int max);

/* How many live processes are in process group `pgid`, from a walk at most
 * a second old (one walk serves every runtime). */
int proc_count_group(pid_t pgid, int64_t mono);
/* The pids of group `pgid` now (up to max; pids may be NULL when max is
 * 0); how many there are. */
int proc_group_pids(pid_t pgid, pid_t *pids, int max);
/* The next count walks /proc again (a stop or start changed the groups). */
void proc_scan_forget(void);

#endif
