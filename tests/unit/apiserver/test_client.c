/* Unit tests for the API server's request path through the in-process
 * client (apiserver/client.c, objects.c, watch.c, validate.c) over a real
 * store in a temporary directory: create/get/list/update/patch/delete,
 * their Status answers, defaulting and validation, and api_watch_start's
 * callback contract. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "apiserver/apiserver.h"
#include "lib/err.h"
#include "store/store.h"

/* --- Fixture -------------------------------------------------------------- */

struct fixture {
    char dir[64];
    struct store *store;
    struct api_server *srv;
};

static uint64_t fixture_history; /* 0 = the store's default */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct store_config sc = {0};
    struct api_config ac = {0};
    char err[256];

    snprintf(f->dir, sizeof f->dir, "/tmp/k1s-test-client.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sc.dir = f->dir;
    sc.history_revisions = fixture_history;
    assert_int_equal(store_open(&sc, &f->store, err, sizeof err), 0);
    ac.bind_address = "127.0.0.1";
    ac.port = 0;
    ac.store = f->store;
    assert_int_equal(api_server_create(&ac, &f->srv, err, sizeof err), 0);
    assert_int_equal(api_server_start(f->srv, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    api_server_destroy(f->srv);
    store_close(f->store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

/* --- Helpers ------------------------------------------------------------ */

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (v == NULL)
        fail_msg("bad test JSON %s: %s", s, e.text);
    return v;
}

static int call(struct fixture *f, const char *method, const char *path,
                const char *ctype, const char *body, json_t **ret)
{
    json_t *b = body ? J(body) : NULL;
    int code = api_call(f->srv, method, path, ctype, b, ret);
    json_decref(b);
    return code;
}

static const char *sget(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

#define CMS "/api/v1/namespaces/default/configmaps"
#define DEPS "/apis/apps/v1/namespaces/default/deployments"
#define DEP(name, replicas)                                                    \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"        \
    "{\"name\":\"" name "\"},\"spec\":{\"replicas\":" #replicas                \
    ",\"selector\":{\"matchLabels\":{\"app\":\"" name "\"}},\"template\":"     \
    "{\"metadata\":{\"labels\":{\"app\":\"" name "\"}},\"spec\":"              \
    "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}"

struct collected {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char types[64][16];
    char names[64][64];
    int n;
    int ended;
};

static void collect_cb(const char *type, const json_t *obj, void *arg)
{
    struct collected *c = arg;
    pthread_mutex_lock(&c->mu);
    if (type == NULL)
        c->ended++;
    else if (c->n < 64) {
        snprintf(c->types[c->n], sizeof c->types[0], "%s", type);
        snprintf(c->names[c->n], sizeof c->names[0], "%s",
                 sget(obj, "metadata", "name") ? sget(obj, "metadata", "name")
                                               : "");
        c->n++;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* How many end calls c has had (read under its lock: the watch's thread
 * writes it). */
static int ended_count(struct collected *c)
{
    int n;
    pthread_mutex_lock(&c->mu);
    n = c->ended;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Waits (bounded) until c has n events; returns how many it has. */
static int wait_events(struct collected *c, int n, int timeout_ms)
{
    struct timespec ts;
    int got;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000l;
    if (ts.tv_nsec >= 1000000000l) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000l;
    }
    pthread_mutex_lock(&c->mu);
    while (c->n < n && !(n > 1 && c->ended)) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
            break;
    }
    got = c->n;
    pthread_mutex_unlock(&c->mu);
    return got;
}

/* --- Success ------------------------------------------------------------ */

/* NamespaceLifecycle through the namespace cache: a create sees each state
 * the namespace passes through (active, terminating, gone, re-created),
 * also right after the create before it had filled the cache. No
 * controllers run here, so the namespace waits for its finalize call. */
static void test_namespace_lifecycle(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;
#define LCM "/api/v1/namespaces/life/configmaps"
#define NSBODY "{\"metadata\":{\"name\":\"life\"}}"

    assert_int_equal(call(f, "POST", "/api/v1/namespaces", NULL, NSBODY, &o),
                     201);
    json_decref(o);
    assert_int_equal(
        call(f, "POST", LCM, NULL, "{\"metadata\":{\"name\":\"a\"}}", &o), 201);
    json_decref(o);
    assert_int_equal(
        call(f, "DELETE", "/api/v1/namespaces/life", NULL, NULL, &o), 200);
    assert_string_equal(sget(o, "status", "phase"), "Terminating");
    json_decref(o);
    /* content stays until the namespace controller removes it */
    assert_int_equal(call(f, "GET", LCM "/a", NULL, NULL, &o), 200);
    json_decref(o);
    assert_int_equal(
        call(f, "POST", LCM, NULL, "{\"metadata\":{\"name\":\"b\"}}", &o), 403);
    assert_string_equal(sget(o, "reason", NULL), "Forbidden");
    assert_string_equal(sget(o, "message", NULL),
                        "configmaps \"b\" is forbidden: unable to create new "
                        "content in namespace life because it is being "
                        "terminated");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_object_get(o, "details"), "causes"), 0),
            "reason")),
        "NamespaceTerminating");
    json_decref(o);
    /* finalize keeps everything but spec.finalizers from its body */
    assert_int_equal(
        call(f, "PUT", "/api/v1/namespaces/life/finalize", NULL,
             "{\"metadata\":{\"name\":\"life\",\"labels\":{\"x\":\"y\"}},"
             "\"spec\":{\"finalizers\":[\"kubernetes\",\"example.com/x\"]}}",
             &o),
        200);
    assert_null(json_object_get(
        json_object_get(json_object_get(o, "metadata"), "labels"), "x"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "spec"),
                                                     "finalizers")),
                     2);
    json_decref(o);
    /* what is not a Namespace with string finalizers changes nothing */
    static const char *const bad[] = {"[]", "{\"spec\":5}",
                                      "{\"spec\":{\"finalizers\":\"x\"}}",
                                      "{\"spec\":{\"finalizers\":[1]}}",
                                      "{\"spec\":{\"finalizers\":[\"\"]}}"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(call(f, "PUT", "/api/v1/namespaces/life/finalize",
                              NULL, bad[k], &o),
                         400);
        json_decref(o);
    }
    assert_int_equal(call(f, "GET", "/api/v1/namespaces/life", NULL, NULL, &o),
                     200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "spec"),
                                                     "finalizers")),
                     2);
    json_decref(o);
    assert_int_equal(call(f, "PUT", "/api/v1/namespaces/life/finalize", NULL,
                          "{\"spec\":{\"finalizers\":[]}}", &o),
                     200);
    json_decref(o);
    assert_int_equal(call(f, "GET", "/api/v1/namespaces/life", NULL, NULL, &o),
                     404);
    json_decref(o);
    assert_int_equal(
        call(f, "POST", LCM, NULL, "{\"metadata\":{\"name\":\"c\"}}", &o), 404);
    assert_string_equal(sget(o, "message", NULL),
                        "namespaces \"life\" not found");
    json_decref(o);
    assert_int_equal(call(f, "POST", "/api/v1/namespaces", NULL, NSBODY, &o),
                     201);
    json_decref(o);
    assert_int_equal(
        call(f, "POST", LCM, NULL, "{\"metadata\":{\"name\":\"d\"}}", &o), 201);
    json_decref(o);
#undef LCM
#undef NSBODY
}

/* Discovery documents reach an in-process caller as JSON objects. */
static void test_discovery_in_process(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(call(f, "GET", "/api/v1", NULL, NULL, &o), 200);
    assert_true(json_is_object(o));
    assert_true(json_array_size(json_object_get(o, "resources")) > 10);
    json_decref(o);
}

static void test_namespaces_bootstrapped(void **state)
{
    struct fixture *f = *state;
    static const char *const ns[] = {"default", "kube-system", "kube-public",
                                     "kube-node-lease"};
    for (size_t i = 0; i < 4; i++) {
        char path[128];
        json_t *o = NULL;
        snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns[i]);
        assert_int_equal(call(f, "GET", path, NULL, NULL, &o), 200);
        assert_string_equal(sget(o, "status", "phase"), "Active");
        json_decref(o);
    }
}

static void test_create_get_defaults(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(call(f, "POST", DEPS, NULL, DEP("d1", 2), &o), 201);
    assert_string_equal(sget(o, "kind", NULL), "Deployment");
    assert_int_equal(strlen(sget(o, "metadata", "uid")), 36);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(o, "metadata"), "generation")),
                     1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(o, "spec"), "strategy"), "type")),
        "RollingUpdate");
    json_decref(o);
    assert_int_equal(call(f, "GET", DEPS "/d1", NULL, NULL, &o), 200);
    assert_string_equal(sget(o, "metadata", "name"), "d1");
    json_decref(o);
}

static void test_list_items_never_null(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(
        call(f, "GET", "/api/v1/namespaces/kube-public/pods", NULL, NULL, &o),
        200);
    assert_true(json_is_array(json_object_get(o, "items")));
    assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
    assert_string_equal(sget(o, "kind", NULL), "PodList");
    assert_non_null(sget(o, "metadata", "resourceVersion"));
    json_decref(o);
}

static void test_update_conflict_and_generation(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL, *o2 = NULL;

    assert_int_equal(call(f, "POST", DEPS, NULL, DEP("d2", 1), &o), 201);
    json_object_set_new(json_object_get(o, "spec"), "replicas",
                        json_integer(3));
    assert_int_equal(api_call(f->srv, "PUT", DEPS "/d2", NULL, o, &o2), 200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(o2, "metadata"), "generation")),
                     2);
    json_decref(o2);
    o2 = NULL;
    /* o still carries the old resourceVersion */
    assert_int_equal(api_call(f->srv, "PUT", DEPS "/d2", NULL, o, &o2), 409);
    assert_string_equal(sget(o2, "reason", NULL), "Conflict");
    json_decref(o2);
    json_decref(o);
}

static void test_patch_types(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(call(f, "POST", DEPS, NULL, DEP("d3", 1), &o), 201);
    json_decref(o);
    assert_int_equal(call(f, "PATCH", DEPS "/d3",
                          "application/merge-patch+json",
                          "{\"spec\":{\"replicas\":4}}", &o),
                     200);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(o, "spec"), "replicas")),
                     4);
    json_decref(o);
    assert_int_equal(call(f, "PATCH", DEPS "/d3/scale",
                          "application/merge-patch+json",
                          "{\"spec\":{\"replicas\":6}}", &o),
                     200);
    assert_string_equal(sget(o, "kind", NULL), "Scale");
    assert_string_equal(sget(o, "status", "selector"), "app=d3");
    json_decref(o);
    /* server-side apply creates */
    assert_int_equal(call(f, "PATCH", CMS "/ssa?fieldManager=t",
                          "application/apply-patch+yaml",
                          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                          "\"metadata\":{\"name\":\"ssa\"},\"data\":{\"a\":"
                          "\"1\"}}",
                          &o),
                     201);
    json_decref(o);
}

static void test_watch_callback_contract(void **state)
{
    struct fixture *f = *state;
    struct collected c;
    struct api_watch *w = NULL;
    json_t *o = NULL;

    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    assert_int_equal(
        call(f, "POST", CMS, NULL, "{\"metadata\":{\"name\":\"w0\"}}", &o),
        201);
    json_decref(o);
    assert_int_equal(api_watch_start(f->srv, CMS, collect_cb, &c, &w), 0);
    assert_int_equal(wait_events(&c, 1, 5000), 1);
    assert_string_equal(c.types[0], "ADDED");
    assert_string_equal(c.names[0], "w0");
    assert_int_equal(
        call(f, "POST", CMS, NULL, "{\"metadata\":{\"name\":\"w1\"}}", &o),
        201);
    json_decref(o);
    assert_int_equal(call(f, "DELETE", CMS "/w1", NULL, NULL, &o), 200);
    json_decref(o);
    assert_int_equal(wait_events(&c, 3, 5000), 3);
    assert_string_equal(c.types[1], "ADDED");
    assert_string_equal(c.types[2], "DELETED");
    assert_string_equal(c.names[2], "w1");
    api_watch_stop(w);
    /* never called after stop returns */
    assert_int_equal(c.ended, 0);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
}

static void test_watch_field_selector(void **state)
{
    struct fixture *f = *state;
    struct collected c;
    struct api_watch *w = NULL;
    json_t *o = NULL;

    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    assert_int_equal(api_watch_start(f->srv,
                                     CMS "?fieldSelector=metadata.name%3Dfs1",
                                     collect_cb, &c, &w),
                     0);
    assert_int_equal(
        call(f, "POST", CMS, NULL, "{\"metadata\":{\"name\":\"fs0\"}}", &o),
        201);
    json_decref(o);
    assert_int_equal(
        call(f, "POST", CMS, NULL, "{\"metadata\":{\"name\":\"fs1\"}}", &o),
        201);
    json_decref(o);
    assert_int_equal(wait_events(&c, 1, 5000), 1);
    assert_string_equal(c.names[0], "fs1");
    api_watch_stop(w);
    assert_int_equal(c.n, 1);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
}

/* --- Failure ------------------------------------------------------------ */

static int setup_short_history(void **state)
{
    fixture_history = 4;
    int rv = setup(state);
    fixture_history = 0;
    return rv;
}

static void test_watch_compacted_is_410(void **state)
{
    struct fixture *f = *state;
    struct collected c;
    struct api_watch *w = NULL;
    json_t *o = NULL;
    char body[128], path[128];

    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    for (int i = 0; i < 40; i++) {
        snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"h%d\"}}", i);
        assert_int_equal(call(f, "POST", CMS, NULL, body, &o), 201);
        json_decref(o);
    }
    /* a list at a compacted revision is 410 Expired */
    assert_int_equal(call(f, "GET",
                          CMS "?resourceVersion=2&resourceVersionMatch=Exact",
                          NULL, NULL, &o),
                     410);
    assert_string_equal(sget(o, "reason", NULL), "Expired");
    json_decref(o);
    /* a watch from it gets one ERROR event with a 410 Status, then ends */
    snprintf(path, sizeof path, "%s?resourceVersion=2", CMS);
    assert_int_equal(api_watch_start(f->srv, path, collect_cb, &c, &w), 0);
    assert_int_equal(wait_events(&c, 1, 5000), 1);
    assert_string_equal(c.types[0], "ERROR");
    /* then the end call (type NULL), exactly once */
    for (int i = 0; i < 50 && ended_count(&c) == 0; i++)
        wait_events(&c, 2, 100);
    assert_int_equal(ended_count(&c), 1);
    api_watch_stop(w);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
}

static void test_not_found_status(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(call(f, "GET", DEPS "/nope", NULL, NULL, &o), 404);
    assert_string_equal(sget(o, "kind", NULL), "Status");
    assert_string_equal(sget(o, "message", NULL),
                        "deployments.apps \"nope\" not found");
    assert_string_equal(sget(o, "details", "kind"), "deployments");
    json_decref(o);
}

static void test_invalid_causes(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(call(f, "POST", "/api/v1/namespaces/default/pods", NULL,
                          "{\"metadata\":{\"name\":\"p\"},\"spec\":"
                          "{\"containers\":[]}}",
                          &o),
                     422);
    assert_string_equal(sget(o, "message", NULL),
                        "Pod \"p\" is invalid: spec.containers: Required "
                        "value");
    assert_string_equal(sget(o, "details", "kind"), "Pod");
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(o, "details"), "causes")),
                     1);
    json_decref(o);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    json_t *o = NULL;

    assert_int_equal(
        call(f, "GET", CMS "?labelSelector=a%20b%20c", NULL, NULL, &o), 400);
    json_decref(o);
    assert_int_equal(
        call(f, "GET", CMS "?fieldSelector=spec.x%3D1", NULL, NULL, &o), 400);
    json_decref(o);
    assert_int_equal(call(f, "POST", "/api/v1/namespaces/ghost/configmaps",
                          NULL, "{\"metadata\":{\"name\":\"x\"}}", &o),
                     404);
    json_decref(o);
    assert_int_equal(call(f, "GET", "/api/v1/nothing", NULL, NULL, &o), 404);
    json_decref(o);
    assert_int_equal(api_watch_start(f->srv, "/api/v1/nothing", collect_cb,
                                     NULL, &(struct api_watch *){NULL}),
                     K1S_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_namespace_lifecycle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_discovery_in_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_namespaces_bootstrapped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_get_defaults, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_items_never_null, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_update_conflict_and_generation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_callback_contract, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watch_field_selector, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_found_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_causes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_compacted_is_410,
                                        setup_short_history, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
