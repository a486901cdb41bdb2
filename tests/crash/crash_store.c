/*
 * crash_store — kill -9 a process writing through the store at random
 * moments, many rounds over the same data directory, and check after each
 * that:
 *
 *  - every acknowledged write is there, at the revision it was
 *    acknowledged with, with its key, type and value;
 *  - nothing unacknowledged is half-applied: every revision since the round
 *    began is exactly one change, and a change that was not acknowledged is
 *    one the child had in flight (intent sent, no answer yet), whole;
 *  - revisions are consistent: the changes since the round began have
 *    consecutive revisions ending at store_revision(), and each key's
 *    current value is its last change.
 *
 * The child runs WRITERS threads; each owns KEYS keys and does creates,
 * updates with a resourceVersion precondition and deletes. It sends an
 * "intent" record before each write and an "ack" record after it returned
 * 0, over a pipe (records are < PIPE_BUF, so each write(2) is atomic). The
 * parent kills it after a random delay (0..MAX_DELAY_MS; this also lands in
 * store_open's replay), reopens the store, reads every change since the
 * round began through a watch (catch-up from history), and checks.
 *
 *   K1S_CRASH_ROUNDS=N (default 30)   K1S_CRASH_SEED=S (default: time)
 *
 * Prints the seed first and "crash_store: N passed, M failed" last.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "store/store.h"

#define WRITERS 4
#define KEYS 8
#define MAX_DELAY_MS 250
#define HISTORY 10000000
#define MAX_RECORDS 2000000

enum { REC_INTENT = 1, REC_ACK = 2, REC_FAIL = 3 };

struct rec {
    uint8_t kind;
    uint8_t op; /* 1 create, 2 update, 3 delete */
    uint8_t thread;
    uint8_t key;
    uint32_t seq;
    int64_t rev; /* ack: the revision; fail: the error */
    uint32_t round;
    uint32_t pad;
};

static unsigned long long rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void key_name(char *buf, size_t len, int t, int k)
{
    snprintf(buf, len, "/crash/t%d/k%d", t, k);
}

static void value_of(char *buf, size_t len, uint32_t round, int t, uint32_t seq)
{
    snprintf(buf, len, "r%u-t%d-s%u", round, t, seq);
}

/* --- child ------------------------------------------------------------- */

struct child {
    struct store *s;
    int fd;
    uint32_t round;
    int t;
};

static void send_rec(int fd, const struct rec *r)
{
    ssize_t n = write(fd, r, sizeof *r);
    if (n != (ssize_t)sizeof *r)
        _exit(3);
}

static void *child_writer(void *arg)
{
    struct child *c = arg;
    int64_t mod[KEYS];
    bool exists[KEYS];
    char key[64], val[64];
    unsigned long long r = (unsigned long long)c->t * 7919 + c->round + 1;

    for (int k = 0; k < KEYS; k++) {
        struct store_kv kv;
        key_name(key, sizeof key, c->t, k);
        int rv = store_get(c->s, key, &kv, NULL);
        exists[k] = rv == 0;
        mod[k] = rv == 0 ? kv.mod_rev : 0;
        if (rv == 0)
            store_kv_clear(&kv);
        else if (rv != K1S_ENOTFOUND)
            _exit(4);
    }
    for (uint32_t seq = 1;; seq++) {
        struct rec rc = {.kind = REC_INTENT,
                         .thread = (uint8_t)c->t,
                         .seq = seq,
                         .round = c->round};
        int k, rv;
        int64_t rev = 0;

        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        k = (int)((r >> 33) % KEYS);
        key_name(key, sizeof key, c->t, k);
        value_of(val, sizeof val, c->round, c->t, seq);
        rc.key = (uint8_t)k;
        if (!exists[k])
            rc.op = 1;
        else if ((r >> 20) % 10 < 7)
            rc.op = 2;
        else
            rc.op = 3;
        send_rec(c->fd, &rc);
        if (rc.op == 1)
            rv = store_create(c->s, key, val, strlen(val), &rev);
        else if (rc.op == 2)
            rv = store_update(c->s, key, val, strlen(val), mod[k], &rev);
        else
            rv = store_delete(c->s, key, mod[k], NULL, &rev);
        if (rv != 0) {
            rc.kind = REC_FAIL;
            rc.rev = rv;
            send_rec(c->fd, &rc);
            _exit(5);
        }
        rc.kind = REC_ACK;
        rc.rev = rev;
        send_rec(c->fd, &rc);
        exists[k] = rc.op != 3;
        mod[k] = rev;
    }
    return NULL;
}

static void child_main(const char *dir, int fd, uint32_t round)
{
    struct store_config cfg = {.dir = dir, .history_revisions = HISTORY};
    struct child c[WRITERS];
    pthread_t th[WRITERS];
    char err[512];
    struct store *s;

    log_set_level(LOG_LEVEL_ERROR);
    if (store_open(&cfg, &s, err, sizeof err) != 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(2);
    }
    for (int t = 0; t < WRITERS; t++) {
        c[t] = (struct child){.s = s, .fd = fd, .round = round, .t = t};
        pthread_create(&th[t], NULL, child_writer, &c[t]);
    }
    for (int t = 0; t < WRITERS; t++)
        pthread_join(th[t], NULL);
    _exit(0);
}

/* --- parent ------------------------------------------------------------ */

struct recs {
    struct rec *v;
    size_t n, cap;
};

static int recs_read(int fd, struct recs *rs, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[sizeof(struct rec) * 256];
    static size_t partial;
    static char pbuf[sizeof(struct rec)];
    int rv = poll(&p, 1, timeout_ms);
    ssize_t n;

    if (rv <= 0)
        return rv; /* timeout (0) or error */
    n = read(fd, buf, sizeof buf);
    if (n <= 0)
        return -1; /* EOF */
    for (ssize_t i = 0; i < n; i++) {
        pbuf[partial++] = buf[i];
        if (partial == sizeof(struct rec)) {
            if (rs->n == rs->cap) {
                rs->cap = rs->cap ? rs->cap * 2 : 1024;
                rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
                if (rs->v == NULL)
                    abort();
            }
            if (rs->n < MAX_RECORDS)
                memcpy(&rs->v[rs->n++], pbuf, sizeof(struct rec));
            partial = 0;
        }
    }
    return 1;
}

/* Runs one child to its death; collects its records. */
static int run_child(const char *dir, uint32_t round, int delay_ms,
                     struct recs *rs, int *ret_status)
{
    int p[2];
    pid_t pid;
    int64_t deadline;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        child_main(dir, p[1], round);
    }
    close(p[1]);
    deadline = clock_mono_ns() + (int64_t)delay_ms * 1000000;
    for (;;) {
        int64_t left = (deadline - clock_mono_ns()) / 1000000;
        if (left <= 0)
            break;
        if (recs_read(p[0], rs, (int)left) < 0)
            break; /* the child died on its own */
    }
    kill(pid, SIGKILL);
    waitpid(pid, ret_status, 0);
    while (recs_read(p[0], rs, 1000) > 0)
        ;
    close(p[0]);
    return 0;
}

struct change {
    int64_t rev;
    int type;
    char key[64];
    char value[64];
    bool matched;
};

static int fail(uint32_t round, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(uint32_t round, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "round %u: FAIL: ", round);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* Checks the store against the records of one round. */
static int check_round(const char *dir, uint32_t round, int64_t rev0,
                       const struct recs *rs, int64_t *ret_rev,
                       size_t *ret_acks)
{
    struct store_config cfg = {.dir = dir, .history_revisions = HISTORY};
    struct store *s;
    struct store_watch *w;
    struct change *ch = NULL;
    size_t nch = 0, acks = 0;
    int64_t cur;
    char err[512], key[64], val[64];
    int rv = 0;
    /* per thread: the last intent without an ack (in flight at the kill) */
    const struct rec *inflight[WRITERS] = {0};

    if (store_open(&cfg, &s, err, sizeof err) != 0)
        return fail(round, "reopen: %s", err);
    cur = store_revision(s);
    if (cur < rev0) {
        rv = fail(round, "revision went back from %lld to %lld",
                  (long long)rev0, (long long)cur);
        goto out;
    }
    ch = calloc((size_t)(cur - rev0) + 1, sizeof *ch);
    if (store_watch(s, "", rev0, NULL, NULL, &w) != 0) {
        rv = fail(round, "watch from %lld failed", (long long)rev0);
        goto out;
    }
    while (nch < (size_t)(cur - rev0)) {
        struct store_event ev[64];
        int n = store_watch_poll(w, ev, 64);
        if (n <= 0) {
            rv = fail(round, "watch poll: %d after %zu of %lld changes", n, nch,
                      (long long)(cur - rev0));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct change *c = &ch[nch++];
            c->rev = ev[i].kv.mod_rev;
            c->type = ev[i].type;
            snprintf(c->key, sizeof c->key, "%s", ev[i].kv.key);
            snprintf(c->value, sizeof c->value, "%s", ev[i].kv.value);
            if (c->rev != rev0 + (int64_t)nch)
                rv = fail(round, "change %zu has revision %lld, want %lld", nch,
                          (long long)c->rev, (long long)(rev0 + nch));
            store_event_clear(&ev[i]);
        }
    }
    store_watch_cancel(w);
    if (rv != 0)
        goto out;

    /* Every ack is there, whole, at its revision. */
    for (size_t i = 0; i < rs->n; i++) {
        const struct rec *r = &rs->v[i];
        if (r->kind == REC_FAIL) {
            rv = fail(round, "child write failed: %s", err_name((int)r->rev));
            goto out;
        }
        if (r->kind == REC_INTENT) {
            inflight[r->thread] = r;
            continue;
        }
        acks++;
        inflight[r->thread] = NULL;
        if (r->rev <= rev0 || r->rev > cur) {
            rv = fail(round,
                      "acknowledged revision %lld missing (store at "
                      "%lld, round began at %lld)",
                      (long long)r->rev, (long long)cur, (long long)rev0);
            goto out;
        }
        struct change *c = &ch[r->rev - rev0 - 1];
        key_name(key, sizeof key, r->thread, r->key);
        value_of(val, sizeof val, round, r->thread, r->seq);
        if (strcmp(c->key, key) != 0 ||
            c->type != (r->op == 3 ? STORE_EVENT_DELETE : STORE_EVENT_PUT) ||
            (r->op != 3 && strcmp(c->value, val) != 0)) {
            rv = fail(round, "acknowledged write at %lld is %s=%s, want %s=%s",
                      (long long)r->rev, c->key, c->value, key, val);
            goto out;
        }
        c->matched = true;
    }
    /* Every other change is a whole in-flight write. */
    for (size_t i = 0; i < nch; i++) {
        struct change *c = &ch[i];
        bool ok = false;
        if (c->matched)
            continue;
        for (int t = 0; t < WRITERS && !ok; t++) {
            const struct rec *r = inflight[t];
            if (r == NULL)
                continue;
            key_name(key, sizeof key, r->thread, r->key);
            value_of(val, sizeof val, round, r->thread, r->seq);
            if (strcmp(c->key, key) == 0 &&
                c->type ==
                    (r->op == 3 ? STORE_EVENT_DELETE : STORE_EVENT_PUT) &&
                (r->op == 3 || strcmp(c->value, val) == 0)) {
                ok = true;
                inflight[t] = NULL;
            }
        }
        if (!ok) {
            rv = fail(round, "change at %lld (%s=%s) was never attempted",
                      (long long)c->rev, c->key, c->value);
            goto out;
        }
    }
    /* Each key's current value is its last change. */
    for (int t = 0; t < WRITERS; t++) {
        for (int k = 0; k < KEYS; k++) {
            struct store_kv kv;
            const struct change *last = NULL;
            int grv;
            key_name(key, sizeof key, t, k);
            for (size_t i = nch; i-- > 0;) {
                if (strcmp(ch[i].key, key) == 0) {
                    last = &ch[i];
                    break;
                }
            }
            grv = store_get(s, key, &kv, NULL);
            if (last == NULL) {
                if (grv == 0) {
                    if (kv.mod_rev > rev0)
                        rv = fail(round, "%s changed at %lld with no event",
                                  key, (long long)kv.mod_rev);
                    store_kv_clear(&kv);
                }
            } else if (last->type == STORE_EVENT_DELETE) {
                if (grv != K1S_ENOTFOUND) {
                    rv = fail(round, "%s deleted at %lld but present", key,
                              (long long)last->rev);
                    if (grv == 0)
                        store_kv_clear(&kv);
                }
            } else if (grv != 0 || kv.mod_rev != last->rev ||
                       strcmp(kv.value, last->value) != 0) {
                rv = fail(round, "%s is not its last change (%lld)", key,
                          (long long)last->rev);
                if (grv == 0)
                    store_kv_clear(&kv);
            } else {
                store_kv_clear(&kv);
            }
        }
    }
out:
    free(ch);
    *ret_rev = store_revision(s);
    *ret_acks = acks;
    store_close(s);
    return rv;
}

int main(void)
{
    const char *e;
    unsigned long long seed;
    int rounds = 30, passed = 0, failed = 0;
    char dir[] = "/tmp/k1s-crash.XXXXXX";
    int64_t rev = 0;
    size_t total_acks = 0;

    e = getenv("K1S_CRASH_SEED");
    seed = e ? strtoull(e, NULL, 10) : (unsigned long long)time(NULL);
    e = getenv("K1S_CRASH_ROUNDS");
    if (e != NULL && atoi(e) > 0)
        rounds = atoi(e);
    rng_state = seed * 2654435761ULL + 1;
    printf("crash_store: seed %llu (replay with K1S_CRASH_SEED=%llu), %d "
           "rounds\n",
           seed, seed, rounds);
    fflush(stdout);
    log_set_level(LOG_LEVEL_ERROR);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    {
        /* One change first: a watch from revision 0 means "from now". */
        struct store_config cfg = {.dir = dir, .history_revisions = HISTORY};
        struct store *s;
        char err[512];
        if (store_open(&cfg, &s, err, sizeof err) != 0 ||
            store_create(s, "/crash/init", "x", 1, &rev) != 0) {
            fprintf(stderr, "set-up: %s\n", err);
            return 1;
        }
        store_close(s);
    }
    for (int round = 1; round <= rounds; round++) {
        struct recs rs = {0};
        int delay = (int)(rng() % (MAX_DELAY_MS + 1));
        int status = 0;
        size_t acks = 0;
        int64_t rev0 = rev;

        if (run_child(dir, (uint32_t)round, delay, &rs, &status) != 0) {
            perror("run_child");
            failed++;
            continue;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            fprintf(stderr, "round %d: child exited %d before the kill\n",
                    round, WEXITSTATUS(status));
        if (check_round(dir, (uint32_t)round, rev0, &rs, &rev, &acks) == 0 &&
            !(WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
            passed++;
        } else {
            failed++;
        }
        total_acks += acks;
        printf("round %d: killed after %d ms, %zu acknowledged, revision "
               "%lld\n",
               round, delay, acks, (long long)rev);
        fflush(stdout);
        free(rs.v);
    }
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    printf("crash_store: %zu acknowledged writes checked, seed %llu\n",
           total_acks, seed);
    printf("crash_store: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
