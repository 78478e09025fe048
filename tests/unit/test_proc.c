/*
 * test_proc.c - the pure parts of process tracking: where cgroup v2 is
 * mounted (mountinfo), the daemon's own cgroup (/proc/self/cgroup), a
 * /proc/<pid>/stat line, and the environment marker match.
 */
#include "cgroup.h"
#include "procscan.h"
#include "test.h"

#include <errno.h>
#include <string.h>

/* cg_find_mount on a text, as if it were /proc/self/mountinfo */
static int find_in(const char *text, char *out, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	if (!f)
		return -errno;
	r = cg_find_mount(f, out, len);
	fclose(f);
	return r;
}

static void test_find_mount(void)
{
	char out[256];
	/* a hybrid layout, as on Debian machines with cgroup v1 controllers */
	const char *hybrid =
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	const char *pure =
		"22 1 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
	const char *escaped = "50 1 0:40 / /mnt/my\\040cg rw - cgroup2 none rw\n";
	const char *v1only = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
	const char *tricky = "33 1 0:30 / /cgroup2 rw - ext4 /dev/sda1 rw\n";

	CHECK_INT(find_in(hybrid, out, sizeof(out)), 0);
	CHECK_STR(out, "/sys/fs/cgroup/unified");
	CHECK_INT(find_in(pure, out, sizeof(out)), 0);
	CHECK_STR(out, "/sys/fs/cgroup");
	CHECK_INT(find_in(escaped, out, sizeof(out)), 0);
	CHECK_STR(out, "/mnt/my cg");
	CHECK_INT(find_in(v1only, out, sizeof(out)), -ENOENT);
	CHECK_INT(find_in(tricky, out, sizeof(out)), -ENOENT);
	CHECK_INT(find_in("", out, sizeof(out)), -ENOENT);
	CHECK_INT(find_in("garbage without fields", out, sizeof(out)), -ENOENT);
}

static void test_find_own(void)
{
	char out[256];

	CHECK_INT(cg_find_own("9:name=systemd:/\n4:memory:/x\n0::/\n", out, sizeof(out)), 0);
	CHECK_STR(out, "/");
	CHECK_INT(cg_find_own("0::/system.slice/arw-supervisor.service\n", out, sizeof(out)), 0);
	CHECK_STR(out, "/system.slice/arw-supervisor.service");
	CHECK_INT(cg_find_own("4:memory:/x\n", out, sizeof(out)), -ENOENT);
}

static void test_stat(void)
{
	struct proc_info pi;

	/* a comm with spaces and a ')' in it */
	CHECK_INT(proc_parse_stat("1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 "
				  "1000 10 18446744073709551615", &pi), 0);
	CHECK_INT(pi.state, 'S');
	CHECK_INT(pi.ppid, 1);
	CHECK_INT(pi.pgrp, 1234);
	CHECK_INT(pi.sid, 1234);
	CHECK_INT((long long)pi.start, 98765);
	CHECK_INT(proc_parse_stat("77 (z) Z 5 6 7 0", &pi), -EIO);   /* cut short */
	CHECK_INT(proc_parse_stat("no parenthesis", &pi), -EIO);
}

static void test_env(void)
{
	const char blk[] = "PATH=/bin\0ARW_RUNTIME_ID=a\0ARW_MOUNT=/arw\0";
	size_t n = sizeof(blk) - 1;

	CHECK(env_block_has(blk, n, "ARW_MOUNT=/arw"));
	CHECK(env_block_has(blk, n, "ARW_RUNTIME_ID=a"));
	CHECK(!env_block_has(blk, n, "ARW_RUNTIME_ID=ab"));   /* a prefix is not a match */
	CHECK(!env_block_has(blk, n, "ARW_MOUNT=/ar"));
	CHECK(!env_block_has(blk, n, "ARW_MOUNT=/arw/x"));
	CHECK(!env_block_has(blk, n - 1, "ARW_MOUNT=/arw/"));
	CHECK(env_block_has(blk, n - 1, "ARW_MOUNT=/arw"));     /* no final NUL */
	CHECK(!env_block_has("", 0, "A=b"));
}

int main(void)
{
	test_find_mount();
	test_find_own();
	test_stat();
	test_env();
	return test_summary("proc");
}
