/*
 * stub-llama.c - a stand-in for llama.cpp's llama-server, for tests.
 *
 * It needs no model and no GPU.  It reproduces the externally visible
 * behaviour of a real llama-server that the supervisor cares about:
 *
 *   - for --listen-delay-ms after exec nothing listens (connection refused);
 *   - then it listens (SO_REUSEADDR + SO_REUSEPORT) and for --load-ms it
 *     "loads the model": /health and most endpoints answer 503
 *     {"error":{"code":503,"message":"Loading model","type":"unavailable_error"}};
 *   - then /health answers 200 {"status":"ok"} and POST /completion makes
 *     up some text;
 *   - SIGTERM / SIGINT end it with status 0;
 *   - a port held by a socket without SO_REUSEPORT makes it print
 *     "couldn't bind HTTP server socket, hostname: H, port: N" and exit 1.
 *
 * Knobs for tests (flags, or environment variables; flags win):
 *   --crash-after-ms N   STUB_CRASH_AFTER_MS   exit (or die by signal) after N ms
 *   --crash-signal SIG   STUB_CRASH_SIGNAL     die by this signal number instead
 *   --exit-code N        STUB_EXIT_CODE        status used by crash-after (3)
 *   --hang-after-ms N    STUB_HANG_AFTER_MS    stop accepting after N ms
 *   --ignore-sigterm     STUB_IGNORE_SIGTERM=1 ignore SIGTERM and SIGINT
 *   --flood-bytes-per-sec N  STUB_FLOOD        junk lines on stdout at N B/s
 *   --load-ms N          STUB_LOAD_MS          model "loading" time (300)
 *   --listen-delay-ms N  STUB_LISTEN_DELAY_MS  time before listening (10)
 *   --spawn-child        STUB_SPAWN_CHILD=1    fork a child that pause()s
 *   --spawn-escaper      STUB_SPAWN_ESCAPER=1  a child forks a grandchild that calls
 *                                              setsid(), ignores SIGTERM and pause()s;
 *                                              its pid goes to stdout ("escaper pid N")
 *   --fork-children N    STUB_FORK_CHILDREN    N children, each in a session of its
 *                                              own, ignoring SIGTERM (a helper pile-up)
 *   --require-model      (flag only)           missing -m file: abort()
 *
 * Design: one thread per connection (2 s receive/send timeouts), a poll()
 * accept loop in main, a sigwait() thread for SIGTERM/SIGINT, a timer
 * thread for --crash-after-ms, a flood thread, and a logger thread fed by
 * a bounded queue so that no thread but the logger (and the flood thread)
 * ever blocks on a full stdout/stderr pipe.  Lines are dropped, and later
 * counted, when the queue is full.
 *
 * Only libc and pthreads.  Build:
 *   gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o stub-llama stub-llama.c -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY        (1024L * 1024L)     /* request body cap: 1 MiB */
#define MAX_HEAD        16384               /* request head cap */
#define MAX_CONNS       256                 /* concurrent connection threads */
#define IO_TIMEOUT_S    2                   /* SO_RCVTIMEO / SO_SNDTIMEO */
#define MAX_N_PREDICT   4096L
#define DEFAULT_N_PREDICT 16L

/* ------------------------------------------------------------------ */
/* configuration                                                        */

static const char *g_host = "127.0.0.1";
static long g_port = 8080;
static const char *g_model = NULL;
static const char *g_alias = NULL;
static bool g_require_model = false;
static long g_listen_delay_ms = 10;
static long g_load_ms = 300;
static long g_crash_after_ms = -1;      /* -1: off */
static long g_crash_signal = 0;         /* 0: exit with g_exit_code */
static long g_exit_code = 3;
static long g_hang_after_ms = -1;       /* -1: off */
static long g_flood = 0;                /* bytes per second, 0: off */
static bool g_ignore_sigterm = false;
static bool g_spawn_child = false;
static bool g_spawn_escaper = false;
static long g_fork_children = 0;

struct num_knob {
    const char *flag;
    const char *env;
    long *dst;
    long lo, hi;
};

static const struct num_knob num_knobs[] = {
    { "--crash-after-ms",      "STUB_CRASH_AFTER_MS",  &g_crash_after_ms, -1, 86400000L },
    { "--crash-signal",        "STUB_CRASH_SIGNAL",    &g_crash_signal,    0, NSIG - 1 },
    { "--exit-code",           "STUB_EXIT_CODE",       &g_exit_code,       0, 255 },
    { "--hang-after-ms",       "STUB_HANG_AFTER_MS",   &g_hang_after_ms,  -1, 86400000L },
    { "--flood-bytes-per-sec", "STUB_FLOOD",           &g_flood,           0, 1024L * 1024L * 1024L },
    { "--load-ms",             "STUB_LOAD_MS",         &g_load_ms,         0, 86400000L },
    { "--listen-delay-ms",     "STUB_LISTEN_DELAY_MS", &g_listen_delay_ms, 0, 86400000L },
    { "--fork-children",       "STUB_FORK_CHILDREN",   &g_fork_children,   0, 100000L },
};

struct bool_knob {
    const char *flag;
    const char *env;
    bool *dst;
};

static const struct bool_knob bool_knobs[] = {
    { "--ignore-sigterm", "STUB_IGNORE_SIGTERM", &g_ignore_sigterm },
    { "--spawn-child",    "STUB_SPAWN_CHILD",    &g_spawn_child },
    { "--spawn-escaper",  "STUB_SPAWN_ESCAPER",  &g_spawn_escaper },
    { "--require-model",  NULL,                  &g_require_model },
};

/* Value-taking llama-server flags that are accepted and ignored. */
static const char *const ignored_value_flags[] = {
    "-c", "--ctx-size", "-t", "--threads", "-ngl", "--n-gpu-layers",
    "--gpu-layers", "-np", "--parallel", "-b", "--batch-size", NULL,
};

/* ------------------------------------------------------------------ */
/* time                                                                 */

static int64_t g_start_ms;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until_ms(int64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / 1000),
                           .tv_nsec = (long)(t % 1000) * 1000000L };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void sleep_ms(long ms)
{
    sleep_until_ms(mono_ms() + ms);
}

/* ------------------------------------------------------------------ */
/* non-blocking logging through a queue drained by one logger thread     */

#define LOG_SLOTS 512
#define LOG_LINE  512

struct log_slot {
    int fd;
    size_t len;
    char text[LOG_LINE];
};

static struct log_slot log_q[LOG_SLOTS];
static size_t log_head, log_count;
static unsigned long log_dropped;
static bool log_busy;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_nonempty;
static pthread_cond_t log_idle;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

__attribute__((format(printf, 2, 0)))
static void vlog_fd(int fd, const char *fmt, va_list ap)
{
    char line[LOG_LINE];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    size_t len = (size_t)n;
    if (len > sizeof line - 2)
        len = sizeof line - 2;          /* truncated: keep room for '\n' */
    line[len++] = '\n';

    pthread_mutex_lock(&log_mu);
    if (log_count == LOG_SLOTS) {
        log_dropped++;
    } else {
        struct log_slot *s = &log_q[(log_head + log_count) % LOG_SLOTS];
        s->fd = fd;
        s->len = len;
        memcpy(s->text, line, len);
        log_count++;
    }
    pthread_cond_signal(&log_nonempty);
    pthread_mutex_unlock(&log_mu);
}

__attribute__((format(printf, 1, 2)))
static void log_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_fd(STDOUT_FILENO, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 1, 2)))
static void log_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_fd(STDERR_FILENO, fmt, ap);
    va_end(ap);
}

static void *logger_main(void *arg)
{
    (void)arg;
    struct log_slot s;
    pthread_mutex_lock(&log_mu);
    for (;;) {
        while (log_count == 0 && log_dropped == 0)
            pthread_cond_wait(&log_nonempty, &log_mu);
        if (log_dropped) {
            int n = snprintf(s.text, sizeof s.text,
                             "stub-llama: %lu log lines dropped (output blocked)\n",
                             log_dropped);
            s.fd = STDERR_FILENO;
            s.len = n > 0 ? (size_t)n : 0;
            log_dropped = 0;
        } else {
            s = log_q[log_head];
            log_head = (log_head + 1) % LOG_SLOTS;
            log_count--;
        }
        log_busy = true;
        pthread_mutex_unlock(&log_mu);
        (void)write_all(s.fd, s.text, s.len);
        pthread_mutex_lock(&log_mu);
        log_busy = false;
        if (log_count == 0 && log_dropped == 0)
            pthread_cond_broadcast(&log_idle);
    }
    return NULL;
}

/* Wait at most timeout_ms for the logger to write everything queued. */
static void log_drain(long timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&log_mu);
    while (log_count > 0 || log_dropped > 0 || log_busy) {
        if (pthread_cond_timedwait(&log_idle, &log_mu, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&log_mu);
}

static void log_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&log_nonempty, &ca);
    pthread_cond_init(&log_idle, &ca);
    pthread_condattr_destroy(&ca);
}

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_bool_env(const char *s)
{
    return s != NULL && (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
                         strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0);
}

/* JSON string escape; returns malloc'd text (never NULL unless OOM). */
static char *json_escape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 6 + 1);
    if (out == NULL)
        return NULL;
    char *p = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p = '\0';
    return out;
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT:  return "SIGINT";
    default:      return "signal";
    }
}

/* Die by signal sig (core dumps disabled: these crashes are on purpose). */
static void die_by_signal(int sig)
{
    struct rlimit rl = { 0, 0 };
    (void)setrlimit(RLIMIT_CORE, &rl);
    if (sig != SIGKILL && sig != SIGSTOP) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        (void)sigaction(sig, &sa, NULL);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    /* Still here: the signal's default action is not to terminate. */
    kill(getpid(), sig);
    sleep_ms(100);
    _exit(128 + sig);
}

/* ------------------------------------------------------------------ */
/* state shared with connection threads                                 */

static atomic_bool g_ready;
static atomic_int g_active_conns;
static char *g_model_json;      /* escaped model path ("" if none) */
static char *g_model_id_json;   /* escaped alias, else model path, else "stub" */
static long long g_created;     /* wall-clock start, for /v1/models */

static const char BODY_LOADING[] =
    "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}";
static const char BODY_NOT_FOUND[] =
    "{\"error\":{\"code\":404,\"message\":\"File Not Found\",\"type\":\"not_found_error\"}}";
static const char BODY_NO_METRICS[] =
    "{\"error\":{\"code\":501,\"message\":\"This server does not support metrics endpoint. "
    "Start it with `--metrics`\",\"type\":\"not_supported_error\"}}";
static const char BODY_NO_SLOTS[] =
    "{\"error\":{\"code\":501,\"message\":\"This server does not support slots endpoint. "
    "Start it with `--slots`\",\"type\":\"not_supported_error\"}}";
static const char BODY_BAD_REQUEST[] =
    "{\"error\":{\"code\":400,\"message\":\"Bad request\",\"type\":\"invalid_request_error\"}}";
static const char BODY_TOO_LARGE[] =
    "{\"error\":{\"code\":413,\"message\":\"Payload Too Large\",\"type\":\"invalid_request_error\"}}";
static const char BODY_HEAD_TOO_LARGE[] =
    "{\"error\":{\"code\":431,\"message\":\"Request Header Fields Too Large\","
    "\"type\":\"invalid_request_error\"}}";
static const char BODY_OOM[] =
    "{\"error\":{\"code\":500,\"message\":\"out of memory\",\"type\":\"server_error\"}}";

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

static int send_all(int fd, const char *p, size_t n, int flags)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, flags | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void respond(int fd, int status, const char *body)
{
    char hdr[256];
    size_t blen = strlen(body);
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: llama.cpp\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     status, reason(status), blen);
    if (n < 0 || (size_t)n >= sizeof hdr)
        return;
    if (send_all(fd, hdr, (size_t)n, MSG_MORE) == 0)
        (void)send_all(fd, body, blen, 0);
}

/* Value of "key": <integer> in a flat JSON text, found by hand. */
static bool json_find_long(const char *body, const char *quoted_key, long *out)
{
    const char *k = strstr(body, quoted_key);
    if (k == NULL)
        return false;
    k += strlen(quoted_key);
    while (isspace((unsigned char)*k))
        k++;
    if (*k != ':')
        return false;
    k++;
    while (isspace((unsigned char)*k))
        k++;
    errno = 0;
    char *end;
    long v = strtol(k, &end, 10);
    if (end == k || errno != 0)
        return false;
    *out = v;
    return true;
}

/* Length in characters of the "prompt" string, 0 if absent / not a string. */
static size_t prompt_length(const char *body)
{
    const char *k = strstr(body, "\"prompt\"");
    if (k == NULL)
        return 0;
    k += 8;
    while (isspace((unsigned char)*k))
        k++;
    if (*k != ':')
        return 0;
    k++;
    while (isspace((unsigned char)*k))
        k++;
    if (*k != '"')
        return 0;
    size_t n = 0;
    for (k++; *k && *k != '"'; k++, n++) {
        if (*k == '\\' && k[1] != '\0')
            k++;
    }
    return n;
}

static int handle_completion(int fd, const char *body)
{
    long n_predict = DEFAULT_N_PREDICT;
    (void)json_find_long(body, "\"n_predict\"", &n_predict);
    if (n_predict < 0)
        n_predict = DEFAULT_N_PREDICT;
    if (n_predict > MAX_N_PREDICT)
        n_predict = MAX_N_PREDICT;
    long n_eval = (long)(prompt_length(body) / 4) + 1;

    static const char word[] = "token";
    size_t wlen = sizeof word - 1;
    size_t cap = (size_t)n_predict * (wlen + 1) + strlen(g_model_id_json) + 512;
    char *out = malloc(cap);
    if (out == NULL) {
        respond(fd, 500, BODY_OOM);
        return 500;
    }
    size_t off = (size_t)snprintf(out, cap, "{\"content\":\"");
    for (long i = 0; i < n_predict; i++) {
        if (i > 0)
            out[off++] = ' ';
        memcpy(out + off, word, wlen);
        off += wlen;
    }
    snprintf(out + off, cap - off,
             "\",\"id_slot\":0,\"stop\":true,\"model\":\"%s\","
             "\"tokens_predicted\":%ld,\"tokens_evaluated\":%ld,"
             "\"stop_type\":\"limit\",\"stopping_word\":\"\",\"truncated\":false}",
             g_model_id_json, n_predict, n_eval);
    respond(fd, 200, out);
    free(out);
    return 200;
}

/* Route one parsed request; returns the status sent. */
static int route(int fd, const char *method, const char *path, const char *body)
{
    bool get = strcmp(method, "GET") == 0;
    bool post = strcmp(method, "POST") == 0;
    bool models = strcmp(path, "/v1/models") == 0 || strcmp(path, "/models") == 0;

    if (get && models) {
        /* Like the real server, /models is served even while loading. */
        char buf[1024 + 6 * 4096];
        snprintf(buf, sizeof buf,
                 "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\","
                 "\"created\":%lld,\"owned_by\":\"llamacpp\",\"meta\":null}]}",
                 g_model_id_json, g_created);
        respond(fd, 200, buf);
        return 200;
    }
    if (!atomic_load(&g_ready)) {
        respond(fd, 503, BODY_LOADING);
        return 503;
    }
    if (get && (strcmp(path, "/health") == 0 || strcmp(path, "/v1/health") == 0)) {
        respond(fd, 200, "{\"status\":\"ok\"}");
        return 200;
    }
    if (post && (strcmp(path, "/completion") == 0 || strcmp(path, "/completions") == 0))
        return handle_completion(fd, body);
    if (get && strcmp(path, "/props") == 0) {
        char buf[1024 + 6 * 4096];
        snprintf(buf, sizeof buf,
                 "{\"default_generation_settings\":{\"n_ctx\":4096,\"params\":{\"n_predict\":-1}},"
                 "\"total_slots\":1,\"model_path\":\"%s\",\"chat_template\":\"\","
                 "\"build_info\":\"stub-llama\"}",
                 g_model_json);
        respond(fd, 200, buf);
        return 200;
    }
    if (strcmp(path, "/metrics") == 0) {
        respond(fd, 501, BODY_NO_METRICS);
        return 501;
    }
    if (strcmp(path, "/slots") == 0 || strncmp(path, "/slots/", 7) == 0) {
        respond(fd, 501, BODY_NO_SLOTS);
        return 501;
    }
    respond(fd, 404, BODY_NOT_FOUND);
    return 404;
}

static void handle_conn(int fd, const char *peer)
{
    char head[MAX_HEAD];
    size_t len = 0;
    char *end = NULL;

    while (end == NULL) {
        if (len == sizeof head - 1) {
            respond(fd, 431, BODY_HEAD_TOO_LARGE);
            log_out("srv  log_server_r: request: ? ? %s 431", peer);
            return;
        }
        ssize_t n = recv(fd, head + len, sizeof head - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;     /* EOF, error or 2 s timeout: drop silently */
        len += (size_t)n;
        head[len] = '\0';
        end = memmem(head, len, "\r\n\r\n", 4);
    }
    *end = '\0';        /* head is now the request line + headers */
    char *body_start = end + 4;
    size_t have = len - (size_t)(body_start - head);

    /* Request line: METHOD SP PATH SP VERSION */
    char method[16] = "", path[1024] = "";
    char *sp1 = strchr(head, ' ');
    char *eol = strstr(head, "\r\n");
    if (eol == NULL)
        eol = end;
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == head || sp2 == sp1 + 1 ||
        sp1 > eol || (size_t)(sp1 - head) >= sizeof method ||
        (size_t)(sp2 - sp1 - 1) >= sizeof path) {
        respond(fd, 400, BODY_BAD_REQUEST);
        log_out("srv  log_server_r: request: ? ? %s 400", peer);
        return;
    }
    memcpy(method, head, (size_t)(sp1 - head));
    memcpy(path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';

    /* Headers we care about: Content-Length, Expect. */
    long long clen = 0;
    bool expect_continue = false;
    for (char *line = (*eol ? eol + 2 : eol); line < end && *line;) {
        char *nl = strstr(line, "\r\n");
        if (nl)
            *nl = '\0';
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            char *v = line + 15, *e;
            errno = 0;
            clen = strtoll(v, &e, 10);
            while (isspace((unsigned char)*e))
                e++;
            if (errno != 0 || e == v || *e != '\0' || clen < 0) {
                respond(fd, 400, BODY_BAD_REQUEST);
                log_out("srv  log_server_r: request: %s %s %s 400", method, path, peer);
                return;
            }
        } else if (strncasecmp(line, "Expect:", 7) == 0 &&
                   strcasestr(line + 7, "100-continue") != NULL) {
            expect_continue = true;
        }
        if (nl == NULL)
            break;
        line = nl + 2;
    }
    if (clen > MAX_BODY) {
        respond(fd, 413, BODY_TOO_LARGE);
        log_out("srv  log_server_r: request: %s %s %s 413", method, path, peer);
        return;
    }

    size_t blen = (size_t)clen;
    char *body = malloc(blen + 1);
    if (body == NULL) {
        respond(fd, 500, BODY_OOM);
        return;
    }
    if (have > blen)
        have = blen;
    memcpy(body, body_start, have);
    if (have < blen && expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send_all(fd, cont, sizeof cont - 1, 0) < 0) {
            free(body);
            return;
        }
    }
    while (have < blen) {
        ssize_t n = recv(fd, body + have, blen - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(body);
            return;     /* client went away or stalled: drop */
        }
        have += (size_t)n;
    }
    body[blen] = '\0';

    int status = route(fd, method, path, body);
    free(body);
    log_out("srv  log_server_r: request: %s %s %s %d", method, path, peer, status);
}

struct conn {
    int fd;
    char peer[INET6_ADDRSTRLEN + 8];
};

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    handle_conn(c->fd, c->peer);
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    free(c);
    atomic_fetch_sub(&g_active_conns, 1);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* background threads                                                   */

static sigset_t g_term_set;

static void *signal_main(void *arg)
{
    (void)arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&g_term_set, &sig) != 0)
            continue;
        if (g_ignore_sigterm) {
            log_out("stub-llama: received %s (%d), ignoring it (--ignore-sigterm)",
                    sig_name(sig), sig);
            continue;
        }
        log_out("srv    operator(): received %s (%d), cleaning up before exit...",
                sig_name(sig), sig);
        log_drain(20);     /* bounded: stdout may be a full pipe */
        _exit(0);
    }
    return NULL;
}

static void *crash_main(void *arg)
{
    (void)arg;
    sleep_until_ms(g_start_ms + g_crash_after_ms);
    if (g_crash_signal > 0) {
        log_err("stub-llama: crash-after-ms %ld reached: dying by signal %ld",
                g_crash_after_ms, g_crash_signal);
        log_drain(50);
        die_by_signal((int)g_crash_signal);
    }
    log_err("stub-llama: crash-after-ms %ld reached: exiting with code %ld",
            g_crash_after_ms, g_exit_code);
    log_drain(50);
    _exit((int)g_exit_code);
    return NULL;
}

static void *flood_main(void *arg)
{
    (void)arg;
    char buf[4000];             /* whole lines, < PIPE_BUF: writes stay atomic */
    unsigned long seq = 0;
    const long long rate = g_flood;
    int64_t t0 = mono_ms(), next = t0;
    long long written = 0;

    for (;;) {
        next += 10;
        sleep_until_ms(next);
        int64_t now = mono_ms();
        if (now > next + 1000)
            next = now;         /* we were blocked for a while */
        long long target = rate * (now - t0) / 1000;
        if (target - written > rate)
            written = target - rate;    /* never catch up more than 1 s */
        while (target - written >= 100) {
            size_t len = 0;
            while (len + 100 <= sizeof buf && target - written - (long long)len >= 100) {
                int k = snprintf(buf + len, 100, "stub-llama flood %012lu ", seq++);
                if (k < 0 || k > 98)
                    k = 0;
                memset(buf + len + k, 'x', (size_t)(99 - k));
                buf[len + 99] = '\n';
                len += 100;
            }
            if (write_all(STDOUT_FILENO, buf, len) < 0)
                return NULL;    /* stdout is gone: stop flooding */
            written += (long long)len;
        }
    }
    return NULL;
}

static void start_thread(void *(*fn)(void *), void *arg, const char *what)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "stub-llama: cannot start %s thread: %s\n", what, strerror(rc));
        _exit(1);
    }
}

/* ------------------------------------------------------------------ */
/* command line                                                         */

static void usage(FILE *f)
{
    fprintf(f,
"usage: stub-llama [options]\n"
"A stand-in for llama.cpp's llama-server, for tests.\n"
"\n"
"  --host H                 address to listen on (default 127.0.0.1)\n"
"  --port N                 port to listen on (default 8080; 0 = any)\n"
"  -m, --model PATH         model path (recorded only)\n"
"  -a, --alias NAME         model alias (shown by /v1/models)\n"
"  --require-model          missing model file: print an error and abort()\n"
"  -c, -t, -ngl, -np, -b and long forms: accepted, value ignored\n"
"  unknown flags: warning on stderr, ignored (with a following value)\n"
"\n"
"test knobs (environment variable in brackets; flags win):\n"
"  --listen-delay-ms N      no listening socket for N ms (10) [STUB_LISTEN_DELAY_MS]\n"
"  --load-ms N              503 \"Loading model\" for N ms (300) [STUB_LOAD_MS]\n"
"  --crash-after-ms N       exit after N ms from start [STUB_CRASH_AFTER_MS]\n"
"  --exit-code N            exit status for --crash-after-ms (3) [STUB_EXIT_CODE]\n"
"  --crash-signal SIG       die by signal number SIG instead [STUB_CRASH_SIGNAL]\n"
"  --hang-after-ms N        stop accepting connections after N ms [STUB_HANG_AFTER_MS]\n"
"  --ignore-sigterm         ignore SIGTERM and SIGINT [STUB_IGNORE_SIGTERM=1]\n"
"  --flood-bytes-per-sec N  junk lines on stdout at N bytes/s [STUB_FLOOD]\n"
"  --spawn-child            fork a child that sleeps in the same process group\n"
"  --spawn-escaper          a grandchild that calls setsid() and ignores SIGTERM\n"
"  --fork-children N        N children in sessions of their own, ignoring SIGTERM\n"
"                           [STUB_SPAWN_CHILD=1]\n"
"  -h, --help               this text\n");
}

static void read_env(void)
{
    for (size_t i = 0; i < sizeof num_knobs / sizeof num_knobs[0]; i++) {
        const struct num_knob *k = &num_knobs[i];
        const char *v = getenv(k->env);
        if (v == NULL || *v == '\0')
            continue;
        if (!parse_long(v, k->lo, k->hi, k->dst))
            fprintf(stderr, "stub-llama: warning: ignoring invalid %s=%s\n", k->env, v);
    }
    for (size_t i = 0; i < sizeof bool_knobs / sizeof bool_knobs[0]; i++) {
        const struct bool_knob *k = &bool_knobs[i];
        if (k->env != NULL && getenv(k->env) != NULL)
            *k->dst = parse_bool_env(getenv(k->env));
    }
}

static const char *need_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "error: argument %s expects a value\n", argv[*i]);
        exit(1);
    }
    return argv[++*i];
}

static bool looks_like_value(const char *s)
{
    return s[0] != '-' || isdigit((unsigned char)s[1]) ||
           (s[1] == '.' && isdigit((unsigned char)s[2]));
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            fflush(stdout);
            exit(0);
        }
        if (strcmp(a, "--host") == 0) {
            g_host = need_value(argc, argv, &i);
            continue;
        }
        if (strcmp(a, "--port") == 0) {
            const char *v = need_value(argc, argv, &i);
            if (!parse_long(v, 0, 65535, &g_port)) {
                fprintf(stderr, "error: invalid port: %s\n", v);
                exit(1);
            }
            continue;
        }
        if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            g_model = need_value(argc, argv, &i);
            continue;
        }
        if (strcmp(a, "-a") == 0 || strcmp(a, "--alias") == 0) {
            g_alias = need_value(argc, argv, &i);
            continue;
        }
        bool done = false;
        for (size_t k = 0; !done && k < sizeof num_knobs / sizeof num_knobs[0]; k++) {
            if (strcmp(a, num_knobs[k].flag) != 0)
                continue;
            const char *v = need_value(argc, argv, &i);
            if (!parse_long(v, num_knobs[k].lo, num_knobs[k].hi, num_knobs[k].dst)) {
                fprintf(stderr, "error: invalid value for %s: %s (range %ld..%ld)\n",
                        a, v, num_knobs[k].lo, num_knobs[k].hi);
                exit(1);
            }
            done = true;
        }
        for (size_t k = 0; !done && k < sizeof bool_knobs / sizeof bool_knobs[0]; k++) {
            if (strcmp(a, bool_knobs[k].flag) == 0) {
                *bool_knobs[k].dst = true;
                done = true;
            }
        }
        for (size_t k = 0; !done && ignored_value_flags[k] != NULL; k++) {
            if (strcmp(a, ignored_value_flags[k]) == 0) {
                (void)need_value(argc, argv, &i);
                done = true;
            }
        }
        if (done)
            continue;
        if (a[0] == '-' && i + 1 < argc && looks_like_value(argv[i + 1])) {
            fprintf(stderr, "stub-llama: warning: ignoring unknown argument %s %s\n",
                    a, argv[i + 1]);
            i++;
        } else {
            fprintf(stderr, "stub-llama: warning: ignoring unknown argument %s\n", a);
        }
    }
}

/* ------------------------------------------------------------------ */
/* listening socket                                                     */

static int open_listener(long *port_out)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%ld", g_port);
    int gai = getaddrinfo(g_host, portstr, &hints, &res);
    if (gai != 0) {
        log_err("stub-llama: cannot resolve %s: %s", g_host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        log_err("stub-llama: bind/listen: %s", strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port_out = g_port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t n)
{
    const void *addr = NULL;
    if (ss->ss_family == AF_INET)
        addr = &((const struct sockaddr_in *)ss)->sin_addr;
    else if (ss->ss_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (addr == NULL || inet_ntop(ss->ss_family, addr, out, (socklen_t)n) == NULL)
        snprintf(out, n, "?");
}

static void accept_one(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            sleep_ms(10);
        return;
    }
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    if (atomic_fetch_add(&g_active_conns, 1) >= MAX_CONNS) {
        atomic_fetch_sub(&g_active_conns, 1);
        close(fd);
        return;
    }
    struct conn *c = malloc(sizeof *c);
    if (c == NULL) {
        atomic_fetch_sub(&g_active_conns, 1);
        close(fd);
        return;
    }
    c->fd = fd;
    format_peer(&ss, c->peer, sizeof c->peer);

    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    if (pthread_create(&t, &attr, conn_main, c) != 0) {
        atomic_fetch_sub(&g_active_conns, 1);
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&attr);
}

/* ------------------------------------------------------------------ */

/* A helper that leaves: its own session, deaf to SIGTERM, asleep. */
static void sleep_forever(bool own_session)
{
    sigset_t none;

    if (own_session)
        setsid();
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (;;)
        pause();
}

/* child -> grandchild: the grandchild escapes the process group. */
static void spawn_escaper(void)
{
    int p[2];
    pid_t c;

    if (pipe(p) < 0)
        return;
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            close(p[0]);
            setsid();
            pid_t me = getpid();
            if (write(p[1], &me, sizeof(me)) < 0)
                _exit(1);
            close(p[1]);
            sleep_forever(false);
        }
        sleep_forever(false);   /* the child stays in the group, deaf to TERM too */
    }
    close(p[1]);
    if (c > 0) {
        pid_t g = 0;
        if (read(p[0], &g, sizeof(g)) == (ssize_t)sizeof(g))
            printf("stub-llama: escaper pid %ld (child %ld)\n", (long)g, (long)c);
    }
    close(p[0]);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_start_ms = mono_ms();
    g_created = (long long)time(NULL);

    read_env();
    parse_args(argc, argv);

    /* SIGTERM/SIGINT go to the sigwait thread only; SIGPIPE is never wanted. */
    sigemptyset(&g_term_set);
    sigaddset(&g_term_set, SIGTERM);
    sigaddset(&g_term_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &g_term_set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Fork before any thread exists. */
    pid_t child = -1;
    if (g_spawn_child) {
        child = fork();
        if (child == 0) {
            sigset_t none;
            sigemptyset(&none);
            signal(SIGPIPE, SIG_DFL);
            sigprocmask(SIG_SETMASK, &none, NULL);
            for (;;)
                pause();
        }
        if (child < 0)
            fprintf(stderr, "stub-llama: fork: %s\n", strerror(errno));
    }
    if (g_spawn_escaper)
        spawn_escaper();
    for (long i = 0; i < g_fork_children; i++) {
        pid_t c = fork();
        if (c == 0)
            sleep_forever(true);
        if (c < 0) {
            fprintf(stderr, "stub-llama: fork %ld: %s\n", i, strerror(errno));
            break;
        }
    }
    if (g_fork_children)
        printf("stub-llama: forked %ld children\n", g_fork_children);
    fflush(stdout);

    log_init();
    start_thread(logger_main, NULL, "logger");

    g_model_json = json_escape(g_model ? g_model : "");
    g_model_id_json = json_escape(g_alias ? g_alias : g_model ? g_model : "stub");
    if (g_model_json == NULL || g_model_id_json == NULL) {
        fprintf(stderr, "stub-llama: out of memory\n");
        return 1;
    }

    bool model_ok = g_model != NULL && access(g_model, R_OK) == 0;
    int model_errno = errno;
    log_out("stub-llama: pid %ld, host %s, port %ld, model %s%s",
            (long)getpid(), g_host, g_port, g_model ? g_model : "(none)",
            g_model == NULL || model_ok ? ""
            : g_require_model ? " (not found)" : " (not found, ignored)");
    if (child > 0)
        log_out("stub-llama: spawned child pid %ld", (long)child);

    if (g_require_model && !model_ok) {
        const char *why = g_model ? strerror(model_errno) : "no model given";
        log_err("llama_model_load: error loading model: failed to open %s: %s",
                g_model ? g_model : "(none)", why);
        log_err("main: exiting due to model loading error");
        log_drain(50);
        sleep_until_ms(g_start_ms + 5);
        struct rlimit rl = { 0, 0 };
        (void)setrlimit(RLIMIT_CORE, &rl);
        abort();
    }

    start_thread(signal_main, NULL, "signal");
    if (g_crash_after_ms >= 0)
        start_thread(crash_main, NULL, "crash");
    if (g_flood > 0)
        start_thread(flood_main, NULL, "flood");

    sleep_until_ms(g_start_ms + g_listen_delay_ms);

    long port = g_port;
    int lfd = open_listener(&port);
    if (lfd < 0) {
        log_err("couldn't bind HTTP server socket, hostname: %s, port: %ld", g_host, g_port);
        log_drain(1000);
        _exit(1);
    }
    log_out("main: HTTP server is listening, hostname: %s, port: %ld, http threads: %d",
            g_host, port, MAX_CONNS);
    log_out("main: loading model");

    int64_t ready_at = mono_ms() + g_load_ms;
    int64_t hang_at = g_hang_after_ms >= 0 ? g_start_ms + g_hang_after_ms : -1;
    bool ready = false;

    for (;;) {
        int64_t now = mono_ms();
        if (!ready && now >= ready_at) {
            ready = true;
            log_out("main: model loaded");
            log_out("main: server is listening on http://%s:%ld - starting the main loop",
                    g_host, port);
            atomic_store(&g_ready, true);
        }
        if (hang_at >= 0 && now >= hang_at) {
            log_err("stub-llama: hang-after-ms %ld reached: no longer accepting connections",
                    g_hang_after_ms);
            for (;;)
                pause();        /* SIGTERM/SIGINT are handled by the signal thread */
        }
        int64_t wake = -1;
        if (!ready)
            wake = ready_at;
        if (hang_at >= 0 && (wake < 0 || hang_at < wake))
            wake = hang_at;
        int timeout = -1;
        if (wake >= 0) {
            int64_t d = wake - now;
            timeout = d <= 0 ? 0 : d > 60000 ? 60000 : (int)d;
        }
        struct pollfd pfd = { .fd = lfd, .events = POLLIN, .revents = 0 };
        int n = poll(&pfd, 1, timeout);
        if (n > 0 && (pfd.revents & POLLIN))
            accept_one(lfd);
    }
}
