/*
 * registry.h - what the FUSE threads may see: published, immutable,
 * refcounted snapshots.  The loop thread is the only writer; FUSE threads
 * take references under a short read lock and never wait on the loop.
 *
 * Inode numbers are stable and derived, never allocated:
 *   1               the root
 *   2..TOP_MAX-1    top-level files and folders (enum top)
 *   (slot+1)<<8 | k runtimes/<id> (k = 0) and its files (enum rt_file)
 *   INO_MF_BASE + i manifests/<file>
 */
#ifndef ARW_REGISTRY_H
#define ARW_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logring.h"

struct rt_view;

#define INO_ROOT 1
enum top {
	TOP_README = 2, TOP_NODE, TOP_CTL, TOP_EVENTS, TOP_MATRIX, TOP_ACCEL,
	TOP_METRICS, TOP_MANIFESTS, TOP_RUNTIMES, TOP_BUNDLES, TOP_MAX
};
enum rt_file {
	RF_DIR = 0, RF_STATE, RF_STATUS, RF_HEALTH, RF_BUDGET, RF_LOGS, RF_CTL,
	RF_MANIFEST, RF_PID, RF_COUNT
};
/* The files runtime_matrix.json summarises: it is rebuilt when one of
 * them changes, and its runtime.updated is their last change. */
#define RF_MATRIX_FILES ((1u << RF_STATE) | (1u << RF_STATUS) | (1u << RF_BUDGET))
#define INO_MF_BASE (1ULL << 40)
#define INO_RT(slot, kind) ((((uint64_t)(slot) + 1) << 8) | (uint64_t)(kind))
#define INO_IS_RT(ino) ((ino) >= 256 && (ino) < INO_MF_BASE)
#define INO_RT_SLOT(ino) ((uint32_t)(((ino) >> 8) - 1))
#define INO_RT_KIND(ino) ((enum rt_file)((ino) & 0xff))

const char *rt_file_name(enum rt_file f);
const char *top_name(enum top t);

/* A refcounted, immutable byte snapshot. */
struct snap {
	atomic_int ref;
	int64_t mtime_ms;
	size_t len;
	char data[];
};
struct snap *snap_new(const char *data, size_t len, int64_t mtime_ms);
struct snap *snap_ref(struct snap *s);
void snap_unref(struct snap *s);

void reg_fini(void);

/* --- loop thread only --- */
int reg_rt_add(const char *id, struct logring *ring, uint32_t *slot, uint32_t *gen);
/* Replace the runtime's view; takes over the caller's reference. */
void reg_rt_publish(uint32_t slot, struct rt_view *v);
void reg_rt_set_removing(uint32_t slot);
/* Forget the slot: after this no FUSE thread touches its ring. */
void reg_rt_remove(uint32_t slot);
/* Set manifests/<name>; takes over the reference.  Returns true when new. */
bool reg_mf_set(const char *name, struct snap *s, uint32_t *idx);
bool reg_mf_remove(const char *name, uint32_t *idx);
void reg_top_set(enum top t, struct snap *s);
void reg_dir_touch(enum top t, int64_t now);

/* How many devices satisfy each enum accel value (the CPU: 1). */
void reg_accel_set(const int *counts);

/* --- any thread --- */
void reg_accel_get(int *counts);
int reg_rt_lookup(const char *id, uint32_t *slot, uint32_t *gen);
/* A reference to the slot's view, or NULL when the slot is free. */
struct rt_view *reg_rt_view(uint32_t slot, uint32_t *gen, bool *removing);
/* References to every published view, in slot order: *out holds *n of
 * them (the caller unrefs each and frees *out; NULL when there are none).
 * 0, or -ENOMEM. */
int reg_rt_views(struct rt_view ***out, size_t *n);
/* Copy the slot's log ring; -ENOENT when the slot is free. */
int reg_rt_logs(uint32_t slot, char **out, size_t *len, int64_t *mtime_ms);
int reg_rt_logs_len(uint32_t slot, size_t *len, int64_t *mtime_ms);
int reg_mf_lookup(const char *name, uint32_t *idx);
struct snap *reg_mf_get(uint32_t idx, char *name, size_t namelen);
struct snap *reg_top_get(enum top t);
int64_t reg_dir_mtime(enum top t);

/* Directory listings: copies, so readdir can page through them later. */
struct reg_dirent {
	char name[256];
	uint64_t ino;
};
int reg_list_runtimes(struct reg_dirent **out, size_t *n);
int reg_list_manifests(struct reg_dirent **out, size_t *n);

#endif
