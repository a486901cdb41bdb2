/*
 * tests/sim/lincheck — a linearizability checker for a history of reads and
 * writes of independent registers (a small key-value map).
 *
 * The algorithm is Wing & Gong's search as improved by Lowe (JIT-free WGL,
 * the core of Knossos and Porcupine): walk the history's call/return events
 * in time order, try to linearize each pending call at the current point,
 * memoize (set of linearized ops, register value) pairs already explored,
 * backtrack at a return whose op is not yet linearized. Registers are
 * independent, so each key is checked alone (P-compositionality), and the
 * search per key is bounded in steps and memory: past the bound the answer
 * is LIN_UNKNOWN, never a guess.
 *
 * An op with resp == LIN_NEVER never returned (the client gave up): it may
 * take effect at any point after its call, or never.
 */
#ifndef K1S_TESTS_SIM_LINCHECK_H
#define K1S_TESTS_SIM_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIN_NEVER UINT64_MAX

struct lin_op {
    uint32_t key;
    bool write;
    uint64_t value; /* written, or read (0 = the initial value) */
    uint64_t inv, resp;
};

enum lin_result { LIN_OK = 0, LIN_FAIL = 1, LIN_UNKNOWN = 2 };

/* Checks ops (any order). On LIN_FAIL writes which key and why to why. */
enum lin_result lin_check(const struct lin_op *ops, size_t n,
                          size_t max_steps_per_key, char *why, size_t why_len);

#endif
