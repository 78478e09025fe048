/*
 * loop.h - the one event loop (epoll) and the command queue that feeds it.
 * The loop thread owns every runtime, every child fd and the prober; FUSE
 * threads only call loop_submit().
 */
#ifndef ARW_LOOP_H
#define ARW_LOOP_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"

/* epoll tags: the high 32 bits say what, the low 32 bits which. */
enum loop_tag {
	TAG_SIGNAL = 1, TAG_CMD, TAG_INOTIFY, TAG_CURL, TAG_RT_PID, TAG_RT_OUT,
	TAG_XPROBE_PID, TAG_XPROBE_OUT, TAG_NOTIFY_ACK, TAG_NOTIFY_EXIT, TAG_FS_END, TAG_MOUNTS,
	TAG_RT_CG, TAG_XPROBE_CG,
};
#define LOOP_TAG(t, i) (((uint64_t)(t) << 32) | (uint32_t)(i))

int loop_watch(int fd, uint32_t events, uint64_t tag);
int loop_rewatch(int fd, uint32_t events, uint64_t tag);
void loop_unwatch(int fd);

struct fs_open;  /* fs.c's per-open state */

enum cmd_kind { CMD_CTL_RT = 1, CMD_CTL_ROOT, CMD_INTERRUPT };

/* One request from a FUSE thread.  The loop answers `req` (fuse_reply_*)
 * when the command is done, possibly much later (wait=). */
struct loop_cmd {
	enum cmd_kind kind;
	uint32_t slot, gen;        /* CMD_CTL_RT */
	struct ctl_cmd ctl;
	int parse_err;             /* -EINVAL when ctl_parse failed */
	char text[256];            /* the command as written, one line */
	char errmsg[256];          /* ctl_parse's message */
	fuse_req_t req;
	size_t size;               /* bytes to acknowledge on success */
	struct fs_open *of;        /* where the reply text goes */
	uint64_t park_id;          /* CMD_INTERRUPT: which parked request */
	struct loop_cmd *next;
};

/* Hand a command to the loop (takes ownership).  Any thread. */
void loop_submit(struct loop_cmd *c);
/* Park id for requests that may wait: unique per process. */
uint64_t loop_park_id(void);

#endif
