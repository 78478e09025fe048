/*
 * procscan.c - /proc walks for the fallback mode and the crash clean-up.
 * Each walk reads one small file per process: run when something stops,
 * never on a timer.
 */
#include "procscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_parse_stat(const char *buf, struct proc_info *pi)
{
	const char *p = strrchr(buf, ')');   /* comm may contain spaces and ')' */
	int i;

	memset(pi, 0, sizeof(*pi));
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	p += 2;
	/* from here: field 3 (state), 4 (ppid), 5 (pgrp), 6 (session) ... 22 (start) */
	for (i = 3; i <= 22 && p; i++) {
		if (i == 3)
			pi->state = *p;
		else if (i == 4)
			pi->ppid = atoi(p);
		else if (i == 5)
			pi->pgrp = atoi(p);
		else if (i == 6)
			pi->sid = atoi(p);
		else if (i == 22)
			pi->start = strtoull(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return i > 22 ? 0 : -EIO;
}

static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

int proc_info(pid_t pid, struct proc_info *pi)
{
	char buf[1024];
	ssize_t n = read_proc(pid, "stat", buf, sizeof(buf) - 1);

	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return proc_parse_stat(buf, pi);
}

unsigned long long proc_start(pid_t pid)
{
	struct proc_info pi;

	return proc_info(pid, &pi) == 0 ? pi.start : 0;
}

/* An entry equal to s (or, `prefix`, starting with it) in a NUL-separated
 * block. */
static bool env_find(const char *blk, size_t len, const char *s, bool prefix)
{
	size_t kl = strlen(s), i = 0;

	while (i < len) {
		const char *e = memchr(blk + i, '\0', len - i);
		size_t l = e ? (size_t)(e - (blk + i)) : len - i;

		if ((prefix ? l >= kl : l == kl) && memcmp(blk + i, s, kl) == 0)
			return true;
		i += l + 1;
	}
	return false;
}

bool env_block_has(const char *blk, size_t len, const char *kv)
{
	return env_find(blk, len, kv, false);
}

/* Calls fn for each process but this one. */
static void each_pid(void (*fn)(pid_t, void *), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 1 || pid == self)
			continue;
		fn((pid_t)pid, ctx);
	}
	closedir(d);
}

struct mark_walk {
	char mount_kv[4200];
	pid_t ancestors[64];
	size_t nancestors;
	const char *const *ids;
	size_t nids;
	int sig, n, max;
	pid_t *pids;
};

static void mark_one(pid_t pid, void *ctx)
{
	struct mark_walk *w = ctx;
	char env[32768], kv[300];
	ssize_t n = read_proc(pid, "environ", env, sizeof(env));
	size_t i;

	if (n <= 0 || !env_block_has(env, (size_t)n, w->mount_kv))
		return;
	for (i = 0; i < w->nancestors; i++)
		if (w->ancestors[i] == pid)
			return;   /* a shell that started this daemon from a runtime's environment */
	if (!w->ids && !env_find(env, (size_t)n, "ARW_RUNTIME_ID=", true))
		return;
	if (w->ids) {
		for (i = 0; i < w->nids; i++) {
			snprintf(kv, sizeof(kv), "ARW_RUNTIME_ID=%s", w->ids[i]);
			if (env_block_has(env, (size_t)n, kv))
				break;
		}
		if (i == w->nids)
			return;
	}
	if (kill(pid, w->sig) < 0)
		return;
	if (w->n < w->max)
		w->pids[w->n] = pid;
	w->n++;
}

int proc_signal_marked(const char *mount, const char *const *ids, size_t nids, int sig,
		       pid_t *pids, int max)
{
	struct mark_walk w = { .ids = ids, .nids = nids, .sig = sig, .pids = pids, .max = max };

	pid_t p = getppid();

	if (ids && !nids)
		return 0;
	snprintf(w.mount_kv, sizeof(w.mount_kv), "ARW_MOUNT=%s", mount);
	while (p > 1 && w.nancestors < 64) {
		struct proc_info pi;

		w.ancestors[w.nancestors++] = p;
		if (proc_info(p, &pi) < 0)
			break;
		p = pi.ppid;
	}
	each_pid(mark_one, &w);
	return w.n;
}

/* One walk serves every runtime for a second: the pgids of all processes,
 * sorted, counted by binary search. */
struct group_walk {
	pid_t *pg;
	size_t n, cap;
};

static void group_one(pid_t pid, void *ctx)
{
	struct group_walk *w = ctx;
	struct proc_info pi;

	if (proc_info(pid, &pi) < 0 || pi.state == 'Z')
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		pid_t *np = realloc(w->pg, cap * sizeof(*np));

		if (!np)
			return;
		w->pg = np;
		w->cap = cap;
	}
	w->pg[w->n++] = pi.pgrp;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static struct group_walk groups;
static int64_t groups_at = -1;

int proc_count_group(pid_t pgid, int64_t mono)
{
	size_t lo = 0, hi, first;

	if (groups_at < 0 || mono - groups_at >= 1000 || mono < groups_at) {
		groups.n = 0;
		each_pid(group_one, &groups);
		if (groups.n)
			qsort(groups.pg, groups.n, sizeof(pid_t), cmp_pid);
		groups_at = mono;
	}
	hi = groups.n;
	while (lo < hi) {   /* the first entry >= pgid */
		size_t mid = lo + (hi - lo) / 2;

		if (groups.pg[mid] < pgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	hi = groups.n;
	while (lo < hi) {   /* the first entry > pgid */
		size_t mid = lo + (hi - lo) / 2;

		if (groups.pg[mid] <= pgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)(lo - first);
}

void proc_scan_forget(void)
{
	groups_at = -1;
}

struct gpids_walk {
	pid_t pgid, *pids;
	int n, max;
};

static void gpids_one(pid_t pid, void *ctx)
{
	struct gpids_walk *w = ctx;
	struct proc_info pi;

	if (proc_info(pid, &pi) < 0 || pi.pgrp != w->pgid || pi.state == 'Z')
		return;
	if (w->n < w->max)
		w->pids[w->n] = pid;
	w->n++;
}

int proc_group_pids(pid_t pgid, pid_t *pids, int max)
{
	struct gpids_walk w = { pgid, pids, 0, max };

	each_pid(gpids_one, &w);
	return w.n;
}

/* Members of a dead leader's group outlive it (PR_SET_PDEATHSIG is not
 * inherited).  They still carry its session and group id; a process that
 * reused the leader's pid would be younger than the recorded start. */
struct members_walk {
	pid_t leader;
	unsigned long long start;
	int n;
};

static void member_one(pid_t pid, void *ctx)
{
	struct members_walk *w = ctx;
	struct proc_info pi;

	if (proc_info(pid, &pi) == 0 && pi.pgrp == w->leader && pi.sid == w->leader &&
	    pi.start >= w->start && kill(pid, SIGKILL) == 0)
		w->n++;
}

int proc_kill_group_members(pid_t leader, unsigned long long start)
{
	struct members_walk w = { leader, start, 0 };

	each_pid(member_one, &w);
	return w.n;
}
