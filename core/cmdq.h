/*
 * cmdq.h - the one way in from the FUSE threads to the loop: a queue of
 * commands (ctl writes, interrupts), a mutex and an eventfd.  The FUSE
 * side knows nothing else of the loop.
 */
#ifndef ARW_CMDQ_H
#define ARW_CMDQ_H

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

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

/* Hand a command to the loop (takes ownership).  Any thread.  Once the
 * loop has ended: -ESHUTDOWN, and the command stays the caller's. */
int loop_submit(struct loop_cmd *c);
/* Park id for requests that may wait: unique per process. */
uint64_t loop_park_id(void);

/* Loop side: the eventfd that says commands are queued (0 or -errno). */
int cmdq_init(void);
int cmdq_fd(void);
/* Take every queued command, oldest first (and queue no more, `close`). */
struct loop_cmd *cmdq_take(bool close);
void cmdq_fini(void);

#endif
