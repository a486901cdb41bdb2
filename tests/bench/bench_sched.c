/*
 * Scheduler throughput: 1,000 nodes, 10,000 pending pods of 10 ReplicaSets,
 * the real scheduler thread (informers, queue, filters, scores, assume,
 * bind) over an in-memory API that answers lists and counts bindings. It
 * measures the scheduler itself, not the API server or the store.
 *
 * Prints pods bound per second, and as a same-run reference the cost of
 * one pass of the filters over all nodes for one pod without the
 * percentageOfNodesToScore cut-off (what a naive scheduler would pay).
 *
 *   make bench   (or build/release/tests/bench/bench_sched [nodes pods])
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "controllers/controllers.h"
#include "lib/clock.h"
#include "scheduler/sched_int.h"
#include "scheduler/scheduler.h"

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    json_t *nodes, *pods;
    long binds, want;
};

static int fake_call(void *ctx, const char *method, const char *path,
                     const char *ct, const json_t *body, json_t **ret)
{
    struct fake *f = ctx;
    (void)ct;
    (void)body;
    *ret = NULL;
    if (strcmp(method, "GET") == 0) {
        bool nodes = strncmp(path, "/api/v1/nodes", 13) == 0;
        *ret = json_pack("{s:s,s:s,s:{s:s},s:O}", "kind",
                         nodes ? "NodeList" : "PodList", "apiVersion", "v1",
                         "metadata", "resourceVersion", "1", "items",
                         nodes ? f->nodes : f->pods);
        return 200;
    }
    if (strcmp(method, "POST") == 0 && strstr(path, "/binding")) {
        pthread_mutex_lock(&f->mu);
        if (++f->binds >= f->want)
            pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->mu);
        return 201;
    }
    return 201;
}

static int fake_watch(void *ctx, const char *path, ctrl_watch_cb cb, void *arg,
                      void **ret)
{
    (void)ctx;
    (void)path;
    (void)cb;
    (void)arg;
    *ret = NULL;
    return 0;
}

static void fake_stop(void *w)
{
    (void)w;
}

int main(int argc, char **argv)
{
    long nnodes = argc > 1 ? atol(argv[1]) : 1000;
    long npods = argc > 2 ? atol(argv[2]) : 10000;
    struct fake f;
    struct ctrl_api api = {fake_call, fake_watch, fake_stop, &f};
    struct sched *s;
    int64_t t0, t1, r0, r1;
    struct sched_node *nodes;
    struct sched_res req;
    struct sched_fail fail;
    json_t *probe;

    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cond, NULL);
    f.nodes = json_array();
    f.pods = json_array();
    f.want = npods;
    for (long i = 0; i < nnodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "node-%05ld", i);
        json_array_append_new(
            f.nodes,
            json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{},s:{s:{s:s,s:s,s:s},"
                      "s:[{s:s,s:s}]}}",
                      "kind", "Node", "apiVersion", "v1", "metadata", "name",
                      name, "labels", "kubernetes.io/hostname", name,
                      "topology.kubernetes.io/zone", i % 3 ? "a" : "b", "spec",
                      "status", "allocatable", "cpu", "32", "memory", "64Gi",
                      "pods", "110", "conditions", "type", "Ready", "status",
                      "True"));
    }
    for (long i = 0; i < npods; i++) {
        char name[32], uid[32];
        snprintf(name, sizeof name, "web-%ld", i);
        snprintf(uid, sizeof uid, "rs-%ld", i % 10);
        json_array_append_new(
            f.pods,
            json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s},s:[{s:s,s:s,s:s,s:b}]},"
                      "s:{s:[{s:s,s:s,s:{s:{s:s,s:s}}}]}}",
                      "kind", "Pod", "apiVersion", "v1", "metadata", "name",
                      name, "namespace", "default", "labels", "app", "web",
                      "ownerReferences", "kind", "ReplicaSet", "name", uid,
                      "uid", uid, "controller", 1, "spec", "containers", "name",
                      "c", "image", "x", "resources", "requests", "cpu", "100m",
                      "memory", "128Mi"));
    }

    /* reference: one full filter pass over every node for one pod */
    nodes = calloc((size_t)nnodes, sizeof *nodes);
    for (long i = 0; i < nnodes; i++)
        sched_node_init(&nodes[i], json_array_get(f.nodes, (size_t)i));
    probe = json_array_get(f.pods, 0);
    sched_pod_requests(probe, false, &req);
    r0 = clock_mono_ns();
    for (int rep = 0; rep < 20; rep++)
        for (long i = 0; i < nnodes; i++)
            sched_filter(probe, &req, &nodes[i], &fail);
    r1 = clock_mono_ns();
    for (long i = 0; i < nnodes; i++)
        sched_node_close(&nodes[i]);
    free(nodes);

    t0 = clock_mono_ns();
    if (sched_start(&api, &s) != 0) {
        fprintf(stderr, "bench_sched: cannot start\n");
        return 1;
    }
    pthread_mutex_lock(&f.mu);
    while (f.binds < f.want) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&f.cond, &f.mu, &ts);
        if (clock_mono_ns() - t0 > 600 * 1000000000LL)
            break;
    }
    pthread_mutex_unlock(&f.mu);
    t1 = clock_mono_ns();
    sched_stop(s);
    printf("bench_sched: %ld nodes, %ld/%ld pods bound in %.2f s: %.0f "
           "pods/s\n",
           nnodes, f.binds, npods, (double)(t1 - t0) / 1e9,
           (double)f.binds / ((double)(t1 - t0) / 1e9));
    printf("bench_sched: reference, full filter pass over %ld nodes: %.3f "
           "ms per pod (%.0f pods/s if every node were filtered)\n",
           nnodes, (double)(r1 - r0) / 20 / 1e6,
           1e9 / ((double)(r1 - r0) / 20));
    json_decref(f.nodes);
    json_decref(f.pods);
    return f.binds == f.want ? 0 : 1;
}
