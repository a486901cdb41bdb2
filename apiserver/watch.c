/*
 * DESIGN: a watch stream over the store ("Kubernetes API Concepts",
 * efficient detection of changes; kubectl-wire.md §5).
 *
 * A watcher owns one store watch on the resource's key prefix (narrowed by
 * namespace). Without a resourceVersion (or with "0") it first sends the
 * current matching objects as ADDED, read as one snapshot, and watches
 * from that snapshot's revision; with N it sends only changes after N. A
 * store event becomes ADDED / MODIFIED / DELETED after the selectors are
 * applied to both the new and the previous value, so an object that stops
 * matching is seen as DELETED and one that starts matching as ADDED.
 * DELETED carries the last state with the delete's revision. A revision
 * older than the store's history is one ERROR event with a 410 Expired
 * Status; a watcher the store cut off for being too slow gets the same.
 * Bookmarks (when asked) carry only the kind and the last revision seen.
 * Streams end at timeoutSeconds, or after API_WATCH_MAX_SECONDS.
 *
 * The watcher itself is transport-free: pump() converts what is ready and
 * hands each event to an emit callback (a line on an HTTP stream, or the
 * in-process client's callback); the store's notify only flags and wakes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/api_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "store/store.h"

#define PUMP_BATCH 64

/* The watcher with what only this file touches: the condition variable
 * the in-process client waits on, and the "too old" state. */
struct wx {
    struct api_watcher w;
    pthread_cond_t cv;
    bool signaled;
    bool gone;
    int64_t gone_rev;
};

static pthread_cond_t *cv_of(struct api_watcher *w)
{
    return &((struct wx *)w)->cv;
}

static void notify(struct store_watch *sw, void *arg)
{
    struct api_watcher *w = arg;
    struct wx *x = arg;
    api_watcher_wake_cb cb;
    void *cb_arg;
    (void)sw;

    pthread_mutex_lock(&w->mu);
    x->signaled = true;
    pthread_cond_broadcast(cv_of(w));
    cb = w->wake;
    cb_arg = w->wake_arg;
    pthread_mutex_unlock(&w->mu);
    if (cb)
        cb(cb_arg);
}

int api_watcher_create(struct api_server *srv, struct api_watch_opts *opts,
                       api_watcher_wake_cb wake, void *wake_arg,
                       struct api_watcher **ret)
{
    struct wx *x = calloc(1, sizeof *x);
    struct api_watcher *w = &x->w;
    char prefix[512];
    int64_t from = opts->from_rev, now = clock_mono_ns();
    int rv;

    if (x == NULL) {
        api_sel_free(opts->lsel, opts->fsel);
        return K1S_ENOMEM;
    }
    w->srv = srv;
    w->o = *opts;
    w->wake = wake;
    w->wake_arg = wake_arg;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    buf_init(&w->out);
    rv = api_resource_key(opts->res, opts->ns, "", prefix, sizeof prefix);
    if (rv != 0)
        goto err;
    if (opts->initial_events) {
        struct store_list l;
        rv = store_list(srv->store, prefix, NULL, 0, 0, &l);
        if (rv != 0)
            goto err;
        w->initial = json_array();
        for (size_t i = 0; i < l.n; i++) {
            json_t *obj = api_obj_from_kv(&l.items[i], 0);
            if (obj && api_sel_match(opts->lsel, opts->fsel, obj))
                json_array_append_new(w->initial, obj);
            else
                json_decref(obj);
        }
        from = l.rev;
        store_list_free(&l);
    }
    rv = store_watch(srv->store, prefix, from, notify, w, &w->sw);
    if (rv == K1S_EGONE) {
        x->gone = true;
        x->gone_rev = from;
        w->sw = NULL;
    } else if (rv != 0)
        goto err;
    w->last_rev = from;
    w->deadline_ns =
        now + (opts->timeout_s > 0 && opts->timeout_s < API_WATCH_MAX_SECONDS
                   ? opts->timeout_s
                   : API_WATCH_MAX_SECONDS) *
                  1000000000ll;
    w->next_bookmark_ns = now + API_BOOKMARK_SECONDS * 1000000000ll;
    *ret = w;
    return 0;
err:
    w->o.lsel = w->o.fsel = NULL;
    api_sel_free(opts->lsel, opts->fsel);
    json_decref(w->initial);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
    return rv;
}

void api_watcher_destroy(struct api_watcher *w)
{
    struct wx *x = (struct wx *)w;
    if (w == NULL)
        return;
    store_watch_cancel(w->sw);
    api_sel_free(w->o.lsel, w->o.fsel);
    json_decref(w->initial);
    buf_close(&w->out);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
}

void api_watcher_end(struct api_watcher *w)
{
    atomic_store(&w->end_requested, true);
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(cv_of(w));
    pthread_mutex_unlock(&w->mu);
}

void api_watcher_wait(struct api_watcher *w, int timeout_ms)
{
    struct wx *x = (struct wx *)w;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000l;
    if (ts.tv_nsec >= 1000000000l) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000l;
    }
    pthread_mutex_lock(&w->mu);
    if (!x->signaled && !atomic_load(&w->end_requested))
        pthread_cond_timedwait(&x->cv, &w->mu, &ts);
    x->signaled = false;
    pthread_mutex_unlock(&w->mu);
}

bool api_watcher_due(struct api_watcher *w, int64_t now)
{
    return now >= w->deadline_ns || atomic_load(&w->end_requested) ||
           atomic_load(&w->srv->stopping) ||
           (w->o.bookmarks && now >= w->next_bookmark_ns);
}

static void emit_obj(struct api_watcher *w, const char *type, json_t *obj,
                     api_watcher_emit_cb emit, void *arg)
{
    if (w->o.table) {
        json_t *items = json_pack("[O]", obj);
        json_t *t = api_table_new(
            w->o.res, items,
            json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                              "resourceVersion")),
            NULL, !w->header_sent, w->o.include);
        w->header_sent = true;
        json_decref(items);
        emit(type, t, arg);
        json_decref(t);
        return;
    }
    emit(type, obj, arg);
}

static void emit_error(struct api_watcher *w, const char *msg,
                       api_watcher_emit_cb emit, void *arg)
{
    json_t *st = api_status_new(K1S_EGONE, msg, NULL);
    (void)w;
    emit("ERROR", st, arg);
    json_decref(st);
}

static void finish(struct api_watcher *w)
{
    w->finished = true;
    atomic_store(&w->ended, true);
}

int api_watcher_pump(struct api_watcher *w, api_watcher_emit_cb emit, void *arg)
{
    struct wx *x = (struct wx *)w;
    struct store_event evs[PUMP_BATCH];
    int64_t now = clock_mono_ns();
    char gv[64];
    int n;

    if (w->finished)
        return 1;
    if (atomic_load(&w->end_requested) || atomic_load(&w->srv->stopping)) {
        finish(w);
        return 1;
    }
    if (x->gone) {
        char msg[128];
        snprintf(msg, sizeof msg, "too old resource version: %lld (%lld)",
                 (long long)x->gone_rev,
                 (long long)store_compact_revision(w->srv->store));
        emit_error(w, msg, emit, arg);
        finish(w);
        return 1;
    }
    if (w->initial) {
        size_t sent = 0;
        while (w->initial_idx < json_array_size(w->initial) &&
               sent < PUMP_BATCH) {
            emit_obj(w, "ADDED", json_array_get(w->initial, w->initial_idx),
                     emit, arg);
            w->initial_idx++;
            sent++;
        }
        if (w->initial_idx < json_array_size(w->initial)) {
            w->more = true;
            return 0;
        }
        json_decref(w->initial);
        w->initial = NULL;
    }
    n = store_watch_poll(w->sw, evs, PUMP_BATCH);
    if (n == K1S_ESLOW) {
        emit_error(w, "the watcher fell too far behind; list again", emit, arg);
        finish(w);
        return 1;
    }
    if (n < 0) {
        finish(w);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct store_event *ev = &evs[i];
        json_t *obj = api_obj_from_kv(&ev->kv, 0), *prev = NULL;
        bool nm, pm;
        const char *type = NULL;

        if (ev->prev_value)
            prev = json_loadb(ev->prev_value, ev->prev_value_len, 0, NULL);
        if (obj) {
            nm = api_sel_match(w->o.lsel, w->o.fsel, obj);
            pm = prev && api_sel_match(w->o.lsel, w->o.fsel, prev);
            if (ev->type == STORE_EVENT_DELETE) {
                if (nm || pm)
                    type = "DELETED";
            } else if (nm && (!pm || ev->kv.create_rev == ev->kv.mod_rev))
                type = "ADDED";
            else if (nm && pm)
                type = "MODIFIED";
            else if (pm)
                type = "DELETED";
            if (type)
                emit_obj(w, type, obj, emit, arg);
        }
        w->last_rev = ev->kv.mod_rev;
        json_decref(obj);
        json_decref(prev);
        store_event_clear(ev);
    }
    w->more = n == PUMP_BATCH;
    if (w->more)
        return 0; /* more may be queued; the caller pumps again */
    if (w->o.bookmarks && now >= w->next_bookmark_ns) {
        json_t *bm;
        char rv[32];
        api_resource_gv(w->o.res, gv, sizeof gv);
        snprintf(rv, sizeof rv, "%lld", (long long)w->last_rev);
        bm = json_pack("{s:s, s:s, s:{s:s}}", "kind", w->o.res->kind,
                       "apiVersion", gv, "metadata", "resourceVersion", rv);
        emit("BOOKMARK", bm, arg);
        json_decref(bm);
        w->next_bookmark_ns = now + API_BOOKMARK_SECONDS * 1000000000ll;
    }
    if (now >= w->deadline_ns) {
        finish(w);
        return 1;
    }
    return 0;
}
