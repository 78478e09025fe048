/*
 * hang-fuse.c - a FUSE file system that takes every lookup and never
 * answers it, for tests of processes that cannot die: a process that looks
 * up a name under MOUNTPOINT waits in the kernel, and once a fatal signal
 * has come, waits uninterruptibly (state D) until this daemon dies (its
 * /dev/fuse closes, the connection aborts, the lookup fails).
 *
 *   hang-fuse MOUNTPOINT
 * prints "mounted" when ready; runs until killed.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <string.h>

static void h_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)req;
	(void)parent;
	(void)name;   /* never answered */
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = h_lookup,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct fuse_session *se;

	if (argc != 2) {
		fprintf(stderr, "usage: hang-fuse MOUNTPOINT\n");
		return 2;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_session_mount(se, argv[1]) != 0) {
		fprintf(stderr, "hang-fuse: cannot mount %s\n", argv[1]);
		return 1;
	}
	printf("mounted\n");
	fflush(stdout);
	return fuse_session_loop(se) == 0 ? 0 : 1;
}
