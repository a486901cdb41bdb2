/*
 * DESIGN: the SQLite plumbing both store databases need — error
 * translation at the module's border, statements, and the tagging of a
 * database file with an application_id so that a log is never opened as a
 * state database (or a stranger's file as either).
 */
#include "store/sqlite_int.h"

#include <stdio.h>

#include "lib/err.h"
#include "store/store_int.h"

int store_sqlite_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return K1S_ENOMEM;
    case SQLITE_FULL:
        return K1S_ENOSPACE;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return K1S_ECORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return K1S_EBUSY;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return K1S_EINTERNAL;
    default:
        return K1S_EIO;
    }
}

int store_sqlite_exec(sqlite3 *db, const char *sql)
{
    return store_sqlite_err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int store_sqlite_prepare(sqlite3 *db, sqlite3_stmt **ret_st, const char *sql)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret_st,
                                NULL);
    return rc == SQLITE_OK ? 0 : store_sqlite_err(rc);
}

int store_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *ret)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return store_sqlite_err(rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_sqlite_err(rc ? rc : SQLITE_ERROR);
}

int store_sqlite_init_schema(sqlite3 *db, int app_id, const char *schema,
                             const char *what, const char *path, char *errbuf,
                             size_t errlen)
{
    int64_t have_id = 0, ntables = 0;
    char sql[64];
    int rv;

    rv = store_sqlite_query_int(db, "PRAGMA application_id", &have_id);
    if (rv == 0)
        rv = store_sqlite_query_int(db, "SELECT count(*) FROM sqlite_master",
                                    &ntables);
    if (rv == K1S_EBUSY) {
        if (errbuf != NULL)
            snprintf(errbuf, errlen,
                     "store: %s %s: in use by another process (is another "
                     "k1s server running on this data directory?)",
                     what, path);
        return rv;
    }
    if (rv != 0) {
        if (errbuf != NULL)
            snprintf(errbuf, errlen,
                     "store: %s %s: corrupt (not a readable SQLite file): %s",
                     what, path, sqlite3_errmsg(db));
        return K1S_ECORRUPT;
    }
    if (have_id == app_id)
        return 0;
    if (have_id != 0 || ntables != 0) {
        if (errbuf != NULL)
            snprintf(errbuf, errlen,
                     "store: %s %s: not a k1s %s (application_id %lld, %lld "
                     "tables)",
                     what, path, what, (long long)have_id, (long long)ntables);
        return K1S_ECORRUPT;
    }
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d", app_id);
    rv = store_sqlite_exec(db, "BEGIN IMMEDIATE");
    if (rv == 0)
        rv = store_sqlite_exec(db, schema);
    if (rv == 0)
        rv = store_sqlite_exec(db, sql);
    if (rv == 0)
        rv = store_sqlite_exec(db, "COMMIT");
    if (rv != 0) {
        if (errbuf != NULL)
            snprintf(errbuf, errlen,
                     "store: %s %s: cannot create the schema: %s", what, path,
                     sqlite3_errmsg(db));
        store_sqlite_exec(db, "ROLLBACK");
    }
    return rv;
}
