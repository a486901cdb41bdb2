/*
 * DESIGN: the store's front door (store.h) and its writer thread.
 *
 * A write is a request on the caller's stack, queued to the writer thread;
 * the caller then sleeps on the request's semaphore. The writer takes
 * every queued request at once (up to WRITER_BATCH), encodes each as a log
 * entry (term 1, the next indexes), appends them with one
 * store_log_append — one transaction, one fsync: group commit — then
 * applies them to the state database in one transaction, publishes the
 * changes to the watchers and wakes the callers with their results. While
 * it works, new requests queue up and form the next batch, so the batch
 * grows with the load and the fsync cost per write falls.
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
 * The log keeps about LOG_KEEP applied entries; beyond that the writer
 * compacts a prefix, after making the state database durable.
 *
 * Shutdown: store_close sets `stopping`; queued and later writes fail with
 * K1S_ESHUTDOWN, reads in progress finish, the writer finishes its batch,
 * cuts every watcher off and exits.
 */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/store_int.h"

#define WRITER_BATCH 4096
#define LOG_KEEP 4096
#define LOG_COMPACT_EVERY 4096
#define REPLAY_BYTES (4u * 1024 * 1024)

struct store_req {
    struct store_cmd cmd;
    int rv;
    int64_t rev;
    struct store_kv *ret_prev;
    sem_t done;
    struct store_req *next;
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
    bool stopping, kick;
    int active; /* readers inside the store */
    int failed; /* sticky error after a failed apply */
    pthread_t thread;
    bool thread_started;

    /* writer thread only */
    uint64_t next_index;
    struct store_req *batch[WRITER_BATCH];
    struct store_log_entry ents[WRITER_BATCH];
    struct store_apply_result res[WRITER_BATCH];
    struct store_sevent *evs[WRITER_BATCH];
    struct buf enc;
};

struct store_state *store_get_state(struct store *s)
{
    return s->state;
}

struct store_hub *store_get_hub(struct store *s)
{
    return s->hub;
}

bool store_on_apply_thread(struct store *s)
{
    return s->thread_started && pthread_equal(pthread_self(), s->thread);
}

void store_request_kick(struct store *s)
{
    pthread_mutex_lock(&s->qmu);
    s->kick = true;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qmu);
}

/* --- writer ------------------------------------------------------------ */

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
    int rv;

    if (applied < first || applied - first + 1 < LOG_KEEP + LOG_COMPACT_EVERY)
        return;
    memset(&meta, 0, sizeof meta);
    meta.index = applied - LOG_KEEP;
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
}

static void process_batch(struct store *s, size_t n)
{
    size_t total = 0, off = 0, nev = 0;
    bool want;
    int rv;

    for (size_t i = 0; i < n; i++)
        total += store_cmd_size(&s->batch[i]->cmd);
    buf_reset(&s->enc);
    rv = buf_reserve(&s->enc, total + 1);
    if (rv != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t sz = store_cmd_size(&s->batch[i]->cmd);
        store_cmd_encode(&s->batch[i]->cmd, (uint8_t *)s->enc.data + off);
        s->ents[i].index = s->next_index + i;
        s->ents[i].term = 1;
        s->ents[i].type = STORE_LOG_NORMAL;
        s->ents[i].data = s->enc.data + off;
        s->ents[i].len = sz;
        off += sz;
    }
    rv = store_log_append(s->log, s->ents, n, NULL);
    if (rv != 0) {
        log_error("store: appending %zu entries to the log: %s", n,
                  err_str(rv));
        goto fail;
    }
    s->next_index += n;

    want = store_hub_has_watchers(s->hub);
    for (size_t i = 0; i < n && !want; i++)
        want = s->batch[i]->ret_prev != NULL;
    rv = store_state_apply(s->state, s->ents, n, want, s->res);
    if (rv != 0) {
        log_error("store: applying entries %llu..%llu: %s; writes are "
                  "refused until the store is reopened (the log replays "
                  "them)",
                  (unsigned long long)s->ents[0].index,
                  (unsigned long long)s->ents[n - 1].index, err_str(rv));
        pthread_mutex_lock(&s->qmu);
        s->failed = rv;
        pthread_mutex_unlock(&s->qmu);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_req *r = s->batch[i];
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
        store_hub_publish(s->hub, s->evs, nev,
                          store_state_revision(s->state));
    else
        store_hub_publish_none(s->hub, store_state_revision(s->state));
    for (size_t i = 0; i < nev; i++)
        store_sevent_unref(s->evs[i]);
    for (size_t i = 0; i < n; i++)
        req_finish(s->batch[i], s->res[i].rv);
    maybe_compact_log(s);
    return;

fail:
    for (size_t i = 0; i < n; i++)
        req_finish(s->batch[i], rv);
}

static void *writer_main(void *arg)
{
    struct store *s = arg;

    pthread_setname_np(pthread_self(), "store-writer");
    for (;;) {
        size_t n = 0;
        bool kick;

        pthread_mutex_lock(&s->qmu);
        while (s->qhead == NULL && !s->stopping && !s->kick)
            pthread_cond_wait(&s->qcond, &s->qmu);
        kick = s->kick;
        s->kick = false;
        if (s->stopping) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        while (s->qhead != NULL && n < WRITER_BATCH) {
            s->batch[n++] = s->qhead;
            s->qhead = s->qhead->next;
        }
        if (s->qhead == NULL)
            s->qtail = NULL;
        pthread_mutex_unlock(&s->qmu);
        if (kick)
            store_hub_kick(s->hub);
        if (n > 0)
            process_batch(s, n);
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
    return store_state_revision(s->state);
}

int64_t store_compact_revision(struct store *s)
{
    return store_state_compact(s->state);
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

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof tmp)
        return K1S_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return err_from_errno(errno);
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return err_from_errno(errno);
    return 0;
}

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

        rv = store_log_read(s->log, applied + 1, last + 1, REPLAY_BYTES,
                            &ents, &n);
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
    rv = mkdir_p(cfg->dir);
    if (rv != 0) {
        snprintf(errbuf, errlen, "store: cannot create %s: %s", cfg->dir,
                 err_str(rv));
        return rv;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return K1S_ENOMEM;
    s->dir = strdup(cfg->dir);
    buf_init(&s->enc);
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
    rv = store_state_open(&scfg, &s->state, errbuf, errlen);
    if (rv != 0)
        goto err;
    rv = recover(s, log_path, state_path, errbuf, errlen);
    if (rv != 0)
        goto err;
    s->next_index = store_log_last_index(s->log) + 1;
    rv = store_hub_create(s, cfg->watch_queue_max, &s->hub);
    if (rv != 0)
        goto err;
    store_hub_set_published(s->hub, store_state_revision(s->state));
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        snprintf(errbuf, errlen, "store: cannot start the writer thread");
        rv = K1S_EINTERNAL;
        goto err;
    }
    s->thread_started = true;
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
    buf_close(&s->enc);
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
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    s->thread_started = false;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    store_stop(s);
    store_hub_release(s->hub);
    store_state_close(s->state);
    store_log_close(s->log);
    buf_close(&s->enc);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->idle);
    log_info("store: closed %s", s->dir);
    free(s->dir);
    free(s);
}
