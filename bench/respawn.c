/*
 * respawn.c - crash -> respawn and restart -> running, in microseconds, for
 * bench/respawn.sh.
 *
 *   respawn STAMPS TREE_RUNTIME_DIR ROUNDS
 *
 * STAMPS is the file the service (stamp.c) appends "PID MONOTONIC_NS" to at
 * each start.  Per round, once the service has run for 1.2 s (a younger
 * crash gets a backoff): SIGKILL it at t0, wait (inotify) for the next
 * stamp t1, then read the tree's `pid` file in a loop until it names the new
 * process (t2).  Then the same with `echo restart > ctl` written at t0.
 * Prints one line per measure: "NAME n median p95 max" in ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The last stamp of the file: its pid and time; the number of lines. */
static int last_stamp(const char *path, int *pid, long long *t)
{
	char buf[1 << 16];
	int fd = open(path, O_RDONLY), lines = 0;
	ssize_t n;
	char *p, *line = NULL;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; *p; p++)
		if (*p == '\n') {
			lines++;
			*p = '\0';
		}
	for (p = buf; p < buf + n; p += strlen(p) + 1)
		if (*p)
			line = p;
	if (line && sscanf(line, "%d %lld", pid, t) != 2)
		return 0;
	return lines;
}

static int tree_pid(const char *dir)
{
	char path[4096], buf[32];
	int fd, pid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/pid", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		pid = atoi(buf);
	}
	return pid;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%-44s %4d %9.3f %9.3f %9.3f\n", name, n, v[n / 2], v[(n * 95 + 99) / 100 - 1], v[n - 1]);
}

int main(int argc, char **argv)
{
	const char *stamps, *dir;
	int rounds, i, ino, kind;
	double *respawn, *visible, *restart;

	if (argc != 4)
		return 2;
	stamps = argv[1];
	dir = argv[2];
	rounds = atoi(argv[3]);
	respawn = calloc((size_t)rounds, sizeof(double));
	visible = calloc((size_t)rounds, sizeof(double));
	restart = calloc((size_t)rounds, sizeof(double));
	ino = inotify_init1(IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, stamps, IN_MODIFY) < 0 || !respawn || !visible || !restart) {
		perror("respawn");
		return 1;
	}
	for (kind = 0; kind < 2; kind++) {
		for (i = 0; i < rounds; i++) {
			char evbuf[4096];
			long long t0, t1, t2, ts;
			int pid, npid, lines, n2;

			/* settled: the tree shows the last stamp's pid, 1.2 s old */
			for (;;) {
				lines = last_stamp(stamps, &pid, &ts);
				if (lines && tree_pid(dir) == pid && mono_ns() - ts > 1200000000LL)
					break;
				usleep(20000);
			}
			t0 = mono_ns();
			if (kind == 0) {
				kill(pid, SIGKILL);
			} else {
				char path[4096];
				int fd;

				snprintf(path, sizeof(path), "%s/ctl", dir);
				fd = open(path, O_WRONLY);
				if (fd < 0 || write(fd, "restart\n", 8) != 8) {
					perror("ctl");
					return 1;
				}
				close(fd);
			}
			/* (an event left from an earlier round only costs a loop) */
			do {
				if (read(ino, evbuf, sizeof(evbuf)) < 0 && errno != EINTR) {
					perror("inotify");
					return 1;
				}
				n2 = last_stamp(stamps, &npid, &t1);
			} while (n2 <= lines);
			while (tree_pid(dir) != npid)
				;
			t2 = mono_ns();
			if (kind == 0) {
				respawn[i] = (double)(t1 - t0) / 1e6;
				visible[i] = (double)(t2 - t1) / 1e6;
			} else {
				restart[i] = (double)(t1 - t0) / 1e6;
			}
		}
	}
	printf("%-44s %4s %9s %9s %9s\n", "measure (ms)", "n", "median", "p95", "max");
	report("SIGKILL -> new process runs", respawn, rounds);
	report("new process runs -> its pid in the tree", visible, rounds);
	report("echo restart > ctl -> new process runs", restart, rounds);
	return 0;
}
