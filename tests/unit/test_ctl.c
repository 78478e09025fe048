/*
 * test_ctl.c - unit tests of core/ctl.c (pure parsing of ctl writes).  Every
 * input is copied into a heap buffer of exactly its length, not NUL-terminated,
 * so an ASan build catches any read past `len`.
 */
#include "ctl.h"
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

static struct ctl_cmd cmd;
static char err[256];

static int parse_n(const char *s, size_t len, int root)
{
	char *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		abort();
	memcpy(buf, s, len);
	memset(err, 'X', sizeof err);   /* must be overwritten or cleared */
	err[sizeof err - 1] = '\0';
	cmd.verb = (enum ctl_verb)99;
	cmd.signal = 99;
	cmd.wait_s = 99;
	rc = ctl_parse(len ? buf : NULL, len, root, &cmd, err, sizeof err);
	free(buf);
	return rc;
}

static int parse(const char *s, int root)
{
	return parse_n(s, strlen(s), root);
}

#define OK(s, root, v, sig, w) do { \
	CHECK_INT(parse(s, root), 0); \
	CHECK_INT(cmd.verb, v); \
	CHECK_INT(cmd.signal, sig); \
	CHECK_INT(cmd.wait_s, w); \
	CHECK_STR(err, ""); \
} while (0)

#define BAD(s, root, msg) do { \
	CHECK_INT(parse(s, root), -EINVAL); \
	CHECK_STR(err, msg); \
	CHECK_INT(cmd.verb, CTL_NONE); \
	CHECK_INT(cmd.wait_s, -1); \
} while (0)

#define RT_UNKNOWN(w) "unknown verb \"" w "\" (expected start, stop, " \
	"restart, restore, reset-budget, kill SIG)"
#define ROOT_UNKNOWN(w) "unknown verb \"" w "\" (expected reload, stop-all, start-all)"

static void test_runtime_verbs(void)
{
	OK("start", 0, CTL_START, 0, -1);
	OK("stop", 0, CTL_STOP, 0, -1);
	OK("restart", 0, CTL_RESTART, 0, -1);
	OK("restore", 0, CTL_RESTORE, 0, -1);
	OK("reset-budget", 0, CTL_RESET_BUDGET, 0, -1);
	OK("kill TERM", 0, CTL_KILL, SIGTERM, -1);

	/* Newline, CRLF, blanks. */
	OK("start\n", 0, CTL_START, 0, -1);
	OK("stop\r\n", 0, CTL_STOP, 0, -1);
	OK("  \trestart \t", 0, CTL_RESTART, 0, -1);
	OK("\t restore  \n", 0, CTL_RESTORE, 0, -1);
	OK("restore\n  \t", 0, CTL_RESTORE, 0, -1);
	OK(" kill \t 9 \r\n", 0, CTL_KILL, SIGKILL, -1);
	OK("start \t wait=5 \n", 0, CTL_START, 0, 5);
}

static void test_root_verbs(void)
{
	OK("reload", 1, CTL_RELOAD, 0, -1);
	OK("stop-all\n", 1, CTL_STOP_ALL, 0, -1);
	OK(" start-all\r\n", 1, CTL_START_ALL, 0, -1);
	OK("start-all wait=30", 1, CTL_START_ALL, 0, 30);
	OK("stop-all wait=0\n", 1, CTL_STOP_ALL, 0, 0);

	/* Each ctl knows only its own verbs. */
	BAD("start", 1, ROOT_UNKNOWN("start"));
	BAD("kill 9", 1, ROOT_UNKNOWN("kill"));
	BAD("reset-budget\n", 1, ROOT_UNKNOWN("reset-budget"));
	BAD("reload", 0, RT_UNKNOWN("reload"));
	BAD("stop-all\n", 0, RT_UNKNOWN("stop-all"));
	BAD("start-all", 0, RT_UNKNOWN("start-all"));
	BAD("foo", 1, ROOT_UNKNOWN("foo"));
}

static void test_unknown(void)
{
	BAD("foo", 0, RT_UNKNOWN("foo"));
	BAD("foo\n", 0, RT_UNKNOWN("foo"));
	BAD("START", 0, RT_UNKNOWN("START"));
	BAD("star", 0, RT_UNKNOWN("star"));
	BAD("startx", 0, RT_UNKNOWN("startx"));
	BAD("wait=5", 0, RT_UNKNOWN("wait=5"));
	BAD("foo bar", 0, RT_UNKNOWN("foo"));
	/* Bytes that would break the one-line message are escaped. */
	BAD("st\x01rt", 0, RT_UNKNOWN("st\\x01rt"));
	BAD("a\"b\\c", 0, RT_UNKNOWN("a\\x22b\\x5cc"));
	BAD("\xc3\xa9", 0, RT_UNKNOWN("\\xc3\\xa9"));
	{
		char longw[101], want[256];

		memset(longw, 'x', 100);
		longw[100] = '\0';
		snprintf(want, sizeof want, RT_UNKNOWN("%.64s..."), longw);
		BAD(longw, 0, want);
	}
}

static void test_kill(void)
{
	OK("kill TERM", 0, CTL_KILL, SIGTERM, -1);
	OK("kill SIGTERM", 0, CTL_KILL, SIGTERM, -1);
	OK("kill term", 0, CTL_KILL, SIGTERM, -1);
	OK("kill sigTerm", 0, CTL_KILL, SIGTERM, -1);
	OK("kill 15", 0, CTL_KILL, 15, -1);
	OK("kill HUP\n", 0, CTL_KILL, SIGHUP, -1);
	OK("kill usr1", 0, CTL_KILL, SIGUSR1, -1);
	OK("kill SIGKILL", 0, CTL_KILL, 9, -1);
	OK("kill 1", 0, CTL_KILL, 1, -1);
	OK("kill 64", 0, CTL_KILL, 64, -1);
	OK("kill 34", 0, CTL_KILL, 34, -1);
	OK("kill INT wait=10", 0, CTL_KILL, SIGINT, 10);

	BAD("kill", 0, "missing signal (expected kill SIG)");
	BAD("kill \n", 0, "missing signal (expected kill SIG)");
	BAD("kill wait=5", 0, "missing signal (expected kill SIG)");
	BAD("kill FOO", 0, "bad signal \"FOO\"");
	BAD("kill SIGFOO\n", 0, "bad signal \"SIGFOO\"");
	BAD("kill SIG", 0, "bad signal \"SIG\"");
	BAD("kill 0", 0, "bad signal \"0\"");
	BAD("kill 65", 0, "bad signal \"65\"");
	BAD("kill -9", 0, "bad signal \"-9\"");
	BAD("kill 9x", 0, "bad signal \"9x\"");
	BAD("kill SIG15", 0, "bad signal \"SIG15\"");
	BAD("kill 99999999999999999999", 0, "bad signal \"99999999999999999999\"");
	BAD("kill TERMINATEEVERYTHINGRIGHTNOWPLEASE", 0,
	    "bad signal \"TERMINATEEVERYTHINGRIGHTNOWPLEASE\"");
	BAD("kill TERM now", 0, "unexpected \"now\"");
	BAD("kill 9 9", 0, "unexpected \"9\"");
}

static void test_wait(void)
{
	OK("start wait=0", 0, CTL_START, 0, 0);
	OK("start wait=1", 0, CTL_START, 0, 1);
	OK("stop wait=86400\n", 0, CTL_STOP, 0, 86400);
	OK("restart wait=007", 0, CTL_RESTART, 0, 7);
	OK("restore wait=60\r\n", 0, CTL_RESTORE, 0, 60);
	/* Accepted even where there is little to wait for. */
	OK("reset-budget wait=5", 0, CTL_RESET_BUDGET, 0, 5);
	OK("kill 9 wait=5", 0, CTL_KILL, 9, 5);

	BAD("start wait=abc", 0, "bad wait \"wait=abc\" (expected wait=SECONDS)");
	BAD("start wait=", 0, "bad wait \"wait=\" (expected wait=SECONDS)");
	BAD("start wait=86401", 0, "bad wait \"wait=86401\" (expected wait=SECONDS)");
	BAD("start wait=-1", 0, "bad wait \"wait=-1\" (expected wait=SECONDS)");
	BAD("start wait=+5", 0, "bad wait \"wait=+5\" (expected wait=SECONDS)");
	BAD("start wait=5s", 0, "bad wait \"wait=5s\" (expected wait=SECONDS)");
	BAD("start wait=1.5", 0, "bad wait \"wait=1.5\" (expected wait=SECONDS)");
	BAD("start wait=99999999999999999999", 0,
	    "bad wait \"wait=99999999999999999999\" (expected wait=SECONDS)");
	BAD("reload wait=x", 1, "bad wait \"wait=x\" (expected wait=SECONDS)");

	BAD("start now", 0, "unexpected \"now\"");
	BAD("start wait 5", 0, "unexpected \"wait\"");
	BAD("start WAIT=5", 0, "unexpected \"WAIT=5\"");
	BAD("start wait=5 x", 0, "unexpected \"x\"");
	BAD("start wait=5 wait=6", 0, "unexpected \"wait=6\"");
	BAD("stop-all now", 1, "unexpected \"now\"");
}

static void test_empty_and_lines(void)
{
	BAD("", 0, "empty command");
	BAD(" ", 0, "empty command");
	BAD(" \t ", 0, "empty command");
	BAD("\n", 0, "empty command");
	BAD("\r\n", 0, "empty command");
	BAD(" \t\n", 0, "empty command");
	BAD("\n\n", 0, "empty command");
	BAD("", 1, "empty command");

	BAD("start\nstop", 0, "one command per write");
	BAD("start\nstop\n", 0, "one command per write");
	BAD("start\n\n", 0, "one command per write");
	BAD("start\r\nstop\r\n", 0, "one command per write");
	BAD("start\rstop", 0, "one command per write");
	BAD("start\r", 0, "one command per write");
	BAD("\nstart", 0, "one command per write");
	BAD("reload\nreload", 1, "one command per write");
}

static void test_limits(void)
{
	static char big[CTL_MAX_WRITE + 2];

	/* Exactly CTL_MAX_WRITE bytes: fine. */
	memset(big, ' ', sizeof big);
	memcpy(big, "start", 5);
	big[CTL_MAX_WRITE - 1] = '\n';
	CHECK_INT(parse_n(big, CTL_MAX_WRITE, 0), 0);
	CHECK_INT(cmd.verb, CTL_START);
	CHECK_STR(err, "");

	CHECK_INT(parse_n(big, CTL_MAX_WRITE + 1, 0), -EINVAL);
	CHECK_STR(err, "too long (at most 4096 bytes)");
	CHECK_INT(cmd.verb, CTL_NONE);

	/* A NUL byte anywhere, even trailing. */
	CHECK_INT(parse_n("start\0", 6, 0), -EINVAL);
	CHECK_STR(err, "NUL byte in command");
	CHECK_INT(parse_n("st\0art", 6, 0), -EINVAL);
	CHECK_STR(err, "NUL byte in command");
	CHECK_INT(parse_n("\0", 1, 0), -EINVAL);
	CHECK_STR(err, "NUL byte in command");

	/* len is the end, whatever follows in memory. */
	CHECK_INT(parse_n("start wait=5", 5, 0), 0);
	CHECK_INT(cmd.verb, CTL_START);
	CHECK_INT(cmd.wait_s, -1);
	CHECK_INT(parse_n("kill 15", 6, 0), 0);
	CHECK_INT(cmd.signal, 1);
	CHECK_INT(parse_n("stop wait=123", 11, 0), 0);
	CHECK_INT(cmd.wait_s, 1);
}

static void test_err_buffer(void)
{
	char small[8];
	struct ctl_cmd c;

	/* Truncated, NUL-terminated, no write past errlen. */
	memset(small, 'X', sizeof small);
	CHECK_INT(ctl_parse("foo", 3, 0, &c, small, 5), -EINVAL);
	CHECK_STR(small, "unkn");
	CHECK_INT(small[5], 'X');

	memset(small, 'X', sizeof small);
	CHECK_INT(ctl_parse("foo", 3, 0, &c, small, 1), -EINVAL);
	CHECK_STR(small, "");
	CHECK_INT(small[1], 'X');

	memset(small, 'X', sizeof small);
	CHECK_INT(ctl_parse("foo", 3, 0, &c, small, 0), -EINVAL);
	CHECK_INT(small[0], 'X');

	CHECK_INT(ctl_parse("foo", 3, 0, &c, NULL, 0), -EINVAL);
	CHECK_INT(ctl_parse("stop", 4, 0, &c, NULL, 0), 0);
	CHECK_INT(c.verb, CTL_STOP);

	/* Success clears err. */
	memset(small, 'X', sizeof small);
	CHECK_INT(ctl_parse("stop", 4, 0, &c, small, sizeof small), 0);
	CHECK_STR(small, "");
}

static void test_names(void)
{
	CHECK_STR(ctl_verb_name(CTL_START), "start");
	CHECK_STR(ctl_verb_name(CTL_STOP), "stop");
	CHECK_STR(ctl_verb_name(CTL_RESTART), "restart");
	CHECK_STR(ctl_verb_name(CTL_RESTORE), "restore");
	CHECK_STR(ctl_verb_name(CTL_RESET_BUDGET), "reset-budget");
	CHECK_STR(ctl_verb_name(CTL_KILL), "kill");
	CHECK_STR(ctl_verb_name(CTL_RELOAD), "reload");
	CHECK_STR(ctl_verb_name(CTL_STOP_ALL), "stop-all");
	CHECK_STR(ctl_verb_name(CTL_START_ALL), "start-all");
	CHECK_STR(ctl_verb_name(CTL_NONE), "none");
	CHECK_STR(ctl_verb_name((enum ctl_verb)42), "unknown");
}

static void test_signals(void)
{
	static const char *const names[] = {
		"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
		"KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "CHLD",
		"CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
		"VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
	};
	size_t i;

	/* Linux numbers (x86-64, arm64 and the generic ABI agree on these). */
	CHECK_INT(ctl_signal_parse("HUP"), 1);
	CHECK_INT(ctl_signal_parse("INT"), 2);
	CHECK_INT(ctl_signal_parse("KILL"), 9);
	CHECK_INT(ctl_signal_parse("USR1"), 10);
	CHECK_INT(ctl_signal_parse("SEGV"), 11);
	CHECK_INT(ctl_signal_parse("TERM"), 15);
	CHECK_INT(ctl_signal_parse("CHLD"), 17);
	CHECK_INT(ctl_signal_parse("STOP"), 19);
	CHECK_INT(ctl_signal_parse("WINCH"), 28);
	CHECK_INT(ctl_signal_parse("IO"), 29);
	CHECK_INT(ctl_signal_parse("PWR"), 30);
	CHECK_INT(ctl_signal_parse("SYS"), 31);
	CHECK_INT(ctl_signal_parse("SIGTERM"), 15);
	CHECK_INT(ctl_signal_parse("sigterm"), 15);
	CHECK_INT(ctl_signal_parse("Term"), 15);
	CHECK_INT(ctl_signal_parse("vtalrm"), SIGVTALRM);
	CHECK_INT(ctl_signal_parse("15"), 15);
	CHECK_INT(ctl_signal_parse("015"), 15);
	CHECK_INT(ctl_signal_parse("1"), 1);
	CHECK_INT(ctl_signal_parse("64"), 64);

	CHECK_INT(ctl_signal_parse(NULL), -EINVAL);
	CHECK_INT(ctl_signal_parse(""), -EINVAL);
	CHECK_INT(ctl_signal_parse("0"), -EINVAL);
	CHECK_INT(ctl_signal_parse("65"), -EINVAL);
	CHECK_INT(ctl_signal_parse("-1"), -EINVAL);
	CHECK_INT(ctl_signal_parse("+1"), -EINVAL);
	CHECK_INT(ctl_signal_parse("1 "), -EINVAL);
	CHECK_INT(ctl_signal_parse(" TERM"), -EINVAL);
	CHECK_INT(ctl_signal_parse("SIG"), -EINVAL);
	CHECK_INT(ctl_signal_parse("SIG15"), -EINVAL);
	CHECK_INT(ctl_signal_parse("SIGSIGTERM"), -EINVAL);
	CHECK_INT(ctl_signal_parse("TERMX"), -EINVAL);
	CHECK_INT(ctl_signal_parse("4294967311"), -EINVAL);

	CHECK_STR(ctl_signal_name(15), "TERM");
	CHECK_STR(ctl_signal_name(9), "KILL");
	CHECK_STR(ctl_signal_name(1), "HUP");
	CHECK_STR(ctl_signal_name(29), "IO");
	CHECK_STR(ctl_signal_name(31), "SYS");
	CHECK(ctl_signal_name(0) == NULL);
	CHECK(ctl_signal_name(-15) == NULL);
	CHECK(ctl_signal_name(16) == NULL);    /* STKFLT: not in the table */
	CHECK(ctl_signal_name(34) == NULL);
	CHECK(ctl_signal_name(65) == NULL);

	/* Every name round-trips, with and without the prefix. */
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char buf[16];
		int sig = ctl_signal_parse(names[i]);

		CHECK(sig > 0);
		CHECK_STR(ctl_signal_name(sig), names[i]);
		snprintf(buf, sizeof buf, "sig%s", names[i]);
		CHECK_INT(ctl_signal_parse(buf), sig);
	}
}

int main(void)
{
	test_runtime_verbs();
	test_root_verbs();
	test_unknown();
	test_kill();
	test_wait();
	test_empty_and_lines();
	test_limits();
	test_err_buffer();
	test_names();
	test_signals();
	return test_summary("ctl");
}
