/*
 * spawn.h - the one launch path for runtimes and exec probes: argv, a
 * clean environment, working directory, user and groups, the descriptor
 * limit, and the cgroup, built the same way for both, then one child that
 * does only what must happen between its birth and exec.  Loop thread only.
 *
 * The child shares the daemon's memory until it execs (vfork semantics:
 * no copy of the page tables) and is born in its cgroup where the kernel
 * can do it (clone3 with CLONE_INTO_CGROUP), else it joins the cgroup as
 * its first act.  It gets its own session and process group, stdin on
 * /dev/null, stdout+stderr into one pipe, SIGKILL when the daemon dies.
 */
#ifndef ARW_SPAWN_H
#define ARW_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rt_spec;

struct spawn_req {
	char path[4096];         /* resolved executable */
	char workdir[4096];
	char **argv;             /* argv[0] = command as written; owned */
	char **envp;             /* owned */
	bool set_ids;
	uid_t uid;
	gid_t gid;
	gid_t *groups;           /* supplementary groups; owned */
	int ngroups;
	int cg_dirfd;            /* the cgroup to be born in; -1 none */
	int cg_procsfd;          /* its cgroup.procs, where clone3 cannot place it */
};

struct spawn_result {
	pid_t pid;
	int pidfd;               /* -1 if pidfd_open is unavailable */
	int outfd;               /* read end, non-blocking, CLOEXEC */
};

/* Everything a launch of `s` needs: `cmd` (ncmd words) is the command and
 * its arguments (the runtime's, or its exec probe's).  `base` resolves
 * relative commands and workdirs (the manifests folder); `node` and
 * `mount` go into the environment.  0, or -errno with the reason in err
 * (an unknown user or group, a user the daemon cannot become, a command
 * that is not found).  spawn_req_free() in every case. */
int spawn_prepare(struct spawn_req *req, const struct rt_spec *s, char *const *cmd, size_t ncmd,
		  const char *base, const char *node, const char *mount, char *err, size_t errlen);
void spawn_req_free(struct spawn_req *req);

/* Returns 0, or -errno with a message in err (exec failures included). */
int spawn_process(const struct spawn_req *req, struct spawn_result *res,
		  char *err, size_t errlen);

/* Find the executable for `command`: absolute as is; containing '/' relative
 * to `base`; otherwise searched in `path` (a PATH value).  0 or -errno. */
int spawn_resolve(const char *command, const char *base, const char *path,
		  char *out, size_t outlen);

/* The descriptor limit children get: the daemon raises its own soft limit,
 * its children start with the one it was given (select() users expect
 * 1,024).  Call before raising. */
void spawn_keep_fd_limit(void);
/* What is spawned gets this nice value back (the loop thread, which
 * spawns, runs at a higher priority than the daemon's own). */
void spawn_keep_nice(int nice);

/* Look up user/group names or numbers: the uid, gid and supplementary
 * groups (*groups malloc'd).  A numeric uid with no passwd entry needs a
 * group.  0 or -errno with the reason in err. */
int spawn_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
	      gid_t **groups, int *ngroups, char *err, size_t errlen);

/* Test hook: ARW_TEST_SPAWN=clone makes every launch take the path of a
 * kernel without clone3 (the child writes itself into cgroup.procs). */

#endif
