/*
 * metrics.c - metrics.prom: the Prometheus text exposition format (0.0.4),
 * rendered from the published views when the file is read.  Pure: the
 * views, the start time and `now` come in as arguments.
 *
 * One family after another, each with its HELP and TYPE lines; per runtime
 * the labels `id` and `accelerator` (ARW's label, "Unspecified" when the
 * manifest names none).  Label values are escaped (\\, \", \n).
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "spec.h"

/* A label value, escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{id="...",accelerator="..."[,extra="..."]} */
static void series(FILE *f, const char *name, const struct rt_view *v, const char *extra,
		   const char *extra_val)
{
	fprintf(f, "%s{id=\"", name);
	put_label(f, v->id);
	fputs("\",accelerator=\"", f);
	put_label(f, accel_label(v->spec));
	fputc('"', f);
	if (extra) {
		fprintf(f, ",%s=\"", extra);
		put_label(f, extra_val);
		fputc('"', f);
	}
	fputs("} ", f);
}

static void node_families(FILE *f, struct rt_view *const *views, size_t n, int64_t start_ms,
			  const char *version)
{
	int count[ST_COUNT] = {0}, s;
	size_t i;

	family(f, "arw_build_info", "gauge", "arw-supervisor's version (always 1).");
	fputs("arw_build_info{version=\"", f);
	put_label(f, version);
	fputs("\"} 1\n", f);
	family(f, "arw_supervisor_start_time_seconds", "gauge",
	       "When the supervisor started, in seconds since the Unix epoch.");
	fprintf(f, "arw_supervisor_start_time_seconds %.3f\n", (double)start_ms / 1000.0);
	for (i = 0; i < n; i++)
		count[views[i]->state]++;
	family(f, "arw_runtimes", "gauge", "Runtimes in each state.");
	for (s = 0; s < ST_COUNT; s++)
		fprintf(f, "arw_runtimes{state=\"%s\"} %d\n", state_slug((enum rt_state)s), count[s]);
}

static void state_families(FILE *f, struct rt_view *const *views, size_t n)
{
	size_t i;
	int s;

	family(f, "arw_runtime_up", "gauge", "1 when the runtime is ready or degraded (serving), else 0.");
	for (i = 0; i < n; i++) {
		series(f, "arw_runtime_up", views[i], NULL, NULL);
		fprintf(f, "%d\n", views[i]->state == ST_READY || views[i]->state == ST_DEGRADED);
	}
	family(f, "arw_runtime_state", "gauge", "The runtime's state: 1 for the current one, 0 for the others.");
	for (i = 0; i < n; i++) {
		for (s = 0; s < ST_COUNT; s++) {
			series(f, "arw_runtime_state", views[i], "state", state_slug((enum rt_state)s));
			fprintf(f, "%d\n", views[i]->state == (enum rt_state)s);
		}
	}
}

static void restart_families(FILE *f, struct rt_view *const *views, size_t n, int64_t now)
{
	struct budget *b = malloc(sizeof(*b));
	size_t i;
	int k;

	family(f, "arw_runtime_restarts_total", "counter",
	       "Counted restarts (automatic, restart, restore) since the runtime was loaded.");
	for (i = 0; i < n; i++) {
		series(f, "arw_runtime_restarts_total", views[i], NULL, NULL);
		fprintf(f, "%lld\n", (long long)views[i]->restarts_total);
	}
	family(f, "arw_runtime_restart_budget_remaining", "gauge",
	       "Restarts left in the restart budget's window.");
	for (i = 0; b && i < n; i++) {
		budget_of(views[i], now, b);
		series(f, "arw_runtime_restart_budget_remaining", views[i], NULL, NULL);
		fprintf(f, "%d\n", budget_remaining(b, now));
	}
	free(b);
	family(f, "arw_runtime_exits_total", "counter",
	       "Process ends since the runtime was loaded: crash (exited on its own), signal (killed "
	       "by a signal), health (stopped after failed checks), operator (stopped on request).");
	for (i = 0; i < n; i++) {
		for (k = 0; k < EXIT_KINDS; k++) {
			series(f, "arw_runtime_exits_total", views[i], "reason", exit_kind_name((enum exit_kind)k));
			fprintf(f, "%lld\n", (long long)views[i]->exits[k]);
		}
	}
}

static void process_families(FILE *f, struct rt_view *const *views, size_t n, int64_t now)
{
	size_t i;

	family(f, "arw_runtime_health_probe_duration_seconds", "gauge",
	       "How long the last health check took (runtimes with a result only).");
	for (i = 0; i < n; i++) {
		if (!views[i]->probe_result)
			continue;
		series(f, "arw_runtime_health_probe_duration_seconds", views[i], NULL, NULL);
		fprintf(f, "%.3f\n", (double)views[i]->probe_latency_ms / 1000.0);
	}
	family(f, "arw_runtime_uptime_seconds", "gauge",
	       "Seconds since the runtime's process started; 0 when it is not running.");
	for (i = 0; i < n; i++) {
		const struct rt_view *v = views[i];
		int64_t up = v->pid > 0 && v->started_at > 0 && now > v->started_at ?
			     (now - v->started_at) / 1000 : 0;

		series(f, "arw_runtime_uptime_seconds", v, NULL, NULL);
		fprintf(f, "%lld\n", (long long)up);
	}
	family(f, "arw_runtime_processes", "gauge",
	       "Processes of the runtime (in its cgroup, or its process group).");
	for (i = 0; i < n; i++) {
		series(f, "arw_runtime_processes", views[i], NULL, NULL);
		fprintf(f, "%d\n", views[i]->processes);
	}
}

char *render_metrics(struct rt_view *const *views, size_t n, const int *accel_counts, int64_t start_ms,
		     const char *version, int64_t now, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	node_families(f, views, n, start_ms, version);
	if (accel_counts) {
		int a;

		family(f, "arw_accelerators", "gauge",
		       "Devices of the node that satisfy each accelerator value (cpu: 1).");
		for (a = 0; a < ACCEL_COUNT; a++)
			fprintf(f, "arw_accelerators{kind=\"%s\"} %d\n", accel_name((enum accel)a), accel_counts[a]);
	}
	state_families(f, views, n);
	restart_families(f, views, n, now);
	process_families(f, views, n, now);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}
