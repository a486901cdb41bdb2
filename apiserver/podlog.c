/*
 * DESIGN: pods/log, proxied to the node agent (INTERFACES.md): the pod's
 * node gives the address (InternalIP) and port
 * (status.daemonEndpoints.kubeletEndpoint.Port); the agent's
 * GET /containerLogs/<ns>/<pod>/<container>?<query> answer is streamed
 * through. The request is HTTP/1.0, so the agent's body ends when it
 * closes the connection (no chunk decoding here).
 *
 * Connecting and reading the answer's head block the request's thread for
 * at most API_LOG_CONNECT_MS; the body is then read without blocking. A
 * stream with nothing to read is "armed": one poller thread (epoll, shared
 * by every log stream) calls its wake callback when the agent sends more
 * or closes, so a `logs -f` never pins a thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiserver/api_int.h"
#include "lib/clock.h"
#include "lib/err.h"

#define API_LOG_CONNECT_MS 5000
#define API_LOG_HEAD_MAX 16384

struct api_logstream {
    struct api_server *srv;
    int fd;
    char *pending; /* body bytes read with the head */
    size_t pending_len, pending_off;
    void (*wake)(void *);
    void *wake_arg;
    bool eof;
};

static pthread_once_t poller_once = PTHREAD_ONCE_INIT;
static int poller_fd = -1;

static void *poller_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "api-logpoll");
    for (;;) {
        struct epoll_event ev[64];
        int n = epoll_wait(poller_fd, ev, 64, -1);
        for (int i = 0; i < n; i++) {
            struct api_logstream *l = ev[i].data.ptr;
            void (*wake)(void *) = l->wake;
            void *warg = l->wake_arg;
            /* one-shot: the stream is not touched after its wake-up */
            if (wake)
                wake(warg);
        }
        if (n < 0 && errno != EINTR)
            break;
    }
    return NULL;
}

static void poller_start(void)
{
    pthread_t t;
    poller_fd = epoll_create1(EPOLL_CLOEXEC);
    if (poller_fd >= 0 && pthread_create(&t, NULL, poller_main, NULL) == 0)
        pthread_detach(t);
}

void api_logstream_arm(struct api_logstream *l, void (*wake)(void *), void *arg)
{
    struct epoll_event ev;

    pthread_once(&poller_once, poller_start);
    l->wake = wake;
    l->wake_arg = arg;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = l;
    if (poller_fd < 0 ||
        (epoll_ctl(poller_fd, EPOLL_CTL_MOD, l->fd, &ev) != 0 &&
         epoll_ctl(poller_fd, EPOLL_CTL_ADD, l->fd, &ev) != 0))
        wake(arg); /* cannot wait: let the reader see the error */
}

ssize_t api_logstream_read(struct api_logstream *l, char *buf, size_t max,
                           int timeout_ms)
{
    ssize_t n;

    if (l->pending_off < l->pending_len) {
        size_t k = l->pending_len - l->pending_off;
        if (k > max)
            k = max;
        memcpy(buf, l->pending + l->pending_off, k);
        l->pending_off += k;
        return (ssize_t)k;
    }
    if (l->eof || atomic_load(&l->srv->stopping))
        return -1;
    if (timeout_ms > 0) {
        struct pollfd p = {l->fd, POLLIN, 0};
        poll(&p, 1, timeout_ms);
    }
    n = read(l->fd, buf, max);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    l->eof = true;
    return -1;
}

void api_logstream_destroy(struct api_logstream *l)
{
    if (l == NULL)
        return;
    if (poller_fd >= 0)
        epoll_ctl(poller_fd, EPOLL_CTL_DEL, l->fd, NULL);
    close(l->fd);
    free(l->pending);
    free(l);
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {fd, events, 0};
    int64_t left = (deadline - clock_mono_ns()) / 1000000;
    if (left <= 0)
        return K1S_ETIMEOUT;
    if (poll(&p, 1, (int)left) <= 0)
        return K1S_ETIMEOUT;
    return 0;
}

static void url_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("-._~", ch))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

void api_pod_log(struct api_server *srv, struct api_req *r, const json_t *pod,
                 const json_t *node, struct api_resp *o)
{
    static const char *const params[] = {
        "tailLines", "timestamps", "sinceSeconds", "sinceTime",
        "follow",    "previous",   "limitBytes"};
    const char *ns = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "namespace"));
    const char *name = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "name"));
    const char *container = api_query(r, "container");
    const json_t *st = json_object_get(node, "status");
    const char *addr = NULL;
    json_int_t port = json_integer_value(
        json_object_get(json_object_get(json_object_get(st, "daemonEndpoints"),
                                        "kubeletEndpoint"),
                        "Port"));
    struct sockaddr_in sa;
    char req[2048], head[API_LOG_HEAD_MAX + 1], esc[512];
    size_t used = 0, hl = 0, i;
    json_t *a;
    int fd = -1, code;
    int64_t deadline = clock_mono_ns() + API_LOG_CONNECT_MS * 1000000ll;
    struct api_logstream *l;
    char *body;

    if (container == NULL || *container == '\0')
        container = json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_object_get(pod, "spec"), "containers"), 0),
            "name"));
    json_array_foreach (json_object_get(st, "addresses"), i, a) {
        const char *t = json_string_value(json_object_get(a, "type"));
        if (t && strcmp(t, "InternalIP") == 0 && addr == NULL)
            addr = json_string_value(json_object_get(a, "address"));
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (addr == NULL || port <= 0 || port > 65535 ||
        inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        api_resp_status(o, K1S_EBADREQ, NULL,
                        "the node of pod %s publishes no reachable agent "
                        "endpoint (InternalIP and "
                        "daemonEndpoints.kubeletEndpoint.Port)",
                        name);
        return;
    }
    sa.sin_port = htons((uint16_t)port);
    used = (size_t)snprintf(req, sizeof req, "GET /containerLogs/%s/%s/%s", ns,
                            name, container ? container : "");
    char sep = '?';
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        const char *v = api_query(r, params[k]);
        if (v == NULL || used >= sizeof req)
            continue;
        url_escape(v, esc, sizeof esc);
        used += (size_t)snprintf(req + used, sizeof req - used, "%c%s=%s", sep,
                                 params[k], esc);
        sep = '&';
    }
    if (used < sizeof req)
        used += (size_t)snprintf(req + used, sizeof req - used,
                                 " HTTP/1.0\r\nHost: %s:%lld\r\n"
                                 "User-Agent: k1s-apiserver\r\n\r\n",
                                 addr, (long long)port);
    if (used >= sizeof req) {
        api_resp_status(o, K1S_EBADREQ, NULL, "log request too long");
        return;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto unreachable;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = 0;
        socklen_t el = sizeof err;
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err)
            goto unreachable;
    }
    for (size_t off = 0; off < used;) {
        ssize_t n = write(fd, req + off, used - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno == EAGAIN) {
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                goto unreachable;
        } else
            goto unreachable;
    }
    /* the head */
    for (;;) {
        ssize_t n;
        if (hl >= API_LOG_HEAD_MAX)
            goto unreachable;
        n = read(fd, head + hl, API_LOG_HEAD_MAX - hl);
        if (n > 0) {
            hl += (size_t)n;
            head[hl] = '\0';
            if (strstr(head, "\r\n\r\n"))
                break;
        } else if (n < 0 && errno == EAGAIN) {
            if (wait_fd(fd, POLLIN, deadline) != 0)
                goto unreachable;
        } else
            goto unreachable;
    }
    if (sscanf(head, "HTTP/%*s %d", &code) != 1)
        goto unreachable;
    body = strstr(head, "\r\n\r\n") + 4;
    if (code != 200) {
        /* the agent's error, as the Status a client expects; its body may
         * come after the head (the agent closes the connection after it) */
        char msg[512];
        size_t bl;
        while (hl < API_LOG_HEAD_MAX) {
            ssize_t n = read(fd, head + hl, API_LOG_HEAD_MAX - hl);
            if (n > 0) {
                hl += (size_t)n;
                head[hl] = '\0';
            } else if (n < 0 && errno == EAGAIN) {
                if (wait_fd(fd, POLLIN, deadline) != 0)
                    break;
            } else {
                break; /* end of the reply */
            }
        }
        bl = hl - (size_t)(body - head);
        snprintf(msg, sizeof msg, "%.*s", (int)(bl > 400 ? 400 : bl), body);
        while (strlen(msg) && (msg[strlen(msg) - 1] == '\n'))
            msg[strlen(msg) - 1] = '\0';
        api_resp_status(o, code == 404 ? K1S_ENOTFOUND : K1S_EBADREQ, NULL,
                        "%s",
                        msg[0] ? msg
                               : "the node agent refused the "
                                 "log request");
        close(fd);
        return;
    }
    l = calloc(1, sizeof *l);
    if (l == NULL) {
        close(fd);
        api_resp_status(o, K1S_ENOMEM, NULL, "out of memory");
        return;
    }
    l->srv = srv;
    l->fd = fd;
    l->pending_len = hl - (size_t)(body - head);
    l->pending = malloc(l->pending_len + 1);
    if (l->pending)
        memcpy(l->pending, body, l->pending_len);
    else
        l->pending_len = 0;
    if (r->in_process) {
        /* the in-process client gets the whole (non-follow) log as text */
        struct buf b;
        char chunk[4096];
        buf_init(&b);
        for (;;) {
            ssize_t n = api_logstream_read(l, chunk, sizeof chunk, 1000);
            if (n < 0 || b.len > 16 * 1024 * 1024)
                break;
            if (n > 0)
                buf_append(&b, chunk, (size_t)n);
            else if (clock_mono_ns() > deadline + 25000000000ll)
                break;
        }
        api_resp_text(o, 200, "text/plain", b.data ? b.data : "");
        buf_close(&b);
        api_logstream_destroy(l);
        return;
    }
    o->status = 200;
    o->stream_kind = API_STREAM_LOG;
    o->log = l;
    return;
unreachable:
    if (fd >= 0)
        close(fd);
    api_resp_status(o, K1S_EUNAVAIL, NULL,
                    "Get \"http://%s:%lld/containerLogs/%s/%s/%s\": the node "
                    "agent is unreachable",
                    addr, (long long)port, ns, name,
                    container ? container : "");
}
