/*
 * spec.h - a runtime's spec: what one manifest entry asks for, with every
 * default filled in.  Immutable once sealed and refcounted; copied,
 * compared, rendered and freed here (spec.c).  Pure: no fd, no clock.
 * manifest.c makes them from a file's text.
 */
#ifndef ARW_SPEC_H
#define ARW_SPEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	bool accelerator_set;       /* the manifest names one ("Unspecified" if not) */
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

	/* when the accelerator is missing: what to run instead */
	bool has_fallback;
	enum accel fb_accelerator;  /* default ACCEL_CPU */
	char **fb_args;             /* replaces args when fb_args_set */
	size_t fb_nargs;
	bool fb_args_set;
	struct kv *fb_env;          /* over env */
	size_t fb_nenv;
	bool prefer_restart;        /* "prefer": "restart": back to it once it appears */

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

/* A spec with every default in place (from d), string fields NULL but for
 * the health check's method, and an empty argv; NULL when out of memory. */
struct rt_spec *rt_spec_new(const struct manifest_defaults *d);

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

/* The spec to launch on its fallback: args replaced by fallback.args (when
 * given), fallback.env over env, the fallback's accelerator.  A reference
 * of its own; NULL out of memory. */
struct rt_spec *rt_spec_fallback(const struct rt_spec *s);

/* Free an argv-like array of n strings, and n key/value pairs. */
void spec_strv_free(char **v, size_t n);
void spec_kv_free(struct kv *kv, size_t n);

/* Names, as manifests write them and the tree shows them. */
extern const char *const accel_names[ACCEL_COUNT];   /* "cpu", "gpu_cuda", ... */
extern const char *const restart_policy_names[3];
extern const char *const modality_names[3];          /* "text", "audio", "vision" */
extern const unsigned modality_bits[3];
const char *accel_name(enum accel a);
/* ARW's label of an accelerator value: "CPU", "GPU (CUDA)", ... */
const char *accel_label_of(enum accel a);
/* The label of a spec's accelerator; "Unspecified" when the manifest names
 * none. */
const char *accel_label(const struct rt_spec *s);
const char *restart_policy_name(enum restart_policy p);
/* A stop signal's name ("TERM"), NULL for one shown as a number. */
const char *stop_signal_name(int sig);
/* "TERM", "SIGTERM", "term": the stop signal, or 0. */
int stop_signal_by_name(const char *name);
bool rt_id_valid(const char *id);

#endif
