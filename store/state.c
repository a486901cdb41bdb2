/*
 * DESIGN: the state machine — the state database and the deterministic
 * apply of log entries to it.
 *
 *   meta(id = 1, applied, rev, compact)  last applied log index, current
 *                                        revision, oldest kept revision
 *   kv(key PRIMARY KEY, value, create_rev, mod_rev)   the current state
 *   hist(rev PRIMARY KEY, key, type, value, create_rev,
 *        prev_value, prev_create_rev, prev_mod_rev)   one row per change
 *
 * Apply: a batch of entries is one transaction that also writes
 * meta.applied, so a restart replays exactly the entries after it. The
 * outcome of each write (EEXIST, ENOTFOUND, ECONFLICT, or the next
 * revision) depends only on the entry and the database — never on time,
 * randomness or batch boundaries — so every Raft member decides alike.
 * History compaction is part of apply for the same reason: after a change,
 * once more than history + chunk revisions are kept, the oldest chunk is
 * deleted (chunk = history/4, 1..1024, so the cost is spread).
 *
 * The database runs in WAL mode with synchronous=NORMAL: a commit is not
 * fsynced, because the log is the source of truth; a state that lost its
 * last commits in a power cut replays them from the log. Before the log
 * drops a prefix, store_state_sync makes the state durable.
 *
 * MVCC: the state at an old revision R (compact <= R <= rev) of a key is
 * its kv row if mod_rev <= R; otherwise, if the key changed after R, it is
 * the "prev" side of the key's first hist row after R (absent if that row
 * created the key). A list at R merges the two in key order; one read
 * transaction keeps it consistent while the writer goes on. The second
 * part scans the changes after R (bounded by the history window) rather
 * than keeping an index on hist(key): the index cost every write a third
 * B-tree insert, for the benefit of the rare list at an old revision.
 *
 * Reads use a pool of read connections (WAL readers never block the
 * writer, nor it them); the writer's connection belongs to the apply
 * thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/sqlite_int.h"
#include "store/store_int.h"

#define STATE_APP_ID 0x6b317353 /* "k1sS" */
#define STATE_MAX_READERS 16

struct rconn {
    sqlite3 *db;
    sqlite3_stmt *get, *begin, *commit, *meta, *list_cur, *list_old, *hist;
    struct rconn *next;
};

struct store_state {
    char *path;
    uint64_t history;
    int64_t chunk;

    sqlite3 *db; /* the apply thread's connection */
    sqlite3_stmt *begin, *commit, *rollback, *sel_kv, *ins_kv, *upd_kv, *del_kv,
        *ins_hist, *del_hist, *upd_meta;
    uint64_t w_applied;
    int64_t w_rev, w_compact;
    struct buf old; /* the previous value during apply */

    _Atomic uint64_t applied;
    _Atomic int64_t rev, compact;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cond;

    /* The checkpointer: copies the WAL into the database file on its own
     * thread and connection, so the apply thread does not. */
    sqlite3 *cdb;
    int ckpt_pages;
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_want, ckpt_stop;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cond;
    struct rconn *pool;
    int nconn;
};

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_sqlite_err(rc);
}

static void bind_bytes(sqlite3_stmt *st, int i, const void *p, size_t len)
{
    if (len == 0)
        sqlite3_bind_zeroblob(st, i, 0);
    else
        sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
}

static const char state_schema[] =
    "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " applied INTEGER NOT NULL, rev INTEGER NOT NULL,"
    " compact INTEGER NOT NULL);"
    "INSERT INTO meta VALUES (1, 0, 1, 1);"
    "CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB NOT NULL,"
    " create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE hist(rev INTEGER PRIMARY KEY, key BLOB NOT NULL,"
    " type INTEGER NOT NULL, value BLOB, create_rev INTEGER NOT NULL,"
    " prev_value BLOB, prev_create_rev INTEGER NOT NULL,"
    " prev_mod_rev INTEGER NOT NULL);";

static void state_err(struct store_state *st, char *errbuf, size_t errlen,
                      const char *what)
{
    if (errbuf != NULL)
        snprintf(errbuf, errlen, "store: state database %s: %s: %s", st->path,
                 what, st->db ? sqlite3_errmsg(st->db) : "cannot open");
}

static int state_init_schema(struct store_state *st, char *errbuf,
                             size_t errlen)
{
    return store_sqlite_init_schema(st->db, STATE_APP_ID, state_schema,
                                    "state database", st->path, errbuf, errlen);
}

/* PRAGMA quick_check: a corrupt state database is a start-up error, never
 * a crash later. */
static int state_check(struct store_state *st, char *errbuf, size_t errlen)
{
    sqlite3_stmt *q;
    const char *res = NULL;
    int rc, rv = 0;

    rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            res = (const char *)sqlite3_column_text(q, 0);
    }
    if (res == NULL || strcmp(res, "ok") != 0) {
        if (errbuf != NULL)
            snprintf(errbuf, errlen, "store: state database %s is corrupt: %s",
                     st->path, res ? res : sqlite3_errmsg(st->db));
        rv = K1S_ECORRUPT;
    }
    sqlite3_finalize(q);
    return rv;
}

static int state_prepare(struct store_state *st)
{
    sqlite3 *db = st->db;
    int rv = 0;

    rv = rv ? rv : store_sqlite_prepare(db, &st->begin, "BEGIN IMMEDIATE");
    rv = rv ? rv : store_sqlite_prepare(db, &st->commit, "COMMIT");
    rv = rv ? rv : store_sqlite_prepare(db, &st->rollback, "ROLLBACK");
    rv = rv ? rv
            : store_sqlite_prepare(
                  db, &st->sel_kv,
                  "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  db, &st->ins_kv,
                  "INSERT INTO kv(key, value, create_rev, mod_rev) "
                  "VALUES (?1, ?2, ?3, ?3)");
    rv = rv ? rv
            : store_sqlite_prepare(
                  db, &st->upd_kv,
                  "UPDATE kv SET value = ?2, mod_rev = ?3 WHERE key = ?1");
    rv = rv ? rv
            : store_sqlite_prepare(db, &st->del_kv,
                                   "DELETE FROM kv WHERE key = ?1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  db, &st->ins_hist,
                  "INSERT INTO hist(rev, key, type, value, create_rev, "
                  "prev_value, prev_create_rev, prev_mod_rev) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    rv = rv ? rv
            : store_sqlite_prepare(db, &st->del_hist,
                                   "DELETE FROM hist WHERE rev < ?1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  db, &st->upd_meta,
                  "UPDATE meta SET applied = ?1, rev = ?2, compact = ?3 "
                  "WHERE id = 1");
    return rv;
}

static int state_load_meta(struct store_state *st)
{
    sqlite3_stmt *q;
    int rc;

    rc = sqlite3_prepare_v2(st->db,
                            "SELECT applied, rev, compact FROM meta "
                            "WHERE id = 1",
                            -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_err(rc);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        st->w_applied = (uint64_t)sqlite3_column_int64(q, 0);
        st->w_rev = sqlite3_column_int64(q, 1);
        st->w_compact = sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW || st->w_rev < 0 || st->w_compact < 1 ||
        st->w_compact > st->w_rev + 1)
        return K1S_ECORRUPT;
    atomic_store(&st->applied, st->w_applied);
    atomic_store(&st->rev, st->w_rev);
    atomic_store(&st->compact, st->w_compact);
    return 0;
}

/* --- checkpoints ------------------------------------------------------ */

/* The checkpointer starts once the WAL holds CKPT_PAGES pages; it runs
 * PASSIVE checkpoints, never waiting for readers or the writer, and the WAL
 * starts over from its beginning when a writer finds it all copied back —
 * which happens in the writer's idle moments. Under writes without a pause
 * it never is, so at twice the threshold the apply thread checkpoints
 * inline with RESTART (waiting for readers, not for more writes) and the
 * next write starts the WAL over; journal_size_limit then cuts the file
 * back. 10,000 pages between checkpoints let a hot kv page be copied once
 * rather than once per write. If RESTART is busy (the checkpointer is at
 * work), the next commit tries again. */
#define CKPT_PAGES 10000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int npages)
{
    struct store_state *st = arg;

    if (npages >= st->ckpt_pages * 2) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL,
                                  NULL);
    } else if (npages >= st->ckpt_pages) {
        pthread_mutex_lock(&st->ckpt_mu);
        if (!st->ckpt_want) {
            st->ckpt_want = true;
            pthread_cond_signal(&st->ckpt_cond);
        }
        pthread_mutex_unlock(&st->ckpt_mu);
    }
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    struct store_state *st = arg;

    pthread_setname_np(pthread_self(), "store-ckpt");
    /* Copying pages back can wait; the apply thread and the watchers it
     * wakes cannot. A lower priority (per thread on Linux) keeps the
     * checkpointer from delaying them on a busy machine. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) != 0)
        log_debug("store: checkpointer priority unchanged");
    for (;;) {
        pthread_mutex_lock(&st->ckpt_mu);
        while (!st->ckpt_want && !st->ckpt_stop)
            pthread_cond_wait(&st->ckpt_cond, &st->ckpt_mu);
        if (st->ckpt_stop) {
            pthread_mutex_unlock(&st->ckpt_mu);
            break;
        }
        st->ckpt_want = false;
        pthread_mutex_unlock(&st->ckpt_mu);
        /* Errors (busy, I/O) leave the WAL as it is; the next commit asks
         * again, and the hard limit above still holds. */
        sqlite3_wal_checkpoint_v2(st->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  NULL, NULL);
    }
    return NULL;
}

static int ckpt_start(struct store_state *st)
{
    int rc = sqlite3_open_v2(st->path, &st->cdb,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    int rv;

    if (rc != SQLITE_OK)
        return store_sqlite_err(rc);
    rv = store_sqlite_exec(st->cdb, "PRAGMA synchronous = NORMAL");
    if (rv != 0)
        return rv;
    if (pthread_create(&st->ckpt_thread, NULL, ckpt_main, st) != 0)
        return K1S_EINTERNAL;
    st->ckpt_started = true;
    sqlite3_wal_hook(st->db, wal_hook, st);
    return 0;
}

static void ckpt_stop(struct store_state *st)
{
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->ckpt_mu);
        st->ckpt_stop = true;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_mu);
        pthread_join(st->ckpt_thread, NULL);
        st->ckpt_started = false;
    }
    if (st->cdb != NULL)
        sqlite3_close(st->cdb);
    st->cdb = NULL;
}

int store_state_open(const struct store_state_config *cfg,
                     struct store_state **ret, char *errbuf, size_t errlen)
{
    struct store_state *st;
    char sql[64];
    int rc, rv;

    st = calloc(1, sizeof *st);
    if (st == NULL)
        return K1S_ENOMEM;
    st->path = strdup(cfg->path);
    if (st->path == NULL) {
        free(st);
        return K1S_ENOMEM;
    }
    st->history =
        cfg->history_revisions ? cfg->history_revisions : STORE_DEFAULT_HISTORY;
    st->chunk = (int64_t)(st->history / 4);
    if (st->chunk < 1)
        st->chunk = 1;
    if (st->chunk > 1024)
        st->chunk = 1024;
    st->ckpt_pages = cfg->ckpt_pages > 0 ? (int)cfg->ckpt_pages : CKPT_PAGES;
    buf_init(&st->old);
    pthread_mutex_init(&st->pool_mu, NULL);
    pthread_cond_init(&st->pool_cond, NULL);
    pthread_mutex_init(&st->ckpt_mu, NULL);
    pthread_cond_init(&st->ckpt_cond, NULL);

    rc = sqlite3_open_v2(
        cfg->path, &st->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        state_err(st, errbuf, errlen, "cannot open");
        rv = store_sqlite_err(rc);
        goto err;
    }
    sqlite3_busy_timeout(st->db, 5000);
    rv = state_init_schema(st, errbuf, errlen);
    if (rv != 0)
        goto err;
    rv = state_check(st, errbuf, errlen);
    if (rv != 0)
        goto err;
    rv = store_sqlite_exec(st->db, "PRAGMA journal_mode = WAL");
    if (rv == 0)
        rv = store_sqlite_exec(st->db, "PRAGMA synchronous = NORMAL");
    if (rv == 0)
        rv = store_sqlite_exec(st->db, "PRAGMA cache_size = -32768");
    /* Checkpoints run on the checkpointer thread (wal_hook below). When
     * the WAL starts over, a file that grew past twice the checkpoint
     * threshold (the checkpointer fell behind) is cut back. */
    if (rv == 0)
        rv = store_sqlite_exec(st->db, "PRAGMA wal_autocheckpoint = 0");
    if (rv == 0) {
        snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %lld",
                 (long long)st->ckpt_pages * 2 * 4096);
        rv = store_sqlite_exec(st->db, sql);
    }
    if (rv == 0 && cfg->max_pages > 0) {
        snprintf(sql, sizeof sql, "PRAGMA max_page_count = %u", cfg->max_pages);
        rv = store_sqlite_exec(st->db, sql);
    }
    if (rv != 0) {
        state_err(st, errbuf, errlen, "cannot configure");
        goto err;
    }
    rv = state_prepare(st);
    if (rv == 0)
        rv = state_load_meta(st);
    if (rv != 0) {
        state_err(st, errbuf, errlen, "not a valid k1s state database");
        rv = K1S_ECORRUPT;
        goto err;
    }
    rv = ckpt_start(st);
    if (rv != 0) {
        state_err(st, errbuf, errlen, "cannot start the checkpointer");
        goto err;
    }
    *ret = st;
    return 0;

err:
    store_state_close(st);
    return rv;
}

static void rconn_free(struct rconn *c)
{
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->begin);
    sqlite3_finalize(c->commit);
    sqlite3_finalize(c->meta);
    sqlite3_finalize(c->list_cur);
    sqlite3_finalize(c->list_old);
    sqlite3_finalize(c->hist);
    sqlite3_close(c->db);
    free(c);
}

void store_state_close(struct store_state *st)
{
    if (st == NULL)
        return;
    sqlite3_stmt **stmts[] = {
        &st->begin,  &st->commit, &st->rollback, &st->sel_kv,   &st->ins_kv,
        &st->upd_kv, &st->del_kv, &st->ins_hist, &st->del_hist, &st->upd_meta,
    };

    ckpt_stop(st);
    while (st->pool != NULL) {
        struct rconn *c = st->pool;
        st->pool = c->next;
        rconn_free(c);
    }
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(*stmts[i]);
    if (st->db != NULL)
        sqlite3_close(st->db);
    buf_close(&st->old);
    pthread_mutex_destroy(&st->pool_mu);
    pthread_cond_destroy(&st->pool_cond);
    pthread_mutex_destroy(&st->ckpt_mu);
    pthread_cond_destroy(&st->ckpt_cond);
    free(st->path);
    free(st);
}

uint64_t store_state_applied(struct store_state *st)
{
    return atomic_load(&st->applied);
}

int64_t store_state_revision(struct store_state *st)
{
    return atomic_load(&st->rev);
}

int64_t store_state_compact(struct store_state *st)
{
    return atomic_load(&st->compact);
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rv = 0;

    if (fd < 0)
        return errno == ENOENT ? 0 : err_from_errno(errno);
    if (fdatasync(fd) != 0)
        rv = err_from_errno(errno);
    close(fd);
    return rv;
}

int store_state_sync(struct store_state *st)
{
    char wal[4096];
    int rv;

    if (snprintf(wal, sizeof wal, "%s-wal", st->path) >= (int)sizeof wal)
        return K1S_EINVAL;
    rv = fsync_path(wal);
    if (rv == 0)
        rv = fsync_path(st->path);
    return rv;
}

/* --- apply ------------------------------------------------------------- */

static int apply_hist(struct store_state *st, int64_t rev, const char *key,
                      size_t keylen, int type, const void *value, size_t vlen,
                      bool has_value, int64_t create_rev, bool has_prev,
                      int64_t prev_create, int64_t prev_mod)
{
    sqlite3_stmt *q = st->ins_hist;

    sqlite3_bind_int64(q, 1, rev);
    sqlite3_bind_blob(q, 2, key, (int)keylen, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, type);
    if (has_value)
        bind_bytes(q, 4, value, vlen);
    else
        sqlite3_bind_null(q, 4);
    sqlite3_bind_int64(q, 5, create_rev);
    if (has_prev)
        bind_bytes(q, 6, st->old.data, st->old.len);
    else
        sqlite3_bind_null(q, 6);
    sqlite3_bind_int64(q, 7, prev_create);
    sqlite3_bind_int64(q, 8, prev_mod);
    return step_done(q);
}

/* Applies one write. Returns a precondition failure in *res and 0, or a
 * database error (the batch then rolls back). */
static int apply_cmd(struct store_state *st, const struct store_cmd *c,
                     bool want_events, struct store_apply_result *res)
{
    sqlite3_stmt *q = st->sel_kv;
    bool exists = false;
    int64_t old_create = 0, old_mod = 0, rev;
    int rc, rv;

    sqlite3_bind_blob(q, 1, c->key, (int)c->keylen, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        exists = true;
        old_create = sqlite3_column_int64(q, 1);
        old_mod = sqlite3_column_int64(q, 2);
        if (c->op != STORE_OP_CREATE) {
            const void *p = sqlite3_column_blob(q, 0);
            size_t n = (size_t)sqlite3_column_bytes(q, 0);
            buf_reset(&st->old);
            rv = buf_reserve(&st->old, n + 1);
            if (rv != 0) {
                sqlite3_reset(q);
                return rv;
            }
            if (n > 0)
                memcpy(st->old.data, p, n);
            st->old.len = n;
        }
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlite_err(rc);

    switch (c->op) {
    case STORE_OP_CREATE:
        if (exists) {
            res->rv = K1S_EEXIST;
            return 0;
        }
        break;
    case STORE_OP_UPDATE:
    case STORE_OP_DELETE:
        if (!exists) {
            res->rv = K1S_ENOTFOUND;
            return 0;
        }
        if (c->expect_rev != 0 && c->expect_rev != old_mod) {
            res->rv = K1S_ECONFLICT;
            return 0;
        }
        break;
    default:
        res->rv = K1S_ECORRUPT;
        return 0;
    }

    rev = st->w_rev + 1;
    if (c->op == STORE_OP_CREATE) {
        q = st->ins_kv;
        sqlite3_bind_blob(q, 1, c->key, (int)c->keylen, SQLITE_STATIC);
        bind_bytes(q, 2, c->value, c->vlen);
        sqlite3_bind_int64(q, 3, rev);
        rv = step_done(q);
        if (rv == 0)
            rv = apply_hist(st, rev, c->key, c->keylen, STORE_EVENT_PUT,
                            c->value, c->vlen, true, rev, false, 0, 0);
    } else if (c->op == STORE_OP_UPDATE) {
        q = st->upd_kv;
        sqlite3_bind_blob(q, 1, c->key, (int)c->keylen, SQLITE_STATIC);
        bind_bytes(q, 2, c->value, c->vlen);
        sqlite3_bind_int64(q, 3, rev);
        rv = step_done(q);
        if (rv == 0)
            rv = apply_hist(st, rev, c->key, c->keylen, STORE_EVENT_PUT,
                            c->value, c->vlen, true, old_create, true,
                            old_create, old_mod);
    } else {
        q = st->del_kv;
        sqlite3_bind_blob(q, 1, c->key, (int)c->keylen, SQLITE_STATIC);
        rv = step_done(q);
        if (rv == 0)
            rv =
                apply_hist(st, rev, c->key, c->keylen, STORE_EVENT_DELETE, NULL,
                           0, false, old_create, true, old_create, old_mod);
    }
    if (rv != 0)
        return rv;
    st->w_rev = rev;
    res->rv = 0;
    res->rev = rev;

    /* History compaction, decided per change so it is deterministic. */
    if (st->w_rev - st->w_compact + 1 >= (int64_t)st->history + st->chunk) {
        int64_t nc = st->w_compact + st->chunk;
        sqlite3_bind_int64(st->del_hist, 1, nc);
        rv = step_done(st->del_hist);
        if (rv != 0)
            return rv;
        st->w_compact = nc;
    }

    if (want_events) {
        if (c->op == STORE_OP_DELETE)
            res->ev =
                store_sevent_new(STORE_EVENT_DELETE, rev, old_create, c->key,
                                 c->keylen, st->old.data, st->old.len,
                                 st->old.data, st->old.len, true, old_mod);
        else
            res->ev = store_sevent_new(
                STORE_EVENT_PUT, rev,
                c->op == STORE_OP_CREATE ? rev : old_create, c->key, c->keylen,
                c->value, c->vlen, st->old.data, st->old.len,
                c->op == STORE_OP_UPDATE,
                c->op == STORE_OP_UPDATE ? old_mod : 0);
        if (res->ev == NULL)
            return K1S_ENOMEM;
    }
    return 0;
}

int store_state_apply(struct store_state *st,
                      const struct store_log_entry *ents, size_t n,
                      bool want_events, struct store_apply_result *res)
{
    struct store_apply_result dummy;
    int64_t save_rev = st->w_rev, save_compact = st->w_compact;
    int64_t now;
    int rv;

    if (n == 0)
        return 0;
    if (ents[0].index != st->w_applied + 1)
        return K1S_EINVAL;
    rv = step_done(st->begin);
    if (rv != 0)
        return rv;
    for (size_t i = 0; i < n; i++) {
        struct store_apply_result *r = res ? &res[i] : &dummy;
        struct store_cmd c;

        r->rv = 0;
        r->rev = 0;
        r->ev = NULL;
        if (ents[i].type != STORE_LOG_NORMAL)
            continue; /* no-op and membership entries change no key */
        if (store_cmd_decode(ents[i].data, ents[i].len, &c) != 0) {
            log_error("store: apply %llu: malformed entry skipped",
                      (unsigned long long)ents[i].index);
            r->rv = K1S_ECORRUPT;
            continue;
        }
        rv = apply_cmd(st, &c, want_events && res != NULL, r);
        if (r == &dummy && r->ev != NULL)
            store_sevent_unref(r->ev);
        if (rv != 0)
            goto err_after_begin;
    }
    sqlite3_bind_int64(st->upd_meta, 1, (sqlite3_int64)ents[n - 1].index);
    sqlite3_bind_int64(st->upd_meta, 2, st->w_rev);
    sqlite3_bind_int64(st->upd_meta, 3, st->w_compact);
    rv = step_done(st->upd_meta);
    if (rv == 0)
        rv = step_done(st->commit);
    if (rv != 0)
        goto err_after_begin;
    st->w_applied = ents[n - 1].index;
    atomic_store(&st->applied, st->w_applied);
    atomic_store(&st->compact, st->w_compact);
    atomic_store(&st->rev, st->w_rev);
    if (res != NULL) {
        now = clock_mono_ns();
        for (size_t i = 0; i < n; i++)
            if (res[i].ev != NULL)
                res[i].ev->commit_ns = now;
    }
    return 0;

err_after_begin:
    if (!sqlite3_get_autocommit(st->db))
        step_done(st->rollback);
    st->w_rev = save_rev;
    st->w_compact = save_compact;
    if (res != NULL) {
        for (size_t i = 0; i < n; i++) {
            store_sevent_unref(res[i].ev);
            res[i].ev = NULL;
        }
    }
    return rv;
}

/* --- reads ------------------------------------------------------------- */

static int rconn_open(struct store_state *st, struct rconn **ret)
{
    struct rconn *c = calloc(1, sizeof *c);
    int rc, rv = 0;

    if (c == NULL)
        return K1S_ENOMEM;
    rc = sqlite3_open_v2(st->path, &c->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rv = store_sqlite_err(rc);
        goto err;
    }
    sqlite3_busy_timeout(c->db, 5000);
    rv = store_sqlite_exec(c->db, "PRAGMA query_only = 1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  c->db, &c->get,
                  "SELECT m.rev, kv.value, kv.create_rev, kv.mod_rev "
                  "FROM meta m LEFT JOIN kv ON kv.key = ?1 WHERE m.id = 1");
    rv = rv ? rv : store_sqlite_prepare(c->db, &c->begin, "BEGIN");
    rv = rv ? rv : store_sqlite_prepare(c->db, &c->commit, "COMMIT");
    rv =
        rv ? rv
           : store_sqlite_prepare(c->db, &c->meta,
                                  "SELECT rev, compact FROM meta WHERE id = 1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  c->db, &c->list_cur,
                  "SELECT key, value, create_rev, mod_rev FROM kv "
                  "WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3");
    rv = rv ? rv
            : store_sqlite_prepare(
                  c->db, &c->list_old,
                  "SELECT key, value, create_rev, mod_rev FROM kv "
                  " WHERE key >= ?1 AND key < ?2 AND mod_rev <= ?3 "
                  "UNION ALL "
                  "SELECT key, prev_value, prev_create_rev, prev_mod_rev "
                  " FROM (SELECT key, prev_value, prev_create_rev, "
                  "  prev_mod_rev, min(rev) FROM hist WHERE rev > ?3 "
                  "  AND key >= ?1 AND key < ?2 GROUP BY key) "
                  " WHERE prev_mod_rev > 0 "
                  "ORDER BY 1 LIMIT ?4");
    rv = rv ? rv
            : store_sqlite_prepare(
                  c->db, &c->hist,
                  "SELECT rev, key, type, value, create_rev, prev_value, "
                  "prev_mod_rev FROM hist WHERE rev > ?1 AND rev <= ?2 "
                  "ORDER BY rev");
    if (rv != 0)
        goto err;
    *ret = c;
    return 0;
err:
    rconn_free(c);
    return rv;
}

static int rconn_get(struct store_state *st, struct rconn **ret)
{
    struct rconn *c;
    int rv;

    pthread_mutex_lock(&st->pool_mu);
    while (st->pool == NULL && st->nconn >= STATE_MAX_READERS)
        pthread_cond_wait(&st->pool_cond, &st->pool_mu);
    c = st->pool;
    if (c != NULL) {
        st->pool = c->next;
        pthread_mutex_unlock(&st->pool_mu);
        *ret = c;
        return 0;
    }
    st->nconn++;
    pthread_mutex_unlock(&st->pool_mu);
    rv = rconn_open(st, ret);
    if (rv != 0) {
        pthread_mutex_lock(&st->pool_mu);
        st->nconn--;
        pthread_cond_signal(&st->pool_cond);
        pthread_mutex_unlock(&st->pool_mu);
    }
    return rv;
}

static void rconn_put(struct store_state *st, struct rconn *c)
{
    pthread_mutex_lock(&st->pool_mu);
    c->next = st->pool;
    st->pool = c;
    pthread_cond_signal(&st->pool_cond);
    pthread_mutex_unlock(&st->pool_mu);
}

/* Copies `len` bytes into a new NUL-terminated heap string. */
static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static int fill_kv(sqlite3_stmt *q, int col, struct store_kv *kv,
                   const char *key, size_t keylen)
{
    size_t vlen = (size_t)sqlite3_column_bytes(q, col);
    const void *v = sqlite3_column_blob(q, col);

    memset(kv, 0, sizeof *kv);
    kv->key = dup_bytes(key, keylen);
    kv->value = dup_bytes(v, vlen);
    if (kv->key == NULL || kv->value == NULL) {
        store_kv_clear(kv);
        return K1S_ENOMEM;
    }
    kv->value_len = vlen;
    kv->create_rev = sqlite3_column_int64(q, col + 1);
    kv->mod_rev = sqlite3_column_int64(q, col + 2);
    return 0;
}

int store_state_get(struct store_state *st, const char *key,
                    struct store_kv *ret, int64_t *ret_rev)
{
    struct rconn *c;
    size_t keylen = strlen(key);
    int rc, rv;

    rv = rconn_get(st, &c);
    if (rv != 0)
        return rv;
    sqlite3_bind_blob(c->get, 1, key, (int)keylen, SQLITE_STATIC);
    rc = sqlite3_step(c->get);
    if (rc == SQLITE_ROW) {
        if (ret_rev != NULL)
            *ret_rev = sqlite3_column_int64(c->get, 0);
        if (sqlite3_column_type(c->get, 3) == SQLITE_NULL)
            rv = K1S_ENOTFOUND;
        else
            rv = fill_kv(c->get, 1, ret, key, keylen);
    } else {
        rv = store_sqlite_err(rc ? rc : SQLITE_ERROR);
        if (rv == 0)
            rv = K1S_EINTERNAL;
    }
    sqlite3_reset(c->get);
    rconn_put(st, c);
    return rv;
}

/* [lo, hi) for keys with `prefix` after `start_after`. hi NULL = none:
 * the caller binds a sentinel above every key. */
static char sentinel[STORE_MAX_KEY + 1];
static pthread_once_t sentinel_once = PTHREAD_ONCE_INIT;

static void sentinel_init(void)
{
    memset(sentinel, 0xff, sizeof sentinel);
}

struct key_range {
    char lo[STORE_MAX_KEY + 2];
    size_t lolen;
    char hi[STORE_MAX_KEY + 1];
    size_t hilen;
    bool hi_none;
};

static int key_range_make(const char *prefix, const char *start_after,
                          struct key_range *r)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    size_t alen = start_after ? strlen(start_after) : 0;

    if (plen > STORE_MAX_KEY || alen > STORE_MAX_KEY)
        return K1S_EINVAL;
    pthread_once(&sentinel_once, sentinel_init);
    memcpy(r->lo, prefix ? prefix : "", plen);
    r->lolen = plen;
    if (alen > 0) {
        /* The smallest key after start_after is start_after + "\0": keys
         * are C strings and never contain a NUL byte. */
        int c = memcmp(start_after, prefix ? prefix : "",
                       alen < plen ? alen : plen);
        if (c > 0 || (c == 0 && alen >= plen)) {
            memcpy(r->lo, start_after, alen);
            r->lo[alen] = '\0';
            r->lolen = alen + 1;
        }
    }
    /* hi = the prefix's successor: drop trailing 0xff, increment. */
    r->hilen = plen;
    memcpy(r->hi, prefix ? prefix : "", plen);
    while (r->hilen > 0 && (unsigned char)r->hi[r->hilen - 1] == 0xff)
        r->hilen--;
    r->hi_none = r->hilen == 0;
    if (!r->hi_none)
        r->hi[r->hilen - 1] = (char)((unsigned char)r->hi[r->hilen - 1] + 1);
    return 0;
}

static void bind_range(sqlite3_stmt *q, const struct key_range *r)
{
    sqlite3_bind_blob(q, 1, r->lo, (int)r->lolen, SQLITE_STATIC);
    if (r->hi_none)
        sqlite3_bind_blob(q, 2, sentinel, (int)sizeof sentinel, SQLITE_STATIC);
    else
        sqlite3_bind_blob(q, 2, r->hi, (int)r->hilen, SQLITE_STATIC);
}

int store_state_list(struct store_state *st, const char *prefix,
                     const char *start_after, size_t limit, int64_t at_rev,
                     struct store_list *ret)
{
    struct key_range r;
    struct rconn *c;
    sqlite3_stmt *q;
    int64_t cur = 0, compact = 0, at;
    size_t cap = 0;
    int rc, rv;

    memset(ret, 0, sizeof *ret);
    if (at_rev < 0)
        return K1S_EINVAL;
    rv = key_range_make(prefix, start_after, &r);
    if (rv != 0)
        return rv;
    rv = rconn_get(st, &c);
    if (rv != 0)
        return rv;
    rv = step_done(c->begin);
    if (rv != 0)
        goto out;
    rc = sqlite3_step(c->meta);
    if (rc == SQLITE_ROW) {
        cur = sqlite3_column_int64(c->meta, 0);
        compact = sqlite3_column_int64(c->meta, 1);
    }
    sqlite3_reset(c->meta);
    if (rc != SQLITE_ROW) {
        rv = rc == SQLITE_DONE ? K1S_ECORRUPT : store_sqlite_err(rc);
        goto out_txn;
    }
    at = at_rev == 0 ? cur : at_rev;
    if (at > cur) {
        rv = K1S_EINVAL;
        goto out_txn;
    }
    if (at < compact) {
        rv = K1S_EGONE;
        goto out_txn;
    }
    ret->rev = at;
    q = at == cur ? c->list_cur : c->list_old;
    bind_range(q, &r);
    if (at == cur) {
        sqlite3_bind_int64(q, 3, limit ? (sqlite3_int64)limit + 1 : -1);
    } else {
        sqlite3_bind_int64(q, 3, at);
        sqlite3_bind_int64(q, 4, limit ? (sqlite3_int64)limit + 1 : -1);
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (limit > 0 && ret->n == limit) {
            ret->more = true;
            break;
        }
        if (ret->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct store_kv *ni =
                realloc(ret->items, ncap * sizeof *ret->items);
            if (ni == NULL) {
                rv = K1S_ENOMEM;
                break;
            }
            ret->items = ni;
            cap = ncap;
        }
        rv = fill_kv(q, 1, &ret->items[ret->n], sqlite3_column_blob(q, 0),
                     (size_t)sqlite3_column_bytes(q, 0));
        if (rv != 0)
            break;
        ret->n++;
    }
    if (rv == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        rv = store_sqlite_err(rc);
    sqlite3_reset(q);
out_txn:
    step_done(c->commit);
out:
    rconn_put(st, c);
    if (rv != 0)
        store_list_free(ret);
    return rv;
}

int store_state_history(struct store_state *st, int64_t after, int64_t upto,
                        const char *lo, size_t lolen, const char *hi,
                        size_t hilen, size_t max, struct store_sevent **ret_evs,
                        size_t *ret_n, int64_t *ret_next)
{
    struct rconn *c;
    sqlite3_stmt *q;
    int64_t compact = 0, next = upto;
    size_t n = 0;
    int rc, rv;

    *ret_n = 0;
    *ret_next = after;
    if (after >= upto)
        return 0;
    rv = rconn_get(st, &c);
    if (rv != 0)
        return rv;
    rv = step_done(c->begin);
    if (rv != 0)
        goto out;
    rc = sqlite3_step(c->meta);
    if (rc == SQLITE_ROW)
        compact = sqlite3_column_int64(c->meta, 1);
    sqlite3_reset(c->meta);
    if (rc != SQLITE_ROW) {
        rv = rc == SQLITE_DONE ? K1S_ECORRUPT : store_sqlite_err(rc);
        goto out_txn;
    }
    if (after + 1 < compact) {
        rv = K1S_EGONE;
        goto out_txn;
    }
    q = c->hist;
    sqlite3_bind_int64(q, 1, after);
    sqlite3_bind_int64(q, 2, upto);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t rev = sqlite3_column_int64(q, 0);
        const char *key = sqlite3_column_blob(q, 1);
        size_t keylen = (size_t)sqlite3_column_bytes(q, 1);
        int type = sqlite3_column_int(q, 2);
        const void *prev = sqlite3_column_blob(q, 5);
        size_t plen = (size_t)sqlite3_column_bytes(q, 5);
        bool has_prev = sqlite3_column_int64(q, 6) > 0;
        size_t m = keylen < lolen ? keylen : lolen;
        struct store_sevent *e;
        int cmp;

        if (n == max) {
            next = rev - 1;
            break;
        }
        /* key in [lo, hi) */
        cmp = memcmp(key, lo, m);
        if (cmp < 0 || (cmp == 0 && keylen < lolen))
            continue;
        if (hi != NULL) {
            m = keylen < hilen ? keylen : hilen;
            cmp = memcmp(key, hi, m);
            if (cmp > 0 || (cmp == 0 && keylen >= hilen))
                continue;
        }
        if (type == STORE_EVENT_DELETE)
            e = store_sevent_new(STORE_EVENT_DELETE, rev,
                                 sqlite3_column_int64(q, 4), key, keylen, prev,
                                 plen, prev, plen, true,
                                 sqlite3_column_int64(q, 6));
        else
            e = store_sevent_new(
                STORE_EVENT_PUT, rev, sqlite3_column_int64(q, 4), key, keylen,
                sqlite3_column_blob(q, 3), (size_t)sqlite3_column_bytes(q, 3),
                prev, plen, has_prev, sqlite3_column_int64(q, 6));
        if (e == NULL) {
            rv = K1S_ENOMEM;
            break;
        }
        ret_evs[n++] = e;
    }
    if (rv == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        rv = store_sqlite_err(rc);
    sqlite3_reset(q);
    if (rv != 0) {
        while (n > 0)
            store_sevent_unref(ret_evs[--n]);
    }
out_txn:
    step_done(c->commit);
out:
    rconn_put(st, c);
    if (rv == 0) {
        *ret_n = n;
        *ret_next = next;
    }
    return rv;
}
