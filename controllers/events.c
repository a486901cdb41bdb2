/*
 * DESIGN: the event recorder (client-go's record.EventBroadcaster +
 * EventCorrelator, reduced). Callers queue an event and return at once; the
 * recorder thread writes it. An event equal to one already written (same
 * involved object uid, type, reason, message and source) is not written
 * again: the existing Event gets count+1 and a new lastTimestamp with a PUT,
 * which is what `kubectl describe` shows as "(x5 over 2m)". The cache of
 * written events holds at most 4096 entries (cleared when full); the
 * queue holds at most 4096 waiting events (newer ones are dropped, as
 * client-go drops when its channel is full).
 *
 * Spam filter (client-go's EventSourceObjectSpamFilter): per source and
 * involved object a token bucket of 25 events refilled at one per 5
 * minutes, so a ReplicaSet creating 1,000 pods records 25 SuccessfulCreate
 * events, not 1,000 — as on a real cluster. Buckets: at most 4096, the
 * table is reset when full.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/controllers.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define EV_QUEUE_MAX 4096
#define EV_CACHE_MAX 4096
#define EV_BURST 25
#define EV_REFILL_NS (300 * 1000000000LL)

struct ev_bucket {
    double tokens;
    int64_t last; /* mono ns */
};

struct ctrl_events {
    struct ctrl_api api;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    json_t *queue; /* array of [dedup key, event] */
    bool stopping;
    pthread_t thread;
    struct ctrl_map *cache;   /* dedup key -> json_t* written event */
    struct ctrl_map *buckets; /* source|uid -> struct ev_bucket* (mu) */
};

/* Locked (ev->mu). True when the event may be recorded. */
static bool spam_allow(struct ctrl_events *ev, const char *key)
{
    struct ev_bucket *b = ctrl_map_get(ev->buckets, key);
    int64_t now = clock_mono_ns();

    if (b == NULL) {
        if (ctrl_map_len(ev->buckets) >= EV_CACHE_MAX) {
            ctrl_map_destroy(ev->buckets, free);
            ev->buckets = ctrl_map_create();
            if (ev->buckets == NULL)
                return true;
        }
        b = calloc(1, sizeof *b);
        if (b == NULL || ctrl_map_put(ev->buckets, key, b, NULL) != 0) {
            free(b);
            return true;
        }
        b->tokens = EV_BURST;
        b->last = now;
    }
    b->tokens += (double)(now - b->last) / (double)EV_REFILL_NS;
    if (b->tokens > EV_BURST)
        b->tokens = EV_BURST;
    b->last = now;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

static void decref_cb(void *v)
{
    json_decref(v);
}

static void write_event(struct ctrl_events *ev, const char *key, json_t *e)
{
    json_t *prev = ctrl_map_get(ev->cache, key), *ret = NULL;
    const char *ns = ctrl_jstr(e, "metadata.namespace");
    char path[512];
    int st;

    if (prev != NULL) {
        json_t *upd = json_deep_copy(prev);
        const char *name = ctrl_jstr(prev, "metadata.name");
        json_object_set_new(upd, "count",
                            json_integer(ctrl_jint(prev, "count", 1) + 1));
        json_object_set(upd, "lastTimestamp",
                        json_object_get(e, "lastTimestamp"));
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", ns,
                 name);
        st = ev->api.call(ev->api.ctx, "PUT", path, NULL, upd, &ret);
        json_decref(upd);
        if (st == 200 && json_is_object(ret)) {
            ctrl_map_put(ev->cache, key, ret, NULL);
            json_decref(prev);
            return;
        }
        json_decref(ret);
        ret = NULL;
        json_decref(ctrl_map_del(ev->cache, key));
    }
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
    st = ev->api.call(ev->api.ctx, "POST", path, NULL, e, &ret);
    if (st != 201 && st != 200) {
        log_debug("events: create in %s: %d", ns, st);
        json_decref(ret);
        return;
    }
    if (ctrl_map_len(ev->cache) >= EV_CACHE_MAX) {
        ctrl_map_destroy(ev->cache, decref_cb);
        ev->cache = ctrl_map_create();
        if (ev->cache == NULL) {
            json_decref(ret);
            return;
        }
    }
    if (ctrl_map_put(ev->cache, key, ret, NULL) != 0)
        json_decref(ret);
}

static void *events_main(void *arg)
{
    struct ctrl_events *ev = arg;

    pthread_setname_np(pthread_self(), "k1s-events");
    pthread_mutex_lock(&ev->mu);
    for (;;) {
        json_t *batch;
        size_t i;
        json_t *it;
        while (!ev->stopping && json_array_size(ev->queue) == 0)
            pthread_cond_wait(&ev->cond, &ev->mu);
        if (ev->stopping)
            break;
        batch = ev->queue;
        ev->queue = json_array();
        pthread_mutex_unlock(&ev->mu);
        json_array_foreach (batch, i, it) {
            write_event(ev, json_string_value(json_array_get(it, 0)),
                        json_array_get(it, 1));
        }
        json_decref(batch);
        pthread_mutex_lock(&ev->mu);
        if (ev->queue == NULL)
            break;
    }
    pthread_mutex_unlock(&ev->mu);
    return NULL;
}

int ctrl_events_start(const struct ctrl_api *api, struct ctrl_events **ret)
{
    struct ctrl_events *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return K1S_ENOMEM;
    ev->api = *api;
    ev->queue = json_array();
    ev->cache = ctrl_map_create();
    ev->buckets = ctrl_map_create();
    if (ev->queue == NULL || ev->cache == NULL || ev->buckets == NULL)
        goto err;
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->cond, NULL);
    if (pthread_create(&ev->thread, NULL, events_main, ev) != 0) {
        pthread_mutex_destroy(&ev->mu);
        pthread_cond_destroy(&ev->cond);
        goto err;
    }
    *ret = ev;
    return 0;
err:
    json_decref(ev->queue);
    ctrl_map_destroy(ev->cache, NULL);
    ctrl_map_destroy(ev->buckets, NULL);
    free(ev);
    return K1S_ENOMEM;
}

void ctrl_events_stop(struct ctrl_events *ev)
{
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->stopping = true;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->mu);
    pthread_join(ev->thread, NULL);
    json_decref(ev->queue);
    ctrl_map_destroy(ev->cache, decref_cb);
    ctrl_map_destroy(ev->buckets, free);
    pthread_mutex_destroy(&ev->mu);
    pthread_cond_destroy(&ev->cond);
    free(ev);
}

void ctrl_event(struct ctrl_events *ev, const json_t *obj,
                const char *component, const char *type, const char *reason,
                const char *fmt, ...)
{
    char msg[1024], now[32], name[300], key[1600], skey[600];
    const char *ns, *oname, *uid;
    json_t *e;
    va_list ap;

    if (ev == NULL || obj == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ns = ctrl_jstr(obj, "metadata.namespace");
    if (ns == NULL || ns[0] == '\0')
        ns = "default"; /* events about cluster-scoped objects */
    oname = ctrl_jstr(obj, "metadata.name");
    uid = ctrl_jstr(obj, "metadata.uid");
    if (oname == NULL)
        return;
    ctrl_now(now, sizeof now);
    snprintf(name, sizeof name, "%.200s.%llx", oname,
             (unsigned long long)clock_real_ns());
    e = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:{s:s?,s:s?,s:s,s:s?,s:s?,s:s?},"
        "s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:s,s:s,s:n}",
        "apiVersion", "v1", "kind", "Event", "metadata", "name", name,
        "namespace", ns, "involvedObject", "kind", ctrl_jstr(obj, "kind"),
        "namespace", ctrl_jstr(obj, "metadata.namespace"), "name", oname, "uid",
        uid, "apiVersion", ctrl_jstr(obj, "apiVersion"), "resourceVersion",
        ctrl_jstr(obj, "metadata.resourceVersion"), "reason", reason, "message",
        msg, "source", "component", component, "firstTimestamp", now,
        "lastTimestamp", now, "count", 1, "type", type, "reportingComponent",
        component, "reportingInstance", component, "eventTime");
    if (e == NULL)
        return;
    snprintf(key, sizeof key, "%s|%s|%s|%s|%s|%s", uid ? uid : oname, type,
             reason, component, ns, msg);
    snprintf(skey, sizeof skey, "%s|%s", component, uid ? uid : oname);
    pthread_mutex_lock(&ev->mu);
    if (!spam_allow(ev, skey)) {
        json_decref(e);
    } else if (json_array_size(ev->queue) < EV_QUEUE_MAX) {
        json_array_append_new(ev->queue, json_pack("[so]", key, e));
        pthread_cond_signal(&ev->cond);
    } else {
        json_decref(e);
    }
    pthread_mutex_unlock(&ev->mu);
}
