/*
 * readbench.c - open+read+close of files, as fast as one or more threads
 * can, for bench/reads.sh.
 *
 *   readbench SECONDS THREADS FILE...
 *
 * For each FILE in turn: THREADS threads each loop open, read until EOF
 * (64 KiB buffer), close, for SECONDS; prints "FILE OPS_PER_S US_PER_OP
 * BYTES" (operations of all threads together; microseconds per operation
 * of one thread).  A failed open or read ends the program with exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static double seconds;
static atomic_long total_ops;
static atomic_long last_bytes;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	static __thread char buf[65536];
	double end = now() + seconds;
	long ops = 0;

	(void)arg;
	while ((ops & 63) || now() < end) {
		int fd = open(path, O_RDONLY);
		ssize_t n, got = 0;

		if (fd < 0) {
			fprintf(stderr, "readbench: %s: %s\n", path, strerror(errno));
			exit(1);
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			got += n;
		if (n < 0) {
			fprintf(stderr, "readbench: read %s: %s\n", path, strerror(errno));
			exit(1);
		}
		close(fd);
		atomic_store(&last_bytes, got);
		ops++;
	}
	atomic_fetch_add(&total_ops, ops);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads, i, t;

	if (argc < 4) {
		fprintf(stderr, "usage: readbench SECONDS THREADS FILE...\n");
		return 2;
	}
	seconds = atof(argv[1]);
	threads = atoi(argv[2]);
	if (seconds <= 0 || threads < 1 || threads > 64)
		return 2;
	for (i = 3; i < argc; i++) {
		pthread_t th[64];
		double t0;

		path = argv[i];
		atomic_store(&total_ops, 0);
		t0 = now();
		for (t = 0; t < threads; t++)
			pthread_create(&th[t], NULL, worker, NULL);
		for (t = 0; t < threads; t++)
			pthread_join(th[t], NULL);
		t0 = now() - t0;
		printf("%s %.0f %.2f %ld\n", path, (double)atomic_load(&total_ops) / t0,
		       t0 * 1e6 * threads / (double)atomic_load(&total_ops), atomic_load(&last_bytes));
	}
	return 0;
}
