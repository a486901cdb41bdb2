/*
 * store_int — what the files of the store module share with each other
 * (SQLite's btreeInt.h). Nothing outside store/ (and its tests and
 * benchmarks) includes it.
 *
 * Files:
 *   crc32c.c  CRC32C of log entries
 *   log.c     the durable log (store/log.h)
 *   codec.c   encoding of a write command into a log entry's data
 *   state.c   the state machine: the state database, apply, reads
 *   watch.c   watchers: the hub, queues, catch-up from history
 *   store.c   store.h: open/close, the writer (group commit) thread
 *
 * Threads: struct store_state's write side (apply) belongs to the store's
 * writer thread; its read side (get, list, history reads) may be called
 * from any thread (a pool of read connections). The watch hub is guarded by
 * its own mutex. Lock order where two are held: store->qmu is never held
 * while taking hub->mu or the state's pool mutex, and vice versa.
 */
#ifndef K1S_STORE_STORE_INT_H
#define K1S_STORE_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/log.h"
#include "store/store.h"

/* Longest key accepted (bytes, without the NUL); longer is K1S_EINVAL. */
#define STORE_MAX_KEY 4096

/* --- crc32c.c ---------------------------------------------------------- */

/* CRC32C (Castagnoli, RFC 3720 appendix B.4) of `len` bytes, continuing
 * from `crc` (0 to start). Hardware instruction when the CPU has it. */
uint32_t store_crc32c(uint32_t crc, const void *data, size_t len);

/* --- log.c (additions to store/log.h) ------------------------------- */

/* Test knob: caps the log database at `pages` pages (SQLite
 * max_page_count), so that a full disk can be simulated. */
int store_log_set_max_pages(struct store_log *log, uint32_t pages);

/* --- codec.c ----------------------------------------------------------- */

enum store_op {
    STORE_OP_CREATE = 1,
    STORE_OP_UPDATE = 2,
    STORE_OP_DELETE = 3,
};

/* A write as it travels in a log entry (STORE_LOG_NORMAL). Decoded
 * pointers borrow the entry's data. */
struct store_cmd {
    uint8_t op; /* enum store_op */
    const char *key;
    size_t keylen;
    const void *value;
    size_t vlen;
    int64_t expect_rev;
};

/* Encoded size of `c`. */
size_t store_cmd_size(const struct store_cmd *c);
/* Writes store_cmd_size(c) bytes to `out`. */
void store_cmd_encode(const struct store_cmd *c, uint8_t *out);
/* K1S_ECORRUPT if `data` is not a well-formed command. */
int store_cmd_decode(const void *data, size_t len, struct store_cmd *ret);

/* --- events shared between watchers (watch.c) -------------------------- */

/* One change, built once by the apply thread and shared (refcounted) by
 * every watcher queue that holds it. Immutable after creation; one
 * allocation holds the struct and its bytes. */
struct store_sevent {
    atomic_int refs;
    uint8_t type; /* enum store_event_type */
    int64_t rev;
    int64_t create_rev;
    int64_t commit_ns; /* monotonic time of the state commit (bench) */
    char *key;
    size_t keylen;
    char *value; /* the new value (PUT) or the last value (DELETE) */
    size_t vlen;
    char *prev; /* NULL for a create */
    size_t plen;
    int64_t prev_mod; /* mod_rev of the previous value (0: none) */
};

struct store_sevent *store_sevent_new(uint8_t type, int64_t rev,
                                      int64_t create_rev, const char *key,
                                      size_t keylen, const void *value,
                                      size_t vlen, const void *prev,
                                      size_t plen, bool has_prev,
                                      int64_t prev_mod);
void store_sevent_unref(struct store_sevent *e);
/* Copies into a caller-owned store_event. K1S_ENOMEM. */
int store_sevent_copy(const struct store_sevent *e, struct store_event *ev);

/* --- state.c ----------------------------------------------------------- */

struct store_state;

struct store_state_config {
    const char *path;
    uint64_t history_revisions;
    /* Test knob: SQLite max_page_count of the state database (0 = none),
     * to simulate a full disk. */
    uint32_t max_pages;
};

/* Opens/creates the state database; K1S_ECORRUPT names the file. */
int store_state_open(const struct store_state_config *cfg,
                     struct store_state **ret, char *errbuf, size_t errlen);
void store_state_close(struct store_state *st);

/* Result of applying one entry. */
struct store_apply_result {
    int rv;      /* 0, K1S_EEXIST, K1S_ENOTFOUND, K1S_ECONFLICT, ... */
    int64_t rev; /* the new revision on success */
    struct store_sevent *ev; /* the change (refcount 1, caller unrefs) when
                                want_events and rv == 0; else NULL */
};

/*
 * Applies entries (consecutive indexes following the applied index) in one
 * transaction that also records the applied index. Deterministic: depends
 * only on the entries and the database. `res` (may be NULL) has n slots.
 * On failure nothing is applied (the transaction rolled back).
 */
int store_state_apply(struct store_state *st,
                      const struct store_log_entry *ents, size_t n,
                      bool want_events, struct store_apply_result *res);

/* Values as of the last commit (any thread). */
uint64_t store_state_applied(struct store_state *st);
int64_t store_state_revision(struct store_state *st);
int64_t store_state_compact(struct store_state *st);

/* Makes every committed transaction durable (fsync of the WAL and the
 * database file), before the log drops entries the state covers. */
int store_state_sync(struct store_state *st);

int store_state_get(struct store_state *st, const char *key,
                    struct store_kv *ret, int64_t *ret_rev);
int store_state_list(struct store_state *st, const char *prefix,
                     const char *start_after, size_t limit, int64_t at_rev,
                     struct store_list *ret);

/* Reads history events with after < rev <= upto and key in [lo, hi)
 * (hi NULL: no upper bound), at most `max`, in revision order, as new
 * shared events. *ret_next = the revision read up to (all events <= it
 * that match were returned). K1S_EGONE if `after` + 1 was compacted away. */
int store_state_history(struct store_state *st, int64_t after, int64_t upto,
                        const char *lo, size_t lolen, const char *hi,
                        size_t hilen, size_t max, struct store_sevent **ret_evs,
                        size_t *ret_n, int64_t *ret_next);

/* --- watch.c ----------------------------------------------------------- */

struct store_hub;

int store_hub_create(struct store *s, size_t queue_max, struct store_hub **ret);
/* Drops the store's reference (after store_hub_shutdown). */
void store_hub_release(struct store_hub *h);
/* The revision published so far (events up to it are queued). */
void store_hub_set_published(struct store_hub *h, int64_t rev);
bool store_hub_has_watchers(struct store_hub *h);
/* Queues events (in revision order, revisions up to `rev`) to matching
 * watchers, then calls notify callbacks. Apply thread only. */
void store_hub_publish(struct store_hub *h, struct store_sevent **evs, size_t n,
                       int64_t rev);
/* The writer applied up to `rev` without building events (no watcher
 * existed when the batch started): watchers registered since catch up on
 * those revisions from history. Apply thread only. */
void store_hub_publish_none(struct store_hub *h, int64_t rev);
/* Calls the notify callback of watchers that asked for a kick (catch-up
 * ready at registration). Apply thread only. */
void store_hub_kick(struct store_hub *h);
/* Cuts every watcher off (K1S_ESHUTDOWN after queued events), calls their
 * callbacks once more, and waits for history reads in progress. */
void store_hub_shutdown(struct store_hub *h);

/* --- store.c ----------------------------------------------------------- */

/* Asks the writer thread to run store_hub_kick. */
void store_request_kick(struct store *s);
struct store_state *store_get_state(struct store *s);
struct store_hub *store_get_hub(struct store *s);
bool store_on_apply_thread(struct store *s);

/* Test and benchmark knobs (store_open_ex). */
struct store_test_config {
    uint32_t log_max_pages;   /* SQLite max_page_count of the log db */
    uint32_t state_max_pages; /* ... of the state db */
};

int store_open_ex(const struct store_config *cfg,
                  const struct store_test_config *tcfg,
                  struct store **ret_store, char *errbuf, size_t errlen);

/* The first half of store_close: fails pending and later calls with
 * K1S_ESHUTDOWN, cuts the watchers off and stops the writer, but keeps the
 * memory, so that a test can call into a stopped store. store_close after
 * it frees. */
void store_stop(struct store *s);

/* store_watch_poll that also hands back each event's commit time (the
 * monotonic ns of the state transaction that applied it; 0 for events read
 * from history). For the benchmark. */
int store_watch_poll_ts(struct store_watch *w, struct store_event *evs,
                        int64_t *ret_commit_ns, size_t max);

/* Log appends (= log fsyncs) and entries appended since open: the batch
 * size of group commit, for the benchmark. Any thread. */
void store_stats(struct store *s, uint64_t *ret_appends, uint64_t *ret_entries);

/* Log file names inside the store directory. */
#define STORE_LOG_FILE "log.db"
#define STORE_STATE_FILE "state.db"

/* SQLite result code → K1S_E*. */
int store_sqlite_err(int sqlite_rc);

#endif
