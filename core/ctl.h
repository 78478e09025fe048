/*
 * ctl.h - parsing of writes to ctl files (pure).  Called by FUSE threads.
 */
#ifndef ARW_CTL_H
#define ARW_CTL_H

#include <stddef.h>

#define CTL_MAX_WRITE 4096

enum ctl_verb {
	CTL_NONE = 0,
	/* runtime ctl */
	CTL_START, CTL_STOP, CTL_RESTART, CTL_RESTORE, CTL_RESET_BUDGET, CTL_KILL,
	/* root ctl */
	CTL_RELOAD, CTL_STOP_ALL, CTL_START_ALL,
};

struct ctl_cmd {
	enum ctl_verb verb;
	int signal;        /* CTL_KILL */
	int wait_s;        /* -1 = no wait= given, else seconds (0..86400) */
};

/* Parse one write.  `root` selects the root ctl verb set.  Accepts one verb
 * per write with an optional trailing newline, leading/trailing blanks, and an
 * optional " wait=N".  On error returns -EINVAL and writes a one-line message
 * (no newline) into err. */
int ctl_parse(const char *buf, size_t len, int root, struct ctl_cmd *out,
	      char *err, size_t errlen);

const char *ctl_verb_name(enum ctl_verb v);
/* "TERM", "SIGTERM", "term", "15" -> signal number; -EINVAL otherwise. */
int ctl_signal_parse(const char *s);
/* 15 -> "TERM"; numbers without a name -> NULL. */
const char *ctl_signal_name(int sig);

#endif
