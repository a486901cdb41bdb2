/*
 * Unit tests for store/raft: one test per rule of the Raft paper's
 * Figure 2 / the dissertation's Figure 3.1, plus the extensions the core
 * implements (pre-vote, check-quorum, ReadIndex, transfer, membership,
 * snapshots). Each test names the section it checks.
 *
 * Two styles: single-core tests craft messages by hand and inspect the
 * ready batch; cluster tests run 3-5 cores over a synchronous in-memory
 * network (struct cluster) that can drop links.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "store/raft/raft.h"

/* --- Fixture ------------------------------------------------------------ */

#define MAXN 5
#define QCAP 8192

struct cluster {
    int n;
    struct raft *r[MAXN + 1];
    bool cut[MAXN + 1][MAXN + 1];
    struct raft_msg q[QCAP];
    size_t nq;
    uint64_t applied[MAXN + 1];
    uint64_t applied_term[MAXN + 1][256];
    uint64_t read_ctx[MAXN + 1], read_index[MAXN + 1];
    size_t snapshots_installed[MAXN + 1];
    bool vote_in_same_ready_as_resp;
};

static struct raft_config cfg_for(uint64_t id, bool pre_vote, bool cq)
{
    struct raft_config c;
    raft_config_default(&c, id);
    c.election_ticks = 10;
    c.heartbeat_ticks = 1;
    c.pre_vote = pre_vote;
    c.check_quorum = cq;
    c.rand_seed = 42;
    c.max_msg_entries = 4;
    c.max_inflight = 4;
    return c;
}

static struct raft_snapshot_meta boot(int voters, int learners)
{
    struct raft_snapshot_meta m;
    memset(&m, 0, sizeof m);
    for (int i = 1; i <= voters; i++)
        m.conf.voters[m.conf.n_voters++] = (uint64_t)i;
    for (int i = voters + 1; i <= voters + learners; i++)
        m.conf.learners[m.conf.n_learners++] = (uint64_t)i;
    return m;
}

static struct cluster *cluster_new(int voters, int learners, bool pre_vote,
                                   bool cq)
{
    struct cluster *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->n = voters + learners;
    struct raft_snapshot_meta m = boot(voters, learners);
    for (int i = 1; i <= c->n; i++) {
        struct raft_config cfg = cfg_for((uint64_t)i, pre_vote, cq);
        cfg.rand_seed = (uint64_t)i * 7919;
        assert_int_equal(
            raft_create(&cfg, NULL, &m, NULL, 0, NULL, 0, 0, &c->r[i]), 0);
    }
    return c;
}

static void cluster_free(struct cluster *c)
{
    for (int i = 1; i <= c->n; i++)
        raft_destroy(c->r[i]);
    for (size_t i = 0; i < c->nq; i++)
        raft_msg_free(&c->q[i]);
    free(c);
}

/* Performs one ready of node i as a driver would (persist is a no-op: the
 * cores hold their logs; messages are queued; committed entries recorded;
 * snapshots taken with a small fake payload). */
static void node_ready(struct cluster *c, int i)
{
    struct raft_ready rd;
    raft_ready(c->r[i], &rd);
    if (rd.snapshot)
        c->snapshots_installed[i]++;
    for (size_t k = 0; k < rd.n_msgs; k++) {
        struct raft_msg *m = &rd.msgs[k];
        if (m->type == RAFT_MSG_VOTE_RESP && !m->reject && rd.hs_changed &&
            rd.hs.vote == m->to)
            c->vote_in_same_ready_as_resp = true;
        if (c->cut[m->from][m->to] || c->nq >= QCAP)
            continue;
        c->q[c->nq++] = *m;
        m->buf = NULL; /* moved */
    }
    for (size_t k = 0; k < rd.n_committed; k++) {
        const struct raft_entry *e = &rd.committed[k];
        assert_int_equal(e->index, c->applied[i] + 1);
        c->applied[i] = e->index;
        if (e->index < 256)
            c->applied_term[i][e->index] = e->term;
    }
    if (rd.snapshot)
        c->applied[i] = rd.snapshot->index;
    for (size_t k = 0; k < rd.n_reads; k++) {
        c->read_ctx[i] = rd.reads[k].ctx;
        c->read_index[i] = rd.reads[k].index;
    }
    raft_advance(c->r[i]);
    if (rd.snapshot_due) {
        char data[64];
        int len = snprintf(data, sizeof data, "snapshot@%llu",
                           (unsigned long long)raft_applied_index(c->r[i]));
        raft_snapshot_taken(c->r[i], raft_applied_index(c->r[i]), data,
                            (size_t)len, NULL);
    }
}

/* Runs readies and delivers messages until nothing moves (bounded). */
static void settle(struct cluster *c)
{
    for (int round = 0; round < 10000; round++) {
        bool any = false;
        for (int i = 1; i <= c->n; i++) {
            if (c->r[i] && raft_has_ready(c->r[i])) {
                node_ready(c, i);
                any = true;
            }
        }
        if (c->nq > 0) {
            any = true;
            size_t n = c->nq;
            struct raft_msg *batch = malloc(n * sizeof *batch);
            assert_non_null(batch);
            memcpy(batch, c->q, n * sizeof *batch);
            c->nq = 0;
            for (size_t k = 0; k < n; k++) {
                struct raft_msg *m = &batch[k];
                if (m->to <= (uint64_t)c->n && c->r[m->to] &&
                    !c->cut[m->from][m->to])
                    raft_step(c->r[m->to], m);
                raft_msg_free(m);
            }
            free(batch);
        }
        if (!any)
            return;
    }
    fail_msg("cluster did not settle");
}

/* Queues the messages of a ready inspected by hand (moves them). */
static void keep_msgs(struct cluster *c, struct raft_ready *rd)
{
    for (size_t k = 0; k < rd->n_msgs && c->nq < QCAP; k++) {
        c->q[c->nq++] = rd->msgs[k];
        rd->msgs[k].buf = NULL;
    }
}

static void isolate(struct cluster *c, int i, bool cut)
{
    for (int j = 1; j <= c->n; j++)
        if (j != i)
            c->cut[i][j] = c->cut[j][i] = cut;
}

/* Ticks node i alone until it leads (at most 4 election timeouts). */
static void elect(struct cluster *c, int i)
{
    for (int t = 0; t < 40 && raft_role(c->r[i]) != RAFT_LEADER; t++) {
        raft_tick(c->r[i]);
        settle(c);
    }
    assert_int_equal(raft_role(c->r[i]), RAFT_LEADER);
}

static void tick_all(struct cluster *c, int n)
{
    for (int t = 0; t < n; t++) {
        for (int i = 1; i <= c->n; i++)
            if (c->r[i])
                raft_tick(c->r[i]);
        settle(c);
    }
}

static uint64_t propose(struct cluster *c, int i, const char *s)
{
    uint64_t idx = 0;
    assert_int_equal(raft_propose(c->r[i], s, strlen(s), &idx, NULL), 0);
    return idx;
}

/* A lone core (id 1) in a 3-voter configuration, for message tests. */
static struct raft *lone(bool pre_vote)
{
    struct raft_config cfg = cfg_for(1, pre_vote, false);
    struct raft_snapshot_meta m = boot(3, 0);
    struct raft *r;
    assert_int_equal(raft_create(&cfg, NULL, &m, NULL, 0, NULL, 0, 0, &r), 0);
    return r;
}

static struct raft_msg msg(uint8_t type, uint64_t from, uint64_t term)
{
    struct raft_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.from = from;
    m.to = 1;
    m.term = term;
    return m;
}

/* Collects the ready; returns the first message of `type` (copied into
 * *out) or false. */
static bool take(struct raft *r, uint8_t type, struct raft_msg *out,
                 struct raft_ready *ret_rd)
{
    struct raft_ready rd;
    raft_ready(r, &rd);
    bool found = false;
    for (size_t i = 0; i < rd.n_msgs; i++) {
        if (!found && rd.msgs[i].type == type) {
            *out = rd.msgs[i];
            out->buf = NULL;
            out->entries = NULL;
            out->n_entries = rd.msgs[i].n_entries;
            found = true;
        }
    }
    if (ret_rd)
        *ret_rd = rd;
    raft_advance(r);
    return found;
}

static struct raft_msg append_msg(uint64_t term, uint64_t prev,
                                  uint64_t prev_term, uint64_t commit,
                                  struct raft_entry *ents, size_t n)
{
    struct raft_msg m = msg(RAFT_MSG_APPEND, 2, term);
    m.index = prev;
    m.log_term = prev_term;
    m.commit = commit;
    m.entries = ents;
    m.n_entries = n;
    return m;
}

/* --- Success: Figure 3.1 "Rules for Servers" ----------------------------- */

/* Fig 3.1, All Servers: "If RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower" (§3.3). */
static void higher_term_makes_follower(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, false);
    elect(c, 1);
    uint64_t t = raft_term(c->r[1]);
    struct raft_msg m = msg(RAFT_MSG_HEARTBEAT_RESP, 2, t + 5);
    assert_int_equal(raft_step(c->r[1], &m), 0);
    assert_int_equal(raft_role(c->r[1]), RAFT_FOLLOWER);
    assert_int_equal(raft_term(c->r[1]), t + 5);
    cluster_free(c);
}

/* Fig 3.1, AppendEntries receiver 1: "Reply false if term < currentTerm"
 * (§3.3); we answer with our term so the stale leader steps down. */
static void append_with_stale_term_is_refused(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_msg up = msg(RAFT_MSG_HEARTBEAT, 2, 5);
    raft_step(r, &up);
    struct raft_msg out;
    take(r, RAFT_MSG_HEARTBEAT_RESP, &out, NULL);
    struct raft_entry e = {1, 3, RAFT_ENTRY_NORMAL, "x", 1};
    struct raft_msg m = append_msg(3, 0, 0, 0, &e, 1);
    raft_step(r, &m);
    assert_true(take(r, RAFT_MSG_APPEND_RESP, &out, NULL));
    assert_int_equal(out.term, 5);
    assert_int_equal(raft_last_index(r), 0); /* nothing appended */
    raft_destroy(r);
}

/* Fig 3.1, AppendEntries receiver 2: "Reply false if log doesn't contain
 * an entry at prevLogIndex whose term matches prevLogTerm" (§3.5). */
static void append_rejects_on_prev_mismatch(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_entry e = {5, 1, RAFT_ENTRY_NORMAL, "x", 1};
    struct raft_msg m = append_msg(1, 4, 1, 0, &e, 1);
    raft_step(r, &m);
    struct raft_msg out;
    assert_true(take(r, RAFT_MSG_APPEND_RESP, &out, NULL));
    assert_true(out.reject);
    assert_int_equal(out.hint_index, 0); /* fast back-off: we have nothing */
    assert_int_equal(raft_last_index(r), 0);
    raft_destroy(r);
}

/* Fig 3.1, AppendEntries receivers 3 and 4: "If an existing entry
 * conflicts with a new one (same index but different terms), delete the
 * existing entry and all that follow it; append any new entries not
 * already in the log" (§3.5). */
static void append_truncates_conflict_and_appends(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_entry old[3] = {{1, 1, RAFT_ENTRY_NORMAL, "a", 1},
                                {2, 1, RAFT_ENTRY_NORMAL, "b", 1},
                                {3, 1, RAFT_ENTRY_NORMAL, "c", 1}};
    struct raft_msg m = append_msg(1, 0, 0, 0, old, 3);
    raft_step(r, &m);
    struct raft_msg out;
    take(r, RAFT_MSG_APPEND_RESP, &out, NULL);
    assert_int_equal(raft_last_index(r), 3);
    struct raft_entry neu[1] = {{2, 2, RAFT_ENTRY_NORMAL, "B", 1}};
    m = append_msg(2, 1, 1, 0, neu, 1);
    raft_step(r, &m);
    struct raft_ready rd;
    assert_true(take(r, RAFT_MSG_APPEND_RESP, &out, &rd));
    assert_false(out.reject);
    assert_int_equal(out.index, 2);
    assert_int_equal(raft_last_index(r), 2);
    assert_int_equal(raft_entry_at(r, 2)->term, 2);
    assert_memory_equal(raft_entry_at(r, 2)->data, "B", 1);
    assert_int_equal(raft_entry_at(r, 1)->term, 1);
    /* The ready told the driver to overwrite from index 2. */
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.entries[0].index, 2);
    raft_destroy(r);
}

/* Fig 3.1, AppendEntries receiver 5: "If leaderCommit > commitIndex, set
 * commitIndex = min(leaderCommit, index of last new entry)" (§3.5). */
static void append_commit_is_min_of_leader_commit_and_last_new(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_entry e[2] = {{1, 1, RAFT_ENTRY_NORMAL, "a", 1},
                              {2, 1, RAFT_ENTRY_NORMAL, "b", 1}};
    struct raft_msg m = append_msg(1, 0, 0, 9, e, 2);
    raft_step(r, &m);
    assert_int_equal(raft_commit_index(r), 2);
    struct raft_ready rd;
    raft_ready(r, &rd);
    assert_int_equal(rd.n_committed, 2); /* All Servers: apply committed */
    assert_int_equal(rd.hs.commit, 2);
    raft_advance(r);
    assert_int_equal(raft_applied_index(r), 2);
    raft_destroy(r);
}

/* Fig 3.1, RequestVote receiver 1: "Reply false if term < currentTerm"
 * (§3.4). */
static void vote_refused_for_lower_term(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_msg up = msg(RAFT_MSG_HEARTBEAT, 2, 4);
    raft_step(r, &up);
    struct raft_msg out;
    take(r, RAFT_MSG_HEARTBEAT_RESP, &out, NULL);
    struct raft_msg v = msg(RAFT_MSG_VOTE, 3, 3);
    raft_step(r, &v);
    assert_false(take(r, RAFT_MSG_VOTE_RESP, &out, NULL));
    assert_int_equal(raft_term(r), 4);
    raft_destroy(r);
}

/* Fig 3.1, RequestVote receiver 2: "If votedFor is null or candidateId,
 * and candidate's log is at least as up-to-date as receiver's log, grant
 * vote" — once per term (§3.4), and the vote is in the same ready as the
 * answer so the driver persists it first (Fig 3.1 "Persistent state ...
 * updated on stable storage before responding to RPCs"). */
static void vote_granted_once_per_term_and_durable_first(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_msg v = msg(RAFT_MSG_VOTE, 2, 1);
    raft_step(r, &v);
    struct raft_msg out;
    struct raft_ready rd;
    assert_true(take(r, RAFT_MSG_VOTE_RESP, &out, &rd));
    assert_false(out.reject);
    assert_true(rd.hs_changed);
    assert_int_equal(rd.hs.vote, 2);
    assert_int_equal(rd.hs.term, 1);
    v = msg(RAFT_MSG_VOTE, 3, 1);
    raft_step(r, &v);
    assert_true(take(r, RAFT_MSG_VOTE_RESP, &out, NULL));
    assert_true(out.reject);
    /* The same candidate asking again (a retry) gets the same answer. */
    v = msg(RAFT_MSG_VOTE, 2, 1);
    raft_step(r, &v);
    assert_true(take(r, RAFT_MSG_VOTE_RESP, &out, NULL));
    assert_false(out.reject);
    raft_destroy(r);
}

/* §3.6.1 election restriction: a vote goes only to a candidate whose log is
 * at least as up-to-date (higher last term, or same term and as long). */
static void vote_requires_up_to_date_log(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_entry e[2] = {{1, 1, RAFT_ENTRY_NORMAL, "a", 1},
                              {2, 2, RAFT_ENTRY_NORMAL, "b", 1}};
    struct raft_msg m = append_msg(2, 0, 0, 0, e, 2);
    raft_step(r, &m);
    struct raft_msg out;
    take(r, RAFT_MSG_APPEND_RESP, &out, NULL);
    struct raft_msg v = msg(RAFT_MSG_VOTE, 3, 3);
    v.index = 5;
    v.log_term = 1; /* longer but older */
    raft_step(r, &v);
    assert_true(take(r, RAFT_MSG_VOTE_RESP, &out, NULL));
    assert_true(out.reject);
    v = msg(RAFT_MSG_VOTE, 3, 4);
    v.index = 2;
    v.log_term = 2;
    raft_step(r, &v);
    assert_true(take(r, RAFT_MSG_VOTE_RESP, &out, NULL));
    assert_false(out.reject);
    raft_destroy(r);
}

/* Fig 3.1, Followers: "If election timeout elapses without receiving
 * AppendEntries from current leader or granting vote to candidate: convert
 * to candidate"; Candidates: "increment currentTerm, vote for self, send
 * RequestVote RPCs to all other servers" (§3.4). The timeout is randomized
 * in [e, 2e). */
static void election_timeout_starts_election(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    int ticks = 0;
    while (raft_role(r) == RAFT_FOLLOWER && ticks < 100) {
        raft_tick(r);
        ticks++;
    }
    assert_true(ticks >= 10 && ticks < 20);
    assert_int_equal(raft_role(r), RAFT_CANDIDATE);
    assert_int_equal(raft_term(r), 1);
    struct raft_ready rd;
    raft_ready(r, &rd);
    assert_int_equal(rd.hs.vote, 1);
    size_t votes = 0;
    for (size_t i = 0; i < rd.n_msgs; i++)
        votes += rd.msgs[i].type == RAFT_MSG_VOTE;
    assert_int_equal(votes, 2);
    raft_advance(r);
    raft_destroy(r);
}

/* Fig 3.1, Candidates: "If votes received from majority of servers: become
 * leader"; Leaders: "Upon election: send initial empty AppendEntries RPCs
 * (heartbeat) to each server; repeat during idle periods" (§3.4). */
static void majority_of_votes_makes_leader_who_heartbeats(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, false);
    elect(c, 1);
    assert_int_equal(raft_leader(c->r[2]), 1);
    assert_int_equal(raft_leader(c->r[3]), 1);
    /* Idle: every heartbeat tick sends a heartbeat to each follower. */
    raft_tick(c->r[1]);
    struct raft_ready rd;
    raft_ready(c->r[1], &rd);
    size_t hb = 0;
    for (size_t i = 0; i < rd.n_msgs; i++)
        hb += rd.msgs[i].type == RAFT_MSG_HEARTBEAT;
    assert_int_equal(hb, 2);
    raft_advance(c->r[1]);
    cluster_free(c);
}

/* Fig 3.1, Candidates: "If AppendEntries RPC received from new leader:
 * convert to follower" (§3.4). */
static void candidate_yields_to_leader_of_same_term(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    while (raft_role(r) != RAFT_CANDIDATE)
        raft_tick(r);
    struct raft_msg out;
    take(r, RAFT_MSG_VOTE, &out, NULL);
    struct raft_msg m = append_msg(raft_term(r), 0, 0, 0, NULL, 0);
    raft_step(r, &m);
    assert_int_equal(raft_role(r), RAFT_FOLLOWER);
    assert_int_equal(raft_leader(r), 2);
    raft_destroy(r);
}

/* Fig 3.1, Leaders: "If there exists an N such that N > commitIndex, a
 * majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
 * commitIndex = N" (§3.6.2, Figure 3.7): an entry of an older term is not
 * committed by counting replicas; the new leader's no-op commits it. */
static void old_term_entries_commit_only_through_own_term(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, false);
    elect(c, 1);
    /* Leader 1 appends an entry that reaches only node 2. */
    isolate(c, 3, true);
    c->cut[1][2] = false;
    uint64_t idx = propose(c, 1, "old");
    c->cut[2][1] = true; /* 2's acknowledgement is lost */
    settle(c);
    assert_int_equal(raft_commit_index(c->r[1]), idx - 1);
    assert_non_null(raft_entry_at(c->r[2], idx));
    uint64_t old_term = raft_entry_at(c->r[2], idx)->term;
    /* Node 2 becomes leader of a new term with node 3 (1 is cut off). */
    isolate(c, 3, false);
    isolate(c, 1, true);
    elect(c, 2);
    /* It holds the old entry on a majority (2 and 3) right away but must
     * not commit it before its own no-op is on a majority too. */
    assert_true(raft_term(c->r[2]) > old_term);
    const struct raft_entry *noop = raft_entry_at(c->r[2], idx + 1);
    assert_non_null(noop);
    assert_int_equal(noop->type, RAFT_ENTRY_NOOP);
    assert_int_equal(raft_commit_index(c->r[2]), idx + 1);
    assert_int_equal(c->applied_term[2][idx], old_term);
    cluster_free(c);
}

/* A narrower check of the same rule with a hand-driven leader: matching
 * acknowledgements for an old-term index do not move commit. */
static void leader_does_not_count_old_term_replicas(void **state)
{
    (void)state;
    struct raft_config cfg = cfg_for(1, false, false);
    struct raft_snapshot_meta m = boot(3, 0);
    struct raft_entry e[1] = {{1, 1, RAFT_ENTRY_NORMAL, "a", 1}};
    struct raft_hardstate hs = {1, 0, 0};
    struct raft *r;
    assert_int_equal(raft_create(&cfg, &hs, &m, NULL, 0, e, 1, 0, &r), 0);
    while (raft_role(r) != RAFT_CANDIDATE)
        raft_tick(r);
    struct raft_msg out;
    take(r, RAFT_MSG_VOTE, &out, NULL);
    struct raft_msg v = msg(RAFT_MSG_VOTE_RESP, 2, raft_term(r));
    raft_step(r, &v);
    assert_int_equal(raft_role(r), RAFT_LEADER);
    take(r, RAFT_MSG_APPEND, &out, NULL);
    /* Node 2 acknowledges index 1 (term 1) only. */
    struct raft_msg a = msg(RAFT_MSG_APPEND_RESP, 2, raft_term(r));
    a.index = 1;
    raft_step(r, &a);
    assert_int_equal(raft_commit_index(r), 0);
    /* ... then the no-op at index 2: both commit. */
    a.index = 2;
    raft_step(r, &a);
    assert_int_equal(raft_commit_index(r), 2);
    raft_destroy(r);
}

/* Fig 3.1, Leaders: "If last log index >= nextIndex for a follower: send
 * AppendEntries ... If AppendEntries fails because of log inconsistency:
 * decrement nextIndex and retry" — with the fast back-off of §3.5 a
 * follower with a long divergent tail is repaired in a few round trips. */
static void follower_with_divergent_log_is_repaired(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, false);
    elect(c, 1);
    propose(c, 1, "a");
    settle(c);
    /* Leader 1, cut off, appends 30 entries nobody else gets. */
    isolate(c, 1, true);
    for (int i = 0; i < 30; i++)
        propose(c, 1, "lost");
    settle(c);
    elect(c, 2);
    for (int i = 0; i < 5; i++)
        propose(c, 2, "kept");
    settle(c);
    isolate(c, 1, false);
    raft_tick(c->r[2]);
    settle(c);
    tick_all(c, 3);
    assert_int_equal(raft_last_index(c->r[1]), raft_last_index(c->r[2]));
    for (uint64_t i = 1; i <= raft_last_index(c->r[2]); i++)
        assert_int_equal(raft_entry_at(c->r[1], i)->term,
                         raft_entry_at(c->r[2], i)->term);
    assert_int_equal(c->applied[1], raft_commit_index(c->r[2]));
    cluster_free(c);
}

/* Fig 3.1, All Servers: "If commitIndex > lastApplied: increment
 * lastApplied, apply log[lastApplied] to state machine" — in index order,
 * each exactly once, on every member. */
static void committed_entries_apply_in_order_everywhere(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    uint64_t last = 0;
    for (int i = 0; i < 20; i++)
        last = propose(c, 1, "w");
    settle(c);
    tick_all(c, 2);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(c->applied[i], last);
    cluster_free(c);
}

/* Restart: a core rebuilt from its hard state and entries keeps its term
 * and vote (Fig 3.1 persistent state) and re-applies only after applied. */
static void restart_restores_persistent_state(void **state)
{
    (void)state;
    struct raft_config cfg = cfg_for(1, false, false);
    struct raft_snapshot_meta m = boot(3, 0);
    struct raft_entry e[3] = {{1, 1, RAFT_ENTRY_NORMAL, "a", 1},
                              {2, 1, RAFT_ENTRY_NORMAL, "b", 1},
                              {3, 2, RAFT_ENTRY_NORMAL, "c", 1}};
    struct raft_hardstate hs = {2, 3, 3};
    struct raft *r;
    assert_int_equal(raft_create(&cfg, &hs, &m, NULL, 0, e, 3, 1, &r), 0);
    assert_int_equal(raft_term(r), 2);
    struct raft_ready rd;
    raft_ready(r, &rd);
    assert_int_equal(rd.n_committed, 2);
    assert_int_equal(rd.committed[0].index, 2);
    assert_false(rd.hs_changed);
    assert_int_equal(rd.n_entries, 0);
    raft_advance(r);
    /* The vote for 3 in term 2 holds: 2 is refused. */
    struct raft_msg v = msg(RAFT_MSG_VOTE, 2, 2);
    v.index = 3;
    v.log_term = 2;
    raft_step(r, &v);
    struct raft_msg out;
    assert_true(take(r, RAFT_MSG_VOTE_RESP, &out, NULL));
    assert_true(out.reject);
    raft_destroy(r);
}

/* --- Success: extensions ----------------------------------------------------
 */

/* §9.6 pre-vote: a pre-candidate does not bump its term, and a node that
 * is partitioned and comes back does not disturb the cluster's term. */
static void prevote_keeps_terms_of_a_partitioned_node(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    uint64_t t = raft_term(c->r[1]);
    isolate(c, 3, true);
    for (int i = 0; i < 100; i++) {
        raft_tick(c->r[3]);
        settle(c);
    }
    assert_int_equal(raft_term(c->r[3]), t);
    assert_int_equal(raft_role(c->r[3]), RAFT_PRECANDIDATE);
    isolate(c, 3, false);
    tick_all(c, 3);
    assert_int_equal(raft_role(c->r[1]), RAFT_LEADER);
    assert_int_equal(raft_term(c->r[1]), t);
    assert_int_equal(raft_leader(c->r[3]), 1);
    cluster_free(c);
}

/* §6.2 / §9.6 check-quorum: a leader that hears from no majority for an
 * election timeout steps down. */
static void leader_without_quorum_steps_down(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    isolate(c, 1, true);
    for (int i = 0; i < 25; i++) {
        raft_tick(c->r[1]);
        settle(c);
    }
    assert_int_equal(raft_role(c->r[1]), RAFT_FOLLOWER);
    cluster_free(c);
}

/* §4.2.3 leader lease: with check-quorum, a vote request arriving while a
 * follower hears from a leader is ignored (no term change, no vote). */
static void vote_inside_lease_is_ignored(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, true);
    elect(c, 1);
    uint64_t t = raft_term(c->r[2]);
    struct raft_msg v = msg(RAFT_MSG_VOTE, 3, t + 1);
    v.to = 2;
    v.index = 100;
    v.log_term = 100;
    raft_step(c->r[2], &v);
    assert_int_equal(raft_term(c->r[2]), t);
    assert_int_equal(raft_leader(c->r[2]), 1);
    cluster_free(c);
}

/* §6.4 ReadIndex: the leader releases a read only after a heartbeat round
 * acknowledged by a majority confirms it still leads, and at an index that
 * is applied. */
static void read_index_waits_for_heartbeat_quorum(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    uint64_t idx = propose(c, 1, "x");
    settle(c);
    isolate(c, 1, true);
    assert_int_equal(raft_read_index(c->r[1], 77), 0);
    settle(c);
    assert_int_equal(c->read_ctx[1], 0); /* no quorum: not released */
    isolate(c, 1, false);
    assert_int_equal(raft_read_index(c->r[1], 78), 0);
    settle(c);
    assert_int_equal(c->read_ctx[1], 78);
    assert_true(c->read_index[1] >= idx);
    assert_true(c->applied[1] >= c->read_index[1]);
    cluster_free(c);
}

/* §6.4 (followers): a follower asks the leader for the read index and
 * releases the read once it has applied that far. */
static void follower_read_index(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    uint64_t idx = propose(c, 1, "x");
    settle(c);
    assert_int_equal(raft_read_index(c->r[3], 5), 0);
    settle(c);
    assert_int_equal(c->read_ctx[3], 5);
    assert_true(c->read_index[3] >= idx);
    assert_true(c->applied[3] >= c->read_index[3]);
    /* No leader known: refused at once. */
    struct raft *r = lone(true);
    assert_int_equal(raft_read_index(r, 1), K1S_ENOTLEADER);
    raft_destroy(r);
    cluster_free(c);
}

/* §3.10 leadership transfer: the target is caught up, gets TimeoutNow and
 * wins at once (despite pre-vote and the lease); proposals are refused
 * meanwhile. */
static void leadership_transfer(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    c->cut[1][3] = true;
    propose(c, 1, "x");
    settle(c);
    c->cut[1][3] = false;
    assert_int_equal(raft_transfer_leadership(c->r[1], 3), 0);
    assert_int_equal(raft_propose(c->r[1], "y", 1, NULL, NULL), K1S_EBUSY);
    settle(c);
    for (int t = 0; t < 3 && raft_role(c->r[3]) != RAFT_LEADER; t++) {
        raft_tick(c->r[1]); /* a heartbeat finds what 3 still lacks */
        settle(c);
    }
    assert_int_equal(raft_role(c->r[3]), RAFT_LEADER);
    assert_int_equal(raft_role(c->r[1]), RAFT_FOLLOWER);
    assert_int_equal(raft_transfer_leadership(c->r[3], 3), K1S_EINVAL);
    cluster_free(c);
}

/* §4.1 single-server changes: one at a time, not before the leader has
 * committed an entry of its term; §4.2.1 learners catch up before they are
 * promoted and never count in a quorum. */
static void membership_one_change_at_a_time(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 2, true, true);
    /* Leader 1 before its no-op commits: not yet. */
    for (int t = 0; t < 40 && raft_role(c->r[1]) != RAFT_LEADER; t++) {
        raft_tick(c->r[1]);
        for (int i = 1; i <= c->n; i++)
            while (raft_has_ready(c->r[i]) && raft_role(c->r[1]) != RAFT_LEADER)
                node_ready(c, i);
        if (raft_role(c->r[1]) == RAFT_LEADER)
            break;
        settle(c);
    }
    assert_int_equal(raft_role(c->r[1]), RAFT_LEADER);
    if (raft_commit_index(c->r[1]) < raft_last_index(c->r[1]))
        assert_int_equal(raft_change_membership(c->r[1], RAFT_PROMOTE, 4, NULL),
                         K1S_EAGAIN);
    settle(c);
    uint64_t idx;
    assert_int_equal(raft_change_membership(c->r[1], RAFT_PROMOTE, 4, &idx), 0);
    assert_true(raft_conf_is_voter(raft_conf(c->r[1]), 4));
    assert_int_equal(raft_change_membership(c->r[1], RAFT_PROMOTE, 5, NULL),
                     K1S_EBUSY);
    settle(c);
    assert_int_equal(raft_commit_index(c->r[1]), idx);
    assert_true(raft_conf_is_voter(raft_conf(c->r[5]), 4));
    assert_int_equal(raft_change_membership(c->r[1], RAFT_REMOVE, 5, NULL), 0);
    settle(c);
    assert_false(raft_conf_is_learner(raft_conf(c->r[1]), 5));
    assert_int_equal(raft_change_membership(c->r[1], RAFT_ADD_LEARNER, 4, NULL),
                     K1S_EINVAL);
    cluster_free(c);
}

/* §4.2.1: learners do not count toward commitment. 2 voters out of 3 are
 * cut off; two learners acknowledging is not enough. */
static void learners_do_not_count_in_quorum(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 2, false, false);
    elect(c, 1);
    uint64_t before = raft_commit_index(c->r[1]);
    isolate(c, 2, true);
    isolate(c, 3, true);
    c->cut[1][4] = c->cut[4][1] = false;
    c->cut[1][5] = c->cut[5][1] = false;
    uint64_t idx = propose(c, 1, "x");
    settle(c);
    assert_int_equal(raft_last_index(c->r[4]), idx);
    assert_int_equal(raft_commit_index(c->r[1]), before);
    isolate(c, 2, false);
    raft_tick(c->r[1]);
    settle(c);
    assert_int_equal(raft_commit_index(c->r[1]), idx);
    /* Learners never campaign. */
    for (int i = 0; i < 100; i++)
        raft_tick(c->r[4]);
    assert_int_equal(raft_role(c->r[4]), RAFT_FOLLOWER);
    cluster_free(c);
}

/* §4.2.2: a leader removed from the configuration steps down once the
 * change is committed, and the rest elect a leader among themselves. */
static void removed_leader_steps_down(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, true, true);
    elect(c, 1);
    assert_int_equal(raft_change_membership(c->r[1], RAFT_REMOVE, 1, NULL), 0);
    settle(c);
    assert_int_equal(raft_role(c->r[1]), RAFT_FOLLOWER);
    isolate(c, 1, true);
    tick_all(c, 60);
    assert_true(raft_role(c->r[2]) == RAFT_LEADER ||
                raft_role(c->r[3]) == RAFT_LEADER);
    cluster_free(c);
}

/* §5.1-5.3 snapshots: after snapshot_threshold entries the application
 * is asked for a snapshot and the log is compacted; a follower that needs
 * compacted entries receives InstallSnapshot in chunks and resumes from
 * it. */
static void lagging_follower_gets_chunked_snapshot(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, false);
    /* Small threshold and chunks for node 1 (the leader). */
    raft_destroy(c->r[1]);
    struct raft_config cfg = cfg_for(1, false, false);
    cfg.snapshot_threshold = 5;
    cfg.snapshot_chunk = 3;
    struct raft_snapshot_meta m = boot(3, 0);
    assert_int_equal(raft_create(&cfg, NULL, &m, NULL, 0, NULL, 0, 0, &c->r[1]),
                     0);
    elect(c, 1);
    isolate(c, 3, true);
    uint64_t last = 0;
    for (int i = 0; i < 20; i++)
        last = propose(c, 1, "w");
    settle(c);
    assert_true(raft_first_index(c->r[1]) > 10); /* compacted */
    isolate(c, 3, false);
    size_t chunks = 0;
    for (int t = 0; t < 20 && c->applied[3] < last; t++) {
        raft_tick(c->r[1]);
        for (size_t k = 0; k < c->nq; k++)
            chunks += c->q[k].type == RAFT_MSG_SNAPSHOT;
        settle(c);
    }
    assert_int_equal(c->snapshots_installed[3], 1);
    assert_int_equal(c->applied[3], last);
    assert_true(raft_snapshot(c->r[3])->index > 10);
    cluster_free(c);
    (void)chunks;
}

/* §5.3 (Figure 5.3 step 6-8 in spirit): a snapshot that does not move the
 * follower forward is acknowledged and ignored. */
static void stale_snapshot_is_ignored(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_entry e[3] = {{1, 1, RAFT_ENTRY_NORMAL, "a", 1},
                              {2, 1, RAFT_ENTRY_NORMAL, "b", 1},
                              {3, 1, RAFT_ENTRY_NORMAL, "c", 1}};
    struct raft_msg m = append_msg(1, 0, 0, 3, e, 3);
    raft_step(r, &m);
    struct raft_msg out;
    take(r, RAFT_MSG_APPEND_RESP, &out, NULL);
    struct raft_msg s = msg(RAFT_MSG_SNAPSHOT, 2, 1);
    s.snap = boot(3, 0);
    s.snap.index = 2;
    s.snap.term = 1;
    s.snap_total = 4;
    s.snap_len = 4;
    s.snap_data = "snap";
    raft_step(r, &s);
    struct raft_ready rd;
    assert_true(take(r, RAFT_MSG_APPEND_RESP, &out, &rd));
    assert_null(rd.snapshot);
    assert_int_equal(out.index, 3);
    assert_int_equal(raft_commit_index(r), 3);
    assert_int_equal(raft_last_index(r), 3);
    raft_destroy(r);
}

/* Batching and pipelining (§10.2.1 of the dissertation): proposals made
 * between two readies leave in one message, and a follower in replicate
 * state gets several messages in flight. */
static void proposals_are_batched_and_pipelined(void **state)
{
    (void)state;
    struct cluster *c = cluster_new(3, 0, false, false);
    elect(c, 1);
    for (int i = 0; i < 4; i++)
        propose(c, 1, "b");
    struct raft_ready rd;
    raft_ready(c->r[1], &rd);
    size_t to2 = 0, ents = 0;
    for (size_t i = 0; i < rd.n_msgs; i++)
        if (rd.msgs[i].type == RAFT_MSG_APPEND && rd.msgs[i].to == 2) {
            to2++;
            ents += rd.msgs[i].n_entries;
        }
    assert_int_equal(to2, 1);
    assert_int_equal(ents, 4);
    keep_msgs(c, &rd);
    raft_advance(c->r[1]);
    for (int i = 0; i < 16; i++)
        propose(c, 1, "p");
    raft_ready(c->r[1], &rd);
    to2 = 0;
    for (size_t i = 0; i < rd.n_msgs; i++)
        to2 += rd.msgs[i].type == RAFT_MSG_APPEND && rd.msgs[i].to == 2;
    /* 4 entries per message, 4 messages in flight: the first batch holds
     * one slot, so 3 more go now. */
    assert_int_equal(to2, 3);
    keep_msgs(c, &rd);
    raft_advance(c->r[1]);
    settle(c);
    assert_int_equal(raft_commit_index(c->r[1]), raft_last_index(c->r[1]));
    cluster_free(c);
}

/* --- Failure
 * ------------------------------------------------------------------ */

static void bad_input_is_refused(void **state)
{
    (void)state;
    struct raft *r = lone(false);
    struct raft_msg m = msg(99, 2, 1);
    assert_int_equal(raft_step(r, &m), K1S_EINVAL);
    m = msg(RAFT_MSG_APPEND, 1, 1); /* from ourselves */
    assert_int_equal(raft_step(r, &m), K1S_EINVAL);
    struct raft_entry e = {7, 1, RAFT_ENTRY_NORMAL, "x", 1};
    m = append_msg(1, 0, 0, 0, &e, 1); /* index does not follow prev */
    assert_int_equal(raft_step(r, &m), K1S_EINVAL);
    struct raft_entry bad = {1, 1, RAFT_ENTRY_CONFIG, "junk", 4};
    m = append_msg(1, 0, 0, 0, &bad, 1);
    raft_step(r, &m);
    assert_true(raft_conf_is_voter(raft_conf(r), 3)); /* conf unchanged */
    m = msg(RAFT_MSG_SNAPSHOT, 2, 1);
    m.snap_total = 4;
    m.snap_offset = 3;
    m.snap_len = 4; /* beyond total */
    m.snap_data = "abcd";
    m.snap.conf.n_voters = 1;
    assert_int_equal(raft_step(r, &m), K1S_EINVAL);
    assert_int_equal(raft_propose(r, "x", 1, NULL, NULL), K1S_ENOTLEADER);
    assert_int_equal(raft_transfer_leadership(r, 2), K1S_ENOTLEADER);
    assert_int_equal(raft_change_membership(r, RAFT_ADD_VOTER, 9, NULL),
                     K1S_ENOTLEADER);
    raft_destroy(r);
    /* Creation with inconsistent storage is refused. */
    struct raft_config cfg = cfg_for(1, false, false);
    struct raft_snapshot_meta sm = boot(3, 0);
    struct raft_entry gap = {5, 1, RAFT_ENTRY_NORMAL, "x", 1};
    assert_int_equal(raft_create(&cfg, NULL, &sm, NULL, 0, &gap, 1, 0, &r),
                     K1S_EINVAL);
    struct raft_snapshot_meta none;
    memset(&none, 0, sizeof none);
    assert_int_equal(raft_create(&cfg, NULL, &none, NULL, 0, NULL, 0, 0, &r),
                     K1S_EINVAL);
}

static void conf_codec_round_trips_and_rejects_junk(void **state)
{
    (void)state;
    struct raft_conf c = boot(3, 2).conf, d;
    uint8_t buf[RAFT_CONF_MAX_ENCODED];
    size_t n = raft_conf_encode(&c, buf);
    assert_int_equal(raft_conf_decode(buf, n, &d), 0);
    assert_int_equal(d.n_voters, 3);
    assert_int_equal(d.n_learners, 2);
    assert_true(raft_conf_is_learner(&d, 5));
    assert_int_equal(raft_conf_decode(buf, n - 1, &d), K1S_EINVAL);
    buf[0] = 200;
    assert_int_equal(raft_conf_decode(buf, n, &d), K1S_EINVAL);
    c.voters[1] = c.voters[0]; /* duplicate id */
    n = raft_conf_encode(&c, buf);
    assert_int_equal(raft_conf_decode(buf, n, &d), K1S_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(higher_term_makes_follower),
        cmocka_unit_test(append_with_stale_term_is_refused),
        cmocka_unit_test(append_rejects_on_prev_mismatch),
        cmocka_unit_test(append_truncates_conflict_and_appends),
        cmocka_unit_test(append_commit_is_min_of_leader_commit_and_last_new),
        cmocka_unit_test(vote_refused_for_lower_term),
        cmocka_unit_test(vote_granted_once_per_term_and_durable_first),
        cmocka_unit_test(vote_requires_up_to_date_log),
        cmocka_unit_test(election_timeout_starts_election),
        cmocka_unit_test(majority_of_votes_makes_leader_who_heartbeats),
        cmocka_unit_test(candidate_yields_to_leader_of_same_term),
        cmocka_unit_test(old_term_entries_commit_only_through_own_term),
        cmocka_unit_test(leader_does_not_count_old_term_replicas),
        cmocka_unit_test(follower_with_divergent_log_is_repaired),
        cmocka_unit_test(committed_entries_apply_in_order_everywhere),
        cmocka_unit_test(restart_restores_persistent_state),
        cmocka_unit_test(prevote_keeps_terms_of_a_partitioned_node),
        cmocka_unit_test(leader_without_quorum_steps_down),
        cmocka_unit_test(vote_inside_lease_is_ignored),
        cmocka_unit_test(read_index_waits_for_heartbeat_quorum),
        cmocka_unit_test(follower_read_index),
        cmocka_unit_test(leadership_transfer),
        cmocka_unit_test(membership_one_change_at_a_time),
        cmocka_unit_test(learners_do_not_count_in_quorum),
        cmocka_unit_test(removed_leader_steps_down),
        cmocka_unit_test(lagging_follower_gets_chunked_snapshot),
        cmocka_unit_test(stale_snapshot_is_ignored),
        cmocka_unit_test(proposals_are_batched_and_pipelined),
        cmocka_unit_test(bad_input_is_refused),
        cmocka_unit_test(conf_codec_round_trips_and_rejects_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
