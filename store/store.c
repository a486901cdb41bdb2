/*
 * DESIGN: the store's front door (store.h) and its write pipeline.
 *
 * A write is a request on the caller's stack, queued to the store-log
 * thread; the caller then sleeps on the request's semaphore. The pipeline
 * has two stages, each a thread, and NBATCH batch slots between them:
 *
 *   store-log    takes every queued request at once (up to WRITER_BATCH),
 *                encodes each as a log entry (term 1, the next indexes) and
 *                appends them with one store_log_append — one transaction,
 *                one fsync: group commit — then hands the batch on;
 *   store-apply  applies the batch to the state database in one
 *                transaction, publishes the changes to the watchers and
 *                wakes the callers with their results.
 *
 * While one batch is being applied the next one is being fsynced, and
 * while both slots are busy new requests queue up, so the batch grows with
 * the load and the fsync cost per write falls. Batches are applied in log
 * order (a FIFO of slots).
 *
 * This writer is the one-member stand-in for the Raft driver: "committed"
 * here means "on this disk"; store/raft replaces that rule without changing
 * the log format or the apply path.
 *
 * If the append fails (disk full, I/O error) nothing was written and the
 * batch's callers get the error; the store goes on. If the apply fails
 * after the append succeeded, the entries are durable but not applied: the
 * callers get the error, and the store refuses further writes until it is
 * reopened, when replay applies them (an error on a write therefore means
 * "outcome unknown", as with etcd).
 *
 * Open: the log is opened (its tail checked), then the state database;
 * entries after the state's applied index are replayed. If the state is
 * ahead of the log (the log lost a tail the state had already applied),
 * the log is compacted up to the applied index — the state database is the
 * snapshot. If the state is behind the log's first entry, entries are
 * missing: K1S_ECORRUPT.
 *
 * The log keeps at least LOG_KEEP applied entries; once LOG_COMPACT_EVERY
 * more have accumulated, the log thread fsyncs the state database (whose
 * commits are not synced) and compacts that prefix away. Rarely, because
 * that fsync may have many megabytes to write. Entries can be large, so
 * LOG_COMPACT_BYTES appended also trigger a compaction, of every applied
 * entry: the log's size stays bounded in bytes too.
 *
 * Shutdown: store_close sets `stopping`; queued and later writes fail with
 * K1S_ESHUTDOWN, reads in progress finish, batches already appended are
 * applied, and the apply thread cuts every watcher off and exits.
 *
 * Locks: qmu guards the request queue, `stopping`, `failed` and `active`;
 * amu guards the slots and `kick`. They are never held together.
 */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "store/store_int.h"

#define WRITER_BATCH 4096
#define NBATCH 2
/* A batch stops growing past this many bytes of entries (one write may
 * carry up to STORE_MAX_VALUE): the encoding buffer stays bounded. */
#define BATCH_MAX_BYTES (16u * 1024 * 1024)
#define LOG_KEEP 4096
#define LOG_COMPACT_EVERY 65536
#define LOG_COMPACT_BYTES (64u * 1024 * 1024)
#define REPLAY_BYTES (4u * 1024 * 1024)

struct store_req {
    struct store_cmd cmd;
    int rv;
    int64_t rev;
    struct store_kv *ret_prev;
    sem_t done;
    struct store_req *next;
};

/* One batch of requests on its way through the pipeline. */
struct batch {
    struct store_req *reqs[WRITER_BATCH];
    struct store_log_entry ents[WRITER_BATCH];
    struct buf enc; /* the entries' data */
    size_t n;
};

struct store {
    char *dir;
    struct store_log *log;
    struct store_state *state;
    struct store_hub *hub;

    pthread_mutex_t qmu;
    pthread_cond_t qcond;
    pthread_cond_t idle;
    struct store_req *qhead, *qtail;
    bool stopping;
    bool kick;  /* guarded by amu */
    int active; /* readers inside the store */
    int failed; /* sticky error after a failed apply */
    pthread_t log_thread, apply_thread;
    bool log_started, apply_started;
    _Atomic uint64_t stat_appends, stat_entries;

    /* The pipeline between the two threads: batch slots, free or queued
     * for apply (guarded by amu; kick too). */
    pthread_mutex_t amu;
    pthread_cond_t acond;     /* the apply thread waits: work or kick */
    pthread_cond_t slot_cond; /* the log thread waits: a free slot */
    struct batch batches[NBATCH];
    int free_slots[NBATCH], nfree;
    int applyq[NBATCH], aq_head, aq_len;
    bool log_done;

    /* log thread only */
    uint64_t next_index;
    uint64_t log_keep, log_compact_every, log_compact_bytes;
    uint64_t log_bytes; /* appended since the last compaction */
    /* apply thread only */
    struct store_apply_result res[WRITER_BATCH];
    struct store_sevent *evs[WRITER_BATCH];
};

struct store_state *store_get_state(struct store *s)
{
    return s->state;
}

void store_stats(struct store *s, uint64_t *ret_appends, uint64_t *ret_entries)
{
    *ret_appends = atomic_load(&s->stat_appends);
    *ret_entries = atomic_load(&s->stat_entries);
}

struct store_hub *store_get_hub(struct store *s)
{
    return s->hub;
}

void store_request_kick(struct store *s)
{
    pthread_mutex_lock(&s->amu);
    s->kick = true;
    pthread_cond_broadcast(&s->acond);
    pthread_mutex_unlock(&s->amu);
}

/* --- writer: the log stage and the apply stage ------------------------ */

static void req_finish(struct store_req *r, int rv)
{
    r->rv = rv;
    sem_post(&r->done);
}

static void maybe_compact_log(struct store *s)
{
    struct store_log_snapshot_meta meta;
    uint64_t first = store_log_first_index(s->log);
    uint64_t applied = store_state_applied(s->state);
    uint64_t term;
    bool by_count, by_bytes;
    int rv;

    if (applied < first)
        return;
    by_count = applied - first + 1 >= s->log_keep + s->log_compact_every;
    by_bytes = s->log_bytes >= s->log_compact_bytes;
    if (!by_count && !by_bytes)
        return;
    memset(&meta, 0, sizeof meta);
    /* Past the byte limit nothing applied is kept: entries may be large,
     * and the state database has them all. */
    meta.index = by_bytes ? applied : applied - s->log_keep;
    rv = store_log_term(s->log, meta.index, &term);
    if (rv == 0)
        rv = store_state_sync(s->state);
    if (rv == 0) {
        meta.term = term;
        rv = store_log_compact(s->log, &meta);
    }
    if (rv != 0)
        log_warn("store: compacting the log up to %llu: %s",
                 (unsigned long long)meta.index, err_str(rv));
    else
        s->log_bytes = 0;
}

/* Log stage: encodes the batch and appends it (one fsync). */
static int log_batch(struct store *s, struct batch *b)
{
    size_t total = 0, off = 0;
    int rv;

    for (size_t i = 0; i < b->n; i++)
        total += store_cmd_size(&b->reqs[i]->cmd);
    buf_reset(&b->enc);
    rv = buf_reserve(&b->enc, total + 1);
    if (rv != 0)
        return rv;
    for (size_t i = 0; i < b->n; i++) {
        size_t sz = store_cmd_size(&b->reqs[i]->cmd);
        store_cmd_encode(&b->reqs[i]->cmd, (uint8_t *)b->enc.data + off);
        b->ents[i].index = s->next_index + i;
        b->ents[i].term = 1;
        b->ents[i].type = STORE_LOG_NORMAL;
        b->ents[i].data = b->enc.data + off;
        b->ents[i].len = sz;
        off += sz;
    }
    rv = store_log_append(s->log, b->ents, b->n, NULL);
    if (rv != 0) {
        log_error("store: appending %zu entries to the log: %s", b->n,
                  err_str(rv));
        return rv;
    }
    s->next_index += b->n;
    s->log_bytes += total;
    atomic_fetch_add(&s->stat_appends, 1);
    atomic_fetch_add(&s->stat_entries, b->n);
    return 0;
}

static void *log_main(void *arg)
{
    struct store *s = arg;

    pthread_setname_np(pthread_self(), "store-log");
    for (;;) {
        struct batch *b;
        size_t bytes;
        int failed;
        int rv;

        /* A free batch slot first: while both are busy, requests queue up
         * and make the next batch bigger. */
        pthread_mutex_lock(&s->amu);
        while (s->nfree == 0)
            pthread_cond_wait(&s->slot_cond, &s->amu);
        b = &s->batches[s->free_slots[--s->nfree]];
        pthread_mutex_unlock(&s->amu);

        pthread_mutex_lock(&s->qmu);
        while (s->qhead == NULL && !s->stopping)
            pthread_cond_wait(&s->qcond, &s->qmu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        b->n = 0;
        bytes = 0;
        while (s->qhead != NULL && b->n < WRITER_BATCH &&
               (b->n == 0 || bytes < BATCH_MAX_BYTES)) {
            bytes += store_cmd_size(&s->qhead->cmd);
            b->reqs[b->n++] = s->qhead;
            s->qhead = s->qhead->next;
        }
        if (s->qhead == NULL)
            s->qtail = NULL;
        failed = s->failed;
        pthread_mutex_unlock(&s->qmu);

        rv = failed ? failed : log_batch(s, b);
        if (rv != 0) {
            for (size_t i = 0; i < b->n; i++)
                req_finish(b->reqs[i], rv);
            pthread_mutex_lock(&s->amu);
            s->free_slots[s->nfree++] = (int)(b - s->batches);
            pthread_mutex_unlock(&s->amu);
            continue;
        }
        pthread_mutex_lock(&s->amu);
        s->applyq[(s->aq_head + s->aq_len) % NBATCH] = (int)(b - s->batches);
        s->aq_len++;
        pthread_cond_broadcast(&s->acond);
        pthread_mutex_unlock(&s->amu);
        maybe_compact_log(s);
    }
    /* Fail whatever is still queued; store_write refuses new requests
     * once `stopping` is set. */
    pthread_mutex_lock(&s->qmu);
    while (s->qhead != NULL) {
        struct store_req *r = s->qhead;
        s->qhead = r->next;
        req_finish(r, K1S_ESHUTDOWN);
    }
    s->qtail = NULL;
    pthread_mutex_unlock(&s->qmu);
    pthread_mutex_lock(&s->amu);
    s->log_done = true;
    pthread_cond_broadcast(&s->acond);
    pthread_mutex_unlock(&s->amu);
    return NULL;
}

/* Apply stage: applies an appended batch, publishes, wakes the callers. */
static void apply_batch(struct store *s, struct batch *b)
{
    size_t n = b->n, nev = 0;
    bool want;
    int rv;

    pthread_mutex_lock(&s->qmu);
    rv = s->failed;
    pthread_mutex_unlock(&s->qmu);
    if (rv != 0)
        goto fail;
    want = store_hub_has_watchers(s->hub);
    for (size_t i = 0; i < n && !want; i++)
        want = b->reqs[i]->ret_prev != NULL;
    rv = store_state_apply(s->state, b->ents, n, want, s->res);
    if (rv != 0) {
        log_error("store: applying entries %llu..%llu: %s; writes are "
                  "refused until the store is reopened (the log replays "
                  "them)",
                  (unsigned long long)b->ents[0].index,
                  (unsigned long long)b->ents[n - 1].index, err_str(rv));
        pthread_mutex_lock(&s->qmu);
        s->failed = rv;
        pthread_mutex_unlock(&s->qmu);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_req *r = b->reqs[i];
        struct store_sevent *e = s->res[i].ev;

        r->rev = s->res[i].rev;
        if (e != NULL)
            s->evs[nev++] = e;
        if (r->ret_prev != NULL && e != NULL && s->res[i].rv == 0) {
            struct store_kv *kv = r->ret_prev;
            memset(kv, 0, sizeof *kv);
            kv->key = strdup(e->key);
            kv->value = malloc(e->vlen + 1);
            if (kv->key != NULL && kv->value != NULL) {
                memcpy(kv->value, e->value, e->vlen + 1);
                kv->value_len = e->vlen;
                kv->create_rev = e->create_rev;
                kv->mod_rev = e->prev_mod;
            } else {
                store_kv_clear(kv);
            }
        }
    }
    if (want)
        store_hub_publish(s->hub, s->evs, nev, store_state_revision(s->state));
    else
        store_hub_publish_none(s->hub, store_state_revision(s->state));
    for (size_t i = 0; i < nev; i++)
        store_sevent_unref(s->evs[i]);
    for (size_t i = 0; i < n; i++)
        req_finish(b->reqs[i], s->res[i].rv);
    return;

fail:
    for (size_t i = 0; i < n; i++)
        req_finish(b->reqs[i], rv);
}

static void *apply_main(void *arg)
{
    struct store *s = arg;

    pthread_setname_np(pthread_self(), "store-apply");
    for (;;) {
        struct batch *b = NULL;
        bool kick;

        pthread_mutex_lock(&s->amu);
        while (s->aq_len == 0 && !s->log_done && !s->kick)
            pthread_cond_wait(&s->acond, &s->amu);
        kick = s->kick;
        s->kick = false;
        if (s->aq_len > 0) {
            b = &s->batches[s->applyq[s->aq_head]];
            s->aq_head = (s->aq_head + 1) % NBATCH;
            s->aq_len--;
        } else if (s->log_done && !kick) {
            pthread_mutex_unlock(&s->amu);
            break;
        }
        pthread_mutex_unlock(&s->amu);
        if (kick)
            store_hub_kick(s->hub);
        if (b == NULL)
            continue;
        apply_batch(s, b);
        pthread_mutex_lock(&s->amu);
        s->free_slots[s->nfree++] = (int)(b - s->batches);
        pthread_cond_signal(&s->slot_cond);
        pthread_mutex_unlock(&s->amu);
    }
    store_hub_shutdown(s->hub);
    return NULL;
}

static int store_write(struct store *s, struct store_req *r)
{
    int rv;

    if (sem_init(&r->done, 0, 0) != 0)
        return K1S_EINTERNAL;
    r->next = NULL;
    r->rv = 0;
    r->rev = 0;
    pthread_mutex_lock(&s->qmu);
    if (s->stopping || s->failed) {
        rv = s->stopping ? K1S_ESHUTDOWN : s->failed;
        pthread_mutex_unlock(&s->qmu);
        sem_destroy(&r->done);
        return rv;
    }
    if (s->qtail != NULL) {
        s->qtail->next = r;
    } else {
        s->qhead = r;
        pthread_cond_signal(&s->qcond);
    }
    s->qtail = r;
    pthread_mutex_unlock(&s->qmu);
    while (sem_wait(&r->done) != 0 && errno == EINTR)
        ;
    sem_destroy(&r->done);
    return r->rv;
}

static int check_key(const char *key)
{
    size_t n;

    if (key == NULL)
        return K1S_EINVAL;
    n = strlen(key);
    return n == 0 || n > STORE_MAX_KEY ? K1S_EINVAL : 0;
}

static int check_value(const void *value, size_t len)
{
    if (value == NULL && len > 0)
        return K1S_EINVAL;
    return len > STORE_MAX_VALUE ? K1S_ETOOLARGE : 0;
}

int store_create(struct store *s, const char *key, const void *value,
                 size_t len, int64_t *ret_rev)
{
    struct store_req r;
    int rv;

    if (s == NULL)
        return K1S_EINVAL;
    if ((rv = check_key(key)) != 0 || (rv = check_value(value, len)) != 0)
        return rv;
    memset(&r, 0, sizeof r);
    r.cmd.op = STORE_OP_CREATE;
    r.cmd.key = key;
    r.cmd.keylen = strlen(key);
    r.cmd.value = value;
    r.cmd.vlen = len;
    rv = store_write(s, &r);
    if (rv == 0 && ret_rev != NULL)
        *ret_rev = r.rev;
    return rv;
}

int store_update(struct store *s, const char *key, const void *value,
                 size_t len, int64_t expect_rev, int64_t *ret_rev)
{
    struct store_req r;
    int rv;

    if (s == NULL || expect_rev < 0)
        return K1S_EINVAL;
    if ((rv = check_key(key)) != 0 || (rv = check_value(value, len)) != 0)
        return rv;
    memset(&r, 0, sizeof r);
    r.cmd.op = STORE_OP_UPDATE;
    r.cmd.key = key;
    r.cmd.keylen = strlen(key);
    r.cmd.value = value;
    r.cmd.vlen = len;
    r.cmd.expect_rev = expect_rev;
    rv = store_write(s, &r);
    if (rv == 0 && ret_rev != NULL)
        *ret_rev = r.rev;
    return rv;
}

int store_delete(struct store *s, const char *key, int64_t expect_rev,
                 struct store_kv *ret_prev, int64_t *ret_rev)
{
    struct store_req r;
    int rv;

    if (s == NULL || expect_rev < 0)
        return K1S_EINVAL;
    if ((rv = check_key(key)) != 0)
        return rv;
    memset(&r, 0, sizeof r);
    r.cmd.op = STORE_OP_DELETE;
    r.cmd.key = key;
    r.cmd.keylen = strlen(key);
    r.cmd.expect_rev = expect_rev;
    r.ret_prev = ret_prev;
    if (ret_prev != NULL)
        memset(ret_prev, 0, sizeof *ret_prev);
    rv = store_write(s, &r);
    if (rv == 0 && ret_rev != NULL)
        *ret_rev = r.rev;
    if (rv == 0 && ret_prev != NULL && ret_prev->key == NULL)
        rv = K1S_ENOMEM; /* deleted, but the copy of the old kv failed */
    return rv;
}

/* --- reads ------------------------------------------------------------- */

static int enter(struct store *s)
{
    int rv = 0;

    pthread_mutex_lock(&s->qmu);
    if (s->stopping)
        rv = K1S_ESHUTDOWN;
    else
        s->active++;
    pthread_mutex_unlock(&s->qmu);
    return rv;
}

static void leave(struct store *s)
{
    pthread_mutex_lock(&s->qmu);
    if (--s->active == 0 && s->stopping)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->qmu);
}

int64_t store_revision(struct store *s)
{
    return s != NULL ? store_state_revision(s->state) : 0;
}

int64_t store_compact_revision(struct store *s)
{
    return s != NULL ? store_state_compact(s->state) : 0;
}

int store_get(struct store *s, const char *key, struct store_kv *ret,
              int64_t *ret_rev)
{
    int rv;

    if (s == NULL || ret == NULL)
        return K1S_EINVAL;
    memset(ret, 0, sizeof *ret);
    if ((rv = check_key(key)) != 0)
        return rv;
    rv = enter(s);
    if (rv != 0)
        return rv;
    rv = store_state_get(s->state, key, ret, ret_rev);
    leave(s);
    return rv;
}

int store_list(struct store *s, const char *prefix, const char *start_after,
               size_t limit, int64_t at_rev, struct store_list *ret)
{
    int rv;

    if (s == NULL || ret == NULL)
        return K1S_EINVAL;
    memset(ret, 0, sizeof *ret);
    rv = enter(s);
    if (rv != 0)
        return rv;
    rv = store_state_list(s->state, prefix, start_after, limit, at_rev, ret);
    leave(s);
    return rv;
}

/* --- ownership helpers ------------------------------------------------- */

void store_kv_clear(struct store_kv *kv)
{
    if (kv == NULL)
        return;
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof *kv);
}

void store_list_free(struct store_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        store_kv_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void store_event_clear(struct store_event *ev)
{
    if (ev == NULL)
        return;
    store_kv_clear(&ev->kv);
    free(ev->prev_value);
    memset(ev, 0, sizeof *ev);
}

/* --- open / close ------------------------------------------------------ */

/* Brings the state machine up to the log's last entry. */
static int recover(struct store *s, const char *log_path,
                   const char *state_path, char *errbuf, size_t errlen)
{
    uint64_t first = store_log_first_index(s->log);
    uint64_t last = store_log_last_index(s->log);
    uint64_t applied = store_state_applied(s->state);
    uint64_t replayed = 0;
    int rv;

    if (applied + 1 < first) {
        snprintf(errbuf, errlen,
                 "store: state database %s has applied up to log index %llu "
                 "but the log %s starts at %llu: entries are missing",
                 state_path, (unsigned long long)applied, log_path,
                 (unsigned long long)first);
        return K1S_ECORRUPT;
    }
    if (applied > last) {
        struct store_log_snapshot_meta meta = {.index = applied, .term = 1};
        log_warn("store: log %s ends at %llu but the state database has "
                 "applied up to %llu; the state database stands as the "
                 "snapshot, the log restarts after it",
                 log_path, (unsigned long long)last,
                 (unsigned long long)applied);
        rv = store_log_compact(s->log, &meta);
        if (rv != 0) {
            snprintf(errbuf, errlen, "store: log %s: compacting to %llu: %s",
                     log_path, (unsigned long long)applied, err_str(rv));
            return rv;
        }
        last = applied;
    }
    while (applied < last) {
        struct store_log_entry *ents;
        size_t n;

        rv = store_log_read(s->log, applied + 1, last + 1, REPLAY_BYTES, &ents,
                            &n);
        if (rv == 0 && n == 0)
            rv = K1S_ECORRUPT;
        if (rv == 0)
            rv = store_state_apply(s->state, ents, n, false, NULL);
        store_log_entries_free(ents, n);
        if (rv != 0) {
            snprintf(errbuf, errlen,
                     "store: replaying log %s from index %llu into %s: %s",
                     log_path, (unsigned long long)(applied + 1), state_path,
                     err_str(rv));
            return rv;
        }
        applied = store_state_applied(s->state);
        replayed += n;
    }
    if (replayed > 0)
        log_info("store: replayed %llu log entries (up to index %llu)",
                 (unsigned long long)replayed, (unsigned long long)last);
    return 0;
}

/* SQLite's memory statistics take a global mutex on every allocation,
 * shared by the log, apply, checkpoint and reader threads; k1s never reads
 * them. Must precede SQLite's initialisation (a later call is refused,
 * harmlessly). */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open_ex(const struct store_config *cfg,
                  const struct store_test_config *tcfg,
                  struct store **ret_store, char *errbuf, size_t errlen)
{
    char log_path[PATH_MAX], state_path[PATH_MAX], dummy[8];
    struct store_state_config scfg;
    struct store *s;
    int rv;

    if (errbuf == NULL || errlen == 0) {
        errbuf = dummy;
        errlen = sizeof dummy;
    }
    errbuf[0] = '\0';
    pthread_once(&sqlite_once, sqlite_configure);
    if (cfg == NULL || cfg->dir == NULL || ret_store == NULL) {
        snprintf(errbuf, errlen, "store: no directory given");
        return K1S_EINVAL;
    }
    if (snprintf(log_path, sizeof log_path, "%s/%s", cfg->dir,
                 STORE_LOG_FILE) >= (int)sizeof log_path ||
        snprintf(state_path, sizeof state_path, "%s/%s", cfg->dir,
                 STORE_STATE_FILE) >= (int)sizeof state_path) {
        snprintf(errbuf, errlen, "store: directory name too long");
        return K1S_EINVAL;
    }
    rv = fs_mkdir_p(cfg->dir, 0700);
    if (rv != 0) {
        snprintf(errbuf, errlen, "store: cannot create %s: %s", cfg->dir,
                 err_str(rv));
        return rv;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return K1S_ENOMEM;
    s->dir = strdup(cfg->dir);
    for (int i = 0; i < NBATCH; i++) {
        buf_init(&s->batches[i].enc);
        s->free_slots[i] = i;
    }
    s->nfree = NBATCH;
    pthread_mutex_init(&s->amu, NULL);
    pthread_cond_init(&s->acond, NULL);
    pthread_cond_init(&s->slot_cond, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_cond_init(&s->idle, NULL);
    if (s->dir == NULL) {
        rv = K1S_ENOMEM;
        goto err;
    }

    rv = store_log_open(log_path, &s->log, errbuf, errlen);
    if (rv != 0)
        goto err;
    if (tcfg != NULL && tcfg->log_max_pages > 0) {
        rv = store_log_set_max_pages(s->log, tcfg->log_max_pages);
        if (rv != 0)
            goto err;
    }
    memset(&scfg, 0, sizeof scfg);
    scfg.path = state_path;
    scfg.history_revisions = cfg->history_revisions;
    scfg.max_pages = tcfg != NULL ? tcfg->state_max_pages : 0;
    scfg.ckpt_pages = tcfg != NULL ? tcfg->state_ckpt_pages : 0;
    rv = store_state_open(&scfg, &s->state, errbuf, errlen);
    if (rv != 0)
        goto err;
    rv = recover(s, log_path, state_path, errbuf, errlen);
    if (rv != 0)
        goto err;
    s->next_index = store_log_last_index(s->log) + 1;
    s->log_keep = tcfg && tcfg->log_keep ? tcfg->log_keep : LOG_KEEP;
    s->log_compact_every = tcfg && tcfg->log_compact_every
                               ? tcfg->log_compact_every
                               : LOG_COMPACT_EVERY;
    s->log_compact_bytes = tcfg && tcfg->log_compact_bytes
                               ? tcfg->log_compact_bytes
                               : LOG_COMPACT_BYTES;
    rv = store_hub_create(s, cfg->watch_queue_max, &s->hub);
    if (rv != 0)
        goto err;
    store_hub_set_published(s->hub, store_state_revision(s->state));
    if (pthread_create(&s->apply_thread, NULL, apply_main, s) != 0) {
        snprintf(errbuf, errlen, "store: cannot start the apply thread");
        rv = K1S_EINTERNAL;
        goto err;
    }
    s->apply_started = true;
    if (pthread_create(&s->log_thread, NULL, log_main, s) != 0) {
        snprintf(errbuf, errlen, "store: cannot start the log thread");
        store_stop(s);
        rv = K1S_EINTERNAL;
        goto err;
    }
    s->log_started = true;
    log_info("store: opened %s at revision %lld (log index %llu)", cfg->dir,
             (long long)store_state_revision(s->state),
             (unsigned long long)store_log_last_index(s->log));
    *ret_store = s;
    return 0;

err:
    if (errbuf[0] == '\0')
        snprintf(errbuf, errlen, "store: opening %s: %s", cfg->dir,
                 err_str(rv));
    store_hub_release(s->hub);
    store_state_close(s->state);
    store_log_close(s->log);
    for (int i = 0; i < NBATCH; i++)
        buf_close(&s->batches[i].enc);
    pthread_mutex_destroy(&s->amu);
    pthread_cond_destroy(&s->acond);
    pthread_cond_destroy(&s->slot_cond);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->idle);
    free(s->dir);
    free(s);
    return rv;
}

int store_open(const struct store_config *cfg, struct store **ret_store,
               char *errbuf, size_t errlen)
{
    return store_open_ex(cfg, NULL, ret_store, errbuf, errlen);
}

void store_stop(struct store *s)
{
    pthread_mutex_lock(&s->qmu);
    s->stopping = true;
    pthread_cond_signal(&s->qcond);
    while (s->active > 0)
        pthread_cond_wait(&s->idle, &s->qmu);
    pthread_mutex_unlock(&s->qmu);
    if (s->log_started) {
        pthread_join(s->log_thread, NULL);
    } else {
        /* the log thread never ran: tell the apply thread directly */
        pthread_mutex_lock(&s->amu);
        s->log_done = true;
        pthread_cond_broadcast(&s->acond);
        pthread_mutex_unlock(&s->amu);
    }
    if (s->apply_started)
        pthread_join(s->apply_thread, NULL);
    s->log_started = false;
    s->apply_started = false;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    store_stop(s);
    store_hub_release(s->hub);
    store_state_close(s->state);
    store_log_close(s->log);
    for (int i = 0; i < NBATCH; i++)
        buf_close(&s->batches[i].enc);
    pthread_mutex_destroy(&s->amu);
    pthread_cond_destroy(&s->acond);
    pthread_cond_destroy(&s->slot_cond);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->idle);
    log_info("store: closed %s", s->dir);
    free(s->dir);
    free(s);
}
