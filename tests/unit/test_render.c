/*
 * test_render.c - the text of generated files, from hand-built views, with
 * an injected clock.  No mount, no threads.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "render.h"
#include "test.h"

/* 2026-11-22T10:00:00.000Z */
#define T0 1795341600000LL

/* A bare manifest, as a view shares it. */
static struct rt_spec *spec(const char *id)
{
	struct rt_spec *s = calloc(1, sizeof(*s));

	atomic_init(&s->ref, 1);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->name = strdup(id);
	s->adapter = strdup("process");
	s->accelerator = ACCEL_CPU;
	s->modalities = MOD_TEXT;
	return s;
}

static struct rt_view *view(const char *id, enum rt_state st, enum severity sev, const char *summary)
{
	struct rt_view *v = rt_view_new();

	snprintf(v->id, sizeof(v->id), "%s", id);
	v->spec = spec(id);
	v->state = st;
	v->severity = sev;
	v->summary = strdup(summary);
	v->max_restarts = 3;
	v->window_seconds = 600;
	v->updated_at = T0;
	return v;
}

static void add_detail(struct rt_view *v, const char *d)
{
	v->detail = realloc(v->detail, (v->ndetail + 1) * sizeof(char *));
	v->detail[v->ndetail++] = strdup(d);
}

static char *file(enum rt_file f, const struct rt_view *v, int64_t now)
{
	size_t len = 0;
	char *s = render_rt_file(f, v, now, &len);

	CHECK(s != NULL);
	if (s)
		CHECK_INT(strlen(s), len);   /* the size reported is the size read */
	return s;
}

static void test_simple_files(void)
{
	struct rt_view *v = view("llama", ST_READY, SEV_INFO, "Process healthy");
	char *s;

	add_detail(v, "Process 42 running");
	add_detail(v, "Restart budget: 0 of 3 used");
	v->pid = 42;
	s = file(RF_STATE, v, T0);
	CHECK_STR(s, "ready\n");
	free(s);
	s = file(RF_STATUS, v, T0);
	CHECK_STR(s, "Ready - Process healthy\nProcess 42 running\nRestart budget: 0 of 3 used\n");
	free(s);
	s = file(RF_PID, v, T0);
	CHECK_STR(s, "42\n");
	free(s);
	v->pid = 0;
	s = file(RF_PID, v, T0);
	CHECK_STR(s, "");
	free(s);
	s = render_label(v);
	CHECK_STR(s, "Ready - Process healthy");
	free(s);
	rt_view_unref(v);
}

static void test_budget_window(void)
{
	struct rt_view *v = view("b", ST_ERROR, SEV_ERROR, "Restart budget exhausted");
	char *s;

	v->restarts = malloc(3 * sizeof(int64_t));
	v->restarts[0] = T0;
	v->restarts[1] = T0 + 1000;
	v->restarts[2] = T0 + 2000;
	v->nrestarts = 3;
	s = file(RF_BUDGET, v, T0 + 3000);
	CHECK_STR(s, "max_restarts=3\nwindow_seconds=600\nused=3\nremaining=0\n"
		     "reset_at=2026-11-22T10:10:00.000Z\nexhausted=yes\n");
	free(s);
	/* the oldest leaves the window: the same view reads differently later */
	s = file(RF_BUDGET, v, T0 + 600000);
	CHECK_STR(s, "max_restarts=3\nwindow_seconds=600\nused=2\nremaining=1\n"
		     "reset_at=2026-11-22T10:10:01.000Z\nexhausted=no\n");
	free(s);
	s = file(RF_BUDGET, v, T0 + 700000);
	CHECK_STR(s, "max_restarts=3\nwindow_seconds=600\nused=0\nremaining=3\nreset_at=\nexhausted=no\n");
	free(s);
	rt_view_unref(v);
}

static void test_health_json(void)
{
	struct rt_view *v = view("llama", ST_DEGRADED, SEV_WARN, "Health check failed (1 of 3): HTTP 500");
	cJSON *j, *x;
	char *s;
	static const char *const keys[] = {
		"id", "name", "adapter", "state", "state_label", "severity", "severity_label",
		"summary", "label", "detail", "aria_hint", "pid", "started_at", "uptime_seconds",
		"updated_at", "accelerator", "modalities", "restart_budget", "last_exit", "probe",
		"manifest",
	};
	size_t i;

	add_detail(v, "first");
	add_detail(v, "second");
	v->pid = 7;
	v->started_at = T0;
	v->has_exit = true;
	v->exit_signal = 9;
	v->exit_code = -1;
	v->exit_at = T0 - 500;
	v->exit_reason = strdup("killed by signal 9 (SIGKILL)");
	v->spec->health.type = PROBE_HTTP;
	v->spec->probe_target = strdup("http://127.0.0.1:8080/health");
	v->probe_result = strdup("HTTP 500 (expected 200)");
	v->probe_latency_ms = 3;
	v->probe_failures = 1;
	v->source = strdup("llama.json");
	v->loaded_at = T0 - 1000;
	s = file(RF_HEALTH, v, T0 + 42500);
	j = cJSON_Parse(s);
	CHECK(j != NULL);
	for (i = 0; j && i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!cJSON_HasObjectItem(j, keys[i]))
			fprintf(stderr, "missing key %s\n", keys[i]);
		CHECK(cJSON_HasObjectItem(j, keys[i]));
	}
	if (j) {
		CHECK_STR(cJSON_GetObjectItem(j, "label")->valuestring,
			  "Degraded - Health check failed (1 of 3): HTTP 500");
		CHECK_STR(cJSON_GetObjectItem(j, "aria_hint")->valuestring,
			  "Runtime llama status Degraded - Health check failed (1 of 3): HTTP 500. first; second");
		CHECK_STR(cJSON_GetObjectItem(j, "severity_label")->valuestring, "Warn");
		CHECK_INT(cJSON_GetObjectItem(j, "uptime_seconds")->valuedouble, 42);
		CHECK_STR(cJSON_GetObjectItem(j, "started_at")->valuestring, "2026-11-22T10:00:00.000Z");
		x = cJSON_GetObjectItem(j, "last_exit");
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(x, "code")));
		CHECK_INT(cJSON_GetObjectItem(x, "signal")->valuedouble, 9);
		x = cJSON_GetObjectItem(j, "probe");
		CHECK_STR(cJSON_GetObjectItem(x, "type")->valuestring, "http");
		CHECK_INT(cJSON_GetObjectItem(x, "consecutive_failures")->valuedouble, 1);
		x = cJSON_GetObjectItem(j, "restart_budget");
		CHECK_INT(cJSON_GetObjectItem(x, "remaining")->valuedouble, 3);
		CHECK(cJSON_IsFalse(cJSON_GetObjectItem(x, "exhausted")));
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(x, "reset_at")));
		x = cJSON_GetObjectItem(j, "modalities");
		CHECK_INT(cJSON_GetArraySize(x), 1);
		CHECK_STR(cJSON_GetArrayItem(x, 0)->valuestring, "text");
	}
	cJSON_Delete(j);
	free(s);
	rt_view_unref(v);
}

/* health.json is written by hand in cJSON's layout: the text equals what
 * cJSON prints from its own parse, for views with and without each part,
 * strings that need escapes, and bytes that are not UTF-8. */
static void same_as_cjson(const struct rt_view *v, int64_t now)
{
	char *s = file(RF_HEALTH, v, now), *again;
	cJSON *j = s ? cJSON_Parse(s) : NULL;

	CHECK(j != NULL);
	again = j ? json_text(j, NULL) : NULL;
	CHECK_STR(s, again);
	cJSON_Delete(j);
	free(again);
	free(s);
}

static void test_health_layout(void)
{
	struct rt_view *v = view("plain", ST_OFFLINE, SEV_INFO, "Not started");

	v->spec->modalities = 0;
	same_as_cjson(v, T0);   /* nothing running, no detail, no modality */
	free(v->summary);
	v->summary = strdup("quote \" back \\ tab \t nl \n cr \r bs \b ff \f ctl \x02\x1f del \x7f "
			    "e\xc3\xa9 bad \xff\xfe cut \xe2\x82");
	add_detail(v, "detail \"one\"");
	add_detail(v, "two\x01");
	v->spec->modalities = MOD_TEXT | MOD_AUDIO | MOD_VISION;
	v->spec->profile = strdup("p/\\x");
	v->pid = 123;
	v->processes = 4;
	v->cgroup = strdup("/sys/fs/cgroup/x");
	v->started_at = T0;
	v->has_exit = true;
	v->exit_code = 2;
	v->exit_signal = -1;
	v->exit_at = T0 - 1;
	v->exit_reason = strdup("exit code 2");
	v->spec->health.type = PROBE_EXEC;
	v->probe_result = strdup("exit 1: \xff");
	v->probe_latency_ms = 12345;
	v->probe_failures = 2;
	v->probe_last_ok_at = T0 - 7;
	v->source = strdup("plain.json");
	v->loaded_at = T0 - 9;
	v->log_path = strdup("/var/log/x.log");
	v->restarts = calloc(2, sizeof(int64_t));
	v->restarts[0] = T0 - 1000;
	v->restarts[1] = T0 - 500;
	v->nrestarts = 2;
	same_as_cjson(v, T0 + 1);
	same_as_cjson(v, T0 + 86400000LL * 400);   /* a long uptime; the budget window passed */
	rt_view_unref(v);
}

/* health.json as published: the text without the uptime, filled in at each
 * read for the time of the read, equal to a whole rendering at that time
 * (and its size too), across a change in the number of digits. */
static void test_health_published(void)
{
	struct rt_view *v = view("llama", ST_READY, SEV_INFO, "Process healthy");
	const int64_t at[] = { T0 - 5000, T0, T0 + 999, T0 + 9999, T0 + 10000, T0 + 123456789 };
	size_t i, len, n;
	char *whole, *served;
	int up;

	v->started_at = T0;
	for (up = 1; up >= 0; up--) {
		v->pid = up ? 42 : 0;
		v->text[RF_HEALTH] = render_health_parts(v, T0, &v->text_len[RF_HEALTH], &v->uptime_at);
		CHECK(v->text[RF_HEALTH] != NULL);
		CHECK(up ? v->uptime_at < v->text_len[RF_HEALTH] : v->uptime_at == RT_NO_UPTIME);
		CHECK(strchr(v->text[RF_HEALTH], '\x01') == NULL);
		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			whole = file(RF_HEALTH, v, at[i]);
			served = rt_view_text(v, RF_HEALTH, at[i], &len);
			n = rt_view_len(v, RF_HEALTH, at[i]);
			CHECK_STR(served, whole);
			CHECK_INT(len, strlen(whole));
			CHECK_INT(n, strlen(whole));
			free(whole);
			free(served);
		}
		free(v->text[RF_HEALTH]);
		v->text[RF_HEALTH] = NULL;
	}
	whole = file(RF_HEALTH, v, T0);
	CHECK(strstr(whole, "\"uptime_seconds\":\tnull") != NULL);
	free(whole);
	v->pid = 42;
	whole = file(RF_HEALTH, v, T0 + 10000);
	CHECK(strstr(whole, "\"uptime_seconds\":\t10,") != NULL);
	free(whole);
	rt_view_unref(v);
}

static cJSON *matrix_p(struct rt_view **vs, size_t n, const char *problem)
{
	size_t len;
	char *s = render_matrix(vs, n, "node1", NULL, problem, 60, T0, &len);
	cJSON *j;

	CHECK(s != NULL);
	CHECK_INT(strlen(s), len);
	j = cJSON_Parse(s);
	free(s);
	CHECK(j != NULL);
	return j;
}

static cJSON *matrix(struct rt_view **vs, size_t n)
{
	return matrix_p(vs, n, NULL);
}

static const char *mstr(cJSON *j, const char *a, const char *b)
{
	cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "items"), "node1"), a);

	x = cJSON_GetObjectItem(x, b);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void test_matrix(void)
{
	struct rt_view *vs[3];
	cJSON *j, *rt, *x;

	vs[0] = view("a", ST_READY, SEV_INFO, "Process healthy");
	vs[1] = view("b", ST_OFFLINE, SEV_INFO, "Stopped by operator");
	vs[2] = view("c", ST_READY, SEV_INFO, "Process healthy");
	vs[2]->spec->accelerator = ACCEL_GPU_CUDA;
	vs[2]->spec->accelerator_set = true;
	j = matrix(vs, 3);
	CHECK_INT(cJSON_GetObjectItem(j, "ttl_seconds")->valuedouble, 60);
	/* an operator's stop does not degrade the node */
	CHECK_STR(mstr(j, "status", "code"), "ok");
	CHECK_STR(mstr(j, "status", "label"), "Ready - Runtime telemetry nominal");
	CHECK_STR(mstr(j, "status", "aria_hint"),
		  "Runtime status Ready - Runtime telemetry nominal. 2 of 3 runtimes ready; 1 offline");
	rt = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "items"), "node1"), "runtime");
	CHECK_INT(cJSON_GetObjectItem(rt, "total")->valuedouble, 3);
	CHECK_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "states"), "ready")->valuedouble, 2);
	/* ARW's labels; a runtime that names no accelerator is "Unspecified" */
	x = cJSON_GetObjectItem(rt, "by_accelerator");
	CHECK_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "GPU (CUDA)"), "states"),
				      "ready")->valuedouble, 1);
	CHECK_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "Unspecified"), "total")->valuedouble, 2);
	CHECK(cJSON_GetObjectItem(x, "gpu_cuda") == NULL);
	CHECK(cJSON_GetObjectItem(x, "CPU") == NULL);
	/* empty counts and lists are left out, as ARW does */
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "states"), "error") == NULL);
	CHECK(cJSON_GetObjectItem(rt, "restart_pressure") == NULL);
	CHECK_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "severity"), "info")->valuedouble, 3);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "severity"), "error") == NULL);
	cJSON_Delete(j);

	/* nothing at all: no states, severity, accelerators or pressure */
	j = matrix(vs, 0);
	rt = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "items"), "node1"), "runtime");
	CHECK_INT(cJSON_GetObjectItem(rt, "total")->valuedouble, 0);
	CHECK(!cJSON_GetObjectItem(rt, "states") && !cJSON_GetObjectItem(rt, "severity") &&
	      !cJSON_GetObjectItem(rt, "by_accelerator") && !cJSON_GetObjectItem(rt, "restart_pressure"));
	cJSON_Delete(j);

	/* an error anywhere makes the node an error, with pressure listed */
	rt_view_unref(vs[2]);
	vs[2] = view("c", ST_ERROR, SEV_ERROR, "Restart budget exhausted");
	vs[2]->restarts = malloc(3 * sizeof(int64_t));
	vs[2]->restarts[0] = vs[2]->restarts[1] = vs[2]->restarts[2] = T0 - 1000;
	vs[2]->nrestarts = 3;
	j = matrix(vs, 3);
	CHECK_STR(mstr(j, "status", "code"), "error");
	CHECK_STR(mstr(j, "status", "severity"), "error");
	/* the node's detail says which runtime, and why */
	CHECK_STR(mstr(j, "status", "aria_hint"),
		  "Runtime status Error - Runtime errors need attention. 1 of 3 runtimes ready; 1 error; 1 offline; "
		  "c: Error - Restart budget exhausted");
	rt = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "items"), "node1"), "runtime");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(rt, "restart_pressure")), 1);
	x = cJSON_GetArrayItem(cJSON_GetObjectItem(rt, "restart_pressure"), 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(x, "exhausted")));
	CHECK_INT(cJSON_GetObjectItem(x, "window_seconds")->valuedouble, 600);
	CHECK_STR(cJSON_GetObjectItem(x, "message")->valuestring,
		  "c restart budget exhausted (0 of 3 remaining; window 600s; resets at 2026-11-22T10:09:59.000Z)");
	cJSON_Delete(j);

	/* a node problem (the state folder is full) degrades a healthy node */
	j = matrix_p(vs, 2, "State folder /s cannot be written (No space left on device)");
	CHECK_STR(mstr(j, "status", "code"), "degraded");
	CHECK_STR(mstr(j, "status", "severity"), "warn");
	CHECK_STR(mstr(j, "status", "label"), "Degraded - State is not being saved");
	CHECK_STR(mstr(j, "status", "aria_hint"),
		  "Runtime status Degraded - State is not being saved. 1 of 2 runtimes ready; 1 offline; "
		  "State folder /s cannot be written (No space left on device)");
	cJSON_Delete(j);
	/* and leaves an error an error */
	j = matrix_p(vs, 3, "State folder /s cannot be written (No space left on device)");
	CHECK_STR(mstr(j, "status", "code"), "error");
	cJSON_Delete(j);

	/* nothing configured */
	j = matrix(vs, 0);
	CHECK_STR(mstr(j, "status", "label"), "Ready - No runtimes configured");
	cJSON_Delete(j);
	rt_view_unref(vs[0]);
	rt_view_unref(vs[1]);
	rt_view_unref(vs[2]);
}

static void test_metrics(void)
{
	struct rt_view *vs[2];
	size_t len;
	char *s;

	vs[0] = view("a", ST_READY, SEV_INFO, "Process healthy");
	vs[1] = view("b", ST_ERROR, SEV_ERROR, "Restart budget exhausted");
	vs[0]->spec->accelerator = ACCEL_GPU_ROCM;
	vs[0]->spec->accelerator_set = true;
	vs[0]->pid = 42;
	vs[0]->started_at = T0 - 90000;
	vs[1]->restarts_total = 4;
	vs[1]->exits[EXIT_CRASH] = 3;
	vs[1]->exits[EXIT_HEALTH] = 1;
	s = render_metrics(vs, 2, NULL, T0 - 120000, "1\"x\\y\nz", T0, &len);
	CHECK(s != NULL);
	if (s) {
		CHECK_INT(strlen(s), len);
		/* label values escaped: \" \\ \n */
		CHECK(strstr(s, "arw_build_info{version=\"1\\\"x\\\\y\\nz\"} 1\n") != NULL);
		CHECK(strstr(s, "# TYPE arw_runtime_exits_total counter\n") != NULL);
		CHECK(strstr(s, "arw_runtime_up{id=\"a\",accelerator=\"GPU (ROCm)\"} 1\n") != NULL);
		CHECK(strstr(s, "arw_runtime_up{id=\"b\",accelerator=\"Unspecified\"} 0\n") != NULL);
		CHECK(strstr(s, "arw_runtime_state{id=\"b\",accelerator=\"Unspecified\",state=\"error\"} 1\n") != NULL);
		CHECK(strstr(s, "arw_runtime_state{id=\"b\",accelerator=\"Unspecified\",state=\"ready\"} 0\n") != NULL);
		CHECK(strstr(s, "arw_runtime_restarts_total{id=\"b\",accelerator=\"Unspecified\"} 4\n") != NULL);
		CHECK(strstr(s, "arw_runtime_exits_total{id=\"b\",accelerator=\"Unspecified\",reason=\"health\"} 1\n") != NULL);
		CHECK(strstr(s, "arw_runtime_uptime_seconds{id=\"a\",accelerator=\"GPU (ROCm)\"} 90\n") != NULL);
		CHECK(strstr(s, "arw_runtime_uptime_seconds{id=\"b\",accelerator=\"Unspecified\"} 0\n") != NULL);
		CHECK(strstr(s, "arw_runtimes{state=\"error\"} 1\n") != NULL);
		CHECK(strstr(s, "arw_supervisor_start_time_seconds 1795341480.000\n") != NULL);
		/* no probe result, no duration series */
		CHECK(strstr(s, "arw_runtime_health_probe_duration_seconds{") == NULL);
	}
	free(s);
	rt_view_unref(vs[0]);
	rt_view_unref(vs[1]);
}

static void test_names(void)
{
	CHECK_STR(state_slug(ST_STOPPING), "stopping");
	CHECK_STR(state_label(ST_OFFLINE), "Offline");
	CHECK_STR(severity_label(SEV_ERROR), "Error");
	CHECK_STR(probe_type_name(PROBE_TCP), "tcp");
}

int main(void)
{
	test_simple_files();
	test_budget_window();
	test_health_json();
	test_health_published();
	test_health_layout();
	test_matrix();
	test_metrics();
	test_names();
	return test_summary("render");
}
