/*
 * test_manifest.c - manifest_parse and the rt_spec helpers against the
 * fixtures in tests/unit/fixtures/manifests (run from the repository root, or
 * set FIXTURES_DIR).  Error strings are compared whole, positions included.
 *
 * Choices pinned here: an empty (or all-blank) file is "1:1: empty file"; an
 * empty "runtimes" array is a good file with no runtime; the wrapper form
 * needs "version"; cJSON's own error offset is used for syntax errors.
 */
#include "manifest.h"
#include "jsonpos.h"
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#define FIXTURES_DEFAULT "tests/unit/fixtures/manifests"

static char *read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES_DIR");
	char path[512];
	char *buf = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : FIXTURES_DEFAULT, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open fixture %s (run from the repository root or set FIXTURES_DIR)\n", path);
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			char *b = realloc(buf, cap ? cap * 2 : 4096);

			if (!b)
				break;
			buf = b;
			cap = cap ? cap * 2 : 4096;
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf ? buf : malloc(1);
}

static int parse_fixture(const char *name, const struct manifest_defaults *defs,
			 struct manifest_result *res)
{
	size_t len = 0;
	char *text = read_fixture(name, &len);
	int r;

	CHECK(text != NULL);
	if (!text) {
		memset(res, 0, sizeof(*res));
		return -ENOENT;
	}
	r = manifest_parse(name, text, len, defs, res);
	free(text);
	return r;
}

static int parse_str(const char *name, const char *text, struct manifest_result *res)
{
	return manifest_parse(name, text, strlen(text), NULL, res);
}

/* The errors of `res`, exactly and in order (NULL-terminated list), and no
 * spec alongside them. */
static void expect_errors(int line, const struct manifest_result *res,
			  const char *const *want)
{
	size_t n = 0;
	bool ok = true;

	while (want[n])
		n++;
	if (res->nerrors != n)
		ok = false;
	for (size_t i = 0; ok && i < n; i++)
		if (strcmp(res->errors[i], want[i]) != 0)
			ok = false;
	if (res->nspecs != 0 || res->specs != NULL)
		ok = false;
	if (ok) {
		test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: errors differ (%zu specs)\n  got:\n", __FILE__, line,
		res->nspecs);
	for (size_t i = 0; i < res->nerrors; i++)
		fprintf(stderr, "    %s\n", res->errors[i]);
	fprintf(stderr, "  expected:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "    %s\n", want[i]);
}

#define EXPECT_ERRORS(res, ...) \
	expect_errors(__LINE__, (res), (const char *const[]){ __VA_ARGS__, NULL })

/* Parse `text` as "t.json" and expect exactly one error. */
static void expect_one(int line, const char *text, const char *want)
{
	struct manifest_result res;
	int r = parse_str("t.json", text, &res);

	if (r != -EINVAL) {
		test_failed++;
		fprintf(stderr, "%s:%d: manifest_parse returned %d for %s\n", __FILE__,
			line, r, text);
	}
	expect_errors(line, &res, (const char *const[]){ want, NULL });
	manifest_result_free(&res);
}
#define EXPECT_ONE(text, want) expect_one(__LINE__, (text), (want))

/* A good single-runtime text; returns the spec (freed by the caller's
 * manifest_result_free). */
static void expect_good(int line, const char *text, struct manifest_result *res)
{
	int r = parse_str("t.json", text, res);

	if (r == 0 && res->nspecs == 1 && res->nerrors == 0) {
		test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: expected a good file, got %d:\n", __FILE__, line, r);
	for (size_t i = 0; i < res->nerrors; i++)
		fprintf(stderr, "    %s\n", res->errors[i]);
}
#define EXPECT_GOOD(text, res) expect_good(__LINE__, (text), (res))

/* `{"id":"t","adapter":"process","process":{"command":"c",PROC}REST}` */
#define RT(proc, rest) \
	"{\"id\":\"t\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"" proc "}" rest "}"

/* ---- good files ------------------------------------------------------- */

static void test_good_single(void)
{
	struct manifest_result res;
	const struct rt_spec *s;
	int r = parse_fixture("good-single.json", NULL, &res);

	CHECK_INT(r, 0);
	CHECK_INT(res.nerrors, 0);
	CHECK(res.errors == NULL);
	CHECK_INT(res.nspecs, 1);
	if (res.nspecs != 1)
		goto out;
	s = res.specs[0];
	CHECK_STR(s->id, "llama-7b");
	CHECK_INT(s->id_line, 2);
	CHECK_INT(s->id_col, 9);
	CHECK_STR(s->adapter, "process");
	CHECK_STR(s->name, "Llama 7B (Q4)");
	CHECK_STR(s->profile, "balanced");
	CHECK_STR(s->preset, "chat");
	CHECK_INT(s->modalities, MOD_TEXT | MOD_VISION);
	CHECK_INT(s->accelerator, ACCEL_GPU_CUDA);
	CHECK(s->auto_start);
	CHECK_INT(s->ntags, 2);
	if (s->ntags == 2) {
		CHECK_STR(s->tags[0].key, "family");
		CHECK_STR(s->tags[0].val, "llama");
		CHECK_STR(s->tags[1].key, "quant");
		CHECK_STR(s->tags[1].val, "q4_k_m");
	}
	CHECK_STR(s->command, "/usr/local/bin/llama-server");
	CHECK_INT(s->nargs, 4);
	if (s->nargs == 4) {
		CHECK_STR(s->args[0], "-m");
		CHECK_STR(s->args[1], "/models/llama-7b.gguf");
		CHECK_STR(s->args[2], "--port");
		CHECK_STR(s->args[3], "8081");
		CHECK(s->args[4] == NULL);
	}
	CHECK_INT(s->nenv, 2);
	if (s->nenv == 2) {
		CHECK_STR(s->env[0].key, "CUDA_VISIBLE_DEVICES");
		CHECK_STR(s->env[0].val, "0");
		CHECK_STR(s->env[1].key, "LLAMA_LOG");
		CHECK_STR(s->env[1].val, "info");
	}
	CHECK_STR(s->workdir, "/var/lib/models");
	CHECK_STR(s->user, "llama");
	CHECK_STR(s->group, "models");
	CHECK_INT(s->health.type, PROBE_HTTP);
	CHECK_STR(s->health.url, "http://127.0.0.1:8081/health");
	CHECK(s->health.tcp == NULL);
	CHECK(s->health.exec == NULL);
	CHECK_STR(s->health.method, "HEAD");
	CHECK_INT(s->health.expect_status, 204);
	CHECK_STR(s->health.expect_body, "ok");
	CHECK_INT(s->health.timeout_ms, 2000);
	CHECK_INT(s->health.interval_ms, 1000);
	CHECK_INT(s->health.startup_timeout_ms, 300000);
	CHECK_INT(s->health.failure_threshold, 5);
	CHECK_INT(s->stop_signal, SIGINT);
	CHECK_INT(s->stop_timeout_ms, 15000);
	CHECK_INT(s->ring_bytes, 131072);
	CHECK_INT(s->file_max_bytes, 0);
	CHECK_INT(s->log_files, 1);
	CHECK_INT(s->restart_policy, RESTART_ALWAYS);
	CHECK_INT(s->max_restarts, 10);
	CHECK_INT(s->window_seconds, 3600);
out:
	manifest_result_free(&res);
	CHECK(res.specs == NULL && res.nspecs == 0);
}

static void check_minimal_defaults(const struct rt_spec *s, int max_restarts,
				   int window_seconds, int interval_ms)
{
	CHECK_STR(s->id, "echo");
	CHECK_INT(s->id_line, 1);
	CHECK_INT(s->id_col, 8);
	CHECK_STR(s->adapter, "process");
	CHECK_STR(s->name, "echo");
	CHECK(s->profile == NULL);
	CHECK(s->preset == NULL);
	CHECK_INT(s->modalities, MOD_TEXT);
	CHECK_INT(s->accelerator, ACCEL_CPU);
	CHECK(!s->auto_start);
	CHECK_INT(s->ntags, 0);
	CHECK_STR(s->command, "/bin/echo");
	CHECK_INT(s->nargs, 0);
	CHECK(s->args != NULL && s->args[0] == NULL);
	CHECK_INT(s->nenv, 0);
	CHECK(s->workdir == NULL);
	CHECK(s->user == NULL);
	CHECK(s->group == NULL);
	CHECK_INT(s->health.type, PROBE_NONE);
	CHECK(s->health.url == NULL && s->health.tcp == NULL && s->health.exec == NULL);
	CHECK_INT(s->health.nexec, 0);
	CHECK_STR(s->health.method, "GET");
	CHECK_INT(s->health.expect_status, 200);
	CHECK(s->health.expect_body == NULL);
	CHECK_INT(s->health.timeout_ms, 5000);
	CHECK_INT(s->health.interval_ms, interval_ms);
	CHECK_INT(s->health.startup_timeout_ms, 120000);
	CHECK_INT(s->health.failure_threshold, 3);
	CHECK_INT(s->stop_signal, SIGTERM);
	CHECK_INT(s->stop_timeout_ms, 10000);
	CHECK_INT(s->ring_bytes, 65536);
	CHECK_INT(s->file_max_bytes, 1048576);
	CHECK_INT(s->log_files, 3);
	CHECK_INT(s->restart_policy, RESTART_ON_FAILURE);
	CHECK_INT(s->max_restarts, max_restarts);
	CHECK_INT(s->window_seconds, window_seconds);
}

static void test_defaults(void)
{
	const struct manifest_defaults defs = {
		.max_restarts = 7, .window_seconds = 60, .interval_ms = 250,
	};
	struct manifest_result res;

	CHECK_INT(parse_fixture("good-minimal.json", &defs, &res), 0);
	CHECK_INT(res.nspecs, 1);
	if (res.nspecs == 1)
		check_minimal_defaults(res.specs[0], 7, 60, 250);
	manifest_result_free(&res);

	/* No defaults given: the documented ARW_RUNTIME_* ones. */
	CHECK_INT(parse_fixture("good-minimal.json", NULL, &res), 0);
	CHECK_INT(res.nspecs, 1);
	if (res.nspecs == 1)
		check_minimal_defaults(res.specs[0], 3, 600, 5000);
	manifest_result_free(&res);
}

static void test_good_multi(void)
{
	struct manifest_result res;
	const struct rt_spec *s;

	CHECK_INT(parse_fixture("good-multi.json", NULL, &res), 0);
	CHECK_INT(res.nerrors, 0);
	CHECK_INT(res.nspecs, 3);
	if (res.nspecs != 3)
		goto out;

	s = res.specs[0];
	CHECK_STR(s->id, "whisper");
	CHECK_INT(s->id_line, 5);
	CHECK_INT(s->id_col, 13);
	CHECK_INT(s->modalities, MOD_AUDIO);
	CHECK_INT(s->health.type, PROBE_TCP);
	CHECK_STR(s->health.tcp, "127.0.0.1:9000");
	CHECK_INT(s->stop_signal, SIGQUIT);

	s = res.specs[1];
	CHECK_STR(s->id, "llava.v1_5-7b");
	CHECK_INT(s->id_line, 15);
	CHECK_INT(s->modalities, MOD_TEXT | MOD_VISION);
	CHECK_INT(s->accelerator, ACCEL_NPU);
	CHECK_INT(s->health.type, PROBE_EXEC);
	CHECK_INT(s->health.nexec, 2);
	if (s->health.nexec == 2) {
		CHECK_STR(s->health.exec[0], "/bin/true");
		CHECK_STR(s->health.exec[1], "--quiet");
		CHECK(s->health.exec[2] == NULL);
	}
	CHECK_INT(s->health.timeout_ms, 1);
	CHECK_INT(s->stop_signal, 9);
	CHECK_INT(s->restart_policy, RESTART_NEVER);

	s = res.specs[2];
	CHECK_STR(s->id, "0");
	CHECK_STR(s->name, "0");
	CHECK_INT(s->stop_signal, 40);
	CHECK_INT(s->health.type, PROBE_NONE);
out:
	manifest_result_free(&res);

	/* An empty list is a good file that runs nothing. */
	CHECK_INT(parse_str("t.json", "{\"version\":1,\"runtimes\":[]}", &res), 0);
	CHECK_INT(res.nspecs, 0);
	CHECK_INT(res.nerrors, 0);
	manifest_result_free(&res);
}

static void test_good_variants(void)
{
	struct manifest_result res;
	const struct rt_spec *s;

	/* A UTF-8 BOM is skipped; columns count bytes, the BOM's included. */
	EXPECT_GOOD("\xEF\xBB\xBF{\"id\": \"echo\", \"adapter\": \"process\", \"process\": {\"command\": \"x\"}}\n",
		    &res);
	if (res.nspecs == 1) {
		CHECK_INT(res.specs[0]->id_line, 1);
		CHECK_INT(res.specs[0]->id_col, 11);
	}
	manifest_result_free(&res);

	/* Whole numbers written as floats are integers; a 64-character id. */
	EXPECT_GOOD("{\"id\":\"a123456789012345678901234567890123456789012345678901234567890.-_\","
		    "\"adapter\":\"process\",\"process\":{\"command\":\"c\","
		    "\"health\":{\"timeout_ms\":1.0e3,\"interval_ms\":100,\"startup_timeout_ms\":-0},"
		    "\"logs\":{\"ring_bytes\":16777216,\"file_max_bytes\":1073741824,\"files\":100},"
		    "\"stop\":{\"signal\":\"sigterm\",\"timeout_ms\":0}},"
		    "\"restart\":{\"max_restarts\":0,\"window_seconds\":604800}}", &res);
	if (res.nspecs == 1) {
		s = res.specs[0];
		CHECK_INT(strlen(s->id), 64);
		CHECK_INT(s->health.timeout_ms, 1000);
		CHECK_INT(s->health.interval_ms, 100);
		CHECK_INT(s->health.startup_timeout_ms, 0);
		CHECK_INT(s->ring_bytes, 16777216);
		CHECK_INT(s->file_max_bytes, 1073741824);
		CHECK_INT(s->log_files, 100);
		CHECK_INT(s->stop_signal, SIGTERM);
		CHECK_INT(s->stop_timeout_ms, 0);
		CHECK_INT(s->max_restarts, 0);
		CHECK_INT(s->window_seconds, 604800);
	}
	manifest_result_free(&res);

	/* Probe forms that pass. */
	EXPECT_GOOD(RT(",\"health\":{\"tcp\":\"[::1]:65535\"}", ""), &res);
	manifest_result_free(&res);
	EXPECT_GOOD(RT(",\"health\":{\"url\":\"HTTPS://h/x\",\"method\":\"POST\"},\"stop\":{\"signal\":64}", ""), &res);
	if (res.nspecs == 1) {
		CHECK_STR(res.specs[0]->health.method, "POST");
		CHECK_INT(res.specs[0]->stop_signal, 64);
	}
	manifest_result_free(&res);
	EXPECT_GOOD(RT(",\"env\":{\"PATH\":\"/opt/bin\",\"_x1\":\"\"},\"args\":[]", ",\"tags\":{}"), &res);
	if (res.nspecs == 1) {
		CHECK_INT(res.specs[0]->nenv, 2);
		CHECK_INT(res.specs[0]->nargs, 0);
		CHECK_INT(res.specs[0]->ntags, 0);
	}
	manifest_result_free(&res);
	/* a fallback for a missing accelerator, and the wish to move back */
	EXPECT_GOOD(RT("", ",\"accelerator\":\"gpu_cuda\",\"prefer\":\"restart\","
		       "\"fallback\":{\"args\":[\"-ngl\",\"0\"],\"env\":{\"CUDA_VISIBLE_DEVICES\":\"\"}}"), &res);
	if (res.nspecs == 1) {
		const struct rt_spec *f = res.specs[0];

		CHECK(f->has_fallback && f->prefer_restart && f->fb_args_set);
		CHECK_INT(f->fb_accelerator, ACCEL_CPU);
		CHECK_INT(f->fb_nargs, 2);
		CHECK_STR(f->fb_args[1], "0");
		CHECK_INT(f->fb_nenv, 1);
		CHECK(rt_spec_launch_differs(f, f) == false);
	}
	manifest_result_free(&res);
	EXPECT_ONE(RT("", ",\"fallback\":{\"accelerator\":\"tpu\"}"),
		   "t.json:1:83: \"fallback.accelerator\" must be one of cpu, gpu_cuda, gpu_rocm, gpu_metal, gpu_vulkan, npu");
	EXPECT_ONE(RT("", ",\"prefer\":\"never\""), "t.json:1:66: \"prefer\" must be one of stay, restart");
	EXPECT_ONE(RT("", ",\"fallback\":{\"argz\":[]}"), "t.json:1:69: unknown field \"argz\" in fallback");
	EXPECT_GOOD(RT("", ",\"modalities\":[\"vision\",\"audio\",\"text\"],\"accelerator\":\"gpu_vulkan\",\"auto_start\":false"), &res);
	if (res.nspecs == 1) {
		CHECK_INT(res.specs[0]->modalities, MOD_TEXT | MOD_AUDIO | MOD_VISION);
		CHECK_INT(res.specs[0]->accelerator, ACCEL_GPU_VULKAN);
	}
	manifest_result_free(&res);
}

/* ---- syntax and file-level errors ------------------------------------- */

static void test_syntax(void)
{
	struct manifest_result res;
	char *deep;

	CHECK_INT(parse_fixture("bad-syntax.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res, "bad-syntax.json:4:3: invalid JSON");
	manifest_result_free(&res);

	CHECK_INT(parse_fixture("empty.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res, "empty.json:1:1: empty file");
	manifest_result_free(&res);

	EXPECT_ONE(" \n\t\r\n", "t.json:1:1: empty file");
	CHECK_INT(manifest_parse("nil.json", NULL, 0, NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res, "nil.json:1:1: empty file");
	manifest_result_free(&res);

	/* Strings must be UTF-8: every bad byte is named, at its position. */
	EXPECT_ONE("{\"id\":\"x\",\n \"name\":\"caf\xe9\"}",
		   "t.json:2:13: invalid UTF-8 (byte 0xe9): manifests must be UTF-8");
	CHECK_INT(parse_str("u.json", "{\"id\":\"a\xff\",\"adapter\":\"process\",\n"
			    "\"process\":{\"command\":\"x\",\"args\":[\"\xc0\xaf\",\"\xed\xa0\x80\"]}}", &res), -EINVAL);
	EXPECT_ERRORS(&res, "u.json:1:9: invalid UTF-8 (byte 0xff): manifests must be UTF-8",
		      "u.json:2:35: invalid UTF-8 (byte 0xc0): manifests must be UTF-8",
		      "u.json:2:36: invalid UTF-8 (byte 0xaf): manifests must be UTF-8",
		      "u.json:2:40: invalid UTF-8 (byte 0xed): manifests must be UTF-8",
		      "u.json:2:41: invalid UTF-8 (byte 0xa0): manifests must be UTF-8",
		      "u.json:2:42: invalid UTF-8 (byte 0x80): manifests must be UTF-8");
	manifest_result_free(&res);
	/* and valid multi-byte text is fine */
	CHECK_INT(parse_str("v.json", "{\"id\":\"v\",\"adapter\":\"process\",\"name\":\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\xa6\x99\","
			    "\"process\":{\"command\":\"x\"}}", &res), 0);
	manifest_result_free(&res);

	/* cJSON's own offsets: at the offending byte, or just past the end. */
	EXPECT_ONE("{\"id\":\"x\"} x", "t.json:1:12: invalid JSON");
	EXPECT_ONE("{\"id\":\"x\"}\n}\n", "t.json:2:1: invalid JSON");
	EXPECT_ONE("{\"id\":\"x\"", "t.json:1:10: invalid JSON");
	EXPECT_ONE("{\n  \"id\": \"x\n", "t.json:2:10: invalid JSON");
	EXPECT_ONE("{\"a\":[1,2,,3]}", "t.json:1:11: invalid JSON");
	EXPECT_ONE("{\"a\":tru}", "t.json:1:6: invalid JSON");
	EXPECT_ONE("{\"a\":\"\\q\"}", "t.json:1:7: invalid JSON");
	EXPECT_ONE("{\"a\":1,}", "t.json:1:9: invalid JSON");
	EXPECT_ONE("// comment\n{}", "t.json:1:1: invalid JSON");
	/* A NUL byte would cut a string short: refused where it stands. */
	{
		static const char nul[] = "{\"id\":\"a\0b\"}";

		CHECK_INT(manifest_parse("t.json", nul, sizeof(nul) - 1, NULL, &res), -EINVAL);
		EXPECT_ERRORS(&res, "t.json:1:9: invalid JSON");
		manifest_result_free(&res);
	}
	/* The text need not be NUL-terminated. */
	{
		static const char two[] = "{\"id\":\"echo\",\"adapter\":\"process\",\"process\":{\"command\":\"x\"}}GARBAGE";

		CHECK_INT(manifest_parse("t.json", two, sizeof(two) - 1 - 7, NULL, &res), 0);
		CHECK_INT(res.nspecs, 1);
		manifest_result_free(&res);
	}
	/* Deeper than cJSON's nesting limit. */
	deep = malloc(4001);
	if (deep) {
		memset(deep, '[', 2000);
		memset(deep + 2000, ']', 2000);
		deep[4000] = '\0';
		CHECK_INT(parse_str("t.json", deep, &res), -EINVAL);
		CHECK_INT(res.nerrors, 1);
		CHECK_INT(res.nspecs, 0);
		if (res.nerrors == 1)
			CHECK(strstr(res.errors[0], ": invalid JSON") != NULL);
		manifest_result_free(&res);
		free(deep);
	}

	CHECK_INT(parse_fixture("not-object.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res, "not-object.json:1:1: manifest must be a JSON object");
	manifest_result_free(&res);
	EXPECT_ONE("  \"id\"", "t.json:1:3: manifest must be a JSON object");
	EXPECT_ONE("null", "t.json:1:1: manifest must be a JSON object");
}

static void test_size_limit(void)
{
	struct manifest_result res;
	static const char body[] = "{\"id\":\"big\",\"adapter\":\"process\",\"process\":{\"command\":\"x\"}}";
	char *buf = malloc(MANIFEST_MAX_BYTES + 1);

	CHECK(buf != NULL);
	if (!buf)
		return;
	/* Exactly the limit: good. */
	memset(buf, ' ', MANIFEST_MAX_BYTES + 1);
	memcpy(buf, body, sizeof(body) - 1);
	buf[MANIFEST_MAX_BYTES - 1] = '\n';
	CHECK_INT(manifest_parse("big.json", buf, MANIFEST_MAX_BYTES, NULL, &res), 0);
	CHECK_INT(res.nspecs, 1);
	manifest_result_free(&res);
	/* One byte more: refused before parsing. */
	CHECK_INT(manifest_parse("big.json", buf, MANIFEST_MAX_BYTES + 1, NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res, "big.json:1:1: file too large (1048577 bytes, limit 1048576)");
	manifest_result_free(&res);
	free(buf);
}

/* ---- semantic errors from fixtures ------------------------------------ */

static void test_bad_fixtures(void)
{
	struct manifest_result res;

	CHECK_INT(parse_fixture("bad-fields.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res,
		"bad-fields.json:4:17: \"auto_start\" must be a boolean",
		"bad-fields.json:5:18: \"accelerator\" must be one of cpu, gpu_cuda, gpu_rocm, gpu_metal, gpu_vulkan, npu",
		"bad-fields.json:6:3: unknown field \"colour\"",
		"bad-fields.json:7:26: \"modalities[1]\" must be one of text, audio, vision",
		"bad-fields.json:7:35: duplicate modality \"text\"",
		"bad-fields.json:7:43: \"modalities[3]\" must be a string",
		"bad-fields.json:8:27: \"tags.b\" must be a string",
		"bad-fields.json:9:14: missing required field \"process.command\"",
		"bad-fields.json:10:21: \"process.args[1]\" must be a string",
		"bad-fields.json:11:28: invalid environment variable name \"1BAD\" in process.env",
		"bad-fields.json:11:41: duplicate field \"GOOD_1\" in process.env",
		"bad-fields.json:13:21: \"process.health.timeout_ms\" must be an integer",
		"bad-fields.json:14:22: \"process.health.interval_ms\" must be an integer",
		"bad-fields.json:15:7: unknown field \"retries\" in process.health",
		"bad-fields.json:16:24: \"process.health.expect_status\" must be between 100 and 599",
		"bad-fields.json:18:24: \"process.stop.signal\" must be a signal name such as TERM or a number between 1 and 64",
		"bad-fields.json:18:47: \"process.stop.timeout_ms\" must be between 0 and 3600000",
		"bad-fields.json:19:28: \"process.logs.ring_bytes\" must be between 1024 and 16777216",
		"bad-fields.json:19:42: \"process.logs.files\" must be an integer",
		"bad-fields.json:21:25: \"restart.policy\" must be one of on-failure, always, never",
		"bad-fields.json:21:54: \"restart.max_restarts\" must be between 0 and 1000",
		"bad-fields.json:22:3: duplicate field \"auto_start\"");
	manifest_result_free(&res);

	CHECK_INT(parse_fixture("bad-health.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res,
		"bad-health.json:7:14: \"process.health.url\" must start with http:// or https://",
		"bad-health.json:8:7: health: only one of url, tcp, exec",
		"bad-health.json:8:14: \"process.health.tcp\" must be \"host:port\" with a port between 1 and 65535",
		"bad-health.json:9:15: \"process.health.exec\" must not be empty",
		"bad-health.json:10:17: \"process.health.method\" must be one of GET, HEAD, POST");
	manifest_result_free(&res);

	CHECK_INT(parse_fixture("bad-id.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res,
		"bad-id.json:2:9: invalid id \"Foo\": must match [a-z0-9][a-z0-9._-]{0,63}");
	manifest_result_free(&res);

	CHECK_INT(parse_fixture("dup-id.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res, "dup-id.json:4:10: duplicate id \"a\" (first at line 2)");
	manifest_result_free(&res);

	/* One bad runtime drops the good ones next to it. */
	CHECK_INT(parse_fixture("bad-wrapper.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res,
		"bad-wrapper.json:2:14: unsupported version 2",
		"bad-wrapper.json:5:5: \"runtimes[1]\" must be an object",
		"bad-wrapper.json:6:33: unsupported adapter \"docker\": only \"process\" is supported",
		"bad-wrapper.json:6:54: missing required field \"process.command\"",
		"bad-wrapper.json:8:3: unknown field \"extra\"");
	manifest_result_free(&res);

	CHECK_INT(parse_fixture("bad-missing.json", NULL, &res), -EINVAL);
	EXPECT_ERRORS(&res,
		"bad-missing.json:1:1: missing required field \"id\"",
		"bad-missing.json:1:1: missing required field \"adapter\"",
		"bad-missing.json:1:1: missing required field \"process\"");
	manifest_result_free(&res);
}

/* ---- semantic errors, one at a time ----------------------------------- */

static void test_field_errors(void)
{
	/* Keys are case-sensitive (cJSON's own lookup is not). */
	{
		struct manifest_result res;

		CHECK_INT(parse_str("t.json", "{\"ID\":\"x\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}", &res), -EINVAL);
		EXPECT_ERRORS(&res, "t.json:1:1: missing required field \"id\"",
			      "t.json:1:2: unknown field \"ID\"");
		manifest_result_free(&res);
	}
	/* id */
	EXPECT_ONE("{\"id\":5,\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}",
		   "t.json:1:7: \"id\" must be a string");
	EXPECT_ONE("{\"id\":\"\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}",
		   "t.json:1:7: invalid id \"\": must match [a-z0-9][a-z0-9._-]{0,63}");
	EXPECT_ONE("{\"id\":\"-a\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}",
		   "t.json:1:7: invalid id \"-a\": must match [a-z0-9][a-z0-9._-]{0,63}");
	EXPECT_ONE("{\"id\":\"a\\\"b\\n\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}",
		   "t.json:1:7: invalid id \"a\\\"b\\n\": must match [a-z0-9][a-z0-9._-]{0,63}");
	EXPECT_ONE("{\"id\":\"a1234567890123456789012345678901234567890123456789012345678901234\","
		   "\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}",
		   "t.json:1:7: invalid id \"a123456789012345678901234567890123456789012345678901234567890123...\": "
		   "must match [a-z0-9][a-z0-9._-]{0,63}");
	/* adapter */
	EXPECT_ONE("{\"id\":\"t\",\"adapter\":[],\"process\":{\"command\":\"c\"}}",
		   "t.json:1:21: \"adapter\" must be a string");
	/* name, profile, preset, auto_start, accelerator, tags */
	EXPECT_ONE(RT("", ",\"name\":5"), "t.json:1:64: \"name\" must be a string");
	EXPECT_ONE(RT("", ",\"profile\":null"), "t.json:1:67: \"profile\" must be a string");
	EXPECT_ONE(RT("", ",\"preset\":{}"), "t.json:1:66: \"preset\" must be a string");
	EXPECT_ONE(RT("", ",\"auto_start\":1"), "t.json:1:70: \"auto_start\" must be a boolean");
	EXPECT_ONE(RT("", ",\"accelerator\":\"GPU_CUDA\""),
		   "t.json:1:71: \"accelerator\" must be one of cpu, gpu_cuda, gpu_rocm, gpu_metal, gpu_vulkan, npu");
	EXPECT_ONE(RT("", ",\"accelerator\":1"),
		   "t.json:1:71: \"accelerator\" must be one of cpu, gpu_cuda, gpu_rocm, gpu_metal, gpu_vulkan, npu");
	EXPECT_ONE(RT("", ",\"tags\":[]"), "t.json:1:64: \"tags\" must be an object");
	EXPECT_ONE(RT("", ",\"tags\":{\"k\":\"v\",\"k\":\"w\"}"), "t.json:1:73: duplicate field \"k\" in tags");
	/* modalities */
	EXPECT_ONE(RT("", ",\"modalities\":\"text\""), "t.json:1:70: \"modalities\" must be an array of strings");
	EXPECT_ONE(RT("", ",\"modalities\":[]"), "t.json:1:70: \"modalities\" must not be empty");
	/* process */
	EXPECT_ONE("{\"id\":\"t\",\"adapter\":\"process\",\"process\":\"c\"}",
		   "t.json:1:41: \"process\" must be an object");
	EXPECT_ONE("{\"id\":\"t\",\"adapter\":\"process\",\"process\":{\"command\":\"\"}}",
		   "t.json:1:52: \"process.command\" must not be empty");
	EXPECT_ONE("{\"id\":\"t\",\"adapter\":\"process\",\"process\":{\"command\":[\"c\"]}}",
		   "t.json:1:52: \"process.command\" must be a string");
	EXPECT_ONE(RT(",\"command\":\"d\"", ""), "t.json:1:56: duplicate field \"command\" in process");
	EXPECT_ONE(RT(",\"cmd\":\"d\"", ""), "t.json:1:56: unknown field \"cmd\" in process");
	EXPECT_ONE(RT(",\"args\":\"-v\"", ""), "t.json:1:63: \"process.args\" must be an array of strings");
	EXPECT_ONE(RT(",\"env\":[]", ""), "t.json:1:62: \"process.env\" must be an object");
	EXPECT_ONE(RT(",\"env\":{\"A\":1}", ""), "t.json:1:67: \"process.env.A\" must be a string");
	EXPECT_ONE(RT(",\"env\":{\"A-B\":\"1\"}", ""),
		   "t.json:1:63: invalid environment variable name \"A-B\" in process.env");
	EXPECT_ONE(RT(",\"env\":{\"\":\"1\"}", ""),
		   "t.json:1:63: invalid environment variable name \"\" in process.env");
	EXPECT_ONE(RT(",\"workdir\":1", ""), "t.json:1:66: \"process.workdir\" must be a string");
	EXPECT_ONE(RT(",\"user\":true", ""), "t.json:1:63: \"process.user\" must be a string");
	EXPECT_ONE(RT(",\"group\":0", ""), "t.json:1:64: \"process.group\" must be a string");
	EXPECT_ONE(RT(",\"health\":[]", ""), "t.json:1:65: \"process.health\" must be an object");
	EXPECT_ONE(RT(",\"stop\":\"TERM\"", ""), "t.json:1:63: \"process.stop\" must be an object");
	EXPECT_ONE(RT(",\"logs\":1", ""), "t.json:1:63: \"process.logs\" must be an object");
	/* restart */
	EXPECT_ONE(RT("", ",\"restart\":\"always\""), "t.json:1:67: \"restart\" must be an object");
	EXPECT_ONE(RT("", ",\"restart\":{\"window_seconds\":0}"),
		   "t.json:1:85: \"restart.window_seconds\" must be between 1 and 604800");
	EXPECT_ONE(RT("", ",\"restart\":{\"max\":1}"), "t.json:1:68: unknown field \"max\" in restart");
	/* an unknown field's name is quoted safely */
	EXPECT_ONE(RT("", ",\"a\\tb\":1"), "t.json:1:57: unknown field \"a\\tb\"");
	/* ... and cut short, not inside a UTF-8 sequence, even a broken one */
	{
		char name[128], msg[256], text[400];

		memset(name, 'k', 63);
		strcpy(name + 63, "\xc3\xa9zzz");	/* 2-byte char at bytes 63..64 */
		snprintf(text, sizeof(text), RT("", ",\"%s\":1"), name);
		snprintf(msg, sizeof(msg), "t.json:1:57: unknown field \"%.65s...\"", name);
		EXPECT_ONE(text, msg);
		/* continuation bytes only: not UTF-8, each byte is an error */
		memset(name, 0x86, 100);
		name[100] = '\0';
		snprintf(text, sizeof(text), RT("", ",\"%s\":1"), name);
		{
			struct manifest_result res;

			CHECK_INT(parse_str("t.json", text, &res), -EINVAL);
			CHECK_INT(res.nerrors, 100);
			CHECK_STR(res.nerrors ? res.errors[0] : NULL,
				  "t.json:1:58: invalid UTF-8 (byte 0x86): manifests must be UTF-8");
			manifest_result_free(&res);
		}
	}
	/* \u0000 would cut a string short */
	EXPECT_ONE("{\"id\":\"t\",\"adapter\":\"process\",\"process\":{\"command\":\"/bin/x\\u0000y\"}}",
		   "t.json:1:52: NUL character (\\u0000) in a string");
}

static void test_number_errors(void)
{
	EXPECT_ONE(RT(",\"stop\":{\"timeout_ms\":1.5}", ""),
		   "t.json:1:77: \"process.stop.timeout_ms\" must be an integer");
	EXPECT_ONE(RT(",\"stop\":{\"timeout_ms\":\"10\"}", ""),
		   "t.json:1:77: \"process.stop.timeout_ms\" must be an integer");
	EXPECT_ONE(RT(",\"stop\":{\"timeout_ms\":1e999}", ""),
		   "t.json:1:77: \"process.stop.timeout_ms\" must be between 0 and 3600000");
	EXPECT_ONE(RT(",\"stop\":{\"timeout_ms\":-1e300}", ""),
		   "t.json:1:77: \"process.stop.timeout_ms\" must be between 0 and 3600000");
	EXPECT_ONE(RT(",\"stop\":{\"timeout_ms\":18446744073709551616}", ""),
		   "t.json:1:77: \"process.stop.timeout_ms\" must be between 0 and 3600000");
	EXPECT_ONE(RT(",\"health\":{\"timeout_ms\":0}", ""),
		   "t.json:1:79: \"process.health.timeout_ms\" must be between 1 and 600000");
	EXPECT_ONE(RT(",\"health\":{\"interval_ms\":99}", ""),
		   "t.json:1:80: \"process.health.interval_ms\" must be between 100 and 3600000");
	EXPECT_ONE(RT(",\"health\":{\"startup_timeout_ms\":86400001}", ""),
		   "t.json:1:87: \"process.health.startup_timeout_ms\" must be between 0 and 86400000");
	EXPECT_ONE(RT(",\"health\":{\"failure_threshold\":1001}", ""),
		   "t.json:1:86: \"process.health.failure_threshold\" must be between 1 and 1000");
	EXPECT_ONE(RT(",\"health\":{\"expect_status\":600}", ""),
		   "t.json:1:82: \"process.health.expect_status\" must be between 100 and 599");
	EXPECT_ONE(RT(",\"logs\":{\"file_max_bytes\":1073741825}", ""),
		   "t.json:1:81: \"process.logs.file_max_bytes\" must be between 0 and 1073741824");
	EXPECT_ONE(RT(",\"logs\":{\"files\":0}", ""),
		   "t.json:1:72: \"process.logs.files\" must be between 1 and 100");
	EXPECT_ONE(RT("", ",\"restart\":{\"max_restarts\":1001}"),
		   "t.json:1:83: \"restart.max_restarts\" must be between 0 and 1000");
	/* stop.signal */
	static const char *const bad_signals[] = { "0", "65", "-15", "15.5", "\"STOP\"", "\"SIG\"", "\"15\"", "true", NULL };
	for (size_t i = 0; bad_signals[i]; i++) {
		char text[200];

		snprintf(text, sizeof(text), RT(",\"stop\":{\"signal\":%s}", ""), bad_signals[i]);
		EXPECT_ONE(text, "t.json:1:73: \"process.stop.signal\" must be a signal name such as TERM or a number between 1 and 64");
	}
}

static void test_health_errors(void)
{
	EXPECT_ONE(RT(",\"health\":{\"url\":\"http://\"}", ""),
		   "t.json:1:72: \"process.health.url\" must start with http:// or https://");
	EXPECT_ONE(RT(",\"health\":{\"url\":5}", ""),
		   "t.json:1:72: \"process.health.url\" must be a string");
	static const char *const bad_tcp[] = { "\"h\"", "\"h:\"", "\":80\"", "\"h:0\"", "\"h:65536\"", "\"h:8x\"", "\"h:123456\"", NULL };
	for (size_t i = 0; bad_tcp[i]; i++) {
		char text[200];

		snprintf(text, sizeof(text), RT(",\"health\":{\"tcp\":%s}", ""), bad_tcp[i]);
		EXPECT_ONE(text, "t.json:1:72: \"process.health.tcp\" must be \"host:port\" with a port between 1 and 65535");
	}
	EXPECT_ONE(RT(",\"health\":{\"exec\":\"/bin/true\"}", ""),
		   "t.json:1:73: \"process.health.exec\" must be an array of strings");
	EXPECT_ONE(RT(",\"health\":{\"exec\":[\"\"]}", ""),
		   "t.json:1:74: \"process.health.exec[0]\" must not be empty");
	EXPECT_ONE(RT(",\"health\":{\"exec\":[\"x\",null]}", ""),
		   "t.json:1:78: \"process.health.exec[1]\" must be a string");
	EXPECT_ONE(RT(",\"health\":{\"method\":\"get\"}", ""),
		   "t.json:1:75: \"process.health.method\" must be one of GET, HEAD, POST");
	EXPECT_ONE(RT(",\"health\":{\"expect_body\":200}", ""),
		   "t.json:1:80: \"process.health.expect_body\" must be a string");
	/* Three probes: one message, at the second. */
	EXPECT_ONE(RT(",\"health\":{\"exec\":[\"x\"],\"tcp\":\"h:1\",\"url\":\"http://h\"}", ""),
		   "t.json:1:79: health: only one of url, tcp, exec");
	/* A repeated probe is a duplicate, not a second probe. */
	EXPECT_ONE(RT(",\"health\":{\"tcp\":\"h:1\",\"tcp\":\"h:2\"}", ""),
		   "t.json:1:78: duplicate field \"tcp\" in process.health");
}

static void test_wrapper_errors(void)
{
	struct manifest_result res;

	EXPECT_ONE("{\"runtimes\":[]}", "t.json:1:1: missing required field \"version\"");
	EXPECT_ONE("{\"version\":\"1\",\"runtimes\":[]}", "t.json:1:12: \"version\" must be an integer");
	EXPECT_ONE("{\"version\":1.5,\"runtimes\":[]}", "t.json:1:12: \"version\" must be an integer");
	EXPECT_ONE("{\"version\":0,\"runtimes\":[]}", "t.json:1:12: unsupported version 0");
	EXPECT_ONE("{\"version\":1,\"runtimes\":{}}", "t.json:1:25: \"runtimes\" must be an array");
	EXPECT_ONE("{\"version\":1,\"runtimes\":[],\"version\":1}", "t.json:1:28: duplicate field \"version\"");
	/* Only an exact "runtimes" key makes a list. */
	EXPECT_ONE("{\"id\":\"t\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"},\"Runtimes\":[]}",
		   "t.json:1:57: unknown field \"Runtimes\"");
	CHECK_INT(parse_str("t.json", "{\"id\":\"t\",\"version\":1,\"runtimes\":[1]}", &res), -EINVAL);
	EXPECT_ERRORS(&res, "t.json:1:2: unknown field \"id\"",
		      "t.json:1:35: \"runtimes[0]\" must be an object");
	manifest_result_free(&res);
	/* Every error of every runtime, and each duplicate against the first. */
	CHECK_INT(parse_str("t.json",
			    "{\"version\":1,\"runtimes\":[\n"
			    "{\"id\":\"a\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}},\n"
			    "{\"id\":\"a\",\"adapter\":\"process\",\"process\":{}},\n"
			    "{\"id\":\"a\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}},\n"
			    "{\"id\":\"B\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}}]}", &res), -EINVAL);
	EXPECT_ERRORS(&res,
		      "t.json:3:7: duplicate id \"a\" (first at line 2)",
		      "t.json:3:41: missing required field \"process.command\"",
		      "t.json:4:7: duplicate id \"a\" (first at line 2)",
		      "t.json:5:7: invalid id \"B\": must match [a-z0-9][a-z0-9._-]{0,63}");
	manifest_result_free(&res);
}

static void test_too_many_errors(void)
{
	struct manifest_result res;
	size_t cap = 16384, n = 0;
	char *text = malloc(cap);

	CHECK(text != NULL);
	if (!text)
		return;
	n += (size_t)snprintf(text + n, cap - n, "{\"id\":\"t\",\"adapter\":\"process\",\"process\":{\"command\":\"c\"}");
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(text + n, cap - n, ",\n\"x%03d\":1", i);
	snprintf(text + n, cap - n, "}");
	CHECK_INT(parse_str("many.json", text, &res), -EINVAL);
	CHECK_INT(res.nerrors, 101);
	CHECK_INT(res.nspecs, 0);
	if (res.nerrors == 101) {
		CHECK_STR(res.errors[0], "many.json:2:1: unknown field \"x000\"");
		CHECK_STR(res.errors[99], "many.json:101:1: unknown field \"x099\"");
		CHECK_STR(res.errors[100], "many.json:102:1: too many errors, 50 more not shown");
	}
	manifest_result_free(&res);
	free(text);
}

/* ---- rendering, copying, comparing ------------------------------------ */

static const cJSON *get(const cJSON *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return o;
}

static const char *get_s(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double get_n(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static void test_to_json(void)
{
	struct manifest_result res, again;
	char *text, *text2;
	cJSON *j;

	CHECK_INT(parse_fixture("good-minimal.json", NULL, &res), 0);
	if (res.nspecs != 1)
		return;
	text = rt_spec_to_json(res.specs[0]);
	CHECK(text != NULL);
	if (!text)
		goto out;
	CHECK(text[0] == '{');
	CHECK(strlen(text) > 2 && strcmp(text + strlen(text) - 2, "}\n") == 0);
	CHECK(strchr(text, '\t') != NULL);	/* pretty, as cJSON_Print makes it */
	j = cJSON_Parse(text);
	CHECK(j != NULL);
	CHECK_STR(get_s(j, "id"), "echo");
	CHECK_STR(get_s(j, "adapter"), "process");
	CHECK_STR(get_s(j, "name"), "echo");
	CHECK(get(j, "profile") == NULL);
	CHECK(get(j, "preset") == NULL);
	CHECK_INT(cJSON_GetArraySize(get(j, "modalities")), 1);
	CHECK_STR(cJSON_GetArrayItem(get(j, "modalities"), 0) ?
		  cJSON_GetArrayItem(get(j, "modalities"), 0)->valuestring : NULL, "text");
	CHECK_STR(get_s(j, "accelerator"), "cpu");
	CHECK(cJSON_IsFalse(get(j, "auto_start")));
	CHECK(cJSON_IsObject(get(j, "tags")) && get(j, "tags")->child == NULL);
	CHECK_STR(get_s(j, "process.command"), "/bin/echo");
	CHECK(cJSON_IsArray(get(j, "process.args")) && get(j, "process.args")->child == NULL);
	CHECK(cJSON_IsObject(get(j, "process.env")) && get(j, "process.env")->child == NULL);
	CHECK(get(j, "process.workdir") == NULL);
	CHECK(get(j, "process.health.url") == NULL);
	CHECK(get(j, "process.health.tcp") == NULL);
	CHECK(get(j, "process.health.exec") == NULL);
	CHECK(get(j, "process.health.expect_body") == NULL);
	CHECK_STR(get_s(j, "process.health.method"), "GET");
	CHECK_INT(get_n(j, "process.health.expect_status"), 200);
	CHECK_INT(get_n(j, "process.health.timeout_ms"), 5000);
	CHECK_INT(get_n(j, "process.health.interval_ms"), 5000);
	CHECK_INT(get_n(j, "process.health.startup_timeout_ms"), 120000);
	CHECK_INT(get_n(j, "process.health.failure_threshold"), 3);
	CHECK_STR(get_s(j, "process.stop.signal"), "TERM");
	CHECK_INT(get_n(j, "process.stop.timeout_ms"), 10000);
	CHECK_INT(get_n(j, "process.logs.ring_bytes"), 65536);
	CHECK_INT(get_n(j, "process.logs.file_max_bytes"), 1048576);
	CHECK_INT(get_n(j, "process.logs.files"), 3);
	CHECK_STR(get_s(j, "restart.policy"), "on-failure");
	CHECK_INT(get_n(j, "restart.max_restarts"), 3);
	CHECK_INT(get_n(j, "restart.window_seconds"), 600);
	cJSON_Delete(j);

	/* The effective manifest is itself a good manifest of the same spec. */
	CHECK_INT(parse_str("again.json", text, &again), 0);
	if (again.nspecs == 1) {
		text2 = rt_spec_to_json(again.specs[0]);
		CHECK_STR(text2, text);
		free(text2);
	}
	manifest_result_free(&again);
	free(text);
out:
	manifest_result_free(&res);

	/* Everything set: round trip, and the probe key that is set. */
	CHECK_INT(parse_fixture("good-single.json", NULL, &res), 0);
	if (res.nspecs == 1) {
		text = rt_spec_to_json(res.specs[0]);
		j = text ? cJSON_Parse(text) : NULL;
		CHECK(j != NULL);
		CHECK_STR(get_s(j, "process.health.url"), "http://127.0.0.1:8081/health");
		CHECK(get(j, "process.health.tcp") == NULL);
		CHECK_STR(get_s(j, "process.health.expect_body"), "ok");
		CHECK_STR(get_s(j, "process.stop.signal"), "INT");
		CHECK_STR(get_s(j, "process.env.CUDA_VISIBLE_DEVICES"), "0");
		CHECK_STR(get_s(j, "tags.quant"), "q4_k_m");
		CHECK_STR(get_s(j, "profile"), "balanced");
		CHECK_STR(get_s(j, "accelerator"), "gpu_cuda");
		CHECK_INT(cJSON_GetArraySize(get(j, "modalities")), 2);
		CHECK(cJSON_IsTrue(get(j, "auto_start")));
		cJSON_Delete(j);
		CHECK_INT(parse_str("again.json", text ? text : "", &again), 0);
		if (again.nspecs == 1) {
			text2 = rt_spec_to_json(again.specs[0]);
			CHECK_STR(text2, text);
			CHECK(!rt_spec_launch_differs(res.specs[0], again.specs[0]));
			free(text2);
		}
		manifest_result_free(&again);
		free(text);
	}
	manifest_result_free(&res);

	/* tcp / exec probes, a named and an unnamed signal. */
	CHECK_INT(parse_fixture("good-multi.json", NULL, &res), 0);
	if (res.nspecs == 3) {
		static const char *const sig[3] = { "QUIT", "KILL", NULL };

		for (size_t i = 0; i < 3; i++) {
			text = rt_spec_to_json(res.specs[i]);
			j = text ? cJSON_Parse(text) : NULL;
			CHECK(j != NULL);
			if (sig[i])
				CHECK_STR(get_s(j, "process.stop.signal"), sig[i]);
			else
				CHECK_INT(get_n(j, "process.stop.signal"), 40);
			CHECK_INT(get(j, "process.health.tcp") != NULL, i == 0);
			CHECK_INT(get(j, "process.health.exec") != NULL, i == 1);
			CHECK(get(j, "process.health.url") == NULL);
			CHECK_INT(parse_str("again.json", text ? text : "", &again), 0);
			manifest_result_free(&again);
			cJSON_Delete(j);
			free(text);
		}
		CHECK(rt_spec_to_json(NULL) == NULL);
	}
	manifest_result_free(&res);
}

static char *dup_or_null(const char *v)
{
	return v ? strdup(v) : NULL;
}

static void test_dup_and_differs(void)
{
	struct manifest_result res;
	struct rt_spec *a, *b;
	char *ta, *tb;

	rt_spec_free(NULL);
	CHECK(rt_spec_dup(NULL) == NULL);
	CHECK(!rt_spec_launch_differs(NULL, NULL));

	CHECK_INT(parse_fixture("good-single.json", NULL, &res), 0);
	if (res.nspecs != 1)
		goto out;
	a = res.specs[0];
	b = rt_spec_dup(a);
	CHECK(b != NULL);
	if (!b)
		goto out;
	CHECK(rt_spec_launch_differs(a, NULL));
	CHECK(b->command != a->command && b->args != a->args && b->env != a->env);
	CHECK_STR(b->id, a->id);
	CHECK_INT(b->id_line, a->id_line);
	CHECK(b->args[b->nargs] == NULL);
	ta = rt_spec_to_json(a);
	tb = rt_spec_to_json(b);
	CHECK_STR(tb, ta);
	free(ta);
	free(tb);
	CHECK(!rt_spec_launch_differs(a, b));

#define FLIP(stmt, expect) do { \
		struct rt_spec *c_ = rt_spec_dup(a); \
		CHECK(c_ != NULL); \
		if (c_) { \
			struct rt_spec *s = c_; \
			stmt; \
			CHECK_INT(rt_spec_launch_differs(a, c_), expect); \
			CHECK_INT(rt_spec_launch_differs(c_, a), expect); \
			rt_spec_free(c_); \
		} \
	} while (0)
#define SETS(field, v) do { free(s->field); s->field = dup_or_null(v); } while (0)

	/* Fields a running process does not see. */
	FLIP(SETS(name, "other"), false);
	FLIP(SETS(profile, NULL), false);
	FLIP(SETS(preset, "x"), false);
	FLIP(SETS(tags[0].val, "mistral"), false);
	FLIP({ free(s->tags[1].key); free(s->tags[1].val); s->ntags = 1; }, false);
	FLIP(s->modalities = MOD_AUDIO, false);
	FLIP(s->accelerator = ACCEL_CPU, false);
	FLIP(s->auto_start = false, false);
	FLIP(SETS(health.url, "http://127.0.0.1:1/"), false);
	FLIP(s->health.timeout_ms = 1, false);
	FLIP(s->restart_policy = RESTART_NEVER, false);
	FLIP(s->prefer_restart = true, false);
	/* what runs on a fallback is launch */
	FLIP(s->has_fallback = true, true);
	FLIP({ s->has_fallback = true; s->fb_accelerator = ACCEL_GPU_VULKAN; }, true);
	FLIP(s->max_restarts = 0, false);
	FLIP(s->window_seconds = 1, false);
	/* env in another order is the same env */
	FLIP({ struct kv t = s->env[0]; s->env[0] = s->env[1]; s->env[1] = t; }, false);

	/* Fields that need a restart. */
	FLIP(SETS(command, "/usr/bin/llama-server"), true);
	FLIP(SETS(args[3], "8082"), true);
	FLIP({ free(s->args[3]); s->args[3] = NULL; s->nargs = 3; }, true);
	FLIP(SETS(env[1].val, "debug"), true);
	FLIP(SETS(env[1].key, "LLAMA_LEVEL"), true);
	FLIP({ free(s->env[1].key); free(s->env[1].val); s->nenv = 1; }, true);
	FLIP(SETS(workdir, NULL), true);
	FLIP(SETS(workdir, "/tmp"), true);
	FLIP(SETS(user, "root"), true);
	FLIP(SETS(group, NULL), true);
	FLIP(s->stop_signal = SIGTERM, true);
	FLIP(s->stop_timeout_ms = 1, true);
	FLIP(s->ring_bytes = 1024, true);
	FLIP(s->file_max_bytes = 1, true);
	FLIP(s->log_files = 2, true);
#undef FLIP
#undef SETS
	rt_spec_free(b);
out:
	manifest_result_free(&res);
	manifest_result_free(&res);	/* twice is fine */
}

static void test_add_error(void)
{
	struct manifest_result res;
	int r;

	CHECK_INT(parse_fixture("good-multi.json", NULL, &res), 0);
	CHECK_INT(res.nspecs, 3);
	r = manifest_add_error(&res, "good-multi.json", 5, 13, "duplicate id \"%s\" (also in %s)",
			       "whisper", "other.json");
	CHECK_INT(r, 0);
	CHECK_INT(res.nspecs, 0);
	CHECK(res.specs == NULL);
	CHECK_INT(res.nerrors, 1);
	if (res.nerrors == 1)
		CHECK_STR(res.errors[0], "good-multi.json:5:13: duplicate id \"whisper\" (also in other.json)");
	r = manifest_add_error(&res, "good-multi.json", 1, 1, "mode %o is group- or world-writable", 0664);
	CHECK_INT(r, 0);
	CHECK_INT(res.nerrors, 2);
	if (res.nerrors == 2)
		CHECK_STR(res.errors[1], "good-multi.json:1:1: mode 664 is group- or world-writable");
	manifest_result_free(&res);

	/* After a failed parse, more errors go after the parser's. */
	CHECK_INT(parse_fixture("bad-id.json", NULL, &res), -EINVAL);
	CHECK_INT(manifest_add_error(&res, "bad-id.json", 1, 1, "%s", "extra"), 0);
	EXPECT_ERRORS(&res,
		"bad-id.json:2:9: invalid id \"Foo\": must match [a-z0-9][a-z0-9._-]{0,63}",
		"bad-id.json:1:1: extra");
	manifest_result_free(&res);
}

static void test_names(void)
{
	CHECK(manifest_file_ignored(NULL));
	CHECK(manifest_file_ignored(""));
	CHECK(manifest_file_ignored(".hidden.json"));
	CHECK(manifest_file_ignored(".#llama.json"));
	CHECK(manifest_file_ignored(".llama.json.swp"));
	CHECK(manifest_file_ignored("llama.json~"));
	CHECK(manifest_file_ignored("llama.json.swp"));
	CHECK(manifest_file_ignored("llama.json.tmp"));
	CHECK(manifest_file_ignored("llama.tmp"));
	CHECK(manifest_file_ignored("llama.yaml"));
	CHECK(manifest_file_ignored("llama.JSON"));
	CHECK(manifest_file_ignored("json"));
	CHECK(manifest_file_ignored(".json"));
	CHECK(manifest_file_ignored("README"));
	CHECK(!manifest_file_ignored("llama.json"));
	CHECK(!manifest_file_ignored("a.json"));
	CHECK(!manifest_file_ignored("10-whisper.v2.json"));

	CHECK(rt_id_valid("a"));
	CHECK(rt_id_valid("0"));
	CHECK(rt_id_valid("llama-7b.q4_k_m"));
	CHECK(rt_id_valid("a123456789012345678901234567890123456789012345678901234567890123"));
	CHECK(!rt_id_valid("a1234567890123456789012345678901234567890123456789012345678901234"));
	CHECK(!rt_id_valid(NULL));
	CHECK(!rt_id_valid(""));
	CHECK(!rt_id_valid("Llama"));
	CHECK(!rt_id_valid("_a"));
	CHECK(!rt_id_valid(".a"));
	CHECK(!rt_id_valid("a/b"));
	CHECK(!rt_id_valid("a b"));
	CHECK(!rt_id_valid("caf\xc3\xa9"));

	CHECK_STR(accel_name(ACCEL_CPU), "cpu");
	CHECK_STR(accel_name(ACCEL_GPU_CUDA), "gpu_cuda");
	CHECK_STR(accel_name(ACCEL_GPU_ROCM), "gpu_rocm");
	CHECK_STR(accel_name(ACCEL_GPU_METAL), "gpu_metal");
	CHECK_STR(accel_name(ACCEL_GPU_VULKAN), "gpu_vulkan");
	CHECK_STR(accel_name(ACCEL_NPU), "npu");
	CHECK_STR(accel_name(ACCEL_COUNT), "unknown");
	CHECK_STR(restart_policy_name(RESTART_ON_FAILURE), "on-failure");
	CHECK_STR(restart_policy_name(RESTART_ALWAYS), "always");
	CHECK_STR(restart_policy_name(RESTART_NEVER), "never");
	CHECK_STR(restart_policy_name((enum restart_policy)7), "unknown");
}

/* ---- the position walker ---------------------------------------------- */

static size_t count_nodes(const cJSON *n)
{
	size_t c = 1;

	for (const cJSON *e = n->child; e; e = e->next)
		c += count_nodes(e);
	return c;
}

static bool all_found(const struct jsonpos_table *t, const cJSON *n)
{
	if (!jsonpos_find(t, n))
		return false;
	for (const cJSON *e = n->child; e; e = e->next)
		if (!all_found(t, e))
			return false;
	return true;
}

static void test_jsonpos(void)
{
	/* Escapes, a raw newline inside a string, blanks cJSON allows (any byte
	 * <= 32), empty containers, numbers with exponents, repeated keys. */
	static const char text[] =
		"{\"a\\\"b\": \"x\\\\\", \"n\": [1, -2.5e+3, {}, []],\x01\n"
		"  \"s\": \"line\none\",  \"a\\\"b\": [true, false, null],\n"
		"\t\"z\":\"\\u0000\"}";
	struct jsonpos_table t;
	const struct jsonpos *p;
	cJSON *root = cJSON_ParseWithLength(text, sizeof(text));
	const cJSON *e;

	CHECK(root != NULL);
	if (!root)
		return;
	CHECK_INT(jsonpos_build(&t, text, sizeof(text) - 1, root), 0);
	CHECK_INT(t.n, count_nodes(root));
	CHECK(all_found(&t, root));

	p = jsonpos_find(&t, root);
	CHECK(p && p->line == 1 && p->col == 1);
	e = root->child;			/* "a\"b": "x\\" */
	p = jsonpos_find(&t, e);
	CHECK(p && p->key_line == 1 && p->key_col == 2 && p->line == 1 && p->col == 10);
	e = e->next;				/* "n": [...] */
	p = jsonpos_find(&t, e);
	CHECK(p && p->key_col == 17 && p->col == 22);
	p = jsonpos_find(&t, e->child->next);	/* -2.5e+3 */
	CHECK(p && p->line == 1 && p->col == 26 && p->key_col == 26);
	e = e->next;				/* "s": "line\none" */
	p = jsonpos_find(&t, e);
	CHECK(p && p->key_line == 2 && p->key_col == 3 && p->col == 8);
	CHECK(!p || !p->nul);
	e = e->next;				/* the repeated key */
	p = jsonpos_find(&t, e);
	CHECK(p && p->key_line == 3 && p->key_col == 8 && p->col == 16);
	p = jsonpos_find(&t, e->child->next->next);	/* null */
	CHECK(p && p->line == 3 && p->col == 30);
	e = e->next;				/* "z": "\u0000" */
	p = jsonpos_find(&t, e);
	CHECK(p && p->line == 4 && p->key_col == 2 && p->col == 6 && p->nul && !p->key_nul);
	CHECK(jsonpos_find(&t, NULL) == NULL);
	jsonpos_free(&t);
	jsonpos_free(&t);
	cJSON_Delete(root);

	/* A table built for one tree does not describe another. */
	root = cJSON_Parse("[1,2]");
	if (root) {
		CHECK_INT(jsonpos_build(&t, "[1]", 3, root), -EINVAL);
		jsonpos_free(&t);
		cJSON_Delete(root);
	}
}

/* Mutations of a good manifest: whatever cJSON accepts, the walker must
 * follow node for node, and manifest_parse must answer 0 or -EINVAL with a
 * consistent result (ASan watches the rest). */
static void test_mutations(void)
{
	static const char alphabet[] = "{}[]\",:\\ \n\t0123456789.-+eEtrufalsn\x01\x7f\xc3";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t len = 0, bad_walks = 0, bad_results = 0, parsed = 0;
	char *orig = read_fixture("good-single.json", &len);
	char *buf;

	if (!orig || !len) {
		CHECK(orig != NULL);
		free(orig);
		return;
	}
	buf = malloc(len + 1);
	if (!buf) {
		free(orig);
		return;
	}
	for (int iter = 0; iter < 4000; iter++) {
		struct manifest_result res;
		size_t n = len;
		int r;

		memcpy(buf, orig, len);
		for (int k = 0; k < 1 + iter % 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t at = (size_t)(x % n);

			switch ((x >> 32) % 4) {
			case 0:		/* replace a byte */
				buf[at] = alphabet[(x >> 40) % (sizeof(alphabet) - 1)];
				break;
			case 1:		/* delete a byte */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			case 2:		/* truncate */
				n = at + 1;
				break;
			default:	/* swap two bytes */
				{
					size_t o = (size_t)((x >> 20) % n);
					char c = buf[at];

					buf[at] = buf[o];
					buf[o] = c;
				}
			}
			if (n < 2)
				break;
		}
		buf[n] = '\0';
		{
			cJSON *root = cJSON_ParseWithLength(buf, n + 1);

			if (root) {
				struct jsonpos_table t;

				parsed++;
				if (jsonpos_build(&t, buf, n, root) != 0 ||
				    t.n != count_nodes(root) || !all_found(&t, root))
					bad_walks++;
				jsonpos_free(&t);
				cJSON_Delete(root);
			}
		}
		r = manifest_parse("m.json", buf, n, NULL, &res);
		if (!((r == 0 && res.nerrors == 0) ||
		      (r == -EINVAL && res.nerrors > 0 && res.nspecs == 0 && !res.specs)))
			bad_results++;
		for (size_t i = 0; i < res.nerrors; i++)
			if (strncmp(res.errors[i], "m.json:", 7) != 0 || strchr(res.errors[i], '\n'))
				bad_results++;
		manifest_result_free(&res);
	}
	CHECK_INT(bad_walks, 0);
	CHECK_INT(bad_results, 0);
	CHECK(parsed > 100);	/* the mutations did reach the walker */
	free(buf);
	free(orig);
}

int main(void)
{
	test_good_single();
	test_defaults();
	test_good_multi();
	test_good_variants();
	test_syntax();
	test_size_limit();
	test_bad_fixtures();
	test_field_errors();
	test_number_errors();
	test_health_errors();
	test_wrapper_errors();
	test_too_many_errors();
	test_to_json();
	test_dup_and_differs();
	test_add_error();
	test_names();
	test_jsonpos();
	test_mutations();
	return test_summary("manifest");
}
