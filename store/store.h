/*
 * store — keys, revisions and bytes, with the semantics Kubernetes gets from
 * etcd. The only public header of the store module.
 *
 * The store knows nothing of Kubernetes kinds: a key is a NUL-terminated
 * string (the API server uses "/registry/<resource>/<ns>/<name>"), a value
 * is opaque bytes.
 *
 * Semantics (DESIGN.md, "Store semantics"):
 *  - One global revision counter. Every successful write (create, update,
 *    delete) takes the next revision; an object's mod_rev is the revision of
 *    its last change, its create_rev the revision that created it.
 *  - create fails with K1S_EEXIST if the key exists; update and delete fail
 *    with K1S_ENOTFOUND if it does not, and with K1S_ECONFLICT if a non-zero
 *    expected mod_rev does not match. These are decided by the state
 *    machine, when the log entry is applied, so every member decides alike.
 *  - list is a consistent snapshot at one revision; paging with
 *    `start_after` and `at_rev` continues through that same snapshot.
 *    Asking for a revision older than the kept history is K1S_EGONE.
 *  - watch from revision R delivers every change with revision > R in
 *    order, exactly once. History is kept for `history_revisions`
 *    revisions; R older than that is K1S_EGONE. A watcher that falls more
 *    than `watch_queue_max` events behind is cut off (K1S_ESLOW), never
 *    buffered without bound.
 *  - Durability: a write returns only after its log entry is on disk
 *    (fsync); concurrent writers share one fsync (group commit). A restart,
 *    also after kill -9, recovers every acknowledged write.
 *
 * Threads: every function may be called from any thread, concurrently.
 * Writes block the calling thread until the entry is committed and applied
 * (or failed). Watch notification callbacks run on the store's apply thread
 * and must not block or call back into the store (other than
 * store_watch_poll on the same watcher, which never blocks).
 *
 * Ownership: values handed in are copied. Values handed out (struct
 * store_kv, struct store_event, lists) are owned by the caller and freed
 * with the matching *_clear / *_free function.
 */
#ifndef K1S_STORE_STORE_H
#define K1S_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_watch;

struct store_config {
    /* Directory for the store's files (created if missing): the Raft log
     * database and the state-machine database. */
    const char *dir;
    /* Revisions of history kept for watch and for paging through an old
     * snapshot; older revisions are K1S_EGONE. 0 picks the default
     * (STORE_DEFAULT_HISTORY). */
    uint64_t history_revisions;
    /* Events a watcher may have queued before it is cut off. 0 picks the
     * default (STORE_DEFAULT_WATCH_QUEUE). */
    size_t watch_queue_max;
};

#define STORE_DEFAULT_HISTORY 100000
#define STORE_DEFAULT_WATCH_QUEUE 10000
/* Largest value accepted by a write; larger is K1S_ETOOLARGE. */
#define STORE_MAX_VALUE (8u * 1024 * 1024)

struct store_kv {
    char *key;   /* heap, NUL-terminated */
    char *value; /* heap, value_len bytes + a NUL for convenience */
    size_t value_len;
    int64_t create_rev;
    int64_t mod_rev;
};

struct store_list {
    struct store_kv *items; /* heap array of `n` */
    size_t n;
    int64_t rev; /* the snapshot revision the list was read at */
    bool more;   /* more keys follow the last item in this snapshot */
};

enum store_event_type {
    STORE_EVENT_PUT = 1,    /* created (kv.create_rev == kv.mod_rev) or
                               modified */
    STORE_EVENT_DELETE = 2, /* kv holds the last value, mod_rev = the
                               revision of the delete */
};

struct store_event {
    enum store_event_type type;
    struct store_kv kv;
    /* The value before this change (NULL for a create). Lets a filtered
     * watcher tell "stopped matching" from "never matched". */
    char *prev_value;
    size_t prev_value_len;
};

/* Called on the apply thread when a watcher has new events to poll, or has
 * been cut off. Must not block. */
typedef void (*store_watch_notify_cb)(struct store_watch *w, void *arg);

/*
 * Opens (creating if needed) the store in cfg->dir, replays the log entries
 * the state machine has not applied yet, and starts the store's threads.
 * Errors: K1S_ECORRUPT (a database that is not a valid store; the message
 * names the file), K1S_EIO, K1S_ENOMEM. On failure `errbuf` (may be NULL)
 * holds a message that explains itself.
 */
int store_open(const struct store_config *cfg, struct store **ret_store,
               char *errbuf, size_t errlen);

/* Fails every pending and later call with K1S_ESHUTDOWN, cuts off every
 * watcher (their notify callback is called once more), stops the threads
 * and closes the files. NULL ok. */
void store_close(struct store *s);

/* The revision of the last applied change. */
int64_t store_revision(struct store *s);

/* The oldest revision a watch or an old-snapshot list may still start from
 * (anything below it is K1S_EGONE). */
int64_t store_compact_revision(struct store *s);

/* --- reads ------------------------------------------------------------- */

/* Reads one key at the current revision. K1S_ENOTFOUND if absent. On
 * success the caller owns *ret (store_kv_clear). `ret_rev` (may be NULL)
 * receives the revision the read was made at. */
int store_get(struct store *s, const char *key, struct store_kv *ret,
              int64_t *ret_rev);

/*
 * Lists keys with `prefix` in byte order, starting after `start_after`
 * (NULL or "" for the beginning), at most `limit` items (0 = no limit), as
 * a consistent snapshot at `at_rev` (0 = the current revision). K1S_EGONE
 * if at_rev is below store_compact_revision(); K1S_EINVAL if it is in the
 * future. The caller owns *ret (store_list_free).
 */
int store_list(struct store *s, const char *prefix, const char *start_after,
               size_t limit, int64_t at_rev, struct store_list *ret);

/* --- writes (durable when they return 0) ----------------------------- */

/* Creates `key`. K1S_EEXIST if present. *ret_rev (may be NULL) = the new
 * revision. */
int store_create(struct store *s, const char *key, const void *value,
                 size_t len, int64_t *ret_rev);

/* Replaces `key`'s value. If expect_rev != 0 it must equal the current
 * mod_rev, else K1S_ECONFLICT. K1S_ENOTFOUND if absent. */
int store_update(struct store *s, const char *key, const void *value,
                 size_t len, int64_t expect_rev, int64_t *ret_rev);

/* Deletes `key`. If expect_rev != 0 it must equal the current mod_rev,
 * else K1S_ECONFLICT. K1S_ENOTFOUND if absent. `ret_prev` (may be NULL)
 * receives the deleted kv (caller owns it); *ret_rev the delete's
 * revision. */
int store_delete(struct store *s, const char *key, int64_t expect_rev,
                 struct store_kv *ret_prev, int64_t *ret_rev);

/* --- watch ------------------------------------------------------------ */

/*
 * Watches keys with `prefix` for changes with revision > from_rev
 * (from_rev = 0: from the current revision on). K1S_EGONE if from_rev is
 * below store_compact_revision() - 1. `notify` (may be NULL) is called when
 * events are ready; the caller then drains them with store_watch_poll.
 * The caller owns *ret_w (store_watch_cancel).
 */
int store_watch(struct store *s, const char *prefix, int64_t from_rev,
                store_watch_notify_cb notify, void *arg,
                struct store_watch **ret_w);

/*
 * Takes up to `max` queued events into `evs` (caller frees each with
 * store_event_clear). Never blocks. Returns the number taken (0 if none
 * yet), or K1S_ESLOW if the watcher was cut off for falling behind, or
 * K1S_ESHUTDOWN once the store is closing — after the events that were
 * queued before have been taken.
 */
int store_watch_poll(struct store_watch *w, struct store_event *evs,
                     size_t max);

/* Blocks until events are ready, the watcher is cut off, or `timeout_ms`
 * passes (-1: no limit). Returns 0 (poll now) or K1S_ETIMEOUT. For callers
 * with a thread to spare (tests, the controllers' informers). */
int store_watch_wait(struct store_watch *w, int timeout_ms);

/* Stops the watcher and frees it; its notify callback is not called after
 * this returns. NULL ok. */
void store_watch_cancel(struct store_watch *w);

/* --- ownership helpers ------------------------------------------------ */

void store_kv_clear(struct store_kv *kv);
void store_list_free(struct store_list *l);
void store_event_clear(struct store_event *ev);

#endif
