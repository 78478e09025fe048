/*
 * registry.c - published snapshots for the FUSE threads (see registry.h).
 *
 * reg.lock protects every field of `reg` below it.  Writers (the loop thread)
 * hold it for a pointer swap; readers (FUSE threads) hold it to take a
 * reference.  Nothing slow runs under it, and nothing calls into libfuse
 * while holding it.
 */
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "view.h"

struct reg_rt {
	bool used;
	bool removing;
	uint32_t gen;
	char id[RT_ID_MAX + 1];
	struct rt_view *view;
	struct logring *ring;   /* owned by the loop; valid while used */
};

struct reg_mf {
	bool used;
	char name[256];
	struct snap *snap;
};

static struct {
	pthread_rwlock_t lock;
	struct reg_rt *rt;      /* nrt slots */
	size_t nrt;
	struct reg_mf *mf;      /* nmf slots */
	size_t nmf;
	struct snap *top[TOP_MAX];
	int64_t dir_mtime[TOP_MAX];
	uint32_t next_gen;
} reg = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static const char *const rt_file_names[RF_COUNT] = {
	[RF_DIR] = "", [RF_STATE] = "state", [RF_STATUS] = "status",
	[RF_HEALTH] = "health.json", [RF_BUDGET] = "budget", [RF_LOGS] = "logs",
	[RF_CTL] = "ctl", [RF_MANIFEST] = "manifest.json", [RF_PID] = "pid",
};

static const char *const top_names[TOP_MAX] = {
	[TOP_README] = "README", [TOP_NODE] = "node", [TOP_CTL] = "ctl",
	[TOP_EVENTS] = "events", [TOP_MATRIX] = "runtime_matrix.json",
	[TOP_ACCEL] = "accelerators.json", [TOP_METRICS] = "metrics.prom",
	[TOP_MANIFESTS] = "manifests", [TOP_RUNTIMES] = "runtimes",
	[TOP_BUNDLES] = "bundles",
};

const char *rt_file_name(enum rt_file f)
{
	return (unsigned)f < RF_COUNT ? rt_file_names[f] : NULL;
}

const char *top_name(enum top t)
{
	return (unsigned)t < TOP_MAX ? top_names[t] : NULL;
}

struct snap *snap_new(const char *data, size_t len, int64_t mtime_ms)
{
	struct snap *s = malloc(sizeof(*s) + len + 1);

	if (!s)
		return NULL;
	atomic_init(&s->ref, 1);
	s->mtime_ms = mtime_ms;
	s->len = len;
	if (len)
		memcpy(s->data, data, len);
	s->data[len] = '\0';
	return s;
}

struct snap *snap_ref(struct snap *s)
{
	if (s)
		atomic_fetch_add(&s->ref, 1);
	return s;
}

void snap_unref(struct snap *s)
{
	if (s && atomic_fetch_sub(&s->ref, 1) == 1)
		free(s);
}

void reg_fini(void)
{
	size_t i;

	pthread_rwlock_wrlock(&reg.lock);
	for (i = 0; i < reg.nrt; i++)
		rt_view_unref(reg.rt[i].view);
	for (i = 0; i < reg.nmf; i++)
		snap_unref(reg.mf[i].snap);
	for (i = 0; i < TOP_MAX; i++)
		snap_unref(reg.top[i]);
	free(reg.rt);
	free(reg.mf);
	reg.rt = NULL;
	reg.mf = NULL;
	reg.nrt = reg.nmf = 0;
	memset(reg.top, 0, sizeof(reg.top));
	pthread_rwlock_unlock(&reg.lock);
}

int reg_rt_add(const char *id, struct logring *ring, uint32_t *slot, uint32_t *gen)
{
	size_t i;

	pthread_rwlock_wrlock(&reg.lock);
	for (i = 0; i < reg.nrt; i++)
		if (!reg.rt[i].used)
			break;
	if (i == reg.nrt) {
		size_t n = reg.nrt ? reg.nrt * 2 : 64;
		struct reg_rt *nrt;

		if (n > (INO_MF_BASE >> 8) - 2) {
			pthread_rwlock_unlock(&reg.lock);
			return -ENOSPC;
		}
		nrt = realloc(reg.rt, n * sizeof(*nrt));
		if (!nrt) {
			pthread_rwlock_unlock(&reg.lock);
			return -ENOMEM;
		}
		memset(nrt + reg.nrt, 0, (n - reg.nrt) * sizeof(*nrt));
		reg.rt = nrt;
		reg.nrt = n;
	}
	reg.rt[i].used = true;
	reg.rt[i].removing = false;
	reg.rt[i].gen = ++reg.next_gen;
	snprintf(reg.rt[i].id, sizeof(reg.rt[i].id), "%s", id);
	reg.rt[i].view = NULL;
	reg.rt[i].ring = ring;
	*slot = (uint32_t)i;
	*gen = reg.rt[i].gen;
	pthread_rwlock_unlock(&reg.lock);
	return 0;
}

void reg_rt_publish(uint32_t slot, struct rt_view *v)
{
	struct rt_view *old = NULL;

	pthread_rwlock_wrlock(&reg.lock);
	if (slot < reg.nrt && reg.rt[slot].used) {
		old = reg.rt[slot].view;
		reg.rt[slot].view = v;
		v = NULL;
	}
	pthread_rwlock_unlock(&reg.lock);
	rt_view_unref(old);
	rt_view_unref(v);
}

void reg_rt_set_removing(uint32_t slot)
{
	pthread_rwlock_wrlock(&reg.lock);
	if (slot < reg.nrt && reg.rt[slot].used)
		reg.rt[slot].removing = true;
	pthread_rwlock_unlock(&reg.lock);
}

void reg_rt_remove(uint32_t slot)
{
	struct rt_view *old = NULL;

	pthread_rwlock_wrlock(&reg.lock);
	if (slot < reg.nrt && reg.rt[slot].used) {
		old = reg.rt[slot].view;
		memset(&reg.rt[slot], 0, sizeof(reg.rt[slot]));
	}
	pthread_rwlock_unlock(&reg.lock);
	rt_view_unref(old);
}

bool reg_mf_set(const char *name, struct snap *s, uint32_t *idx)
{
	size_t i, free_i = SIZE_MAX;
	struct snap *old = NULL;
	bool created = false;

	pthread_rwlock_wrlock(&reg.lock);
	for (i = 0; i < reg.nmf; i++) {
		if (reg.mf[i].used && strcmp(reg.mf[i].name, name) == 0)
			break;
		if (!reg.mf[i].used && free_i == SIZE_MAX)
			free_i = i;
	}
	if (i == reg.nmf) {
		if (free_i != SIZE_MAX) {
			i = free_i;
		} else {
			size_t n = reg.nmf ? reg.nmf * 2 : 16;
			struct reg_mf *nmf = realloc(reg.mf, n * sizeof(*nmf));

			if (!nmf) {
				pthread_rwlock_unlock(&reg.lock);
				snap_unref(s);
				return false;
			}
			memset(nmf + reg.nmf, 0, (n - reg.nmf) * sizeof(*nmf));
			reg.mf = nmf;
			i = reg.nmf;
			reg.nmf = n;
		}
		reg.mf[i].used = true;
		snprintf(reg.mf[i].name, sizeof(reg.mf[i].name), "%s", name);
		created = true;
	}
	old = reg.mf[i].snap;
	reg.mf[i].snap = s;
	*idx = (uint32_t)i;
	pthread_rwlock_unlock(&reg.lock);
	snap_unref(old);
	return created;
}

bool reg_mf_remove(const char *name, uint32_t *idx)
{
	struct snap *old = NULL;
	bool found = false;
	size_t i;

	pthread_rwlock_wrlock(&reg.lock);
	for (i = 0; i < reg.nmf; i++) {
		if (reg.mf[i].used && strcmp(reg.mf[i].name, name) == 0) {
			old = reg.mf[i].snap;
			memset(&reg.mf[i], 0, sizeof(reg.mf[i]));
			*idx = (uint32_t)i;
			found = true;
			break;
		}
	}
	pthread_rwlock_unlock(&reg.lock);
	snap_unref(old);
	return found;
}

void reg_top_set(enum top t, struct snap *s)
{
	struct snap *old;

	pthread_rwlock_wrlock(&reg.lock);
	old = reg.top[t];
	reg.top[t] = s;
	pthread_rwlock_unlock(&reg.lock);
	snap_unref(old);
}

void reg_dir_touch(enum top t, int64_t now)
{
	pthread_rwlock_wrlock(&reg.lock);
	reg.dir_mtime[t] = now;
	pthread_rwlock_unlock(&reg.lock);
}

int reg_rt_lookup(const char *id, uint32_t *slot, uint32_t *gen)
{
	size_t i;
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&reg.lock);
	for (i = 0; i < reg.nrt; i++) {
		if (reg.rt[i].used && strcmp(reg.rt[i].id, id) == 0) {
			*slot = (uint32_t)i;
			if (gen)
				*gen = reg.rt[i].gen;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&reg.lock);
	return ret;
}

struct rt_view *reg_rt_view(uint32_t slot, uint32_t *gen, bool *removing)
{
	struct rt_view *v = NULL;

	pthread_rwlock_rdlock(&reg.lock);
	if (slot < reg.nrt && reg.rt[slot].used && reg.rt[slot].view) {
		v = rt_view_ref(reg.rt[slot].view);
		if (gen)
			*gen = reg.rt[slot].gen;
		if (removing)
			*removing = reg.rt[slot].removing;
	}
	pthread_rwlock_unlock(&reg.lock);
	return v;
}

int reg_rt_views(struct rt_view ***out, size_t *n)
{
	struct rt_view **vs = NULL;
	int r = 0;
	size_t i;

	*n = 0;
	pthread_rwlock_rdlock(&reg.lock);
	if (reg.nrt && !(vs = calloc(reg.nrt, sizeof(*vs))))
		r = -ENOMEM;
	for (i = 0; vs && i < reg.nrt; i++)
		if (reg.rt[i].used && reg.rt[i].view)
			vs[(*n)++] = rt_view_ref(reg.rt[i].view);
	pthread_rwlock_unlock(&reg.lock);
	if (vs && !*n) {
		free(vs);
		vs = NULL;
	}
	*out = vs;
	return r;
}

int reg_rt_logs(uint32_t slot, char **out, size_t *len, int64_t *mtime_ms)
{
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&reg.lock);
	if (slot < reg.nrt && reg.rt[slot].used && reg.rt[slot].ring) {
		*len = logring_copy(reg.rt[slot].ring, out, mtime_ms);
		ret = *out ? 0 : -ENOMEM;
	}
	pthread_rwlock_unlock(&reg.lock);
	return ret;
}

int reg_rt_logs_len(uint32_t slot, size_t *len, int64_t *mtime_ms)
{
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&reg.lock);
	if (slot < reg.nrt && reg.rt[slot].used && reg.rt[slot].ring) {
		*len = logring_len(reg.rt[slot].ring, mtime_ms);
		ret = 0;
	}
	pthread_rwlock_unlock(&reg.lock);
	return ret;
}

int reg_mf_lookup(const char *name, uint32_t *idx)
{
	size_t i;
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&reg.lock);
	for (i = 0; i < reg.nmf; i++) {
		if (reg.mf[i].used && strcmp(reg.mf[i].name, name) == 0) {
			*idx = (uint32_t)i;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&reg.lock);
	return ret;
}

struct snap *reg_mf_get(uint32_t idx, char *name, size_t namelen)
{
	struct snap *s = NULL;

	pthread_rwlock_rdlock(&reg.lock);
	if (idx < reg.nmf && reg.mf[idx].used) {
		s = snap_ref(reg.mf[idx].snap);
		if (name)
			snprintf(name, namelen, "%s", reg.mf[idx].name);
	}
	pthread_rwlock_unlock(&reg.lock);
	return s;
}

struct snap *reg_top_get(enum top t)
{
	struct snap *s;

	pthread_rwlock_rdlock(&reg.lock);
	s = snap_ref(reg.top[t]);
	pthread_rwlock_unlock(&reg.lock);
	return s;
}

int64_t reg_dir_mtime(enum top t)
{
	int64_t m;

	pthread_rwlock_rdlock(&reg.lock);
	m = reg.dir_mtime[t];
	pthread_rwlock_unlock(&reg.lock);
	return m;
}

static int list_copy(bool rt, struct reg_dirent **out, size_t *n)
{
	size_t i, k = 0, cap;
	struct reg_dirent *d;

	pthread_rwlock_rdlock(&reg.lock);
	cap = rt ? reg.nrt : reg.nmf;
	d = calloc(cap ? cap : 1, sizeof(*d));
	if (!d) {
		pthread_rwlock_unlock(&reg.lock);
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++) {
		if (rt && reg.rt[i].used) {
			snprintf(d[k].name, sizeof(d[k].name), "%s", reg.rt[i].id);
			d[k++].ino = INO_RT(i, RF_DIR);
		} else if (!rt && reg.mf[i].used) {
			snprintf(d[k].name, sizeof(d[k].name), "%s", reg.mf[i].name);
			d[k++].ino = INO_MF_BASE + i;
		}
	}
	pthread_rwlock_unlock(&reg.lock);
	*out = d;
	*n = k;
	return 0;
}

int reg_list_runtimes(struct reg_dirent **out, size_t *n)
{
	return list_copy(true, out, n);
}

int reg_list_manifests(struct reg_dirent **out, size_t *n)
{
	return list_copy(false, out, n);
}

/* ---- the accelerator counts (metrics.prom) ---- */

static pthread_mutex_t accel_mu = PTHREAD_MUTEX_INITIALIZER;
static int accel_counts[ACCEL_COUNT] = { 1 };

void reg_accel_set(const int *counts)
{
	pthread_mutex_lock(&accel_mu);
	memcpy(accel_counts, counts, sizeof(accel_counts));
	pthread_mutex_unlock(&accel_mu);
}

void reg_accel_get(int *counts)
{
	pthread_mutex_lock(&accel_mu);
	memcpy(counts, accel_counts, sizeof(accel_counts));
	pthread_mutex_unlock(&accel_mu);
}
