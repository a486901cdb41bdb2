/*
 * DESIGN: the agent's log server (INTERFACES.md, "Node agent endpoints").
 *
 *   GET /containerLogs/<ns>/<pod>/<container>?tailLines&timestamps&
 *       sinceSeconds&sinceTime&follow&previous&limitBytes   → text/plain
 *   GET /healthz → ok
 *
 * A deliberately small HTTP/1.x server on plain sockets (libmicrohttpd
 * belongs to apiserver/): one accept thread, one detached thread per
 * connection (at most LOGSRV_MAX_CONN at once; more get 503). Answers are
 * `Connection: close` with no length, which is how the API server's proxy
 * reads them (HTTP/1.0, body until close).
 *
 * Files: DATA_DIR/pods/<ns>_<pod>_<uid>/containers/<c>/<run>.log; the
 * newest pod directory of that name wins (a re-created pod has a new uid),
 * the highest run is the current container, the one below it is
 * `previous`. follow=true keeps reading the current file every 200 ms and
 * ends when the run has ended (its `exit` record exists and everything is
 * sent), a newer run starts, the pod directory goes, the client goes, or
 * the agent stops.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define LOGSRV_MAX_CONN 64
#define REQ_MAX 8192

struct agent_logsrv {
    int fd;
    char pods_dir[PATH_MAX];
    volatile int stop;
    atomic_int conns;
    pthread_t thr;
};

struct conn {
    struct agent_logsrv *s;
    int fd;
};

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void answer(int fd, int code, const char *reason, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                     "charset=utf-8\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     code, reason, strlen(body));
    if (send_all(fd, head, (size_t)n) == 0)
        send_all(fd, body, strlen(body));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
}

/* Value of `key` in a query string (decoded into out) or NULL. */
static const char *qget(const char *q, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
            snprintf(out, len, "%.*s", (int)(n - kl - 1), q + kl + 1);
            url_decode(out);
            return out;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static bool truthy(const char *v)
{
    return v && (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
                 strcmp(v, "1") == 0);
}

static bool safe_name(const char *s)
{
    return s[0] && strlen(s) < 254 && !strchr(s, '/') && !strstr(s, "..");
}

/* The newest DATA_DIR/pods/<ns>_<pod>_* directory. */
static int find_pod_dir(const char *pods, const char *ns, const char *pod,
                        char *out, size_t len)
{
    char prefix[600];
    DIR *d = opendir(pods);
    struct dirent *e;
    time_t best = 0;
    int rv = K1S_ENOTFOUND;

    snprintf(prefix, sizeof prefix, "%s_%s_", ns, pod);
    while (d && (e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            strchr(e->d_name + strlen(prefix), '_'))
            continue;
        snprintf(path, sizeof path, "%s/%s", pods, e->d_name);
        if (stat(path, &st) == 0 && (rv != 0 || st.st_mtime >= best)) {
            best = st.st_mtime;
            snprintf(out, len, "%s", path);
            rv = 0;
        }
    }
    if (d)
        closedir(d);
    return rv;
}

/* The highest and second-highest run numbers with a log file. */
static void runs(const char *cdir, int *ret_cur, int *ret_prev)
{
    DIR *d = opendir(cdir);
    struct dirent *e;

    *ret_cur = *ret_prev = -1;
    while (d && (e = readdir(d)) != NULL) {
        char *end;
        long n = strtol(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".log") != 0 || n < 0)
            continue;
        if (n > *ret_cur) {
            *ret_prev = *ret_cur;
            *ret_cur = (int)n;
        } else if (n > *ret_prev) {
            *ret_prev = (int)n;
        }
    }
    if (d)
        closedir(d);
}

static bool client_gone(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN | POLLRDHUP};
    char b[256];
    if (poll(&pf, 1, 0) <= 0)
        return false;
    if (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))
        return true;
    return recv(fd, b, sizeof b, MSG_DONTWAIT) == 0;
}

static void follow(struct conn *c, const char *cdir, int run, long long off,
                   const struct agent_log_opts *o, long long sent)
{
    char log[PATH_MAX], exitf[PATH_MAX];
    struct buf pending, out;
    FILE *f = NULL;

    snprintf(log, sizeof log, "%s/%d.log", cdir, run);
    snprintf(exitf, sizeof exitf, "%s/run-%d/exit", cdir, run);
    buf_init(&pending);
    buf_init(&out);
    while (!c->s->stop && !client_gone(c->fd)) {
        struct stat st;
        char chunk[65536];
        size_t n, pos = 0;
        bool ended = access(exitf, F_OK) == 0;
        int cur, prev;

        if (stat(log, &st) != 0)
            break;
        if (st.st_size < off) { /* rotated: the new file from its start */
            off = 0;
            buf_reset(&pending);
        }
        if (st.st_size > off) {
            if (f == NULL)
                f = fopen(log, "re");
            if (f == NULL)
                break;
            fseeko(f, off, SEEK_SET);
            while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
                buf_append(&pending, chunk, n);
                off += (long long)n;
                if (pending.len > (1u << 20))
                    break;
            }
            clearerr(f);
            buf_reset(&out);
            while (pos < pending.len) {
                size_t u =
                    agent_log_format_line(pending.data + pos, pending.len - pos,
                                          o->timestamps, 0, &out);
                if (u == 0)
                    break;
                pos += u;
            }
            memmove(pending.data, pending.data + pos, pending.len - pos);
            pending.len -= pos;
            if (out.len) {
                size_t k = out.len;
                if (o->limit_bytes > 0 && sent + (long long)k > o->limit_bytes)
                    k = (size_t)(o->limit_bytes - sent);
                if (send_all(c->fd, out.data, k) != 0)
                    break;
                sent += (long long)k;
                if (o->limit_bytes > 0 && sent >= o->limit_bytes)
                    break;
            }
            if (f) {
                fclose(f);
                f = NULL;
            }
            continue;
        }
        runs(cdir, &cur, &prev);
        if (ended || cur > run)
            break;
        poll(NULL, 0, 200);
    }
    if (f)
        fclose(f);
    buf_close(&pending);
    buf_close(&out);
}

static void serve_logs(struct conn *c, const char *path, const char *query)
{
    char ns[256], pod[256], ctr[256], v[128], poddir[PATH_MAX], cdir[PATH_MAX],
        log[PATH_MAX], msg[600];
    struct agent_log_opts o = {.tail_lines = -1};
    bool fol, prev;
    int cur, before, run;
    long long off = 0;
    struct buf out;
    static const char head[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Connection: close\r\n\r\n";

    if (sscanf(path, "/containerLogs/%255[^/]/%255[^/]/%255[^/?]", ns, pod,
               ctr) != 3) {
        answer(c->fd, 400, "Bad Request",
               "want /containerLogs/<namespace>/<pod>/<container>\n");
        return;
    }
    url_decode(ns);
    url_decode(pod);
    url_decode(ctr);
    if (!safe_name(ns) || !safe_name(pod) || !safe_name(ctr)) {
        answer(c->fd, 400, "Bad Request", "bad name\n");
        return;
    }
    if (qget(query, "tailLines", v, sizeof v))
        o.tail_lines = strtol(v, NULL, 10);
    o.timestamps = truthy(qget(query, "timestamps", v, sizeof v));
    if (qget(query, "sinceSeconds", v, sizeof v))
        o.since_ns = clock_real_ns() - strtoll(v, NULL, 10) * 1000000000LL;
    if (qget(query, "sinceTime", v, sizeof v))
        clock_parse_rfc3339(v, &o.since_ns);
    if (qget(query, "limitBytes", v, sizeof v))
        o.limit_bytes = strtoll(v, NULL, 10);
    fol = truthy(qget(query, "follow", v, sizeof v));
    prev = truthy(qget(query, "previous", v, sizeof v));
    if (find_pod_dir(c->s->pods_dir, ns, pod, poddir, sizeof poddir) != 0) {
        snprintf(msg, sizeof msg, "pod %s/%s is not on this node\n", ns, pod);
        answer(c->fd, 404, "Not Found", msg);
        return;
    }
    snprintf(cdir, sizeof cdir, "%s/containers/%s", poddir, ctr);
    runs(cdir, &cur, &before);
    run = prev ? before : cur;
    if (run < 0) {
        if (prev)
            snprintf(msg, sizeof msg,
                     "previous terminated container \"%s\" in pod \"%s\" "
                     "not found\n",
                     ctr, pod);
        else
            snprintf(msg, sizeof msg,
                     "container \"%s\" in pod \"%s\" is waiting to start\n",
                     ctr, pod);
        answer(c->fd, 400, "Bad Request", msg);
        return;
    }
    snprintf(log, sizeof log, "%s/%d.log", cdir, run);
    buf_init(&out);
    if (agent_log_read(log, &o, &out, &off) != 0) {
        buf_close(&out);
        answer(c->fd, 500, "Internal Server Error", "cannot read the log\n");
        return;
    }
    if (send_all(c->fd, head, sizeof head - 1) == 0 &&
        (out.len == 0 || send_all(c->fd, out.data, out.len) == 0) && fol &&
        !prev && !(o.limit_bytes > 0 && (long long)out.len >= o.limit_bytes))
        follow(c, cdir, run, off, &o, (long long)out.len);
    buf_close(&out);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    char req[REQ_MAX + 1] = "", method[16], target[4096], *q;
    size_t got = 0;
    int64_t end = clock_mono_ns() / 1000000 + 5000;

    pthread_setname_np(pthread_self(), "agent-logconn");
    /* The request head, within 5 s and 8 KiB. */
    while (got < REQ_MAX && !strstr(req, "\r\n\r\n")) {
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        int64_t left = end - clock_mono_ns() / 1000000;
        ssize_t n;
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        n = recv(c->fd, req + got, REQ_MAX - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
    }
    req[got] = '\0';
    if (sscanf(req, "%15s %4095s", method, target) != 2) {
        answer(c->fd, 400, "Bad Request", "bad request\n");
    } else if (strcmp(method, "GET") != 0) {
        answer(c->fd, 405, "Method Not Allowed", "GET only\n");
    } else {
        q = strchr(target, '?');
        if (q)
            *q++ = '\0';
        if (strcmp(target, "/healthz") == 0)
            answer(c->fd, 200, "OK", "ok");
        else if (strncmp(target, "/containerLogs/", 15) == 0)
            serve_logs(c, target, q);
        else
            answer(c->fd, 404, "Not Found", "not found\n");
    }
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    atomic_fetch_sub(&c->s->conns, 1);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct agent_logsrv *s = arg;

    pthread_setname_np(pthread_self(), "agent-logs");
    while (!s->stop) {
        struct pollfd pf = {.fd = s->fd, .events = POLLIN};
        struct conn *c;
        pthread_attr_t at;
        pthread_t t;
        int fd;

        if (poll(&pf, 1, 200) <= 0)
            continue;
        fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (atomic_load(&s->conns) >= LOGSRV_MAX_CONN ||
            (c = malloc(sizeof *c)) == NULL) {
            answer(fd, 503, "Service Unavailable", "too many log streams\n");
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        atomic_fetch_add(&s->conns, 1);
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 * 1024);
        if (pthread_create(&t, &at, conn_main, c) != 0) {
            atomic_fetch_sub(&s->conns, 1);
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

int agent_logsrv_start(const char *ip, int port, const char *pods_dir,
                       struct agent_logsrv **ret, int *ret_port)
{
    struct agent_logsrv *s = calloc(1, sizeof *s);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int one = 1, rv;

    if (s == NULL)
        return K1S_ENOMEM;
    snprintf(s->pods_dir, sizeof s->pods_dir, "%s", pods_dir);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        free(s);
        return K1S_EINVAL;
    }
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        rv = err_from_errno(errno);
        free(s);
        return rv;
    }
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s->fd, 64) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&sa, &sl) != 0) {
        rv = err_from_errno(errno);
        close(s->fd);
        free(s);
        return rv;
    }
    if (pthread_create(&s->thr, NULL, accept_main, s) != 0) {
        close(s->fd);
        free(s);
        return K1S_ENOMEM;
    }
    *ret_port = ntohs(sa.sin_port);
    *ret = s;
    return 0;
}

void agent_logsrv_stop(struct agent_logsrv *s)
{
    int64_t end;

    if (s == NULL)
        return;
    s->stop = 1;
    pthread_join(s->thr, NULL);
    close(s->fd);
    /* Streams notice `stop` within 200 ms; wait for them (bounded). */
    end = clock_mono_ns() / 1000000 + 3000;
    while (atomic_load(&s->conns) > 0 && clock_mono_ns() / 1000000 < end)
        poll(NULL, 0, 20);
    if (atomic_load(&s->conns) == 0)
        free(s);
    /* else: a stuck stream still points at s; leaking it is safer */
}
