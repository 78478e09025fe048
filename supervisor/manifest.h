/*
 * manifest.h - parsed runtime manifests (pure: no fd, no clock, no FUSE).
 *
 * manifest_parse() turns the text of one manifest file into runtime specs, or
 * into a list of "file:line:col: message" errors.  A file with any error yields
 * no specs at all: the caller keeps what was running.  Safe from any thread.
 */
#ifndef ARW_MANIFEST_H
#define ARW_MANIFEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_MAX_BYTES (1024 * 1024)
#define RT_ID_MAX 64

enum accel {
	ACCEL_CPU = 0, ACCEL_GPU_CUDA, ACCEL_GPU_ROCM, ACCEL_GPU_METAL,
	ACCEL_GPU_VULKAN, ACCEL_NPU, ACCEL_COUNT
};
enum modality { MOD_TEXT = 1, MOD_AUDIO = 2, MOD_VISION = 4 };
enum restart_policy { RESTART_ON_FAILURE = 0, RESTART_ALWAYS, RESTART_NEVER };
enum probe_type { PROBE_NONE = 0, PROBE_HTTP, PROBE_TCP, PROBE_EXEC };

struct kv {
	char *key;
	char *val;
};

struct health_spec {
	enum probe_type type;
	char *url;              /* PROBE_HTTP */
	char *tcp;              /* PROBE_TCP, "host:port" */
	char **exec;            /* PROBE_EXEC, NULL-terminated argv */
	size_t nexec;
	char *method;           /* default "GET" */
	int expect_status;      /* default 200 */
	char *expect_body;      /* substring, NULL = any */
	int timeout_ms;         /* default 5000 */
	int interval_ms;        /* default from manifest_defaults */
	int startup_timeout_ms; /* default 120000 */
	int failure_threshold;  /* default 3 */
};

/* Immutable once loaded, and refcounted: a runtime holds one reference,
 * each published view another.  `json` and `probe_target` are rendered
 * once, by rt_spec_seal() in the loop thread, before any view shares it. */
struct rt_spec {
	atomic_int ref;
	char *json;                 /* the effective manifest (rt_spec_to_json) */
	char *probe_target;         /* the URL, host:port or exec command line; NULL none */
	char id[RT_ID_MAX + 1];
	unsigned id_line, id_col;   /* where the id value stands in the file */
	char *adapter;              /* "process" */
	char *name;                 /* default: id */
	char *profile;              /* may be NULL */
	char *preset;               /* may be NULL */
	unsigned modalities;        /* enum modality bits; default MOD_TEXT */
	enum accel accelerator;     /* default ACCEL_CPU */
	bool auto_start;            /* default false */
	struct kv *tags;
	size_t ntags;

	/* process */
	char *command;              /* as written in the manifest */
	char **args;                /* NULL-terminated, without argv[0] */
	size_t nargs;
	struct kv *env;
	size_t nenv;
	char *workdir;              /* may be NULL */
	char *user;                 /* may be NULL */
	char *group;                /* may be NULL */
	struct health_spec health;
	int stop_signal;            /* default SIGTERM */
	int stop_timeout_ms;        /* default 10000 */
	size_t ring_bytes;          /* default 65536 */
	size_t file_max_bytes;      /* default 1048576 */
	int log_files;              /* default 3 */

	enum restart_policy restart_policy; /* default on-failure */
	int max_restarts;           /* default from manifest_defaults */
	int window_seconds;         /* default from manifest_defaults */
};

/* Defaults that come from the environment (ARW_RUNTIME_*). */
struct manifest_defaults {
	int max_restarts;       /* ARW_RUNTIME_RESTART_MAX, 3 */
	int window_seconds;     /* ARW_RUNTIME_RESTART_WINDOW_SEC, 600 */
	int interval_ms;        /* ARW_RUNTIME_HEALTH_INTERVAL_MS, 5000 */
};

struct manifest_result {
	struct rt_spec **specs;  /* nspecs entries; empty when nerrors > 0 */
	size_t nspecs;
	char **errors;           /* "file:line:col: message", no trailing newline */
	size_t nerrors;
};

/* Parse `len` bytes of `text` (need not be NUL-terminated).  `file` is the name
 * used in error messages (the base name of the manifest).  Returns 0 when the
 * file is good, -EINVAL when out->errors holds at least one error, -ENOMEM. */
int manifest_parse(const char *file, const char *text, size_t len,
		   const struct manifest_defaults *defs, struct manifest_result *out);
void manifest_result_free(struct manifest_result *res);

/* Add an error to a result (used by the folder scanner for cross-file checks:
 * duplicate ids, permissions, size).  Drops the specs, as any error does. */
int manifest_add_error(struct manifest_result *res, const char *file,
		       unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The effective manifest with every default filled in, as pretty JSON with a
 * trailing newline.  Caller frees. */
char *rt_spec_to_json(const struct rt_spec *s);

/* True when the fields that affect the running process differ (command, args,
 * env, workdir, user, group, stop, logs).  Health, restart policy, name, tags
 * and the like can change without a restart. */
bool rt_spec_launch_differs(const struct rt_spec *a, const struct rt_spec *b);

/* A copy with a reference of its own (json and probe_target not copied). */
struct rt_spec *rt_spec_dup(const struct rt_spec *s);
struct rt_spec *rt_spec_ref(struct rt_spec *s);
/* Drop a reference; the last one frees it.  NULL is fine. */
void rt_spec_free(struct rt_spec *s);
/* Render json and probe_target if not yet done.  0 or -ENOMEM. */
int rt_spec_seal(struct rt_spec *s);

/* Name tables shared by the renderers. */
const char *accel_name(enum accel a);          /* "cpu", "gpu_cuda", ... */
const char *restart_policy_name(enum restart_policy p);
bool manifest_file_ignored(const char *name);  /* dotfiles, *~, *.swp, *.tmp, .#*, not *.json */
bool rt_id_valid(const char *id);

#endif
