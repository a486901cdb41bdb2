/*
 * DESIGN: client-go's reflector + indexer + shared informer, reduced.
 *
 *   informer thread:  LIST (paged, limit=500) → replace the store, telling
 *                     handlers what was added, changed or is gone →
 *                     WATCH from the list's resourceVersion → on a normal
 *                     end re-watch from the last resourceVersion seen; on
 *                     ERROR (410 Expired...) or a failed start, LIST again
 *                     with back-off (200 ms doubling to 10 s).
 *   watch thread:     (the API's) applies each event to the store under
 *                     the mutex, then calls handlers without it.
 *   resync:           every resync_ns the informer thread calls the
 *                     handlers with (obj, obj) for every object, so a
 *                     level-triggered controller revisits everything even
 *                     if it lost an event (client-go's resync period).
 *
 * Objects in the store are deep copies owned by the store and shared
 * read-only with readers (new references).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/controllers.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define INF_MAX_HANDLERS 8
#define INF_PAGE 500

struct inf_handler {
    ctrl_informer_cb cb;
    void *arg;
    bool resync; /* also called for resyncs (old == new) */
};

struct ctrl_informer {
    struct ctrl_api api;
    char *path;
    int64_t resync_ns;
    pthread_mutex_t mu;
    /* Held while handlers run (lock order: dmu before mu): dispatches are
     * serialized, so that a handler attached to a running informer gets
     * its replay of the cache before any later event, and one detached
     * is never called again. */
    pthread_mutex_t dmu;
    pthread_cond_t cond;
    struct ctrl_map *store; /* key -> json_t* */
    struct inf_handler handlers[INF_MAX_HANDLERS];
    int nhandlers;
    pthread_t thread;
    bool started, stopping, synced;
    bool metadata_only;
    bool (*keep)(const json_t *obj);
    bool watch_ended, watch_error;
    unsigned lists;
    char rv[64];
    /* optional secondary index: value -> map of key -> object (borrowed
     * from the store) */
    const char *(*index_fn)(const json_t *obj, char *buf, size_t len);
    struct ctrl_map *index;
    char kind[64];
    char api_version[64];
};

int ctrl_informer_create(const struct ctrl_api *api, const char *path,
                         int64_t resync_ns, struct ctrl_informer **ret)
{
    struct ctrl_informer *inf = calloc(1, sizeof *inf);
    pthread_condattr_t ca;

    if (inf == NULL)
        return K1S_ENOMEM;
    inf->api = *api;
    inf->path = strdup(path);
    inf->store = ctrl_map_create();
    if (inf->path == NULL || inf->store == NULL) {
        free(inf->path);
        ctrl_map_destroy(inf->store, NULL);
        free(inf);
        return K1S_ENOMEM;
    }
    inf->resync_ns = resync_ns;
    pthread_mutex_init(&inf->mu, NULL);
    pthread_mutex_init(&inf->dmu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&inf->cond, &ca);
    pthread_condattr_destroy(&ca);
    *ret = inf;
    return 0;
}

int ctrl_informer_add_handler(struct ctrl_informer *inf, ctrl_informer_cb cb,
                              void *arg)
{
    if (inf->started || inf->nhandlers == INF_MAX_HANDLERS)
        return K1S_EINVAL;
    inf->handlers[inf->nhandlers].cb = cb;
    inf->handlers[inf->nhandlers].arg = arg;
    inf->handlers[inf->nhandlers].resync = true;
    inf->nhandlers++;
    return 0;
}

static int collect_all(const char *key, void *val, void *arg);

int ctrl_informer_attach(struct ctrl_informer *inf, ctrl_informer_cb cb,
                         void *arg)
{
    json_t *all = json_array(), *it;
    size_t i;
    int rv = 0;

    if (all == NULL)
        return K1S_ENOMEM;
    pthread_mutex_lock(&inf->dmu);
    pthread_mutex_lock(&inf->mu);
    if (inf->nhandlers == INF_MAX_HANDLERS) {
        rv = K1S_EINVAL;
    } else {
        inf->handlers[inf->nhandlers].cb = cb;
        inf->handlers[inf->nhandlers].arg = arg;
        inf->handlers[inf->nhandlers].resync = false;
        inf->nhandlers++;
        ctrl_map_each(inf->store, collect_all, all);
    }
    pthread_mutex_unlock(&inf->mu);
    /* what is cached already reaches the new handler as adds, before any
     * later event (dispatches wait for dmu) */
    json_array_foreach (all, i, it)
        cb(arg, NULL, it);
    pthread_mutex_unlock(&inf->dmu);
    json_decref(all);
    return rv;
}

void ctrl_informer_detach(struct ctrl_informer *inf, ctrl_informer_cb cb,
                          void *arg)
{
    if (inf == NULL)
        return;
    pthread_mutex_lock(&inf->dmu);
    pthread_mutex_lock(&inf->mu);
    for (int i = 0; i < inf->nhandlers; i++) {
        if (inf->handlers[i].cb == cb && inf->handlers[i].arg == arg) {
            memmove(&inf->handlers[i], &inf->handlers[i + 1],
                    (size_t)(inf->nhandlers - i - 1) * sizeof inf->handlers[0]);
            inf->nhandlers--;
            break;
        }
    }
    pthread_mutex_unlock(&inf->mu);
    pthread_mutex_unlock(&inf->dmu);
}

int ctrl_informer_set_metadata_only(struct ctrl_informer *inf,
                                    bool (*keep)(const json_t *obj))
{
    if (inf->started)
        return K1S_EINVAL;
    inf->metadata_only = true;
    inf->keep = keep;
    return 0;
}

/* The informer's own copy of an object from a list or a watch event, with
 * kind and apiVersion filled in: whole, or its metadata only. */
static json_t *inf_copy(struct ctrl_informer *inf, const json_t *obj)
{
    json_t *copy;

    if (inf->metadata_only) {
        static const char *const keep[] = {"name",
                                           "namespace",
                                           "uid",
                                           "resourceVersion",
                                           "ownerReferences",
                                           "finalizers",
                                           "deletionTimestamp",
                                           "deletionGracePeriodSeconds"};
        const json_t *src = json_object_get(obj, "metadata");
        json_t *m = json_object();
        for (size_t i = 0; m && i < sizeof keep / sizeof keep[0]; i++) {
            json_t *v = json_object_get(src, keep[i]);
            if (v != NULL)
                json_object_set_new(m, keep[i], json_deep_copy(v));
        }
        copy = json_pack("{s:o*}", "metadata", m);
        if (copy != NULL) {
            json_t *k = json_object_get(obj, "kind");
            json_t *av = json_object_get(obj, "apiVersion");
            if (k)
                json_object_set(copy, "kind", k);
            if (av)
                json_object_set(copy, "apiVersion", av);
        }
    } else {
        copy = json_deep_copy(obj);
    }
    if (copy == NULL)
        return NULL;
    if (!json_is_string(json_object_get(copy, "kind")) && inf->kind[0])
        json_object_set_new(copy, "kind", json_string(inf->kind));
    if (!json_is_string(json_object_get(copy, "apiVersion")) &&
        inf->api_version[0])
        json_object_set_new(copy, "apiVersion", json_string(inf->api_version));
    return copy;
}

static void index_del(struct ctrl_informer *inf, const char *key,
                      const json_t *obj)
{
    char buf[256];
    const char *v;
    struct ctrl_map *set;
    if (inf->index == NULL || obj == NULL)
        return;
    v = inf->index_fn(obj, buf, sizeof buf);
    set = v ? ctrl_map_get(inf->index, v) : NULL;
    if (set == NULL)
        return;
    ctrl_map_del(set, key);
    if (ctrl_map_len(set) == 0)
        ctrl_map_destroy(ctrl_map_del(inf->index, v), NULL);
}

static void index_add(struct ctrl_informer *inf, const char *key, json_t *obj)
{
    char buf[256];
    const char *v;
    struct ctrl_map *set;
    if (inf->index == NULL)
        return;
    v = inf->index_fn(obj, buf, sizeof buf);
    if (v == NULL)
        return;
    set = ctrl_map_get(inf->index, v);
    if (set == NULL) {
        set = ctrl_map_create();
        if (set == NULL || ctrl_map_put(inf->index, v, set, NULL) != 0) {
            ctrl_map_destroy(set, NULL);
            return;
        }
    }
    ctrl_map_put(set, key, obj, NULL);
}

/* Locked. Store mutations keep the index in step. */
static int store_put(struct ctrl_informer *inf, const char *key, json_t *obj,
                     json_t **ret_old)
{
    json_t *old = ctrl_map_get(inf->store, key);
    int rv;
    index_del(inf, key, old);
    rv = ctrl_map_put(inf->store, key, obj, (void **)ret_old);
    if (rv == 0)
        index_add(inf, key, obj);
    else
        index_add(inf, key, old);
    return rv;
}

static json_t *store_del(struct ctrl_informer *inf, const char *key)
{
    json_t *old = ctrl_map_get(inf->store, key);
    index_del(inf, key, old);
    return ctrl_map_del(inf->store, key);
}

static void destroy_set(void *v)
{
    ctrl_map_destroy(v, NULL);
}

int ctrl_informer_set_index(struct ctrl_informer *inf,
                            const char *(*fn)(const json_t *obj, char *buf,
                                              size_t len))
{
    if (inf->started || inf->index)
        return K1S_EINVAL;
    inf->index = ctrl_map_create();
    if (inf->index == NULL)
        return K1S_ENOMEM;
    inf->index_fn = fn;
    return 0;
}

struct ilist_ctx {
    json_t *out;
    const char *ns;
};

static int ilist_one(const char *key, void *val, void *arg)
{
    struct ilist_ctx *c = arg;
    (void)key;
    if (c->ns) {
        const char *ns = ctrl_jstr(val, "metadata.namespace");
        if (ns == NULL || strcmp(ns, c->ns) != 0)
            return 0;
    }
    json_array_append(c->out, val);
    return 0;
}

json_t *ctrl_informer_by_index(struct ctrl_informer *inf, const char *value,
                               const char *ns)
{
    struct ilist_ctx c = {json_array(), ns};
    struct ctrl_map *set;
    if (c.out == NULL)
        return NULL;
    pthread_mutex_lock(&inf->mu);
    set = inf->index ? ctrl_map_get(inf->index, value) : NULL;
    if (set)
        ctrl_map_each(set, ilist_one, &c);
    pthread_mutex_unlock(&inf->mu);
    return c.out;
}

static void dispatch(struct ctrl_informer *inf, const json_t *old_obj,
                     const json_t *new_obj)
{
    bool is_resync = old_obj != NULL && old_obj == new_obj;
    pthread_mutex_lock(&inf->dmu);
    /* handlers change only under dmu: reading them needs no mu */
    for (int i = 0; i < inf->nhandlers; i++) {
        if (is_resync && !inf->handlers[i].resync)
            continue;
        inf->handlers[i].cb(inf->handlers[i].arg, old_obj, new_obj);
    }
    pthread_mutex_unlock(&inf->dmu);
}

/* Waits on the informer's cond until stopping or deadline (mono ns).
 * Locked. */
static void wait_until(struct ctrl_informer *inf, int64_t deadline)
{
    struct timespec ts = {.tv_sec = deadline / 1000000000LL,
                          .tv_nsec = deadline % 1000000000LL};
    pthread_cond_timedwait(&inf->cond, &inf->mu, &ts);
}

static void watch_cb(const char *type, const json_t *object, void *arg)
{
    struct ctrl_informer *inf = arg;
    char key[512];
    const char *rv;
    json_t *copy, *old = NULL;

    if (type == NULL) {
        pthread_mutex_lock(&inf->mu);
        inf->watch_ended = true;
        pthread_cond_broadcast(&inf->cond);
        pthread_mutex_unlock(&inf->mu);
        return;
    }
    if (strcmp(type, "ERROR") == 0) {
        pthread_mutex_lock(&inf->mu);
        inf->watch_error = true;
        pthread_mutex_unlock(&inf->mu);
        return;
    }
    rv = ctrl_jstr(object, "metadata.resourceVersion");
    if (strcmp(type, "BOOKMARK") == 0) {
        if (rv) {
            pthread_mutex_lock(&inf->mu);
            snprintf(inf->rv, sizeof inf->rv, "%s", rv);
            pthread_mutex_unlock(&inf->mu);
        }
        return;
    }
    if (ctrl_jstr(object, "metadata.name") == NULL)
        return;
    ctrl_obj_key(object, key, sizeof key);
    if (strcmp(type, "DELETED") == 0 || (inf->keep && !inf->keep(object))) {
        pthread_mutex_lock(&inf->mu);
        old = store_del(inf, key);
        if (rv)
            snprintf(inf->rv, sizeof inf->rv, "%s", rv);
        pthread_mutex_unlock(&inf->mu);
        if (old == NULL && strcmp(type, "DELETED") != 0)
            return; /* filtered out, and was not cached */
        if (old == NULL)
            old = inf_copy(inf, object);
        if (old)
            dispatch(inf, old, NULL);
        json_decref(old);
        return;
    }
    copy = inf_copy(inf, object);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&inf->mu);
    if (store_put(inf, key, copy, &old) != 0) {
        pthread_mutex_unlock(&inf->mu);
        json_decref(copy);
        return;
    }
    json_incref(copy);
    if (rv)
        snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    pthread_mutex_unlock(&inf->mu);
    dispatch(inf, old, copy);
    json_decref(old);
    json_decref(copy);
}

struct replace_ctx {
    struct ctrl_map *seen;
    json_t *gone;
};

static int collect_gone(const char *key, void *val, void *arg)
{
    struct replace_ctx *c = arg;
    if (ctrl_map_get(c->seen, key) == NULL)
        json_array_append(c->gone, val);
    return 0;
}

/* Percent-encodes a continue token (base64 has '+', '/', '='). */
static void url_escape(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
            ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

/* One LIST, all pages; replaces the store. 0 or an error. */
static int do_list(struct ctrl_informer *inf)
{
    json_t *items = json_array(), *body = NULL, *pairs = json_array();
    char path[4096], cont[3072] = "", rv[64] = "";
    const char *sep = strchr(inf->path, '?') ? "&" : "?";
    struct replace_ctx rc = {NULL, NULL};
    int status, rv_ = 0;
    size_t i;
    json_t *it;

    if (items == NULL || pairs == NULL) {
        rv_ = K1S_ENOMEM;
        goto out;
    }
    for (int page = 0; page < 100000; page++) {
        const char *c, *lrv, *kind, *av;
        if (cont[0])
            snprintf(path, sizeof path, "%s%slimit=%d&continue=%s", inf->path,
                     sep, INF_PAGE, cont);
        else
            snprintf(path, sizeof path, "%s%slimit=%d", inf->path, sep,
                     INF_PAGE);
        status = inf->api.call(inf->api.ctx, "GET", path, NULL, NULL, &body);
        if (status != 200) {
            log_debug("informer %s: list: %d", inf->path, status);
            rv_ = status < 0 ? status : K1S_EIO;
            goto out;
        }
        json_array_extend(items, json_object_get(body, "items"));
        lrv = ctrl_jstr(body, "metadata.resourceVersion");
        if (lrv)
            snprintf(rv, sizeof rv, "%s", lrv);
        kind = ctrl_jstr(body, "kind");
        av = ctrl_jstr(body, "apiVersion");
        if (kind && strlen(kind) > 4 && strlen(kind) < sizeof inf->kind) {
            snprintf(inf->kind, sizeof inf->kind, "%.*s",
                     (int)(strlen(kind) - 4), kind);
        }
        if (av)
            snprintf(inf->api_version, sizeof inf->api_version, "%s", av);
        c = ctrl_jstr(body, "metadata.continue");
        if (c == NULL || c[0] == '\0' || strlen(c) * 3 >= sizeof cont)
            break;
        url_escape(c, cont, sizeof cont);
        json_decref(body);
        body = NULL;
    }
    rc.seen = ctrl_map_create();
    rc.gone = json_array();
    if (rc.seen == NULL || rc.gone == NULL) {
        rv_ = K1S_ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&inf->mu);
    json_array_foreach (items, i, it) {
        char key[512];
        json_t *old = NULL, *copy;
        if (ctrl_jstr(it, "metadata.name") == NULL ||
            (inf->keep && !inf->keep(it)))
            continue;
        copy = inf_copy(inf, it);
        if (copy == NULL)
            continue;
        ctrl_obj_key(copy, key, sizeof key);
        ctrl_map_put(rc.seen, key, (void *)1, NULL);
        if (store_put(inf, key, copy, &old) != 0) {
            json_decref(copy);
            continue;
        }
        json_array_append_new(pairs,
                              json_pack("[oO]", old ? old : json_null(), copy));
    }
    ctrl_map_each(inf->store, collect_gone, &rc);
    json_array_foreach (rc.gone, i, it) {
        char key[512];
        json_decref(store_del(inf, ctrl_obj_key(it, key, sizeof key)));
    }
    snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    inf->synced = true;
    inf->lists++;
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->mu);

    json_array_foreach (pairs, i, it) {
        json_t *o = json_array_get(it, 0);
        dispatch(inf, json_is_null(o) ? NULL : o, json_array_get(it, 1));
    }
    json_array_foreach (rc.gone, i, it)
        dispatch(inf, it, NULL);
out:
    ctrl_map_destroy(rc.seen, NULL);
    json_decref(rc.gone);
    json_decref(pairs);
    json_decref(items);
    json_decref(body);
    return rv_;
}

static int collect_all(const char *key, void *val, void *arg)
{
    (void)key;
    json_array_append(arg, val);
    return 0;
}

static void resync(struct ctrl_informer *inf)
{
    json_t *all = json_array(), *it;
    size_t i;
    if (all == NULL)
        return;
    pthread_mutex_lock(&inf->mu);
    ctrl_map_each(inf->store, collect_all, all);
    pthread_mutex_unlock(&inf->mu);
    json_array_foreach (all, i, it)
        dispatch(inf, it, it);
    json_decref(all);
}

static void *informer_main(void *arg)
{
    struct ctrl_informer *inf = arg;
    int64_t backoff = 200000000LL, next_resync;
    bool need_list = true;

    pthread_setname_np(pthread_self(), "k1s-informer");
    next_resync = inf->resync_ns ? clock_mono_ns() + inf->resync_ns : 0;
    pthread_mutex_lock(&inf->mu);
    while (!inf->stopping) {
        char path[1024];
        const char *sep = strchr(inf->path, '?') ? "&" : "?";
        void *w = NULL;
        int rv;

        pthread_mutex_unlock(&inf->mu);
        rv = 0;
        if (need_list)
            rv = do_list(inf);
        if (rv == 0) {
            pthread_mutex_lock(&inf->mu);
            snprintf(path, sizeof path,
                     "%s%sresourceVersion=%s&allowWatchBookmarks=true",
                     inf->path, sep, inf->rv);
            inf->watch_ended = false;
            inf->watch_error = false;
            pthread_mutex_unlock(&inf->mu);
            rv = inf->api.watch_start(inf->api.ctx, path, watch_cb, inf, &w);
        }
        pthread_mutex_lock(&inf->mu);
        if (rv != 0) {
            /* list or watch start failed: back off, then list again */
            int64_t until = clock_mono_ns() + backoff;
            need_list = true;
            while (!inf->stopping && clock_mono_ns() < until)
                wait_until(inf, until);
            backoff = backoff * 2 > 10000000000LL ? 10000000000LL : backoff * 2;
            continue;
        }
        backoff = 200000000LL;
        while (!inf->stopping && !inf->watch_ended) {
            if (next_resync && clock_mono_ns() >= next_resync) {
                pthread_mutex_unlock(&inf->mu);
                resync(inf);
                pthread_mutex_lock(&inf->mu);
                next_resync = clock_mono_ns() + inf->resync_ns;
                continue;
            }
            wait_until(inf, next_resync ? next_resync
                                        : clock_mono_ns() + 1000000000LL);
        }
        need_list = inf->watch_error || !inf->watch_ended;
        if (inf->watch_error && !inf->stopping)
            log_info("informer %s: watch ended with an error (410?): "
                     "relisting",
                     inf->path);
        pthread_mutex_unlock(&inf->mu);
        inf->api.watch_stop(w);
        pthread_mutex_lock(&inf->mu);
        if (need_list && !inf->stopping) {
            /* a 410 or similar: do not hammer the server */
            int64_t until = clock_mono_ns() + 100000000LL;
            while (!inf->stopping && clock_mono_ns() < until)
                wait_until(inf, until);
        }
    }
    pthread_mutex_unlock(&inf->mu);
    return NULL;
}

int ctrl_informer_start(struct ctrl_informer *inf)
{
    if (inf->started)
        return K1S_EINVAL;
    if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0)
        return K1S_ENOMEM;
    inf->started = true;
    return 0;
}

void ctrl_informer_stop(struct ctrl_informer *inf)
{
    if (inf == NULL || !inf->started)
        return;
    pthread_mutex_lock(&inf->mu);
    inf->stopping = true;
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->mu);
    pthread_join(inf->thread, NULL);
    inf->started = false;
}

static void decref_cb(void *v)
{
    json_decref(v);
}

void ctrl_informer_destroy(struct ctrl_informer *inf)
{
    if (inf == NULL)
        return;
    ctrl_informer_stop(inf);
    ctrl_map_destroy(inf->index, destroy_set);
    ctrl_map_destroy(inf->store, decref_cb);
    pthread_mutex_destroy(&inf->mu);
    pthread_mutex_destroy(&inf->dmu);
    pthread_cond_destroy(&inf->cond);
    free(inf->path);
    free(inf);
}

bool ctrl_informer_wait_synced(struct ctrl_informer *inf, int64_t timeout_ns)
{
    int64_t deadline = clock_mono_ns() + timeout_ns;
    bool s;
    pthread_mutex_lock(&inf->mu);
    while (!inf->synced && !inf->stopping && clock_mono_ns() < deadline)
        wait_until(inf, deadline);
    s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

bool ctrl_informer_synced(struct ctrl_informer *inf)
{
    bool s;
    pthread_mutex_lock(&inf->mu);
    s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

unsigned ctrl_informer_lists(struct ctrl_informer *inf)
{
    unsigned n;
    pthread_mutex_lock(&inf->mu);
    n = inf->lists;
    pthread_mutex_unlock(&inf->mu);
    return n;
}

json_t *ctrl_informer_get(struct ctrl_informer *inf, const char *key)
{
    json_t *o;
    pthread_mutex_lock(&inf->mu);
    o = json_incref(ctrl_map_get(inf->store, key));
    pthread_mutex_unlock(&inf->mu);
    return o;
}

struct list_ctx {
    json_t *out;
    const char *ns;
    bool (*filter)(const json_t *, void *);
    void *arg;
};

static int list_one(const char *key, void *val, void *arg)
{
    struct list_ctx *c = arg;
    (void)key;
    if (c->ns) {
        const char *ns = ctrl_jstr(val, "metadata.namespace");
        if (ns == NULL || strcmp(ns, c->ns) != 0)
            return 0;
    }
    if (c->filter && !c->filter(val, c->arg))
        return 0;
    json_array_append(c->out, val);
    return 0;
}

json_t *ctrl_informer_list(struct ctrl_informer *inf, const char *ns,
                           bool (*filter)(const json_t *obj, void *arg),
                           void *arg)
{
    struct list_ctx c = {json_array(), ns, filter, arg};
    if (c.out == NULL)
        return NULL;
    /* The filter runs under the store's mutex: it must be pure. */
    pthread_mutex_lock(&inf->mu);
    ctrl_map_each(inf->store, list_one, &c);
    pthread_mutex_unlock(&inf->mu);
    return c.out;
}
