/*
 * DESIGN: the HTTP front of the API server (libmicrohttpd stays in this
 * file). MHD runs an epoll polling thread per pool worker; each request's
 * body is collected (capped at API_BODY_MAX: the rest is discarded and the
 * answer is 413), decoded into a struct api_req and answered from
 * api_dispatch().
 *
 * Streams (watch, pods/log) never pin a thread: the content reader drains
 * what is ready and, when nothing is, suspends the connection
 * (MHD_suspend_connection from the content reader, as MHD documents);
 * whoever makes data ready — the store's apply thread through the watch
 * notify, the log poller, the timer thread for bookmarks and timeouts —
 * resumes it. The lost-wake-up race is closed by a `pending` flag set
 * under the stream's mutex by every waker and checked by the reader
 * before it suspends.
 *
 * The timer thread wakes once a second: it resumes watchers whose timeout
 * or bookmark is due. Shutdown: new requests get 503, every stream is
 * ended and resumed so it finishes, then the daemon stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "apiserver/api_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/version.h"

/* libmicrohttpd's worker threads. A write holds its worker until the
 * store's group commit has made it durable (an fsync, a few hundred µs), so
 * the pool bounds how many writes share one fsync: with 16 workers, 64
 * clients creating ConfigMaps got 0.12-0.16x the /healthz rate, with 64
 * workers 0.18-0.21x (bench_api, same runs). Watches and log streams are
 * suspended, not holding a worker. */
#define API_THREADS 64

struct conn_req {
    struct buf body;
    bool too_large;
};

/* --- plain answers ------------------------------------------------------ */

static enum MHD_Result queue_resp(struct MHD_Connection *conn,
                                  struct api_resp *o)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char *body = NULL;
    size_t len = 0;

    if (o->json) {
        body = api_json_dump(o->json, &len);
        if (body == NULL)
            return MHD_NO;
        resp =
            MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    } else {
        resp = MHD_create_response_from_buffer(
            o->text_len, o->text ? o->text : (char *)"", MHD_RESPMEM_MUST_COPY);
    }
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type",
                            o->ctype ? o->ctype : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    if (o->warning[0])
        MHD_add_response_header(resp, "Warning", o->warning);
    if (o->retry_after[0])
        MHD_add_response_header(resp, "Retry-After", o->retry_after);
    ret =
        MHD_queue_response(conn, (unsigned)(o->status ? o->status : 500), resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --- watch streams ------------------------------------------------------ */

static void watch_wake(void *arg)
{
    struct api_watcher *w = arg;

    pthread_mutex_lock(&w->mu);
    w->http_idle = false;
    if (w->suspended && w->conn) {
        w->suspended = false;
        MHD_resume_connection(w->conn);
    }
    pthread_mutex_unlock(&w->mu);
}

static void emit_line(const char *type, json_t *obj, void *arg)
{
    struct api_watcher *w = arg;
    json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
    char *s = ev ? api_json_dump(ev, NULL) : NULL;

    json_decref(ev);
    if (s == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->out.len + strlen(s) + 1 > API_WATCH_OUT_MAX) {
        /* the per-watcher cap: a batch this large is cut, the stream is
         * closed and the client lists again */
        pthread_mutex_unlock(&w->mu);
        api_watcher_end(w);
        free(s);
        return;
    }
    buf_append_str(&w->out, s);
    buf_append(&w->out, "\n", 1);
    pthread_mutex_unlock(&w->mu);
    free(s);
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct api_watcher *w = cls;
    size_t n;
    (void)pos;

    pthread_mutex_lock(&w->mu);
    for (int round = 0; w->out_off >= w->out.len; round++) {
        int fin;
        buf_reset(&w->out);
        w->out_off = 0;
        w->http_idle = true; /* cleared by any wake-up */
        pthread_mutex_unlock(&w->mu);
        fin = api_watcher_pump(w, emit_line, w);
        pthread_mutex_lock(&w->mu);
        if (w->out.len > 0)
            break;
        if (fin) {
            pthread_mutex_unlock(&w->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (w->more) {
            /* nothing matched in a full batch: come back at once */
            pthread_mutex_unlock(&w->mu);
            return 0;
        }
        if (w->http_idle || round > 8) {
            w->suspended = true;
            MHD_suspend_connection(w->conn);
            pthread_mutex_unlock(&w->mu);
            return 0;
        }
    }
    n = w->out.len - w->out_off;
    if (n > max)
        n = max;
    memcpy(out, w->out.data + w->out_off, n);
    w->out_off += n;
    pthread_mutex_unlock(&w->mu);
    return (ssize_t)n;
}

static void watch_free(void *cls)
{
    struct api_watcher *w = cls;
    struct api_server *srv = w->srv;

    pthread_mutex_lock(&srv->watch_mu);
    if (w->listed) {
        if (w->prev)
            w->prev->next = w->next;
        else
            srv->watchers = w->next;
        if (w->next)
            w->next->prev = w->prev;
        srv->nwatchers--;
        w->listed = false;
    }
    pthread_mutex_unlock(&srv->watch_mu);
    api_watcher_destroy(w);
}

static enum MHD_Result queue_watch(struct api_server *srv,
                                   struct MHD_Connection *conn,
                                   struct api_resp *o)
{
    struct api_watcher *w = o->watcher;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    o->watcher = NULL; /* the response owns it now */
    pthread_mutex_lock(&w->mu);
    w->conn = conn;
    w->wake = watch_wake;
    w->wake_arg = w;
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_lock(&srv->watch_mu);
    w->next = srv->watchers;
    w->prev = NULL;
    if (srv->watchers)
        srv->watchers->prev = w;
    srv->watchers = w;
    srv->nwatchers++;
    w->listed = true;
    pthread_mutex_unlock(&srv->watch_mu);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                             watch_reader, w, watch_free);
    if (resp == NULL) {
        watch_free(w);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --- log streams --------------------------------------------------------- */

struct logconn {
    pthread_mutex_t mu;
    struct api_logstream *l;
    struct MHD_Connection *conn;
    bool suspended, pending;
};

static void log_wake(void *arg)
{
    struct logconn *lc = arg;

    pthread_mutex_lock(&lc->mu);
    lc->pending = true;
    if (lc->suspended) {
        lc->suspended = false;
        MHD_resume_connection(lc->conn);
    }
    pthread_mutex_unlock(&lc->mu);
}

static ssize_t log_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct logconn *lc = cls;
    ssize_t n;
    (void)pos;

    for (int round = 0; round < 4; round++) {
        pthread_mutex_lock(&lc->mu);
        lc->pending = false;
        pthread_mutex_unlock(&lc->mu);
        n = api_logstream_read(lc->l, out, max, 0);
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n > 0)
            return n;
        pthread_mutex_lock(&lc->mu);
        if (!lc->pending) {
            lc->suspended = true;
            MHD_suspend_connection(lc->conn);
            pthread_mutex_unlock(&lc->mu);
            api_logstream_arm(lc->l, log_wake, lc);
            return 0;
        }
        pthread_mutex_unlock(&lc->mu);
    }
    return 0;
}

static void log_free(void *cls)
{
    struct logconn *lc = cls;

    api_logstream_destroy(lc->l);
    pthread_mutex_destroy(&lc->mu);
    free(lc);
}

static enum MHD_Result queue_log(struct MHD_Connection *conn,
                                 struct api_resp *o)
{
    struct logconn *lc = calloc(1, sizeof *lc);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (lc == NULL)
        return MHD_NO;
    pthread_mutex_init(&lc->mu, NULL);
    lc->l = o->log;
    o->log = NULL;
    lc->conn = conn;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                             log_reader, lc, log_free);
    if (resp == NULL) {
        log_free(lc);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --- the access handler ------------------------------------------------- */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    struct api_req *r = cls;
    (void)kind;

    if (r->nquery >= API_QUERY_MAX)
        return MHD_NO;
    r->query[r->nquery].key = strdup(key ? key : "");
    r->query[r->nquery].val = strdup(value ? value : "");
    r->nquery++;
    return MHD_YES;
}

static enum MHD_Result api_handle(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **req_cls)
{
    struct api_server *srv = cls;
    struct conn_req *cr = *req_cls;
    struct api_req r;
    struct api_resp o;
    enum MHD_Result ret;
    (void)version;

    if (cr == NULL) {
        const char *cl;
        cr = calloc(1, sizeof *cr);
        if (cr == NULL)
            return MHD_NO;
        buf_init(&cr->body);
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX)
            cr->too_large = true;
        *req_cls = cr;
        return MHD_YES;
    }
    if (*data_size != 0) {
        if (!cr->too_large) {
            if (cr->body.len + *data_size > API_BODY_MAX) {
                cr->too_large = true;
                buf_close(&cr->body);
            } else if (buf_append(&cr->body, data, *data_size) != 0) {
                cr->too_large = true;
            }
        }
        *data_size = 0;
        return MHD_YES;
    }

    memset(&r, 0, sizeof r);
    memset(&o, 0, sizeof o);
    atomic_fetch_add(&srv->active_requests, 1);
    r.method = method;
    r.path = strdup(url);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &r);
    r.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    r.accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                           MHD_HTTP_HEADER_ACCEPT);
    r.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_USER_AGENT);
    r.body = cr->body.data;
    r.body_len = cr->body.len;
    r.body_too_large = cr->too_large;

    if (r.path == NULL)
        api_resp_status(&o, K1S_ENOMEM, NULL, "out of memory");
    else if (atomic_load(&srv->stopping))
        api_resp_status(&o, K1S_ESHUTDOWN, NULL, "the server is shutting down");
    else
        api_dispatch(srv, &r, &o);

    if (o.stream_kind == API_STREAM_WATCH && o.watcher) {
        size_t n, cap = srv->cfg.max_watches > 0 ? (size_t)srv->cfg.max_watches
                                                 : API_WATCH_MAX;
        pthread_mutex_lock(&srv->watch_mu);
        n = srv->nwatchers;
        pthread_mutex_unlock(&srv->watch_mu);
        if (n >= cap) {
            api_watcher_destroy(o.watcher);
            o.watcher = NULL;
            o.stream_kind = API_STREAM_NONE;
            api_resp_status(&o, K1S_ETOOMANY,
                            json_pack("{s:i}", "retryAfterSeconds", 1),
                            "too many watch requests (%zu are open); try "
                            "again later",
                            n);
            snprintf(o.retry_after, sizeof o.retry_after, "1");
        }
    }
    if (o.stream_kind == API_STREAM_WATCH && o.watcher)
        ret = queue_watch(srv, conn, &o);
    else if (o.stream_kind == API_STREAM_LOG && o.log)
        ret = queue_log(conn, &o);
    else
        ret = queue_resp(conn, &o);
    api_resp_clear(&o);
    api_req_clear(&r);
    atomic_fetch_sub(&srv->active_requests, 1);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_req *cr = *req_cls;
    (void)cls;
    (void)conn;
    (void)toe;

    if (cr) {
        buf_close(&cr->body);
        free(cr);
        *req_cls = NULL;
    }
}

/* --- timer ---------------------------------------------------------------- */

/* A suspended connection is not polled by MHD, so a client that went away
 * would only be noticed at the next event: look at the socket. */
static bool client_gone(struct api_watcher *w)
{
    const union MHD_ConnectionInfo *ci;
    struct pollfd p;
    bool gone = false;

    pthread_mutex_lock(&w->mu);
    if (w->suspended && w->conn) {
        ci =
            MHD_get_connection_info(w->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) {
            p.fd = ci->connect_fd;
            p.events = POLLRDHUP;
            p.revents = 0;
            gone = poll(&p, 1, 0) == 1 &&
                   (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
        }
    }
    pthread_mutex_unlock(&w->mu);
    return gone;
}

static void *timer_main(void *arg)
{
    struct api_server *srv = arg;
    unsigned tick = 0;

    pthread_setname_np(pthread_self(), "api-timer");
    pthread_mutex_lock(&srv->watch_mu);
    while (!atomic_load(&srv->stopping)) {
        struct timespec ts;
        int64_t now = clock_mono_ns();
        bool sweep = ++tick % 5 == 0;
        for (struct api_watcher *w = srv->watchers; w; w = w->next) {
            if (sweep && client_gone(w)) {
                log_debug("apiserver: a watch client went away; ending "
                          "its stream");
                api_watcher_end(w);
            }
            if (api_watcher_due(w, now))
                watch_wake(w);
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->timer_cv, &srv->watch_mu, &ts);
    }
    pthread_mutex_unlock(&srv->watch_mu);
    return NULL;
}

/* --- lifecycle ---------------------------------------------------------- */

static int api_is_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127;
}

int api_server_create(const struct api_config *cfg, struct api_server **ret,
                      char *errbuf, size_t errlen)
{
    struct api_server *srv;
    const char *bind = cfg->bind_address ? cfg->bind_address : "127.0.0.1";
    struct in_addr a;

    if (cfg->port < 0 || cfg->port > 65535 ||
        inet_pton(AF_INET, bind, &a) != 1) {
        snprintf(errbuf, errlen,
                 "apiserver: bad bind address %s port %d (want an IPv4 "
                 "address and a port 0-65535)",
                 bind, cfg->port);
        return K1S_EINVAL;
    }
    if (!api_is_loopback(&a)) {
        if (!cfg->insecure_bind) {
            snprintf(errbuf, errlen,
                     "apiserver: refusing to serve plain HTTP on "
                     "non-loopback address %s; pass --insecure-bind to do "
                     "it anyway",
                     bind);
            return K1S_EINVAL;
        }
        log_warn("apiserver: serving plain HTTP without authentication on "
                 "non-loopback address %s",
                 bind);
    }
    srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return K1S_ENOMEM;
    srv->cfg = *cfg;
    srv->cfg.bind_address = bind;
    srv->store = cfg->store;
    pthread_mutex_init(&srv->watch_mu, NULL);
    pthread_cond_init(&srv->timer_cv, NULL);
    api_nscache_init(&srv->nscache);
    *ret = srv;
    return 0;
}

int api_server_start(struct api_server *srv, char *errbuf, size_t errlen)
{
    const union MHD_DaemonInfo *info;
    struct sockaddr_in addr;
    int rv;

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)srv->cfg.port);
    inet_pton(AF_INET, srv->cfg.bind_address, &addr.sin_addr);
    if (srv->store) {
        rv = api_bootstrap(srv, errbuf, errlen);
        if (rv != 0)
            return rv;
    }
    srv->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
            MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        0, NULL, NULL, api_handle, srv, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)API_THREADS,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_NOTIFY_COMPLETED,
        request_done, srv, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_END);
    if (srv->mhd == NULL) {
        snprintf(errbuf, errlen,
                 "apiserver: cannot listen on %s:%d (in use, or not an "
                 "address of this machine)",
                 srv->cfg.bind_address, srv->cfg.port);
        return K1S_EIO;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : srv->cfg.port;
    rv = api_discovery_build(srv);
    if (rv != 0) {
        snprintf(errbuf, errlen, "apiserver: building discovery: %s",
                 err_str(rv));
        goto err_after_mhd;
    }
    if (pthread_create(&srv->timer, NULL, timer_main, srv) != 0) {
        snprintf(errbuf, errlen, "apiserver: cannot start timer thread");
        rv = K1S_ENOMEM;
        goto err_after_mhd;
    }
    srv->timer_started = true;
    return 0;

err_after_mhd:
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    return rv;
}

int api_server_port(const struct api_server *srv)
{
    return srv->port;
}

void api_server_set_ready(struct api_server *srv, bool ready)
{
    atomic_store(&srv->ready, ready);
}

void api_server_stop(struct api_server *srv)
{
    atomic_store(&srv->stopping, true);
    atomic_store(&srv->ready, false);
    if (srv->timer_started) {
        pthread_mutex_lock(&srv->watch_mu);
        pthread_cond_broadcast(&srv->timer_cv);
        pthread_mutex_unlock(&srv->watch_mu);
        pthread_join(srv->timer, NULL);
        srv->timer_started = false;
    }
    if (srv->mhd) {
        /* End every stream and let it finish: MHD must not be stopped
         * with suspended connections. Bounded: 2 s. */
        int64_t deadline = clock_mono_ns() + 2000000000ll;
        pthread_mutex_lock(&srv->watch_mu);
        for (struct api_watcher *w = srv->watchers; w; w = w->next) {
            api_watcher_end(w);
            watch_wake(w);
        }
        pthread_mutex_unlock(&srv->watch_mu);
        for (;;) {
            size_t n;
            pthread_mutex_lock(&srv->watch_mu);
            n = srv->nwatchers;
            pthread_mutex_unlock(&srv->watch_mu);
            if (n == 0 || clock_mono_ns() > deadline)
                break;
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(srv->mhd);
        srv->mhd = NULL;
    }
    api_nscache_stop(&srv->nscache);
}

void api_server_destroy(struct api_server *srv)
{
    if (srv == NULL)
        return;
    api_server_stop(srv);
    api_discovery_free(srv);
    api_nscache_close(&srv->nscache);
    pthread_mutex_destroy(&srv->watch_mu);
    pthread_cond_destroy(&srv->timer_cv);
    free(srv);
}
