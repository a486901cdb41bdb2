/* Unit tests for the scheduler thread's cache (scheduler/scheduler.c), over
 * a fake in-memory API: the test lists pods and nodes and drives the watch
 * as the API's watch thread would, and sees bindings and status writes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/controllers.h"
#include "lib/clock.h"
#include "scheduler/scheduler.h"

/* --- Fixture: a fake API ------------------------------------------------ */

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    json_t *nodes, *pods;          /* what a LIST returns */
    ctrl_watch_cb node_cb, pod_cb; /* the informers' watch callbacks */
    void *node_arg, *pod_arg;
    char bound_to[64]; /* target of the last binding, "" if none */
    int bindings;
    int insufficient_cpu; /* status writes saying "Insufficient cpu" */
};

struct fixture {
    struct fake f;
    struct ctrl_api api;
    struct sched *s;
};

static int fake_call(void *ctx, const char *method, const char *path,
                     const char *ct, const json_t *body, json_t **ret)
{
    struct fake *f = ctx;
    bool nodes = strncmp(path, "/api/v1/nodes", 13) == 0;
    (void)ct;
    *ret = NULL;
    pthread_mutex_lock(&f->mu);
    if (strcmp(method, "GET") == 0) {
        *ret = json_pack("{s:s,s:s,s:{s:s},s:O}", "kind",
                         nodes ? "NodeList" : "PodList", "apiVersion", "v1",
                         "metadata", "resourceVersion", "1", "items",
                         nodes ? f->nodes : f->pods);
        pthread_mutex_unlock(&f->mu);
        return 200;
    }
    if (strcmp(method, "POST") == 0 && strstr(path, "/binding")) {
        snprintf(f->bound_to, sizeof f->bound_to, "%s",
                 json_string_value(
                     json_object_get(json_object_get(body, "target"), "name")));
        f->bindings++;
        pthread_cond_broadcast(&f->cond);
    } else if (strcmp(method, "PUT") == 0 && strstr(path, "/status")) {
        char *dump = json_dumps(body, 0);
        if (dump && strstr(dump, "Insufficient cpu"))
            f->insufficient_cpu++;
        free(dump);
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->mu);
        return 200;
    }
    pthread_mutex_unlock(&f->mu);
    return 201;
}

static int fake_watch_start(void *ctx, const char *path, ctrl_watch_cb cb,
                            void *arg, void **ret)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (strncmp(path, "/api/v1/nodes", 13) == 0) {
        f->node_cb = cb;
        f->node_arg = arg;
    } else {
        f->pod_cb = cb;
        f->pod_arg = arg;
    }
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    *ret = f;
    return 0;
}

static void fake_watch_stop(void *w)
{
    (void)w;
}

static json_t *node_json(const char *name)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{},s:{s:{s:s,s:s,s:s},"
                     "s:[{s:s,s:s}]}}",
                     "kind", "Node", "apiVersion", "v1", "metadata", "name",
                     name, "resourceVersion", "2", "spec", "status",
                     "allocatable", "cpu", "1", "memory", "1Gi", "pods", "110",
                     "conditions", "type", "Ready", "status", "True");
}

static json_t *pod_json(const char *name, const char *cpu, const char *node)
{
    json_t *p = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:s},s:{s:[{s:s,s:s,s:{s:{s:s}}}]},s:{s:s}}",
        "kind", "Pod", "apiVersion", "v1", "metadata", "name", name,
        "namespace", "default", "resourceVersion", "1", "spec", "containers",
        "name", "c", "image", "x", "resources", "requests", "cpu", cpu,
        "status", "phase", node ? "Running" : "Pending");
    if (node)
        json_object_set_new(json_object_get(p, "spec"), "nodeName",
                            json_string(node));
    return p;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    pthread_mutex_init(&fx->f.mu, NULL);
    pthread_cond_init(&fx->f.cond, NULL);
    fx->f.nodes = json_array();
    fx->f.pods = json_array();
    fx->api.call = fake_call;
    fx->api.watch_start = fake_watch_start;
    fx->api.watch_stop = fake_watch_stop;
    fx->api.ctx = &fx->f;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    sched_stop(fx->s);
    json_decref(fx->f.nodes);
    json_decref(fx->f.pods);
    pthread_mutex_destroy(&fx->f.mu);
    pthread_cond_destroy(&fx->f.cond);
    free(fx);
    return 0;
}

/* --- Helpers ------------------------------------------------------------ */

/* Waits (at most 10 s) until *counter passes `above`; true if it did. */
static bool wait_above(struct fake *f, int *counter, int above)
{
    int64_t deadline = clock_mono_ns() + 10 * 1000000000LL;
    bool ok;
    pthread_mutex_lock(&f->mu);
    while (*counter <= above && clock_mono_ns() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cond, &f->mu, &ts);
    }
    ok = *counter > above;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

/* Waits until both informers watch, then sends a node ADDED event. */
static void add_node(struct fake *f, const char *name)
{
    json_t *n = node_json(name);
    ctrl_watch_cb cb;
    void *arg;
    int64_t deadline = clock_mono_ns() + 10 * 1000000000LL;

    pthread_mutex_lock(&f->mu);
    while ((f->node_cb == NULL || f->pod_cb == NULL) &&
           clock_mono_ns() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec++;
        pthread_cond_timedwait(&f->cond, &f->mu, &ts);
    }
    cb = f->node_cb;
    arg = f->node_arg;
    pthread_mutex_unlock(&f->mu);
    assert_non_null(cb);
    cb("ADDED", n, arg);
    json_decref(n);
}

/* --- Success ------------------------------------------------------------ */

/* A pod already bound to a node the scheduler has not seen yet takes its
 * room on that node as soon as the node appears. */
static void pod_bound_before_its_node_counts_on_it(void **state)
{
    struct fixture *fx = *state;
    json_t *hog = pod_json("hog", "1", "n1");
    json_t *p = pod_json("p", "500m", NULL);

    json_array_append_new(fx->f.pods, hog);
    json_array_append_new(fx->f.pods, p);
    assert_int_equal(sched_start(&fx->api, &fx->s), 0);
    /* n1 appears: hog fills its one CPU, so p does not fit there */
    add_node(&fx->f, "n1");
    assert_true(wait_above(&fx->f, &fx->f.insufficient_cpu, 0));
    pthread_mutex_lock(&fx->f.mu);
    assert_int_equal(fx->f.bindings, 0);
    pthread_mutex_unlock(&fx->f.mu);
    /* n2 has room */
    add_node(&fx->f, "n2");
    assert_true(wait_above(&fx->f, &fx->f.bindings, 0));
    pthread_mutex_lock(&fx->f.mu);
    assert_string_equal(fx->f.bound_to, "n2");
    pthread_mutex_unlock(&fx->f.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pod_bound_before_its_node_counts_on_it,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
