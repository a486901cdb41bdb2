/*
 * bench_store — durable write throughput and latency of the store at 1, 16
 * and 64 concurrent writers, and watch delivery latency (commit → the
 * watcher holding the event), with a reference measured in the same run on
 * the same disk: a loop of write(256 B) + fdatasync, i.e. what one fsync
 * costs. writes/s ÷ fsyncs/s of the reference shows group commit at work;
 * "per fsync" is the measured number of writes sharing one log append.
 *
 *   build/release/tests/bench/bench_store [SECONDS per run, default 3]
 *   K1S_BENCH_DIR=dir (default /tmp; the disk under test)
 *   K1S_BENCH_REPEATS=n (default 3): each writer count runs n times; the
 *   run with the median writes/s is shown, with the lowest and highest.
 *
 * Never a test: numbers on a shared machine are noisy.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/store.h"
#include "store/store_int.h"

#define VALUE_LEN 256
#define MAX_SAMPLES 4000000

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)(p * (double)(n - 1));
    return (double)v[i] / 1000.0; /* µs */
}

static void rm_store(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* --- reference: raw write + fdatasync ---------------------------------- */

static void reference(const char *base, double secs, double *ret_rate,
                      double *ret_p50, double *ret_p99)
{
    char path[512], buf[VALUE_LEN];
    int64_t *lat = malloc(sizeof *lat * 200000);
    size_t n = 0;
    int64_t end, t0;
    int fd;

    snprintf(path, sizeof path, "%s/k1s-bench-ref.XXXXXX", base);
    fd = mkstemp(path);
    if (fd < 0 || lat == NULL) {
        perror("reference");
        exit(1);
    }
    memset(buf, 'r', sizeof buf);
    t0 = clock_mono_ns();
    end = t0 + (int64_t)(secs * 1e9);
    while (clock_mono_ns() < end && n < 200000) {
        int64_t a = clock_mono_ns();
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf ||
            fdatasync(fd) != 0) {
            perror("write/fdatasync");
            exit(1);
        }
        lat[n++] = clock_mono_ns() - a;
    }
    *ret_rate = (double)n / ((double)(clock_mono_ns() - t0) / 1e9);
    *ret_p50 = pct(lat, n, 0.50);
    *ret_p99 = pct(lat, n, 0.99);
    close(fd);
    unlink(path);
    free(lat);
}

/* --- writers ----------------------------------------------------------- */

struct writer {
    struct store *s;
    int id;
    int64_t end;
    int64_t *lat;
    size_t n, cap;
    int errors;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char key[64], val[VALUE_LEN];
    int64_t mod[64] = {0};

    memset(val, 'v', sizeof val);
    for (uint64_t i = 0; clock_mono_ns() < w->end; i++) {
        int k = (int)(i % 64);
        int64_t a = clock_mono_ns(), rev = 0;
        int rv;

        snprintf(key, sizeof key, "/bench/w%d/k%d", w->id, k);
        if (mod[k] == 0)
            rv = store_create(w->s, key, val, sizeof val, &rev);
        else
            rv = store_update(w->s, key, val, sizeof val, mod[k], &rev);
        if (rv != 0) {
            w->errors++;
            continue;
        }
        mod[k] = rev;
        if (w->n < w->cap)
            w->lat[w->n++] = clock_mono_ns() - a;
    }
    return NULL;
}

struct result {
    double rate, p50, p99, per_fsync;
    int errors;
};

static struct store *open_fresh(const char *base, char *dir, size_t len)
{
    struct store_config cfg = {0};
    struct store *s;
    char err[512];

    snprintf(dir, len, "%s/k1s-bench.XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    cfg.dir = dir;
    if (store_open(&cfg, &s, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return s;
}

static struct result run_writers(const char *base, int nw, double secs)
{
    struct writer *w = calloc((size_t)nw, sizeof *w);
    pthread_t *th = calloc((size_t)nw, sizeof *th);
    struct result r = {0};
    char dir[512];
    struct store *s = open_fresh(base, dir, sizeof dir);
    int64_t t0, *all;
    size_t total = 0, k = 0;
    uint64_t a0, e0, a1, e1;

    store_stats(s, &a0, &e0);
    t0 = clock_mono_ns();
    for (int i = 0; i < nw; i++) {
        w[i].s = s;
        w[i].id = i;
        w[i].end = t0 + (int64_t)(secs * 1e9);
        w[i].cap = MAX_SAMPLES / (size_t)nw;
        w[i].lat = malloc(sizeof(int64_t) * w[i].cap);
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < nw; i++) {
        pthread_join(th[i], NULL);
        total += w[i].n;
        r.errors += w[i].errors;
    }
    r.rate = (double)total / ((double)(clock_mono_ns() - t0) / 1e9);
    store_stats(s, &a1, &e1);
    r.per_fsync = a1 > a0 ? (double)(e1 - e0) / (double)(a1 - a0) : 0;
    all = malloc(sizeof *all * (total ? total : 1));
    for (int i = 0; i < nw; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
    }
    r.p50 = pct(all, total, 0.50);
    r.p99 = pct(all, total, 0.99);
    free(all);
    free(w);
    free(th);
    store_close(s);
    rm_store(dir);
    return r;
}

/* --- watch latency ----------------------------------------------------- */

struct watcher {
    struct store_watch *w;
    atomic_bool stop;
    int64_t *lat;
    size_t n, cap;
};

static void *watcher_main(void *arg)
{
    struct watcher *wa = arg;
    struct store_event ev[256];
    int64_t ts[256];

    while (!atomic_load(&wa->stop)) {
        int n;
        if (store_watch_wait(wa->w, 100) != 0)
            continue;
        n = store_watch_poll_ts(wa->w, ev, ts, 256);
        if (n < 0)
            break;
        int64_t now = clock_mono_ns();
        for (int i = 0; i < n; i++) {
            if (ts[i] > 0 && wa->n < wa->cap)
                wa->lat[wa->n++] = now - ts[i];
            store_event_clear(&ev[i]);
        }
    }
    return NULL;
}

static void run_watch(const char *base, int nw, double secs, double *p50,
                      double *p99, size_t *ret_n)
{
    char dir[512];
    struct store *s = open_fresh(base, dir, sizeof dir);
    struct watcher wa = {.cap = MAX_SAMPLES};
    struct writer *w = calloc((size_t)nw, sizeof *w);
    pthread_t *th = calloc((size_t)nw, sizeof *th), wt;
    int64_t t0;

    wa.lat = malloc(sizeof(int64_t) * wa.cap);
    atomic_init(&wa.stop, false);
    if (store_watch(s, "/bench/", 0, NULL, NULL, &wa.w) != 0) {
        fprintf(stderr, "watch failed\n");
        exit(1);
    }
    pthread_create(&wt, NULL, watcher_main, &wa);
    t0 = clock_mono_ns();
    for (int i = 0; i < nw; i++) {
        w[i].s = s;
        w[i].id = i;
        w[i].end = t0 + (int64_t)(secs * 1e9);
        w[i].cap = 1;
        w[i].lat = malloc(sizeof(int64_t));
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < nw; i++) {
        pthread_join(th[i], NULL);
        free(w[i].lat);
    }
    atomic_store(&wa.stop, true);
    pthread_join(wt, NULL);
    *ret_n = wa.n;
    *p50 = pct(wa.lat, wa.n, 0.50);
    *p99 = pct(wa.lat, wa.n, 0.99);
    store_watch_cancel(wa.w);
    free(wa.lat);
    free(w);
    free(th);
    store_close(s);
    rm_store(dir);
}

int main(int argc, char **argv)
{
    const char *base = getenv("K1S_BENCH_DIR");
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    const char *rep = getenv("K1S_BENCH_REPEATS");
    int repeats = rep ? atoi(rep) : 3;
    double ref_rate, ref_p50, ref_p99;
    int writers[] = {1, 16, 64};

    if (base == NULL)
        base = "/tmp";
    if (secs <= 0)
        secs = 3.0;
    if (repeats < 1 || repeats > 16)
        repeats = 3;
    log_set_level(LOG_LEVEL_WARN);
    printf("# bench_store: %s %.1f (K1S_BENCH_DIR=%s), %ld cores, "
           "value %d B, %.1f s per run\n",
           argv[0], secs, base, sysconf(_SC_NPROCESSORS_ONLN), VALUE_LEN, secs);
    reference(base, secs, &ref_rate, &ref_p50, &ref_p99);
    printf("\n| what | writes/s median (min–max of %d) | p50 µs | p99 µs | "
           "writes per fsync | × reference |\n",
           repeats);
    printf("|---|---:|---:|---:|---:|---:|\n");
    printf("| reference: write(256 B) + fdatasync (fsyncs/s) | %.0f | %.0f | "
           "%.0f | 1 | 1.0 |\n",
           ref_rate, ref_p50, ref_p99);
    fflush(stdout);
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        struct result rs[16], r;
        int order[16];
        for (int k = 0; k < repeats; k++) {
            rs[k] = run_writers(base, writers[i], secs);
            order[k] = k;
        }
        /* sort run indexes by rate; show the median run */
        for (int a = 0; a < repeats; a++)
            for (int b = a + 1; b < repeats; b++)
                if (rs[order[b]].rate < rs[order[a]].rate) {
                    int t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
        r = rs[order[repeats / 2]];
        printf("| store, %d writer%s | %.0f (%.0f–%.0f) | %.0f | %.0f | "
               "%.1f | %.1f |%s\n",
               writers[i], writers[i] > 1 ? "s" : "", r.rate, rs[order[0]].rate,
               rs[order[repeats - 1]].rate, r.p50, r.p99, r.per_fsync,
               r.rate / ref_rate, r.errors ? " (errors!)" : "");
        fflush(stdout);
    }
    printf("\n| watch delivery (commit → watcher) | events | p50 µs | "
           "p99 µs |\n");
    printf("|---|---:|---:|---:|\n");
    for (int nw = 1; nw <= 16; nw += 15) {
        double p50, p99;
        size_t n;
        run_watch(base, nw, secs, &p50, &p99, &n);
        printf("| 1 watcher, %d writer%s | %zu | %.0f | %.0f |\n", nw,
               nw > 1 ? "s" : "", n, p50, p99);
        fflush(stdout);
    }
    return 0;
}
