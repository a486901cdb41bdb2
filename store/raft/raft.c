/*
 * store/raft/raft.c — the Raft protocol: elections, replication, commit,
 * reads, leadership transfer, membership, snapshots.
 *
 * DESIGN
 * Every input (tick, step, propose, ...) mutates the state and queues
 * messages in r->msgs; raft_ready() hands the queued work out and
 * raft_advance() retires it (contract in raft.h). Rules, by section of
 * Ongaro's dissertation (Figure 3.1 summarises §3):
 *  - Terms: any message with a higher term makes us a follower of that
 *    term (§3.3) — except vote requests inside a leader lease, which are
 *    ignored (§4.2.3/§9.6), and pre-votes, which never change terms (§9.6).
 *  - Election (§3.4): randomized timeout in [e, 2e); with pre-vote a node
 *    first asks whether it could win, without bumping its term, so a
 *    rejoining partitioned node cannot depose a healthy leader. A vote is
 *    granted once per term to a candidate whose log is at least as
 *    up-to-date (§3.6.1).
 *  - Replication (§3.5): per-follower progress (probe / replicate /
 *    snapshot). In replicate state up to max_inflight AppendEntries are in
 *    flight (pipelining), each with up to max_msg_entries entries
 *    (batching); proposals made between two readies go out together. On
 *    a rejection the follower returns a hint (its last index whose term is
 *    <= the rejected term) so the leader skips a whole term per round trip
 *    (§3.5 "fast back-off", etcd's findConflictByTerm).
 *  - Commit (§3.6.2, Figure 3.7/"Figure 8"): the leader commits index N
 *    when a majority of voters match N AND the entry at N is of the
 *    current term; a new leader appends a no-op (§6.4) to get there.
 *  - Check-quorum (§6.2): a leader that has not heard from a majority in
 *    an election timeout steps down.
 *  - ReadIndex (§6.4): the leader records commit (after its no-op is
 *    committed), confirms it is still leader by a heartbeat round
 *    acknowledged by a majority, then the read waits for applied >= index.
 *    Followers ask the leader for the index.
 *  - Leadership transfer (§3.10): catch the target up, send TimeoutNow;
 *    the target campaigns at once, bypassing pre-vote and the lease.
 *  - Membership (§4.1, §4.2): a CONFIG entry takes effect when appended;
 *    one change at a time; only after an entry of the leader's term is
 *    committed; learners never count; a leader removed from the voters
 *    steps down once the change is committed (§4.2.2).
 *  - Snapshots (§5.1-5.3): the application snapshots every
 *    snapshot_threshold entries and the log is compacted; a follower whose
 *    next entry is gone gets the snapshot in chunks, one chunk in flight,
 *    resumable at the offset the follower reports; a snapshot that is not
 *    newer than the follower's commit index is ignored.
 */
#include "store/raft/raft_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "store/log.h"

_Static_assert((int)RAFT_ENTRY_NORMAL == (int)STORE_LOG_NORMAL, "entry types");
_Static_assert((int)RAFT_ENTRY_NOOP == (int)STORE_LOG_NOOP, "entry types");
_Static_assert((int)RAFT_ENTRY_CONFIG == (int)STORE_LOG_CONFIG, "entry types");
_Static_assert(sizeof(struct raft_entry) == sizeof(struct store_log_entry),
               "entry layout");
_Static_assert(offsetof(struct raft_entry, term) ==
                   offsetof(struct store_log_entry, term),
               "entry layout");
_Static_assert(offsetof(struct raft_entry, type) ==
                   offsetof(struct store_log_entry, type),
               "entry layout");
_Static_assert(offsetof(struct raft_entry, data) ==
                   offsetof(struct store_log_entry, data),
               "entry layout");
_Static_assert(offsetof(struct raft_entry, len) ==
                   offsetof(struct store_log_entry, len),
               "entry layout");

static void become_follower(struct raft *r, uint64_t term, uint64_t leader);
static void send_append(struct raft *r, struct raft_progress *p,
                        bool send_empty);
static void check_reads(struct raft *r);

/* --- small helpers ------------------------------------------------------ */

static uint64_t rng_next(struct raft *r)
{
    /* splitmix64: tiny, good enough for timeouts, seeded per core. */
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void reset_timeout(struct raft *r)
{
    unsigned e = r->cfg.election_ticks;
    r->randomized_timeout = e + (unsigned)(rng_next(r) % e);
}

static bool is_voter(const struct raft *r, uint64_t id)
{
    return raft_conf_is_voter(&r->conf, id);
}

static unsigned quorum(unsigned n)
{
    return n / 2 + 1;
}

static struct raft_progress *find_prog(struct raft *r, uint64_t id)
{
    for (unsigned i = 0; i < r->n_prog; i++)
        if (r->prog[i].id == id)
            return &r->prog[i];
    return NULL;
}

/* A new message in r->msgs, zeroed, addressed and stamped with our term;
 * NULL when memory is short (the message is lost, which Raft tolerates). */
static struct raft_msg *msg_new(struct raft *r, uint8_t type, uint64_t to)
{
    if (r->n_msgs == r->cap_msgs) {
        size_t cap = r->cap_msgs ? r->cap_msgs * 2 : 16;
        struct raft_msg *m = realloc(r->msgs, cap * sizeof *m);
        if (!m)
            return NULL;
        r->msgs = m;
        r->cap_msgs = cap;
    }
    struct raft_msg *m = &r->msgs[r->n_msgs++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = r->id;
    m->to = to;
    m->term = r->term;
    return m;
}

static void infl_reset(struct raft_progress *p)
{
    p->infl_start = 0;
    p->infl_count = 0;
}

static void infl_free_to(struct raft *r, struct raft_progress *p,
                         uint64_t index)
{
    while (p->infl_count > 0 && p->infl[p->infl_start] <= index) {
        p->infl_start = (p->infl_start + 1) % r->cfg.max_inflight;
        p->infl_count--;
    }
}

static void prog_reset(struct raft *r, struct raft_progress *p)
{
    p->match = 0;
    p->next = raft_log_last(r) + 1;
    p->state = RAFT_PROG_PROBE;
    p->paused = false;
    p->active = false;
    p->read_ack = 0;
    p->snap_index = 0;
    p->snap_offset = 0;
    p->snap_stall = 0;
    infl_reset(p);
}

/* Makes r->prog hold exactly the members of r->conf other than us, keeping
 * the progress of those already there. */
static void sync_progress(struct raft *r)
{
    uint64_t ids[2 * RAFT_MAX_MEMBERS];
    unsigned n = 0;
    for (uint32_t i = 0; i < r->conf.n_voters; i++)
        if (r->conf.voters[i] != r->id)
            ids[n++] = r->conf.voters[i];
    for (uint32_t i = 0; i < r->conf.n_learners; i++)
        if (r->conf.learners[i] != r->id)
            ids[n++] = r->conf.learners[i];
    struct raft_progress old[RAFT_MAX_MEMBERS];
    unsigned n_old = r->n_prog;
    memcpy(old, r->prog, sizeof old);
    for (unsigned i = 0; i < n && i < RAFT_MAX_MEMBERS; i++) {
        struct raft_progress *p = &r->prog[i];
        uint64_t *infl = r->infl_mem + i * r->cfg.max_inflight;
        bool found = false;
        for (unsigned j = 0; j < n_old; j++) {
            if (old[j].id != ids[i])
                continue;
            *p = old[j];
            found = true;
            if (old[j].infl != infl) {
                /* Each slot owns its in-flight ring; a progress that moved
                 * slot forgets its window and re-probes from match. */
                p->infl = infl;
                infl_reset(p);
                if (p->state == RAFT_PROG_REPLICATE) {
                    p->state = RAFT_PROG_PROBE;
                    p->next = p->match + 1;
                    p->paused = false;
                }
            }
            break;
        }
        if (!found) {
            p->id = ids[i];
            p->infl = infl;
            prog_reset(r, p);
        }
    }
    r->n_prog = n < RAFT_MAX_MEMBERS ? n : RAFT_MAX_MEMBERS;
}

static void set_conf(struct raft *r, const struct raft_conf *c, uint64_t index)
{
    r->conf = *c;
    r->conf_index = index;
    if (r->lead_transfer && !is_voter(r, r->lead_transfer))
        r->lead_transfer = 0;
    if (r->role == RAFT_LEADER)
        sync_progress(r);
}

/* After a CONFIG entry was appended or the log truncated below the
 * current one: the configuration is the latest in the log (§4.1). */
static void refresh_conf(struct raft *r)
{
    struct raft_conf c;
    uint64_t ci;
    raft_log_conf_at(r, raft_log_last(r), &c, &ci);
    set_conf(r, &c, ci);
}

static int append_entry(struct raft *r, uint64_t term, uint8_t type,
                        const void *data, size_t len)
{
    struct raft_conf c;
    if (type == RAFT_ENTRY_CONFIG && raft_conf_decode(data, len, &c) != 0)
        return K1S_EINVAL;
    int rv = raft_log_append(r, term, type, data, len);
    if (rv != 0)
        return rv;
    if (type == RAFT_ENTRY_CONFIG)
        set_conf(r, &c, raft_log_last(r));
    return 0;
}

/* --- creation ----------------------------------------------------------- */

void raft_config_default(struct raft_config *cfg, uint64_t id)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->id = id;
    cfg->election_ticks = 10;
    cfg->heartbeat_ticks = 1;
    cfg->max_msg_entries = 64;
    cfg->max_msg_bytes = 1 << 20;
    cfg->max_inflight = 256;
    cfg->snapshot_threshold = 10000;
    cfg->snapshot_chunk = 64 << 10;
    cfg->max_snapshot_bytes = (size_t)1 << 30;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->rand_seed = id;
}

int raft_create(const struct raft_config *cfg, const struct raft_hardstate *hs,
                const struct raft_snapshot_meta *snap, const void *snap_data,
                size_t snap_len, const struct raft_entry *ents, size_t n,
                uint64_t applied, struct raft **ret_raft)
{
    int rv = K1S_EINVAL;
    if (!cfg || cfg->id == 0 || cfg->election_ticks < 2 ||
        cfg->heartbeat_ticks == 0 ||
        cfg->heartbeat_ticks >= cfg->election_ticks ||
        cfg->max_msg_entries == 0 || cfg->max_inflight == 0 ||
        cfg->snapshot_chunk == 0 || !snap || snap->conf.n_voters == 0)
        return K1S_EINVAL;
    struct raft *r = calloc(1, sizeof *r);
    if (!r)
        return K1S_ENOMEM;
    r->cfg = *cfg;
    if (r->cfg.max_msg_entries > RAFT_MAX_MSG_ENTRIES)
        r->cfg.max_msg_entries = RAFT_MAX_MSG_ENTRIES;
    r->id = cfg->id;
    r->rng = cfg->rand_seed ^ (cfg->id * 0x2545f4914f6cdd1dULL);
#ifdef RAFT_INJECT_BUGS
    r->bug = cfg->inject_bug;
#endif
    r->snap = *snap;
    r->offset = snap->index;
    r->stable = snap->index;
    if (snap_len > 0) {
        r->snap_data = malloc(snap_len);
        if (!r->snap_data) {
            rv = K1S_ENOMEM;
            goto err_after_alloc;
        }
        memcpy(r->snap_data, snap_data, snap_len);
        r->snap_len = snap_len;
    }
    r->infl_mem =
        calloc(RAFT_MAX_MEMBERS * r->cfg.max_inflight, sizeof *r->infl_mem);
    r->reads = calloc(RAFT_MAX_READS, sizeof *r->reads);
    r->ready_reads = calloc(RAFT_MAX_READS, sizeof *r->ready_reads);
    if (!r->infl_mem || !r->reads || !r->ready_reads) {
        rv = K1S_ENOMEM;
        goto err_after_alloc;
    }
    for (unsigned i = 0; i < RAFT_MAX_MEMBERS; i++)
        r->prog[i].infl = r->infl_mem + i * r->cfg.max_inflight;
    r->conf = snap->conf;
    for (size_t i = 0; i < n; i++) {
        if (ents[i].index != snap->index + 1 + i ||
            (i > 0 && ents[i].term < ents[i - 1].term) ||
            ents[i].term < snap->term) {
            rv = K1S_EINVAL;
            goto err_after_alloc;
        }
        rv = append_entry(r, ents[i].term, ents[i].type, ents[i].data,
                          ents[i].len);
        if (rv != 0)
            goto err_after_alloc;
    }
    r->stable = raft_log_last(r);
    if (hs) {
        r->term = hs->term;
        r->vote = hs->vote;
        r->commit = hs->commit;
    }
    if (r->commit > raft_log_last(r))
        r->commit = raft_log_last(r);
    if (r->commit < snap->index)
        r->commit = snap->index;
    if (applied < snap->index || applied > r->commit) {
        rv = K1S_EINVAL;
        goto err_after_alloc;
    }
    r->applied = applied;
    r->hs_prev.term = r->term;
    r->hs_prev.vote = r->vote;
    r->hs_prev.commit = r->commit;
    r->role = RAFT_FOLLOWER;
    reset_timeout(r);
    *ret_raft = r;
    return 0;

err_after_alloc:
    raft_destroy(r);
    return rv;
}

void raft_destroy(struct raft *r)
{
    if (!r)
        return;
    raft_log_free(r);
    for (size_t i = 0; i < r->n_msgs; i++)
        raft_msg_free(&r->msgs[i]);
    free(r->msgs);
    free(r->snap_data);
    free(r->in_buf);
    free(r->infl_mem);
    free(r->reads);
    free(r->ready_reads);
    free(r);
}

/* --- role changes ------------------------------------------------------- */

static void drop_unconfirmed_reads(struct raft *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_reads; i++)
        if (r->reads[i].confirmed && r->reads[i].from == 0)
            r->reads[k++] = r->reads[i];
    r->n_reads = k;
}

static void become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
    if (term != r->term) {
        r->term = term;
        r->vote = 0;
    }
    if (r->role == RAFT_LEADER)
        drop_unconfirmed_reads(r);
    r->role = RAFT_FOLLOWER;
    r->leader = leader;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->lead_transfer = 0;
    r->need_bcast = false;
    reset_timeout(r);
}

static void bcast_append(struct raft *r, bool send_empty)
{
    for (unsigned i = 0; i < r->n_prog; i++)
        send_append(r, &r->prog[i], send_empty);
}

static void become_leader(struct raft *r)
{
    r->role = RAFT_LEADER;
    r->leader = r->id;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->lead_transfer = 0;
    r->n_prog = 0;
    sync_progress(r);
    for (unsigned i = 0; i < r->n_prog; i++)
        prog_reset(r, &r->prog[i]);
    /* §6.4 / §5.4.2: a no-op of our term lets us commit (and serve reads)
     * without waiting for a client write. If memory is short there is no
     * no-op; commits then wait for the first proposal. */
    if (raft_log_append(r, r->term, RAFT_ENTRY_NOOP, NULL, 0) == 0)
        r->term_start = raft_log_last(r);
    else
        r->term_start = raft_log_last(r) + 1;
    r->need_bcast = true;
    r->bcast_empty = true;
}

static unsigned count_votes(const struct raft *r, bool granted)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->n_votes; i++)
        if (r->vote_granted[i] == granted && is_voter(r, r->vote_from[i]))
            n++;
    return n;
}

static void record_vote(struct raft *r, uint64_t from, bool granted)
{
    for (unsigned i = 0; i < r->n_votes; i++)
        if (r->vote_from[i] == from)
            return;
    if (r->n_votes < RAFT_MAX_MEMBERS) {
        r->vote_from[r->n_votes] = from;
        r->vote_granted[r->n_votes] = granted;
        r->n_votes++;
    }
}

static void campaign(struct raft *r, bool pre, bool force);

/* Tallies the current (pre-)election and acts on its outcome. */
static void tally(struct raft *r)
{
    unsigned q = quorum(r->conf.n_voters);
    if (count_votes(r, true) >= q) {
        if (r->role == RAFT_PRECANDIDATE)
            campaign(r, false, false);
        else
            become_leader(r);
    } else if (count_votes(r, false) > r->conf.n_voters - q) {
        become_follower(r, r->term, 0);
    }
}

static void campaign(struct raft *r, bool pre, bool force)
{
    if (!is_voter(r, r->id))
        return;
    uint64_t term;
    if (pre) {
        r->role = RAFT_PRECANDIDATE;
        term = r->term + 1;
    } else {
        r->role = RAFT_CANDIDATE;
        r->term++;
        r->vote = r->id;
        term = r->term;
    }
    r->leader = 0;
    r->election_elapsed = 0;
    reset_timeout(r);
    r->n_votes = 0;
    record_vote(r, r->id, true);
    for (uint32_t i = 0; i < r->conf.n_voters; i++) {
        uint64_t to = r->conf.voters[i];
        if (to == r->id)
            continue;
        struct raft_msg *m =
            msg_new(r, pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE, to);
        if (!m)
            continue;
        m->term = term;
        m->index = raft_log_last(r);
        m->log_term = raft_log_last_term(r);
        m->force = force;
    }
    tally(r);
}

/* --- leader: replication and commit ------------------------------------ */

static void send_snapshot_chunk(struct raft *r, struct raft_progress *p)
{
    struct raft_msg *m = msg_new(r, RAFT_MSG_SNAPSHOT, p->id);
    if (!m)
        return;
    if (p->snap_offset > r->snap_len)
        p->snap_offset = 0;
    size_t len = r->snap_len - (size_t)p->snap_offset;
    if (len > r->cfg.snapshot_chunk)
        len = r->cfg.snapshot_chunk;
    m->snap = r->snap;
    m->snap_total = r->snap_len;
    m->snap_offset = p->snap_offset;
    m->snap_len = len;
    m->commit = r->commit;
    if (len > 0) {
        m->buf = malloc(len);
        if (!m->buf) {
            r->n_msgs--;
            return;
        }
        memcpy(m->buf, (uint8_t *)r->snap_data + p->snap_offset, len);
        m->snap_data = m->buf;
    }
    p->snap_stall = 0;
}

static void start_snapshot(struct raft *r, struct raft_progress *p)
{
    p->state = RAFT_PROG_SNAPSHOT;
    p->snap_index = r->snap.index;
    p->snap_offset = 0;
    infl_reset(p);
    send_snapshot_chunk(r, p);
}

/* Sends p what it lacks: in PROBE one message (then paused), in REPLICATE
 * as many as the in-flight window allows. send_empty: send even with no
 * entries (to carry the commit index). */
static void send_append(struct raft *r, struct raft_progress *p,
                        bool send_empty)
{
    uint64_t last = raft_log_last(r);
    for (;;) {
        if (p->state == RAFT_PROG_SNAPSHOT)
            return;
        if (p->state == RAFT_PROG_PROBE && p->paused)
            return;
        if (p->state == RAFT_PROG_REPLICATE &&
            p->infl_count >= r->cfg.max_inflight)
            return;
        uint64_t prev = p->next - 1, prev_term;
        if (!raft_log_term(r, prev, &prev_term)) {
            if (prev < r->offset) {
                start_snapshot(r, p);
                return;
            }
            /* next beyond our log: restart from our end. */
            p->next = last + 1;
            continue;
        }
        size_t n = 0, bytes = 0;
        uint64_t i = p->next;
        while (i <= last && n < r->cfg.max_msg_entries) {
            const struct raft_entry *e = &r->ents[i - r->offset - 1];
            if (n > 0 && bytes + e->len > r->cfg.max_msg_bytes)
                break;
            bytes += e->len;
            n++;
            i++;
        }
        if (n == 0 && !send_empty)
            return;
        struct raft_msg *m = msg_new(r, RAFT_MSG_APPEND, p->id);
        if (!m)
            return;
        m->index = prev;
        m->log_term = prev_term;
        m->commit = r->commit;
        if (n > 0) {
            uint8_t *buf = malloc(n * sizeof(struct raft_entry) + bytes);
            if (!buf) {
                r->n_msgs--;
                return;
            }
            struct raft_entry *ents = (struct raft_entry *)buf;
            uint8_t *d = buf + n * sizeof(struct raft_entry);
            for (size_t k = 0; k < n; k++) {
                ents[k] = r->ents[p->next + k - r->offset - 1];
                if (ents[k].len) {
                    memcpy(d, ents[k].data, ents[k].len);
                    ents[k].data = d;
                    d += ents[k].len;
                } else {
                    ents[k].data = NULL;
                }
            }
            m->buf = buf;
            m->entries = ents;
            m->n_entries = n;
        }
        if (p->state == RAFT_PROG_PROBE) {
            p->paused = true;
            return;
        }
        if (n == 0)
            return;
        uint64_t sent_last = p->next + n - 1;
        p->next = sent_last + 1;
        size_t slot = (p->infl_start + p->infl_count) % r->cfg.max_inflight;
        p->infl[slot] = sent_last;
        p->infl_count++;
        send_empty = false;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void on_commit_advanced(struct raft *r, uint64_t old_commit)
{
    /* The no-op is committed: pending reads get their index (§6.4 step 1). */
    if (old_commit < r->term_start && r->commit >= r->term_start) {
        for (size_t i = 0; i < r->n_reads; i++)
            if (r->reads[i].index == 0)
                r->reads[i].index = r->commit;
    }
    check_reads(r);
    /* §4.2.2: a leader that is no longer a voter steps down once the
     * configuration without it is committed. */
    if (r->conf_index <= r->commit && !is_voter(r, r->id)) {
        become_follower(r, r->term, 0);
        return;
    }
    r->need_bcast = true;
    r->bcast_empty = true;
}

/* §3.6.2: commit the highest index a majority of voters hold, but only if
 * it is of the current term (Figure 3.7). */
static bool maybe_commit(struct raft *r)
{
    uint64_t m[2 * RAFT_MAX_MEMBERS];
    unsigned n = 0, n_voters = r->conf.n_voters;
    if (is_voter(r, r->id))
        m[n++] = raft_log_last(r);
    for (unsigned i = 0; i < r->n_prog; i++) {
        bool counts = is_voter(r, r->prog[i].id);
        if (RAFT_BUG(r, RAFT_BUG_LEARNER_QUORUM) &&
            raft_conf_is_learner(&r->conf, r->prog[i].id))
            counts = true;
        if (counts)
            m[n++] = r->prog[i].match;
    }
    if (RAFT_BUG(r, RAFT_BUG_LEARNER_QUORUM))
        n_voters += r->conf.n_learners;
    /* Voters we have no progress for (none today) count as matching 0. */
    while (n < n_voters)
        m[n++] = 0;
    if (n == 0)
        return false;
    qsort(m, n, sizeof m[0], cmp_desc);
    uint64_t idx = m[quorum(n_voters) - 1];
    if (idx <= r->commit)
        return false;
    uint64_t t = 0;
    if (!raft_log_term(r, idx, &t))
        return false;
    if (t != r->term && !RAFT_BUG(r, RAFT_BUG_FIG8_COMMIT))
        return false;
    uint64_t old = r->commit;
    r->commit = idx;
    on_commit_advanced(r, old);
    return true;
}

static void send_timeout_now(struct raft *r, uint64_t to)
{
    msg_new(r, RAFT_MSG_TIMEOUT_NOW, to);
}

static void leader_append_resp(struct raft *r, const struct raft_msg *m,
                               struct raft_progress *p)
{
    if (m->reject) {
        /* Stale rejections (of a message older than our latest probe or
         * below the match point) are ignored. */
        if (m->index <= p->match)
            return;
        if (p->state == RAFT_PROG_PROBE && m->index != p->next - 1)
            return;
        if (p->state == RAFT_PROG_SNAPSHOT)
            return;
        /* Fast back-off: the follower holds hint_index with hint_term; our
         * largest index <= hint_index with term <= hint_term is the next
         * candidate match point. */
        uint64_t j = m->hint_index < m->index ? m->hint_index : m->index - 1;
        if (j > raft_log_last(r))
            j = raft_log_last(r);
        uint64_t t;
        while (j > r->offset && raft_log_term(r, j, &t) && t > m->hint_term)
            j--;
        uint64_t next = j + 1;
        if (next <= p->match)
            next = p->match + 1;
        p->next = next;
        p->state = RAFT_PROG_PROBE;
        p->paused = false;
        infl_reset(p);
        send_append(r, p, true);
        return;
    }
    if (m->index > p->match) {
        p->match = m->index;
        if (p->next <= p->match)
            p->next = p->match + 1;
        infl_free_to(r, p, m->index);
        if (p->state == RAFT_PROG_SNAPSHOT && p->match >= p->snap_index)
            p->state = RAFT_PROG_PROBE;
        if (p->state == RAFT_PROG_PROBE) {
            p->state = RAFT_PROG_REPLICATE;
            p->next = p->match + 1;
            infl_reset(p);
        }
        p->paused = false;
        maybe_commit(r);
        if (r->role != RAFT_LEADER)
            return;
        if (r->lead_transfer == p->id && p->match == raft_log_last(r))
            send_timeout_now(r, p->id);
    } else if (p->state == RAFT_PROG_PROBE) {
        p->paused = false;
    }
    send_append(r, p, false);
}

static void leader_snapshot_resp(struct raft *r, const struct raft_msg *m,
                                 struct raft_progress *p)
{
    if (p->state != RAFT_PROG_SNAPSHOT)
        return;
    if (m->snap.index != r->snap.index || m->snap.term != r->snap.term ||
        p->snap_index != r->snap.index) {
        start_snapshot(r, p);
        return;
    }
    p->snap_offset = m->snap_offset;
    if (p->snap_offset <= r->snap_len)
        send_snapshot_chunk(r, p);
}

static void leader_tick(struct raft *r)
{
    r->election_elapsed++;
    if (r->lead_transfer && ++r->transfer_elapsed >= r->cfg.election_ticks)
        r->lead_transfer = 0;
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        if (r->cfg.check_quorum) {
            unsigned active = is_voter(r, r->id) ? 1 : 0;
            for (unsigned i = 0; i < r->n_prog; i++) {
                if (r->prog[i].active && is_voter(r, r->prog[i].id))
                    active++;
                r->prog[i].active = false;
            }
            if (active < quorum(r->conf.n_voters)) {
                become_follower(r, r->term, 0);
                return;
            }
        }
    }
    if (++r->heartbeat_elapsed < r->cfg.heartbeat_ticks)
        return;
    r->heartbeat_elapsed = 0;
    for (unsigned i = 0; i < r->n_prog; i++) {
        struct raft_progress *p = &r->prog[i];
        struct raft_msg *m = msg_new(r, RAFT_MSG_HEARTBEAT, p->id);
        if (m) {
            m->commit = p->match < r->commit ? p->match : r->commit;
            m->ctx = r->read_seq;
        }
        if (p->state == RAFT_PROG_SNAPSHOT &&
            ++p->snap_stall >= 2 * r->cfg.heartbeat_ticks + 1)
            send_snapshot_chunk(r, p);
        if (p->state == RAFT_PROG_PROBE)
            p->paused = false;
    }
}

void raft_tick(struct raft *r)
{
    if (r->in_ready)
        return;
    if (r->role == RAFT_LEADER) {
        leader_tick(r);
        return;
    }
    r->election_elapsed++;
    if (r->election_elapsed >= r->randomized_timeout) {
        r->election_elapsed = 0;
        if (is_voter(r, r->id))
            campaign(r, r->cfg.pre_vote, false);
        else
            reset_timeout(r);
    }
}

/* --- reads (§6.4) ------------------------------------------------------- */

static uint64_t quorum_read_seq(struct raft *r)
{
    uint64_t acks[2 * RAFT_MAX_MEMBERS];
    unsigned n = 0;
    if (is_voter(r, r->id))
        acks[n++] = r->read_seq;
    for (unsigned i = 0; i < r->n_prog; i++)
        if (is_voter(r, r->prog[i].id))
            acks[n++] = r->prog[i].read_ack;
    while (n < r->conf.n_voters)
        acks[n++] = 0;
    qsort(acks, n, sizeof acks[0], cmp_desc);
    return acks[quorum(r->conf.n_voters) - 1];
}

static void check_reads(struct raft *r)
{
    if (r->role != RAFT_LEADER || r->n_reads == 0)
        return;
    uint64_t qseq = quorum_read_seq(r);
    size_t k = 0;
    for (size_t i = 0; i < r->n_reads; i++) {
        struct raft_pending_read *rd = &r->reads[i];
        if (!rd->confirmed && rd->index != 0 && rd->seq <= qseq)
            rd->confirmed = true;
        if (rd->confirmed && rd->from != 0) {
            struct raft_msg *m = msg_new(r, RAFT_MSG_READ_INDEX_RESP, rd->from);
            if (m) {
                m->ctx = rd->ctx;
                m->index = rd->index;
            }
            continue;
        }
        r->reads[k++] = *rd;
    }
    r->n_reads = k;
}

static int leader_read(struct raft *r, uint64_t ctx, uint64_t from)
{
    if (r->n_reads >= RAFT_MAX_READS)
        return K1S_EBUSY;
    struct raft_pending_read *rd = &r->reads[r->n_reads++];
    rd->ctx = ctx;
    rd->from = from;
    rd->seq = ++r->read_seq;
    rd->index = r->commit >= r->term_start ? r->commit : 0;
    rd->confirmed = false;
    if (RAFT_BUG(r, RAFT_BUG_READ_NO_QUORUM)) {
        rd->index = r->commit;
        rd->confirmed = true;
    }
    for (unsigned i = 0; i < r->n_prog; i++) {
        if (!is_voter(r, r->prog[i].id))
            continue;
        struct raft_msg *m = msg_new(r, RAFT_MSG_HEARTBEAT, r->prog[i].id);
        if (m) {
            m->commit =
                r->prog[i].match < r->commit ? r->prog[i].match : r->commit;
            m->ctx = r->read_seq;
        }
    }
    check_reads(r);
    return 0;
}

int raft_read_index(struct raft *r, uint64_t ctx)
{
    if (r->in_ready)
        return K1S_EBUSY;
    if (r->role == RAFT_LEADER)
        return leader_read(r, ctx, 0);
    if (r->leader == 0)
        return K1S_ENOTLEADER;
    struct raft_msg *m = msg_new(r, RAFT_MSG_READ_INDEX, r->leader);
    if (!m)
        return K1S_ENOMEM;
    m->ctx = ctx;
    return 0;
}

/* --- follower ----------------------------------------------------------- */

static void respond(struct raft *r, const struct raft_msg *m, uint8_t type,
                    uint64_t index, bool reject)
{
    struct raft_msg *o = msg_new(r, type, m->from);
    if (!o)
        return;
    o->index = index;
    o->reject = reject;
    o->commit = r->commit;
}

static void handle_append(struct raft *r, const struct raft_msg *m)
{
    if (m->index < r->commit) {
        respond(r, m, RAFT_MSG_APPEND_RESP, r->commit, false);
        return;
    }
    uint64_t t;
    if (!raft_log_term(r, m->index, &t) || t != m->log_term) {
        /* §3.5 consistency check failed; hint for fast back-off. */
        uint64_t j = m->index < raft_log_last(r) ? m->index : raft_log_last(r);
        while (j > r->offset && raft_log_term(r, j, &t) && t > m->log_term)
            j--;
        uint64_t jt = 0;
        raft_log_term(r, j, &jt);
        struct raft_msg *o = msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
        if (o) {
            o->index = m->index;
            o->reject = 1;
            o->hint_index = j;
            o->hint_term = jt;
        }
        return;
    }
    uint64_t last_new = m->index;
    for (size_t i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];
        if (raft_log_term(r, e->index, &t)) {
            if (t == e->term) {
                last_new = e->index;
                continue;
            }
            /* §3.5: a conflicting entry and all that follow it go. */
            if (e->index <= r->commit)
                break; /* never happens if the leader is correct */
            bool conf_gone = r->conf_index >= e->index;
            raft_log_truncate(r, e->index);
            if (conf_gone)
                refresh_conf(r);
        }
        if (append_entry(r, e->term, e->type, e->data, e->len) != 0)
            break;
        last_new = e->index;
    }
    uint64_t c = m->commit < last_new ? m->commit : last_new;
    if (c > r->commit)
        r->commit = c;
    respond(r, m, RAFT_MSG_APPEND_RESP, last_new, false);
}

static void handle_snapshot(struct raft *r, const struct raft_msg *m)
{
    struct raft_msg *o;
    /* §5.3 (and the fix for our injected bug 5): a snapshot that does not
     * move us forward is acknowledged and ignored. */
    bool stale = m->snap.index <= r->commit;
    if (RAFT_BUG(r, RAFT_BUG_STALE_SNAPSHOT))
        stale = m->snap.index == r->commit;
    if (stale) {
        respond(r, m, RAFT_MSG_APPEND_RESP, r->commit, false);
        return;
    }
    if (m->snap_offset == 0 &&
        (r->in_buf == NULL || r->in_snap.index != m->snap.index ||
         r->in_snap.term != m->snap.term || r->in_total != m->snap_total)) {
        free(r->in_buf);
        r->in_buf = NULL;
        r->in_len = 0;
        if (m->snap_total > r->cfg.max_snapshot_bytes)
            return;
        r->in_buf = malloc(m->snap_total ? m->snap_total : 1);
        if (!r->in_buf)
            return;
        r->in_snap = m->snap;
        r->in_total = m->snap_total;
    }
    if (r->in_buf == NULL || r->in_snap.index != m->snap.index ||
        r->in_snap.term != m->snap.term || m->snap_offset != r->in_len) {
        o = msg_new(r, RAFT_MSG_SNAPSHOT_RESP, m->from);
        if (o) {
            o->snap = m->snap;
            o->snap_offset = (r->in_buf && r->in_snap.index == m->snap.index &&
                              r->in_snap.term == m->snap.term)
                                 ? r->in_len
                                 : 0;
        }
        return;
    }
    memcpy(r->in_buf + r->in_len, m->snap_data, m->snap_len);
    r->in_len += m->snap_len;
    if (r->in_len < r->in_total) {
        o = msg_new(r, RAFT_MSG_SNAPSHOT_RESP, m->from);
        if (o) {
            o->snap = m->snap;
            o->snap_offset = r->in_len;
        }
        return;
    }
    /* Complete: it replaces our snapshot and our whole log (§5.3). */
    free(r->snap_data);
    r->snap_data = r->in_buf;
    r->snap_len = r->in_len;
    r->snap = r->in_snap;
    r->in_buf = NULL;
    r->in_len = 0;
    r->snap_pending = true;
    /* §5.3 / Figure 13 step 6: if we hold the snapshot's last entry, the
     * entries after it stay (we may have acknowledged them: dropping them
     * would unsay a durable append); otherwise the whole log goes. */
    uint64_t t;
    if (raft_log_term(r, r->snap.index, &t) && t == r->snap.term) {
        raft_log_compact(r, r->snap.index);
        r->snap_log_reset = false;
    } else {
        raft_log_reset(r, r->snap.index);
        r->snap_log_reset = true;
    }
    r->commit = r->snap.index;
    r->applied = r->snap.index;
    set_conf(r, &r->snap.conf, 0);
    respond(r, m, RAFT_MSG_APPEND_RESP, r->snap.index, false);
}

/* --- votes --------------------------------------------------------------- */

static void handle_vote(struct raft *r, const struct raft_msg *m)
{
    bool pre = m->type == RAFT_MSG_PREVOTE;
    uint64_t last = raft_log_last(r), last_term = raft_log_last_term(r);
    bool up_to_date = m->log_term > last_term ||
                      (m->log_term == last_term && m->index >= last);
    bool can_vote;
    if (pre)
        can_vote = m->term > r->term;
    else
        can_vote = m->term == r->term &&
                   (r->vote == m->from || (r->vote == 0 && r->leader == 0));
    bool grant = can_vote && up_to_date;
    struct raft_msg *o =
        msg_new(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
    if (!o)
        return; /* no answer, and (below) no vote: the candidate retries */
    o->reject = !grant;
    if (grant && pre)
        o->term = m->term;
    if (grant && !pre) {
        r->vote = m->from;
        r->election_elapsed = 0;
    }
}

/* --- step ---------------------------------------------------------------- */

static bool msg_valid(const struct raft *r, const struct raft_msg *m)
{
    if (m->to != r->id || m->from == 0 || m->from == r->id)
        return false;
    if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TIMEOUT_NOW)
        return false;
    if (m->n_entries > RAFT_MAX_MSG_ENTRIES || (m->n_entries && !m->entries))
        return false;
    for (size_t i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];
        if (e->index != m->index + 1 + i || e->term > m->term ||
            e->term < (i ? m->entries[i - 1].term : m->log_term) ||
            e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONFIG ||
            (e->len && !e->data))
            return false;
    }
    if (m->type == RAFT_MSG_SNAPSHOT &&
        (m->snap_offset > m->snap_total ||
         m->snap_len > m->snap_total - m->snap_offset ||
         (m->snap_len && !m->snap_data) || m->snap.conf.n_voters == 0 ||
         m->snap.conf.n_voters > RAFT_MAX_MEMBERS ||
         m->snap.conf.n_learners > RAFT_MAX_MEMBERS))
        return false;
    return true;
}

static bool from_leader(uint8_t type)
{
    return type == RAFT_MSG_APPEND || type == RAFT_MSG_HEARTBEAT ||
           type == RAFT_MSG_SNAPSHOT;
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
    if (r->in_ready)
        return K1S_EBUSY;
    if (!m || !msg_valid(r, m))
        return K1S_EINVAL;
    if (m->term > r->term) {
        if ((m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) &&
            !m->force && r->cfg.check_quorum && r->leader != 0 &&
            r->election_elapsed < r->cfg.election_ticks)
            return 0; /* inside the leader lease (§4.2.3): ignore */
        if (m->type == RAFT_MSG_PREVOTE ||
            (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
            /* pre-votes never change terms */
        } else {
            become_follower(r, m->term, from_leader(m->type) ? m->from : 0);
        }
    } else if (m->term < r->term) {
        if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
            m->type == RAFT_MSG_SNAPSHOT) {
            /* Figure 3.1: reply false, with our term, so that a stale
             * leader steps down. */
            struct raft_msg *o = msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
            if (o)
                o->reject = 0;
        } else if (m->type == RAFT_MSG_PREVOTE) {
            struct raft_msg *o = msg_new(r, RAFT_MSG_PREVOTE_RESP, m->from);
            if (o)
                o->reject = 1;
        }
        return 0;
    }

    if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
        handle_vote(r, m);
        return 0;
    }

    if (r->role == RAFT_LEADER) {
        struct raft_progress *p = find_prog(r, m->from);
        switch (m->type) {
        case RAFT_MSG_APPEND_RESP:
            if (p) {
                p->active = true;
                leader_append_resp(r, m, p);
            }
            break;
        case RAFT_MSG_HEARTBEAT_RESP:
            if (p) {
                p->active = true;
                if (m->ctx > p->read_ack && m->ctx <= r->read_seq)
                    p->read_ack = m->ctx;
                check_reads(r);
                if (p->match < raft_log_last(r)) {
                    /* Appends may have been lost: free a slot of a full
                     * window and send (even empty) from next; a follower
                     * missing entries rejects it and we probe (etcd's
                     * recovery of a stalled pipeline). */
                    if (p->state == RAFT_PROG_REPLICATE &&
                        p->infl_count >= r->cfg.max_inflight) {
                        p->infl_start =
                            (p->infl_start + 1) % r->cfg.max_inflight;
                        p->infl_count--;
                    }
                    send_append(r, p, true);
                }
            }
            break;
        case RAFT_MSG_SNAPSHOT_RESP:
            if (p) {
                p->active = true;
                leader_snapshot_resp(r, m, p);
            }
            break;
        case RAFT_MSG_READ_INDEX:
            leader_read(r, m->ctx, m->from);
            break;
        default:
            break;
        }
        return 0;
    }

    if (r->role != RAFT_FOLLOWER) {
        if (from_leader(m->type)) {
            become_follower(r, m->term, m->from);
        } else if ((m->type == RAFT_MSG_VOTE_RESP &&
                    r->role == RAFT_CANDIDATE) ||
                   (m->type == RAFT_MSG_PREVOTE_RESP &&
                    r->role == RAFT_PRECANDIDATE)) {
            /* A granted pre-vote carries term+1, a rejection our term or
             * lower (higher ones made us a follower above). */
            if (r->role == RAFT_PRECANDIDATE && !m->reject &&
                m->term != r->term + 1)
                return 0;
            record_vote(r, m->from, !m->reject);
            tally(r);
            return 0;
        } else {
            return 0;
        }
    }

    switch (m->type) {
    case RAFT_MSG_APPEND:
        r->leader = m->from;
        r->election_elapsed = 0;
        handle_append(r, m);
        break;
    case RAFT_MSG_HEARTBEAT: {
        r->leader = m->from;
        r->election_elapsed = 0;
        uint64_t c =
            m->commit < raft_log_last(r) ? m->commit : raft_log_last(r);
        if (c > r->commit)
            r->commit = c;
        struct raft_msg *o = msg_new(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
        if (o)
            o->ctx = m->ctx;
        break;
    }
    case RAFT_MSG_SNAPSHOT:
        r->leader = m->from;
        r->election_elapsed = 0;
        handle_snapshot(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        if (is_voter(r, r->id))
            campaign(r, false, true);
        break;
    case RAFT_MSG_READ_INDEX_RESP:
        if (m->index != 0 && r->n_reads < RAFT_MAX_READS) {
            struct raft_pending_read *rd = &r->reads[r->n_reads++];
            rd->ctx = m->ctx;
            rd->index = m->index;
            rd->seq = 0;
            rd->from = 0;
            rd->confirmed = true;
        }
        break;
    default:
        break;
    }
    return 0;
}

/* --- requests ------------------------------------------------------------ */

int raft_propose(struct raft *r, const void *data, size_t len,
                 uint64_t *ret_index, uint64_t *ret_term)
{
    if (r->in_ready)
        return K1S_EBUSY;
    if (r->role != RAFT_LEADER)
        return K1S_ENOTLEADER;
    if (r->lead_transfer)
        return K1S_EBUSY;
    if (len > r->cfg.max_msg_bytes)
        return K1S_ETOOLARGE;
    int rv = raft_log_append(r, r->term, RAFT_ENTRY_NORMAL, data, len);
    if (rv != 0)
        return rv;
    if (ret_index)
        *ret_index = raft_log_last(r);
    if (ret_term)
        *ret_term = r->term;
    r->need_bcast = true;
    if (r->n_prog == 0)
        maybe_commit(r);
    return 0;
}

int raft_transfer_leadership(struct raft *r, uint64_t to)
{
    if (r->in_ready)
        return K1S_EBUSY;
    if (r->role != RAFT_LEADER)
        return K1S_ENOTLEADER;
    if (to == r->id || !is_voter(r, to))
        return K1S_EINVAL;
    struct raft_progress *p = find_prog(r, to);
    if (!p)
        return K1S_EINVAL;
    r->lead_transfer = to;
    r->transfer_elapsed = 0;
    if (p->match == raft_log_last(r))
        send_timeout_now(r, to);
    else
        send_append(r, p, false);
    return 0;
}

int raft_change_membership(struct raft *r, enum raft_change change, uint64_t id,
                           uint64_t *ret_index)
{
    if (r->in_ready)
        return K1S_EBUSY;
    if (r->role != RAFT_LEADER)
        return K1S_ENOTLEADER;
    if (r->lead_transfer || r->conf_index > r->commit)
        return K1S_EBUSY;
    if (r->commit < r->term_start)
        return K1S_EAGAIN;
    if (id == 0)
        return K1S_EINVAL;
    struct raft_conf c = r->conf;
    bool voter = raft_conf_is_voter(&c, id);
    bool learner = raft_conf_is_learner(&c, id);
    uint32_t members = c.n_voters + c.n_learners;
    switch (change) {
    case RAFT_ADD_VOTER:
    case RAFT_ADD_LEARNER:
        if (voter || learner || members >= RAFT_MAX_MEMBERS)
            return K1S_EINVAL;
        if (change == RAFT_ADD_VOTER)
            c.voters[c.n_voters++] = id;
        else
            c.learners[c.n_learners++] = id;
        break;
    case RAFT_REMOVE:
        if (voter) {
            if (c.n_voters == 1)
                return K1S_EINVAL;
            for (uint32_t i = 0; i < c.n_voters; i++)
                if (c.voters[i] == id)
                    c.voters[i] = c.voters[--c.n_voters];
        } else if (learner) {
            for (uint32_t i = 0; i < c.n_learners; i++)
                if (c.learners[i] == id)
                    c.learners[i] = c.learners[--c.n_learners];
        } else {
            return K1S_EINVAL;
        }
        break;
    case RAFT_PROMOTE: {
        if (!learner)
            return K1S_EINVAL;
        struct raft_progress *p = find_prog(r, id);
        if (!p || p->match < r->commit)
            return K1S_EAGAIN; /* catch up before voting (§4.2.1) */
        for (uint32_t i = 0; i < c.n_learners; i++)
            if (c.learners[i] == id)
                c.learners[i] = c.learners[--c.n_learners];
        c.voters[c.n_voters++] = id;
        break;
    }
    default:
        return K1S_EINVAL;
    }
    uint8_t buf[RAFT_CONF_MAX_ENCODED];
    size_t len = raft_conf_encode(&c, buf);
    int rv = append_entry(r, r->term, RAFT_ENTRY_CONFIG, buf, len);
    if (rv != 0)
        return rv;
    if (ret_index)
        *ret_index = raft_log_last(r);
    r->need_bcast = true;
    maybe_commit(r);
    return 0;
}

int raft_snapshot_taken(struct raft *r, uint64_t index, const void *data,
                        size_t len, struct raft_snapshot_meta *ret_meta)
{
    if (r->in_ready)
        return K1S_EBUSY;
    if (index > r->applied || index <= r->snap.index)
        return K1S_EINVAL;
    uint64_t term;
    if (!raft_log_term(r, index, &term))
        return K1S_EINVAL;
    void *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (!copy)
            return K1S_ENOMEM;
        memcpy(copy, data, len);
    }
    struct raft_conf c;
    uint64_t ci;
    raft_log_conf_at(r, index, &c, &ci);
    free(r->snap_data);
    r->snap_data = copy;
    r->snap_len = len;
    r->snap.index = index;
    r->snap.term = term;
    r->snap.conf = c;
    raft_log_compact(r, index);
    if (ret_meta)
        *ret_meta = r->snap;
    return 0;
}

/* --- ready / advance ----------------------------------------------------- */

static struct raft_hardstate current_hs(const struct raft *r)
{
    struct raft_hardstate hs = {r->term, r->vote, r->commit};
    if (RAFT_BUG(r, RAFT_BUG_VOTE_NOT_DURABLE) && r->vote != r->id)
        hs.vote = 0;
    return hs;
}

static uint64_t apply_hi(const struct raft *r)
{
    uint64_t hi = r->commit;
    if (hi - r->applied > RAFT_MAX_APPLY)
        hi = r->applied + RAFT_MAX_APPLY;
    return hi;
}

static bool read_ready(const struct raft *r, uint64_t applied)
{
    for (size_t i = 0; i < r->n_reads; i++)
        if (r->reads[i].confirmed && r->reads[i].from == 0 &&
            r->reads[i].index <= applied)
            return true;
    return false;
}

bool raft_has_ready(const struct raft *r)
{
    if (r->in_ready)
        return false;
    struct raft_hardstate hs = current_hs(r);
    return r->need_bcast || r->n_msgs > 0 || r->snap_pending ||
           r->stable < raft_log_last(r) || r->commit > r->applied ||
           memcmp(&hs, &r->hs_prev, sizeof hs) != 0 || read_ready(r, r->commit);
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
    memset(rd, 0, sizeof *rd);
    if (r->in_ready)
        return;
    if (r->role == RAFT_LEADER && r->need_bcast)
        bcast_append(r, r->bcast_empty);
    r->need_bcast = false;
    r->bcast_empty = false;
    rd->hs = current_hs(r);
    rd->hs_changed = memcmp(&rd->hs, &r->hs_prev, sizeof rd->hs) != 0;
    if (r->snap_pending) {
        rd->snapshot = &r->snap;
        rd->snap_data = r->snap_data;
        rd->snap_len = r->snap_len;
        rd->snap_log_reset = r->snap_log_reset;
    }
    if (r->stable < raft_log_last(r)) {
        rd->entries = &r->ents[r->stable - r->offset];
        rd->n_entries = (size_t)(raft_log_last(r) - r->stable);
    }
    rd->msgs = r->msgs;
    rd->n_msgs = r->n_msgs;
    uint64_t hi = apply_hi(r);
    if (hi > r->applied) {
        rd->committed = &r->ents[r->applied - r->offset];
        rd->n_committed = (size_t)(hi - r->applied);
    }
    size_t k = 0;
    r->n_ready_reads = 0;
    for (size_t i = 0; i < r->n_reads; i++) {
        struct raft_pending_read *p = &r->reads[i];
        if (p->confirmed && p->from == 0 && p->index <= hi) {
            r->ready_reads[r->n_ready_reads].ctx = p->ctx;
            r->ready_reads[r->n_ready_reads].index = p->index;
            r->n_ready_reads++;
        } else {
            r->reads[k++] = *p;
        }
    }
    r->n_reads = k;
    rd->reads = r->ready_reads;
    rd->n_reads = r->n_ready_reads;
    rd->role = r->role;
    rd->leader = r->leader;
    rd->snapshot_due = r->cfg.snapshot_threshold > 0 &&
                       hi - r->snap.index >= r->cfg.snapshot_threshold;
    r->ready_hs = rd->hs;
    r->ready_stable = raft_log_last(r);
    r->ready_applied = hi;
    r->in_ready = true;
}

void raft_advance(struct raft *r)
{
    if (!r->in_ready)
        return;
    r->in_ready = false;
    r->hs_prev = r->ready_hs;
    r->stable = r->ready_stable;
    if (r->ready_applied > r->applied)
        r->applied = r->ready_applied;
    r->snap_pending = false;
    for (size_t i = 0; i < r->n_msgs; i++)
        raft_msg_free(&r->msgs[i]);
    r->n_msgs = 0;
    r->n_ready_reads = 0;
}

/* --- views ---------------------------------------------------------------- */

enum raft_role raft_role(const struct raft *r)
{
    return r->role;
}
uint64_t raft_id(const struct raft *r)
{
    return r->id;
}
uint64_t raft_term(const struct raft *r)
{
    return r->term;
}
uint64_t raft_leader(const struct raft *r)
{
    return r->leader;
}
uint64_t raft_commit_index(const struct raft *r)
{
    return r->commit;
}
uint64_t raft_applied_index(const struct raft *r)
{
    return r->applied;
}
uint64_t raft_first_index(const struct raft *r)
{
    return r->offset + 1;
}
uint64_t raft_last_index(const struct raft *r)
{
    return raft_log_last(r);
}

const struct raft_snapshot_meta *raft_snapshot(const struct raft *r)
{
    return &r->snap;
}

const struct raft_conf *raft_conf(const struct raft *r)
{
    return &r->conf;
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
    if (index <= r->offset || index > raft_log_last(r))
        return NULL;
    return &r->ents[index - r->offset - 1];
}
