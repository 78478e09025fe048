/*
 * wedge-fuse.c - a FUSE daemon that wedges when killed, the way the
 * arw-supervisor of the first release could: a thread of its own blocks on
 * its own mount while a worker holds the request.  After a SIGKILL the
 * worker is gone, the blocked thread waits uninterruptibly for the answer
 * and keeps the process's file table, so /dev/fuse is never closed and the
 * connection never aborts.  For tests of the supervisor's start-up after
 * such a crash.
 *
 *   wedge-fuse MOUNTPOINT OWNER_FILE STATE_LOCK
 * mounts MOUNTPOINT (subtype arw, as arw-supervisor does), takes the flocks
 * an arw-supervisor would hold (its owner file and <state>/lock, with its
 * pid in them), makes the self-inflicted request, prints "wedgeable" and
 * waits to be killed.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int held[2];

static void w_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino == FUSE_ROOT_ID) {
		char c = 1;

		if (write(held[1], &c, 1) < 0) {
			/* the test sees no "wedgeable" then */
		}
		for (;;)
			pause();   /* keep the request; never answer */
	}
	memset(&st, 0, sizeof(st));
	fuse_reply_attr(req, &st, 0);
}

static const struct fuse_lowlevel_ops ops = { .getattr = w_getattr };

static void *serve(void *se)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	fuse_loop_cfg_set_max_threads(cfg, 4);
	fuse_session_loop_mt(se, cfg);
	return NULL;
}

static const char *mnt;

static void *self_request(void *arg)
{
	struct stat st;

	(void)arg;
	stat(mnt, &st);   /* GETATTR of the root: held by a worker forever */
	return NULL;
}

static int lock_file(const char *path, const char *extra)
{
	char buf[4200];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), n;

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "pid %d\n%s", (int)getpid(), extra);
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], "-o", "fsname=arw,subtype=arw", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	pthread_t t1, t2;
	char extra[4200], c;

	if (argc != 4) {
		fprintf(stderr, "usage: wedge-fuse MOUNTPOINT OWNER_FILE STATE_LOCK\n");
		return 2;
	}
	mnt = argv[1];
	if (pipe(held) < 0)
		return 1;
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_session_mount(se, mnt) != 0)
		return 1;
	snprintf(extra, sizeof(extra), "state %s\n", argv[3]);
	if (lock_file(argv[2], extra) < 0)
		return 1;
	snprintf(extra, sizeof(extra), "mount %s\n", mnt);
	if (lock_file(argv[3], extra) < 0)
		return 1;
	pthread_create(&t1, NULL, serve, se);
	pthread_create(&t2, NULL, self_request, NULL);
	if (read(held[0], &c, 1) != 1)
		return 1;
	printf("wedgeable\n");
	fflush(stdout);
	for (;;)
		pause();
}
