/*
 * spec.c - a runtime's spec (see spec.h): the name tables, and its life
 * cycle: new, copy, compare, render, seal, free.  Pure: no fd, no clock.
 */
#include "spec.h"
#include "ctl.h"
#include "jsontext.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- name tables -------------------------------------------------------- */

const char *const accel_names[ACCEL_COUNT] = {
	"cpu", "gpu_cuda", "gpu_rocm", "gpu_metal", "gpu_vulkan", "npu",
};
const char *const restart_policy_names[3] = { "on-failure", "always", "never" };
const char *const modality_names[3] = { "text", "audio", "vision" };
const unsigned modality_bits[3] = { MOD_TEXT, MOD_AUDIO, MOD_VISION };
/* Stop signals accepted by name (names from ctl.c's table); the rest are
 * accepted (and rendered) as numbers.  STOP, TSTP and CONT are left out on
 * purpose: they do not end a process. */
static const int stop_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGKILL, SIGUSR1, SIGUSR2, SIGPIPE,
	SIGALRM, SIGTERM, SIGWINCH,
};

const char *accel_name(enum accel a)
{
	return (unsigned)a < ACCEL_COUNT ? accel_names[a] : "unknown";
}

const char *accel_label_of(enum accel a)
{
	static const char *const labels[ACCEL_COUNT] = {
		"CPU", "GPU (CUDA)", "GPU (ROCm)", "GPU (Metal)", "GPU (Vulkan)", "NPU",
	};

	return (unsigned)a < ACCEL_COUNT ? labels[a] : "Other";
}

const char *accel_label(const struct rt_spec *s)
{
	return s->accelerator_set ? accel_label_of(s->accelerator) : "Unspecified";
}

const char *restart_policy_name(enum restart_policy p)
{
	return (unsigned)p < NELEM(restart_policy_names) ? restart_policy_names[p] : "unknown";
}

static bool stop_signal_named(int sig)
{
	for (size_t i = 0; i < NELEM(stop_signals); i++)
		if (stop_signals[i] == sig)
			return true;
	return false;
}

const char *stop_signal_name(int sig)
{
	return stop_signal_named(sig) ? ctl_signal_name(sig) : NULL;
}

int stop_signal_by_name(const char *name)
{
	int sig;

	if (*name >= '0' && *name <= '9')
		return 0;   /* numbers are JSON numbers here */
	sig = ctl_signal_parse(name);
	return sig > 0 && stop_signal_named(sig) ? sig : 0;
}

bool rt_id_valid(const char *id)
{
	size_t n;

	if (!id || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9')))
		return false;
	for (n = 1; id[n]; n++) {
		char c = id[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n <= RT_ID_MAX;
}

/* ---- rt_spec life cycle ------------------------------------------------- */

void spec_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void spec_kv_free(struct kv *kv, size_t n)
{
	if (!kv)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

struct rt_spec *rt_spec_ref(struct rt_spec *s)
{
	if (s)
		atomic_fetch_add(&s->ref, 1);
	return s;
}

void rt_spec_free(struct rt_spec *s)
{
	if (!s || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	free(s->json);
	free(s->probe_target);
	free(s->adapter);
	free(s->name);
	free(s->profile);
	free(s->preset);
	spec_kv_free(s->tags, s->ntags);
	free(s->command);
	spec_strv_free(s->args, s->nargs);
	spec_kv_free(s->env, s->nenv);
	free(s->workdir);
	free(s->user);
	free(s->group);
	free(s->health.url);
	free(s->health.tcp);
	spec_strv_free(s->health.exec, s->health.nexec);
	spec_strv_free(s->fb_args, s->fb_nargs);
	spec_kv_free(s->fb_env, s->fb_nenv);
	free(s->health.method);
	free(s->health.expect_body);
	free(s);
}

struct rt_spec *rt_spec_new(const struct manifest_defaults *d)
{
	struct rt_spec *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->ref, 1);
	s->modalities = MOD_TEXT;
	s->accelerator = ACCEL_CPU;
	s->args = calloc(1, sizeof(*s->args));
	s->health.type = PROBE_NONE;
	s->health.method = strdup("GET");
	s->health.expect_status = 200;
	s->health.timeout_ms = 5000;
	s->health.interval_ms = d->interval_ms;
	s->health.startup_timeout_ms = 120000;
	s->health.failure_threshold = 3;
	s->stop_signal = SIGTERM;
	s->stop_timeout_ms = 10000;
	s->ring_bytes = 65536;
	s->file_max_bytes = 1048576;
	s->log_files = 3;
	s->restart_policy = RESTART_ON_FAILURE;
	s->max_restarts = d->max_restarts;
	s->window_seconds = d->window_seconds;
	if (!s->args || !s->health.method) {
		rt_spec_free(s);
		return NULL;
	}
	return s;
}

static char *dup_or_null(const char *src, bool *ok)
{
	char *d;

	if (!src)
		return NULL;
	d = strdup(src);
	if (!d)
		*ok = false;
	return d;
}

static char **dup_strv(char *const *v, size_t n, bool *ok)
{
	char **d;

	if (!v)
		return NULL;
	d = calloc(n + 1, sizeof(*d));
	if (!d) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = dup_or_null(v[i], ok);
	return d;
}

static struct kv *dup_kv(const struct kv *kv, size_t n, bool *ok)
{
	struct kv *d;

	if (!kv)
		return NULL;
	d = calloc(n ? n : 1, sizeof(*d));
	if (!d) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		d[i].key = dup_or_null(kv[i].key, ok);
		d[i].val = dup_or_null(kv[i].val, ok);
	}
	return d;
}

struct rt_spec *rt_spec_dup(const struct rt_spec *s)
{
	struct rt_spec *d;
	bool ok = true;

	if (!s)
		return NULL;
	d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	*d = *s;
	atomic_init(&d->ref, 1);
	d->json = d->probe_target = NULL;
	/* Forget the borrowed pointers first, so that a failure half-way frees
	 * only what was copied. */
	d->adapter = d->name = d->profile = d->preset = NULL;
	d->command = d->workdir = d->user = d->group = NULL;
	d->tags = d->env = NULL;
	d->args = NULL;
	d->health.url = d->health.tcp = d->health.method = NULL;
	d->health.expect_body = NULL;
	d->health.exec = NULL;
	d->fb_args = NULL;
	d->fb_env = NULL;

	d->adapter = dup_or_null(s->adapter, &ok);
	d->name = dup_or_null(s->name, &ok);
	d->profile = dup_or_null(s->profile, &ok);
	d->preset = dup_or_null(s->preset, &ok);
	d->tags = dup_kv(s->tags, s->ntags, &ok);
	d->command = dup_or_null(s->command, &ok);
	d->args = dup_strv(s->args, s->nargs, &ok);
	d->env = dup_kv(s->env, s->nenv, &ok);
	d->workdir = dup_or_null(s->workdir, &ok);
	d->user = dup_or_null(s->user, &ok);
	d->group = dup_or_null(s->group, &ok);
	d->health.url = dup_or_null(s->health.url, &ok);
	d->health.tcp = dup_or_null(s->health.tcp, &ok);
	d->health.exec = dup_strv(s->health.exec, s->health.nexec, &ok);
	d->health.method = dup_or_null(s->health.method, &ok);
	d->health.expect_body = dup_or_null(s->health.expect_body, &ok);
	if (!d->tags)
		d->ntags = 0;
	if (!d->args)
		d->nargs = 0;
	if (!d->env)
		d->nenv = 0;
	if (!d->health.exec)
		d->health.nexec = 0;
	d->fb_args = s->fb_args ? dup_strv(s->fb_args, s->fb_nargs, &ok) : NULL;
	d->fb_env = s->fb_env ? dup_kv(s->fb_env, s->fb_nenv, &ok) : NULL;
	if (!d->fb_args)
		d->fb_nargs = 0;
	if (!d->fb_env)
		d->fb_nenv = 0;
	if (!ok) {
		rt_spec_free(d);
		return NULL;
	}
	return d;
}

/* Set key=val in *kv (n entries): replace its value, or append it. */
static bool kv_put(struct kv **kv, size_t *n, const char *key, const char *val)
{
	struct kv *nk;
	char *v = strdup(val);
	size_t i;

	if (!v)
		return false;
	for (i = 0; i < *n; i++) {
		if (strcmp((*kv)[i].key, key) == 0) {
			free((*kv)[i].val);
			(*kv)[i].val = v;
			return true;
		}
	}
	if (!(nk = realloc(*kv, (*n + 1) * sizeof(**kv))) || !(nk[*n].key = strdup(key))) {
		if (nk)
			*kv = nk;
		free(v);
		return false;
	}
	nk[*n].val = v;
	*kv = nk;
	(*n)++;
	return true;
}

struct rt_spec *rt_spec_fallback(const struct rt_spec *s)
{
	struct rt_spec *d = rt_spec_dup(s);
	bool ok = true;
	size_t i;

	if (!d)
		return NULL;
	d->accelerator = s->fb_accelerator;
	d->accelerator_set = true;
	if (s->fb_args_set) {
		spec_strv_free(d->args, d->nargs);
		d->args = dup_strv(s->fb_args, s->fb_nargs, &ok);
		d->nargs = d->args ? s->fb_nargs : 0;
	}
	for (i = 0; ok && i < s->fb_nenv; i++)
		ok = kv_put(&d->env, &d->nenv, s->fb_env[i].key, s->fb_env[i].val);
	if (!ok) {
		rt_spec_free(d);
		return NULL;
	}
	return d;
}

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = *(const struct kv *const *)a;
	const struct kv *y = *(const struct kv *const *)b;
	int r = strcmp(x->key ? x->key : "", y->key ? y->key : "");

	return r ? r : strcmp(x->val ? x->val : "", y->val ? y->val : "");
}

/* Same set of pairs, in any order.  Falls back to comparing in order when
 * memory is short: a spurious "differs" only costs a restart. */
static bool env_differs(const struct kv *a, size_t na, const struct kv *b,
			size_t nb)
{
	const struct kv **pa, **pb;
	bool differs = false;

	if (na != nb)
		return true;
	if (na == 0)
		return false;
	pa = malloc(na * sizeof(*pa));
	pb = malloc(nb * sizeof(*pb));
	if (!pa || !pb) {
		free(pa);
		free(pb);
		for (size_t i = 0; i < na; i++)
			if (str_differs(a[i].key, b[i].key) ||
			    str_differs(a[i].val, b[i].val))
				return true;
		return false;
	}
	for (size_t i = 0; i < na; i++) {
		pa[i] = &a[i];
		pb[i] = &b[i];
	}
	qsort(pa, na, sizeof(*pa), kv_cmp);
	qsort(pb, nb, sizeof(*pb), kv_cmp);
	for (size_t i = 0; i < na && !differs; i++)
		differs = kv_cmp(&pa[i], &pb[i]) != 0;
	free(pa);
	free(pb);
	return differs;
}

bool rt_spec_launch_differs(const struct rt_spec *a, const struct rt_spec *b)
{
	if (!a || !b)
		return a != b;
	if (str_differs(a->adapter, b->adapter) ||
	    str_differs(a->command, b->command) ||
	    str_differs(a->workdir, b->workdir) ||
	    str_differs(a->user, b->user) ||
	    str_differs(a->group, b->group))
		return true;
	if (a->nargs != b->nargs)
		return true;
	for (size_t i = 0; i < a->nargs; i++)
		if (str_differs(a->args[i], b->args[i]))
			return true;
	if (env_differs(a->env, a->nenv, b->env, b->nenv))
		return true;
	/* what runs when its accelerator is missing */
	if (a->has_fallback != b->has_fallback || a->fb_accelerator != b->fb_accelerator ||
	    a->fb_args_set != b->fb_args_set || a->fb_nargs != b->fb_nargs ||
	    env_differs(a->fb_env, a->fb_nenv, b->fb_env, b->fb_nenv))
		return true;
	for (size_t i = 0; i < a->fb_nargs; i++)
		if (str_differs(a->fb_args[i], b->fb_args[i]))
			return true;
	return a->stop_signal != b->stop_signal ||
	       a->stop_timeout_ms != b->stop_timeout_ms ||
	       a->ring_bytes != b->ring_bytes ||
	       a->file_max_bytes != b->file_max_bytes ||
	       a->log_files != b->log_files;
}

/* ---- rendering ---------------------------------------------------------- */

static void put_str(cJSON *o, const char *k, const char *v, bool *ok)
{
	if (v && !cJSON_AddStringToObject(o, k, v))
		*ok = false;
}

static void put_num(cJSON *o, const char *k, double v, bool *ok)
{
	if (!cJSON_AddNumberToObject(o, k, v))
		*ok = false;
}

static void put_strv(cJSON *o, const char *k, char *const *v, size_t n,
		     bool *ok)
{
	cJSON *a = cJSON_AddArrayToObject(o, k);

	if (!a) {
		*ok = false;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateString(v[i] ? v[i] : "");

		if (!e || !cJSON_AddItemToArray(a, e)) {
			cJSON_Delete(e);
			*ok = false;
			return;
		}
	}
}

static void put_kv(cJSON *o, const char *k, const struct kv *kv, size_t n,
		   bool *ok)
{
	cJSON *m = cJSON_AddObjectToObject(o, k);

	if (!m) {
		*ok = false;
		return;
	}
	for (size_t i = 0; i < n; i++)
		put_str(m, kv[i].key, kv[i].val ? kv[i].val : "", ok);
}

static cJSON *put_obj(cJSON *o, const char *k, bool *ok)
{
	cJSON *c = o ? cJSON_AddObjectToObject(o, k) : NULL;

	if (!c)
		*ok = false;
	return c;
}

/* The top-level fields: who the runtime is. */
static void put_identity(cJSON *root, const struct rt_spec *s, bool *ok)
{
	cJSON *mods;

	put_str(root, "id", s->id, ok);
	put_str(root, "adapter", s->adapter, ok);
	put_str(root, "name", s->name ? s->name : s->id, ok);
	put_str(root, "profile", s->profile, ok);
	put_str(root, "preset", s->preset, ok);
	mods = cJSON_AddArrayToObject(root, "modalities");
	if (!mods)
		*ok = false;
	for (size_t i = 0; mods && i < NELEM(modality_names); i++) {
		cJSON *e;

		if (!(s->modalities & modality_bits[i]))
			continue;
		e = cJSON_CreateString(modality_names[i]);
		if (!e || !cJSON_AddItemToArray(mods, e)) {
			cJSON_Delete(e);
			*ok = false;
		}
	}
	put_str(root, "accelerator", accel_name(s->accelerator), ok);
	if (!cJSON_AddBoolToObject(root, "auto_start", s->auto_start))
		*ok = false;
	put_kv(root, "tags", s->tags, s->ntags, ok);
}

static void put_health(cJSON *proc, const struct health_spec *h, bool *ok)
{
	cJSON *health = put_obj(proc, "health", ok);

	if (!health)
		return;
	if (h->type == PROBE_HTTP)
		put_str(health, "url", h->url, ok);
	else if (h->type == PROBE_TCP)
		put_str(health, "tcp", h->tcp, ok);
	else if (h->type == PROBE_EXEC)
		put_strv(health, "exec", h->exec, h->nexec, ok);
	put_str(health, "method", h->method ? h->method : "GET", ok);
	put_num(health, "expect_status", h->expect_status, ok);
	put_str(health, "expect_body", h->expect_body, ok);
	put_num(health, "timeout_ms", h->timeout_ms, ok);
	put_num(health, "interval_ms", h->interval_ms, ok);
	put_num(health, "startup_timeout_ms", h->startup_timeout_ms, ok);
	put_num(health, "failure_threshold", h->failure_threshold, ok);
}

/* "process": the launch, its health check, its stop and its logs. */
static void put_process(cJSON *root, const struct rt_spec *s, bool *ok)
{
	cJSON *proc = put_obj(root, "process", ok), *stop, *logs;
	const char *sig;

	if (proc) {
		put_str(proc, "command", s->command, ok);
		put_strv(proc, "args", s->args, s->nargs, ok);
		put_kv(proc, "env", s->env, s->nenv, ok);
		put_str(proc, "workdir", s->workdir, ok);
		put_str(proc, "user", s->user, ok);
		put_str(proc, "group", s->group, ok);
	}
	put_health(proc, &s->health, ok);
	stop = put_obj(proc, "stop", ok);
	if (stop) {
		sig = stop_signal_name(s->stop_signal);
		if (sig)
			put_str(stop, "signal", sig, ok);
		else
			put_num(stop, "signal", s->stop_signal, ok);
		put_num(stop, "timeout_ms", s->stop_timeout_ms, ok);
	}
	logs = put_obj(proc, "logs", ok);
	if (logs) {
		put_num(logs, "ring_bytes", (double)s->ring_bytes, ok);
		put_num(logs, "file_max_bytes", (double)s->file_max_bytes, ok);
		put_num(logs, "files", s->log_files, ok);
	}
}

char *rt_spec_to_json(const struct rt_spec *s)
{
	cJSON *root, *restart;
	char *text = NULL;
	bool ok = true;

	if (!s)
		return NULL;
	root = cJSON_CreateObject();
	if (!root)
		return NULL;
	put_identity(root, s, &ok);
	put_process(root, s, &ok);
	restart = put_obj(root, "restart", &ok);
	if (restart) {
		put_str(restart, "policy", restart_policy_name(s->restart_policy), &ok);
		put_num(restart, "max_restarts", s->max_restarts, &ok);
		put_num(restart, "window_seconds", s->window_seconds, &ok);
	}
	if (s->has_fallback) {
		cJSON *fb = put_obj(root, "fallback", &ok);

		if (fb) {
			put_str(fb, "accelerator", accel_name(s->fb_accelerator), &ok);
			if (s->fb_args_set)
				put_strv(fb, "args", s->fb_args, s->fb_nargs, &ok);
			put_kv(fb, "env", s->fb_env, s->fb_nenv, &ok);
		}
	}
	put_str(root, "prefer", s->prefer_restart ? "restart" : "stay", &ok);
	if (ok)
		text = json_text(root, NULL);
	cJSON_Delete(root);
	return text;
}

int rt_spec_seal(struct rt_spec *s)
{
	if (!s->json && !(s->json = rt_spec_to_json(s)))
		return -ENOMEM;
	if (s->probe_target)
		return 0;
	if (s->health.type == PROBE_HTTP && s->health.url)
		s->probe_target = strdup(s->health.url);
	else if (s->health.type == PROBE_TCP && s->health.tcp)
		s->probe_target = strdup(s->health.tcp);
	else if (s->health.type == PROBE_EXEC && s->health.nexec) {
		size_t i, len = 0;

		for (i = 0; i < s->health.nexec; i++)
			len += strlen(s->health.exec[i]) + 1;
		if ((s->probe_target = malloc(len + 1))) {
			s->probe_target[0] = '\0';
			for (i = 0; i < s->health.nexec; i++) {
				if (i)
					strcat(s->probe_target, " ");
				strcat(s->probe_target, s->health.exec[i]);
			}
		}
	} else {
		return 0;
	}
	return s->probe_target ? 0 : -ENOMEM;
}
