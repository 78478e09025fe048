/*
 * probe.c - health probes (see probe.h): HTTP/TCP on libcurl's multi-socket
 * API, and exec probes, a short-lived child per check.  Loop thread only:
 * curl calls back into us from curl_multi_socket_action, which only the
 * loop calls.  Every kind ends the same way, with its callback and an
 * outcome.
 *
 * libcurl is loaded (dlopen) when the first HTTP or TCP probe starts, not
 * linked: Debian's pulls in TLS, Kerberos, LDAP and more, about 7 MiB of
 * memory even for a daemon that never probes (docs/performance.md).
 */
#include "probe.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "spawn.h"

#define PROBE_BODY_MAX 4096

/* The libcurl functions we call, found by dlsym: cu.x is curl_x. */
#define CURL_FNS(X) X(global_init) X(global_cleanup) X(multi_init) X(multi_setopt) \
	X(multi_socket_action) X(multi_assign) X(multi_add_handle) X(multi_remove_handle) \
	X(multi_info_read) X(multi_cleanup) X(easy_init) X(easy_setopt) X(easy_getinfo) \
	X(easy_strerror) X(easy_cleanup)
#define CURL_PTR(name) __typeof__(curl_##name) *name;
static struct { CURL_FNS(CURL_PTR) } cu;

struct probe {
	CURL *easy;                  /* HTTP/TCP; NULL for an exec probe */
	probe_cb cb;
	void *ctx;
	int expect_status;
	char *expect_body;
	bool tcp;
	int timeout_ms;
	int64_t started;
	size_t body_len;
	char body[PROBE_BODY_MAX + 1];
	struct probe *prev, *next;   /* all probes in flight */

	/* exec probes: the child and its group, until every process is gone */
	const struct probe_exec_ops *ops;
	void *opsctx;
	pid_t pid;
	int pidfd, outfd;
	bool reaping;                /* the leader is reaped; the group drains */
	bool timed_out, abandoned;   /* killed at its deadline; cancelled */
	int status;                  /* the leader's wait status, -1 lost */
	int64_t deadline;            /* mono: kill it, or (pid 0) report the failure */
	char failed[200];            /* it could not start: why */
	size_t xlen;
	char xout[160];              /* the first output, for the result */
};

static CURLM *multi;
static int64_t curl_deadline;   /* mono ms, 0 = none */
static struct probe *inflight;  /* list of every probe in flight */

static void reap_done(void);

/* The loop says a socket of curl's is ready. */
static void on_ready(void *ctx, uint32_t ev)
{
	int running, flags = 0;

	if (ev & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (ev & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (ev & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	cu.multi_socket_action(multi, (curl_socket_t)(intptr_t)ctx, flags, &running);
	reap_done();
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	uint32_t ev = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (sockp) {
			loop_unwatch(fd);
			cu.multi_assign(multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (sockp) {
		loop_rewatch(fd, ev, on_ready, (void *)(intptr_t)fd);
	} else {
		loop_watch(fd, ev, on_ready, (void *)(intptr_t)fd);
		cu.multi_assign(multi, fd, (void *)1);
	}
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	curl_deadline = timeout_ms < 0 ? 0 : mono_ms() + timeout_ms;
	return 0;
}

static void *curl_lib;
static bool curl_failed;   /* said once: HTTP and TCP probes cannot start */

/* libcurl, loaded and set up on first use: 0, or -errno (logged once). */
static int curl_load(void)
{
	const char *why = NULL;

	if (multi)
		return 0;
	if (curl_failed)
		return -ENOSYS;
	curl_lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!curl_lib) {
		why = dlerror();
		goto fail;
	}
#define CURL_SYM(name) \
	if (!(*(void **)&cu.name = dlsym(curl_lib, "curl_" #name))) { \
		why = "curl_" #name " is missing";                     \
		goto fail;                                              \
	}
	CURL_FNS(CURL_SYM)
#undef CURL_SYM
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		why = "curl_global_init failed";
		goto fail;
	}
	multi = cu.multi_init();
	if (!multi) {
		why = "curl_multi_init failed";
		cu.global_cleanup();
		goto fail;
	}
	cu.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	cu.multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	return 0;
fail:
	log_warnx("HTTP and TCP health probes cannot run: libcurl: %s", why);
	curl_failed = true;
	if (curl_lib)
		dlclose(curl_lib);
	curl_lib = NULL;
	return -ENOSYS;
}

int probe_init(void)
{
	return 0;   /* libcurl waits for the first HTTP or TCP probe */
}

static void probe_free(struct probe *p)
{
	if (!p)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else if (inflight == p)
		inflight = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (p->easy) {
		cu.multi_remove_handle(multi, p->easy);
		cu.easy_cleanup(p->easy);
	}
	if (!p->easy) {
		if (p->pidfd >= 0) {
			loop_unwatch(p->pidfd);
			close(p->pidfd);
		}
		if (p->outfd >= 0) {
			loop_unwatch(p->outfd);
			close(p->outfd);
		}
	}
	free(p->expect_body);
	free(p);
}

void probe_fini(void)
{
	while (inflight)
		probe_free(inflight);
	if (multi) {
		cu.multi_cleanup(multi);
		multi = NULL;
		cu.global_cleanup();
		dlclose(curl_lib);
		curl_lib = NULL;
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct probe *p = userp;
	size_t n = size * nmemb, room = PROBE_BODY_MAX - p->body_len;

	memcpy(p->body + p->body_len, data, n < room ? n : room);
	p->body_len += n < room ? n : room;
	p->body[p->body_len] = '\0';
	return n;
}

static struct probe *probe_new(const char *url, int timeout_ms, probe_cb cb, void *ctx)
{
	struct probe *p;

	if (curl_load() < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->easy = cu.easy_init();
	if (!p->easy) {
		free(p);
		return NULL;
	}
	p->cb = cb;
	p->ctx = ctx;
	p->timeout_ms = timeout_ms;
	cu.easy_setopt(p->easy, CURLOPT_URL, url);
	cu.easy_setopt(p->easy, CURLOPT_PRIVATE, p);
	cu.easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	cu.easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	cu.easy_setopt(p->easy, CURLOPT_PROXY, "");   /* never via $http_proxy */
	cu.easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* A connection of its own, closed once answered: one kept for the
	 * next probe would hold one of the engine's HTTP worker threads while
	 * idle (llama-server's cpp-httplib waits up to 5 s on it). */
	cu.easy_setopt(p->easy, CURLOPT_FORBID_REUSE, 1L);
	cu.easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
	cu.easy_setopt(p->easy, CURLOPT_USERAGENT, "arw-supervisor-probe");
	return p;
}

static struct probe *probe_go(struct probe *p)
{
	p->started = mono_ms();
	if (cu.multi_add_handle(multi, p->easy) != CURLM_OK) {
		probe_free(p);
		return NULL;
	}
	p->next = inflight;
	if (inflight)
		inflight->prev = p;
	inflight = p;
	return p;
}

struct probe *probe_http(const char *url, const char *method, int expect_status,
			 const char *expect_body, int timeout_ms, probe_cb cb, void *ctx)
{
	struct probe *p = probe_new(url, timeout_ms, cb, ctx);

	if (!p)
		return NULL;
	p->expect_status = expect_status;
	if (expect_body && !(p->expect_body = strdup(expect_body))) {
		probe_free(p);
		return NULL;
	}
	if (method && strcmp(method, "HEAD") == 0)
		cu.easy_setopt(p->easy, CURLOPT_NOBODY, 1L);
	else if (method && strcmp(method, "POST") == 0)
		cu.easy_setopt(p->easy, CURLOPT_POSTFIELDS, "");
	return probe_go(p);
}

struct probe *probe_tcp(const char *hostport, int timeout_ms, probe_cb cb, void *ctx)
{
	char url[300];
	struct probe *p;

	snprintf(url, sizeof(url), "http://%s/", hostport);
	p = probe_new(url, timeout_ms, cb, ctx);
	if (!p)
		return NULL;
	p->tcp = true;
	cu.easy_setopt(p->easy, CURLOPT_CONNECT_ONLY, 1L);
	return probe_go(p);
}

void probe_cancel(struct probe *p)
{
	if (p && !p->easy) {
		/* its processes go first: reaped later (a launch that failed is
		 * finished by the next pass), the result dropped */
		p->abandoned = true;
		if (p->pid > 0 && !p->reaping)
			p->ops->kill(p->opsctx, p->pid);
		return;
	}
	probe_free(p);
}

static void judge(struct probe *p, CURLcode rc, struct probe_outcome *o)
{
	long status = 0;

	memset(o, 0, sizeof(*o));
	o->latency_ms = mono_ms() - p->started;
	if (rc == CURLE_COULDNT_CONNECT) {
		snprintf(o->msg, sizeof(o->msg), "connection refused");
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(o->msg, sizeof(o->msg), "no answer within %d ms", p->timeout_ms);
		return;
	}
	if (rc != CURLE_OK) {
		snprintf(o->msg, sizeof(o->msg), "%s", cu.easy_strerror(rc));
		return;
	}
	if (p->tcp) {
		o->ok = true;
		snprintf(o->msg, sizeof(o->msg), "TCP connect ok");
		return;
	}
	cu.easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 503 && strstr(p->body, "Loading model"))
		o->loading = true;
	if (status != p->expect_status) {
		snprintf(o->msg, sizeof(o->msg), "HTTP %ld%s (expected %d)", status,
			 o->loading ? " Loading model" : "", p->expect_status);
		return;
	}
	if (p->expect_body && !strstr(p->body, p->expect_body)) {
		snprintf(o->msg, sizeof(o->msg), "HTTP %ld without \"%.80s\" in the body",
			 status, p->expect_body);
		return;
	}
	o->ok = true;
	snprintf(o->msg, sizeof(o->msg), "HTTP %ld", status);
}

static void reap_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = cu.multi_info_read(multi, &left))) {
		struct probe *p = NULL;
		struct probe_outcome o;

		if (m->msg != CURLMSG_DONE)
			continue;
		cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
		if (!p)
			continue;
		judge(p, m->data.result, &o);
		/* Free first: the callback may start the next probe. */
		probe_cb cb = p->cb;
		void *ctx = p->ctx;
		probe_free(p);
		cb(ctx, &o);
	}
}

/* ---- exec probes ---- */

static bool exec_reap(struct probe *p);

static void on_exec_exit(void *ctx, uint32_t events)
{
	(void)events;
	(void)exec_reap(ctx);
}

/* Keep the first line or so of its output for the result; drop the rest. */
static void on_exec_output(void *ctx, uint32_t events)
{
	struct probe *p = ctx;
	char sink[4096];
	ssize_t n;

	(void)events;
	while (p->outfd >= 0) {
		if (p->xlen < sizeof(p->xout) - 1)
			n = read(p->outfd, p->xout + p->xlen, sizeof(p->xout) - 1 - p->xlen);
		else
			n = read(p->outfd, sink, sizeof(sink));
		if (n > 0) {
			if (p->xlen < sizeof(p->xout) - 1)
				p->xlen += (size_t)n;
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		loop_unwatch(p->outfd);
		close(p->outfd);
		p->outfd = -1;
	}
}

struct probe *probe_exec(char *const *argv, size_t argc, int timeout_ms,
			 const struct probe_exec_ops *ops, void *opsctx, probe_cb cb, void *ctx)
{
	struct probe *p = calloc(1, sizeof(*p));
	struct spawn_result res;
	char err[300];

	if (!p)
		return NULL;
	p->cb = cb;
	p->ctx = ctx;
	p->ops = ops;
	p->opsctx = opsctx;
	p->timeout_ms = timeout_ms;
	p->pidfd = p->outfd = -1;
	p->started = mono_ms();
	if (ops->launch(opsctx, argv, argc, &res, err, sizeof(err)) < 0) {
		/* reported like any result, from the loop's next pass */
		snprintf(p->failed, sizeof(p->failed), "exec probe cannot start: %s", err);
		p->deadline = p->started;
	} else {
		p->pid = res.pid;
		p->pidfd = res.pidfd;
		p->outfd = res.outfd;
		p->deadline = p->started + timeout_ms;
		if (p->pidfd >= 0)
			loop_watch(p->pidfd, EPOLLIN, on_exec_exit, p);
		loop_watch(p->outfd, EPOLLIN, on_exec_output, p);
	}
	p->next = inflight;
	if (inflight)
		inflight->prev = p;
	inflight = p;
	return p;
}

static void exec_outcome(struct probe *p, struct probe_outcome *o)
{
	char *nl;

	memset(o, 0, sizeof(*o));
	o->latency_ms = mono_ms() - p->started;
	p->xout[p->xlen] = '\0';
	if ((nl = strchr(p->xout, '\n')))
		*nl = '\0';
	if (p->failed[0])
		snprintf(o->msg, sizeof(o->msg), "%s", p->failed);
	else if (p->timed_out)
		snprintf(o->msg, sizeof(o->msg), "no answer within %d ms", p->timeout_ms);
	else if (p->status >= 0 && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
		o->ok = true, snprintf(o->msg, sizeof(o->msg), "exit 0%s%s", p->xout[0] ? ": " : "", p->xout);
	else if (p->status >= 0 && WIFEXITED(p->status))
		snprintf(o->msg, sizeof(o->msg), "exit %d%s%s", WEXITSTATUS(p->status),
			 p->xout[0] ? ": " : "", p->xout);
	else if (p->status >= 0 && WIFSIGNALED(p->status))
		snprintf(o->msg, sizeof(o->msg), "killed by signal %d", WTERMSIG(p->status));
	else
		snprintf(o->msg, sizeof(o->msg), "exit status lost");
}

/* Every process of the probe is gone (or none was born): tell the owner,
 * then the callback, unless it was cancelled. */
static void exec_finish(struct probe *p)
{
	struct probe_outcome o;
	probe_cb cb = p->cb;
	void *ctx = p->ctx;
	bool report = !p->abandoned, gone = false;

	while (p->outfd >= 0 && p->xlen < sizeof(p->xout) - 1) {
		ssize_t n = read(p->outfd, p->xout + p->xlen, sizeof(p->xout) - 1 - p->xlen);

		if (n <= 0)
			break;
		p->xlen += (size_t)n;
	}
	exec_outcome(p, &o);
	gone = p->ops->done(p->opsctx, p);
	probe_free(p);
	if (report && !gone)
		cb(ctx, &o);
}

/* Reap the leader and its group; finish once nobody is left (true: p
 * is freed, and the callbacks may have changed the list of probes). */
static bool exec_reap(struct probe *p)
{
	pid_t w;

	if (p->pid <= 0)
		return false;
	if (!p->reaping) {
		w = waitpid(p->pid, &p->status, WNOHANG);
		if (w == 0 || (w < 0 && errno != ECHILD))
			return false;
		if (w < 0)
			p->status = -1;
		p->reaping = true;
		if (p->pidfd >= 0)
			loop_unwatch(p->pidfd);   /* it stays readable: no spin while the group drains */
		p->ops->kill(p->opsctx, p->pid);   /* members never outlive it */
	}
	while ((w = waitpid(-p->pid, NULL, WNOHANG)) > 0)
		;
	if (w == 0)
		return false;   /* some still dying: SIGCHLD brings us back */
	if (p->ops->populated(p->opsctx) == 1)
		return false;   /* its cgroup's events bring us back */
	exec_finish(p);
	return true;
}

void probe_exec_check(struct probe *p)
{
	if (p && !p->easy && p->reaping)
		(void)exec_reap(p);
}

bool probe_exec_reap(pid_t pid)
{
	struct probe *p;

	for (p = inflight; p; p = p->next) {
		if (!p->easy && p->pid == pid && !p->reaping) {
			(void)exec_reap(p);
			return true;
		}
	}
	return false;
}

void probe_exec_sigchld(void)
{
	struct probe *p;

	/* from the head again after each finish: its callbacks may have
	 * freed or added probes (each pass finishes one, so this ends) */
again:
	for (p = inflight; p; p = p->next)
		if (!p->easy && p->pid > 0 && (p->reaping || p->pidfd < 0) && exec_reap(p))
			goto again;
}

/* Exec probes past their deadline are killed; failed launches reported. */
static void exec_timeouts(int64_t mono)
{
	struct probe *p;

again:
	for (p = inflight; p; p = p->next) {
		if (p->easy || !p->deadline || mono < p->deadline)
			continue;
		p->deadline = 0;
		if (p->pid <= 0) {
			exec_finish(p);   /* frees p; its callback may change the list */
			goto again;
		}
		if (!p->reaping) {
			p->timed_out = true;
			p->ops->kill(p->opsctx, p->pid);
		}
	}
}

void probe_timeout(void)
{
	int running;

	exec_timeouts(mono_ms());
	if (multi && curl_deadline && curl_deadline <= mono_ms()) {
		curl_deadline = 0;
		cu.multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
		reap_done();
	}
}

int64_t probe_deadline(void)
{
	const struct probe *p;
	int64_t d = curl_deadline;

	for (p = inflight; p; p = p->next)
		if (!p->easy && p->deadline && !p->reaping && (!d || p->deadline < d))
			d = p->deadline;
	return d;
}
