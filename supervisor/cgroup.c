/*
 * cgroup.c - a cgroup v2 per runtime.  See cgroup.h for the layout.
 *
 * The kernel keeps a runtime's processes together however they fork,
 * setsid() or daemonize, kills them all with one write (cgroup.kill), and
 * says when the last one is gone (cgroup.events, "populated 0", which
 * wakes poll/epoll with EPOLLPRI).  Nothing here waits, except the clean-up
 * of an earlier run's leftovers at start-up, which is bounded.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "log.h"
#include "mount.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* How long start-up waits for an earlier run's processes to die. */
#define LEFTOVER_WAIT_MS 2000

static char base[4096];       /* the daemon's own cgroup; "" in fallback */
static char mode_text[4400];

bool cg_enabled(void)
{
	return base[0] != '\0';
}

const char *cg_mode_text(void)
{
	return mode_text;
}

bool cg_is_open(const struct cg *cg)
{
	return cg->evfd >= 0;
}

/* ---- pure parsing ---- */

struct find_cg2 {
	char *out;
	size_t len;
	bool found;
};

static bool is_cg2(const char *point, const struct mnt_entry *e, void *arg)
{
	struct find_cg2 *w = arg;

	if (strcmp(e->fstype, "cgroup2") != 0)
		return true;
	snprintf(w->out, w->len, "%s", point);
	w->found = true;
	return false;
}

int cg_find_mount(FILE *mi, char *out, size_t len)
{
	struct find_cg2 w = { out, len, false };

	mnt_each(mi, is_cg2, &w);
	return w.found ? 0 : -ENOENT;
}

int cg_find_own(const char *text, char *out, size_t len)
{
	const char *line, *end;

	for (line = text; line && *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(out, len, "%.*s", (int)(end - line - 3), line + 3);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- files ---- */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int populated_fd(int fd)
{
	char buf[256], *p;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	p = strstr(buf, "populated ");
	if (!p)
		return -EIO;
	return p[10] == '1';
}

static int read_pids(const char *dir, pid_t *pids, int max);
static int kill_dir(const char *dir);

/* Kill everything in folder `dir`, wait (bounded) until it is empty, remove
 * it.  The number of processes it held. */
static int kill_and_remove(const char *dir, int64_t deadline)
{
	char path[4400];
	int n = read_pids(dir, NULL, 0), fd;

	if (n < 0)
		n = 0;
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (n)
		kill_dir(dir);
	while (fd >= 0 && populated_fd(fd) == 1) {
		struct pollfd pfd = { fd, POLLPRI, 0 };
		int64_t left = deadline - mono_ms();

		if (left <= 0)
			break;
		poll(&pfd, 1, (int)left);
	}
	if (fd >= 0)
		close(fd);
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_warnx("cannot remove cgroup %s left by an earlier run: %s%s", dir, strerror(errno),
			  errno == EBUSY ? " (a process in it cannot die)" : "");
	return n;
}

static int clean_kind(const char *kind, int64_t deadline)
{
	char dir[4200], sub[4500];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", base, kind);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		{
			int k = kill_and_remove(sub, deadline);

			if (k)
				log_warnx("killed %d process%s of %s %s left behind by an earlier run (cgroup)",
					  k, k == 1 ? "" : "es", kind[0] == 'r' ? "runtime" : "the probes of",
					  de->d_name);
			n += k;
		}
	}
	closedir(d);
	return n;
}

static void instance_name(const char *instance, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "arw-supervisor@");

	for (; *instance && k + 4 < len; instance++) {
		if (*instance == '/' || *instance == '%' || *instance == '\n')
			k += (size_t)snprintf(out + k, len - k, "%%%02X", (unsigned char)*instance);
		else
			out[k++] = *instance;
	}
	out[k] = '\0';
}

static void fallback(const char *why)
{
	base[0] = '\0';
	snprintf(mode_text, sizeof(mode_text),
		 "Process tracking: process groups (no cgroup: %s); a helper that leaves its "
		 "process group is found by its environment", why);
	log_warnx("%s", mode_text);
}

/* Where the cgroup2 file system is and our own cgroup in it: 0, or -1
 * with the reason in why. */
static int find_cgroup2(char *mnt, size_t mlen, char *own, size_t olen, char *why, size_t wlen)
{
	char pc[8192];
	struct statfs sf;
	FILE *f;
	int r;

	if (!(f = fopen("/proc/self/mountinfo", "re"))) {
		snprintf(why, wlen, "/proc/self/mountinfo cannot be read");
		return -1;
	}
	r = cg_find_mount(f, mnt, mlen);
	fclose(f);
	if (r < 0) {
		snprintf(why, wlen, "no cgroup2 file system is mounted");
		return -1;
	}
	if (read_text("/proc/self/cgroup", pc, sizeof(pc)) < 0 || cg_find_own(pc, own, olen) < 0) {
		snprintf(why, wlen, "/proc/self/cgroup names no cgroup v2");
		return -1;
	}
	if (statfs(mnt, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(why, wlen, "%s is not a cgroup2 file system", mnt);
		return -1;
	}
	return 0;
}

/* The folder `base`/`sub` ("" for base itself): 0, or -1 with the reason. */
static int make_dir(const char *sub, char *why, size_t wlen)
{
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s%s%s", base, *sub ? "/" : "", sub);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(why, wlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int cg_init(const char *instance, bool force_off)
{
	char own[4096], mnt[4096], name[256], why[4400], procs[4200];
	int64_t deadline;
	int killed;

	if (force_off) {
		fallback("turned off by --no-cgroup or ARW_NO_CGROUP=1");
		return 0;
	}
	if (find_cgroup2(mnt, sizeof(mnt), own, sizeof(own), why, sizeof(why)) < 0) {
		fallback(why);
		return 0;
	}
	instance_name(instance, name, sizeof(name));
	snprintf(base, sizeof(base), "%s%s/%s", mnt, strcmp(own, "/") == 0 ? "" : own, name);
	if (make_dir("", why, sizeof(why)) < 0) {
		fallback(why);
		return 0;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", base);
	if (access(procs, W_OK) < 0) {
		snprintf(why, sizeof(why), "cannot write %s: %s", procs, strerror(errno));
		rmdir(base);
		fallback(why);
		return 0;
	}
	deadline = mono_ms() + LEFTOVER_WAIT_MS;   /* one wait for both */
	killed = clean_kind("runtimes", deadline) + clean_kind("probes", deadline);
	if (make_dir("runtimes", why, sizeof(why)) < 0 || make_dir("probes", why, sizeof(why)) < 0) {
		fallback(why);
		return killed;
	}
	snprintf(mode_text, sizeof(mode_text), "Process tracking: cgroup v2, one cgroup per runtime under %s",
		 base);
	log_info("%s", mode_text);
	return killed;
}

int cg_open(struct cg *cg, const char *kind, const char *id)
{
	char p[4400];
	int r;

	if (cg_is_open(cg))
		return 0;
	if (!cg_enabled())
		return -EOPNOTSUPP;
	if ((size_t)snprintf(cg->path, sizeof(cg->path), "%s/%s/%s", base, kind, id) >= sizeof(cg->path))
		return -ENAMETOOLONG;
	if (mkdir(cg->path, 0755) < 0 && errno != EEXIST)
		return -errno;
	cg->dirfd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/cgroup.procs", cg->path);
	cg->procsfd = open(p, O_RDWR | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/cgroup.events", cg->path);
	cg->evfd = open(p, O_RDONLY | O_CLOEXEC);
	if (cg->dirfd < 0 || cg->procsfd < 0 || cg->evfd < 0) {
		r = -errno;
		cg_close(cg, true);
		return r;
	}
	return 0;
}

void cg_close(struct cg *cg, bool remove)
{
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	if (cg->procsfd >= 0)
		close(cg->procsfd);
	if (cg->evfd >= 0)
		close(cg->evfd);
	cg->dirfd = cg->procsfd = cg->evfd = -1;
	if (remove && cg->path[0] && rmdir(cg->path) < 0 && errno != ENOENT)
		log_warnx("cannot remove cgroup %s: %s", cg->path, strerror(errno));
	if (remove)
		cg->path[0] = '\0';
}

int cg_populated(const struct cg *cg)
{
	if (cg->evfd < 0)
		return -EBADF;
	return populated_fd(cg->evfd);
}

/* The pids in a cgroup.procs open on fd, up to max; the count of them all.
 * It comes a page per read, and a number may span two reads.  By position:
 * a read at 0 starts the listing over, so a descriptor kept open serves
 * every count. */
static int parse_pids(int fd, pid_t *pids, int max)
{
	char buf[4096];
	long cur = -1;
	int n = 0;
	off_t off = 0;
	ssize_t got, i;

	while ((got = pread(fd, buf, sizeof(buf), off)) > 0) {
		off += got;
		for (i = 0; i < got; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
				continue;
			}
			if (cur >= 0) {
				if (n < max)
					pids[n] = (pid_t)cur;
				n++;
			}
			cur = -1;
		}
	}
	if (got < 0)
		return -errno;
	if (cur >= 0) {
		if (n < max)
			pids[n] = (pid_t)cur;
		n++;
	}
	return n;
}

static int read_pids(const char *dir, pid_t *pids, int max)
{
	char path[4400];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = parse_pids(fd, pids, max);
	close(fd);
	return n;
}

int cg_pids(const struct cg *cg, pid_t *pids, int max)
{
	/* each publication counts: no open, no path walk */
	if (cg->procsfd >= 0)
		return parse_pids(cg->procsfd, pids, max);
	return read_pids(cg->path, pids, max);
}

/* SIGKILL everything in the cgroup folder `dir`.  0 or -errno. */
static int kill_dir(const char *dir)
{
	char path[4400];
	pid_t pids[256];
	int r, n, i, rounds;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	r = write_text(path, "1");
	if (r != -ENOENT)
		return r;
	/* before Linux 5.14: one by one, again while new ones appear */
	for (rounds = 0; rounds < 100; rounds++) {
		n = read_pids(dir, pids, 256);
		if (n <= 0)
			return n;
		for (i = 0; i < n && i < 256; i++)
			kill(pids[i], SIGKILL);
	}
	return 0;
}

int cg_kill(const struct cg *cg)
{
	return cg->path[0] ? kill_dir(cg->path) : -EBADF;
}

/* Remove the empty cgroups below `kind` (a busy one stays, and says so
 * at the next start). */
static void remove_empty(const char *kind)
{
	char dir[4200], sub[4500];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", base, kind);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		rmdir(sub);
	}
	closedir(d);
	rmdir(dir);
}

void cg_fini(void)
{
	if (!cg_enabled())
		return;
	/* each runtime's cgroup went with its processes; what is left is
	 * empty unless a process could not die (then it stays for the next
	 * start) */
	remove_empty("runtimes");
	remove_empty("probes");
	if (rmdir(base) < 0 && errno != ENOENT)
		log_warnx("leaving cgroup %s: %s", base, strerror(errno));
}
