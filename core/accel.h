/*
 * accel.h - the node's inventory: CPU, memory, GPUs and NPUs, and which
 * `accelerator` values of a manifest each device satisfies.  The parsers
 * and the JSON are pure (text in, structs and text out); reading the files
 * under a root folder is supervisor/inventory.c's.
 */
#ifndef ARW_ACCEL_H
#define ARW_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

#define ACCEL_MAX_DEVS 32

struct cpu_info {
	char model[128];
	int sockets, cores, threads;
	unsigned flags;             /* CPUF_* bits */
};

enum cpu_flag {
	CPUF_AVX = 1u << 0, CPUF_AVX2 = 1u << 1, CPUF_AVX512F = 1u << 2, CPUF_AVX512_VNNI = 1u << 3,
	CPUF_AMX = 1u << 4, CPUF_F16C = 1u << 5, CPUF_FMA = 1u << 6, CPUF_NEON = 1u << 7,
	CPUF_SVE = 1u << 8,
};
#define CPUF_COUNT 9

struct accel_dev {
	bool npu;                   /* else a GPU */
	char vendor[16];            /* "nvidia", "amd", "intel", "other" */
	char name[128];
	char node[96];              /* its device node under /dev, "" if none */
	char driver[64];            /* "" if unknown */
	uint64_t vram_bytes;        /* 0 if unknown */
	unsigned satisfies;         /* 1u << enum accel */
};

struct inventory {
	char root[256];
	int64_t scanned_at;         /* ms since the epoch */
	struct cpu_info cpu;
	uint64_t mem_total, mem_available;   /* bytes, 0 if unknown */
	size_t ndev;
	struct accel_dev dev[ACCEL_MAX_DEVS];
};

/* /proc/cpuinfo's text: model, sockets, cores, threads, the flags that
 * matter to inference engines (x86 "flags", arm "Features"). */
void accel_parse_cpuinfo(const char *text, struct cpu_info *cpu);
/* /proc/meminfo's text: MemTotal and MemAvailable, in bytes. */
void accel_parse_meminfo(const char *text, uint64_t *total, uint64_t *available);
/* "Model: \t NVIDIA A100" from an NVIDIA driver "information" file. */
void accel_parse_nvidia_info(const char *text, char *model, size_t len);
const char *cpu_flag_name(unsigned bit);
/* Whether some device (or the CPU) satisfies `a`. */
bool accel_available(const struct inventory *inv, enum accel a);
/* How many devices satisfy `a` (1 for the CPU). */
int accel_count(const struct inventory *inv, enum accel a);
/* accelerators.json, pretty, with a trailing newline; NULL out of memory. */
char *accel_json(const struct inventory *inv, size_t *len);

#endif
