/*
 * store/raft under allocation failure: the core must never crash or break
 * safety when malloc/realloc/calloc return NULL — it reports K1S_ENOMEM or
 * drops the work (a lost message, a refused proposal), and Raft recovers
 * once memory is back.
 *
 * The test executable interposes malloc, calloc and realloc (forwarding to
 * glibc's __libc_* entry points) and fails a random share of the calls made
 * while a core function runs. AddressSanitizer owns the allocator in
 * sanitizer builds, so there the test is reported as skipped, not passed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "store/raft/raft.h"

#ifndef K1S_SANITIZER

/* --- Fixture: a failing allocator ------------------------------------------
 */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static bool g_failing;
static unsigned g_fail_pct;
static uint64_t g_rng = 12345;
static unsigned long g_failed_calls;

static bool should_fail(void)
{
    if (!g_failing)
        return false;
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    if (g_rng % 100 < g_fail_pct) {
        g_failed_calls++;
        return true;
    }
    return false;
}

void *malloc(size_t size)
{
    return should_fail() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __libc_realloc(p, size);
}

/* --- Helpers ------------------------------------------------------------- */

#define N 3

struct net {
    struct raft *r[N + 1];
    struct raft_msg q[4096];
    size_t nq;
};

static void pump(struct net *n)
{
    for (int i = 1; i <= N; i++) {
        if (!raft_has_ready(n->r[i]))
            continue;
        struct raft_ready rd;
        g_failing = true;
        raft_ready(n->r[i], &rd);
        g_failing = false;
        for (size_t k = 0; k < rd.n_msgs && n->nq < 4096; k++) {
            n->q[n->nq++] = rd.msgs[k];
            rd.msgs[k].buf = NULL;
        }
        g_failing = true;
        raft_advance(n->r[i]);
        g_failing = false;
    }
    size_t cnt = n->nq;
    n->nq = 0;
    struct raft_msg *batch = __libc_malloc(cnt * sizeof *batch + 1);
    assert_non_null(batch);
    memcpy(batch, n->q, cnt * sizeof *batch);
    for (size_t k = 0; k < cnt; k++) {
        g_failing = true;
        int rv = raft_step(n->r[batch[k].to], &batch[k]);
        g_failing = false;
        assert_true(rv == 0 || rv == K1S_ENOMEM);
        raft_msg_free(&batch[k]);
    }
    free(batch);
}

static struct raft *leader_of(struct net *n)
{
    for (int i = 1; i <= N; i++)
        if (raft_role(n->r[i]) == RAFT_LEADER)
            return n->r[i];
    return NULL;
}

/* --- Success ---------------------------------------------------------------
 */

static void core_survives_allocation_failures(void **state)
{
    (void)state;
    struct net *n = calloc(1, sizeof *n);
    assert_non_null(n);
    struct raft_snapshot_meta m;
    memset(&m, 0, sizeof m);
    for (int i = 1; i <= N; i++)
        m.conf.voters[m.conf.n_voters++] = (uint64_t)i;
    for (int i = 1; i <= N; i++) {
        struct raft_config cfg;
        raft_config_default(&cfg, (uint64_t)i);
        cfg.snapshot_threshold = 0;
        assert_int_equal(
            raft_create(&cfg, NULL, &m, NULL, 0, NULL, 0, 0, &n->r[i]), 0);
    }
    g_fail_pct = 20;
    unsigned long proposed = 0, refused = 0;
    for (int round = 0; round < 3000; round++) {
        for (int i = 1; i <= N; i++) {
            g_failing = true;
            raft_tick(n->r[i]);
            g_failing = false;
        }
        struct raft *l = leader_of(n);
        if (l) {
            g_failing = true;
            int rv = raft_propose(l, "value", 5, NULL, NULL);
            g_failing = false;
            if (rv == 0)
                proposed++;
            else
                refused++;
        }
        pump(n);
    }
    assert_true(g_failed_calls > 100); /* failures really happened */
    /* Memory comes back: the cluster converges on one log. */
    g_fail_pct = 0;
    for (int round = 0; round < 400; round++) {
        for (int i = 1; i <= N; i++)
            raft_tick(n->r[i]);
        pump(n);
    }
    struct raft *l = leader_of(n);
    assert_non_null(l);
    assert_true(proposed > 0);
    uint64_t last = raft_last_index(l);
    assert_int_equal(raft_commit_index(l), last);
    for (int i = 1; i <= N; i++) {
        assert_int_equal(raft_last_index(n->r[i]), last);
        for (uint64_t k = 1; k <= last; k++)
            assert_int_equal(raft_entry_at(n->r[i], k)->term,
                             raft_entry_at(l, k)->term);
    }
    for (int i = 1; i <= N; i++)
        raft_destroy(n->r[i]);
    free(n);
    print_message(
        "proposed %lu, refused %lu, failed allocations %lu, log %llu\n",
        proposed, refused, g_failed_calls, (unsigned long long)last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(core_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* K1S_SANITIZER */

static void core_survives_allocation_failures(void **state)
{
    (void)state;
    skip(); /* the sanitizer owns malloc: cannot interpose */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(core_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
