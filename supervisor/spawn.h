/*
 * spawn.h - start one runtime process: no shell, its own session and process
 * group, stdin on /dev/null, stdout+stderr into one pipe, a clean
 * environment.  Loop thread only.
 */
#ifndef ARW_SPAWN_H
#define ARW_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spawn_req {
	const char *path;        /* resolved executable */
	char *const *argv;       /* argv[0] = command as written */
	char *const *envp;
	const char *workdir;     /* NULL: the state folder's cwd is kept */
	bool set_ids;
	uid_t uid;
	gid_t gid;
};

struct spawn_result {
	pid_t pid;
	int pidfd;               /* -1 if pidfd_open is unavailable */
	int outfd;               /* read end, non-blocking, CLOEXEC */
};

/* Returns 0, or -errno with a message in err (exec failures included: the
 * child reports them through a CLOEXEC pipe before it exits). */
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

/* Look up user/group names or numbers.  0 or -errno. */
int spawn_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
	      char *err, size_t errlen);

#endif
