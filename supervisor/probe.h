/*
 * probe.h - health probes without a thread per probe: libcurl's multi
 * interface driven by the loop's epoll (CURLMOPT_SOCKETFUNCTION) and its
 * deadline (CURLMOPT_TIMERFUNCTION).  HTTP probes fetch a URL; TCP probes
 * only connect; exec probes run a command and judge its exit status.
 * Every kind reports through its callback.  Loop thread only.
 */
#ifndef ARW_PROBE_H
#define ARW_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

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
/* How an exec probe's processes are born and ended: its owner's launch
 * path (the runtime's probes cgroup, its user, its environment). */
struct spawn_result;
struct probe_exec_ops {
	/* launch argv: 0, or -errno with the reason in err */
	int (*launch)(void *opsctx, char *const *argv, size_t argc, struct spawn_result *res,
		      char *err, size_t errlen);
	/* SIGKILL to every process of the probe (leader pgid) */
	void (*kill)(void *opsctx, pid_t pgid);
	/* 1 while its cgroup still holds processes, 0 empty, -1 no cgroup */
	int (*populated)(void *opsctx);
	/* every process of probe p is gone: true if that removed the owner
	 * (the callback is then not called) */
	bool (*done)(void *opsctx, struct probe *p);
};
/* Run argv; the outcome is "exit 0: <first line>" (ok), another exit code,
 * a signal, or no answer within timeout_ms (then it is killed).  A launch
 * that fails is reported the same way, from the loop's next pass. */
struct probe *probe_exec(char *const *argv, size_t argc, int timeout_ms,
			 const struct probe_exec_ops *ops, void *opsctx, probe_cb cb, void *ctx);
/* An exec probe's cgroup emptied: finish it if its leader is reaped. */
void probe_exec_check(struct probe *p);
/* A child exited: true if pid is an exec probe's leader (it is reaped). */
bool probe_exec_reap(pid_t pid);
/* SIGCHLD: reap the exec probes that have no pidfd or whose group drains. */
void probe_exec_sigchld(void);

/* Drop a probe in flight; its callback is never called.  An exec probe's
 * processes are killed, and its owner hears of them (done) once gone. */
void probe_cancel(struct probe *p);
/* Feed timeouts from the loop (socket readiness comes by its callbacks). */
void probe_timeout(void);
/* Monotonic ms of the next deadline (curl's, an exec probe's), 0 for none. */
int64_t probe_deadline(void);

#endif
