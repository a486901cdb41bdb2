/*
 * tests/sim/sim_bugs — shows that the simulation has teeth.
 *
 *   sim_bugs [--seeds N] [--seed S] [--bug B] [--trace]
 *
 * Linked against a core compiled with -DRAFT_INJECT_BUGS (a separate set of
 * objects, see the Makefile; the production core contains no bug code).
 * For each known bug (enum raft_bug) it runs the same simulation as
 * sim_raft, seed after seed, with that one bug switched on, until a check
 * fails: the bug is caught. A bug that survives N seeds (default 1000) is
 * a failed test. The last line is "raft-bugs: P passed, F failed". The
 * budget is the same under sanitizers: the run stops at the first catch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/raft/raft.h"
#include "tests/sim/sim.h"

static const char *const bug_names[RAFT_BUG_COUNT] = {
    "none",
    "Figure 8: commit an old-term entry by counting replicas",
    "vote granted before it is durable",
    "learner counted in the commit quorum",
    "read served without confirming leadership",
    "snapshot older than the applied index installed",
};

int main(int argc, char **argv)
{
    uint64_t budget = 1000, only = 0;
    int only_bug = 0;
    bool trace = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
            budget = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            only = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--bug") && i + 1 < argc)
            only_bug = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--trace"))
            trace = true;
        else {
            fprintf(stderr,
                    "usage: %s [--seeds N] [--seed S] [--bug B] [--trace]\n",
                    argv[0]);
            return 2;
        }
    }
    int pass = 0, failn = 0;
    for (int bug = 1; bug < RAFT_BUG_COUNT; bug++) {
        if (only_bug && bug != only_bug)
            continue;
        struct sim_opts o = {0};
        o.bug = bug;
        o.trace = trace;
        bool caught = false;
        uint64_t first = only ? only : 1, last = only ? only : budget;
        for (uint64_t seed = first; seed <= last && !caught; seed++) {
            char why[512];
            o.seed = seed;
            if (sim_run(&o, NULL, why, sizeof why) != 0) {
                caught = true;
                printf("bug %d (%s): caught at seed %" PRIu64 ": %s\n"
                       "  replay: %s --bug %d --seed %" PRIu64 " --trace\n",
                       bug, bug_names[bug], seed, why, argv[0], bug, seed);
            }
        }
        if (caught) {
            pass++;
        } else {
            failn++;
            printf("bug %d (%s): NOT caught in seeds %" PRIu64 "..%" PRIu64
                   "\n",
                   bug, bug_names[bug], first, last);
        }
    }
    printf("raft-bugs: %d passed, %d failed\n", pass, failn);
    return failn ? 1 : 0;
}
