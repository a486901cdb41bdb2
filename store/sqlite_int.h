/*
 * store/sqlite_int — the SQLite helpers the log (log.c) and the state
 * machine (state.c) share. Internal to store/: SQLite's types and result
 * codes stop here; everything above sees K1S_E* codes (store_sqlite_err).
 *
 * The functions are used by the thread that owns the database handle.
 */
#ifndef K1S_STORE_SQLITE_INT_H
#define K1S_STORE_SQLITE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Runs SQL that returns no rows. */
int store_sqlite_exec(sqlite3 *db, const char *sql);

/* Prepares a statement kept for the connection's life. */
int store_sqlite_prepare(sqlite3 *db, sqlite3_stmt **ret_st, const char *sql);

/* Runs a query whose first row's first column is an integer. */
int store_sqlite_query_int(sqlite3 *db, const char *sql, int64_t *ret);

/*
 * Tags a fresh database with `app_id` and creates `schema` in one
 * transaction, or checks the tag of an existing one. `what` names the
 * database in messages ("log", "state database"), `path` is its file.
 * Errors (with a message in errbuf naming the file): K1S_EBUSY (held by
 * another process), K1S_ECORRUPT (unreadable, or not this kind of k1s
 * database), or the translated SQLite error of the schema creation.
 */
int store_sqlite_init_schema(sqlite3 *db, int app_id, const char *schema,
                             const char *what, const char *path, char *errbuf,
                             size_t errlen);

#endif
