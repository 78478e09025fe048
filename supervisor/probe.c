/*
 * probe.c - HTTP/TCP health probes on libcurl's multi-socket API (see
 * probe.h).  Loop thread only: curl calls back into us from
 * curl_multi_socket_action, which only the loop calls.
 */
#include "probe.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"
#include "loop.h"

#define PROBE_BODY_MAX 4096

struct probe {
	CURL *easy;
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
	curl_multi_socket_action(multi, (curl_socket_t)(intptr_t)ctx, flags, &running);
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
			curl_multi_assign(multi, fd, NULL);
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
		curl_multi_assign(multi, fd, (void *)1);
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

int probe_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	multi = curl_multi_init();
	if (!multi)
		return -ENOMEM;
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	return 0;
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
		curl_multi_remove_handle(multi, p->easy);
		curl_easy_cleanup(p->easy);
	}
	free(p->expect_body);
	free(p);
}

void probe_fini(void)
{
	if (multi) {
		while (inflight)
			probe_free(inflight);
		curl_multi_cleanup(multi);
		multi = NULL;
	}
	curl_global_cleanup();
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
	struct probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->easy = curl_easy_init();
	if (!p->easy) {
		free(p);
		return NULL;
	}
	p->cb = cb;
	p->ctx = ctx;
	p->timeout_ms = timeout_ms;
	curl_easy_setopt(p->easy, CURLOPT_URL, url);
	curl_easy_setopt(p->easy, CURLOPT_PRIVATE, p);
	curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(p->easy, CURLOPT_PROXY, "");   /* never via $http_proxy */
	curl_easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(p->easy, CURLOPT_USERAGENT, "arw-supervisor-probe");
	return p;
}

static struct probe *probe_go(struct probe *p)
{
	p->started = mono_ms();
	if (curl_multi_add_handle(multi, p->easy) != CURLM_OK) {
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
		curl_easy_setopt(p->easy, CURLOPT_NOBODY, 1L);
	else if (method && strcmp(method, "POST") == 0)
		curl_easy_setopt(p->easy, CURLOPT_POSTFIELDS, "");
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
	curl_easy_setopt(p->easy, CURLOPT_CONNECT_ONLY, 1L);
	return probe_go(p);
}

void probe_cancel(struct probe *p)
{
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
		snprintf(o->msg, sizeof(o->msg), "%s", curl_easy_strerror(rc));
		return;
	}
	if (p->tcp) {
		o->ok = true;
		snprintf(o->msg, sizeof(o->msg), "TCP connect ok");
		return;
	}
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
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

	while ((m = curl_multi_info_read(multi, &left))) {
		struct probe *p = NULL;
		struct probe_outcome o;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
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

void probe_timeout(void)
{
	int running;

	curl_deadline = 0;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap_done();
}

int64_t probe_deadline(void)
{
	return curl_deadline;
}
