/*
 * probe.h - health probes without a thread per probe: libcurl's multi
 * interface driven by the loop's epoll (CURLMOPT_SOCKETFUNCTION) and its
 * deadline (CURLMOPT_TIMERFUNCTION).  HTTP probes fetch a URL; TCP probes
 * only connect.  Loop thread only.
 */
#ifndef ARW_PROBE_H
#define ARW_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct probe_outcome {
	bool ok;
	bool loading;       /* 503 "Loading model" (llama-server warming up) */
	int64_t latency_ms;
	char msg[200];      /* "HTTP 200", "connection refused", ... */
};

typedef void (*probe_cb)(void *ctx, const struct probe_outcome *o);
struct probe;

int probe_init(void);
void probe_fini(void);
struct probe *probe_http(const char *url, const char *method, int expect_status,
			 const char *expect_body, int timeout_ms, probe_cb cb, void *ctx);
struct probe *probe_tcp(const char *hostport, int timeout_ms, probe_cb cb, void *ctx);
/* Drop a probe in flight; its callback is never called. */
void probe_cancel(struct probe *p);
/* Feed timeouts from the loop (socket readiness comes by its callbacks). */
void probe_timeout(void);
/* Monotonic ms of curl's next deadline, or 0 for none. */
int64_t probe_deadline(void);

#endif
