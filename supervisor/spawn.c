/*
 * spawn.c - fork+exec of runtime processes.  Loop thread only.
 *
 * Everything that allocates happens before fork(); the child only calls
 * async-signal-safe functions (we are multithreaded).  The child:
 * unblocks signals, resets dispositions, setsid(), asks for SIGKILL when the
 * supervisor dies (PR_SET_PDEATHSIG), wires /dev/null and the output pipe,
 * closes every other fd, switches ids, and execs.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static struct rlimit child_nofile;
static bool have_child_nofile;

void spawn_keep_fd_limit(void)
{
	have_child_nofile = getrlimit(RLIMIT_NOFILE, &child_nofile) == 0;
}

static int is_exec_file(const char *p)
{
	struct stat st;

	if (stat(p, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (access(p, X_OK) < 0)
		return -errno;
	return 0;
}

int spawn_resolve(const char *command, const char *base, const char *path,
		  char *out, size_t outlen)
{
	const char *p, *e;
	int r, last = -ENOENT;

	if (!command || !*command)
		return -ENOENT;
	if (command[0] == '/') {
		if ((size_t)snprintf(out, outlen, "%s", command) >= outlen)
			return -ENAMETOOLONG;
		return is_exec_file(out);
	}
	if (strchr(command, '/')) {
		if ((size_t)snprintf(out, outlen, "%s/%s", base, command) >= outlen)
			return -ENAMETOOLONG;
		return is_exec_file(out);
	}
	for (p = path; p && *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		if (e == p)
			continue;
		if ((size_t)snprintf(out, outlen, "%.*s/%s", (int)(e - p), p, command) >= outlen)
			continue;
		r = is_exec_file(out);
		if (r == 0)
			return 0;
		if (r != -ENOENT)
			last = r;
	}
	return last;
}

int spawn_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
	      char *err, size_t errlen)
{
	char *end;
	struct passwd *pw;
	struct group *gr;

	*uid = getuid();
	*gid = getgid();
	if (user) {
		unsigned long n = strtoul(user, &end, 10);

		if (*user && !*end) {
			*uid = (uid_t)n;
			pw = getpwuid(*uid);
			if (pw)
				*gid = pw->pw_gid;
		} else {
			pw = getpwnam(user);
			if (!pw) {
				snprintf(err, errlen, "unknown user \"%s\"", user);
				return -ENOENT;
			}
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		}
	}
	if (group) {
		unsigned long n = strtoul(group, &end, 10);

		if (*group && !*end) {
			*gid = (gid_t)n;
		} else {
			gr = getgrnam(group);
			if (!gr) {
				snprintf(err, errlen, "unknown group \"%s\"", group);
				return -ENOENT;
			}
			*gid = gr->gr_gid;
		}
	}
	return 0;
}

/* Child side: never returns. */
static void child_exec(const struct spawn_req *req, int outw, int errw, pid_t parent)
{
	sigset_t all;
	int sig, nullfd, e;

	sigemptyset(&all);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setsid() < 0)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	if (getppid() != parent)   /* the supervisor died before prctl */
		_exit(127);
	/* Lift both pipe ends above the standard fds first, so that none of
	 * the dup2s below can clobber the other. */
	outw = fcntl(outw, F_DUPFD_CLOEXEC, 10);
	errw = fcntl(errw, F_DUPFD_CLOEXEC, 10);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (outw < 0 || errw < 0 || nullfd < 0)
		goto fail;
	if (dup2(nullfd, 0) < 0 || dup2(outw, 1) < 0 || dup2(outw, 2) < 0)
		goto fail;
	if (dup3(errw, 3, O_CLOEXEC) < 0)
		goto fail;
	errw = 3;
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0) {
		int fd;
		for (fd = 4; fd < 1024; fd++)
			close(fd);
	}
	if (have_child_nofile)
		setrlimit(RLIMIT_NOFILE, &child_nofile);
	if (req->workdir && chdir(req->workdir) < 0)
		goto fail;
	if (req->set_ids) {
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			goto fail;
		if (setgid(req->gid) < 0 || setuid(req->uid) < 0)
			goto fail;
	}
	execve(req->path, req->argv, req->envp);
fail:
	e = errno;
	if (write(errw, &e, sizeof(e)) < 0) {
		/* the parent sees EOF and reports an unknown failure */
	}
	_exit(127);
}

int spawn_process(const struct spawn_req *req, struct spawn_result *res,
		  char *err, size_t errlen)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	pid_t pid, parent = getpid();
	int e, ret;
	ssize_t n;

	res->pid = -1;
	res->pidfd = -1;
	res->outfd = -1;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-ret));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-ret));
		goto fail;
	}
	if (pid == 0) {
		close(outp[0]);
		close(errp[0]);
		child_exec(req, outp[1], errp[1], parent);
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	do {
		n = read(errp[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(errp[0]);
	errp[0] = -1;
	if (n > 0) {
		/* exec failed: reap the child now, it exits at once */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		ret = n == sizeof(e) ? -e : -EIO;
		snprintf(err, errlen, "cannot execute %s: %s", req->path, strerror(-ret));
		goto fail;
	}
	res->pid = pid;
	res->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (res->pidfd >= 0)
		fcntl(res->pidfd, F_SETFD, FD_CLOEXEC);
	fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);
	res->outfd = outp[0];
	return 0;
fail:
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	return ret;
}
