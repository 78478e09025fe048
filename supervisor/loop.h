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

#include "cmdq.h"

#endif
