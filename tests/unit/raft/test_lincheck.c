/*
 * Unit tests for the simulation's linearizability checker
 * (tests/sim/lincheck.c): it must accept linearizable register histories,
 * including concurrent and never-returned operations, and reject the
 * classic violations (stale read, read of a value never written, reads
 * that go back in time). Herlihy & Wing 1990, Definition of
 * linearizability; Lowe 2017 for the search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/sim/lincheck.h"

/* --- Helpers ------------------------------------------------------------- */

#define W(k, v, a, b)                                                          \
    {                                                                          \
        (k), true, (v), (a), (b)                                               \
    }
#define R(k, v, a, b)                                                          \
    {                                                                          \
        (k), false, (v), (a), (b)                                              \
    }

static enum lin_result check(const struct lin_op *ops, size_t n)
{
    char why[256];
    return lin_check(ops, n, 100000, why, sizeof why);
}

/* --- Success ---------------------------------------------------------------
 */

static void sequential_history_is_linearizable(void **state)
{
    (void)state;
    struct lin_op h[] = {R(0, 0, 1, 2), W(0, 1, 3, 4), R(0, 1, 5, 6),
                         W(0, 2, 7, 8), R(0, 2, 9, 10)};
    assert_int_equal(check(h, 5), LIN_OK);
}

static void concurrent_read_may_see_either_value(void **state)
{
    (void)state;
    /* The read overlaps the write: old or new value are both fine. */
    struct lin_op a[] = {W(0, 1, 1, 2), W(0, 2, 3, 10), R(0, 1, 4, 5)};
    struct lin_op b[] = {W(0, 1, 1, 2), W(0, 2, 3, 10), R(0, 2, 4, 5)};
    assert_int_equal(check(a, 3), LIN_OK);
    assert_int_equal(check(b, 3), LIN_OK);
}

static void unanswered_write_may_or_may_not_happen(void **state)
{
    (void)state;
    struct lin_op seen[] = {W(0, 1, 1, LIN_NEVER), R(0, 1, 5, 6)};
    struct lin_op unseen[] = {W(0, 1, 1, LIN_NEVER), R(0, 0, 5, 6)};
    assert_int_equal(check(seen, 2), LIN_OK);
    assert_int_equal(check(unseen, 2), LIN_OK);
}

static void keys_are_independent(void **state)
{
    (void)state;
    struct lin_op h[] = {W(0, 1, 1, 2), W(1, 2, 3, 4), R(0, 1, 5, 6),
                         R(1, 2, 5, 6)};
    assert_int_equal(check(h, 4), LIN_OK);
}

/* --- Failure ----------------------------------------------------------------
 */

static void stale_read_is_caught(void **state)
{
    (void)state;
    /* The write of 2 finished before the read started. */
    struct lin_op h[] = {W(0, 1, 1, 2), W(0, 2, 3, 4), R(0, 1, 5, 6)};
    assert_int_equal(check(h, 3), LIN_FAIL);
}

static void read_of_unwritten_value_is_caught(void **state)
{
    (void)state;
    struct lin_op h[] = {W(0, 1, 1, 2), R(0, 7, 3, 4)};
    assert_int_equal(check(h, 2), LIN_FAIL);
}

static void reads_going_back_in_time_are_caught(void **state)
{
    (void)state;
    /* Write of 2 is concurrent with both reads, but once a read returned
     * 2, a later read cannot return 1. */
    struct lin_op h[] = {W(0, 1, 1, 2), W(0, 2, 3, 20), R(0, 2, 4, 5),
                         R(0, 1, 6, 7)};
    assert_int_equal(check(h, 4), LIN_FAIL);
}

static void lost_acknowledged_write_is_caught(void **state)
{
    (void)state;
    /* Acknowledged write, then a later read sees the initial value. */
    struct lin_op h[] = {W(2, 5, 1, 2), R(2, 0, 3, 4)};
    assert_int_equal(check(h, 2), LIN_FAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_history_is_linearizable),
        cmocka_unit_test(concurrent_read_may_see_either_value),
        cmocka_unit_test(unanswered_write_may_or_may_not_happen),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(stale_read_is_caught),
        cmocka_unit_test(read_of_unwritten_value_is_caught),
        cmocka_unit_test(reads_going_back_in_time_are_caught),
        cmocka_unit_test(lost_acknowledged_write_is_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
