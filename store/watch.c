/*
 * DESIGN: watchers. A watcher delivers every change with revision >
 * from_rev under its prefix, in order, exactly once, from two sources:
 *
 *  1. catch-up: revisions (from_rev, catch_end] are read from the history
 *     table in chunks by store_watch_poll (catch_end = the revision
 *     published when the watcher registered);
 *  2. live: events the apply thread publishes after registration (all
 *     with revision > catch_end), queued per watcher.
 *
 * Poll drains (1) before (2), so order holds and nothing is seen twice:
 * the apply thread publishes a batch only after its transaction committed,
 * so everything <= published is in the database, and a live event is
 * queued only if its revision is > from_rev (a client that listed at a
 * revision the watchers have not been told about yet is not sent it again).
 *
 * Events are built once per change and shared by reference count between
 * the queues. A queue holding watch_queue_max events when another arrives
 * is dropped and the watcher cut off (K1S_ESLOW): memory per watcher is
 * bounded, and the client re-lists (etcd and the Kubernetes watch cache do
 * the same). A catch-up that finds its revisions compacted away is cut off
 * the same way.
 *
 * The hub (the list of watchers) outlives the store while watchers remain,
 * so a watcher may be cancelled after store_close. Callbacks run on the
 * apply thread with no lock held; a watcher's in_cb count lets cancel wait
 * for a callback in progress, so none runs after cancel returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#include "store/store_int.h"

#define CATCHUP_CHUNK 256

struct store_watch {
    struct store_hub *hub;
    struct store_watch *prev, *next;
    char *prefix;
    size_t plen;
    char *hi; /* the prefix's successor, for history reads; NULL: none */
    size_t hilen;
    int64_t from_rev;
    int64_t catch_next; /* catch-up still to read: (catch_next, catch_end] */
    int64_t catch_end;
    struct store_sevent **q; /* ring buffer of live events */
    size_t qcap, qhead, qlen;
    int cut; /* 0, K1S_ESLOW or K1S_ESHUTDOWN */
    bool linked, canceled, kick, busy, free_pending;
    int in_cb;
    int waiters;
    pthread_cond_t cond;
    store_watch_notify_cb notify;
    void *arg;
};

struct store_hub {
    pthread_mutex_t mu;
    struct store *s; /* NULL after shutdown */
    int refs;
    size_t queue_max;
    int64_t published;
    struct store_watch *head;
    atomic_bool any;
    int readers; /* history reads in progress */
    pthread_cond_t readers_cond;
    bool shutdown;
    struct store_watch **cbs; /* apply thread's scratch */
    size_t ncbs, cbcap;
};

static _Thread_local struct store_hub *tl_cb_hub;

/* --- shared events ----------------------------------------------------- */

struct store_sevent *
store_sevent_new(uint8_t type, int64_t rev, int64_t create_rev, const char *key,
                 size_t keylen, const void *value, size_t vlen,
                 const void *prev, size_t plen, bool has_prev, int64_t prev_mod)
{
    size_t size = sizeof(struct store_sevent) + keylen + 1 + vlen + 1 +
                  (has_prev ? plen + 1 : 0);
    struct store_sevent *e = malloc(size);
    char *p;

    if (e == NULL)
        return NULL;
    atomic_init(&e->refs, 1);
    e->type = type;
    e->rev = rev;
    e->create_rev = create_rev;
    e->commit_ns = 0;
    e->prev_mod = has_prev ? prev_mod : 0;
    p = (char *)(e + 1);
    e->key = p;
    e->keylen = keylen;
    memcpy(p, key, keylen);
    p[keylen] = '\0';
    p += keylen + 1;
    e->value = p;
    e->vlen = vlen;
    if (vlen > 0)
        memcpy(p, value, vlen);
    p[vlen] = '\0';
    p += vlen + 1;
    if (has_prev) {
        e->prev = p;
        e->plen = plen;
        if (plen > 0)
            memcpy(p, prev, plen);
        p[plen] = '\0';
    } else {
        e->prev = NULL;
        e->plen = 0;
    }
    return e;
}

void store_sevent_unref(struct store_sevent *e)
{
    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1)
        free(e);
}

static char *dup_bytes(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

int store_sevent_copy(const struct store_sevent *e, struct store_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = (enum store_event_type)e->type;
    ev->kv.key = dup_bytes(e->key, e->keylen);
    ev->kv.value = dup_bytes(e->value, e->vlen);
    ev->kv.value_len = e->vlen;
    ev->kv.create_rev = e->create_rev;
    ev->kv.mod_rev = e->rev;
    if (e->prev != NULL) {
        ev->prev_value = dup_bytes(e->prev, e->plen);
        ev->prev_value_len = e->plen;
    }
    if (ev->kv.key == NULL || ev->kv.value == NULL ||
        (e->prev != NULL && ev->prev_value == NULL)) {
        store_event_clear(ev);
        return K1S_ENOMEM;
    }
    return 0;
}

/* --- hub --------------------------------------------------------------- */

int store_hub_create(struct store *s, size_t queue_max, struct store_hub **ret)
{
    struct store_hub *h = calloc(1, sizeof *h);

    if (h == NULL)
        return K1S_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->readers_cond, NULL);
    h->s = s;
    h->refs = 1;
    h->queue_max = queue_max ? queue_max : STORE_DEFAULT_WATCH_QUEUE;
    atomic_init(&h->any, false);
    *ret = h;
    return 0;
}

static void hub_unref_locked(struct store_hub *h, bool *ret_free)
{
    *ret_free = --h->refs == 0;
}

static void hub_free(struct store_hub *h)
{
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->readers_cond);
    free(h->cbs);
    free(h);
}

void store_hub_release(struct store_hub *h)
{
    bool dofree;

    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    hub_unref_locked(h, &dofree);
    pthread_mutex_unlock(&h->mu);
    if (dofree)
        hub_free(h);
}

void store_hub_set_published(struct store_hub *h, int64_t rev)
{
    pthread_mutex_lock(&h->mu);
    h->published = rev;
    pthread_mutex_unlock(&h->mu);
}

bool store_hub_has_watchers(struct store_hub *h)
{
    return atomic_load(&h->any);
}

static void unlink_watch(struct store_hub *h, struct store_watch *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        h->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->linked = false;
    atomic_store(&h->any, h->head != NULL);
}

static void queue_clear(struct store_watch *w)
{
    while (w->qlen > 0) {
        store_sevent_unref(w->q[w->qhead]);
        w->qhead = (w->qhead + 1) % w->qcap;
        w->qlen--;
    }
    w->qhead = 0;
}

static void watch_free(struct store_watch *w)
{
    queue_clear(w);
    free(w->q);
    pthread_cond_destroy(&w->cond);
    free(w->prefix);
    free(w->hi);
    free(w);
}

/* Queues `e` (a new reference); cuts the watcher off when full. */
static void queue_push(struct store_hub *h, struct store_watch *w,
                       struct store_sevent *e)
{
    if (w->qlen == w->qcap) {
        size_t ncap;
        struct store_sevent **nq;

        if (w->qcap >= h->queue_max) {
            queue_clear(w);
            w->cut = K1S_ESLOW;
            return;
        }
        ncap = w->qcap ? w->qcap * 2 : 16;
        if (ncap > h->queue_max)
            ncap = h->queue_max;
        nq = malloc(ncap * sizeof *nq);
        if (nq == NULL) {
            queue_clear(w);
            w->cut = K1S_ESLOW;
            return;
        }
        for (size_t i = 0; i < w->qlen; i++)
            nq[i] = w->q[(w->qhead + i) % w->qcap];
        free(w->q);
        w->q = nq;
        w->qcap = ncap;
        w->qhead = 0;
    }
    atomic_fetch_add(&e->refs, 1);
    w->q[(w->qhead + w->qlen) % w->qcap] = e;
    w->qlen++;
}

/* Adds `w` to the callback list (in_cb keeps it alive). */
static void collect_cb(struct store_hub *h, struct store_watch *w)
{
    if (w->waiters > 0)
        pthread_cond_broadcast(&w->cond);
    if (w->notify == NULL)
        return;
    if (h->ncbs == h->cbcap) {
        size_t ncap = h->cbcap ? h->cbcap * 2 : 16;
        struct store_watch **n = realloc(h->cbs, ncap * sizeof *n);
        if (n == NULL)
            return; /* the waiter was woken; the callback is lost */
        h->cbs = n;
        h->cbcap = ncap;
    }
    w->in_cb++;
    h->cbs[h->ncbs++] = w;
}

/* Calls the collected callbacks with no lock held. Called with h->mu
 * held; returns with it held. */
static void run_cbs(struct store_hub *h)
{
    size_t n = h->ncbs;

    if (n == 0)
        return;
    h->ncbs = 0;
    /* The array may grow while unlocked (a nested collect is impossible:
     * only the apply thread collects), so the pointers are stable. */
    pthread_mutex_unlock(&h->mu);
    tl_cb_hub = h;
    for (size_t i = 0; i < n; i++) {
        struct store_watch *w = h->cbs[i];
        bool skip;

        pthread_mutex_lock(&h->mu);
        skip = w->canceled;
        pthread_mutex_unlock(&h->mu);
        if (!skip)
            w->notify(w, w->arg);
    }
    tl_cb_hub = NULL;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < n; i++) {
        struct store_watch *w = h->cbs[i];
        if (--w->in_cb == 0 && w->canceled) {
            if (w->free_pending) {
                bool dofree;
                watch_free(w);
                hub_unref_locked(h, &dofree); /* the store holds a ref */
            } else {
                pthread_cond_broadcast(&w->cond);
            }
        }
    }
}

static bool key_matches(const struct store_watch *w, const char *key,
                        size_t keylen)
{
    return keylen >= w->plen && memcmp(key, w->prefix, w->plen) == 0;
}

void store_hub_publish(struct store_hub *h, struct store_sevent **evs, size_t n,
                       int64_t rev)
{
    pthread_mutex_lock(&h->mu);
    for (struct store_watch *w = h->head; w != NULL; w = w->next) {
        bool touched = false;

        for (size_t i = 0; i < n && w->cut == 0; i++) {
            if (evs[i]->rev <= w->from_rev ||
                !key_matches(w, evs[i]->key, evs[i]->keylen))
                continue;
            queue_push(h, w, evs[i]);
            touched = true;
        }
        if (touched)
            collect_cb(h, w);
    }
    if (rev > h->published)
        h->published = rev;
    run_cbs(h);
    pthread_mutex_unlock(&h->mu);
}

void store_hub_publish_none(struct store_hub *h, int64_t rev)
{
    pthread_mutex_lock(&h->mu);
    for (struct store_watch *w = h->head; w != NULL; w = w->next) {
        if (w->cut != 0 || w->catch_end >= rev || w->from_rev >= rev)
            continue;
        if (w->qlen > 0) {
            /* Cannot happen: a watcher with queued live events existed
             * when the batch began, so its events were built. Refuse to
             * reorder; cut it off. */
            queue_clear(w);
            w->cut = K1S_ESLOW;
        } else {
            w->catch_end = rev;
        }
        collect_cb(h, w);
    }
    if (rev > h->published)
        h->published = rev;
    run_cbs(h);
    pthread_mutex_unlock(&h->mu);
}

void store_hub_kick(struct store_hub *h)
{
    pthread_mutex_lock(&h->mu);
    for (struct store_watch *w = h->head; w != NULL; w = w->next) {
        if (w->kick) {
            w->kick = false;
            collect_cb(h, w);
        }
    }
    run_cbs(h);
    pthread_mutex_unlock(&h->mu);
}

void store_hub_shutdown(struct store_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->shutdown = true;
    while (h->head != NULL) {
        struct store_watch *w = h->head;
        if (w->cut == 0)
            w->cut = K1S_ESHUTDOWN;
        unlink_watch(h, w);
        collect_cb(h, w);
    }
    run_cbs(h);
    while (h->readers > 0)
        pthread_cond_wait(&h->readers_cond, &h->mu);
    h->s = NULL;
    pthread_mutex_unlock(&h->mu);
}

/* --- watch API --------------------------------------------------------- */

int store_watch(struct store *s, const char *prefix, int64_t from_rev,
                store_watch_notify_cb notify, void *arg,
                struct store_watch **ret_w)
{
    struct store_hub *h;
    struct store_watch *w;
    struct store_state *st;
    size_t plen;
    bool kick = false;
    int rv;

    if (s == NULL || ret_w == NULL || from_rev < 0)
        return K1S_EINVAL;
    if (prefix == NULL)
        prefix = "";
    plen = strlen(prefix);
    if (plen > STORE_MAX_KEY)
        return K1S_EINVAL;
    st = store_get_state(s);
    h = NULL;
    w = calloc(1, sizeof *w);
    if (w == NULL)
        return K1S_ENOMEM;
    w->prefix = dup_bytes(prefix, plen);
    if (w->prefix == NULL) {
        free(w);
        return K1S_ENOMEM;
    }
    w->plen = plen;
    w->hilen = plen;
    while (w->hilen > 0 && (unsigned char)prefix[w->hilen - 1] == 0xff)
        w->hilen--;
    if (w->hilen > 0) {
        w->hi = dup_bytes(prefix, w->hilen);
        if (w->hi == NULL) {
            free(w->prefix);
            free(w);
            return K1S_ENOMEM;
        }
        w->hi[w->hilen - 1] = (char)((unsigned char)w->hi[w->hilen - 1] + 1);
    }
    pthread_cond_init(&w->cond, NULL);
    w->notify = notify;
    w->arg = arg;

    h = store_get_hub(s);
    pthread_mutex_lock(&h->mu);
    if (h->shutdown) {
        rv = K1S_ESHUTDOWN;
        goto err_locked;
    }
    if (from_rev != 0 && from_rev < store_state_compact(st) - 1) {
        rv = K1S_EGONE;
        goto err_locked;
    }
    if (from_rev == 0)
        from_rev = h->published;
    w->hub = h;
    w->from_rev = from_rev;
    w->catch_next = from_rev;
    w->catch_end = from_rev < h->published ? h->published : from_rev;
    if (w->catch_end > w->catch_next && notify != NULL) {
        w->kick = true;
        kick = true;
    }
    w->next = h->head;
    if (h->head)
        h->head->prev = w;
    h->head = w;
    w->linked = true;
    h->refs++;
    atomic_store(&h->any, true);
    pthread_mutex_unlock(&h->mu);
    if (kick)
        store_request_kick(s);
    *ret_w = w;
    return 0;

err_locked:
    pthread_mutex_unlock(&h->mu);
    watch_free(w);
    return rv;
}

/* Reads the next chunk of catch-up into the caller's array. Called with
 * h->mu held; returns with it held. */
static int catch_up(struct store_hub *h, struct store_watch *w,
                    struct store_event *evs, int64_t *ts, size_t max,
                    size_t *ret_n)
{
    struct store_sevent *chunk[CATCHUP_CHUNK];
    struct store_state *st;
    int64_t after = w->catch_next, upto = w->catch_end, next;
    size_t n = 0, got = 0;
    int rv;

    *ret_n = 0;
    if (max > CATCHUP_CHUNK)
        max = CATCHUP_CHUNK;
    st = store_get_state(h->s);
    h->readers++;
    w->busy = true;
    pthread_mutex_unlock(&h->mu);
    rv = store_state_history(st, after, upto, w->prefix, w->plen, w->hi,
                             w->hilen, max, chunk, &n, &next);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        rv = store_sevent_copy(chunk[i], &evs[i]);
        if (rv != 0) {
            while (i > 0)
                store_event_clear(&evs[--i]);
        } else if (ts != NULL) {
            ts[i] = 0;
        }
    }
    if (rv == 0)
        got = n;
    for (size_t i = 0; i < n; i++)
        store_sevent_unref(chunk[i]);
    pthread_mutex_lock(&h->mu);
    w->busy = false;
    if (w->canceled)
        pthread_cond_broadcast(&w->cond);
    if (--h->readers == 0)
        pthread_cond_broadcast(&h->readers_cond);
    if (rv == K1S_EGONE) {
        queue_clear(w);
        w->cut = K1S_ESLOW;
        return 0;
    }
    if (rv != 0)
        return rv;
    w->catch_next = next;
    *ret_n = got;
    return 0;
}

int store_watch_poll_ts(struct store_watch *w, struct store_event *evs,
                        int64_t *ret_commit_ns, size_t max)
{
    struct store_hub *h;
    size_t n = 0;
    int rv = 0;

    if (w == NULL || (evs == NULL && max > 0))
        return K1S_EINVAL;
    h = w->hub;
    pthread_mutex_lock(&h->mu);
    if (w->busy) {
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
    while (max > 0 && w->cut == 0 && w->catch_next < w->catch_end &&
           !h->shutdown && n == 0) {
        rv = catch_up(h, w, evs, ret_commit_ns, max, &n);
        if (rv != 0) {
            pthread_mutex_unlock(&h->mu);
            return rv;
        }
    }
    if (n > 0) {
        pthread_mutex_unlock(&h->mu);
        return (int)n;
    }
    if (w->catch_next < w->catch_end && w->cut == 0 && h->shutdown)
        w->cut = K1S_ESHUTDOWN;
    while (n < max && w->qlen > 0 && w->catch_next >= w->catch_end) {
        struct store_sevent *e = w->q[w->qhead];
        rv = store_sevent_copy(e, &evs[n]);
        if (rv != 0)
            break;
        if (ret_commit_ns != NULL)
            ret_commit_ns[n] = e->commit_ns;
        store_sevent_unref(e);
        w->qhead = (w->qhead + 1) % w->qcap;
        w->qlen--;
        n++;
    }
    if (n == 0 && rv == 0 && w->cut != 0 && w->qlen == 0)
        rv = w->cut;
    pthread_mutex_unlock(&h->mu);
    if (n > 0)
        return (int)n;
    return rv;
}

int store_watch_poll(struct store_watch *w, struct store_event *evs, size_t max)
{
    return store_watch_poll_ts(w, evs, NULL, max);
}

static bool watch_ready(struct store_hub *h, struct store_watch *w)
{
    return w->qlen > 0 || w->cut != 0 || h->shutdown ||
           w->catch_next < w->catch_end;
}

int store_watch_wait(struct store_watch *w, int timeout_ms)
{
    struct store_hub *h;
    struct timespec deadline;
    int rv = 0;

    if (w == NULL)
        return K1S_EINVAL;
    h = w->hub;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&h->mu);
    w->waiters++;
    while (!watch_ready(h, w)) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&w->cond, &h->mu);
        } else if (pthread_cond_timedwait(&w->cond, &h->mu, &deadline) ==
                   ETIMEDOUT) {
            if (!watch_ready(h, w))
                rv = K1S_ETIMEOUT;
            break;
        }
    }
    w->waiters--;
    pthread_mutex_unlock(&h->mu);
    return rv;
}

void store_watch_cancel(struct store_watch *w)
{
    struct store_hub *h;
    bool dofree;

    if (w == NULL)
        return;
    h = w->hub;
    pthread_mutex_lock(&h->mu);
    unlink_watch(h, w);
    w->canceled = true;
    if (w->in_cb > 0 && tl_cb_hub == h) {
        /* Cancelled from inside a callback on the apply thread: run_cbs
         * frees it once the callbacks are done. */
        w->free_pending = true;
        pthread_mutex_unlock(&h->mu);
        return;
    }
    while (w->in_cb > 0 || w->busy)
        pthread_cond_wait(&w->cond, &h->mu);
    hub_unref_locked(h, &dofree);
    pthread_mutex_unlock(&h->mu);
    watch_free(w);
    if (dofree)
        hub_free(h);
}
