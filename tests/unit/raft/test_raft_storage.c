/*
 * store/raft with the real SQLite log (store/log.h): the core's ready
 * batches are persisted with store_log_append / store_log_compact exactly
 * as the durability contract in raft.h says, the log is closed, reopened,
 * and a new core is built from store_log_load_hardstate,
 * store_log_load_snapshot_meta and store_log_read — the one log
 * implementation serves both (DESIGN.md "Raft"). Checks that term, vote,
 * commit, the configuration (a CONFIG entry and the snapshot's encoded
 * conf) and every entry survive, and that a restarted core applies only
 * what follows the snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/err.h"
#include "lib/log.h"
#include "store/log.h"
#include "store/raft/raft.h"

/* --- Fixture ------------------------------------------------------------- */

struct fixture {
    char dir[64];
    char path[128];
    struct store_log *log;
    uint64_t applied;
    uint64_t snap_index;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    if (!f)
        return -1;
    log_set_level(LOG_LEVEL_ERROR);
    snprintf(f->dir, sizeof f->dir, "/tmp/k1s-test-raftlog.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/log.db", f->dir);
    if (store_log_open(f->path, &f->log, err, sizeof err) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    store_log_close(f->log);
    unlink(f->path);
    snprintf(p, sizeof p, "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->path);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* --- Helpers ---------------------------------------------------------------
 */

static struct raft_config config(void)
{
    struct raft_config cfg;
    raft_config_default(&cfg, 1);
    cfg.snapshot_threshold = 7;
    return cfg;
}

static void save_snapshot(struct fixture *f, const struct raft_snapshot_meta *m)
{
    uint8_t conf[RAFT_CONF_MAX_ENCODED];
    struct store_log_snapshot_meta sm = {m->index, m->term, conf, 0};
    sm.conf_len = raft_conf_encode(&m->conf, conf);
    assert_int_equal(store_log_compact(f->log, &sm), 0);
    f->snap_index = m->index;
}

/* Builds a core from what the log holds (a driver's restart). */
static struct raft *load(struct fixture *f)
{
    struct store_log_hardstate hs;
    struct store_log_snapshot_meta sm;
    struct raft_snapshot_meta meta;
    assert_int_equal(store_log_load_hardstate(f->log, &hs), 0);
    assert_int_equal(store_log_load_snapshot_meta(f->log, &sm), 0);
    memset(&meta, 0, sizeof meta);
    meta.index = sm.index;
    meta.term = sm.term;
    assert_int_equal(raft_conf_decode(sm.conf, sm.conf_len, &meta.conf), 0);
    free((void *)sm.conf);
    struct store_log_entry *ents = NULL;
    size_t n = 0;
    uint64_t first = store_log_first_index(f->log);
    uint64_t last = store_log_last_index(f->log);
    if (last >= first)
        assert_int_equal(store_log_read(f->log, first, last + 1, 0, &ents, &n),
                         0);
    struct raft_config cfg = config();
    struct raft *r;
    struct raft_hardstate rhs = {hs.term, hs.vote, hs.commit};
    /* The state machine here keeps nothing: it restarts at the snapshot. */
    assert_int_equal(raft_create(&cfg, &rhs, &meta, "s", 1,
                                 (const struct raft_entry *)ents, n, meta.index,
                                 &r),
                     0);
    store_log_entries_free(ents, n);
    f->applied = meta.index;
    f->snap_index = meta.index;
    return r;
}

/* One ready, performed in the order raft.h prescribes. */
static void cycle(struct fixture *f, struct raft *r)
{
    struct raft_ready rd;
    raft_ready(r, &rd);
    if (rd.snapshot) {
        save_snapshot(f, rd.snapshot);
        if (rd.snap_log_reset)
            assert_int_equal(
                store_log_truncate_suffix(f->log, rd.snapshot->index + 1), 0);
    }
    struct store_log_hardstate hs = {rd.hs.term, rd.hs.vote, rd.hs.commit};
    assert_int_equal(
        store_log_append(f->log, (const struct store_log_entry *)rd.entries,
                         rd.n_entries, rd.hs_changed ? &hs : NULL),
        0);
    for (size_t i = 0; i < rd.n_msgs; i++) /* only the (absent) learner */
        assert_int_equal(rd.msgs[i].to, 2);
    for (size_t i = 0; i < rd.n_committed; i++) {
        assert_int_equal(rd.committed[i].index, f->applied + 1);
        f->applied = rd.committed[i].index;
    }
    raft_advance(r);
    if (rd.snapshot_due) {
        struct raft_snapshot_meta m;
        assert_int_equal(raft_snapshot_taken(r, f->applied, "state", 5, &m), 0);
        save_snapshot(f, &m);
    }
}

static void settle(struct fixture *f, struct raft *r)
{
    for (int i = 0; i < 100 && raft_has_ready(r); i++)
        cycle(f, r);
    assert_false(raft_has_ready(r));
}

/* --- Success
 * ------------------------------------------------------------------ */

static void core_state_survives_a_restart_through_the_sqlite_log(void **state)
{
    struct fixture *f = *state;
    struct raft_snapshot_meta boot;
    memset(&boot, 0, sizeof boot);
    boot.conf.voters[boot.conf.n_voters++] = 1;
    save_snapshot(f, &boot); /* bootstrap configuration at index 0 */

    struct raft *r = load(f);
    for (int i = 0; i < 40 && raft_role(r) != RAFT_LEADER; i++) {
        raft_tick(r);
        settle(f, r);
    }
    assert_int_equal(raft_role(r), RAFT_LEADER);
    for (int i = 0; i < 10; i++)
        assert_int_equal(raft_propose(r, "entry", 5, NULL, NULL), 0);
    settle(f, r);
    uint64_t conf_idx;
    assert_int_equal(raft_change_membership(r, RAFT_ADD_LEARNER, 2, &conf_idx),
                     0);
    settle(f, r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(raft_propose(r, "more", 4, NULL, NULL), 0);
    settle(f, r);
    uint64_t term = raft_term(r), last = raft_last_index(r);
    uint64_t commit = raft_commit_index(r);
    uint64_t last_term = raft_entry_at(r, last)->term;
    assert_int_equal(commit, last);
    assert_true(f->snap_index > 0); /* a snapshot was taken and stored */
    assert_int_equal(store_log_first_index(f->log), f->snap_index + 1);
    raft_destroy(r);

    /* Restart: close and reopen the database, rebuild the core. */
    char err[256];
    store_log_close(f->log);
    assert_int_equal(store_log_open(f->path, &f->log, err, sizeof err), 0);
    r = load(f);
    assert_int_equal(raft_term(r), term);
    assert_int_equal(raft_commit_index(r), commit);
    assert_int_equal(raft_last_index(r), last);
    assert_int_equal(raft_entry_at(r, last)->term, last_term);
    assert_true(raft_conf_is_learner(raft_conf(r), 2));
    assert_true(raft_conf_is_voter(raft_conf(r), 1));
    /* It re-applies exactly what follows the snapshot. */
    uint64_t snap = f->snap_index;
    struct raft_ready rd;
    raft_ready(r, &rd);
    assert_int_equal(rd.n_committed, commit - snap);
    if (rd.n_committed)
        assert_int_equal(rd.committed[0].index, snap + 1);
    f->applied = commit;
    raft_advance(r);
    /* And it leads again, in a higher term, and keeps committing. */
    for (int i = 0; i < 40 && raft_role(r) != RAFT_LEADER; i++) {
        raft_tick(r);
        settle(f, r);
    }
    assert_int_equal(raft_role(r), RAFT_LEADER);
    assert_true(raft_term(r) > term);
    uint64_t idx;
    assert_int_equal(raft_propose(r, "after", 5, &idx, NULL), 0);
    settle(f, r);
    assert_int_equal(raft_commit_index(r), idx);
    assert_int_equal(store_log_last_index(f->log), idx);
    raft_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            core_state_survives_a_restart_through_the_sqlite_log, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
