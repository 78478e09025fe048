/*
 * fuzz_ctl.c - libFuzzer target for ctl_parse(), on the runtime ctl
 * (root = 0) and the root ctl (root = 1).
 *
 * Invariants (a broken one traps):
 *  - the result is 0 or -EINVAL;
 *  - on 0 the verb belongs to that ctl, wait_s is -1 or 0..86400, a kill has
 *    a signal 1..64 (any other verb has none) and err is empty;
 *  - on -EINVAL the command is CTL_NONE and err holds a message;
 *  - err is always NUL-terminated and one line, also when it is cut short.
 */
#include "ctl.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			__builtin_trap();                                    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, int root, size_t errlen)
{
	struct ctl_cmd cmd;
	char err[512];
	int r;

	/* Garbage in err and cmd, so that what ctl_parse leaves is its own. */
	memset(err, 'X', sizeof err);
	memset(&cmd, 0x5a, sizeof cmd);
	r = ctl_parse((const char *)data, size, root, &cmd, err, errlen);

	CHECK(r == 0 || r == -EINVAL);
	CHECK(memchr(err, '\0', errlen) != NULL);
	CHECK(strchr(err, '\n') == NULL);
	/* Nothing written past errlen. */
	for (size_t i = errlen; i < sizeof err; i++)
		CHECK(err[i] == 'X');

	if (r == 0) {
		if (root)
			CHECK(cmd.verb == CTL_RELOAD || cmd.verb == CTL_STOP_ALL ||
			      cmd.verb == CTL_START_ALL);
		else
			CHECK(cmd.verb >= CTL_START && cmd.verb <= CTL_KILL);
		CHECK(cmd.wait_s == -1 || (cmd.wait_s >= 0 && cmd.wait_s <= 86400));
		if (cmd.verb == CTL_KILL)
			CHECK(cmd.signal >= 1 && cmd.signal <= 64);
		else
			CHECK(cmd.signal == 0);
		CHECK(err[0] == '\0');
	} else {
		CHECK(cmd.verb == CTL_NONE);
		CHECK(err[0] != '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int root = 0; root <= 1; root++) {
		one(data, size, root, 512);     /* room for any message */
		one(data, size, root, 24);      /* messages cut short */
	}
	return 0;
}
