/*
 * tests/sim/lincheck.c — see lincheck.h.
 *
 * DESIGN
 * Per key: build call and return events, sort by time (calls before
 * returns at equal times: such ops count as concurrent, the permissive
 * choice), thread them on a doubly-linked list, then run the WGL loop with
 * an explicit stack. The memo is an open-addressing hash set of
 * (bitset of linearized ops, value); it is capped, and so is the step
 * count, so a pathological history yields LIN_UNKNOWN in bounded time.
 */
#include "tests/sim/lincheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ev {
    size_t op; /* index into the key's op array */
    bool call;
    uint64_t t;
    struct ev *prev, *next, *ret; /* ret: the call's return event */
};

struct memo {
    uint64_t *slots; /* words+1 per slot: bitset..., value; all-ones empty */
    size_t cap, used, words;
};

static uint64_t hash_words(const uint64_t *w, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* Returns 1 if added, 0 if present, -1 if full. */
static int memo_add(struct memo *m, const uint64_t *bits, uint64_t value)
{
    size_t stride = m->words + 1;
    if (m->used * 2 >= m->cap)
        return -1;
    uint64_t h = hash_words(bits, m->words) ^ (value * 0x9e3779b97f4a7c15ULL);
    size_t i = (size_t)(h % m->cap);
    for (;;) {
        uint64_t *s = m->slots + i * stride;
        if (s[m->words] == UINT64_MAX && s[0] == UINT64_MAX) {
            memcpy(s, bits, m->words * sizeof *bits);
            s[m->words] = value;
            m->used++;
            return 1;
        }
        if (s[m->words] == value &&
            memcmp(s, bits, m->words * sizeof *bits) == 0)
            return 0;
        i = (i + 1) % m->cap;
    }
}

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->call != y->call)
        return x->call ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op ? 1 : 0;
}

static void lift(struct ev *e)
{
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    if (e->ret) {
        e->ret->prev->next = e->ret->next;
        if (e->ret->next)
            e->ret->next->prev = e->ret->prev;
    }
}

static void unlift(struct ev *e)
{
    if (e->ret) {
        e->ret->prev->next = e->ret;
        if (e->ret->next)
            e->ret->next->prev = e->ret;
    }
    e->prev->next = e;
    if (e->next)
        e->next->prev = e;
}

static enum lin_result check_key(const struct lin_op *ops, size_t n,
                                 size_t max_steps, char *why, size_t why_len)
{
    enum lin_result res = LIN_UNKNOWN;
    size_t words = (n + 63) / 64;
    struct ev *evs = calloc(2 * n + 1, sizeof *evs);
    struct ev **stack = calloc(n + 1, sizeof *stack);
    uint64_t *stack_val = calloc(n + 1, sizeof *stack_val);
    uint64_t *bits = calloc(words, sizeof *bits);
    struct memo memo = {0};
    memo.words = words;
    memo.cap = 1 << 16;
    memo.slots = malloc(memo.cap * (words + 1) * sizeof(uint64_t));
    if (!evs || !stack || !stack_val || !bits || !memo.slots)
        goto out;
    memset(memo.slots, 0xff, memo.cap * (words + 1) * sizeof(uint64_t));

    size_t ne = 0, finite = 0;
    for (size_t i = 0; i < n; i++) {
        evs[ne++] = (struct ev){.op = i, .call = true, .t = ops[i].inv};
        if (ops[i].resp != LIN_NEVER) {
            evs[ne++] = (struct ev){.op = i, .call = false, .t = ops[i].resp};
            finite++;
        }
    }
    qsort(evs, ne, sizeof *evs, ev_cmp);
    /* Link calls to their returns (after sorting, by op). */
    struct ev **ret_of = calloc(n, sizeof *ret_of);
    if (!ret_of)
        goto out;
    for (size_t i = 0; i < ne; i++)
        if (!evs[i].call)
            ret_of[evs[i].op] = &evs[i];
    for (size_t i = 0; i < ne; i++)
        if (evs[i].call)
            evs[i].ret = ret_of[evs[i].op];
    free(ret_of);
    struct ev head = {0};
    struct ev *prev = &head;
    for (size_t i = 0; i < ne; i++) {
        evs[i].prev = prev;
        prev->next = &evs[i];
        prev = &evs[i];
    }
    prev->next = NULL;

    uint64_t state = 0;
    size_t sp = 0, steps = 0;
    struct ev *e = head.next;
    while (finite > 0) {
        if (++steps > max_steps)
            goto out;
        if (e && e->call) {
            const struct lin_op *op = &ops[e->op];
            bool ok = op->write || op->value == state;
            uint64_t next = op->write ? op->value : state;
            if (ok) {
                bits[e->op / 64] |= 1ULL << (e->op % 64);
                int a = memo_add(&memo, bits, next);
                if (a < 0)
                    goto out;
                if (a == 1) {
                    stack[sp] = e;
                    stack_val[sp] = state;
                    sp++;
                    state = next;
                    lift(e);
                    if (e->ret)
                        finite--;
                    e = head.next;
                    continue;
                }
                bits[e->op / 64] &= ~(1ULL << (e->op % 64));
            }
            e = e->next;
            continue;
        }
        /* A return of an op not linearized yet, or the end: backtrack. */
        if (sp == 0) {
            const struct lin_op *op = e ? &ops[e->op] : NULL;
            if (op)
                snprintf(why, why_len,
                         "key %u: no linearization; stuck at %s of %llu "
                         "[%llu, %llu]",
                         op->key, op->write ? "write" : "read",
                         (unsigned long long)op->value,
                         (unsigned long long)op->inv,
                         (unsigned long long)op->resp);
            else
                snprintf(why, why_len, "key %u: no linearization", ops[0].key);
            res = LIN_FAIL;
            goto out;
        }
        sp--;
        struct ev *c = stack[sp];
        state = stack_val[sp];
        bits[c->op / 64] &= ~(1ULL << (c->op % 64));
        unlift(c);
        if (c->ret)
            finite++;
        e = c->next;
    }
    res = LIN_OK;
out:
    free(evs);
    free(stack);
    free(stack_val);
    free(bits);
    free(memo.slots);
    return res;
}

enum lin_result lin_check(const struct lin_op *ops, size_t n,
                          size_t max_steps_per_key, char *why, size_t why_len)
{
    uint32_t max_key = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].key > max_key)
            max_key = ops[i].key;
    struct lin_op *sub = malloc((n ? n : 1) * sizeof *sub);
    if (!sub)
        return LIN_UNKNOWN;
    enum lin_result res = LIN_OK;
    for (uint32_t k = 0; k <= max_key && n > 0; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (ops[i].key == k)
                sub[m++] = ops[i];
        if (m == 0)
            continue;
        enum lin_result r = check_key(sub, m, max_steps_per_key, why, why_len);
        if (r == LIN_FAIL) {
            res = LIN_FAIL;
            break;
        }
        if (r == LIN_UNKNOWN)
            res = LIN_UNKNOWN;
    }
    free(sub);
    return res;
}
