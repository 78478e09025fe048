/*
 * stamp.c - the service of the benchmarks: appends "PID MONOTONIC_NS" to
 * the file given as its argument (or to "stamps" in its working folder, so
 * that runit and s6 can exec it directly as a service's `run`) as soon as
 * it runs, then waits for a signal.  Built static, so that its own start
 * costs as little as possible.  Built with -DNOTIFY_FD=3, for s6, it also
 * tells s6 it is ready (a newline on that descriptor, s6's notification-fd)
 * and ignores its argument (s6-supervise passes the service's name).
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	const char *path = argc > 1 ? argv[1] : "stamps";
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
#ifdef NOTIFY_FD
	if (write(NOTIFY_FD, "\n", 1) == 1)
		close(NOTIFY_FD);
	path = "stamps";
#endif
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 2;
	n = snprintf(line, sizeof(line), "%d %lld\n", (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(fd, line, (size_t)n) != n)
		return 2;
	close(fd);
	for (;;)
		pause();
}
