/*
 * nscache.c — the namespace a create goes into: missing, active or
 * terminating (Kubernetes's NamespaceLifecycle admission).
 *
 * Every namespaced create asks; reading the namespace from the store each
 * time cost a read transaction per create (a tenth of the server's CPU in
 * bench_api's create phase). Kubernetes answers from an informer cache and
 * reads live only on a miss; here a small direct-mapped table holds the
 * answers, and a store watch on /registry/namespaces/ invalidates all of
 * them whenever any namespace changes. Namespaces change rarely, so one
 * generation counter is enough: a slot is valid only if it was filled in
 * the current generation.
 *
 * Ordering: the store publishes a batch to its watchers before it answers
 * the batch's writers, so once `kubectl delete ns x` has its answer the
 * watch has flagged the change, and the next lookup drains the flag, bumps
 * the generation and reads the store again. A lookup that read the store
 * before a change fills its slot only if the generation has not moved
 * since it started.
 *
 * The watch's notify callback runs on the store's apply thread with the
 * store's hub lock held: it only sets an atomic flag. Events are drained
 * (and dropped) by the next lookup; a watch the store cut off is replaced.
 * Until the first lookup, and after api_nscache_stop, every lookup reads
 * the store.
 */
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/store.h"

static void nsc_notify_cb(struct store_watch *w, void *arg)
{
    struct api_nscache *nc = arg;
    (void)w;
    atomic_store(&nc->dirty, true);
}

void api_nscache_init(struct api_nscache *nc)
{
    memset(nc, 0, sizeof *nc);
    pthread_mutex_init(&nc->mu, NULL);
    atomic_init(&nc->dirty, false);
}

void api_nscache_stop(struct api_nscache *nc)
{
    pthread_mutex_lock(&nc->mu);
    nc->stopped = true;
    if (nc->w != NULL)
        store_watch_cancel(nc->w);
    nc->w = NULL;
    nc->gen++;
    pthread_mutex_unlock(&nc->mu);
}

void api_nscache_close(struct api_nscache *nc)
{
    api_nscache_stop(nc);
    pthread_mutex_destroy(&nc->mu);
}

/* Called with nc->mu held: (re)arms the watch and drops what it queued.
 * Any change, or a lost watch, starts a new generation. */
static void nsc_refresh(struct api_nscache *nc, struct store *s)
{
    struct store_event evs[16];
    int n;

    if (nc->stopped)
        return;
    if (nc->w == NULL) {
        int rv = store_watch(s, "/registry/namespaces/", 0, nsc_notify_cb, nc,
                             &nc->w);
        if (rv != 0) {
            nc->w = NULL;
            log_debug("apiserver: namespace cache: cannot watch: %s",
                      err_str(rv));
            return;
        }
        atomic_store(&nc->dirty, false);
        nc->gen++;
        return;
    }
    if (!atomic_exchange(&nc->dirty, false))
        return;
    nc->gen++;
    /* bounded: the queue is bounded, and a watcher that falls behind is
     * cut off rather than fed without end */
    for (int round = 0; round < 1024; round++) {
        n = store_watch_poll(nc->w, evs, 16);
        for (int i = 0; i < n; i++)
            store_event_clear(&evs[i]);
        if (n < 16)
            break;
    }
    if (n < 0) {
        store_watch_cancel(nc->w);
        nc->w = NULL;
    } else if (n == 16) {
        atomic_store(&nc->dirty, true); /* more to drain next time */
    }
}

static size_t nsc_slot(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % API_NSCACHE_SLOTS;
}

/* Reads namespace `name` from the store. */
static enum api_ns_state nsc_read(struct store *s, const char *name)
{
    char key[512];
    struct store_kv kv;
    enum api_ns_state st = API_NS_ACTIVE;
    json_t *obj, *meta;
    const char *phase;

    if (snprintf(key, sizeof key, "/registry/namespaces/%s", name) >=
        (int)sizeof key)
        return API_NS_MISSING;
    if (store_get(s, key, &kv, NULL) != 0)
        return API_NS_MISSING;
    obj = json_loadb(kv.value, kv.value_len, 0, NULL);
    store_kv_clear(&kv);
    meta = json_object_get(obj, "metadata");
    phase = json_string_value(
        json_object_get(json_object_get(obj, "status"), "phase"));
    if (json_object_get(meta, "deletionTimestamp") != NULL ||
        (phase != NULL && strcmp(phase, "Terminating") == 0))
        st = API_NS_TERMINATING;
    json_decref(obj);
    return st;
}

enum api_ns_state api_nscache_lookup(struct api_nscache *nc, struct store *s,
                                     const char *name)
{
    size_t len = strlen(name), i = nsc_slot(name);
    enum api_ns_state st;
    uint64_t gen;
    bool cached;

    pthread_mutex_lock(&nc->mu);
    nsc_refresh(nc, s);
    cached = nc->w != NULL && len < sizeof nc->slots[i].name &&
             nc->slots[i].gen == nc->gen && nc->slots[i].state != 0 &&
             strcmp(nc->slots[i].name, name) == 0;
    st = (enum api_ns_state)nc->slots[i].state;
    gen = nc->gen;
    pthread_mutex_unlock(&nc->mu);
    if (cached)
        return st;
    st = nsc_read(s, name);
    pthread_mutex_lock(&nc->mu);
    if (nc->w != NULL && nc->gen == gen && st != API_NS_MISSING &&
        len < sizeof nc->slots[i].name) {
        memcpy(nc->slots[i].name, name, len + 1);
        nc->slots[i].gen = gen;
        nc->slots[i].state = (int)st;
    }
    pthread_mutex_unlock(&nc->mu);
    return st;
}
