/*
 * persist.c - state that survives the supervisor (see persist.h).
 * Loop thread only (and main() before the loop starts).
 */
#include "persist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mount.h"
#include "procscan.h"

static char state_dir[PATH_MAX];

static int lock_fd = -1;

int persist_lock(const char *mount, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	int tries;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is %s, not a lock file; remove it", path,
			 S_ISDIR(st.st_mode) ? "a directory" : S_ISLNK(st.st_mode) ? "a symlink" : "not a regular file");
		return -EEXIST;
	}
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	for (tries = 0; flock(lock_fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		char mnt[PATH_MAX], who[PATH_MAX + 40];
		pid_t pid;

		holder_read(lock_fd, "mount", &pid, mnt, sizeof(mnt));
		snprintf(who, sizeof(who), "state folder %s: its holder", state_dir);
		if (tries < 100 && lock_holder_letting_go(pid, mnt, who, tries == 0))
			continue;
		snprintf(err, errlen, "state folder %s is in use by another arw-supervisor (pid %d%s%s)",
			 state_dir, (int)pid, mnt[0] ? ", mounted at " : "", mnt);
		close(lock_fd);
		lock_fd = -1;
		return -EWOULDBLOCK;
	}
	persist_lock_repid(mount);
	return 0;
}

void persist_lock_repid(const char *mount)
{
	char buf[PATH_MAX + 64];
	int n = snprintf(buf, sizeof(buf), "pid %d\nmount %s\n", (int)getpid(), mount);

	if (lock_fd >= 0 && (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, buf, (size_t)n, 0) != n))
		log_warn("state folder %s: cannot record our pid in the lock file", state_dir);
}

int persist_init(const char *dir)
{
	char sub[PATH_MAX];
	int r;
	const char *subs[] = { "runtimes", "run", "logs" };
	size_t i;

	snprintf(state_dir, sizeof(state_dir), "%s", dir);
	if ((r = mnt_mkdir_p(dir)) < 0)
		return r;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]);
		if ((r = mnt_mkdir_p(sub)) < 0)
			return r;
	}
	return 0;
}

static int write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX + 8];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* A state file is small; anything bigger is not ours. */
#define STATE_FILE_MAX 65536

/* Read a small regular file whole without ever blocking or following a
 * symlink (a FIFO or a link to /dev/zero put there by mistake must not
 * hang start-up).  0, -ENOENT, or why it is not a state file. */
static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r = 0;

	*len = 0;
	if (fd < 0)
		return errno == ELOOP ? -ELOOP : -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((size_t)st.st_size >= cap)
		r = -EFBIG;
	while (!r && *len < cap - 1) {
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	buf[*len] = '\0';
	return r;
}

static const char *read_problem(int r)
{
	switch (r) {
	case -ELOOP: return "it is a symlink";
	case -EINVAL: return "it is not a regular file";
	case -EFBIG: return "it is too large";
	case -EBADMSG: return "it cannot be parsed";
	default: return strerror(-r);
	}
}

/* Move a bad file out of the way, keeping it for a look: "<path>.corrupt". */
static void set_aside(const char *path, int r, char *why, size_t whylen)
{
	char to[PATH_MAX + 16];
	const char *base = strrchr(path, '/');

	snprintf(to, sizeof(to), "%s.corrupt", path);
	if (rename(path, to) < 0) {
		snprintf(why, whylen, "%s: %s; it could not be set aside (%s)", base ? base + 1 : path,
			 read_problem(r), strerror(errno));
	} else {
		snprintf(why, whylen, "%s: %s; set aside as %s.corrupt", base ? base + 1 : path,
			 read_problem(r), base ? base + 1 : path);
	}
	log_warnx("state folder %s: %s", state_dir, why);
}

/* desired=auto|up|down and restart=<ms> lines, each ending in a newline. */
static int parse_state(char *buf, size_t len, enum desired *desired, struct budget *b, int64_t now)
{
	char *line = buf, *nl, *end;

	if (len && buf[len - 1] != '\n')
		return -EBADMSG;   /* truncated */
	if (memchr(buf, '\0', len))
		return -EBADMSG;   /* not text */
	for (; line < buf + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(buf + len - line));
		*nl = '\0';
		if (strcmp(line, "desired=auto") == 0)
			*desired = DESIRED_AUTO;
		else if (strcmp(line, "desired=up") == 0)
			*desired = DESIRED_AUTO;   /* written by no version; read as auto */
		else if (strcmp(line, "desired=down") == 0)
			*desired = DESIRED_DOWN;
		else if (strncmp(line, "restart=", 8) == 0 && line[8]) {
			long long at;

			errno = 0;
			at = strtoll(line + 8, &end, 10);
			if (errno || *end || at <= 0)
				return -EBADMSG;
			budget_record(b, at, now);
		} else if (line[0]) {
			return -EBADMSG;
		}
	}
	return 0;
}

int persist_load(const char *id, enum desired *desired, struct budget *b, int64_t now,
		 char *why, size_t whylen)
{
	char path[PATH_MAX], buf[STATE_FILE_MAX];
	size_t len;
	int r;

	*desired = DESIRED_AUTO;
	why[0] = '\0';
	snprintf(path, sizeof(path), "%s/runtimes/%s.state", state_dir, id);
	r = read_small(path, buf, sizeof(buf), &len);
	if (r == -ENOENT)
		return 0;
	if (!r) {
		struct budget copy = *b;

		r = parse_state(buf, len, desired, &copy, now);
		if (!r) {
			*b = copy;
			return 0;
		}
		*desired = DESIRED_AUTO;
	}
	set_aside(path, r, why, whylen);
	return r;
}

int persist_save(const char *id, enum desired desired, const struct budget *b)
{
	char path[PATH_MAX], buf[64 + BUDGET_MAX_RESTARTS * 32];
	size_t i;
	int n;

	snprintf(path, sizeof(path), "%s/runtimes/%s.state", state_dir, id);
	n = snprintf(buf, sizeof(buf), "desired=%s\n",
		     desired == DESIRED_DOWN ? "down" : "auto");
	for (i = 0; i < b->n && (size_t)n < sizeof(buf) - 32; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "restart=%" PRId64 "\n", b->at[i]);
	return write_atomic(path, buf, (size_t)n);
}

int persist_pid_write(const char *id, pid_t pid)
{
	char path[PATH_MAX], buf[64];
	int n;

	snprintf(path, sizeof(path), "%s/run/%s.pid", state_dir, id);
	n = snprintf(buf, sizeof(buf), "%d %llu\n", (int)pid, proc_start(pid));
	return write_atomic(path, buf, (size_t)n);
}

void persist_pid_clear(const char *id)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/run/%s.pid", state_dir, id);
	unlink(path);
}

int persist_kill_stale(void)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int killed = 0;

	snprintf(path, sizeof(path), "%s/run", state_dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char buf[256];
		size_t len;
		int pid = 0, r;
		unsigned long long st = 0;
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".pid") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/run/%s", state_dir, de->d_name);
		r = read_small(path, buf, sizeof(buf), &len);
		if (r == 0 && sscanf(buf, "%d %llu", &pid, &st) != 2)
			r = -EBADMSG;
		if (r < 0) {
			char why[PATH_MAX + 100];

			if (r != -ENOENT)
				set_aside(path, r, why, sizeof(why));
			continue;
		}
		if (pid > 1 && st && proc_start(pid) == st) {
			log_warnx("killing process group %d left behind by an earlier run (%.*s)",
				  pid, (int)(l - 4), de->d_name);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed++;
		} else if (pid > 1 && st) {
			int n = proc_kill_group_members(pid, st);

			if (n) {
				log_warnx("killed %d process%s of group %d left behind by an earlier run (%.*s)",
					  n, n == 1 ? "" : "es", pid, (int)(l - 4), de->d_name);
				killed++;
			}
		}
		unlink(path);
	}
	closedir(d);
	return killed;
}

int persist_log_path(const char *id, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/logs/%s.log", state_dir, id) >= len)
		return -ENAMETOOLONG;
	return 0;
}
