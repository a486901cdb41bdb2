/*
 * tests/sim/sim.c — one seed of the Raft simulation (see sim.h).
 *
 * DESIGN
 * Time is an integer clock of "units". Each step (one unit): random
 * faults (crash, restart, partition, heal), random operator actions
 * (membership change, leadership transfer), client actions, delivery of
 * the messages due, node ticks (each node ticks every tick_interval units,
 * different per node: clock rates), then every node's ready batch is
 * processed exactly as the durability contract in raft.h says (persist,
 * send, apply, read, advance), except that a node may crash in the middle
 * of it: before persisting (the batch is lost) or after persisting with
 * only some messages sent. A node's disk (hard state, log, snapshot)
 * survives a crash; its core and state machine do not (the state machine
 * restarts from the snapshot and replays, as the store will).
 *
 * Checks after every step: one leader per term (election safety); any two
 * logs that share an (index, term) are identical up to it (log matching);
 * every leader holds every entry committed in an earlier term (leader
 * completeness); no two nodes ever commit or apply different entries at
 * one index (state machine safety); the applied index never goes back.
 * At the end the faults stop, the cluster must converge, every
 * acknowledged write must be in every member's state machine, and the
 * client history must be linearizable (lincheck.c).
 *
 * The state machine is a map of NKEYS registers plus a bitmap of applied
 * write ids. Client writes carry a unique id which is also the value.
 */
#include "tests/sim/sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "store/raft/raft.h"
#include "tests/sim/lincheck.h"

#define MAXN 5
#define NKEYS 3
#define MAXW 1024 /* write ids per seed */
#define NCLIENTS 3
#define MAX_OPS 1500
#define NET_CAP 8192
#define OP_TIMEOUT 400

struct sm {
    uint64_t val[NKEYS];
    uint8_t bits[MAXW / 8];
};

struct node {
    uint64_t id;
    struct raft *r; /* NULL while down */
    /* disk */
    struct raft_hardstate hs;
    struct raft_snapshot_meta snap;
    struct sm snap_sm;
    bool has_snap_data;
    struct raft_entry *log; /* index snap.index + 1 + i; data owned */
    size_t n_log, cap_log;
    /* memory */
    struct sm sm;
    uint64_t applied;
    uint64_t seen_commit;
    unsigned tick_interval;
    uint64_t next_tick;
    uint64_t crash_at, restart_at; /* scheduled by the nemeses; 0 = none */
    bool crash_power;
};

struct flight {
    uint64_t at;
    struct raft_msg m;
};

struct client {
    bool busy;
    size_t op; /* index into history */
    uint64_t node;
    uint64_t index, term; /* write: where it went */
    uint64_t deadline;
    uint64_t next_at;
    uint64_t leader_hint;
};

struct rec {
    uint64_t term;
    uint64_t hash;
    uint64_t commit_term; /* term of the observer when first seen */
    bool set;
};

struct sim {
    const struct sim_opts *o;
    struct sim_stats st;
    uint64_t rng;
    uint64_t now;
    int n;
    struct node nodes[MAXN];
    bool blocked[MAXN][MAXN];
    struct flight *net;
    size_t n_net;
    /* fault profile */
    unsigned p_drop, p_dup, lat_max, p_long; /* per mille, units */
    unsigned p_crash, p_restart, p_part, p_heal, p_midcrash, p_conf, p_xfer;
    unsigned p_kill_leader, p_vote_crash; /* targeted nemeses */
    unsigned kill_delay, p_kill_on_commit;
    unsigned election_ticks;
    bool faults;
    /* records */
    struct rec *committed, *applied;
    size_t cap_rec;
    uint64_t *leader_of;
    size_t cap_terms;
    /* clients */
    struct client clients[NCLIENTS];
    struct lin_op hist[MAX_OPS];
    size_t n_hist;
    uint64_t next_write;
    bool acked[MAXW];
    char *why;
    size_t why_len;
    bool failed;
};

/* --- helpers ------------------------------------------------------------ */

static uint64_t rnd(struct sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned rn(struct sim *s, unsigned n)
{
    return n ? (unsigned)(rnd(s) % n) : 0;
}

static bool chance(struct sim *s, unsigned per_mille)
{
    return rn(s, 1000) < per_mille;
}

static void trace(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void trace(struct sim *s, const char *fmt, ...)
{
    if (!s->o->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("%6" PRIu64 " ", s->now);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static void fail(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct sim *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(s->why, s->why_len, "t=%" PRIu64 ": ", s->now);
    if (k > 0 && (size_t)k < s->why_len)
        vsnprintf(s->why + k, s->why_len - (size_t)k, fmt, ap);
    va_end(ap);
    trace(s, "FAIL %s", s->why);
}

static uint64_t ent_hash(const struct raft_entry *e)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ e->type;
    const uint8_t *p = e->data;
    for (size_t i = 0; i < e->len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static struct node *node_of(struct sim *s, uint64_t id)
{
    if (id == 0 || id > (uint64_t)s->n)
        return NULL;
    return &s->nodes[id - 1];
}

static bool grow_rec(struct sim *s, uint64_t index)
{
    if (index < s->cap_rec)
        return true;
    size_t cap = s->cap_rec ? s->cap_rec : 1024;
    while (cap <= index)
        cap *= 2;
    struct rec *c = realloc(s->committed, cap * sizeof *c);
    if (!c)
        return false;
    s->committed = c;
    struct rec *a = realloc(s->applied, cap * sizeof *a);
    if (!a)
        return false;
    s->applied = a;
    memset(c + s->cap_rec, 0, (cap - s->cap_rec) * sizeof *c);
    memset(a + s->cap_rec, 0, (cap - s->cap_rec) * sizeof *a);
    s->cap_rec = cap;
    return true;
}

/* --- disk ----------------------------------------------------------------- */

static void disk_truncate(struct node *nd, uint64_t from)
{
    uint64_t last = nd->snap.index + nd->n_log;
    if (from > last)
        return;
    size_t keep =
        from > nd->snap.index ? (size_t)(from - nd->snap.index - 1) : 0;
    for (size_t i = keep; i < nd->n_log; i++)
        free((void *)nd->log[i].data);
    nd->n_log = keep;
}

static void disk_append(struct node *nd, const struct raft_entry *e)
{
    if (nd->n_log == nd->cap_log) {
        size_t cap = nd->cap_log ? nd->cap_log * 2 : 64;
        struct raft_entry *l = realloc(nd->log, cap * sizeof *l);
        if (!l)
            abort(); /* the harness, not the core: out of memory is fatal */
        nd->log = l;
        nd->cap_log = cap;
    }
    struct raft_entry c = *e;
    if (e->len) {
        void *d = malloc(e->len);
        if (!d)
            abort();
        memcpy(d, e->data, e->len);
        c.data = d;
    } else {
        c.data = NULL;
    }
    nd->log[nd->n_log++] = c;
}

/* Drops disk entries <= index (after a snapshot). */
static void disk_compact(struct node *nd, uint64_t old_snap, uint64_t index)
{
    uint64_t last = old_snap + nd->n_log;
    size_t drop = index >= last ? nd->n_log : (size_t)(index - old_snap);
    for (size_t i = 0; i < drop; i++)
        free((void *)nd->log[i].data);
    memmove(nd->log, nd->log + drop, (nd->n_log - drop) * sizeof *nd->log);
    nd->n_log -= drop;
}

/* --- node lifecycle ------------------------------------------------------- */

static void node_start(struct sim *s, struct node *nd)
{
    struct raft_config cfg;
    raft_config_default(&cfg, nd->id);
    cfg.election_ticks = s->election_ticks;
    cfg.heartbeat_ticks = s->election_ticks >= 8 ? 2 : 1;
    cfg.max_msg_entries = chance(s, 400) ? 1 : 1 + rn(s, 8);
    cfg.max_inflight = 1 + rn(s, 8);
    cfg.snapshot_threshold = 8 + rn(s, 40);
    /* Often smaller than a snapshot (chunked transfer), sometimes not. */
    cfg.snapshot_chunk = chance(s, 500) ? 16 + rn(s, 120) : 4096;
    cfg.rand_seed = rnd(s);
    cfg.inject_bug = s->o->bug;
    nd->sm = nd->has_snap_data ? nd->snap_sm : (struct sm){{0}, {0}};
    nd->applied = nd->snap.index;
    nd->seen_commit = nd->snap.index;
    int rv = raft_create(&cfg, &nd->hs, &nd->snap,
                         nd->has_snap_data ? &nd->snap_sm : NULL,
                         nd->has_snap_data ? sizeof nd->snap_sm : 0, nd->log,
                         nd->n_log, nd->snap.index, &nd->r);
    if (rv != 0) {
        fail(s, "node %" PRIu64 ": raft_create: %s", nd->id, err_str(rv));
        nd->r = NULL;
        return;
    }
    nd->next_tick = s->now + 1 + rn(s, nd->tick_interval);
    trace(s,
          "n%" PRIu64 " start term=%" PRIu64 " log=(%" PRIu64 ",%" PRIu64
          "] commit=%" PRIu64,
          nd->id, nd->hs.term, nd->snap.index, nd->snap.index + nd->n_log,
          nd->hs.commit);
}

static void node_crash(struct sim *s, struct node *nd, bool power)
{
    if (!nd->r)
        return;
    raft_destroy(nd->r);
    nd->r = NULL;
    s->st.crashes++;
    /* Half the crashes are power failures: what the node had sent but the
     * network had not delivered yet is lost with it. */
    power = power || chance(s, 500);
    if (power) {
        size_t k = 0;
        for (size_t i = 0; i < s->n_net; i++) {
            if (s->net[i].m.from == nd->id)
                raft_msg_free(&s->net[i].m);
            else
                s->net[k++] = s->net[i];
        }
        s->n_net = k;
    }
    trace(s, "n%" PRIu64 " CRASH%s", nd->id, power ? " (power)" : "");
}

static void note_leader(struct sim *s, struct node *nd);

/* --- network -------------------------------------------------------------- */

static void net_push(struct sim *s, struct raft_msg *m, uint64_t at)
{
    if (s->n_net >= NET_CAP) {
        raft_msg_free(m);
        return;
    }
    s->net[s->n_net].at = at;
    s->net[s->n_net].m = *m;
    s->n_net++;
}

static uint64_t latency(struct sim *s)
{
    if (s->faults && chance(s, s->p_long))
        return 1 + rn(s, 30 * s->lat_max);
    return 1 + rn(s, s->lat_max);
}

/* Takes ownership of *m (its buf is moved out of the core's ready). */
static void net_send(struct sim *s, struct raft_msg *m)
{
    struct raft_msg mine = *m;
    m->buf = NULL;
    if (s->faults && chance(s, s->p_drop)) {
        raft_msg_free(&mine);
        return;
    }
    if (s->faults && chance(s, s->p_dup)) {
        struct raft_msg dup;
        if (raft_msg_clone(&mine, &dup) == 0)
            net_push(s, &dup, s->now + latency(s));
    }
    net_push(s, &mine, s->now + latency(s));
}

static void deliver(struct sim *s)
{
    size_t i = 0;
    while (i < s->n_net) {
        if (s->net[i].at > s->now) {
            i++;
            continue;
        }
        struct raft_msg m = s->net[i].m;
        s->net[i] = s->net[--s->n_net];
        struct node *to = node_of(s, m.to);
        struct node *from = node_of(s, m.from);
        if (to && from && to->r && !s->blocked[from->id - 1][to->id - 1]) {
            if (s->o->trace)
                trace(s,
                      "  %s %" PRIu64 "->%" PRIu64 " t%" PRIu64 " i%" PRIu64
                      " lt%" PRIu64 " n%zu c%" PRIu64 "%s ctx%" PRIu64,
                      raft_msg_type_name(m.type), m.from, m.to, m.term, m.index,
                      m.log_term, m.n_entries, m.commit, m.reject ? " REJ" : "",
                      m.ctx);
            raft_step(to->r, &m);
            note_leader(s, to);
        }
        raft_msg_free(&m);
    }
}

/* --- clients -------------------------------------------------------------- */

#define DROPPED_KEY UINT32_MAX

static void client_finish(struct sim *s, struct client *c, uint64_t resp,
                          bool keep)
{
    struct lin_op *op = &s->hist[c->op];
    if (keep)
        op->resp = resp;
    else
        op->key = DROPPED_KEY; /* no effect at all: not part of history */
    c->busy = false;
    c->next_at = s->now + 1 + rn(s, 30);
}

static struct node *pick_node(struct sim *s, struct client *c)
{
    struct node *nd = node_of(s, c->leader_hint);
    if (nd && nd->r && chance(s, 800))
        return nd;
    for (int tries = 0; tries < 8; tries++) {
        nd = &s->nodes[rn(s, (unsigned)s->n)];
        if (nd->r)
            return nd;
    }
    return NULL;
}

static void client_step(struct sim *s, struct client *c)
{
    if (c->busy) {
        if (s->now >= c->deadline) {
            struct lin_op *op = &s->hist[c->op];
            trace(s, "client op %zu timed out", c->op);
            if (op->write)
                s->st.writes_unknown++;
            client_finish(s, c, LIN_NEVER, op->write);
        }
        return;
    }
    if (!s->faults)
        return; /* the run is settling: no new operations */
    if (s->now < c->next_at || s->n_hist >= MAX_OPS || s->next_write >= MAXW)
        return;
    struct node *nd = pick_node(s, c);
    if (!nd)
        return;
    struct lin_op *op = &s->hist[s->n_hist];
    memset(op, 0, sizeof *op);
    op->key = rn(s, NKEYS);
    op->inv = s->now;
    op->write = chance(s, 500);
    c->node = nd->id;
    c->deadline = s->now + OP_TIMEOUT;
    if (op->write) {
        uint8_t data[9];
        uint64_t id = s->next_write;
        data[0] = (uint8_t)op->key;
        memcpy(data + 1, &id, 8);
        int rv = raft_propose(nd->r, data, sizeof data, &c->index, &c->term);
        if (rv != 0) {
            c->leader_hint = raft_leader(nd->r);
            c->next_at = s->now + 1 + rn(s, 10);
            return;
        }
        s->next_write++;
        op->value = id;
        trace(s, "client write k%u=%" PRIu64 " at n%" PRIu64 " i%" PRIu64,
              op->key, id, nd->id, c->index);
    } else {
        int rv = raft_read_index(nd->r, s->n_hist + 1);
        if (rv != 0) {
            c->leader_hint = raft_leader(nd->r);
            c->next_at = s->now + 1 + rn(s, 10);
            return;
        }
        trace(s, "client read k%u at n%" PRIu64 " ctx %zu", op->key, nd->id,
              s->n_hist + 1);
    }
    c->op = s->n_hist++;
    c->busy = true;
}

/* --- ready processing ----------------------------------------------------- */

static void record_commit(struct sim *s, struct node *nd)
{
    uint64_t c = raft_commit_index(nd->r);
    if (c <= nd->seen_commit)
        return;
    if (!grow_rec(s, c))
        return;
    for (uint64_t i = nd->seen_commit + 1; i <= c; i++) {
        const struct raft_entry *e = raft_entry_at(nd->r, i);
        if (!e)
            continue;
        struct rec *rc = &s->committed[i];
        uint64_t h = ent_hash(e);
        if (rc->set && (rc->term != e->term || rc->hash != h)) {
            fail(s,
                 "state machine safety: n%" PRIu64 " commits %" PRIu64
                 " term %" PRIu64 ", committed before with term %" PRIu64,
                 nd->id, i, e->term, rc->term);
            return;
        }
        if (!rc->set) {
            rc->set = true;
            rc->term = e->term;
            rc->hash = h;
            rc->commit_term = raft_term(nd->r);
            s->st.commits++;
        }
    }
    nd->seen_commit = c;
    /* Nemesis: a leader loses power right after its commit index moved
     * (are commits really durable on a majority?). */
    if (s->faults && raft_role(nd->r) == RAFT_LEADER &&
        chance(s, s->p_kill_on_commit)) {
        nd->crash_at = s->now;
        nd->crash_power = true;
    }
}

static void apply_entry(struct sim *s, struct node *nd,
                        const struct raft_entry *e)
{
    if (e->index != nd->applied + 1) {
        fail(s, "n%" PRIu64 ": applies %" PRIu64 " after %" PRIu64, nd->id,
             e->index, nd->applied);
        return;
    }
    if (!grow_rec(s, e->index))
        return;
    struct rec *a = &s->applied[e->index];
    uint64_t h = ent_hash(e);
    if (a->set && (a->term != e->term || a->hash != h)) {
        fail(s,
             "state machine safety: n%" PRIu64 " applies index %" PRIu64
             " term %" PRIu64 ", another node applied term %" PRIu64,
             nd->id, e->index, e->term, a->term);
        return;
    }
    a->set = true;
    a->term = e->term;
    a->hash = h;
    nd->applied = e->index;
    uint64_t id = 0;
    if (e->type == RAFT_ENTRY_NORMAL && e->len == 9) {
        const uint8_t *d = e->data;
        memcpy(&id, d + 1, 8);
        if (d[0] < NKEYS && id < MAXW) {
            nd->sm.val[d[0]] = id;
            nd->sm.bits[id / 8] |= (uint8_t)(1u << (id % 8));
        }
    }
    /* A client waiting on this index at this node learns the outcome. */
    for (int k = 0; k < NCLIENTS; k++) {
        struct client *c = &s->clients[k];
        if (!c->busy || c->node != nd->id || !s->hist[c->op].write ||
            c->index != e->index)
            continue;
        if (c->term == e->term) {
            s->st.writes_acked++;
            s->acked[s->hist[c->op].value] = true;
            trace(s, "client write %" PRIu64 " acked", s->hist[c->op].value);
            client_finish(s, c, s->now, true);
        } else {
            s->st.writes_unknown++;
            client_finish(s, c, LIN_NEVER, true);
        }
    }
}

static void process_ready(struct sim *s, struct node *nd)
{
    struct raft_ready rd;
    raft_ready(nd->r, &rd);
    /* A crash before anything of this batch reached the disk. */
    if (s->faults && chance(s, s->p_midcrash)) {
        node_crash(s, nd, false);
        return;
    }
    if (rd.snapshot) {
        if (rd.snapshot->index < nd->applied) {
            fail(s,
                 "n%" PRIu64 ": snapshot %" PRIu64
                 " would move the state machine back from %" PRIu64,
                 nd->id, rd.snapshot->index, nd->applied);
            return;
        }
        uint64_t old = nd->snap.index;
        if (rd.snap_log_reset)
            disk_truncate(nd, old + 1);
        else
            disk_compact(nd, old, rd.snapshot->index);
        nd->snap = *rd.snapshot;
        if (rd.snap_len == sizeof nd->snap_sm) {
            memcpy(&nd->snap_sm, rd.snap_data, sizeof nd->snap_sm);
            nd->has_snap_data = true;
        } else {
            fail(s, "n%" PRIu64 ": snapshot of %zu bytes", nd->id, rd.snap_len);
            return;
        }
        nd->sm = nd->snap_sm;
        nd->applied = rd.snapshot->index;
        s->st.snapshots_installed++;
        trace(s, "n%" PRIu64 " installs snapshot %" PRIu64, nd->id,
              rd.snapshot->index);
    }
    if (rd.n_entries > 0) {
        disk_truncate(nd, rd.entries[0].index);
        if (rd.entries[0].index != nd->snap.index + nd->n_log + 1) {
            fail(s,
                 "n%" PRIu64 ": ready entries start at %" PRIu64
                 ", disk ends at %" PRIu64,
                 nd->id, rd.entries[0].index, nd->snap.index + nd->n_log);
            return;
        }
        for (size_t i = 0; i < rd.n_entries; i++)
            disk_append(nd, &rd.entries[i]);
    }
    if (rd.hs_changed)
        nd->hs = rd.hs;
    /* A crash after the fsync, with some messages out. */
    bool crash = s->faults && chance(s, s->p_midcrash);
    bool voted = false;
    for (size_t i = 0; i < rd.n_msgs; i++) {
        if (rd.msgs[i].type == RAFT_MSG_VOTE_RESP && !rd.msgs[i].reject)
            voted = true;
        if (!crash || chance(s, 500))
            net_send(s, &rd.msgs[i]);
    }
    /* Nemesis: a voter crashes right after voting and comes back at once
     * (its vote must have been durable, §3.4 / Figure 3.1). */
    if (voted && s->faults && chance(s, s->p_vote_crash)) {
        crash = true;
        nd->restart_at = s->now + 1 + rn(s, 4);
    }
    if (crash) {
        node_crash(s, nd, false);
        return;
    }
    for (size_t i = 0; i < rd.n_committed && !s->failed; i++)
        apply_entry(s, nd, &rd.committed[i]);
    for (size_t i = 0; i < rd.n_reads; i++) {
        if (rd.reads[i].index > nd->applied) {
            fail(s,
                 "n%" PRIu64 ": read released at %" PRIu64
                 " before applied %" PRIu64,
                 nd->id, rd.reads[i].index, nd->applied);
            return;
        }
        for (int k = 0; k < NCLIENTS; k++) {
            struct client *c = &s->clients[k];
            if (c->busy && c->node == nd->id && !s->hist[c->op].write &&
                c->op + 1 == rd.reads[i].ctx) {
                struct lin_op *op = &s->hist[c->op];
                op->value = nd->sm.val[op->key];
                s->st.reads_ok++;
                trace(s, "client read k%u = %" PRIu64 " (index %" PRIu64 ")",
                      op->key, op->value, rd.reads[i].index);
                client_finish(s, c, s->now, true);
            }
        }
    }
    raft_advance(nd->r);
    record_commit(s, nd);
    if (rd.snapshot_due && nd->applied > nd->snap.index) {
        struct raft_snapshot_meta meta;
        if (raft_snapshot_taken(nd->r, nd->applied, &nd->sm, sizeof nd->sm,
                                &meta) == 0) {
            uint64_t old = nd->snap.index;
            nd->snap = meta;
            nd->snap_sm = nd->sm;
            nd->has_snap_data = true;
            disk_compact(nd, old, meta.index);
            trace(s, "n%" PRIu64 " snapshot at %" PRIu64, nd->id, meta.index);
        }
    }
}

/* --- invariants ------------------------------------------------------------
 */

static bool ensure_terms(struct sim *s, uint64_t term)
{
    if (term < s->cap_terms)
        return true;
    size_t cap = s->cap_terms ? s->cap_terms : 256;
    while (cap <= term)
        cap *= 2;
    uint64_t *l = realloc(s->leader_of, cap * sizeof *l);
    if (!l)
        return false;
    memset(l + s->cap_terms, 0, (cap - s->cap_terms) * sizeof *l);
    s->leader_of = l;
    s->cap_terms = cap;
    return true;
}

static void note_leader(struct sim *s, struct node *nd)
{
    if (!nd->r || raft_role(nd->r) != RAFT_LEADER)
        return;
    uint64_t t = raft_term(nd->r);
    if (!ensure_terms(s, t))
        return;
    if (s->leader_of[t] == 0) {
        s->leader_of[t] = nd->id;
        s->st.elections++;
        trace(s, "n%" PRIu64 " is LEADER of term %" PRIu64, nd->id, t);
        /* Nemesis: kill new leaders soon after they take over, so that
         * terms with partly replicated entries pile up (Figure 3.7). */
        if (s->faults && chance(s, s->p_kill_leader)) {
            nd->crash_at = s->now + 1 + rn(s, s->kill_delay);
            nd->crash_power = false;
        }
    } else if (s->leader_of[t] != nd->id) {
        fail(s,
             "election safety: n%" PRIu64 " and n%" PRIu64
             " both lead term %" PRIu64,
             s->leader_of[t], nd->id, t);
    }
}

static void check_election_safety(struct sim *s)
{
    for (int i = 0; i < s->n; i++)
        note_leader(s, &s->nodes[i]);
}

static void check_log_matching(struct sim *s)
{
    for (int a = 0; a < s->n; a++) {
        struct raft *ra = s->nodes[a].r;
        if (!ra)
            continue;
        for (int b = a + 1; b < s->n; b++) {
            struct raft *rb = s->nodes[b].r;
            if (!rb)
                continue;
            uint64_t lo = raft_first_index(ra) > raft_first_index(rb)
                              ? raft_first_index(ra)
                              : raft_first_index(rb);
            uint64_t hi = raft_last_index(ra) < raft_last_index(rb)
                              ? raft_last_index(ra)
                              : raft_last_index(rb);
            bool matched = false;
            for (uint64_t i = hi; i >= lo && i > 0; i--) {
                const struct raft_entry *ea = raft_entry_at(ra, i);
                const struct raft_entry *eb = raft_entry_at(rb, i);
                if (!ea || !eb)
                    break;
                if (!matched && ea->term == eb->term)
                    matched = true;
                if (matched &&
                    (ea->term != eb->term || ent_hash(ea) != ent_hash(eb))) {
                    fail(s,
                         "log matching: n%d and n%d agree above %" PRIu64
                         " but differ at it",
                         a + 1, b + 1, i);
                    return;
                }
            }
        }
    }
}

static void check_leader_completeness(struct sim *s)
{
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (!nd->r || raft_role(nd->r) != RAFT_LEADER)
            continue;
        uint64_t t = raft_term(nd->r);
        uint64_t first = raft_first_index(nd->r);
        for (uint64_t k = first; k < s->cap_rec; k++) {
            struct rec *c = &s->committed[k];
            if (!c->set)
                continue;
            if (c->commit_term >= t)
                continue;
            const struct raft_entry *e = raft_entry_at(nd->r, k);
            if (!e || e->term != c->term) {
                fail(s,
                     "leader completeness: leader n%" PRIu64 " (term %" PRIu64
                     ") lacks entry %" PRIu64 " term %" PRIu64
                     " committed in term %" PRIu64,
                     nd->id, t, k, c->term, c->commit_term);
                return;
            }
        }
    }
}

static void check_all(struct sim *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].r)
            record_commit(s, &s->nodes[i]);
    check_election_safety(s);
    check_log_matching(s);
    check_leader_completeness(s);
}

/* --- faults and operator actions --------------------------------------------
 */

static struct node *leader(struct sim *s)
{
    struct node *best = NULL;
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (nd->r && raft_role(nd->r) == RAFT_LEADER &&
            (!best || raft_term(nd->r) > raft_term(best->r)))
            best = nd;
    }
    return best;
}

static void faults(struct sim *s)
{
    int up = 0;
    for (int i = 0; i < s->n; i++)
        up += s->nodes[i].r != NULL;
    if (chance(s, s->p_crash) && up > 0) {
        struct node *nd = &s->nodes[rn(s, (unsigned)s->n)];
        node_crash(s, nd, false);
    }
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (nd->r && nd->crash_at && s->now >= nd->crash_at) {
            nd->crash_at = 0;
            node_crash(s, nd, nd->crash_power);
        }
        if (!nd->r && ((nd->restart_at && s->now >= nd->restart_at) ||
                       chance(s, s->p_restart))) {
            nd->restart_at = 0;
            node_start(s, nd);
        }
    }
    if (chance(s, s->p_part)) {
        unsigned kind = rn(s, 3);
        int a = (int)rn(s, (unsigned)s->n), b = (int)rn(s, (unsigned)s->n);
        if (kind == 0) { /* isolate a node, both ways */
            for (int j = 0; j < s->n; j++)
                s->blocked[a][j] = s->blocked[j][a] = j != a;
            trace(s, "partition: isolate n%d", a + 1);
        } else if (kind == 1 && a != b) { /* one way */
            s->blocked[a][b] = true;
            trace(s, "partition: n%d -/-> n%d", a + 1, b + 1);
        } else { /* random split */
            unsigned mask = rn(s, 1u << s->n);
            for (int x = 0; x < s->n; x++)
                for (int y = 0; y < s->n; y++)
                    s->blocked[x][y] = ((mask >> x) & 1) != ((mask >> y) & 1);
            trace(s, "partition: split mask %x", mask);
        }
    }
    if (chance(s, s->p_heal)) {
        memset(s->blocked, 0, sizeof s->blocked);
        trace(s, "heal");
    }
    struct node *l = leader(s);
    if (l && chance(s, s->p_xfer)) {
        uint64_t to = 1 + rn(s, (unsigned)s->n);
        if (raft_transfer_leadership(l->r, to) == 0) {
            s->st.transfers++;
            trace(s, "transfer n%" PRIu64 " -> n%" PRIu64, l->id, to);
        }
    }
    if (l && chance(s, s->p_conf)) {
        static const enum raft_change kinds[] = {
            RAFT_ADD_VOTER, RAFT_REMOVE,  RAFT_ADD_LEARNER,
            RAFT_PROMOTE,   RAFT_PROMOTE, RAFT_ADD_LEARNER};
        enum raft_change k = kinds[rn(s, 6)];
        uint64_t id = 1 + rn(s, (unsigned)s->n);
        const struct raft_conf *c = raft_conf(l->r);
        /* Keep at least two voters so that faults stay interesting. */
        if (k == RAFT_REMOVE && raft_conf_is_voter(c, id) && c->n_voters <= 2)
            return;
        uint64_t idx;
        if (raft_change_membership(l->r, k, id, &idx) == 0) {
            s->st.conf_changes++;
            trace(s, "conf change %d n%" PRIu64 " at %" PRIu64, (int)k, id,
                  idx);
        }
    }
}

/* --- the run
 * ------------------------------------------------------------------ */

static void step_nodes(struct sim *s)
{
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (nd->r && s->now >= nd->next_tick) {
            raft_tick(nd->r);
            note_leader(s, nd);
            nd->next_tick = s->now + nd->tick_interval;
        }
    }
    for (int round = 0; round < 8; round++) {
        bool any = false;
        for (int i = 0; i < s->n && !s->failed; i++) {
            struct node *nd = &s->nodes[i];
            if (nd->r && raft_has_ready(nd->r)) {
                process_ready(s, nd);
                any = true;
            }
        }
        if (!any)
            break;
    }
}

static bool converged(struct sim *s)
{
    struct node *l = leader(s);
    if (!l)
        return false;
    uint64_t c = raft_commit_index(l->r);
    if (c < raft_last_index(l->r) || l->applied < c)
        return false;
    const struct raft_conf *conf = raft_conf(l->r);
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (!raft_conf_is_voter(conf, nd->id) &&
            !raft_conf_is_learner(conf, nd->id))
            continue;
        if (!nd->r || nd->applied < c)
            return false;
    }
    for (int k = 0; k < NCLIENTS; k++)
        if (s->clients[k].busy)
            return false;
    return true;
}

static void final_checks(struct sim *s)
{
    struct node *l = leader(s);
    const struct raft_conf *conf = raft_conf(l->r);
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (!raft_conf_is_voter(conf, nd->id) &&
            !raft_conf_is_learner(conf, nd->id))
            continue;
        for (uint64_t w = 0; w < MAXW; w++) {
            bool has = (nd->sm.bits[w / 8] >> (w % 8)) & 1;
            if (s->acked[w] && !has) {
                fail(s,
                     "acknowledged write %" PRIu64 " lost: not in n%" PRIu64
                     "'s state machine",
                     w, nd->id);
                return;
            }
        }
        if (memcmp(&nd->sm, &l->sm, sizeof nd->sm) != 0) {
            fail(s,
                 "n%" PRIu64 " and leader n%" PRIu64
                 " applied the same index to different states",
                 nd->id, l->id);
            return;
        }
    }
    char why[256] = "";
    size_t m = 0;
    for (size_t i = 0; i < s->n_hist; i++)
        if (s->hist[i].key != DROPPED_KEY)
            s->hist[m++] = s->hist[i];
    enum lin_result lr = lin_check(s->hist, m, 200000, why, sizeof why);
    if (lr == LIN_FAIL)
        fail(s, "history not linearizable: %s", why);
    else if (lr == LIN_UNKNOWN)
        s->st.lin_unknown++;
}

int sim_run(const struct sim_opts *o, struct sim_stats *ret_stats, char *why,
            size_t why_len)
{
    struct sim *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    s->o = o;
    s->why = why;
    s->why_len = why_len;
    why[0] = '\0';
    s->rng = o->seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    s->net = calloc(NET_CAP, sizeof *s->net);
    s->next_write = 1;
    if (!s->net) {
        free(s);
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    s->n = chance(s, 500) ? 3 : 5;
    /* The fault profile of this seed. */
    s->p_drop = rn(s, 120);
    s->p_dup = rn(s, 60);
    s->lat_max = 2 + rn(s, 20);
    s->p_long = rn(s, 30);
    s->p_crash = 1 + rn(s, 6);
    s->p_restart = 5 + rn(s, 40);
    s->p_part = 1 + rn(s, 6);
    s->p_heal = 2 + rn(s, 8);
    s->p_midcrash = rn(s, 8);
    s->p_conf = rn(s, 6);
    s->p_xfer = rn(s, 4);
    s->p_kill_leader = chance(s, 500) ? rn(s, 600) : 0;
    s->p_vote_crash = chance(s, 500) ? rn(s, 600) : 0;
    s->kill_delay = 5 + rn(s, 40);
    s->election_ticks = 4 + rn(s, 9);
    if (chance(s, 600)) {
        /* Leader churn: new leaders die young, messages get lost, nodes
         * come back fast — the soil of Figure 3.7's scenario. */
        s->n = 3;
        s->p_drop = 100 + rn(s, 250);
        s->p_kill_leader = 500 + rn(s, 500);
        s->kill_delay = 2 + rn(s, 2 * s->lat_max);
        s->p_restart = 50 + rn(s, 200);
        s->p_crash = rn(s, 4);
        s->p_kill_on_commit = 100 + rn(s, 600);
        s->p_vote_crash = rn(s, 800);
    }
    s->faults = true;
    /* Initial configuration: all voters, or 3 voters + learners. */
    struct raft_conf conf;
    memset(&conf, 0, sizeof conf);
    bool learners = chance(s, s->n == 5 ? 600 : 300);
    for (int i = 0; i < s->n; i++) {
        if (learners && i >= 3 - (s->n == 3))
            conf.learners[conf.n_learners++] = (uint64_t)i + 1;
        else
            conf.voters[conf.n_voters++] = (uint64_t)i + 1;
    }
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        nd->id = (uint64_t)i + 1;
        nd->snap.conf = conf;
        nd->tick_interval = 7 + rn(s, 8); /* clock rates differ by 2x */
        node_start(s, nd);
    }
    unsigned scale = o->scale ? o->scale : 100;
    uint64_t run = 6000ULL * scale / 100, settle = 4000;
    trace(s,
          "seed %" PRIu64 ": %d nodes, drop %u dup %u lat %u crash %u "
          "part %u midcrash %u conf %u xfer %u learners %d",
          o->seed, s->n, s->p_drop, s->p_dup, s->lat_max, s->p_crash, s->p_part,
          s->p_midcrash, s->p_conf, s->p_xfer, learners);
    for (s->now = 1; !s->failed; s->now++) {
        if (s->now == run) {
            /* The faults stop; everything restarts and heals. */
            s->faults = false;
            memset(s->blocked, 0, sizeof s->blocked);
            for (int i = 0; i < s->n; i++)
                if (!s->nodes[i].r)
                    node_start(s, &s->nodes[i]);
            trace(s, "faults stop");
        }
        if (s->faults)
            faults(s);
        for (int k = 0; k < NCLIENTS; k++)
            client_step(s, &s->clients[k]);
        deliver(s);
        step_nodes(s);
        if (!s->failed)
            check_all(s);
        s->st.steps++;
        if (s->now > run && converged(s)) {
            final_checks(s);
            break;
        }
        if (s->now > run + settle) {
            for (int i = 0; i < s->n && o->trace; i++) {
                struct node *nd = &s->nodes[i];
                if (!nd->r)
                    continue;
                uint64_t last = raft_last_index(nd->r);
                const struct raft_entry *e = raft_entry_at(nd->r, last);
                trace(s,
                      "n%" PRIu64 " role %d term %" PRIu64 " commit %" PRIu64
                      " applied %" PRIu64 " log [%" PRIu64 ",%" PRIu64
                      "] last term %" PRIu64,
                      nd->id, (int)raft_role(nd->r), raft_term(nd->r),
                      raft_commit_index(nd->r), nd->applied,
                      raft_first_index(nd->r), last, e ? e->term : 0);
            }
            fail(s,
                 "no convergence %" PRIu64 " units after the faults "
                 "stopped (liveness)",
                 settle);
            break;
        }
    }
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        raft_destroy(nd->r);
        disk_truncate(nd, nd->snap.index + 1);
        free(nd->log);
    }
    for (size_t i = 0; i < s->n_net; i++)
        raft_msg_free(&s->net[i].m);
    free(s->net);
    free(s->committed);
    free(s->applied);
    free(s->leader_of);
    if (ret_stats)
        *ret_stats = s->st;
    int rv = s->failed ? -1 : 0;
    free(s);
    return rv;
}
