/*
 * accel.c - the node's inventory (see accel.h): parsers and JSON.  Pure.
 */
#include "accel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsontext.h"
#include "log.h"

static const char *const flag_names[CPUF_COUNT] = {
	"avx", "avx2", "avx512f", "avx512_vnni", "amx", "f16c", "fma", "neon", "sve",
};

const char *cpu_flag_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < CPUF_COUNT; i++)
		if (bit == 1u << i)
			return flag_names[i];
	return "?";
}

/* The value of a "key\t: value" line, or NULL. */
static const char *value_of(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) != 0 || (line[n] != ' ' && line[n] != '\t' && line[n] != ':'))
		return NULL;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != ':')
		return NULL;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* Copy the line at *p (without its newline) into buf, and move *p to the
 * next one (NULL after the last).  False when there is none left. */
static bool next_line(const char **p, char *buf, size_t size)
{
	const char *line = *p, *nl;
	size_t n;

	if (!line || !*line)
		return false;
	nl = strchr(line, '\n');
	n = nl ? (size_t)(nl - line) : strlen(line);
	if (n >= size)
		n = size - 1;
	memcpy(buf, line, n);
	buf[n] = '\0';
	*p = nl ? nl + 1 : NULL;
	return true;
}

static unsigned flags_of(const char *v, size_t len)
{
	static const struct { const char *word; unsigned bit; } words[] = {
		{ "avx", CPUF_AVX }, { "avx2", CPUF_AVX2 }, { "avx512f", CPUF_AVX512F },
		{ "avx512_vnni", CPUF_AVX512_VNNI }, { "amx_tile", CPUF_AMX }, { "amx_bf16", CPUF_AMX },
		{ "amx_int8", CPUF_AMX }, { "f16c", CPUF_F16C }, { "fma", CPUF_FMA },
		{ "asimd", CPUF_NEON }, { "neon", CPUF_NEON }, { "sve", CPUF_SVE },
	};
	unsigned f = 0;
	size_t i = 0, k, w;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		for (w = i; w < len && v[w] != ' ' && v[w] != '\t'; w++)
			;
		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			if (strlen(words[k].word) == w - i && memcmp(words[k].word, v + i, w - i) == 0)
				f |= words[k].bit;
		i = w;
	}
	return f;
}

void accel_parse_cpuinfo(const char *text, struct cpu_info *cpu)
{
	/* (physical id, core id) pairs seen, to count cores and sockets */
	int phys[1024], core[1024], cur_phys = 0, np = 0, i, sockets[64], ns = 0;
	const char *p = text, *v;
	bool have_phys = false;
	char buf[4096];

	memset(cpu, 0, sizeof(*cpu));
	while (next_line(&p, buf, sizeof(buf))) {
		if (value_of(buf, "processor")) {
			cpu->threads++;
		} else if ((v = value_of(buf, "model name")) || (v = value_of(buf, "Model"))) {
			if (!cpu->model[0])
				snprintf(cpu->model, sizeof(cpu->model), "%s", v);
		} else if ((v = value_of(buf, "flags")) || (v = value_of(buf, "Features"))) {
			cpu->flags |= flags_of(v, strlen(v));
		} else if ((v = value_of(buf, "physical id"))) {
			cur_phys = atoi(v);
			have_phys = true;
			for (i = 0; i < ns && sockets[i] != cur_phys; i++)
				;
			if (i == ns && ns < 64)
				sockets[ns++] = cur_phys;
		} else if ((v = value_of(buf, "core id"))) {
			int c = atoi(v);

			for (i = 0; i < np && !(phys[i] == cur_phys && core[i] == c); i++)
				;
			if (i == np && np < 1024) {
				phys[np] = cur_phys;
				core[np++] = c;
			}
		}
	}
	cpu->sockets = have_phys && ns ? ns : 1;
	cpu->cores = np ? np : cpu->threads;
}

void accel_parse_meminfo(const char *text, uint64_t *total, uint64_t *available)
{
	const char *p;

	*total = *available = 0;
	if ((p = strstr(text, "MemTotal:")))
		*total = strtoull(p + 9, NULL, 10) * 1024;
	if ((p = strstr(text, "MemAvailable:")))
		*available = strtoull(p + 13, NULL, 10) * 1024;
}

void accel_parse_nvidia_info(const char *text, char *model, size_t len)
{
	const char *p = text, *v;
	char buf[512];

	snprintf(model, len, "NVIDIA GPU");
	while (next_line(&p, buf, sizeof(buf))) {
		if ((v = value_of(buf, "Model")) && *v) {
			snprintf(model, len, "%s", v);
			return;
		}
	}
}

int accel_count(const struct inventory *inv, enum accel a)
{
	size_t i;
	int n = 0;

	if (a == ACCEL_CPU)
		return 1;
	for (i = 0; i < inv->ndev; i++)
		if (inv->dev[i].satisfies & (1u << a))
			n++;
	return n;
}

bool accel_available(const struct inventory *inv, enum accel a)
{
	return accel_count(inv, a) > 0;
}

static cJSON *satisfies_json(unsigned bits)
{
	cJSON *a = cJSON_CreateArray();
	int k;

	for (k = 0; k < ACCEL_COUNT; k++)
		if (bits & (1u << k))
			cJSON_AddItemToArray(a, cJSON_CreateString(accel_name((enum accel)k)));
	return a;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *device_json(const struct accel_dev *d)
{
	cJSON *o = cJSON_CreateObject();

	if (!d->npu)
		cJSON_AddStringToObject(o, "vendor", d->vendor);
	cJSON_AddStringToObject(o, "name", d->name);
	add_str_or_null(o, "device", d->node);
	add_str_or_null(o, "driver", d->driver);
	if (!d->npu) {
		if (d->vram_bytes)
			cJSON_AddNumberToObject(o, "vram_bytes", (double)d->vram_bytes);
		else
			cJSON_AddNullToObject(o, "vram_bytes");
	}
	cJSON_AddItemToObject(o, "satisfies", satisfies_json(d->satisfies));
	return o;
}

char *accel_json(const struct inventory *inv, size_t *len)
{
	cJSON *root = cJSON_CreateObject(), *cpu, *mem, *flags, *gpus, *npus;
	char ts[32], *txt;
	unsigned all = 1u << ACCEL_CPU;
	size_t i;

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "root", inv->root);
	cJSON_AddStringToObject(root, "scanned_at", fmt_time(ts, sizeof(ts), inv->scanned_at));
	cpu = cJSON_AddObjectToObject(root, "cpu");
	add_str_or_null(cpu, "model", inv->cpu.model);
	cJSON_AddNumberToObject(cpu, "sockets", inv->cpu.sockets);
	cJSON_AddNumberToObject(cpu, "cores", inv->cpu.cores);
	cJSON_AddNumberToObject(cpu, "threads", inv->cpu.threads);
	flags = cJSON_AddArrayToObject(cpu, "flags");
	for (i = 0; i < CPUF_COUNT; i++)
		if (inv->cpu.flags & (1u << i))
			cJSON_AddItemToArray(flags, cJSON_CreateString(flag_names[i]));
	cJSON_AddItemToObject(cpu, "satisfies", satisfies_json(1u << ACCEL_CPU));
	mem = cJSON_AddObjectToObject(root, "memory");
	cJSON_AddNumberToObject(mem, "total_bytes", (double)inv->mem_total);
	cJSON_AddNumberToObject(mem, "available_bytes", (double)inv->mem_available);
	gpus = cJSON_AddArrayToObject(root, "gpus");
	npus = cJSON_AddArrayToObject(root, "npus");
	for (i = 0; i < inv->ndev; i++) {
		cJSON_AddItemToArray(inv->dev[i].npu ? npus : gpus, device_json(&inv->dev[i]));
		all |= inv->dev[i].satisfies;
	}
	cJSON_AddItemToObject(root, "available", satisfies_json(all));
	txt = json_text(root, len);
	cJSON_Delete(root);
	return txt;
}
