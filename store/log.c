/*
 * DESIGN: the durable log (store/log.h) in its own SQLite database.
 *
 *   entries(idx PRIMARY KEY, term, type, data, crc)   the log
 *   hardstate(id = 1, term, vote, commit)             Raft's hard state
 *   snapshot(id = 1, idx, term, conf)                 last snapshot's meta
 *
 * The database runs in WAL mode with synchronous=FULL: every commit
 * fsyncs the WAL, so every mutating call below is one transaction and one
 * fsync, and a batch appended together shares it (group commit). SQLite's
 * own WAL frame checksums discard a torn, never-synced transaction; the
 * entries' CRC32C catches what SQLite cannot (a bit flip in a page, a file
 * edited behind our back). On open, the last LOG_VERIFY_TAIL entries are
 * checked in index order and the log is truncated at the first bad one (a
 * gap counts as bad), with a warning naming the file and the range.
 *
 * The database is tagged with PRAGMA application_id so that another SQLite
 * file (the state database, say) is refused as K1S_ECORRUPT rather than
 * silently used.
 *
 * The first/last indexes are cached: the log's owner serialises calls
 * (log.h), and every change goes through this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/err.h"
#include "lib/log.h"
#include "store/sqlite_int.h"
#include "store/store_int.h"

#define LOG_APP_ID 0x6b31734c /* "k1sL" */
#define LOG_VERIFY_TAIL 65536

struct store_log {
    sqlite3 *db;
    char *path;
    uint64_t snap_index;
    uint64_t snap_term;
    uint64_t last;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *ins, *del_from, *del_upto, *sel_range, *sel_term;
    sqlite3_stmt *hs_get, *hs_put, *snap_get, *snap_put;
};

static uint32_t entry_crc(uint64_t index, uint64_t term, uint8_t type,
                          const void *data, size_t len)
{
    uint8_t hdr[17];
    uint32_t crc;

    for (int i = 0; i < 8; i++) {
        hdr[i] = (uint8_t)(index >> (8 * i));
        hdr[8 + i] = (uint8_t)(term >> (8 * i));
    }
    hdr[16] = type;
    crc = store_crc32c(0, hdr, sizeof hdr);
    return store_crc32c(crc, data, len);
}

/* Runs one statement that returns no rows; resets it. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_sqlite_err(rc);
}

static void log_errmsg(struct store_log *log, char *errbuf, size_t errlen,
                       const char *what, int rc)
{
    if (errbuf != NULL)
        snprintf(errbuf, errlen, "store: log %s: %s: %s", log->path, what,
                 log->db ? sqlite3_errmsg(log->db) : sqlite3_errstr(rc));
}

static const char log_schema[] =
    "CREATE TABLE entries(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,"
    " type INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL);"
    "CREATE TABLE hardstate(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " term INTEGER NOT NULL, vote INTEGER NOT NULL, cmt INTEGER NOT NULL);"
    "CREATE TABLE snapshot(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " idx INTEGER NOT NULL, term INTEGER NOT NULL, conf BLOB NOT NULL);";

/* Tags a fresh database or checks the tag of an existing one. */
static int log_init_schema(struct store_log *log, char *errbuf, size_t errlen)
{
    return store_sqlite_init_schema(log->db, LOG_APP_ID, log_schema, "log",
                                    log->path, errbuf, errlen);
}

static int log_prepare_all(struct store_log *log)
{
    int rv = 0;

    rv =
        rv ? rv : store_sqlite_prepare(log->db, &log->begin, "BEGIN IMMEDIATE");
    rv = rv ? rv : store_sqlite_prepare(log->db, &log->commit, "COMMIT");
    rv = rv ? rv : store_sqlite_prepare(log->db, &log->rollback, "ROLLBACK");
    rv = rv ? rv
            : store_sqlite_prepare(
                  log->db, &log->ins,
                  "INSERT INTO entries(idx, term, type, data, crc) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)");
    rv = rv ? rv
            : store_sqlite_prepare(log->db, &log->del_from,
                                   "DELETE FROM entries WHERE idx >= ?1");
    rv = rv ? rv
            : store_sqlite_prepare(log->db, &log->del_upto,
                                   "DELETE FROM entries WHERE idx <= ?1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  log->db, &log->sel_range,
                  "SELECT idx, term, type, data, crc FROM entries "
                  "WHERE idx >= ?1 AND idx < ?2 ORDER BY idx");
    rv = rv ? rv
            : store_sqlite_prepare(log->db, &log->sel_term,
                                   "SELECT term FROM entries WHERE idx = ?1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  log->db, &log->hs_get,
                  "SELECT term, vote, cmt FROM hardstate WHERE id = 1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  log->db, &log->hs_put,
                  "INSERT OR REPLACE INTO hardstate(id, term, vote, cmt)"
                  " VALUES (1, ?1, ?2, ?3)");
    rv = rv ? rv
            : store_sqlite_prepare(
                  log->db, &log->snap_get,
                  "SELECT idx, term, conf FROM snapshot WHERE id = 1");
    rv = rv ? rv
            : store_sqlite_prepare(
                  log->db, &log->snap_put,
                  "INSERT OR REPLACE INTO snapshot(id, idx, term, conf)"
                  " VALUES (1, ?1, ?2, ?3)");
    return rv;
}

static int log_load_bounds(struct store_log *log)
{
    int64_t v = 0;
    int rc, rv;

    log->snap_index = 0;
    log->snap_term = 0;
    rc = sqlite3_step(log->snap_get);
    if (rc == SQLITE_ROW) {
        log->snap_index = (uint64_t)sqlite3_column_int64(log->snap_get, 0);
        log->snap_term = (uint64_t)sqlite3_column_int64(log->snap_get, 1);
    }
    sqlite3_reset(log->snap_get);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlite_err(rc);
    rv = store_sqlite_query_int(
        log->db, "SELECT coalesce(max(idx), 0) FROM entries", &v);
    if (rv != 0)
        return rv;
    log->last = (uint64_t)v > log->snap_index ? (uint64_t)v : log->snap_index;
    return 0;
}

/* Checks the tail's checksums and index sequence; truncates at the first
 * bad entry. */
static int log_repair_tail(struct store_log *log, char *errbuf, size_t errlen)
{
    uint64_t lo, expect, bad = 0;
    const char *why = NULL;
    int rc, rv;

    lo = log->snap_index + 1;
    if (log->last > LOG_VERIFY_TAIL && log->last - LOG_VERIFY_TAIL + 1 > lo)
        lo = log->last - LOG_VERIFY_TAIL + 1;
    /* Entries at or below the snapshot index should be gone; stray ones
     * (a compaction is one transaction, so never expected) are ignored. */
    sqlite3_bind_int64(log->sel_range, 1, (sqlite3_int64)lo);
    sqlite3_bind_int64(log->sel_range, 2, INT64_MAX);
    expect = lo;
    while ((rc = sqlite3_step(log->sel_range)) == SQLITE_ROW) {
        uint64_t idx = (uint64_t)sqlite3_column_int64(log->sel_range, 0);
        uint64_t term = (uint64_t)sqlite3_column_int64(log->sel_range, 1);
        int type = sqlite3_column_int(log->sel_range, 2);
        const void *data = sqlite3_column_blob(log->sel_range, 3);
        size_t len = (size_t)sqlite3_column_bytes(log->sel_range, 3);
        uint32_t crc = (uint32_t)sqlite3_column_int64(log->sel_range, 4);

        if (idx != expect) {
            bad = expect;
            why = "missing";
            break;
        }
        if (type < STORE_LOG_NORMAL || type > STORE_LOG_CONFIG ||
            entry_crc(idx, term, (uint8_t)type, data, len) != crc) {
            bad = idx;
            why = "fails its checksum";
            break;
        }
        expect++;
    }
    sqlite3_reset(log->sel_range);
    sqlite3_clear_bindings(log->sel_range);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_errmsg(log, errbuf, errlen, "reading the tail", rc);
        return store_sqlite_err(rc);
    }
    if (why == NULL)
        return 0;
    log_warn("store: log %s: entry %llu %s; truncating the log at the last "
             "good entry %llu (dropping entries %llu..%llu)",
             log->path, (unsigned long long)bad, why,
             (unsigned long long)(bad - 1), (unsigned long long)bad,
             (unsigned long long)log->last);
    rv = store_log_truncate_suffix(log, bad);
    if (rv != 0)
        log_errmsg(log, errbuf, errlen, "truncating the tail", 0);
    return rv;
}

int store_log_open(const char *path, struct store_log **ret_log, char *errbuf,
                   size_t errlen)
{
    struct store_log *log;
    int rc, rv;

    log = calloc(1, sizeof *log);
    if (log == NULL)
        return K1S_ENOMEM;
    log->path = strdup(path);
    if (log->path == NULL) {
        rv = K1S_ENOMEM;
        goto err_after_alloc;
    }
    rc = sqlite3_open_v2(
        path, &log->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_errmsg(log, errbuf, errlen, "cannot open", rc);
        rv = store_sqlite_err(rc);
        goto err_after_db;
    }
    /* Only another process holding the log (locking_mode=EXCLUSIVE) makes
     * it busy: wait a little, then say so. */
    sqlite3_busy_timeout(log->db, 1000);
    sqlite3_extended_result_codes(log->db, 0);
    rv = log_init_schema(log, errbuf, errlen);
    if (rv != 0)
        goto err_after_db;
    {
        sqlite3_stmt *st = NULL;
        const char *mode = "";
        rc = sqlite3_prepare_v2(log->db, "PRAGMA journal_mode = WAL", -1, &st,
                                NULL);
        if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            mode = (const char *)sqlite3_column_text(st, 0);
        rv = (mode != NULL && strcmp(mode, "wal") == 0) ? 0 : K1S_EIO;
        sqlite3_finalize(st);
        if (rv != 0) {
            log_errmsg(log, errbuf, errlen, "cannot switch to WAL mode", 0);
            goto err_after_db;
        }
    }
    rv = store_sqlite_exec(log->db, "PRAGMA synchronous = FULL");
    /* One connection only: no file locks per transaction. */
    if (rv == 0)
        rv = store_sqlite_exec(log->db, "PRAGMA locking_mode = EXCLUSIVE");
    if (rv == 0)
        rv = store_sqlite_exec(log->db, "PRAGMA cache_size = -8192");
    if (rv == 0)
        rv = log_prepare_all(log);
    if (rv != 0) {
        log_errmsg(log, errbuf, errlen, "not a k1s log database", 0);
        rv = rv == K1S_EIO ? K1S_ECORRUPT : rv;
        goto err_after_db;
    }
    rv = log_load_bounds(log);
    if (rv != 0) {
        log_errmsg(log, errbuf, errlen, "reading the bounds", 0);
        goto err_after_db;
    }
    rv = log_repair_tail(log, errbuf, errlen);
    if (rv != 0)
        goto err_after_db;
    *ret_log = log;
    return 0;

err_after_db:
    store_log_close(log);
    return rv;
err_after_alloc:
    free(log);
    return rv;
}

void store_log_close(struct store_log *log)
{
    if (log == NULL)
        return;
    sqlite3_stmt **stmts[] = {
        &log->begin,    &log->commit,   &log->rollback,  &log->ins,
        &log->del_from, &log->del_upto, &log->sel_range, &log->sel_term,
        &log->hs_get,   &log->hs_put,   &log->snap_get,  &log->snap_put,
    };

    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(*stmts[i]);
    if (log->db != NULL)
        sqlite3_close(log->db);
    free(log->path);
    free(log);
}

int store_log_set_max_pages(struct store_log *log, uint32_t pages)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %u", pages);
    return store_sqlite_exec(log->db, sql);
}

uint64_t store_log_first_index(struct store_log *log)
{
    return log->snap_index + 1;
}

uint64_t store_log_last_index(struct store_log *log)
{
    return log->last;
}

static int hs_bind_put(struct store_log *log,
                       const struct store_log_hardstate *hs)
{
    sqlite3_bind_int64(log->hs_put, 1, (sqlite3_int64)hs->term);
    sqlite3_bind_int64(log->hs_put, 2, (sqlite3_int64)hs->vote);
    sqlite3_bind_int64(log->hs_put, 3, (sqlite3_int64)hs->commit);
    return step_done(log->hs_put);
}

int store_log_append(struct store_log *log, const struct store_log_entry *ents,
                     size_t n, const struct store_log_hardstate *hs)
{
    int rv;

    if (n == 0 && hs == NULL)
        return 0;
    if (n > 0) {
        if (ents[0].index <= log->snap_index || ents[0].index > log->last + 1)
            return K1S_EINVAL;
        for (size_t i = 0; i < n; i++) {
            if (ents[i].index != ents[0].index + i ||
                ents[i].type < STORE_LOG_NORMAL ||
                ents[i].type > STORE_LOG_CONFIG)
                return K1S_EINVAL;
        }
    }
    rv = step_done(log->begin);
    if (rv != 0)
        return rv;
    if (n > 0 && ents[0].index <= log->last) {
        sqlite3_bind_int64(log->del_from, 1, (sqlite3_int64)ents[0].index);
        rv = step_done(log->del_from);
        if (rv != 0)
            goto err_after_begin;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_log_entry *e = &ents[i];
        sqlite3_bind_int64(log->ins, 1, (sqlite3_int64)e->index);
        sqlite3_bind_int64(log->ins, 2, (sqlite3_int64)e->term);
        sqlite3_bind_int(log->ins, 3, e->type);
        if (e->len == 0)
            sqlite3_bind_zeroblob(log->ins, 4, 0);
        else
            sqlite3_bind_blob(log->ins, 4, e->data, (int)e->len, SQLITE_STATIC);
        sqlite3_bind_int64(
            log->ins, 5,
            entry_crc(e->index, e->term, e->type, e->data, e->len));
        rv = step_done(log->ins);
        if (rv != 0)
            goto err_after_begin;
    }
    if (hs != NULL) {
        rv = hs_bind_put(log, hs);
        if (rv != 0)
            goto err_after_begin;
    }
    rv = step_done(log->commit);
    if (rv != 0)
        goto err_after_begin;
    if (n > 0)
        log->last = ents[n - 1].index;
    return 0;

err_after_begin:
    if (!sqlite3_get_autocommit(log->db))
        step_done(log->rollback);
    return rv;
}

int store_log_save_hardstate(struct store_log *log,
                             const struct store_log_hardstate *hs)
{
    return store_log_append(log, NULL, 0, hs);
}

int store_log_load_hardstate(struct store_log *log,
                             struct store_log_hardstate *ret_hs)
{
    int rc = sqlite3_step(log->hs_get);

    memset(ret_hs, 0, sizeof *ret_hs);
    if (rc == SQLITE_ROW) {
        ret_hs->term = (uint64_t)sqlite3_column_int64(log->hs_get, 0);
        ret_hs->vote = (uint64_t)sqlite3_column_int64(log->hs_get, 1);
        ret_hs->commit = (uint64_t)sqlite3_column_int64(log->hs_get, 2);
    }
    sqlite3_reset(log->hs_get);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sqlite_err(rc);
}

void store_log_entries_free(struct store_log_entry *ents, size_t n)
{
    if (ents == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((void *)ents[i].data);
    free(ents);
}

int store_log_read(struct store_log *log, uint64_t lo, uint64_t hi,
                   size_t max_bytes, struct store_log_entry **ret_ents,
                   size_t *ret_n)
{
    struct store_log_entry *ents = NULL;
    size_t n = 0, cap = 0, bytes = 0;
    int rc, rv = 0;

    *ret_ents = NULL;
    *ret_n = 0;
    if (lo <= log->snap_index)
        return K1S_EGONE;
    if (hi > log->last + 1)
        hi = log->last + 1;
    if (lo >= hi)
        return 0;
    sqlite3_bind_int64(log->sel_range, 1, (sqlite3_int64)lo);
    sqlite3_bind_int64(log->sel_range, 2, (sqlite3_int64)hi);
    while ((rc = sqlite3_step(log->sel_range)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(log->sel_range, 3);
        const void *src = sqlite3_column_blob(log->sel_range, 3);
        void *data;

        if (n > 0 && max_bytes > 0 && bytes + len > max_bytes)
            break;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct store_log_entry *ne = realloc(ents, ncap * sizeof *ents);
            if (ne == NULL) {
                rv = K1S_ENOMEM;
                break;
            }
            ents = ne;
            cap = ncap;
        }
        data = malloc(len ? len : 1);
        if (data == NULL) {
            rv = K1S_ENOMEM;
            break;
        }
        if (len > 0)
            memcpy(data, src, len);
        ents[n].index = (uint64_t)sqlite3_column_int64(log->sel_range, 0);
        ents[n].term = (uint64_t)sqlite3_column_int64(log->sel_range, 1);
        ents[n].type = (uint8_t)sqlite3_column_int(log->sel_range, 2);
        ents[n].data = data;
        ents[n].len = len;
        n++;
        bytes += len;
    }
    if (rv == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        rv = store_sqlite_err(rc);
    sqlite3_reset(log->sel_range);
    sqlite3_clear_bindings(log->sel_range);
    if (rv != 0) {
        store_log_entries_free(ents, n);
        return rv;
    }
    *ret_ents = ents;
    *ret_n = n;
    return 0;
}

int store_log_term(struct store_log *log, uint64_t index, uint64_t *ret_term)
{
    int rc;

    if (index == log->snap_index) {
        *ret_term = log->snap_term;
        return 0;
    }
    if (index < log->snap_index)
        return K1S_EGONE;
    if (index > log->last)
        return K1S_ENOTFOUND;
    sqlite3_bind_int64(log->sel_term, 1, (sqlite3_int64)index);
    rc = sqlite3_step(log->sel_term);
    if (rc == SQLITE_ROW)
        *ret_term = (uint64_t)sqlite3_column_int64(log->sel_term, 0);
    sqlite3_reset(log->sel_term);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? K1S_ENOTFOUND : store_sqlite_err(rc);
}

int store_log_truncate_suffix(struct store_log *log, uint64_t from)
{
    int rv;

    if (from <= log->snap_index)
        return K1S_EINVAL;
    if (from > log->last)
        return 0;
    sqlite3_bind_int64(log->del_from, 1, (sqlite3_int64)from);
    rv = step_done(log->del_from); /* autocommit: one transaction */
    if (rv == 0)
        log->last = from - 1;
    return rv;
}

int store_log_compact(struct store_log *log,
                      const struct store_log_snapshot_meta *meta)
{
    int rv;

    if (meta->index < log->snap_index)
        return K1S_EINVAL;
    rv = step_done(log->begin);
    if (rv != 0)
        return rv;
    sqlite3_bind_int64(log->snap_put, 1, (sqlite3_int64)meta->index);
    sqlite3_bind_int64(log->snap_put, 2, (sqlite3_int64)meta->term);
    if (meta->conf_len == 0)
        sqlite3_bind_zeroblob(log->snap_put, 3, 0);
    else
        sqlite3_bind_blob(log->snap_put, 3, meta->conf, (int)meta->conf_len,
                          SQLITE_STATIC);
    rv = step_done(log->snap_put);
    if (rv == 0) {
        sqlite3_bind_int64(log->del_upto, 1, (sqlite3_int64)meta->index);
        rv = step_done(log->del_upto);
    }
    if (rv == 0)
        rv = step_done(log->commit);
    if (rv != 0) {
        if (!sqlite3_get_autocommit(log->db))
            step_done(log->rollback);
        return rv;
    }
    log->snap_index = meta->index;
    log->snap_term = meta->term;
    if (log->last < meta->index)
        log->last = meta->index;
    return 0;
}

int store_log_load_snapshot_meta(struct store_log *log,
                                 struct store_log_snapshot_meta *ret_meta)
{
    int rc = sqlite3_step(log->snap_get);

    memset(ret_meta, 0, sizeof *ret_meta);
    if (rc == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(log->snap_get, 2);
        void *conf = malloc(len ? len : 1);
        if (conf == NULL) {
            sqlite3_reset(log->snap_get);
            return K1S_ENOMEM;
        }
        if (len > 0)
            memcpy(conf, sqlite3_column_blob(log->snap_get, 2), len);
        ret_meta->index = (uint64_t)sqlite3_column_int64(log->snap_get, 0);
        ret_meta->term = (uint64_t)sqlite3_column_int64(log->snap_get, 1);
        ret_meta->conf = conf;
        ret_meta->conf_len = len;
    }
    sqlite3_reset(log->snap_get);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sqlite_err(rc);
}
