/*
 * sup.h - the supervisor's loop-owned world: configuration, the runtime
 * table, the manifest files.  Everything here belongs to the loop thread
 * (main() fills the configuration before any thread starts); FUSE threads
 * never touch it, they read the registry.
 */
#ifndef ARW_SUP_H
#define ARW_SUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "budget.h"
#include "cgroup.h"
#include "events.h"
#include "ctl.h"
#include "fs.h"
#include "logring.h"
#include "loop.h"
#include "manifest.h"
#include "persist.h"
#include "registry.h"
#include "fsm.h"
#include "theap.h"
#include "render.h"
#include "waiter.h"

struct fuse_session;
struct fs_open;
struct probe;

struct runtime {
	struct rt_spec *spec;
	struct rt_spec *next_spec;   /* launch change waiting for the stop */
	char source[256];            /* manifest file name */
	int64_t loaded_at;
	char *rejected;              /* why the latest manifest update was refused */
	uint32_t slot, gen;
	struct fsm fsm;              /* phase, `after`, the life-cycle deadlines */
	struct theap_node timer;     /* its earliest deadline, in sup.timers */
	enum rt_state state;
	enum severity sev;
	char summary[200];
	enum desired desired;
	bool removing;
	bool latched;                /* stays down in error until an operator acts */

	pid_t pid;                   /* also the process group and session id */
	int pidfd, outfd;
	struct cg cg;                /* its cgroup (cgroup mode), kept while it exists */
	bool in_cg;                  /* the current process was born in rt->cg */
	bool cg_killed;              /* cgroup.kill was used on rt->cg: not reused */
	bool cg_spare;               /* rt->cg is empty and kept for the next spawn */
	bool sweep_pending;          /* fallback: kill what left the group, then reap */
#define SWEPT_MAX 64
	pid_t swept[SWEPT_MAX];      /* what the sweep killed: gone once these are */
	int nswept;
	int stuck_count;             /* processes still there at the last look */
	int64_t started_wall, started_mono;
	int quick_crashes;
	bool stop_timed_out;
	bool stop_for_health;        /* the stop under way follows failed checks */
	bool on_fallback;            /* this run is on the manifest's fallback */
	bool missing_accel;          /* not started: its accelerator is missing */
	int64_t restarts_total;      /* counted restarts since loaded (metrics) */
	int64_t exits[EXIT_KINDS];   /* process ends since loaded, by kind (metrics) */

	int64_t republish_at;        /* mono, 0 = none */
	bool ever_ready;
	int probe_failures;
	int startup_probes;          /* probes sent before the first pass */
	char probe_result[200];
	bool has_probe_result;
	int64_t probe_latency, probe_last_ok;
	struct probe *probe;         /* the health check in flight (any kind) */
	struct probe *xprobe;        /* exec probe whose processes are not all gone
				      * (rt->probe too while its result is wanted) */
	struct cg xcg;               /* its probes' cgroup */
	bool xin_cg;

	bool has_exit;
	int exit_code, exit_sig;
	int64_t exit_at;
	char exit_reason[160];

	struct budget budget;
	bool state_unsaved, pid_unsaved; /* the state folder refused a write */
	bool save_state_after, save_pid_after; /* to save once this pass has published */
	bool clear_pid_after;        /* its process ended: remove the pid file then */
	int save_errno;
	int64_t save_retry_at;       /* mono: try the unsaved files again */
	char *state_note;            /* a bad state file was set aside at load */
	struct logring *ring;
	int logfd;
	size_t logsize;
	int log_errno;               /* the log file cannot be written (0: fine) */
	char log_path[PATH_MAX];
	int64_t logs_notified, logs_notify_at;  /* mono: last IN_MODIFY of logs, next due */
	char ctl_last[700];

	struct rt_view *view;        /* the last published view; its texts, for change detection */
	int64_t mtime[RF_COUNT];
	struct waiter *waiters;
	bool dirty;
	bool in_todo;                /* on sup.todo */
	struct runtime *todo_prev, *todo_next;
	bool announced;              /* published once: its files' changes go to inotify */
	bool restore_pending;        /* restore/restart asked; completed not yet emitted */
	enum rt_state ev_state;      /* last state/severity/summary in an event */
	enum severity ev_sev;
	char ev_summary[200];
};

struct mfile {
	char name[256];
	struct rt_spec **specs;      /* the last good version */
	size_t nspecs;
	bool ok;
	bool deferred;               /* an id waited for its old runtime to go */
	uint64_t sig;                /* what was read last (bytes, mode, owner) */
};

struct sup {
	/* configuration (main, before threads) */
	char mount[PATH_MAX];
	char manifests[PATH_MAX];
	char state[PATH_MAX];
	char node[256];
	struct fs_config fs;         /* allow_other, owner, ctl group */
	int verbose;
	struct manifest_defaults defs;
	int matrix_ttl;
	bool no_cgroup;              /* --no-cgroup / ARW_NO_CGROUP=1 */
	bool shared_parent;          /* --shared-parent: the mount point's parent is a shared mount */
	char accel_root[256];        /* --accel-root / ARW_ACCEL_ROOT; "" = "/" */
	int shutdown_timeout_ms;     /* --shutdown-timeout */
	uid_t uid;
	gid_t gid;

	/* loop thread */
	struct runtime **rts;        /* indexed by registry slot */
	size_t nrts;
	struct theap timers;         /* every runtime with a deadline, by its earliest */
	/* every runtime with work for the end of the pass (dirty, a save,
	 * waiters, a sweep), in the order they got it: the pass looks at
	 * these, not at all of them (rt_todo) */
	struct runtime *todo, *todo_tail;
	bool check_timers;           /* ARW_CHECK_TIMERS=1: walk them all each pass too */
	struct mfile **mfiles;
	size_t nmfiles;
	bool shutting_down;
	int64_t shutdown_at;         /* mono: past it, abandon what is left */
	bool matrix_dirty;
	bool rescan_deferred;        /* a runtime went: retry deferred files */
	int exit_code;               /* 1 once the tree was lost for good */
	char root_ctl_last[700];
	struct waiter *root_waiters;  /* start-all/stop-all wait=N */
	int inotify_fd;
};

extern struct sup sup;

/* runtime.c */
struct runtime *rt_create(struct rt_spec *spec, const char *source, int64_t now);
void rt_remove(struct runtime *rt);
void rt_update_spec(struct runtime *rt, struct rt_spec *spec);
void rt_set_rejected(struct runtime *rt, const char *why);
void rt_on_sigchld(void);
/* Where a spec runs on this node: as declared, on its fallback, or
 * nowhere (its accelerator is missing and it has no fallback that fits). */
enum placement { PLACE_DECLARED, PLACE_FALLBACK, PLACE_NONE };
enum placement rt_placement(const struct rt_spec *s);
/* The inventory changed: start what waited for its accelerator, move back
 * from a fallback where the manifest prefers it, refresh the details. */
void rt_on_accelerators(void);
/* Fallback mode: kill, in one /proc walk, what left the process groups of
 * the runtimes whose leader ended; then finish their reaping.  Each pass. */
void rt_sweep(void);
/* Log the runtimes still running at the shutdown deadline, with pids. */
void rt_abandon(struct runtime *rt);
void rt_on_timer(struct runtime *rt, int64_t mono);
/* After rt_on_timer: report and drop a deadline left in the past. */
void rt_check_deadlines(struct runtime *rt, int64_t mono);
int64_t rt_deadline(const struct runtime *rt);
/* File rt in sup.timers under its earliest deadline: after anything that
 * may have moved one earlier (a life-cycle step, a waiter, a retry). */
void rt_timers_changed(struct runtime *rt);
/* rt has work for the end of the pass: on sup.todo (once).  rt_dirty: its
 * tree must be published again. */
void rt_todo(struct runtime *rt);
void rt_dirty(struct runtime *rt);
void rt_untodo(struct runtime *rt);
bool rt_has_todo(const struct runtime *rt);
void rt_publish(struct runtime *rt);
/* The saves a spawn left for after the publication (a crash's restart:
 * the new process runs, the tree shows it, then the disk is written). */
void rt_save_after_publish(struct runtime *rt);
void rt_ctl(struct runtime *rt, const struct loop_cmd *c);
void rt_stop_for_shutdown(struct runtime *rt);
bool rt_interrupt(struct runtime *rt, uint64_t park_id);
/* For a write waiting on `verb`: 0 done, an errno when it ended badly, -1
 * to keep waiting (stop waits for down, the rest for ready). */
int rt_wait_status(const struct runtime *rt, enum ctl_verb verb);
struct runtime *rt_find(const char *id);
/* start-all (up) or stop-all: 0, or the errno of the first runtime whose
 * new desired state could not be saved */
int rt_set_all(bool up);

/* control.c: the root ctl (reload, start-all, stop-all) and its waiters */
void root_ctl(struct loop_cmd *c);
void root_check_waiters(int64_t mono);

/* scan.c */
int scan_init(void);
void scan_all(void);
void scan_on_inotify(void);
void scan_deferred(void);
/* --check: parse every manifest, print errors; 0 ok, 2 errors */
int scan_check(void);

/* loop.c */
void loop_reply(fuse_req_t req, struct fs_open *of, int err, size_t size,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, sent only once the notifier has done what is queued now (so the
 * kernel's cache has forgotten removed entries); 1 s at most. */
void loop_reply_synced(fuse_req_t req, struct fs_open *of, int err, size_t size,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int loop_run(void);
int loop_init(void);
int loop_watch_tree(void);
void loop_publish_root(void);


#endif
