/*
 * log.h - OpenBSD-style logging: one write(2) per line to stderr,
 * "2026-11-22T10:00:00.123Z warn runtime[llama]: message".  Any thread.
 */
#ifndef ARW_LOG_H
#define ARW_LOG_H

#include <stdint.h>
#include <stddef.h>

void log_init(int verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Clocks: wall time for what is shown and persisted, monotonic for deadlines. */
int64_t now_ms(void);
int64_t mono_ms(void);
/* RFC 3339 UTC with milliseconds; "" for 0.  buf needs 32 bytes. */
char *fmt_time(char *buf, size_t len, int64_t ms);

#endif
