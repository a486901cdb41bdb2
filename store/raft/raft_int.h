/*
 * store/raft internals shared by the core's files. Not for use outside
 * store/raft/.
 */
#ifndef K1S_STORE_RAFT_RAFT_INT_H
#define K1S_STORE_RAFT_RAFT_INT_H

#include "store/raft/raft.h"

/* Replication state of one follower as seen by the leader (etcd's
 * Progress): PROBE sends one AppendEntries per heartbeat until the match
 * point is found; REPLICATE streams up to max_inflight messages
 * (pipelining); SNAPSHOT streams InstallSnapshot chunks. */
enum raft_prog_state {
    RAFT_PROG_PROBE = 0,
    RAFT_PROG_REPLICATE = 1,
    RAFT_PROG_SNAPSHOT = 2,
};

struct raft_progress {
    uint64_t id;
    uint64_t match, next;
    uint8_t state;
    bool paused; /* PROBE: one message sent, wait for answer or heartbeat */
    bool active; /* heard from since the last check-quorum round */
    uint64_t read_ack; /* highest read sequence acknowledged */
    uint64_t *infl;    /* ring of last indexes of in-flight appends */
    size_t infl_start, infl_count;
    uint64_t snap_index; /* SNAPSHOT: which snapshot, next byte to send */
    uint64_t snap_offset;
    unsigned snap_stall; /* heartbeats without a chunk answer */
};

struct raft_pending_read {
    uint64_t ctx;
    uint64_t index; /* 0 until the leader has committed in its term */
    uint64_t seq;   /* heartbeat round that confirms it */
    uint64_t from;  /* 0 = local, else the follower that asked */
    bool confirmed;
};

#define RAFT_MAX_READS 4096
#define RAFT_MAX_APPLY 4096
#define RAFT_MAX_MSG_ENTRIES 65536

struct raft {
    struct raft_config cfg;
    uint64_t id;
    uint64_t rng;

    /* Persistent state (Figure 3.1) and its last handed-out copy. */
    uint64_t term, vote, commit;
    struct raft_hardstate hs_prev;
    uint64_t applied;

    enum raft_role role;
    uint64_t leader;

    /* The log after the snapshot: ents[i].index == offset + 1 + i; data
     * owned. Entries with index > stable are not yet durable. */
    struct raft_entry *ents;
    size_t n_ents, cap_ents;
    uint64_t offset;
    uint64_t stable;

    /* The latest snapshot (taken locally or received) and its data. */
    struct raft_snapshot_meta snap;
    void *snap_data;
    size_t snap_len;
    bool snap_pending;   /* received, not yet handed in a ready */
    bool snap_log_reset; /* ... and it replaced the whole log */

    /* A snapshot being received in chunks. */
    struct raft_snapshot_meta in_snap;
    uint8_t *in_buf;
    size_t in_len, in_total;

    /* Membership: the latest configuration in the log (§4.1). */
    struct raft_conf conf;
    uint64_t conf_index; /* index of the entry that set it (0 = snapshot) */

    unsigned election_elapsed, heartbeat_elapsed, randomized_timeout;
    unsigned transfer_elapsed;
    uint64_t lead_transfer;
    uint64_t term_start; /* leader: index of its no-op */
    bool need_bcast;     /* leader: send new entries at the next ready */
    bool bcast_empty;    /* ... and an empty append to carry commit */

    /* Votes received in the current (pre-)election. */
    uint64_t vote_from[RAFT_MAX_MEMBERS];
    bool vote_granted[RAFT_MAX_MEMBERS];
    unsigned n_votes;

    struct raft_progress prog[RAFT_MAX_MEMBERS];
    unsigned n_prog;
    uint64_t *infl_mem;

    struct raft_pending_read *reads;
    size_t n_reads;
    uint64_t read_seq;

    /* Output. */
    struct raft_msg *msgs;
    size_t n_msgs, cap_msgs;
    struct raft_read *ready_reads;
    size_t n_ready_reads;
    bool in_ready;
    uint64_t ready_stable, ready_applied;
    struct raft_hardstate ready_hs;

    int bug;
};

/* memlog.c: the in-memory log. */
uint64_t raft_log_last(const struct raft *r);
bool raft_log_term(const struct raft *r, uint64_t index, uint64_t *ret_term);
uint64_t raft_log_last_term(const struct raft *r);
int raft_log_append(struct raft *r, uint64_t term, uint8_t type,
                    const void *data, size_t len);
void raft_log_truncate(struct raft *r, uint64_t from);
void raft_log_compact(struct raft *r, uint64_t index);
void raft_log_reset(struct raft *r, uint64_t index);
void raft_log_free(struct raft *r);
/* The configuration in force at `index` (latest CONFIG entry <= index, or
 * the snapshot's). */
void raft_log_conf_at(const struct raft *r, uint64_t index,
                      struct raft_conf *ret_conf, uint64_t *ret_conf_index);

#ifdef RAFT_INJECT_BUGS
#define RAFT_BUG(r, b) ((r)->bug == (b))
#else
#define RAFT_BUG(r, b) 0
#endif

#endif
