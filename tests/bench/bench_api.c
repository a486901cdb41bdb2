/*
 * bench_api — the API server over HTTP, measured against the real k1s
 * binary ($K1S_BIN, started here with a temporary data dir):
 *
 *  1. ConfigMap create and get over keep-alive connections at 1, 16 and 64
 *     concurrent clients (closed loop: each sends its next request when
 *     the last is answered; all driven by one epoll thread, see drive()):
 *     throughput, p50, p99. The same-run reference is
 *     GET /healthz on the same server and connections (the HTTP floor:
 *     what the server costs before any Kubernetes work or store access).
 *  2. Watch fan-out: 1,000 watchers on configmaps, started from a list's
 *     resourceVersion; the time from just before a create is sent to its
 *     event having reached every watcher (p50/p99 over 20 changes).
 *  3. Server RSS (VmRSS of the k1s process) with 10,000 ConfigMaps stored.
 *
 * Run: make bench (or build/release/tests/bench/bench_api with K1S_BIN).
 * BENCH_SECONDS (default 3) sets each throughput phase's length.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int port;
static pid_t server_pid;
static char data_dir[64];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int dial(void)
{
    struct sockaddr_in a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sends req, reads one response with Content-Length into buf (cap bytes);
 * returns the status or -1; *ret_body (if not NULL) points at the body. */
static int roundtrip_body(int fd, const char *req, size_t len, char *buf,
                          size_t cap, char **ret_body)
{
    size_t got = 0;
    long clen = -1;
    char *body = NULL;

    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, req + off, len - off);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (body == NULL && (body = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "Content-Length:");
            body += 4;
            clen = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (body && (long)(got - (size_t)(body - buf)) >= clen)
            break;
        if (got >= cap - 1)
            return -1;
    }
    if (ret_body)
        *ret_body = body;
    return atoi(buf + 9);
}

static int roundtrip(int fd, const char *req, size_t len)
{
    char buf[16384];
    return roundtrip_body(fd, req, len, buf, sizeof buf, NULL);
}

enum op { OP_HEALTH, OP_CREATE, OP_GET };

struct worker {
    int id;
    enum op op;
    int64_t deadline;
    int64_t *lat; /* ns */
    size_t nlat, cap;
    long errors;
};

static atomic_long name_seq;   /* requests issued */
static atomic_long create_seq; /* ConfigMaps created b0..bN-1 */

/* Builds the next request of w's kind into req; returns its length and
 * the status that answers it in *want. */
static int next_request(struct worker *w, char *req, size_t cap, int *want)
{
    long k = atomic_fetch_add(&name_seq, 1);

    if (w->op == OP_HEALTH) {
        *want = 200;
        return snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n");
    }
    if (w->op == OP_CREATE) {
        char body[256];
        int bl;
        k = atomic_fetch_add(&create_seq, 1);
        bl = snprintf(body, sizeof body,
                      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                      "\"metadata\":{\"name\":\"b%ld\"},\"data\":"
                      "{\"k\":\"v\"}}",
                      k);
        *want = 201;
        return snprintf(req, cap,
                        "POST /api/v1/namespaces/default/configmaps "
                        "HTTP/1.1\r\nHost: b\r\nContent-Type: "
                        "application/json\r\nContent-Length: %d\r\n\r\n%s",
                        bl, body);
    }
    *want = 200;
    return snprintf(
        req, cap,
        "GET /api/v1/namespaces/default/configmaps/b%ld "
        "HTTP/1.1\r\nHost: b\r\n\r\n",
        k % (atomic_load(&create_seq) > 0 ? atomic_load(&create_seq) : 1));
}

/* One client: a keep-alive connection with one request outstanding. */
struct conn {
    struct worker *w;
    int fd, want;
    int64_t t0;
    size_t got;
    char buf[16384];
};

static int conn_send(struct conn *c)
{
    char req[1024];
    int len = next_request(c->w, req, sizeof req, &c->want);

    c->got = 0;
    c->t0 = now_ns();
    for (int off = 0; off < len;) {
        ssize_t n = write(c->fd, req + off, (size_t)(len - off));
        if (n <= 0)
            return -1;
        off += (int)n;
    }
    return 0;
}

/* Reads what is there; returns the status once a whole answer is in, 0 if
 * not yet, -1 on error. */
static int conn_read(struct conn *c)
{
    ssize_t n = read(c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got);
    char *body, *cl;

    if (n <= 0)
        return -1;
    c->got += (size_t)n;
    c->buf[c->got] = '\0';
    if ((body = strstr(c->buf, "\r\n\r\n")) == NULL)
        return c->got >= sizeof c->buf - 1 ? -1 : 0;
    cl = strcasestr(c->buf, "Content-Length:");
    body += 4;
    if ((long)(c->got - (size_t)(body - c->buf)) <
        (cl ? strtol(cl + 15, NULL, 10) : 0))
        return c->got >= sizeof c->buf - 1 ? -1 : 0;
    return atoi(c->buf + 9);
}

/* The load generator: `clients` connections driven by one thread with
 * epoll, each sending its next request as soon as the last is answered
 * (closed loop), until the deadline. One thread rather than one per
 * client, so that on this 2-core machine the generator's own scheduling
 * takes as little as possible from the server being measured. */
static void drive(struct worker *w, int clients)
{
    struct conn *cs = calloc((size_t)clients, sizeof *cs);
    int ep = epoll_create1(EPOLL_CLOEXEC), active = 0;

    for (int i = 0; i < clients; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        cs[i].w = &w[i];
        cs[i].fd = dial();
        if (cs[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) != 0 ||
            conn_send(&cs[i]) != 0) {
            w[i].errors++;
            if (cs[i].fd >= 0)
                close(cs[i].fd);
            cs[i].fd = -1;
            continue;
        }
        active++;
    }
    while (active > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            struct worker *cw = c->w;
            int st = conn_read(c);
            if (st == 0)
                continue;
            if (st > 0) {
                int64_t t = now_ns();
                if (st != c->want) {
                    cw->errors++;
                } else {
                    if (cw->nlat == cw->cap) {
                        cw->cap = cw->cap ? cw->cap * 2 : 4096;
                        cw->lat = realloc(cw->lat, cw->cap * sizeof *cw->lat);
                    }
                    cw->lat[cw->nlat++] = t - c->t0;
                }
                if (t < cw->deadline && conn_send(c) == 0)
                    continue;
            } else {
                cw->errors++;
            }
            close(c->fd);
            c->fd = -1;
            active--;
        }
    }
    close(ep);
    free(cs);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double run_phase(enum op op, int clients, double secs, const char *label)
{
    struct worker w[64];
    int64_t *all;
    size_t n = 0;
    long errors = 0;
    int64_t t0 = now_ns();

    memset(w, 0, sizeof w);
    for (int i = 0; i < clients; i++) {
        w[i].id = i;
        w[i].op = op;
        w[i].deadline = t0 + (int64_t)(secs * 1e9);
    }
    drive(w, clients);
    for (int i = 0; i < clients; i++) {
        n += w[i].nlat;
        errors += w[i].errors;
    }
    double el = (double)(now_ns() - t0) / 1e9;
    all = malloc((n ? n : 1) * sizeof *all);
    n = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + n, w[i].lat, w[i].nlat * sizeof *all);
        n += w[i].nlat;
        free(w[i].lat);
    }
    qsort(all, n, sizeof *all, cmp64);
    double rate = (double)n / el;
    printf("%-8s clients=%-3d %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  "
           "(n=%zu, errors=%ld)\n",
           label, clients, rate, n ? (double)all[n / 2] / 1e6 : 0.0,
           n ? (double)all[(size_t)((double)n * 0.99)] / 1e6 : 0.0, n, errors);
    free(all);
    fflush(stdout);
    return rate;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static int start_server(void)
{
    const char *bin = getenv("K1S_BIN");
    char kc[128], line[256];
    int64_t deadline;

    if (bin == NULL)
        bin = "build/release/k1s";
    snprintf(data_dir, sizeof data_dir, "/tmp/k1s-bench-api.XXXXXX");
    if (mkdtemp(data_dir) == NULL)
        return -1;
    server_pid = fork();
    if (server_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(bin, bin, "server", "--data-dir", data_dir, "--port", "0",
              "--disable-agent", "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    snprintf(kc, sizeof kc, "%s/kubeconfig.yaml", data_dir);
    deadline = now_ns() + 20000000000ll;
    while (now_ns() < deadline) {
        FILE *f = fopen(kc, "r");
        if (f) {
            while (fgets(line, sizeof line, f)) {
                char *p = strstr(line, "server: http://127.0.0.1:");
                if (p)
                    port = atoi(p + strlen("server: http://127.0.0.1:"));
            }
            fclose(f);
            if (port > 0)
                return 0;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void stop_server(void)
{
    char cmd[128];
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", data_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", data_dir);
}

/* --- watch fan-out ----------------------------------------------------- */

/* GETs the list at path on fd; copies its metadata.resourceVersion to rv. */
static int list_rv(int fd, const char *path, char *rv, size_t rvlen)
{
    static char buf[1 << 20];
    char req[256], *body, *p;
    int len =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: b\r\n\r\n", path);

    if (roundtrip_body(fd, req, (size_t)len, buf, sizeof buf, &body) != 200)
        return -1;
    p = strstr(body, "\"resourceVersion\":\"");
    if (p == NULL)
        return -1;
    p += strlen("\"resourceVersion\":\"");
    len = (int)strcspn(p, "\"");
    if ((size_t)len >= rvlen)
        return -1;
    memcpy(rv, p, (size_t)len);
    rv[len] = '\0';
    return 0;
}

static void fanout(int nwatch, int rounds)
{
    int *fds = calloc((size_t)nwatch, sizeof *fds);
    int ep = epoll_create1(0), ok = 0;
    int64_t *lat = calloc((size_t)rounds, sizeof *lat);
    char req[256], buf[65536], rv[32] = "0";
    int ctl = dial();

    /* Watchers start where a list left them, as informers and kubectl get
     * -w do: the measure is delivery of a new change, not a replay of the
     * history window (from resourceVersion=1 each of the 1,000 would first
     * scan every retained revision). */
    if (list_rv(ctl, "/api/v1/namespaces/kube-public/configmaps", rv,
                sizeof rv) != 0) {
        printf("fanout: cannot list configmaps\n");
        goto out;
    }
    for (int i = 0; i < nwatch; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        int len = snprintf(req, sizeof req,
                           "GET /api/v1/namespaces/kube-public/configmaps?"
                           "watch=true&resourceVersion=%s HTTP/1.1\r\n"
                           "Host: b\r\n\r\n",
                           rv);
        fds[i] = dial();
        if (fds[i] < 0 || write(fds[i], req, (size_t)len) != len) {
            printf("fanout: watcher %d could not connect\n", i);
            goto out;
        }
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    /* drain the response heads */
    {
        int heads = 0;
        int64_t deadline = now_ns() + 30000000000ll;
        while (heads < nwatch && now_ns() < deadline) {
            struct epoll_event evs[256];
            int n = epoll_wait(ep, evs, 256, 1000);
            for (int i = 0; i < n; i++) {
                if (read(fds[evs[i].data.u32], buf, sizeof buf) > 0)
                    heads++;
            }
        }
    }
    for (int r = 0; r < rounds; r++) {
        char body[256];
        int bl = snprintf(body, sizeof body,
                          "{\"metadata\":{\"name\":\"fan%d\"}}", r);
        int len = snprintf(req, sizeof req,
                           "POST /api/v1/namespaces/kube-public/configmaps "
                           "HTTP/1.1\r\nHost: b\r\nContent-Type: "
                           "application/json\r\nContent-Length: %d\r\n\r\n%s",
                           bl, body);
        char *seen = calloc((size_t)nwatch, 1);
        int got = 0;
        int64_t t0 = now_ns(), deadline = t0 + 30000000000ll;
        if (roundtrip(ctl, req, (size_t)len) != 201) {
            printf("fanout: create failed\n");
            free(seen);
            goto out;
        }
        while (got < nwatch && now_ns() < deadline) {
            struct epoll_event evs[256];
            int n = epoll_wait(ep, evs, 256, 1000);
            for (int i = 0; i < n; i++) {
                uint32_t id = evs[i].data.u32;
                if (read(fds[id], buf, sizeof buf) > 0 && !seen[id]) {
                    seen[id] = 1;
                    got++;
                }
            }
        }
        lat[r] = now_ns() - t0;
        free(seen);
        if (got < nwatch) {
            printf("fanout: only %d of %d watchers got change %d\n", got,
                   nwatch, r);
            goto out;
        }
    }
    ok = 1;
    qsort(lat, (size_t)rounds, sizeof *lat, cmp64);
    printf("fanout   watchers=%d  create+deliver to all: p50 %.2f ms  p99 "
           "%.2f ms  max %.2f ms  (%d changes)\n",
           nwatch, (double)lat[rounds / 2] / 1e6,
           (double)lat[(int)(rounds * 0.99)] / 1e6,
           (double)lat[rounds - 1] / 1e6, rounds);
out:
    if (!ok)
        printf("fanout: FAILED\n");
    for (int i = 0; i < nwatch; i++)
        if (fds[i] > 0)
            close(fds[i]);
    close(ctl);
    close(ep);
    free(fds);
    free(lat);
}

/* --- RSS with many objects --------------------------------------------- */

static void *fill_main(void *arg)
{
    long *range = arg;
    int fd = dial();
    char req[512], body[256];
    for (long i = range[0]; i < range[1] && fd >= 0; i++) {
        int bl = snprintf(body, sizeof body,
                          "{\"metadata\":{\"name\":\"rss%ld\",\"labels\":"
                          "{\"app\":\"bench\"}},\"data\":{\"key\":"
                          "\"value-%ld\"}}",
                          i, i);
        int len = snprintf(req, sizeof req,
                           "POST /api/v1/namespaces/kube-node-lease/"
                           "configmaps HTTP/1.1\r\nHost: b\r\nContent-Type: "
                           "application/json\r\nContent-Length: %d\r\n\r\n%s",
                           bl, body);
        if (roundtrip(fd, req, (size_t)len) != 201)
            range[2]++;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void rss_with_objects(long n)
{
    pthread_t th[16];
    long ranges[16][3];
    long before = rss_kb(server_pid), errors = 0;

    for (int i = 0; i < 16; i++) {
        ranges[i][0] = n * i / 16;
        ranges[i][1] = n * (i + 1) / 16;
        ranges[i][2] = 0;
        pthread_create(&th[i], NULL, fill_main, ranges[i]);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        errors += ranges[i][2];
    }
    /* one full list, as a client would do, then measure */
    int fd = dial();
    char req[] = "GET /api/v1/namespaces/kube-node-lease/configmaps?limit=1 "
                 "HTTP/1.1\r\nHost: b\r\n\r\n";
    roundtrip(fd, req, sizeof req - 1);
    close(fd);
    printf("rss      server VmRSS %.1f MB with %ld ConfigMaps (%.1f MB "
           "before; %ld create errors)\n",
           (double)rss_kb(server_pid) / 1024.0, n, (double)before / 1024.0,
           errors);
}

int main(void)
{
    double secs = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 3;
    static const int clients[] = {1, 16, 64};
    struct rlimit rl = {8192, 8192};

    setrlimit(RLIMIT_NOFILE, &rl);
    signal(SIGPIPE, SIG_IGN);
    if (start_server() != 0) {
        printf("bench_api: cannot start k1s ($K1S_BIN)\n");
        stop_server();
        return 1;
    }
    printf("k1s server pid %d port %d; each phase %.0f s\n", (int)server_pid,
           port, secs);
    rss_with_objects(10000);
    for (size_t i = 0; i < 3; i++) {
        /* BENCH_CLIENTS=N runs only the phases with N clients (profiling) */
        if (getenv("BENCH_CLIENTS") &&
            atoi(getenv("BENCH_CLIENTS")) != clients[i])
            continue;
        double h = run_phase(OP_HEALTH, clients[i], secs, "healthz");
        double c = run_phase(OP_CREATE, clients[i], secs, "create");
        double g = run_phase(OP_GET, clients[i], secs, "get");
        printf("ratio    clients=%-3d create/healthz %.3f  get/healthz "
               "%.3f\n",
               clients[i], c / h, g / h);
    }
    fanout(1000, 20);
    stop_server();
    return 0;
}
