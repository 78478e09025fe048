/*
 * stamp.c - the service of bench/respawn.sh: appends "PID MONOTONIC_NS" to
 * the file given as its argument as soon as it runs, then waits for a
 * signal.  Built static, so that its own start costs as little as possible.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc < 2 || (fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return 2;
	n = snprintf(line, sizeof(line), "%d %lld\n", (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(fd, line, (size_t)n) != n)
		return 2;
	close(fd);
	for (;;)
		pause();
}
