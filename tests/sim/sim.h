/*
 * tests/sim — the deterministic simulation of a Raft cluster.
 *
 * sim_run() plays one seed: 3 or 5 cores driven as the real driver will
 * drive them (persist, send, apply, read, advance), a network that drops,
 * delays, duplicates and reorders, partitions, crashes that lose what was
 * not persisted, per-node clock rates, membership changes and leadership
 * transfers, small snapshots, and clients writing and reading a small
 * key-value map. Every Raft safety property is checked after every step;
 * the client history is checked for linearizability at the end. One seed
 * is fully determined by (seed, options): a failure replays exactly.
 *
 * Single-threaded; everything is freed before sim_run returns.
 */
#ifndef K1S_TESTS_SIM_SIM_H
#define K1S_TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_opts {
    uint64_t seed;
    int bug;        /* enum raft_bug, for a RAFT_INJECT_BUGS core */
    bool trace;     /* print every event to stdout */
    unsigned scale; /* percent of the default run length (100) */
};

struct sim_stats {
    uint64_t steps, elections, commits, writes_acked, writes_unknown, reads_ok,
        snapshots_installed, crashes, conf_changes, transfers, lin_unknown;
};

/* Runs one seed. Returns 0 if every check held, else -1 with the reason
 * in why. */
int sim_run(const struct sim_opts *o, struct sim_stats *ret_stats, char *why,
            size_t why_len);

#endif
