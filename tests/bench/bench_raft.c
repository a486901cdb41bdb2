/*
 * bench_raft — throughput of the Raft core (make bench).
 *
 * 1. A 3-member cluster over an in-memory network (messages moved from one
 *    core's ready straight into the next core's step, no copies beyond the
 *    core's own), the leader proposing B entries of 64 bytes per round, at
 *    B = 1 and B = 64: entries committed by the leader and applied by all
 *    three members per second. Everything runs on one thread, so this is
 *    the cost of three cores on one CPU.
 * 2. The core alone: a one-member cluster (propose, ready, advance) — the
 *    cost per entry of the core's bookkeeping without replication.
 * 3. Reference, measured in the same run: malloc + 64-byte copy + free per
 *    entry, the floor of any design that copies entries once.
 * Durations are measured with CLOCK_MONOTONIC; figures vary with load (this
 * machine is shared), ratios less so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/raft/raft.h"

#define QCAP 65536

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
    int n;
    struct raft *r[4];
    struct raft_msg *q;
    size_t nq;
    uint64_t applied[4];
};

static int bench_init(struct bench *b, int n)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->q = calloc(QCAP, sizeof *b->q);
    if (!b->q)
        return -1;
    struct raft_snapshot_meta m;
    memset(&m, 0, sizeof m);
    for (int i = 1; i <= n; i++)
        m.conf.voters[m.conf.n_voters++] = (uint64_t)i;
    for (int i = 1; i <= n; i++) {
        struct raft_config cfg;
        raft_config_default(&cfg, (uint64_t)i);
        cfg.snapshot_threshold = 0;
        if (raft_create(&cfg, NULL, &m, NULL, 0, NULL, 0, 0, &b->r[i]) != 0)
            return -1;
    }
    return 0;
}

static void bench_free(struct bench *b)
{
    for (int i = 1; i <= b->n; i++)
        raft_destroy(b->r[i]);
    for (size_t i = 0; i < b->nq; i++)
        raft_msg_free(&b->q[i]);
    free(b->q);
}

/* One round: every core's ready, then every queued message delivered. */
static void pump(struct bench *b)
{
    for (int i = 1; i <= b->n; i++) {
        if (!raft_has_ready(b->r[i]))
            continue;
        struct raft_ready rd;
        raft_ready(b->r[i], &rd);
        for (size_t k = 0; k < rd.n_msgs && b->nq < QCAP; k++) {
            b->q[b->nq++] = rd.msgs[k];
            rd.msgs[k].buf = NULL;
        }
        if (rd.n_committed)
            b->applied[i] = rd.committed[rd.n_committed - 1].index;
        raft_advance(b->r[i]);
    }
    size_t n = b->nq;
    b->nq = 0;
    for (size_t k = 0; k < n; k++) {
        struct raft_msg m = b->q[k];
        raft_step(b->r[m.to], &m);
        raft_msg_free(&m);
    }
}

static int elect(struct bench *b)
{
    for (int t = 0; t < 100 && raft_role(b->r[1]) != RAFT_LEADER; t++) {
        raft_tick(b->r[1]);
        for (int k = 0; k < 5; k++)
            pump(b);
    }
    return raft_role(b->r[1]) == RAFT_LEADER ? 0 : -1;
}

/* Proposes `total` entries in batches of `batch`; returns entries/s
 * applied by every member. */
static double run_cluster(int n, size_t batch, size_t total)
{
    struct bench b;
    if (bench_init(&b, n) != 0 || elect(&b) != 0) {
        bench_free(&b);
        return -1;
    }
    uint8_t data[64];
    memset(data, 'x', sizeof data);
    uint64_t start_idx = raft_last_index(b.r[1]);
    uint64_t target = start_idx + total;
    double t0 = now_s();
    size_t proposed = 0;
    for (size_t guard = 0; guard < 100 * total + 1000; guard++) {
        for (size_t k = 0; k < batch && proposed < total; k++) {
            if (raft_propose(b.r[1], data, sizeof data, NULL, NULL) != 0)
                break;
            proposed++;
        }
        pump(&b);
        bool done = true;
        for (int i = 1; i <= n; i++)
            done = done && b.applied[i] >= target;
        if (done)
            break;
        if (guard % 64 == 63)
            raft_tick(b.r[1]); /* heartbeats keep a stalled pipe moving */
    }
    double dt = now_s() - t0;
    bool ok = true;
    for (int i = 1; i <= n; i++)
        ok = ok && b.applied[i] >= target;
    bench_free(&b);
    return ok ? (double)total / dt : -1;
}

static double reference(size_t total)
{
    uint8_t data[64];
    memset(data, 'x', sizeof data);
    volatile uint8_t sink = 0;
    double t0 = now_s();
    for (size_t i = 0; i < total; i++) {
        uint8_t *p = malloc(sizeof data);
        if (!p)
            return -1;
        memcpy(p, data, sizeof data);
        sink = (uint8_t)(sink + p[i % sizeof data]);
        free(p);
    }
    (void)sink;
    return (double)total / (now_s() - t0);
}

int main(void)
{
    size_t total = 400000;
    double ref = reference(4 * total);
    double one = run_cluster(1, 64, total);
    double b1 = run_cluster(3, 1, total / 4);
    double b64 = run_cluster(3, 64, total);
    printf("reference (malloc+copy+free 64 B): %.0f ops/s\n", ref);
    printf("core alone (1 member, batch 64):   %.0f entries/s, %.0f ns/entry "
           "(%.1fx the reference cost)\n",
           one, 1e9 / one, ref / one);
    printf("3 members in memory, batch 1:      %.0f entries/s, %.0f ns/entry\n",
           b1, 1e9 / b1);
    printf("3 members in memory, batch 64:     %.0f entries/s, %.0f ns/entry "
           "(%.1fx batch 1)\n",
           b64, 1e9 / b64, b64 / b1);
    printf("target: >= 500000 entries/s through 3 members: %s\n",
           b64 >= 500000 ? "met" : "NOT met");
    return (one > 0 && b1 > 0 && b64 > 0) ? 0 : 1;
}
