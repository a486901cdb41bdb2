/*
 * store/log — the durable Raft log on SQLite. Internal to the store module
 * (store/ and store/raft/ include it; nothing above the store does).
 *
 * One implementation serves the one-member store and the Raft driver: the
 * log holds entries (index, term, type, data, checksum), the hard state
 * (term, vote, commit) and the metadata of the last snapshot (index, term,
 * membership). Every mutating call is one SQLite transaction and one fsync,
 * so a batch of entries appended together shares one fsync (group commit).
 *
 * Crash safety: each entry carries a CRC32C over (index, term, type, data);
 * on open, a torn or corrupt tail is detected and truncated at the last good
 * entry, with a log line. Truncating a conflicting suffix and compacting a
 * prefix are each one transaction.
 *
 * Threads: a struct store_log is used by one thread at a time (the owner
 * serialises access).
 */
#ifndef K1S_STORE_LOG_H
#define K1S_STORE_LOG_H

#include <stddef.h>
#include <stdint.h>

struct store_log;

enum store_log_entry_type {
    STORE_LOG_NORMAL = 1, /* a state-machine command (the store's writes) */
    STORE_LOG_NOOP = 2,   /* a new leader's no-op (Raft §5.4.2, §8) */
    STORE_LOG_CONFIG = 3, /* a membership change */
};

struct store_log_entry {
    uint64_t index;
    uint64_t term;
    uint8_t type;     /* enum store_log_entry_type */
    const void *data; /* borrowed on append; heap on read (free) */
    size_t len;
};

struct store_log_hardstate {
    uint64_t term;
    uint64_t vote; /* 0 = none */
    uint64_t commit;
};

struct store_log_snapshot_meta {
    uint64_t index; /* last index the snapshot covers; 0 = no snapshot */
    uint64_t term;
    const void *conf; /* encoded membership; borrowed on save, heap on load */
    size_t conf_len;
};

/* Opens or creates the log database at `path`, checking and repairing the
 * tail. Errors: K1S_ECORRUPT (not a log database), K1S_EIO. */
int store_log_open(const char *path, struct store_log **ret_log, char *errbuf,
                   size_t errlen);
void store_log_close(struct store_log *log);

/* First and last index present (first = snapshot index + 1; last =
 * snapshot index when the log is empty). */
uint64_t store_log_first_index(struct store_log *log);
uint64_t store_log_last_index(struct store_log *log);

/* Appends entries (indexes must follow on from the last one, or overwrite a
 * suffix: entries at >= ents[0].index are replaced) and, if hs != NULL,
 * saves the hard state, in one transaction with one fsync. */
int store_log_append(struct store_log *log, const struct store_log_entry *ents,
                     size_t n, const struct store_log_hardstate *hs);

int store_log_save_hardstate(struct store_log *log,
                             const struct store_log_hardstate *hs);
int store_log_load_hardstate(struct store_log *log,
                             struct store_log_hardstate *ret_hs);

/* Reads entries [lo, hi) into a heap array (free each .data, then the
 * array with store_log_entries_free). At most max_bytes of data
 * (0 = no limit), always at least one entry if any. K1S_EGONE if lo was
 * compacted away. */
int store_log_read(struct store_log *log, uint64_t lo, uint64_t hi,
                   size_t max_bytes, struct store_log_entry **ret_ents,
                   size_t *ret_n);
void store_log_entries_free(struct store_log_entry *ents, size_t n);

/* Term of the entry at `index` (the snapshot's term for its index).
 * K1S_EGONE if compacted, K1S_ENOTFOUND if beyond the last index. */
int store_log_term(struct store_log *log, uint64_t index, uint64_t *ret_term);

/* Deletes entries with index >= from (a conflicting suffix). */
int store_log_truncate_suffix(struct store_log *log, uint64_t from);

/* Records a snapshot and deletes entries with index <= meta->index. */
int store_log_compact(struct store_log *log,
                      const struct store_log_snapshot_meta *meta);
int store_log_load_snapshot_meta(struct store_log *log,
                                 struct store_log_snapshot_meta *ret_meta);

#endif
