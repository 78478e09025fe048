/*
 * output.c - what a runtime writes: the pipe pump (one chunk per wakeup, so
 * floods share the loop), the in-memory ring behind `logs`, the log file
 * with its rotation, and the throttled IN_MODIFY of `logs`.  Loop thread.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "notify.h"
#include "procscan.h"
#include "rt.h"
#include "sup.h"

#define OUTPUT_CHUNK 65536

/* ---- logs ---- */

/* The log file cannot be written: said once (log, detail) until it can. */
static void log_failed(struct runtime *rt, int err)
{
	if (rt->log_errno == err)
		return;
	if (err)
		log_warnx("runtime[%s]: cannot write %s: %s; its output stays in `logs` only",
			  rt->spec->id, rt->log_path, strerror(err));
	else
		log_info("runtime[%s]: writing %s works again", rt->spec->id, rt->log_path);
	rt->log_errno = err;
	rt_dirty(rt);
}

static void log_open(struct runtime *rt)
{
	struct stat st;

	if (rt->logfd >= 0 || rt->spec->file_max_bytes == 0)
		return;
	rt->logfd = open(rt->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (rt->logfd < 0) {
		log_failed(rt, errno);
		return;
	}
	rt->logsize = fstat(rt->logfd, &st) == 0 ? (size_t)st.st_size : 0;
}

static void log_rotate(struct runtime *rt)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	int i;

	close(rt->logfd);
	rt->logfd = -1;
	for (i = rt->spec->log_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", rt->log_path);
		else
			snprintf(from, sizeof(from), "%s.%d", rt->log_path, i - 1);
		snprintf(to, sizeof(to), "%s.%d", rt->log_path, i);
		rename(from, to);
	}
	if (rt->spec->log_files <= 1)
		unlink(rt->log_path);
	log_open(rt);
}

static void log_write(struct runtime *rt, const char *buf, size_t n)
{
	if (rt->spec->file_max_bytes == 0)
		return;
	log_open(rt);
	if (rt->logfd < 0)
		return;
	if (rt->logsize > 0 && rt->logsize + n > rt->spec->file_max_bytes)
		log_rotate(rt);
	if (rt->logfd < 0)
		return;
	{
		ssize_t w = write(rt->logfd, buf, n);

		if (w > 0)
			rt->logsize += (size_t)w;
		log_failed(rt, w == (ssize_t)n ? 0 : w < 0 ? errno : ENOSPC);
	}
}

/* `logs` changed: tell watchers at most every LOGS_NOTIFY_MS, and once more
 * after the last change, so a flood costs a bounded number of events. */
#define LOGS_NOTIFY_MS 100

void rt_logs_notify(struct runtime *rt, int64_t mono)
{
	char rel[RT_ID_MAX + 20];

	snprintf(rel, sizeof(rel), "runtimes/%s/logs", rt->spec->id);
	notify_changed(INO_RT(rt->slot, RF_LOGS), rel);
	rt->logs_notified = mono;
	rt->logs_notify_at = 0;
}

static void logs_changed(struct runtime *rt)
{
	int64_t mono = mono_ms();

	if (mono - rt->logs_notified >= LOGS_NOTIFY_MS)
		rt_logs_notify(rt, mono);
	else if (!rt->logs_notify_at) {
		rt->logs_notify_at = rt->logs_notified + LOGS_NOTIFY_MS;
		rt_timers_changed(rt);
	}
}

/* Read what the process wrote; `all` drains the pipe (the group is gone). */
void rt_read_output(struct runtime *rt, bool all)
{
	char buf[OUTPUT_CHUNK];
	ssize_t n;

	while (rt->outfd >= 0) {
		n = read(rt->outfd, buf, sizeof(buf));
		if (n > 0) {
			logring_append(rt->ring, buf, (size_t)n, now_ms());
			log_write(rt, buf, (size_t)n);
			logs_changed(rt);
			if (!all)
				return;   /* one chunk per wakeup: floods share the loop */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !all)
			return;
		/* EOF, error, or drained */
		loop_unwatch(rt->outfd);
		close(rt->outfd);
		rt->outfd = -1;
	}
}

