/*
 * spawn.c - the one launch path (see spawn.h).  Loop thread only.
 *
 * Everything that allocates or looks something up happens in the parent,
 * before the child exists.  The child shares the daemon's memory until it
 * execs (CLONE_VM | CLONE_VFORK: the loop thread waits meanwhile, the FUSE
 * threads go on), so it only makes raw system calls on its own stack and
 * writes nothing but its error number: glibc's setuid() and friends would
 * try to change the ids of every thread of the daemon, so the ids are
 * changed with the bare system calls.  About fifteen calls from birth to
 * exec.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manifest.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CHILD_STACK (64 * 1024)

static struct rlimit child_nofile;
static bool have_child_nofile;
static int child_nice;
static bool have_child_nice;

void spawn_keep_fd_limit(void)
{
	have_child_nofile = getrlimit(RLIMIT_NOFILE, &child_nofile) == 0;
}

void spawn_keep_nice(int nice)
{
	child_nice = nice;
	have_child_nice = true;
}

/* ---- preparing: argv, environment, ids, workdir ---- */

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

static bool numeric(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*end && !errno && *out < (unsigned long)UINT32_MAX;
}

/* The manifest's user (a name or a number) and group: the ids, and the
 * user's name when it has a passwd entry. */
static int resolve_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
		       char *name, size_t nlen, char *err, size_t errlen)
{
	struct passwd *pw = NULL;
	struct group *gr;
	unsigned long n;

	if (user) {
		if (numeric(user, &n)) {
			*uid = (uid_t)n;
			pw = getpwuid(*uid);
			if (!pw && !group) {
				snprintf(err, errlen, "user %s has no passwd entry; name its group too "
					 "(\"group\" in the manifest)", user);
				return -ENOENT;
			}
		} else if (!(pw = getpwnam(user))) {
			snprintf(err, errlen, "unknown user \"%s\"", user);
			return -ENOENT;
		}
		if (pw) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			snprintf(name, nlen, "%s", pw->pw_name);
		}
	}
	if (group) {
		if (numeric(group, &n)) {
			*gid = (gid_t)n;
		} else if ((gr = getgrnam(group))) {
			*gid = gr->gr_gid;
		} else {
			snprintf(err, errlen, "unknown group \"%s\"", group);
			return -ENOENT;
		}
	}
	return 0;
}

/* The supplementary groups: the user's, else none but the primary one. */
static int supplementary(const char *name, gid_t gid, gid_t **groups, int *ngroups)
{
	int cnt = 0;
	gid_t *g;

	if (name[0]) {
		cnt = 32;
		for (;;) {
			int want = cnt;

			if (!(g = realloc(*groups, (size_t)cnt * sizeof(gid_t))))
				return -ENOMEM;
			*groups = g;
			if (getgrouplist(name, gid, g, &cnt) >= 0)
				break;
			if (cnt <= want || cnt > 65536) {
				cnt = 0;
				break;
			}
		}
	}
	if (cnt < 1) {
		if (!(g = realloc(*groups, sizeof(gid_t))))
			return -ENOMEM;
		*groups = g;
		g[0] = gid;
		cnt = 1;
	}
	*ngroups = cnt;
	return 0;
}

int spawn_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
	      gid_t **groups, int *ngroups, char *err, size_t errlen)
{
	char name[256] = "";
	int r;

	*uid = geteuid();
	*gid = getegid();
	*groups = NULL;
	*ngroups = 0;
	if ((r = resolve_ids(user, group, uid, gid, name, sizeof(name), err, errlen)) < 0)
		return r;
	if ((r = supplementary(name, *gid, groups, ngroups)) < 0)
		snprintf(err, errlen, "out of memory");
	return r;
}

/* May the daemon switch to uid/gid?  Root can; anyone else only with
 * CAP_SETUID and CAP_SETGID, or when they are its own ids. */
static bool can_become(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (uid == geteuid() && gid == getegid())
		return true;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	return (data[0].effective & (1u << CAP_SETUID)) && (data[0].effective & (1u << CAP_SETGID));
}

static const char *env_path(const struct rt_spec *s)
{
	size_t i;

	for (i = 0; i < s->nenv; i++)
		if (strcmp(s->env[i].key, "PATH") == 0)
			return s->env[i].val;
	return DEFAULT_PATH;
}

static bool reserved(const char *key)
{
	return strcmp(key, "ARW_RUNTIME_ID") == 0 || strcmp(key, "ARW_NODE_ID") == 0 ||
	       strcmp(key, "ARW_MOUNT") == 0;
}

/* PATH (unless env sets it), env, then ARW_RUNTIME_ID, ARW_NODE_ID and
 * ARW_MOUNT, which env cannot override: the last two mark every process
 * of this daemon, so the fallback mode finds the ones that leave their
 * process group. */
static char **build_env(const struct rt_spec *s, const char *node, const char *mount)
{
	size_t i, n = 0;
	char **env = calloc(s->nenv + 5, sizeof(char *));
	bool has_path = false;

	if (!env)
		return NULL;
	for (i = 0; i < s->nenv; i++)
		if (strcmp(s->env[i].key, "PATH") == 0)
			has_path = true;
	if (!has_path && asprintf(&env[n++], "PATH=%s", DEFAULT_PATH) < 0)
		goto oom;
	for (i = 0; i < s->nenv; i++) {
		if (reserved(s->env[i].key))
			continue;
		if (asprintf(&env[n++], "%s=%s", s->env[i].key, s->env[i].val) < 0)
			goto oom;
	}
	if (asprintf(&env[n++], "ARW_RUNTIME_ID=%s", s->id) < 0 ||
	    asprintf(&env[n++], "ARW_NODE_ID=%s", node) < 0 ||
	    asprintf(&env[n++], "ARW_MOUNT=%s", mount) < 0)
		goto oom;
	return env;
oom:
	env[n - 1] = NULL;   /* asprintf left it undefined */
	for (i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	return NULL;
}

void spawn_req_free(struct spawn_req *req)
{
	size_t i;

	for (i = 0; req->envp && req->envp[i]; i++)
		free(req->envp[i]);
	free(req->envp);
	free(req->argv);
	free(req->groups);
	req->envp = req->argv = NULL;
	req->groups = NULL;
}

int spawn_prepare(struct spawn_req *req, const struct rt_spec *s, char *const *cmd, size_t ncmd,
		  const char *base, const char *node, const char *mount, char *err, size_t errlen)
{
	size_t i;
	int r;

	memset(req, 0, sizeof(*req));
	req->cg_dirfd = req->cg_procsfd = -1;
	if (!ncmd) {
		snprintf(err, errlen, "no command");
		return -EINVAL;
	}
	if (s->user || s->group) {
		r = spawn_ids(s->user, s->group, &req->uid, &req->gid, &req->groups, &req->ngroups,
			      err, errlen);
		if (r < 0)
			return r;
		if (!can_become(req->uid, req->gid)) {
			snprintf(err, errlen, "cannot run as uid %u gid %u: the supervisor runs as uid %u "
				 "without CAP_SETUID/CAP_SETGID", (unsigned)req->uid, (unsigned)req->gid,
				 (unsigned)geteuid());
			spawn_req_free(req);
			return -EPERM;
		}
		req->set_ids = true;
	}
	r = spawn_resolve(cmd[0], base, env_path(s), req->path, sizeof(req->path));
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", cmd[0], r == -ENOENT ? "command not found" : strerror(-r));
		spawn_req_free(req);
		return r;
	}
	if (s->workdir && s->workdir[0] == '/')
		r = snprintf(req->workdir, sizeof(req->workdir), "%s", s->workdir);
	else if (s->workdir)
		r = snprintf(req->workdir, sizeof(req->workdir), "%s/%s", base, s->workdir);
	else
		r = snprintf(req->workdir, sizeof(req->workdir), "%s", base);
	if ((size_t)r >= sizeof(req->workdir)) {
		snprintf(err, errlen, "workdir: %s", strerror(ENAMETOOLONG));
		spawn_req_free(req);
		return -ENAMETOOLONG;
	}
	req->argv = calloc(ncmd + 1, sizeof(char *));
	req->envp = build_env(s, node, mount);
	if (!req->argv || !req->envp) {
		snprintf(err, errlen, "out of memory");
		spawn_req_free(req);
		return -ENOMEM;
	}
	for (i = 0; i < ncmd; i++)
		req->argv[i] = cmd[i];
	return 0;
}

/* ---- the child ---- */

/* What the child sees: all of it prepared by the parent. */
struct child_args {
	const struct spawn_req *req;
	int outw, nullfd;
	pid_t parent;
	bool join_cgroup;        /* write itself into cgroup.procs */
	sigset_t ignored;        /* dispositions to reset: SIG_IGN survives exec */
	volatile int err;        /* set by the child when it fails */
};

#if defined(__x86_64__)
/* Run fn(arg) in a child made by clone3 or clone, on the stack given, then
 * exit: glibc has no clone3 wrapper that runs a function, and its clone()
 * is seen (and taken for a fork) by ThreadSanitizer.
 *   long arw_clone3_run(struct clone_args *, size_t, int (*fn)(void *), void *arg)
 *   long arw_clone_run(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg) */
__asm__(".pushsection .text\n"
	".type arw_clone3_run,@function\n"
	"arw_clone3_run:\n"
	"	mov %rdx, %r8\n"
	"	mov %rcx, %r9\n"
	"	mov $435, %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	mov %r9, %rdi\n"
	"	call *%r8\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n"
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size arw_clone3_run, .-arw_clone3_run\n"
	".type arw_clone_run,@function\n"
	"arw_clone_run:\n"
	"	sub $16, %rsi\n"
	"	mov %rdx, 0(%rsi)\n"
	"	mov %rcx, 8(%rsi)\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	xor %r8d, %r8d\n"
	"	mov $56, %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 2f\n"
	"	xor %ebp, %ebp\n"
	"	pop %rax\n"
	"	pop %rdi\n"
	"	call *%rax\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n"
	"	syscall\n"
	"	hlt\n"
	"2:	ret\n"
	".size arw_clone_run, .-arw_clone_run\n"
	".popsection\n");
long arw_clone3_run(void *args, size_t size, int (*fn)(void *), void *arg);
long arw_clone_run(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg);
#define HAVE_CLONE3_RUN 1
#endif

struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
		 set_tid, set_tid_size, cgroup;
};

/* The kernel's struct sigaction, for SIG_DFL through the bare call. */
static const struct {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
} dfl_action = { SIG_DFL, 0, NULL, 0 };

__attribute__((no_sanitize("address", "undefined", "thread")))
static int child_fail(struct child_args *a, int e)
{
	a->err = e ? e : EIO;
	return 127;
}

/* Runs in the child until exec.  Raw system calls only (see the top). */
__attribute__((no_sanitize("address", "undefined", "thread")))
static int child_main(void *arg)
{
	struct child_args *a = arg;
	const struct spawn_req *req = a->req;
	sigset_t none;
	int sig, outw;

	if (a->join_cgroup && req->cg_procsfd >= 0 && write(req->cg_procsfd, "0", 1) < 0)
		return child_fail(a, errno);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&a->ignored, sig) == 1)
			syscall(SYS_rt_sigaction, sig, &dfl_action, NULL, 8);
	if (setsid() < 0)
		return child_fail(a, errno);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return child_fail(a, errno);
	if (getppid() != a->parent)   /* the supervisor died before prctl */
		return 127;
	/* the pipe above the standard fds first, so no dup2 below clobbers it */
	outw = fcntl(a->outw, F_DUPFD_CLOEXEC, 3);
	if (outw < 0 || dup2(a->nullfd, 0) < 0 || dup2(outw, 1) < 0 || dup2(outw, 2) < 0)
		return child_fail(a, errno);
	if (a->nullfd == 0)   /* dup2 onto itself keeps close-on-exec */
		fcntl(0, F_SETFD, 0);
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
		int fd;

		for (fd = 3; fd < 1024; fd++)
			close(fd);
	}
	if (have_child_nofile)
		setrlimit(RLIMIT_NOFILE, &child_nofile);
	if (have_child_nice)   /* lowering one's priority always works */
		syscall(SYS_setpriority, PRIO_PROCESS, 0, child_nice);
	if (req->workdir[0] && chdir(req->workdir) < 0)
		return child_fail(a, errno);
	if (req->set_ids) {
		/* supplementary groups, then the group, then the user */
		if (syscall(SYS_setgroups, (size_t)req->ngroups, req->groups) < 0 ||
		    syscall(SYS_setresgid, req->gid, req->gid, req->gid) < 0 ||
		    syscall(SYS_setresuid, req->uid, req->uid, req->uid) < 0)
			return child_fail(a, errno);
	}
	sigemptyset(&none);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
	execve(req->path, req->argv, req->envp);
	return child_fail(a, errno);
}

/* ---- starting it ---- */

static char child_stack[CHILD_STACK] __attribute__((aligned(64)));
static int devnull = -1;
static sigset_t ignored_sigs;
static bool ignored_known;
static int clone3_state;   /* 0 untried, 1 works, -1 not here (or ARW_TEST_SPAWN=clone) */

static void note_ignored(void)
{
	struct sigaction sa;
	int sig;

	sigemptyset(&ignored_sigs);
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(&ignored_sigs, sig);
	ignored_known = true;
}

static pid_t start_child(struct child_args *a, bool *placed)
{
	const struct spawn_req *req = a->req;
	pid_t pid = -1;

	*placed = false;
#ifdef HAVE_CLONE3_RUN
	if (clone3_state == 0) {
		const char *t = getenv("ARW_TEST_SPAWN");

		clone3_state = t && strcmp(t, "clone") == 0 ? -1 : 1;
	}
	if (clone3_state > 0) {
		struct clone3_args ca;
		long r;

		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_VM | CLONE_VFORK | (req->cg_dirfd >= 0 ? CLONE_INTO_CGROUP : 0);
		ca.exit_signal = SIGCHLD;
		ca.stack = (uint64_t)(uintptr_t)child_stack;
		ca.stack_size = sizeof(child_stack);
		ca.cgroup = req->cg_dirfd >= 0 ? (uint64_t)req->cg_dirfd : 0;
		a->join_cgroup = false;
		r = arw_clone3_run(&ca, sizeof(ca), child_main, a);
		if (r > 0) {
			*placed = req->cg_dirfd >= 0;
			return (pid_t)r;
		}
		if (r != -ENOSYS && r != -E2BIG && r != -EINVAL) {
			errno = (int)-r;
			return -1;
		}
		clone3_state = -1;   /* an older kernel: clone, and the child joins */
	}
#endif
	a->join_cgroup = true;
#ifdef HAVE_CLONE3_RUN
	{
		long r = arw_clone_run(CLONE_VM | CLONE_VFORK | SIGCHLD, child_stack + sizeof(child_stack),
				       child_main, a);

		if (r < 0)
			errno = (int)-r;
		pid = r < 0 ? -1 : (pid_t)r;
	}
#else
	pid = clone(child_main, child_stack + sizeof(child_stack), CLONE_VM | CLONE_VFORK | SIGCHLD, a);
#endif
	if (pid > 0)
		*placed = req->cg_procsfd >= 0;
	return pid;
}

int spawn_process(const struct spawn_req *req, struct spawn_result *res,
		  char *err, size_t errlen)
{
	int outp[2] = { -1, -1 };
	struct child_args a;
	sigset_t all, old;
	pid_t pid;
	bool placed;
	int ret;

	res->pid = -1;
	res->pidfd = -1;
	res->outfd = -1;
	if (!ignored_known)
		note_ignored();
	if (devnull < 0 && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "/dev/null: %s", strerror(-ret));
		return ret;
	}
	if (pipe2(outp, O_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-ret));
		return ret;
	}
	memset(&a, 0, sizeof(a));
	a.req = req;
	a.outw = outp[1];
	a.nullfd = devnull;
	a.parent = getpid();
	a.ignored = ignored_sigs;
	/* No handler of the daemon may run in the child before exec. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = start_child(&a, &placed);
	ret = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(outp[1]);
	if (pid < 0) {
		close(outp[0]);
		snprintf(err, errlen, "clone: %s", strerror(-ret));
		return ret;
	}
	if (a.err) {
		/* it failed before exec and exited: reap it now */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(outp[0]);
		ret = -a.err;
		snprintf(err, errlen, "cannot execute %s: %s", req->path, strerror(a.err));
		return ret;
	}
	(void)placed;
	res->pid = pid;
	res->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (res->pidfd >= 0)
		fcntl(res->pidfd, F_SETFD, FD_CLOEXEC);
	fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);
	res->outfd = outp[0];
	/* The new process first: the loop runs at a higher priority (see
	 * spawn_keep_nice), and what it does next (publishing the new pid)
	 * would otherwise hold up the start of what it just spawned. */
	if (have_child_nice)
		sched_yield();
	return 0;
}
