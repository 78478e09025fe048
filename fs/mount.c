/*
 * mount.c - see mount.h.  main() and the loop thread only.
 */
#include "mount.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "procscan.h"

#define FUSECTL "/sys/fs/fuse/connections"
#define STALE_TRIES 8

static int owner_fd = -1;
static char owner_path[PATH_MAX];

/* mountinfo escapes blanks and backslashes in paths as \ooo. */
static void unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && isdigit((unsigned char)r[1]) && isdigit((unsigned char)r[2]) &&
		    isdigit((unsigned char)r[3])) {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

int mnt_parse_line(const char *line, char *point, size_t plen, struct mnt_entry *e)
{
	char pt[PATH_MAX], devs[32], type[64], src[256];
	const char *sep;

	/* id parent maj:min root mountpoint opts... - fstype source superopts */
	if (sscanf(line, "%*s %*s %31s %*s %4095s", devs, pt) != 2)
		return -EINVAL;
	sep = strstr(line, " - ");
	src[0] = '\0';
	if (!sep || sscanf(sep + 3, "%63s %255s", type, src) < 1)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	if (sscanf(devs, "%u:%u", &e->maj, &e->min) != 2)
		return -EINVAL;
	unescape(pt);
	{
		/* the optional fields, between the options and " - " */
		const char *sh = strstr(line, " shared:");

		e->shared = sh && sh < sep;
	}
	snprintf(point, plen, "%s", pt);
	snprintf(e->fstype, sizeof(e->fstype), "%s", type);
	snprintf(e->source, sizeof(e->source), "%s", src);
	return 0;
}

void mnt_each(FILE *f, bool (*fn)(const char *point, const struct mnt_entry *e, void *arg),
	      void *arg)
{
	char line[8192], point[PATH_MAX];
	struct mnt_entry e;

	while (fgets(line, sizeof(line), f))
		if (mnt_parse_line(line, point, sizeof(point), &e) == 0 && !fn(point, &e, arg))
			return;
}

struct at_walk {
	const char *mp;
	void (*fn)(const struct mnt_entry *, void *);
	void *arg;
	int n;
};

static bool at_one(const char *point, const struct mnt_entry *e, void *arg)
{
	struct at_walk *w = arg;

	if (strcmp(point, w->mp) == 0) {
		w->fn(e, w->arg);
		w->n++;
	}
	return true;
}

/* Call fn for each mount at `mp`, in mountinfo order (the last is on top). */
static int each_at(const char *mp, void (*fn)(const struct mnt_entry *, void *), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct at_walk w = { mp, fn, arg, 0 };

	if (!f)
		return -errno;
	mnt_each(f, at_one, &w);
	fclose(f);
	return w.n;
}

static void keep_last(const struct mnt_entry *e, void *arg)
{
	*(struct mnt_entry *)arg = *e;
}

int mnt_top(const char *mp, struct mnt_entry *e)
{
	int n = each_at(mp, keep_last, e);

	return n < 0 ? n : n > 0;
}

struct find_dev { unsigned maj, min; bool found; };

static void match_dev(const struct mnt_entry *e, void *arg)
{
	struct find_dev *f = arg;

	if (e->maj == f->maj && e->min == f->min)
		f->found = true;
}

bool mnt_attached(const char *mp, unsigned maj, unsigned min)
{
	struct find_dev f = { maj, min, false };

	return each_at(mp, match_dev, &f) > 0 && f.found;
}

static bool fusectl_mounted(void)
{
	struct mnt_entry e;

	return mnt_top(FUSECTL, &e) > 0 && strcmp(e.fstype, "fusectl") == 0;
}

int mnt_abort(unsigned min)
{
	char path[128];
	int fd;

	if (!fusectl_mounted() && mount("fusectl", FUSECTL, "fusectl", 0, NULL) < 0 && errno != EBUSY)
		return -errno;
	snprintf(path, sizeof(path), FUSECTL "/%u/abort", min);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;   /* ENOENT: the connection is gone */
	if (write(fd, "1", 1) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

/* A pending SIGKILL in a /proc status file's SigPnd/ShdPnd mask. */
static bool kill_pending(const char *status_path)
{
	FILE *f = fopen(status_path, "re");
	char line[256];
	bool dying = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long mask;

		if ((strncmp(line, "SigPnd:", 7) == 0 || strncmp(line, "ShdPnd:", 7) == 0) &&
		    sscanf(line + 7, "%llx", &mask) == 1 && (mask & (1ULL << (SIGKILL - 1))))
			dying = true;
	}
	fclose(f);
	return dying;
}

bool lock_holder_letting_go(pid_t pid, const char *mp, const char *who, bool first)
{
	const struct timespec pause = { 0, 20 * 1000000 };
	struct mnt_entry e;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno == ESRCH) {
		if (first)
			log_warnx("%s, pid %d, is gone; waiting for what it forked to let go",
				  who, (int)pid);
	} else if (proc_dying(pid)) {
		if (first)
			log_warnx("%s, pid %d, is dying but stuck; aborting its FUSE connection",
				  who, (int)pid);
		if (mp[0] && mnt_top(mp, &e) > 0 && strncmp(e.fstype, "fuse", 4) == 0)
			mnt_abort(e.min);
	} else {
		return false;
	}
	nanosleep(&pause, NULL);
	return true;
}

bool proc_dying(pid_t pid)
{
	char path[PATH_MAX];
	struct proc_info pi;
	DIR *d;
	struct dirent *de;
	bool dying = false;

	if (proc_info(pid, &pi) < 0)
		return false;
	if (pi.state == 'Z' || pi.state == 'X')
		return true;   /* the leader is gone, a stuck thread keeps the rest */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!dying && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, de->d_name);
		dying = kill_pending(path);
	}
	closedir(d);
	return dying;
}

/* ---- the owner file ---- */

static int run_dir(char *out, size_t len)
{
	const char *d = getenv("ARW_RUN_DIR"), *x = getenv("XDG_RUNTIME_DIR");

	if (d && *d)
		snprintf(out, len, "%s", d);
	else if (geteuid() == 0)
		snprintf(out, len, "/run/arw-supervisor");
	else if (x && *x)
		snprintf(out, len, "%s/arw-supervisor", x);
	else
		snprintf(out, len, "/tmp/arw-supervisor-%u", (unsigned)geteuid());
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* "<run dir>/<mount point with / as %2F>.owner" */
static int owner_file(const char *mp, char *out, size_t len)
{
	char dir[PATH_MAX];
	size_t k;
	int r = run_dir(dir, sizeof(dir));

	if (r < 0)
		return r;
	k = (size_t)snprintf(out, len, "%s/", dir);
	for (; *mp && k + 4 < len; mp++) {
		if (*mp == '/' || *mp == '%')
			k += (size_t)snprintf(out + k, len - k, "%%%02X", (unsigned char)*mp);
		else
			out[k++] = *mp;
	}
	if (k + 7 >= len)
		return -ENAMETOOLONG;
	snprintf(out + k, len - k, ".owner");
	return 0;
}

void holder_read(int fd, const char *key, pid_t *pid, char *val, size_t len)
{
	char buf[PATH_MAX + 64], pat[32], *s;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int p = 0;

	*pid = 0;
	val[0] = '\0';
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "pid %d", &p) == 1)
		*pid = p;
	snprintf(pat, sizeof(pat), "\n%s ", key);
	if ((s = strstr(buf, pat))) {
		s += strlen(pat);
		snprintf(val, len, "%.*s", (int)strcspn(s, "\n"), s);
	}
}

/* Lock the owner file; -EBUSY with the message when a live daemon has it.
 * An owner that is gone or dying gets up to 2 s to let go (see
 * lock_holder_letting_go). */
static int owner_lock(const char *mp, char *err, size_t errlen)
{
	int tries, r;

	if ((r = owner_file(mp, owner_path, sizeof(owner_path))) < 0) {
		snprintf(err, errlen, "cannot make the owner file for %s: %s", mp, strerror(-r));
		return r;
	}
	for (tries = 0; tries < 100; tries++) {
		struct stat a, b;
		pid_t pid;
		char state[PATH_MAX], who[PATH_MAX + 20];

		owner_fd = open(owner_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (owner_fd < 0) {
			snprintf(err, errlen, "%s: %s", owner_path, strerror(errno));
			return -errno;
		}
		if (flock(owner_fd, LOCK_EX | LOCK_NB) == 0) {
			/* still the file at that name (a clean exit unlinks it)? */
			if (fstat(owner_fd, &a) == 0 && stat(owner_path, &b) == 0 &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
				break;
			close(owner_fd);
			owner_fd = -1;
			continue;
		}
		holder_read(owner_fd, "state", &pid, state, sizeof(state));
		close(owner_fd);
		owner_fd = -1;
		snprintf(who, sizeof(who), "%s: its owner", mp);
		if (lock_holder_letting_go(pid, mp, who, tries == 0))
			continue;
		snprintf(err, errlen, "%s is served by another arw-supervisor (pid %d, state folder %s); "
			 "stop it first", mp, (int)pid, state);
		return -EBUSY;
	}
	if (owner_fd < 0) {
		snprintf(err, errlen, "%s: its owner did not let go within 2 s", mp);
		return -EBUSY;
	}
	return 0;
}

static int owner_write(const char *state)
{
	char buf[PATH_MAX + 64];
	int n = snprintf(buf, sizeof(buf), "pid %d\nstate %s\n", (int)getpid(), state);

	if (ftruncate(owner_fd, 0) < 0 || pwrite(owner_fd, buf, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

int mnt_owner_repid(const char *state)
{
	return owner_fd < 0 ? 0 : owner_write(state);
}

void mnt_release(void)
{
	if (owner_fd < 0)
		return;
	unlink(owner_path);
	close(owner_fd);
	owner_fd = -1;
}

static int prepare(const char *mp, char *err, size_t errlen);

static bool is_ours(const struct mnt_entry *e)
{
	return strcmp(e->fstype, "fuse.arw") == 0;
}

/* Abort and detach the top mount at mp, which is a dead one of ours. */
static int clear_top(const char *mp, const struct mnt_entry *e, char *err, size_t errlen)
{
	int r = mnt_abort(e->min);

	if (r < 0)
		log_warnx("%s: cannot abort FUSE connection %u: %s", mp, e->min, strerror(-r));
	if (umount2(mp, MNT_DETACH) < 0) {
		snprintf(err, errlen, "cannot unmount the stale mount at %s: %s", mp, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The folder above mp into parent, created with its parents. */
static int parent_of(const char *mp, char *parent, size_t plen, char *err, size_t errlen)
{
	char *slash;
	int r;

	snprintf(parent, plen, "%s", mp);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		snprintf(err, errlen, "--shared-parent: %s is directly under /; mount one level lower, "
			 "e.g. --mount /run/arw/fs", mp);
		return -EINVAL;
	}
	*slash = '\0';
	if ((r = mnt_mkdir_p(parent)) < 0)
		snprintf(err, errlen, "cannot create %s: %s", parent, strerror(-r));
	return r;
}

/* After prepare (a stale mount at mp is gone: a bind of the parent made
 * before would hide it from umount). */
static int share_parent(const char *parent, char *err, size_t errlen)
{
	struct mnt_entry e;
	int r;

	if ((r = mnt_top(parent, &e)) < 0) {
		snprintf(err, errlen, "/proc/self/mountinfo: %s", strerror(-r));
		return r;
	}
	if (r == 0) {
		if (mount(parent, parent, NULL, MS_BIND, NULL) < 0)
			goto fail;
		log_info("%s: bound onto itself, to be a mount point of its own", parent);
		e.shared = false;
	}
	if (!e.shared) {
		if (mount(NULL, parent, NULL, MS_SHARED, NULL) < 0)
			goto fail;
		log_info("%s: now a shared mount; bind it into containers with rslave propagation", parent);
	}
	return 0;
fail:
	r = -errno;
	snprintf(err, errlen, "--shared-parent: cannot make %s a shared mount point: %s", parent,
		 strerror(errno));
	return r;
}

int mnt_claim(const char *mp, const char *state, bool share, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	int r;

	if (owner_fd < 0) {
		if ((r = owner_lock(mp, err, errlen)) < 0)
			return r;
		if ((r = owner_write(state)) < 0) {
			snprintf(err, errlen, "%s: %s", owner_path, strerror(-r));
			return r;
		}
	}
	if (share && (r = parent_of(mp, parent, sizeof(parent), err, errlen)) < 0)
		return r;
	if ((r = prepare(mp, err, errlen)) < 0 || !share)
		return r;
	return share_parent(parent, err, errlen);
}

/* We own the mount point: an arw mount there is a dead one. */
static int prepare(const char *mp, char *err, size_t errlen)
{
	struct mnt_entry e;
	struct stat st;
	int tries, r;

	for (tries = 0; tries < STALE_TRIES && mnt_top(mp, &e) > 0; tries++) {
		if (!is_ours(&e)) {
			snprintf(err, errlen, "%s is a mount point (%s); refusing to mount over it", mp, e.fstype);
			return -EBUSY;
		}
		log_warnx("%s: stale mount left by an earlier run (FUSE connection %u); unmounting it",
			  mp, e.min);
		if ((r = clear_top(mp, &e, err, errlen)) < 0)
			return r;
	}
	if (tries == STALE_TRIES) {
		snprintf(err, errlen, "%s: still mounted after %d lazy unmounts", mp, STALE_TRIES);
		return -EBUSY;
	}
	/* Nothing is mounted there: stat cannot block now. */
	if (stat(mp, &st) < 0) {
		if (errno == ENOENT) {
			if (mkdir(mp, 0755) < 0) {
				snprintf(err, errlen, "cannot create %s: %s", mp, strerror(errno));
				return -errno;
			}
			return 0;
		}
		snprintf(err, errlen, "%s: %s", mp, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", mp);
		return -ENOTDIR;
	}
	return 0;
}

int mnt_mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int mnt_clear_own(const char *mp, unsigned maj, unsigned min)
{
	struct mnt_entry e;
	char err[256];
	int tries, r;

	for (tries = 0; tries < STALE_TRIES && mnt_top(mp, &e) > 0; tries++) {
		if (e.maj != maj || e.min != min)
			break;   /* only our own dead mount, never someone else's */
		if ((r = clear_top(mp, &e, err, sizeof(err))) < 0) {
			log_warnx("%s", err);
			return r;
		}
	}
	return 0;
}
