/*
 * cgroup.h - one cgroup v2 per runtime (and one per runtime's exec probes),
 * under one cgroup of the daemon's own.  Loop thread only, except cg_init.
 *
 *   <cgroup2 mount><the daemon's cgroup>/arw-supervisor@<mount, / as %2F>/
 *       runtimes/<id>/   every process of runtime <id>
 *       probes/<id>/     its exec probes
 *
 * Where there is no usable cgroup v2 (none mounted, read-only, no
 * permission) or the fallback is forced, cg_enabled() is false and callers
 * use process groups (see procscan.h).
 */
#ifndef ARW_CGROUP_H
#define ARW_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct cg {
	int dirfd;      /* the cgroup's folder (for CLONE_INTO_CGROUP); -1 none */
	int procsfd;    /* its cgroup.procs: the child joins through it; counts read it */
	int evfd;       /* its cgroup.events, read-only; EPOLLPRI when it changes */
	char path[4096];
};

#define CG_INIT { -1, -1, -1, "" }

/* Decide the mode, create the daemon's cgroup, move leftovers of an earlier
 * run out of the way (killed, their cgroups removed).  `instance` names
 * this daemon (its mount point); `force_off` asks for the fallback.  The
 * mode and why are logged.  Returns the number of processes killed. */
int cg_init(const char *instance, bool force_off);
bool cg_enabled(void);
/* At exit: remove the daemon's cgroup folders (those still in use stay). */
void cg_fini(void);
/* One line for the runtime matrix and the log: which mode, and why. */
const char *cg_mode_text(void);

/* Create (or reuse) <kind>/<id> and open it.  0 or -errno; on error the
 * caller stays in fallback for this runtime and says so. */
int cg_open(struct cg *cg, const char *kind, const char *id);
/* Close its descriptors; `remove` also removes the (empty) folder. */
void cg_close(struct cg *cg, bool remove);
bool cg_is_open(const struct cg *cg);

/* 1 while a process is in it, 0 when empty, -errno. */
int cg_populated(const struct cg *cg);
/* SIGKILL every process in it (cgroup.kill, or one by one where the kernel
 * has no cgroup.kill).  0 or -errno. */
int cg_kill(const struct cg *cg);
/* The pids in it, up to max; the count of them all (or -errno). */
int cg_pids(const struct cg *cg, pid_t *pids, int max);

/* The cgroup2 mount point in a mountinfo stream (its first cgroup2 entry),
 * into out.  0 or -ENOENT. */
int cg_find_mount(FILE *mountinfo, char *out, size_t len);
/* Pure: the v2 path ("0::/path") in a /proc/self/cgroup text.  0 or -ENOENT. */
int cg_find_own(const char *proc_cgroup, char *out, size_t len);

#endif
