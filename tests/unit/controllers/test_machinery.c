/* Unit tests for the shared machinery: map, work queue, informer (over a
 * fake in-memory API that the test drives as the watch thread). */
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
#include "lib/err.h"

/* --- Fixture: a fake API ------------------------------------------------ */

struct fake {
    pthread_mutex_t mu;
    json_t *items;
    int rv;
    int lists;
    int watch_starts;
    ctrl_watch_cb cb;
    void *arg;
    char watch_path[512];
    /* handler log */
    int adds, updates, deletes, resyncs;
};

static int fake_call(void *ctx, const char *method, const char *path,
                     const char *ct, const json_t *body, json_t **ret)
{
    struct fake *f = ctx;
    (void)ct;
    (void)body;
    (void)path;
    if (strcmp(method, "GET") != 0)
        return 405;
    pthread_mutex_lock(&f->mu);
    f->lists++;
    *ret = json_pack("{s:s,s:s,s:{s:s+},s:O}", "kind", "PodList", "apiVersion",
                     "v1", "metadata", "resourceVersion", "", "", "items",
                     f->items);
    json_object_set_new(json_object_get(*ret, "metadata"), "resourceVersion",
                        json_sprintf("%d", f->rv));
    pthread_mutex_unlock(&f->mu);
    return 200;
}

static int fake_watch_start(void *ctx, const char *path, ctrl_watch_cb cb,
                            void *arg, void **ret)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->cb = cb;
    f->arg = arg;
    f->watch_starts++;
    snprintf(f->watch_path, sizeof f->watch_path, "%s", path);
    pthread_mutex_unlock(&f->mu);
    *ret = f;
    return 0;
}

static void fake_watch_stop(void *w)
{
    struct fake *f = w;
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->cb = NULL;
    pthread_mutex_unlock(&f->mu);
}

static void handler(void *arg, const json_t *o, const json_t *n)
{
    struct fake *f = arg;
    pthread_mutex_lock(&f->mu);
    if (o == NULL)
        f->adds++;
    else if (n == NULL)
        f->deletes++;
    else if (o == n)
        f->resyncs++;
    else
        f->updates++;
    pthread_mutex_unlock(&f->mu);
}

static int fake_get(struct fake *f, int *field)
{
    int v;
    pthread_mutex_lock(&f->mu);
    v = *field;
    pthread_mutex_unlock(&f->mu);
    return v;
}

/* Waits (bounded, 5 s) until *field >= want. */
static bool wait_for(struct fake *f, int *field, int want)
{
    int64_t deadline = clock_mono_ns() + 5000000000LL;
    struct timespec ts = {0, 1000000};
    while (clock_mono_ns() < deadline) {
        if (fake_get(f, field) >= want)
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

/* Sends a watch event as the API's watch thread would. */
static void send(struct fake *f, const char *type, const char *obj)
{
    ctrl_watch_cb cb;
    void *arg;
    json_t *o = obj ? json_loads(obj, 0, NULL) : NULL;
    pthread_mutex_lock(&f->mu);
    cb = f->cb;
    arg = f->arg;
    pthread_mutex_unlock(&f->mu);
    assert_non_null(cb);
    cb(type, o, arg);
    json_decref(o);
}

static void fake_api(struct fake *f, struct ctrl_api *api)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->items = json_array();
    f->rv = 10;
    api->call = fake_call;
    api->watch_start = fake_watch_start;
    api->watch_stop = fake_watch_stop;
    api->ctx = f;
}

/* --- events: a fake API that counts writes ------------------------------ */

struct evfake {
    pthread_mutex_t mu;
    int posts, puts;
    json_t *last_put;
};

static int ev_call(void *ctx, const char *method, const char *path,
                   const char *ct, const json_t *body, json_t **ret)
{
    struct evfake *f = ctx;
    (void)path;
    (void)ct;
    pthread_mutex_lock(&f->mu);
    if (strcmp(method, "POST") == 0) {
        f->posts++;
    } else if (strcmp(method, "PUT") == 0) {
        f->puts++;
        json_decref(f->last_put);
        f->last_put = json_deep_copy(body);
    }
    pthread_mutex_unlock(&f->mu);
    *ret = json_deep_copy(body); /* the API answers with the object */
    return strcmp(method, "POST") == 0 ? 201 : 200;
}

static int ev_get(struct evfake *f, int *field)
{
    int v;
    pthread_mutex_lock(&f->mu);
    v = *field;
    pthread_mutex_unlock(&f->mu);
    return v;
}

static bool ev_wait(struct evfake *f, int *field, int want)
{
    int64_t deadline = clock_mono_ns() + 5000000000LL;
    struct timespec ts = {0, 1000000};
    while (clock_mono_ns() < deadline) {
        if (ev_get(f, field) >= want)
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

static void events_dedupe_and_spam_filter(void **state)
{
    struct evfake f;
    struct ctrl_api api = {ev_call, NULL, NULL, &f};
    struct ctrl_events *ev;
    json_t *pod = json_loads("{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
                             "\"metadata\":{\"name\":\"p\",\"namespace\":"
                             "\"d\",\"uid\":\"u1\"}}",
                             0, NULL);
    (void)state;
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.mu, NULL);
    assert_int_equal(ctrl_events_start(&api, &ev), 0);
    /* the same event twice: one Event, then count 2 */
    ctrl_event(ev, pod, "test", "Warning", "Failed", "same %d", 1);
    assert_true(ev_wait(&f, &f.posts, 1));
    ctrl_event(ev, pod, "test", "Warning", "Failed", "same %d", 1);
    assert_true(ev_wait(&f, &f.puts, 1));
    pthread_mutex_lock(&f.mu);
    assert_int_equal(json_integer_value(json_object_get(f.last_put, "count")),
                     2);
    pthread_mutex_unlock(&f.mu);
    /* 40 different events about one object: 25 in all get through */
    for (int i = 0; i < 40; i++)
        ctrl_event(ev, pod, "test", "Normal", "Created", "pod %d", i);
    assert_true(ev_wait(&f, &f.posts, 24)); /* 1 + 23 posts, 1 put */
    ctrl_events_stop(ev); /* drains nothing more: the rest were dropped */
    assert_int_equal(f.posts + f.puts, 25);
    json_decref(f.last_put);
    json_decref(pod);
}

/* --- map ---------------------------------------------------------------- */

static void map_grows_and_deletes(void **state)
{
    struct ctrl_map *m = ctrl_map_create();
    char k[32];
    (void)state;
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(k, sizeof k, "k%ld", (long)i);
        assert_int_equal(ctrl_map_put(m, k, (void *)i, NULL), 0);
    }
    assert_int_equal(ctrl_map_len(m), 5000);
    assert_ptr_equal(ctrl_map_get(m, "k4321"), (void *)4321);
    assert_ptr_equal(ctrl_map_del(m, "k4321"), (void *)4321);
    assert_null(ctrl_map_get(m, "k4321"));
    assert_int_equal(ctrl_map_len(m), 4999);
    ctrl_map_destroy(m, NULL);
}

/* --- work queue --------------------------------------------------------- */

static void wq_dedupes_and_never_hands_out_twice(void **state)
{
    struct ctrl_wq *q;
    char *k1, *k2;
    (void)state;
    assert_int_equal(ctrl_wq_create("t", &q), 0);
    ctrl_wq_add(q, "a");
    ctrl_wq_add(q, "a");
    ctrl_wq_add(q, "b");
    assert_int_equal(ctrl_wq_len(q), 2);
    assert_int_equal(ctrl_wq_get(q, &k1), 0);
    assert_string_equal(k1, "a");
    /* "a" changes while being processed: queued, but not handed out */
    ctrl_wq_add(q, "a");
    assert_int_equal(ctrl_wq_get(q, &k2), 0);
    assert_string_equal(k2, "b");
    assert_int_equal(ctrl_wq_len(q), 0);
    ctrl_wq_done(q, k2);
    free(k2);
    ctrl_wq_done(q, k1);
    free(k1);
    /* now it is ready again, exactly once */
    assert_int_equal(ctrl_wq_len(q), 1);
    assert_int_equal(ctrl_wq_get(q, &k1), 0);
    assert_string_equal(k1, "a");
    ctrl_wq_done(q, k1);
    free(k1);
    ctrl_wq_shutdown(q);
    ctrl_wq_destroy(q);
}

static void wq_add_after_waits(void **state)
{
    struct ctrl_wq *q;
    int64_t t0;
    char *k;
    (void)state;
    assert_int_equal(ctrl_wq_create("t", &q), 0);
    t0 = clock_mono_ns();
    ctrl_wq_add_after(q, "x", 50000000LL);
    ctrl_wq_add_after(q, "x", 900000000LL); /* later: earlier one wins */
    assert_int_equal(ctrl_wq_len(q), 0);
    assert_int_equal(ctrl_wq_get(q, &k), 0);
    assert_string_equal(k, "x");
    assert_true(clock_mono_ns() - t0 >= 50000000LL);
    assert_true(clock_mono_ns() - t0 < 800000000LL);
    ctrl_wq_done(q, k);
    free(k);
    ctrl_wq_shutdown(q);
    ctrl_wq_destroy(q);
}

static void wq_coalesced_spaces_syncs_of_a_busy_key(void **state)
{
    const int64_t iv = 200000000LL;
    struct ctrl_wq *q;
    int64_t t0, started;
    char *k;
    (void)state;
    assert_int_equal(ctrl_wq_create("t", &q), 0);
    /* never handed out: queued at once */
    ctrl_wq_add_coalesced(q, "rs", iv);
    assert_int_equal(ctrl_wq_len(q), 1);
    started = clock_mono_ns();
    assert_int_equal(ctrl_wq_get(q, &k), 0);
    ctrl_wq_done(q, k);
    free(k);
    /* a burst right after: one pass, `iv` after the last start */
    for (int i = 0; i < 5; i++)
        ctrl_wq_add_coalesced(q, "rs", iv);
    assert_int_equal(ctrl_wq_len(q), 0);
    /* another key is not held back by this one */
    ctrl_wq_add_coalesced(q, "other", iv);
    assert_int_equal(ctrl_wq_len(q), 1);
    assert_int_equal(ctrl_wq_get(q, &k), 0);
    assert_string_equal(k, "other");
    ctrl_wq_done(q, k);
    free(k);
    assert_int_equal(ctrl_wq_get(q, &k), 0);
    assert_string_equal(k, "rs");
    assert_true(clock_mono_ns() - started >= iv);
    ctrl_wq_done(q, k);
    free(k);
    assert_int_equal(ctrl_wq_len(q), 0);
    /* quiet for longer than a (short) interval: queued at once again */
    t0 = clock_mono_ns();
    ctrl_wq_add_after(q, "tick", 30000000LL);
    assert_int_equal(ctrl_wq_get(q, &k), 0);
    assert_string_equal(k, "tick");
    assert_true(clock_mono_ns() - t0 >= 30000000LL);
    ctrl_wq_done(q, k);
    free(k);
    ctrl_wq_add_coalesced(q, "other", 20000000LL);
    assert_int_equal(ctrl_wq_len(q), 1);
    ctrl_wq_shutdown(q);
    ctrl_wq_destroy(q);
}

static void wq_rate_limit_backs_off_and_forget_resets(void **state)
{
    struct ctrl_wq *q;
    char *k;
    int64_t t0;
    (void)state;
    assert_int_equal(ctrl_wq_create("t", &q), 0);
    for (int i = 0; i < 4; i++) {
        t0 = clock_mono_ns();
        ctrl_wq_add_rate_limited(q, "f");
        assert_int_equal(ctrl_wq_get(q, &k), 0);
        /* 5 ms * 2^i */
        assert_true(clock_mono_ns() - t0 >= (5000000LL << i));
        ctrl_wq_done(q, k);
        free(k);
    }
    assert_int_equal(ctrl_wq_failures(q, "f"), 4);
    ctrl_wq_forget(q, "f");
    assert_int_equal(ctrl_wq_failures(q, "f"), 0);
    ctrl_wq_shutdown(q);
    ctrl_wq_destroy(q);
}

static void *blocked_get(void *arg)
{
    char *k = NULL;
    intptr_t rv = ctrl_wq_get(arg, &k);
    free(k);
    return (void *)rv;
}

static void wq_shutdown_wakes_workers(void **state)
{
    struct ctrl_wq *q;
    pthread_t th;
    void *rv;
    (void)state;
    assert_int_equal(ctrl_wq_create("t", &q), 0);
    assert_int_equal(pthread_create(&th, NULL, blocked_get, q), 0);
    ctrl_wq_shutdown(q);
    pthread_join(th, &rv);
    assert_int_equal((intptr_t)rv, K1S_ESHUTDOWN);
    ctrl_wq_add(q, "ignored");
    assert_int_equal(ctrl_wq_len(q), 0);
    ctrl_wq_destroy(q);
}

/* --- informer ----------------------------------------------------------- */

static void informer_lists_watches_and_relists_on_410(void **state)
{
    struct fake f;
    struct ctrl_api api;
    struct ctrl_informer *inf;
    json_t *o, *l;
    (void)state;
    fake_api(&f, &api);
    json_array_append_new(f.items, json_loads("{\"metadata\":{\"name\":\"a\","
                                              "\"namespace\":\"d\","
                                              "\"resourceVersion\":\"5\"}}",
                                              0, NULL));
    assert_int_equal(ctrl_informer_create(&api, "/api/v1/pods", 0, &inf), 0);
    assert_int_equal(ctrl_informer_add_handler(inf, handler, &f), 0);
    assert_int_equal(ctrl_informer_start(inf), 0);
    assert_true(ctrl_informer_wait_synced(inf, 5000000000LL));
    assert_true(wait_for(&f, &f.watch_starts, 1));
    assert_non_null(strstr(f.watch_path, "resourceVersion=10"));
    assert_int_equal(fake_get(&f, &f.adds), 1);
    o = ctrl_informer_get(inf, "d/a");
    assert_non_null(o);
    /* kind filled in from the list */
    assert_string_equal(ctrl_jstr(o, "kind"), "Pod");
    json_decref(o);

    send(&f, "ADDED",
         "{\"metadata\":{\"name\":\"b\",\"namespace\":\"d\","
         "\"resourceVersion\":\"11\"}}");
    send(&f, "MODIFIED",
         "{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\","
         "\"resourceVersion\":\"12\"}}");
    send(&f, "DELETED",
         "{\"metadata\":{\"name\":\"b\",\"namespace\":\"d\","
         "\"resourceVersion\":\"13\"}}");
    assert_int_equal(fake_get(&f, &f.adds), 2);
    assert_int_equal(fake_get(&f, &f.updates), 1);
    assert_int_equal(fake_get(&f, &f.deletes), 1);
    l = ctrl_informer_list(inf, "d", NULL, NULL);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);

    /* the server forgets history: 410 → relist; what vanished meanwhile is
     * reported deleted, what is new added */
    pthread_mutex_lock(&f.mu);
    json_array_clear(f.items);
    json_array_append_new(f.items, json_loads("{\"metadata\":{\"name\":\"c\","
                                              "\"namespace\":\"d\"}}",
                                              0, NULL));
    f.rv = 20;
    pthread_mutex_unlock(&f.mu);
    send(&f, "ERROR", "{\"kind\":\"Status\",\"code\":410}");
    send(&f, NULL, NULL);
    assert_true(wait_for(&f, &f.lists, 2));
    assert_true(wait_for(&f, &f.watch_starts, 2));
    assert_non_null(strstr(f.watch_path, "resourceVersion=20"));
    assert_int_equal(fake_get(&f, &f.deletes), 2);
    assert_int_equal(fake_get(&f, &f.adds), 3);
    assert_null(ctrl_informer_get(inf, "d/a"));
    o = ctrl_informer_get(inf, "d/c");
    assert_non_null(o);
    json_decref(o);

    /* a normal end (timeout) resumes from the last resourceVersion
     * without a list */
    send(&f, "BOOKMARK", "{\"metadata\":{\"resourceVersion\":\"25\"}}");
    send(&f, NULL, NULL);
    assert_true(wait_for(&f, &f.watch_starts, 3));
    assert_non_null(strstr(f.watch_path, "resourceVersion=25"));
    assert_int_equal(fake_get(&f, &f.lists), 2);
    ctrl_informer_destroy(inf);
    json_decref(f.items);
}

static const char *owner_idx(const json_t *o, char *buf, size_t len)
{
    const char *u = ctrl_jstr(o, "metadata.labels.owner");
    (void)buf;
    (void)len;
    return u ? u : "";
}

static void informer_index_follows_changes(void **state)
{
    struct fake f;
    struct ctrl_api api;
    struct ctrl_informer *inf;
    json_t *l;
    (void)state;
    fake_api(&f, &api);
    json_array_append_new(f.items, json_loads("{\"metadata\":{\"name\":\"a\","
                                              "\"namespace\":\"d\",\"labels\":{"
                                              "\"owner\":\"x\"}}}",
                                              0, NULL));
    assert_int_equal(ctrl_informer_create(&api, "/api/v1/pods", 0, &inf), 0);
    assert_int_equal(ctrl_informer_set_index(inf, owner_idx), 0);
    assert_int_equal(ctrl_informer_start(inf), 0);
    assert_int_equal(ctrl_informer_set_index(inf, owner_idx), K1S_EINVAL);
    assert_true(ctrl_informer_wait_synced(inf, 5000000000LL));
    assert_true(wait_for(&f, &f.watch_starts, 1));
    send(&f, "ADDED",
         "{\"metadata\":{\"name\":\"b\",\"namespace\":"
         "\"e\",\"labels\":{\"owner\":\"x\"}}}");
    l = ctrl_informer_by_index(inf, "x", NULL);
    assert_int_equal(json_array_size(l), 2);
    json_decref(l);
    l = ctrl_informer_by_index(inf, "x", "e");
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    /* a changed owner moves it */
    send(&f, "MODIFIED",
         "{\"metadata\":{\"name\":\"a\",\"namespace\":"
         "\"d\",\"labels\":{\"owner\":\"y\"}}}");
    l = ctrl_informer_by_index(inf, "x", NULL);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    l = ctrl_informer_by_index(inf, "y", NULL);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    send(&f, "DELETED",
         "{\"metadata\":{\"name\":\"a\",\"namespace\":"
         "\"d\"}}");
    l = ctrl_informer_by_index(inf, "y", NULL);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    ctrl_informer_destroy(inf);
    json_decref(f.items);
}

static void informer_resyncs(void **state)
{
    struct fake f;
    struct ctrl_api api;
    struct ctrl_informer *inf;
    (void)state;
    fake_api(&f, &api);
    json_array_append_new(
        f.items, json_loads("{\"metadata\":{\"name\":\"n1\"}}", 0, NULL));
    assert_int_equal(
        ctrl_informer_create(&api, "/api/v1/nodes", 20000000LL, &inf), 0);
    assert_int_equal(ctrl_informer_add_handler(inf, handler, &f), 0);
    assert_int_equal(ctrl_informer_start(inf), 0);
    assert_true(wait_for(&f, &f.resyncs, 2));
    ctrl_informer_destroy(inf);
    json_decref(f.items);
}

/* A handler attached to a running informer: the cache replayed as adds
 * at once, later events as they come, no resyncs; none after detach. */
static void informer_attach_replays_and_detach_stops(void **state)
{
    struct fake f, g;
    struct ctrl_api api;
    struct ctrl_informer *inf;
    (void)state;
    fake_api(&f, &api);
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.mu, NULL);
    json_array_append_new(
        f.items, json_loads("{\"metadata\":{\"name\":\"n1\"}}", 0, NULL));
    json_array_append_new(
        f.items, json_loads("{\"metadata\":{\"name\":\"n2\"}}", 0, NULL));
    assert_int_equal(
        ctrl_informer_create(&api, "/api/v1/nodes", 20000000LL, &inf), 0);
    assert_int_equal(ctrl_informer_add_handler(inf, handler, &f), 0);
    assert_int_equal(ctrl_informer_start(inf), 0);
    assert_true(ctrl_informer_wait_synced(inf, 5000000000LL));
    assert_true(wait_for(&f, &f.watch_starts, 1));
    assert_int_equal(ctrl_informer_attach(inf, handler, &g), 0);
    assert_int_equal(fake_get(&g, &g.adds), 2); /* replayed before return */
    send(&f, "ADDED", "{\"metadata\":{\"name\":\"n3\"}}");
    assert_int_equal(fake_get(&g, &g.adds), 3);
    assert_int_equal(fake_get(&f, &f.adds), 3);
    assert_true(wait_for(&f, &f.resyncs, 4)); /* the owner's resyncs */
    assert_int_equal(fake_get(&g, &g.resyncs), 0);
    ctrl_informer_detach(inf, handler, &g);
    send(&f, "DELETED", "{\"metadata\":{\"name\":\"n3\"}}");
    assert_int_equal(fake_get(&f, &f.deletes), 1);
    assert_int_equal(fake_get(&g, &g.deletes), 0);
    ctrl_informer_destroy(inf);
    json_decref(f.items);
    pthread_mutex_destroy(&g.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_grows_and_deletes),
        cmocka_unit_test(events_dedupe_and_spam_filter),
        cmocka_unit_test(wq_dedupes_and_never_hands_out_twice),
        cmocka_unit_test(wq_add_after_waits),
        cmocka_unit_test(wq_coalesced_spaces_syncs_of_a_busy_key),
        cmocka_unit_test(wq_rate_limit_backs_off_and_forget_resets),
        cmocka_unit_test(wq_shutdown_wakes_workers),
        cmocka_unit_test(informer_lists_watches_and_relists_on_410),
        cmocka_unit_test(informer_index_follows_changes),
        cmocka_unit_test(informer_resyncs),
        cmocka_unit_test(informer_attach_replays_and_detach_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
