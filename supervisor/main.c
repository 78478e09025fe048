/*
 * main.c - options, start-up and shutdown order.
 *
 * Start: parse options, block the signals the loop reads from its signalfd
 * (before any thread exists, so every thread inherits the mask), become a
 * subreaper (orphans of a runtime's group come back to us to be reaped),
 * kill what an earlier crashed run left, mount, start the FUSE workers and
 * the notifier, load the manifests, run the loop.
 * Stop (SIGTERM/SIGINT): the loop stops every runtime in parallel and
 * returns once every process group is gone; then unmount.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "events.h"
#include "fs.h"
#include "inventory.h"
#include "log.h"
#include "mount.h"
#include "notify.h"
#include "persist.h"
#include "procscan.h"
#include "registry.h"
#include "spawn.h"
#include "sup.h"

void loop_fini(void);
void events_fini(void);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: arw-supervisor [-f] [-v] [--mount DIR] [--manifests DIR] [--state DIR] [options]\n"
		"  --mount DIR        mount point (default /arw)\n"
		"  --manifests DIR    watched manifest folder (default /etc/arw/runtimes.d)\n"
		"  --state DIR        budgets, desired states, log files (default /var/lib/arw)\n"
		"  --bundles DIR      bundle catalogs folder (accepted; not used yet)\n"
		"  --node-id ID       default: $ARW_NODE_ID, else the hostname, else \"local\"\n"
		"  --allow-other      let other users (dashboards, containers) use the tree\n"
		"  --ctl-group GROUP  members of GROUP may write ctl files\n"
		"  --check            validate the manifests folder, print every error, exit 0/2\n"
		"  --no-cgroup        track runtimes by process group, not one cgroup v2 each\n"
		"  --shared-parent    make the mount point's parent a shared mount (for containers)\n"
		"  --shutdown-timeout SEC  give up on processes that cannot die after SEC (30)\n"
		"  --accel-root DIR   read the accelerator inventory under DIR, not / (a fake tree)\n"
		"  -f                 stay in the foreground; -v more logging\n"
		"environment: ARW_NODE_ID, ARW_RUNTIME_RESTART_MAX (3), ARW_RUNTIME_RESTART_WINDOW_SEC (600),\n"
		"  ARW_RUNTIME_HEALTH_INTERVAL_MS (5000), ARW_RUNTIME_MATRIX_TTL_SEC (60, 10..900),\n"
		"  ARW_NO_CGROUP=1 (as --no-cgroup), ARW_ACCEL_ROOT (as --accel-root)\n");
}

static int env_int(const char *name, int def, int lo, int hi)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < lo || n > hi) {
		log_warnx("ignoring %s=%s (expected an integer from %d to %d)", name, v, lo, hi);
		return def;
	}
	return (int)n;
}

static int abs_path(const char *in, char *out, size_t len, bool must_exist)
{
	char cwd[PATH_MAX];

	if (must_exist) {
		if (!realpath(in, out))
			return -errno;
		return 0;
	}
	if (in[0] == '/') {
		snprintf(out, len, "%s", in);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if ((size_t)snprintf(out, len, "%s/%s", cwd, in) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Each runtime holds a few descriptors (pidfd, output pipe, log file) and
 * each probe a socket: 1,000 runtimes need more than the usual soft limit
 * of 1,024.  Take what the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	spawn_keep_fd_limit();
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the descriptor limit to %llu", (unsigned long long)rl.rlim_max);
	else
		log_debug("descriptor limit raised to %llu", (unsigned long long)rl.rlim_max);
}

static void publish_static(void)
{
	char buf[300];
	struct snap *s;
	int64_t now = now_ms();

	snprintf(buf, sizeof(buf), "%s\n", sup.node);
	if ((s = snap_new(buf, strlen(buf), now)))
		reg_top_set(TOP_NODE, s);
	snprintf(sup.root_ctl_last, sizeof(sup.root_ctl_last), "no command yet (verbs: reload, stop-all, start-all)\n");
	if ((s = snap_new(sup.root_ctl_last, strlen(sup.root_ctl_last), now)))
		reg_top_set(TOP_CTL, s);
	reg_dir_touch(TOP_RUNTIMES, now);
	reg_dir_touch(TOP_MANIFESTS, now);
	loop_publish_root();
}

struct opts {
	const char *mount, *manifests, *state, *node, *ctl_group;
	bool foreground, check;
	int shutdown_s;
};

/* The command line into o (and sup's flags).  -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "mount", required_argument, NULL, 'm' },
		{ "manifests", required_argument, NULL, 'M' },
		{ "state", required_argument, NULL, 's' },
		{ "bundles", required_argument, NULL, 'b' },
		{ "node-id", required_argument, NULL, 'n' },
		{ "allow-other", no_argument, NULL, 'a' },
		{ "ctl-group", required_argument, NULL, 'g' },
		{ "check", no_argument, NULL, 'c' },
		{ "no-cgroup", no_argument, NULL, 'C' },
		{ "shared-parent", no_argument, NULL, 'P' },
		{ "shutdown-timeout", required_argument, NULL, 'T' },
		{ "accel-root", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->mount = optarg; break;
		case 'M': o->manifests = optarg; break;
		case 's': o->state = optarg; break;
		case 'b': break;
		case 'n': o->node = optarg; break;
		case 'a': sup.fs.allow_other = true; break;
		case 'g': o->ctl_group = optarg; break;
		case 'c': o->check = true; break;
		case 'C': sup.no_cgroup = true; break;
		case 'P': sup.shared_parent = true; break;
		case 'A': snprintf(sup.accel_root, sizeof(sup.accel_root), "%s", optarg); break;
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 86400) {
				fprintf(stderr, "arw-supervisor: --shutdown-timeout wants seconds, 1 to 86400\n");
				return 2;
			}
			o->shutdown_s = (int)v;
			break;
		case 'f': o->foreground = true; break;
		case 'v': sup.verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "arw-supervisor: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The node id: --node-id, else $ARW_NODE_ID, else the hostname, else "local". */
static void set_node(const char *node)
{
	if (!node || !*node)
		node = getenv("ARW_NODE_ID");
	if (node && *node)
		snprintf(sup.node, sizeof(sup.node), "%s", node);
	else if (gethostname(sup.node, sizeof(sup.node) - 1) < 0 || !sup.node[0])
		snprintf(sup.node, sizeof(sup.node), "local");
}

/* sup's configuration from the options and the environment.  -1 to go on,
 * else the exit code. */
static int configure(const struct opts *o)
{
	const char *nc = getenv("ARW_NO_CGROUP"), *ct = getenv("ARW_CHECK_TIMERS");

	log_init(sup.verbose);
	sup.shutdown_timeout_ms = o->shutdown_s * 1000;
	if (nc && *nc && strcmp(nc, "0") != 0)
		sup.no_cgroup = true;
	sup.check_timers = ct && strcmp(ct, "1") == 0;
	if (!sup.accel_root[0] && getenv("ARW_ACCEL_ROOT"))
		snprintf(sup.accel_root, sizeof(sup.accel_root), "%s", getenv("ARW_ACCEL_ROOT"));
	raise_fd_limit();
	sup.uid = sup.fs.uid = geteuid();
	sup.gid = sup.fs.gid = getegid();
	sup.defs.max_restarts = env_int("ARW_RUNTIME_RESTART_MAX", 3, 0, BUDGET_MAX_RESTARTS);
	sup.defs.window_seconds = env_int("ARW_RUNTIME_RESTART_WINDOW_SEC", 600, 1, 604800);
	sup.defs.interval_ms = env_int("ARW_RUNTIME_HEALTH_INTERVAL_MS", 5000, 100, 3600000);
	sup.matrix_ttl = env_int("ARW_RUNTIME_MATRIX_TTL_SEC", 60, INT32_MIN, INT32_MAX);
	if (sup.matrix_ttl < 10)
		sup.matrix_ttl = 10;
	if (sup.matrix_ttl > 900)
		sup.matrix_ttl = 900;
	set_node(o->node);
	if (o->ctl_group) {
		struct group *g = getgrnam(o->ctl_group);
		char *end;
		unsigned long n = strtoul(o->ctl_group, &end, 10);

		if (g)
			sup.fs.ctl_gid = g->gr_gid;
		else if (*o->ctl_group && !*end)
			sup.fs.ctl_gid = (gid_t)n;
		else {
			fprintf(stderr, "arw-supervisor: unknown group \"%s\"\n", o->ctl_group);
			return 2;
		}
		sup.fs.has_ctl_group = true;
	}
	return -1;
}

/* The paths, the state folder's lock, the mount point's; then into the
 * background unless -f.  -1 to go on, else the exit code. */
static int claim(const struct opts *o)
{
	char err[512];
	int r;

	if (abs_path(o->mount, sup.mount, sizeof(sup.mount), false) < 0 ||
	    abs_path(o->state, sup.state, sizeof(sup.state), false) < 0) {
		fprintf(stderr, "arw-supervisor: bad --mount or --state path\n");
		return 2;
	}
	if ((r = persist_init(sup.state)) < 0) {
		fprintf(stderr, "arw-supervisor: state folder %s: %s\n", sup.state, strerror(-r));
		return 2;
	}
	if ((r = persist_lock(sup.mount, err, sizeof(err))) < 0) {
		fprintf(stderr, "arw-supervisor: %s\n", err);
		return r == -EWOULDBLOCK ? 1 : 2;
	}
	if ((r = mnt_claim(sup.mount, sup.state, sup.shared_parent, err, sizeof(err))) < 0) {
		fprintf(stderr, "arw-supervisor: %s\n", err);
		return r == -EBUSY ? 1 : 2;
	}
	if (!o->foreground) {
		if (daemon(1, 1) < 0) {
			fprintf(stderr, "arw-supervisor: cannot daemonize: %s\n", strerror(errno));
			return 1;
		}
		/* the locks came along; the pid they name did not */
		persist_lock_repid(sup.mount);
		mnt_owner_repid(sup.state);
	}
	return -1;
}

/* Signals (before any thread: every thread inherits the mask), the
 * subreaper, and what an earlier run of this mount left: by cgroup, by
 * the recorded process groups, by the environment marker. */
static void take_over(void)
{
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("cannot become a subreaper; orphans of a runtime may linger");
	cg_init(sup.mount, sup.no_cgroup);
	if ((r = persist_kill_stale()) > 0)
		log_info("cleaned up %d process group%s from an earlier run", r, r == 1 ? "" : "s");
	if ((r = proc_signal_marked(sup.mount, NULL, 0, SIGKILL, NULL, 0)) > 0)
		log_warnx("killed %d process%s of an earlier run that had left their process group",
			  r, r == 1 ? "" : "es");
}

/* Mount, run the loop until every runtime is stopped, unmount.  The exit code. */
static int serve(void)
{
	int r, rc = 0;

	if ((r = loop_init()) < 0) {
		log_warnx("cannot set up the event loop: %s", strerror(-r));
		return 1;
	}
	publish_static();
	inv_init(sup.accel_root);   /* before the mount: accelerators.json is there at once */
	if ((r = fs_mount(sup.mount, &sup.fs)) < 0) {
		log_warnx("cannot mount at %s", sup.mount);
		return 1;
	}
	if ((r = notify_start(sup.mount)) < 0 || (r = fs_start()) < 0 || (r = loop_watch_tree()) < 0) {
		log_warnx("cannot start: %s", strerror(-r));
		fs_stop(sup.mount);
		return 1;
	}
	if ((r = scan_init()) < 0)
		log_warnx("cannot watch %s: %s; changes need `echo reload > ctl`",
			  sup.manifests, strerror(-r));
	log_info("arw-supervisor: node %s, mounted at %s, manifests %s, state %s",
		 sup.node, sup.mount, sup.manifests, sup.state);
	scan_all();
	if (loop_run() < 0)
		rc = 1;
	if (sup.exit_code)
		rc = sup.exit_code;
	log_info("every runtime stopped; unmounting %s", sup.mount);
	notify_stop();
	fs_stop(sup.mount);
	mnt_release();
	cg_fini();
	inv_fini();
	loop_fini();
	reg_fini();
	events_fini();
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { .mount = "/arw", .manifests = "/etc/arw/runtimes.d",
			  .state = "/var/lib/arw", .shutdown_s = 30 };
	int r;

	if ((r = parse_options(argc, argv, &o)) >= 0 || (r = configure(&o)) >= 0)
		return r;
	if ((r = abs_path(o.manifests, sup.manifests, sizeof(sup.manifests), true)) < 0) {
		fprintf(stderr, "arw-supervisor: manifests folder %s: %s\n", o.manifests, strerror(-r));
		return 2;
	}
	if (o.check) {
		inv_load(sup.accel_root);   /* --check says what would not run as declared here */
		return scan_check();
	}
	if ((r = claim(&o)) >= 0)
		return r;
	take_over();
	return serve();
}
