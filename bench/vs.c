/*
 * vs.c - the crash-path and read measures of bench/vs.py, the same for every
 * supervisor: only how its status is read and how a restart is asked for
 * differ, and both are given on the command line.
 *
 *   vs STAMPS ROUNDS READER RESTART...
 *
 * STAMPS  the file the service (stamp.c) appends "PID MONOTONIC_NS" to at
 *         each start.
 * READER  how an in-process client reads the service's pid:
 *         text:PATH  a file holding the pid as text (arw `pid`, runit
 *                    supervise/pid);
 *         s6:PATH    s6's supervise/status (35 bytes, the pid a big-endian
 *                    64-bit number at offset 24);
 *         none       the supervisor has no such file (supervisord).
 * RESTART how a restart is asked for:
 *         write:PATH:TEXT  write TEXT to PATH (arw ctl, runit and s6
 *                          supervise/control);
 *         exec CMD ARGS... run a command and wait for it (supervisorctl).
 *
 * Each crash round waits until the service has run 1.2 s (a younger crash
 * gets each supervisor's backoff), sends SIGKILL at t0, and measures to the
 * next stamp (the new process's own start), or to what the reader shows.  Prints "NAME N MEDIAN P95" lines, in ms (µs for `read`).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *stamps;
static int ino;
static enum { RD_NONE, RD_TEXT, RD_S6 } rd_kind;
static const char *rd_path;
static volatile sig_atomic_t gave_up;   /* SIGALRM: stop waiting */

static void on_alarm(int sig)
{
	(void)sig;
	gave_up = 1;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The last stamp of the file: its pid and time; the number of lines. */
static int last_stamp(int *pid, long long *t)
{
	static char buf[1 << 16];
	int fd = open(stamps, O_RDONLY), lines = 0;
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
	if (!line || sscanf(line, "%d %lld", pid, t) != 2)
		return 0;
	return lines;
}

/* Block until the stamps file has more than `lines` lines; the new last.
 * -1 if SIGALRM came first. */
static int next_stamp(int lines, int *pid, long long *t)
{
	char evbuf[4096];
	int n;

	while ((n = last_stamp(pid, t)) <= lines)
		if (read(ino, evbuf, sizeof(evbuf)) < 0) {
			if (errno == EINTR && gave_up)
				return -1;
			if (errno != EINTR) {
				perror("vs: inotify");
				exit(1);
			}
		}
	return n;
}

/* The supervisor's idea of the pid, read as a client would: open, read,
 * close.  0 when there is none, -1 when the file cannot be read. */
static long read_pid(void)
{
	unsigned char buf[64];
	int fd = open(rd_path, O_RDONLY), i;
	ssize_t n;
	long pid = 0;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	if (rd_kind == RD_S6) {
		if (n < 32)
			return -1;
		for (i = 24; i < 32; i++)
			pid = pid << 8 | buf[i];
		return pid;
	}
	buf[n] = '\0';
	return strtol((char *)buf, NULL, 10);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%s %d %.3f %.3f\n", name, n, v[n / 2], v[(n * 95 + 99) / 100 - 1]);
	fflush(stdout);
}

/* Wait until the service has run 1.2 s and the reader shows it. */
static int settled(int *pid)
{
	long long ts;
	int lines;

	for (;;) {
		lines = last_stamp(pid, &ts);
		if (lines && mono_ns() - ts > 1200000000LL &&
		    (rd_kind == RD_NONE || read_pid() == *pid))
			return lines;
		usleep(20000);
	}
}

static char **restart_cmd;

static void ask_restart(void)
{
	if (strncmp(restart_cmd[0], "write:", 6) == 0) {
		char path[4096];
		const char *text = strrchr(restart_cmd[0], ':') + 1;
		size_t len = (size_t)(text - 1 - (restart_cmd[0] + 6));
		int fd;

		memcpy(path, restart_cmd[0] + 6, len);
		path[len] = '\0';
		fd = open(path, O_WRONLY | O_NONBLOCK);
		if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
			perror("vs: restart");
			exit(1);
		}
		close(fd);
	} else {
		pid_t p = fork();
		int st;

		if (p == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			execvp(restart_cmd[1], restart_cmd + 1);
			_exit(127);
		}
		waitpid(p, &st, 0);
	}
}

int main(int argc, char **argv)
{
	int rounds, i, k, pid, npid, lines;
	long long t0, t1;
	double *a, *b, *c, *d;

	if (argc < 5) {
		fprintf(stderr, "usage: vs STAMPS ROUNDS READER RESTART...\n");
		return 2;
	}
	stamps = argv[1];
	rounds = atoi(argv[2]);
	if (strncmp(argv[3], "text:", 5) == 0)
		rd_kind = RD_TEXT, rd_path = argv[3] + 5;
	else if (strncmp(argv[3], "s6:", 3) == 0)
		rd_kind = RD_S6, rd_path = argv[3] + 3;
	else
		rd_kind = RD_NONE;
	restart_cmd = argv + 4;
	a = calloc((size_t)rounds + 5000, sizeof(double));
	b = calloc((size_t)rounds, sizeof(double));
	c = calloc((size_t)rounds, sizeof(double));
	d = calloc((size_t)rounds, sizeof(double));
	ino = inotify_init1(IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, stamps, IN_MODIFY) < 0 || !a || !b || !c || !d) {
		perror("vs");
		return 1;
	}

	/* crash -> respawn, waiting on inotify (nothing else runs) */
	for (i = 0; i < rounds; i++) {
		lines = settled(&pid);
		t0 = mono_ns();
		kill(pid, SIGKILL);
		next_stamp(lines, &npid, &t1);
		a[i] = (double)(t1 - t0) / 1e6;
	}
	report("respawn", a, rounds);

	/* crash -> the old pid gone, and the new one shown, to a client
	 * reading in a loop; and the new pid shown -> after the new process
	 * stamped its start */
	if (rd_kind != RD_NONE) {
		for (i = 0; i < rounds; i++) {
			long long t2;

			lines = settled(&pid);
			t0 = mono_ns();
			kill(pid, SIGKILL);
			while (read_pid() == pid)
				;
			b[i] = (double)(mono_ns() - t0) / 1e6;
			next_stamp(lines, &npid, &t1);
			while (read_pid() != npid)
				;
			t2 = mono_ns();
			c[i] = (double)(t2 - t0) / 1e6;
			d[i] = (double)(t2 - t1) / 1e6;
		}
		report("death_visible", b, rounds);
		report("pid_visible", c, rounds);
		report("pid_after_start", d, rounds);

		/* one status read: open + read + close, in µs */
		for (i = 0; i < 5000; i++) {
			t0 = mono_ns();
			if (read_pid() < 0) {
				perror("vs: read");
				return 1;
			}
			a[i] = (double)(mono_ns() - t0) / 1e3;
		}
		report("read_us", a, 5000);
	}

	/* restart command -> the new process runs */
	for (i = 0; i < rounds; i++) {
		lines = settled(&pid);
		t0 = mono_ns();
		ask_restart();
		next_stamp(lines, &npid, &t1);
		a[i] = (double)(t1 - t0) / 1e6;
	}
	report("restart", a, rounds);

	/* 5 quick deaths in a row: each new process is killed as soon as it
	 * has stamped; from the first kill to the sixth process (a supervisor
	 * that gives up leaves it at that: 60 s at most) */
	sigaction(SIGALRM, &(struct sigaction){ .sa_handler = on_alarm }, NULL);
	lines = settled(&pid);
	t0 = mono_ns();
	alarm(60);
	for (k = 0; k < 5 && lines >= 0; k++) {
		kill(pid, SIGKILL);
		lines = next_stamp(lines, &pid, &t1);
	}
	alarm(0);
	if (lines < 0) {
		printf("quick5 0 -1 -1\n");   /* it gave up */
		return 0;
	}
	a[0] = (double)(t1 - t0) / 1e6;
	report("quick5", a, 1);
	return 0;
}
