/*
 * log.c - logging and clocks.  Any thread may call these; each line is one
 * write(2), so lines from different threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_verbose;

void log_init(int verbose)
{
	log_verbose = verbose;
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *fmt_time(char *buf, size_t len, int64_t ms)
{
	struct tm tm;
	time_t t;

	if (ms <= 0) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ms % 1000));
	return buf;
}

static void vlog(const char *level, int err, const char *fmt, va_list ap)
{
	char line[2048], ts[32];
	int n, m;

	n = snprintf(line, sizeof(line), "%s %s ", fmt_time(ts, sizeof(ts), now_ms()), level);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (err) {
		m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
		n += m;
		if (n > (int)sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

#define LOGFN(name, level, with_errno, gate) \
	void name(const char *fmt, ...) \
	{ \
		int saved = errno; \
		va_list ap; \
		if (!(gate)) \
			return; \
		va_start(ap, fmt); \
		vlog(level, (with_errno) ? saved : 0, fmt, ap); \
		va_end(ap); \
		errno = saved; \
	}

LOGFN(log_info, "info", 0, 1)
LOGFN(log_debug, "debug", 0, log_verbose)
LOGFN(log_warn, "warn", 1, 1)
LOGFN(log_warnx, "warn", 0, 1)
