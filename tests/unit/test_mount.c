/*
 * test_mount.c - mnt_parse_line, the pure part of fs/mount.c: a line of
 * /proc/self/mountinfo into its mount point (unescaped), device, type,
 * source and propagation.
 */
#include "mount.h"
#include "test.h"

#include <errno.h>
#include <limits.h>

static void test_parse(void)
{
	char pt[PATH_MAX];
	struct mnt_entry e;

	CHECK_INT(mnt_parse_line("812 27 0:61 / /run/arw/fs rw,nosuid,nodev,relatime shared:412 - fuse.arw arw "
				 "rw,user_id=0,group_id=0\n", pt, sizeof(pt), &e), 0);
	CHECK_STR(pt, "/run/arw/fs");
	CHECK_STR(e.fstype, "fuse.arw");
	CHECK_STR(e.source, "arw");
	CHECK_INT(e.maj, 0);
	CHECK_INT(e.min, 61);
	CHECK(e.shared);
	/* a slave of a peer group is not shared itself */
	CHECK_INT(mnt_parse_line("90 27 254:0 /run/arw /run/arw rw,relatime master:7 - ext4 /dev/vda rw\n",
				 pt, sizeof(pt), &e), 0);
	CHECK(!e.shared);
	/* both: shared and a slave */
	CHECK_INT(mnt_parse_line("91 27 254:0 / /x rw shared:3 master:7 - ext4 /dev/vda rw\n", pt, sizeof(pt), &e), 0);
	CHECK(e.shared);
	/* private; "shared:" in the source or the super options is not propagation */
	CHECK_INT(mnt_parse_line("27 1 254:0 / / rw,relatime - ext4 /dev/shared:1 rw,x shared:2\n", pt, sizeof(pt), &e), 0);
	CHECK(!e.shared);
	CHECK_STR(pt, "/");
	/* blanks in the mount point come escaped */
	CHECK_INT(mnt_parse_line("5 1 0:9 / /tmp/a\\040b rw - tmpfs tmpfs rw\n", pt, sizeof(pt), &e), 0);
	CHECK_STR(pt, "/tmp/a b");
	CHECK_INT(mnt_parse_line("garbage\n", pt, sizeof(pt), &e), -EINVAL);
	CHECK_INT(mnt_parse_line("5 1 0:9 / /x rw no-separator\n", pt, sizeof(pt), &e), -EINVAL);
}

int main(void)
{
	test_parse();
	return test_summary("mount");
}
