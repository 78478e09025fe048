/*
 * test_accel.c - unit tests of core/accel.c: the /proc parsers and
 * accelerators.json (pure: text in, structs and text out).
 */
#include "accel.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* two sockets, two cores each, hyper-threads, AMX */
static const char xeon[] =
	"processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nphysical id\t: 0\ncore id\t\t: 0\n"
	"flags\t\t: fpu sse2 avx avx2 f16c fma avx512f avx512_vnni amx_bf16 amx_tile\n\n"
	"processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nphysical id\t: 0\ncore id\t\t: 0\n\n"
	"processor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\n\n"
	"processor\t: 3\nphysical id\t: 1\ncore id\t\t: 0\n\n"
	"processor\t: 4\nphysical id\t: 1\ncore id\t\t: 1\n\n";
static const char arm[] =
	"processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes sve\n\n"
	"processor\t: 1\nFeatures\t: fp asimd evtstrm aes sve\n\n";

static void test_cpuinfo(void)
{
	struct cpu_info c;

	accel_parse_cpuinfo(xeon, &c);
	CHECK_STR(c.model, "Intel(R) Xeon(R) Platinum 8480+");
	CHECK_INT(c.threads, 5);
	CHECK_INT(c.sockets, 2);
	CHECK_INT(c.cores, 4);
	CHECK_INT(c.flags, CPUF_AVX | CPUF_AVX2 | CPUF_F16C | CPUF_FMA | CPUF_AVX512F |
		  CPUF_AVX512_VNNI | CPUF_AMX);
	/* "avx" is a word of its own: avx512f alone is not avx */
	accel_parse_cpuinfo("processor : 0\nflags : avx512f\n", &c);
	CHECK_INT(c.flags, CPUF_AVX512F);
	accel_parse_cpuinfo(arm, &c);
	CHECK_INT(c.threads, 2);
	CHECK_INT(c.sockets, 1);
	CHECK_INT(c.cores, 2);   /* no core ids: one a thread */
	CHECK_INT(c.flags, CPUF_NEON | CPUF_SVE);
	CHECK_STR(c.model, "");
	accel_parse_cpuinfo("", &c);
	CHECK_INT(c.threads, 0);
	CHECK_STR(cpu_flag_name(CPUF_AVX512_VNNI), "avx512_vnni");
}

static void test_meminfo_nvidia(void)
{
	uint64_t t, a;
	char m[64];

	accel_parse_meminfo("MemTotal:       24684092 kB\nMemFree:  1 kB\nMemAvailable:   24314108 kB\n", &t, &a);
	CHECK(t == 24684092ULL * 1024);
	CHECK(a == 24314108ULL * 1024);
	accel_parse_meminfo("nothing\n", &t, &a);
	CHECK(t == 0 && a == 0);
	accel_parse_nvidia_info("Model: \t\t NVIDIA A100-SXM4-80GB\nIRQ:   34\n", m, sizeof(m));
	CHECK_STR(m, "NVIDIA A100-SXM4-80GB");
	accel_parse_nvidia_info("IRQ: 3\n", m, sizeof(m));
	CHECK_STR(m, "NVIDIA GPU");
}

static void test_json(void)
{
	struct inventory *inv = calloc(1, sizeof(*inv));
	cJSON *j, *x;
	size_t len;
	char *s;

	if (!inv)
		return;
	snprintf(inv->root, sizeof(inv->root), "/fake");
	inv->scanned_at = 1795341600000LL;
	accel_parse_cpuinfo(xeon, &inv->cpu);
	inv->ndev = 2;
	snprintf(inv->dev[0].vendor, sizeof(inv->dev[0].vendor), "nvidia");
	snprintf(inv->dev[0].name, sizeof(inv->dev[0].name), "NVIDIA A100");
	snprintf(inv->dev[0].node, sizeof(inv->dev[0].node), "/dev/nvidia0");
	inv->dev[0].satisfies = 1u << ACCEL_GPU_CUDA | 1u << ACCEL_GPU_VULKAN;
	inv->dev[1].npu = true;
	snprintf(inv->dev[1].name, sizeof(inv->dev[1].name), "intel_vpu");
	inv->dev[1].satisfies = 1u << ACCEL_NPU;
	CHECK(accel_available(inv, ACCEL_CPU));
	CHECK(accel_available(inv, ACCEL_GPU_CUDA));
	CHECK(!accel_available(inv, ACCEL_GPU_ROCM));
	CHECK_INT(accel_count(inv, ACCEL_NPU), 1);
	s = accel_json(inv, &len);
	CHECK(s != NULL);
	j = s ? cJSON_Parse(s) : NULL;
	CHECK(j != NULL);
	if (j) {
		CHECK_STR(cJSON_GetObjectItem(j, "scanned_at")->valuestring, "2026-11-22T10:00:00.000Z");
		x = cJSON_GetObjectItem(j, "gpus");
		CHECK_INT(cJSON_GetArraySize(x), 1);
		CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(x, 0), "device")->valuestring, "/dev/nvidia0");
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(x, 0), "vram_bytes")));
		x = cJSON_GetObjectItem(j, "npus");
		CHECK_INT(cJSON_GetArraySize(x), 1);
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(x, 0), "device")));
		x = cJSON_GetObjectItem(j, "available");
		CHECK_INT(cJSON_GetArraySize(x), 4);
		CHECK_STR(cJSON_GetArrayItem(x, 0)->valuestring, "cpu");
		CHECK_STR(cJSON_GetArrayItem(x, 1)->valuestring, "gpu_cuda");
		CHECK_STR(cJSON_GetArrayItem(x, 3)->valuestring, "npu");
		x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cpu"), "flags");
		CHECK_INT(cJSON_GetArraySize(x), 7);
	}
	cJSON_Delete(j);
	free(s);
	free(inv);
}

int main(void)
{
	test_cpuinfo();
	test_meminfo_nvidia();
	test_json();
	return test_summary("accel");
}
