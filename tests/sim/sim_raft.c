/*
 * tests/sim/sim_raft — runs the Raft simulation over many seeds.
 *
 *   sim_raft [--seeds N] [--first F] [--seed S] [--trace] [--scale PCT]
 *
 * Seeds F..F+N-1 (default 1..1000), or just S. Each failing seed prints its
 * reason and the command that replays it with a full trace. The last line
 * is "sim_raft: P passed, F failed" (tests/run counts it). The same seed
 * count runs under ASan (make asan): 1000 seeds take well under a minute
 * there.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

int main(int argc, char **argv)
{
    uint64_t first = 1, n = 1000;
    struct sim_opts o = {0};
    bool one = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--first") && i + 1 < argc)
            first = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            first = strtoull(argv[++i], NULL, 10);
            n = 1;
            one = true;
        } else if (!strcmp(argv[i], "--trace"))
            o.trace = true;
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            o.scale = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--seeds N] [--first F] [--seed S] [--trace] "
                    "[--scale PCT]\n",
                    argv[0]);
            return 2;
        }
    }
    (void)one;
    uint64_t pass = 0, failn = 0;
    struct sim_stats tot = {0};
    for (uint64_t seed = first; seed < first + n; seed++) {
        struct sim_stats st;
        char why[512];
        o.seed = seed;
        if (sim_run(&o, &st, why, sizeof why) == 0) {
            pass++;
        } else {
            failn++;
            printf("FAIL seed %" PRIu64 ": %s\n  replay: %s --seed %" PRIu64
                   " --trace   (or: make sim SEED=%" PRIu64 ")\n",
                   seed, why, argv[0], seed, seed);
        }
        tot.steps += st.steps;
        tot.elections += st.elections;
        tot.commits += st.commits;
        tot.writes_acked += st.writes_acked;
        tot.writes_unknown += st.writes_unknown;
        tot.reads_ok += st.reads_ok;
        tot.snapshots_installed += st.snapshots_installed;
        tot.crashes += st.crashes;
        tot.conf_changes += st.conf_changes;
        tot.transfers += st.transfers;
        tot.lin_unknown += st.lin_unknown;
    }
    printf("totals: %" PRIu64 " steps, %" PRIu64 " leaders, %" PRIu64
           " commits, %" PRIu64 " writes acked (%" PRIu64 " unknown), %" PRIu64
           " reads, %" PRIu64 " snapshots installed, %" PRIu64
           " crashes, %" PRIu64 " conf changes, %" PRIu64 " transfers, %" PRIu64
           " histories too large to check\n",
           tot.steps, tot.elections, tot.commits, tot.writes_acked,
           tot.writes_unknown, tot.reads_ok, tot.snapshots_installed,
           tot.crashes, tot.conf_changes, tot.transfers, tot.lin_unknown);
    printf("sim_raft: %" PRIu64 " passed, %" PRIu64 " failed\n", pass, failn);
    return failn ? 1 : 0;
}
