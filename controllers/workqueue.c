/*
 * DESIGN: the de-duplicating work queue of client-go (util/workqueue):
 *
 *   queued      keys waiting (a set: adding a queued key is a no-op)
 *   processing  keys handed to a worker and not yet done
 *   ready       FIFO of queued keys that are not being processed
 *   delayed     min-heap of (due, key) for add_after / rate-limited adds
 *
 * A key added while it is processing stays in `queued` only and goes to
 * `ready` when the worker calls done, so one key is never reconciled by two
 * workers at once, yet no change is lost. Rate limiting is per key:
 * 5 ms * 2^failures, capped at 60 s (client-go's default item back-off is
 * 5 ms .. 1000 s; 60 s keeps a broken object from going quiet for long).
 *
 * Coalescing (ctrl_wq_add_coalesced): a key handed out less than
 * `interval` ago is not queued at once but for `interval` after that
 * start, so a burst of changes to what one key covers (a ReplicaSet's
 * 1,000 pods becoming Ready) costs one reconcile per interval instead of
 * one per change; a key quiet for longer is queued at once, so a lone
 * change is seen without delay. The start times are kept only while they
 * can matter (pruned once they are older than the longest interval asked
 * for).
 * One mutex, never held across anything but this file's code.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/controllers.h"
#include "lib/clock.h"
#include "lib/err.h"

#define WQ_BASE_DELAY_NS (5 * 1000000LL)
#define WQ_MAX_DELAY_NS (60 * 1000000000LL)

struct wq_delayed {
    int64_t due;
    char *key;
};

struct ctrl_wq {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct ctrl_map *queued;
    struct ctrl_map *processing;
    struct ctrl_map *failures;  /* key -> (intptr_t)count */
    struct ctrl_map *delay_due; /* key -> int64_t* earliest due */
    struct ctrl_map *started;   /* key -> int64_t* last handed out */
    int64_t coalesce_max;       /* longest interval asked for, 0: none */
    int64_t next_prune;
    char **ready;
    size_t rhead, rlen, rcap;
    struct wq_delayed *heap;
    size_t hlen, hcap;
    bool shutdown;
    char name[32];
};

static void *const PRESENT = (void *)1;

int ctrl_wq_create(const char *name, struct ctrl_wq **ret)
{
    struct ctrl_wq *q = calloc(1, sizeof *q);
    pthread_condattr_t ca;

    if (q == NULL)
        return K1S_ENOMEM;
    q->queued = ctrl_map_create();
    q->processing = ctrl_map_create();
    q->failures = ctrl_map_create();
    q->delay_due = ctrl_map_create();
    q->started = ctrl_map_create();
    if (!q->queued || !q->processing || !q->failures || !q->delay_due ||
        !q->started) {
        ctrl_wq_destroy(q);
        return K1S_ENOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(q->name, sizeof q->name, "%s", name ? name : "wq");
    *ret = q;
    return 0;
}

void ctrl_wq_destroy(struct ctrl_wq *q)
{
    if (q == NULL)
        return;
    if (q->queued) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cond);
    }
    for (size_t i = 0; i < q->rlen; i++)
        free(q->ready[(q->rhead + i) % q->rcap]);
    free(q->ready);
    for (size_t i = 0; i < q->hlen; i++)
        free(q->heap[i].key);
    free(q->heap);
    ctrl_map_destroy(q->queued, NULL);
    ctrl_map_destroy(q->processing, NULL);
    ctrl_map_destroy(q->failures, NULL);
    ctrl_map_destroy(q->delay_due, free);
    ctrl_map_destroy(q->started, free);
    free(q);
}

static int ready_push(struct ctrl_wq *q, const char *key)
{
    char *k;
    if (q->rlen == q->rcap) {
        size_t ncap = q->rcap ? q->rcap * 2 : 64;
        char **n = malloc(ncap * sizeof *n);
        if (n == NULL)
            return K1S_ENOMEM;
        for (size_t i = 0; i < q->rlen; i++)
            n[i] = q->ready[(q->rhead + i) % q->rcap];
        free(q->ready);
        q->ready = n;
        q->rcap = ncap;
        q->rhead = 0;
    }
    k = strdup(key);
    if (k == NULL)
        return K1S_ENOMEM;
    q->ready[(q->rhead + q->rlen) % q->rcap] = k;
    q->rlen++;
    return 0;
}

/* Locked. */
static void add_locked(struct ctrl_wq *q, const char *key)
{
    if (q->shutdown || ctrl_map_get(q->queued, key))
        return;
    if (ctrl_map_put(q->queued, key, PRESENT, NULL) != 0)
        return;
    if (ctrl_map_get(q->processing, key))
        return;
    if (ready_push(q, key) != 0) {
        ctrl_map_del(q->queued, key);
        return;
    }
    pthread_cond_signal(&q->cond);
}

void ctrl_wq_add(struct ctrl_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
}

static void heap_swap(struct wq_delayed *a, struct wq_delayed *b)
{
    struct wq_delayed t = *a;
    *a = *b;
    *b = t;
}

static void heap_push(struct ctrl_wq *q, int64_t due, char *key)
{
    size_t i;
    if (q->hlen == q->hcap) {
        size_t ncap = q->hcap ? q->hcap * 2 : 32;
        struct wq_delayed *n = realloc(q->heap, ncap * sizeof *n);
        if (n == NULL) {
            free(key);
            return;
        }
        q->heap = n;
        q->hcap = ncap;
    }
    i = q->hlen++;
    q->heap[i].due = due;
    q->heap[i].key = key;
    while (i > 0 && q->heap[(i - 1) / 2].due > q->heap[i].due) {
        heap_swap(&q->heap[(i - 1) / 2], &q->heap[i]);
        i = (i - 1) / 2;
    }
}

static struct wq_delayed heap_pop(struct ctrl_wq *q)
{
    struct wq_delayed top = q->heap[0];
    size_t i = 0;
    q->heap[0] = q->heap[--q->hlen];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->hlen && q->heap[l].due < q->heap[m].due)
            m = l;
        if (r < q->hlen && q->heap[r].due < q->heap[m].due)
            m = r;
        if (m == i)
            break;
        heap_swap(&q->heap[m], &q->heap[i]);
        i = m;
    }
    return top;
}

/* Locked. */
static void add_after_locked(struct ctrl_wq *q, const char *key, int64_t due)
{
    int64_t *cur;
    char *k;

    if (q->shutdown)
        return;
    cur = ctrl_map_get(q->delay_due, key);
    if (cur != NULL && *cur <= due)
        return; /* an earlier wake-up is already planned */
    if (cur == NULL) {
        cur = malloc(sizeof *cur);
        if (cur == NULL || ctrl_map_put(q->delay_due, key, cur, NULL) != 0) {
            free(cur);
            return;
        }
    }
    *cur = due;
    k = strdup(key);
    if (k != NULL)
        heap_push(q, due, k);
    pthread_cond_signal(&q->cond);
}

void ctrl_wq_add_after(struct ctrl_wq *q, const char *key, int64_t delay_ns)
{
    if (delay_ns <= 0) {
        ctrl_wq_add(q, key);
        return;
    }
    pthread_mutex_lock(&q->mu);
    add_after_locked(q, key, clock_mono_ns() + delay_ns);
    pthread_mutex_unlock(&q->mu);
}

void ctrl_wq_add_coalesced(struct ctrl_wq *q, const char *key,
                           int64_t interval_ns)
{
    int64_t now = clock_mono_ns(), *last;

    pthread_mutex_lock(&q->mu);
    if (interval_ns > q->coalesce_max)
        q->coalesce_max = interval_ns;
    if (ctrl_map_get(q->queued, key) == NULL) {
        last = ctrl_map_get(q->started, key);
        if (last == NULL || now - *last >= interval_ns)
            add_locked(q, key);
        else
            add_after_locked(q, key, *last + interval_ns);
    }
    pthread_mutex_unlock(&q->mu);
}

void ctrl_wq_add_rate_limited(struct ctrl_wq *q, const char *key)
{
    intptr_t n;
    int64_t delay;

    pthread_mutex_lock(&q->mu);
    n = (intptr_t)ctrl_map_get(q->failures, key);
    ctrl_map_put(q->failures, key, (void *)(n + 1), NULL);
    pthread_mutex_unlock(&q->mu);
    delay = WQ_BASE_DELAY_NS;
    for (intptr_t i = 0; i < n && delay < WQ_MAX_DELAY_NS; i++)
        delay *= 2;
    if (delay > WQ_MAX_DELAY_NS)
        delay = WQ_MAX_DELAY_NS;
    ctrl_wq_add_after(q, key, delay);
}

void ctrl_wq_forget(struct ctrl_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    ctrl_map_del(q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

int ctrl_wq_failures(struct ctrl_wq *q, const char *key)
{
    intptr_t n;
    pthread_mutex_lock(&q->mu);
    n = (intptr_t)ctrl_map_get(q->failures, key);
    pthread_mutex_unlock(&q->mu);
    return (int)n;
}

/* Locked: moves due delayed keys to the queue; returns the next due time
 * or 0 when nothing is delayed. */
static int64_t promote_due(struct ctrl_wq *q, int64_t now)
{
    while (q->hlen > 0 && q->heap[0].due <= now) {
        struct wq_delayed d = heap_pop(q);
        int64_t *cur = ctrl_map_get(q->delay_due, d.key);
        if (cur != NULL && *cur == d.due) {
            free(ctrl_map_del(q->delay_due, d.key));
            add_locked(q, d.key);
        }
        free(d.key);
    }
    return q->hlen > 0 ? q->heap[0].due : 0;
}

struct prune_ctx {
    int64_t before;
    char **stale;
    size_t n, cap;
};

static int collect_stale(const char *key, void *val, void *arg)
{
    struct prune_ctx *c = arg;
    char *k;
    if (*(int64_t *)val >= c->before)
        return 0;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        char **n = realloc(c->stale, ncap * sizeof *n);
        if (n == NULL)
            return 1; /* the rest waits for the next prune */
        c->stale = n;
        c->cap = ncap;
    }
    k = strdup(key);
    if (k == NULL)
        return 1;
    c->stale[c->n++] = k;
    return 0;
}

/* Locked: notes when key was handed out, for ctrl_wq_add_coalesced, and
 * about once a second forgets the starts too old to delay anything. */
static void note_start(struct ctrl_wq *q, const char *key, int64_t now)
{
    int64_t *t;

    if (q->coalesce_max == 0)
        return;
    if (now >= q->next_prune) {
        struct prune_ctx c = {now - q->coalesce_max, NULL, 0, 0};
        ctrl_map_each(q->started, collect_stale, &c);
        for (size_t i = 0; i < c.n; i++) {
            free(ctrl_map_del(q->started, c.stale[i]));
            free(c.stale[i]);
        }
        free(c.stale);
        q->next_prune = now + 1000000000LL;
    }
    t = ctrl_map_get(q->started, key);
    if (t == NULL) {
        t = malloc(sizeof *t);
        if (t == NULL || ctrl_map_put(q->started, key, t, NULL) != 0) {
            free(t);
            return;
        }
    }
    *t = now;
}

int ctrl_wq_get(struct ctrl_wq *q, char **ret_key)
{
    int rv = 0;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        int64_t next, now;
        if (q->shutdown) {
            rv = K1S_ESHUTDOWN;
            break;
        }
        now = clock_mono_ns();
        next = promote_due(q, now);
        if (q->rlen > 0) {
            char *k = q->ready[q->rhead];
            q->rhead = (q->rhead + 1) % q->rcap;
            q->rlen--;
            ctrl_map_del(q->queued, k);
            ctrl_map_put(q->processing, k, PRESENT, NULL);
            note_start(q, k, now);
            *ret_key = k;
            break;
        }
        if (next != 0) {
            struct timespec ts = {.tv_sec = next / 1000000000LL,
                                  .tv_nsec = next % 1000000000LL};
            pthread_cond_timedwait(&q->cond, &q->mu, &ts);
        } else {
            pthread_cond_wait(&q->cond, &q->mu);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return rv;
}

void ctrl_wq_done(struct ctrl_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    ctrl_map_del(q->processing, key);
    if (!q->shutdown && ctrl_map_get(q->queued, key)) {
        if (ready_push(q, key) == 0)
            pthread_cond_signal(&q->cond);
        else
            ctrl_map_del(q->queued, key);
    }
    pthread_mutex_unlock(&q->mu);
}

void ctrl_wq_shutdown(struct ctrl_wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutdown = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

size_t ctrl_wq_len(struct ctrl_wq *q)
{
    size_t n;
    pthread_mutex_lock(&q->mu);
    n = q->rlen;
    pthread_mutex_unlock(&q->mu);
    return n;
}
