/*
 * store/raft — the Raft consensus core, a pure state machine.
 *
 * The core does no I/O: no sockets, files, clocks, threads or global state.
 * A driver (the store's Raft thread, or the simulation in tests/sim/) feeds
 * it time (raft_tick), messages from peers (raft_step) and requests
 * (raft_propose, raft_read_index, raft_transfer_leadership,
 * raft_change_membership), and collects the work it produces as one batch,
 * a struct raft_ready, which it performs and acknowledges with
 * raft_advance(). This is the design of etcd's raft library; the protocol
 * is Ongaro's dissertation "Consensus: Bridging Theory and Practice" (2014)
 * with pre-vote and check-quorum (§9.6), ReadIndex (§6.4), leadership
 * transfer (§3.10), single-server membership changes with learners (§4.2,
 * §4.2.1) and snapshots (§5).
 *
 * Threads: a struct raft belongs to one thread; nothing here locks.
 * Randomness (election timeouts) comes from a PRNG seeded by the config, so
 * a run is reproducible. Memory: allocation failure is reported as
 * K1S_ENOMEM from the call that needed it and never leaves the core in a
 * state that violates safety (the work is simply not done; Raft retries).
 *
 * DURABILITY CONTRACT (what must be on disk before what):
 *   raft_ready() hands a batch. The driver MUST, in this order:
 *   1. if ready.snapshot is set: durably store it (the data, and
 *      store_log_compact with its meta, which drops the entries it
 *      covers); if ready.snap_log_reset, also drop every stored entry
 *      after it (store_log_truncate_suffix(meta.index + 1)) — the log did
 *      not hold the snapshot's last entry (§5.3); then install it into the
 *      state machine;
 *   2. durably append ready.entries (they replace any stored entries with
 *      index >= entries[0].index) and, if ready.hs_changed, the hard state
 *      (term, vote, commit) — one transaction, one fsync
 *      (store_log_append(log, entries, n, &hs));
 *   3. only then send ready.msgs (a vote granted, an append acknowledged,
 *      a term adopted must never reach a peer before it is durable —
 *      Raft §5.2, §5.3, Figure 3.1 "Updated on stable storage before
 *      responding to RPCs");
 *   4. apply ready.committed in order (each is also durable by step 2);
 *   5. answer ready.reads (the state machine has applied at least their
 *      index);
 *   6. call raft_advance().
 *   Between raft_ready() and raft_advance() no other call may be made on
 *   the core: everything in the batch is borrowed from it and stays valid
 *   exactly until raft_advance(). A message needed longer is moved out:
 *   copy the struct and set the original's `buf` to NULL; free the copy
 *   with raft_msg_free(). After raft_advance(), if ready.snapshot_due, the
 *   application should take a snapshot of its applied state and hand it to
 *   raft_snapshot_taken().
 *
 * The entry type values are enum store_log_entry_type's, and struct
 * raft_entry has the layout of struct store_log_entry (checked at compile
 * time), so ready entries go straight to store_log_append and entries read
 * by store_log_read go straight to raft_create.
 */
#ifndef K1S_STORE_RAFT_RAFT_H
#define K1S_STORE_RAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct raft;

/* Largest cluster (voters + learners) the core accepts. */
#define RAFT_MAX_MEMBERS 9

enum raft_entry_type {
    RAFT_ENTRY_NORMAL = 1, /* = STORE_LOG_NORMAL */
    RAFT_ENTRY_NOOP = 2,   /* = STORE_LOG_NOOP: a new leader's no-op */
    RAFT_ENTRY_CONFIG = 3, /* = STORE_LOG_CONFIG: data is an encoded conf */
};

struct raft_entry {
    uint64_t index;
    uint64_t term;
    uint8_t type;     /* enum raft_entry_type */
    const void *data; /* owned by whoever holds the entry (see each use) */
    size_t len;
};

/* A membership configuration: voters count in quorums, learners receive
 * the log but never vote and never count (§4.2.1). */
struct raft_conf {
    uint64_t voters[RAFT_MAX_MEMBERS];
    uint32_t n_voters;
    uint64_t learners[RAFT_MAX_MEMBERS];
    uint32_t n_learners;
};

/* The persistent state of Figure 3.1 (plus the commit index, so a restart
 * need not wait for a leader to re-learn it). Same fields as struct
 * store_log_hardstate. */
struct raft_hardstate {
    uint64_t term;
    uint64_t vote; /* 0 = none */
    uint64_t commit;
};

struct raft_snapshot_meta {
    uint64_t index; /* last index the snapshot covers; 0 = none */
    uint64_t term;
    struct raft_conf conf; /* the configuration as of index */
};

enum raft_role {
    RAFT_FOLLOWER = 0,
    RAFT_PRECANDIDATE = 1,
    RAFT_CANDIDATE = 2,
    RAFT_LEADER = 3,
};

enum raft_msg_type {
    RAFT_MSG_APPEND = 1,  /* AppendEntries (§3.5) */
    RAFT_MSG_APPEND_RESP, /* index = last matching index, or reject */
    RAFT_MSG_VOTE,        /* RequestVote (§3.4) */
    RAFT_MSG_VOTE_RESP,
    RAFT_MSG_PREVOTE, /* pre-vote (§9.6): term = candidate term+1 */
    RAFT_MSG_PREVOTE_RESP,
    RAFT_MSG_HEARTBEAT, /* commit + read-confirmation sequence (ctx) */
    RAFT_MSG_HEARTBEAT_RESP,
    RAFT_MSG_SNAPSHOT,        /* one InstallSnapshot chunk (§5.3) */
    RAFT_MSG_SNAPSHOT_RESP,   /* snap_offset = next byte wanted */
    RAFT_MSG_READ_INDEX,      /* follower asks the leader (§6.4) */
    RAFT_MSG_READ_INDEX_RESP, /* index = read index, 0 = refused */
    RAFT_MSG_TIMEOUT_NOW,     /* leadership transfer (§3.10) */
};

/* A message between members. Everything it points to is owned by it (one
 * allocation, `buf`); free with raft_msg_free(). The wire codec belongs
 * to the driver (the multi-member wiring issue). */
struct raft_msg {
    uint8_t type; /* enum raft_msg_type */
    uint8_t reject;
    uint8_t force; /* VOTE after TimeoutNow: ignore the leader lease */
    uint64_t from, to, term;
    uint64_t log_term; /* APPEND: prev term; VOTE: last log term */
    uint64_t index;    /* APPEND: prev index; VOTE: last index; RESP:
                          match index (or on reject the follower's hint) */
    uint64_t commit;
    uint64_t hint_index; /* APPEND_RESP reject: fast back-off hint (§3.5): */
    uint64_t hint_term;  /* the follower's last index with term <= the
                            rejected prev term, and that term */
    uint64_t ctx;        /* HEARTBEAT(_RESP): read sequence; READ_INDEX: ctx */
    struct raft_entry *entries;
    size_t n_entries;
    /* SNAPSHOT chunk: meta, total size, this chunk's offset and bytes. */
    struct raft_snapshot_meta snap;
    uint64_t snap_total;
    uint64_t snap_offset;
    const void *snap_data;
    size_t snap_len;
    void *buf; /* owns entries[], their data and snap_data */
};

struct raft_config {
    uint64_t id;                 /* this member, != 0 */
    unsigned election_ticks;     /* timeout drawn from [e, 2e) ticks; >= 2 */
    unsigned heartbeat_ticks;    /* < election_ticks */
    size_t max_msg_entries;      /* batching: entries per AppendEntries */
    size_t max_msg_bytes;        /* ... and data bytes (at least 1 entry) */
    size_t max_inflight;         /* pipelining: AppendEntries in flight */
    uint64_t snapshot_threshold; /* ask for a snapshot after this many
                                    applied entries; 0 = never */
    size_t snapshot_chunk;       /* InstallSnapshot chunk size in bytes */
    size_t max_snapshot_bytes;   /* cap on a received snapshot */
    bool pre_vote;               /* §9.6 */
    bool check_quorum;           /* §6.2 / §9.6: leader steps down */
    uint64_t rand_seed;          /* seeds the core's PRNG */
    int inject_bug;              /* enum raft_bug; ignored unless the core
                                    is built with -DRAFT_INJECT_BUGS */
};

/* Known bugs that a RAFT_INJECT_BUGS build can switch on one at a time, so
 * that tests can show the simulation catches them. */
enum raft_bug {
    RAFT_BUG_NONE = 0,
    RAFT_BUG_FIG8_COMMIT = 1,      /* commit old-term entries by counting */
    RAFT_BUG_VOTE_NOT_DURABLE = 2, /* vote for others left out of ready.hs */
    RAFT_BUG_LEARNER_QUORUM = 3,   /* learners count in the commit quorum */
    RAFT_BUG_READ_NO_QUORUM = 4,   /* leader serves reads unconfirmed */
    RAFT_BUG_STALE_SNAPSHOT = 5,   /* install a snapshot older than commit */
    RAFT_BUG_COUNT = 6,
};

/* Fills defaults: election 10, heartbeat 1, 64 entries / 1 MiB per
 * message, 256 in flight, snapshot every 10000 entries in 64 KiB chunks,
 * 1 GiB snapshot cap, pre-vote and check-quorum on. */
void raft_config_default(struct raft_config *cfg, uint64_t id);

/* A read that is now safe to serve: the state machine has applied at least
 * `index`, which was the leader's commit index when leadership was
 * confirmed. ctx is the caller's (raft_read_index). */
struct raft_read {
    uint64_t ctx;
    uint64_t index;
};

struct raft_ready {
    bool hs_changed;
    struct raft_hardstate hs;
    /* Snapshot received from the leader, to store and install (step 1). */
    const struct raft_snapshot_meta *snapshot;
    const void *snap_data;
    size_t snap_len;
    bool snap_log_reset; /* drop the stored entries after it, too */
    /* Entries to make durable (step 2). */
    const struct raft_entry *entries;
    size_t n_entries;
    /* Messages to send (step 3). */
    struct raft_msg *msgs;
    size_t n_msgs;
    /* Entries to apply, in order (step 4). */
    const struct raft_entry *committed;
    size_t n_committed;
    /* Reads now safe to serve (step 5). */
    const struct raft_read *reads;
    size_t n_reads;
    /* Soft state, for the driver's information. */
    enum raft_role role;
    uint64_t leader;
    /* After advance: applied - snapshot index >= snapshot_threshold. */
    bool snapshot_due;
};

/* Creates a core from what the log storage holds: the hard state (NULL =
 * fresh), the snapshot (meta NULL or index 0 = none; its conf is then the
 * bootstrap configuration, which must hold at least one voter), its data
 * (copied; the leader streams it to lagging followers), the entries after
 * the snapshot (copied; contiguous from snap->index + 1), and `applied`,
 * the last index the state machine has durably applied (>= snap->index).
 * Errors: K1S_EINVAL (inconsistent input), K1S_ENOMEM. */
int raft_create(const struct raft_config *cfg, const struct raft_hardstate *hs,
                const struct raft_snapshot_meta *snap, const void *snap_data,
                size_t snap_len, const struct raft_entry *ents, size_t n,
                uint64_t applied, struct raft **ret_raft);
/* Frees the core and everything it owns (also a pending ready). NULL ok. */
void raft_destroy(struct raft *r);

/* One unit of logical time (the driver's heartbeat period). */
void raft_tick(struct raft *r);

/* Delivers a message from a peer (borrowed). Messages to another id, of an
 * unknown type or malformed are dropped: K1S_EINVAL. */
int raft_step(struct raft *r, const struct raft_msg *m);

/* Leader only: appends a NORMAL entry (data copied). ret_index/ret_term
 * (either may be NULL) identify it: the proposal succeeded iff the entry
 * applied at that index has that term. Errors: K1S_ENOTLEADER,
 * K1S_EBUSY (leadership transfer in progress), K1S_ETOOLARGE, K1S_ENOMEM. */
int raft_propose(struct raft *r, const void *data, size_t len,
                 uint64_t *ret_index, uint64_t *ret_term);

/* Asks for a linearizable read (§6.4). Leader: records its commit index
 * and confirms leadership with a heartbeat round; follower: asks the
 * leader. When safe, ready.reads carries ctx. A read may be silently lost
 * (leader change, lost message): the caller times out and retries.
 * Errors: K1S_ENOTLEADER (no leader known), K1S_ENOMEM. */
int raft_read_index(struct raft *r, uint64_t ctx);

/* Leader only: hands leadership to voter `to` (§3.10) — brings it up to
 * date, then sends TimeoutNow; proposals are refused meanwhile; gives up
 * after an election timeout. Errors: K1S_ENOTLEADER, K1S_EINVAL (not a
 * voter, or self). */
int raft_transfer_leadership(struct raft *r, uint64_t to);

enum raft_change {
    RAFT_ADD_VOTER = 1,
    RAFT_REMOVE = 2, /* voter or learner */
    RAFT_ADD_LEARNER = 3,
    RAFT_PROMOTE = 4, /* learner -> voter, once caught up */
};

/* Leader only: proposes a single-server change (§4.1). One change at a
 * time, and only once an entry of the leader's term is committed (the fix
 * of §4.1's single-server bug). Errors: K1S_ENOTLEADER, K1S_EBUSY (a change
 * in flight), K1S_EAGAIN (not ready yet: no commit in this term, or the
 * learner has not caught up), K1S_EINVAL (not applicable), K1S_ENOMEM. */
int raft_change_membership(struct raft *r, enum raft_change change, uint64_t id,
                           uint64_t *ret_index);

/* Whether raft_ready would hand any work. */
bool raft_has_ready(const struct raft *r);
/* Collects the pending work (see the contract above). */
void raft_ready(struct raft *r, struct raft_ready *ret_ready);
/* Marks the last ready batch done and frees what it held. */
void raft_advance(struct raft *r);

/* The application took a snapshot of its state at `index` (<= applied):
 * the core keeps a copy of data (to send to followers) and compacts its
 * log up to index. ret_meta (may be NULL) receives the meta to store with
 * store_log_compact. Errors: K1S_EINVAL (index beyond applied or not after
 * the current snapshot), K1S_ENOMEM. */
int raft_snapshot_taken(struct raft *r, uint64_t index, const void *data,
                        size_t len, struct raft_snapshot_meta *ret_meta);

/* Read-only views. */
enum raft_role raft_role(const struct raft *r);
uint64_t raft_id(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint64_t raft_leader(const struct raft *r);
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_first_index(const struct raft *r); /* snapshot index + 1 */
uint64_t raft_last_index(const struct raft *r);
const struct raft_snapshot_meta *raft_snapshot(const struct raft *r);
const struct raft_conf *raft_conf(const struct raft *r);
/* The entry at index if held in memory (borrowed until the next call),
 * else NULL. */
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index);

/* Membership helpers. */
bool raft_conf_is_voter(const struct raft_conf *c, uint64_t id);
bool raft_conf_is_learner(const struct raft_conf *c, uint64_t id);
/* Encodes a conf (for CONFIG entries and snapshot meta): returns the
 * length written, at most RAFT_CONF_MAX_ENCODED. */
#define RAFT_CONF_MAX_ENCODED (8 + 16 * RAFT_MAX_MEMBERS)
size_t raft_conf_encode(const struct raft_conf *c,
                        uint8_t out[RAFT_CONF_MAX_ENCODED]);
/* Errors: K1S_EINVAL (malformed). */
int raft_conf_decode(const void *data, size_t len, struct raft_conf *ret_c);

/* Deep copy of a message (K1S_ENOMEM), and its release (NULL ok). */
int raft_msg_clone(const struct raft_msg *m, struct raft_msg *ret_copy);
void raft_msg_free(struct raft_msg *m);

const char *raft_msg_type_name(int type);

#endif
