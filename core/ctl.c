/*
 * ctl.c - parsing of writes to ctl files (SPEC section 4): the verb, the
 * signal of `kill SIG`, and the optional ` wait=N`; plus the signal name table.
 *
 * Pure: no fd, no clock, no allocation, no global state, so any FUSE thread
 * may call it concurrently.  The input is not NUL-terminated: only `len`
 * bytes are ever read.  Validation against the runtime's state is the
 * caller's job.
 */
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CTL_WAIT_MAX 86400
#define CTL_SIG_MAX 64          /* SIGRTMAX on Linux */
#define CTL_QUOTE_MAX 64        /* bytes of a quoted word shown in a message */

static const struct {
	int sig;
	const char *name;
} signals[] = {
	{ SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" },
	{ SIGILL, "ILL" }, { SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" },
	{ SIGBUS, "BUS" }, { SIGFPE, "FPE" }, { SIGKILL, "KILL" },
	{ SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
	{ SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" },
	{ SIGCHLD, "CHLD" }, { SIGCONT, "CONT" }, { SIGSTOP, "STOP" },
	{ SIGTSTP, "TSTP" }, { SIGTTIN, "TTIN" }, { SIGTTOU, "TTOU" },
	{ SIGURG, "URG" }, { SIGXCPU, "XCPU" }, { SIGXFSZ, "XFSZ" },
	{ SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" },
	{ SIGIO, "IO" }, { SIGPWR, "PWR" }, { SIGSYS, "SYS" },
};

static const struct {
	enum ctl_verb verb;
	const char *name;
	int root;
} verbs[] = {
	{ CTL_START, "start", 0 }, { CTL_STOP, "stop", 0 },
	{ CTL_RESTART, "restart", 0 }, { CTL_RESTORE, "restore", 0 },
	{ CTL_RESET_BUDGET, "reset-budget", 0 }, { CTL_KILL, "kill", 0 },
	{ CTL_RELOAD, "reload", 1 }, { CTL_STOP_ALL, "stop-all", 1 },
	{ CTL_START_ALL, "start-all", 1 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A word of the input: not NUL-terminated. */
struct word {
	const char *p;
	size_t n;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_space(char c)
{
	return is_blank(c) || c == '\n' || c == '\r';
}

static int word_is(struct word w, const char *s)
{
	size_t n = strlen(s);

	return w.n == n && memcmp(w.p, s, n) == 0;
}

/* Next blank-separated word of [*pos, end), or n == 0 at the end. */
static struct word next_word(const char **pos, const char *end)
{
	const char *p = *pos;
	struct word w;

	while (p < end && is_blank(*p))
		p++;
	w.p = p;
	while (p < end && !is_blank(*p))
		p++;
	w.n = (size_t)(p - w.p);
	*pos = p;
	return w;
}

/* Printable copy of a word for a message: bytes outside printable ASCII and
 * '"' '\\' are escaped as \xNN, long words end in "...". */
static void quote_word(char *dst, size_t dstlen, struct word w)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < w.n && i < CTL_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)w.p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (i < w.n && o + 3 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "wait=N", N decimal 0..CTL_WAIT_MAX: seconds, or -1 if malformed. */
static int parse_wait(struct word w)
{
	size_t pre = strlen("wait="), i;
	int v = 0;

	if (w.n <= pre)
		return -1;
	for (i = pre; i < w.n; i++) {
		if (w.p[i] < '0' || w.p[i] > '9')
			return -1;
		v = v * 10 + (w.p[i] - '0');
		if (v > CTL_WAIT_MAX)       /* also stops any overflow */
			return -1;
	}
	return v;
}

static int is_wait_word(struct word w)
{
	return w.n >= 5 && memcmp(w.p, "wait=", 5) == 0;
}

static int unknown_verb(char *err, size_t errlen, int root, struct word w)
{
	char q[CTL_QUOTE_MAX * 4 + 8];

	quote_word(q, sizeof q, w);
	if (root)
		return fail(err, errlen, "unknown verb \"%s\" "
			    "(expected reload, stop-all, start-all)", q);
	return fail(err, errlen, "unknown verb \"%s\" (expected start, stop, "
		    "restart, restore, reset-budget, kill SIG)", q);
}

/* The one line of a write, blanks and one final newline trimmed, into
 * [*pp, *endp).  0, or -EINVAL with the reason in err. */
static int one_line(const char *buf, size_t len, const char **pp, const char **endp,
		    char *err, size_t errlen)
{
	const char *p, *end, *nl;
	size_t i;

	if (len > CTL_MAX_WRITE)
		return fail(err, errlen, "too long (at most %d bytes)", CTL_MAX_WRITE);
	if (len > 0 && memchr(buf, '\0', len))
		return fail(err, errlen, "NUL byte in command");
	/* Only blanks and newlines ("\n\n" too) is empty, not two commands. */
	for (i = 0; i < len && is_space(buf[i]); i++)
		;
	if (i == len)
		return fail(err, errlen, "empty command");
	/* Trim blanks, then one optional "\n" or "\r\n", then blanks again. */
	p = buf;
	end = buf + len;
	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	if (end > p && end[-1] == '\n') {
		end--;
		if (end > p && end[-1] == '\r')
			end--;
	}
	while (end > p && is_blank(end[-1]))
		end--;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		nl = memchr(p, '\r', (size_t)(end - p));
	if (nl)
		return fail(err, errlen, "one command per write");
	*pp = p;
	*endp = end;
	return 0;
}

/* The signal word of `kill SIG`: its number, or -EINVAL with the reason. */
static int kill_signal(struct word w, char *err, size_t errlen)
{
	char q[CTL_QUOTE_MAX * 4 + 8], sigbuf[32];
	int sig;

	if (w.n == 0 || is_wait_word(w))
		return fail(err, errlen, "missing signal (expected kill SIG)");
	quote_word(q, sizeof q, w);
	if (w.n >= sizeof sigbuf)
		return fail(err, errlen, "bad signal \"%s\"", q);
	memcpy(sigbuf, w.p, w.n);
	sigbuf[w.n] = '\0';
	sig = ctl_signal_parse(sigbuf);
	if (sig < 0)
		return fail(err, errlen, "bad signal \"%s\"", q);
	return sig;
}

int ctl_parse(const char *buf, size_t len, int root, struct ctl_cmd *out,
	      char *err, size_t errlen)
{
	char q[CTL_QUOTE_MAX * 4 + 8];
	const char *p = NULL, *end = NULL;
	struct word w;
	size_t i;
	int sig = 0, wait_s = -1, r;
	enum ctl_verb verb = CTL_NONE;

	if (err && errlen > 0)
		err[0] = '\0';
	out->verb = CTL_NONE;
	out->signal = 0;
	out->wait_s = -1;
	if ((r = one_line(buf, len, &p, &end, err, errlen)) < 0)
		return r;

	w = next_word(&p, end);
	for (i = 0; i < COUNT(verbs); i++) {
		/* A verb of the other ctl is just as unknown here. */
		if (verbs[i].root == !!root && word_is(w, verbs[i].name)) {
			verb = verbs[i].verb;
			break;
		}
	}
	if (verb == CTL_NONE)
		return unknown_verb(err, errlen, root, w);

	w = next_word(&p, end);
	if (verb == CTL_KILL) {
		if ((sig = kill_signal(w, err, errlen)) < 0)
			return sig;
		w = next_word(&p, end);
	}
	if (w.n > 0 && is_wait_word(w)) {
		wait_s = parse_wait(w);
		if (wait_s < 0) {
			quote_word(q, sizeof q, w);
			return fail(err, errlen, "bad wait \"%s\" "
				    "(expected wait=SECONDS)", q);
		}
		w = next_word(&p, end);
	}
	if (w.n > 0) {
		quote_word(q, sizeof q, w);
		return fail(err, errlen, "unexpected \"%s\"", q);
	}

	out->verb = verb;
	out->signal = sig;
	out->wait_s = wait_s;
	return 0;
}

const char *ctl_verb_name(enum ctl_verb v)
{
	size_t i;

	for (i = 0; i < COUNT(verbs); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return v == CTL_NONE ? "none" : "unknown";
}

int ctl_signal_parse(const char *s)
{
	size_t i;
	int v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '9') {
		for (i = 0; s[i]; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
			v = v * 10 + (s[i] - '0');
			if (v > CTL_SIG_MAX)
				return -EINVAL;
		}
		return v >= 1 ? v : -EINVAL;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < COUNT(signals); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].sig;
	return -EINVAL;
}

const char *ctl_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < COUNT(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}
