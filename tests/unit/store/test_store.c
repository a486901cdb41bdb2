/* Unit tests for the store (store/store.h): every operation and every
 * failure, restart replay, corruption, full disk, concurrency. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "lib/err.h"
#include "lib/log.h"
#include "store/log.h"
#include "store/store.h"
#include "store/store_int.h"

/* --- Fixture ----------------------------------------------------------- */

struct fixture {
    char dir[64];
    struct store_config cfg;
    struct store *s;
};

static int open_store(struct fixture *f)
{
    char err[512];
    int rv = store_open(&f->cfg, &f->s, err, sizeof err);
    if (rv != 0)
        fprintf(stderr, "store_open: %s\n", err);
    return rv;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    log_set_level(LOG_LEVEL_ERROR);
    snprintf(f->dir, sizeof f->dir, "/tmp/k1s-test-store.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->cfg.dir = f->dir;
    f->cfg.history_revisions = 1000;
    f->cfg.watch_queue_max = 1000;
    if (open_store(f) != 0)
        return -1;
    *state = f;
    return 0;
}

static void rm_dir(const char *dir)
{
    const char *names[] = {"log.db",           "log.db-wal",    "log.db-shm",
                           "state.db",         "state.db-wal",  "state.db-shm",
                           "state.db-journal", "log.db-journal"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    rm_dir(f->dir);
    free(f);
    return 0;
}

static void reopen(struct fixture *f)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f), 0);
}

/* --- Helpers ----------------------------------------------------------- */

static int64_t put(struct store *s, const char *key, const char *val)
{
    int64_t rev = 0;
    assert_int_equal(store_create(s, key, val, strlen(val), &rev), 0);
    return rev;
}

static void assert_value(struct store *s, const char *key, const char *val)
{
    struct store_kv kv;
    assert_int_equal(store_get(s, key, &kv, NULL), 0);
    assert_int_equal(kv.value_len, strlen(val));
    assert_memory_equal(kv.value, val, strlen(val));
    store_kv_clear(&kv);
}

/* Takes exactly `n` events, waiting (bounded) for them. */
static void take(struct store_watch *w, struct store_event *evs, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < 200 && got < n; i++) {
        int rv = store_watch_poll(w, evs + got, n - got);
        assert_true(rv >= 0);
        got += (size_t)rv;
        if (got < n)
            store_watch_wait(w, 50);
    }
    assert_int_equal(got, n);
}

static void clear_events(struct store_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_event_clear(&evs[i]);
}

/* Copies `from` to `to`, dropping the last `chop` bytes (a torn write). */
static void copy_file(const char *dir_from, const char *dir_to,
                      const char *name, size_t chop)
{
    char from[256], to[256];
    static char buf[1 << 20];
    ssize_t n;
    int in, out;

    snprintf(from, sizeof from, "%s/%s", dir_from, name);
    snprintf(to, sizeof to, "%s/%s", dir_to, name);
    in = open(from, O_RDONLY);
    if (in < 0)
        return; /* no WAL at this moment */
    n = read(in, buf, sizeof buf);
    close(in);
    assert_true(n >= 0 && (size_t)n > chop && n < (ssize_t)sizeof buf);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(out >= 0);
    assert_int_equal(write(out, buf, (size_t)n - chop), (ssize_t)n - chop);
    close(out);
}

/* --- Success ----------------------------------------------------------- */

static void create_then_get(void **state)
{
    struct fixture *f = *state;
    struct store_kv kv;
    int64_t rev = 0, rrev = 0;

    assert_int_equal(store_revision(f->s), 0);
    assert_int_equal(store_create(f->s, "/a", "one", 3, &rev), 0);
    assert_int_equal(rev, 1);
    assert_int_equal(store_get(f->s, "/a", &kv, &rrev), 0);
    assert_string_equal(kv.key, "/a");
    assert_string_equal(kv.value, "one");
    assert_int_equal(kv.value_len, 3);
    assert_int_equal(kv.create_rev, 1);
    assert_int_equal(kv.mod_rev, 1);
    assert_int_equal(rrev, 1);
    store_kv_clear(&kv);
    assert_int_equal(store_revision(f->s), 1);
}

static void empty_value_round_trips(void **state)
{
    struct fixture *f = *state;
    struct store_kv kv;

    assert_int_equal(store_create(f->s, "/empty", NULL, 0, NULL), 0);
    assert_int_equal(store_get(f->s, "/empty", &kv, NULL), 0);
    assert_int_equal(kv.value_len, 0);
    assert_string_equal(kv.value, "");
    store_kv_clear(&kv);
}

static void update_with_precondition(void **state)
{
    struct fixture *f = *state;
    struct store_kv kv;
    int64_t r1 = put(f->s, "/x", "v1"), r2 = 0, r3 = 0;

    put(f->s, "/other", "o");
    assert_int_equal(store_update(f->s, "/x", "v2", 2, r1, &r2), 0);
    assert_int_equal(r2, 3);
    assert_int_equal(store_update(f->s, "/x", "v3", 2, 0, &r3), 0);
    assert_int_equal(r3, 4);
    assert_int_equal(store_get(f->s, "/x", &kv, NULL), 0);
    assert_string_equal(kv.value, "v3");
    assert_int_equal(kv.create_rev, r1);
    assert_int_equal(kv.mod_rev, r3);
    store_kv_clear(&kv);
}

static void delete_returns_previous(void **state)
{
    struct fixture *f = *state;
    struct store_kv prev, kv;
    int64_t r1 = put(f->s, "/d", "gone soon"), rd = 0;

    assert_int_equal(store_delete(f->s, "/d", r1, &prev, &rd), 0);
    assert_int_equal(rd, r1 + 1);
    assert_string_equal(prev.key, "/d");
    assert_string_equal(prev.value, "gone soon");
    assert_int_equal(prev.create_rev, r1);
    assert_int_equal(prev.mod_rev, r1);
    store_kv_clear(&prev);
    assert_int_equal(store_get(f->s, "/d", &kv, NULL), K1S_ENOTFOUND);
    /* a deleted key can be created again */
    assert_int_equal(put(f->s, "/d", "back"), rd + 1);
}

static void list_prefix_in_order_with_paging(void **state)
{
    struct fixture *f = *state;
    struct store_list l;
    const char *keys[] = {"/p/c", "/p/a", "/q/a", "/p/b", "/p", "/p/d", "/o/z"};
    char after[64] = "";
    const char *want[] = {"/p/a", "/p/b", "/p/c", "/p/d"};
    size_t seen = 0;
    int64_t rev;

    for (size_t i = 0; i < 7; i++)
        put(f->s, keys[i], keys[i]);
    rev = store_revision(f->s);
    for (int page = 0; page < 10; page++) {
        assert_int_equal(store_list(f->s, "/p/", after, 3, 0, &l), 0);
        assert_int_equal(l.rev, rev);
        for (size_t i = 0; i < l.n; i++) {
            assert_true(seen < 4);
            assert_string_equal(l.items[i].key, want[seen]);
            assert_string_equal(l.items[i].value, want[seen]);
            seen++;
        }
        if (l.n > 0)
            snprintf(after, sizeof after, "%s", l.items[l.n - 1].key);
        assert_int_equal(l.more, seen < 4);
        store_list_free(&l);
        if (seen == 4)
            break;
    }
    assert_int_equal(seen, 4);
    /* all keys, no prefix */
    assert_int_equal(store_list(f->s, "", NULL, 0, 0, &l), 0);
    assert_int_equal(l.n, 7);
    assert_string_equal(l.items[0].key, "/o/z");
    assert_string_equal(l.items[6].key, "/q/a");
    assert_false(l.more);
    store_list_free(&l);
}

struct churn {
    struct store *s;
    int n;
};

static void *churn_main(void *arg)
{
    struct churn *c = arg;
    char key[32], val[32];
    for (int i = 0; i < c->n; i++) {
        snprintf(key, sizeof key, "/k/%03d", i % 40);
        snprintf(val, sizeof val, "churn-%d", i);
        if (i % 3 == 0)
            store_delete(c->s, key, 0, NULL, NULL);
        else if (store_update(c->s, key, val, strlen(val), 0, NULL) ==
                 K1S_ENOTFOUND)
            store_create(c->s, key, val, strlen(val), NULL);
    }
    return NULL;
}

static void list_old_snapshot_while_writes_continue(void **state)
{
    struct fixture *f = *state;
    struct store_list l;
    struct churn c = {f->s, 300};
    pthread_t t;
    char key[32], val[32], after[32] = "";
    size_t seen = 0;
    int64_t rev;

    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "/k/%03d", i);
        snprintf(val, sizeof val, "orig-%d", i);
        put(f->s, key, val);
    }
    rev = store_revision(f->s);
    assert_int_equal(pthread_create(&t, NULL, churn_main, &c), 0);
    for (int page = 0; page < 20 && seen < 40; page++) {
        assert_int_equal(store_list(f->s, "/k/", after, 7, rev, &l), 0);
        assert_int_equal(l.rev, rev);
        for (size_t i = 0; i < l.n; i++) {
            snprintf(key, sizeof key, "/k/%03zu", seen);
            snprintf(val, sizeof val, "orig-%zu", seen);
            assert_string_equal(l.items[i].key, key);
            assert_string_equal(l.items[i].value, val);
            assert_int_equal(l.items[i].mod_rev, (int64_t)seen + 1);
            seen++;
        }
        snprintf(after, sizeof after, "%s", l.items[l.n - 1].key);
        store_list_free(&l);
    }
    pthread_join(t, NULL);
    assert_int_equal(seen, 40);
    /* and once more after all the churn, from the old snapshot */
    assert_true(store_revision(f->s) > rev + 100);
    assert_int_equal(store_list(f->s, "/k/", NULL, 0, rev, &l), 0);
    assert_int_equal(l.n, 40);
    assert_string_equal(l.items[39].value, "orig-39");
    store_list_free(&l);
    /* a snapshot in the middle: /k/000 was deleted by the churn at i=0 */
    assert_int_equal(store_list(f->s, "/k/000", NULL, 0, rev + 1, &l), 0);
    assert_int_equal(l.n, 0);
    store_list_free(&l);
}

static void watch_delivers_changes_in_order(void **state)
{
    struct fixture *f = *state;
    struct store_watch *w;
    struct store_event ev[4];
    int64_t r1 = put(f->s, "/w/a", "a1");

    assert_int_equal(store_watch(f->s, "/w/", 0, NULL, NULL, &w), 0);
    assert_int_equal(store_watch_poll(w, ev, 4), 0);
    assert_int_equal(store_update(f->s, "/w/a", "a2", 2, r1, NULL), 0);
    put(f->s, "/x/other", "not watched");
    put(f->s, "/w/b", "b1");
    assert_int_equal(store_delete(f->s, "/w/a", 0, NULL, NULL), 0);
    take(w, ev, 3);
    assert_int_equal(ev[0].type, STORE_EVENT_PUT);
    assert_string_equal(ev[0].kv.key, "/w/a");
    assert_string_equal(ev[0].kv.value, "a2");
    assert_string_equal(ev[0].prev_value, "a1");
    assert_int_equal(ev[0].kv.create_rev, r1);
    assert_int_equal(ev[0].kv.mod_rev, r1 + 1);
    assert_int_equal(ev[1].type, STORE_EVENT_PUT);
    assert_string_equal(ev[1].kv.key, "/w/b");
    assert_null(ev[1].prev_value);
    assert_int_equal(ev[1].kv.create_rev, ev[1].kv.mod_rev);
    assert_int_equal(ev[2].type, STORE_EVENT_DELETE);
    assert_string_equal(ev[2].kv.key, "/w/a");
    assert_string_equal(ev[2].kv.value, "a2");
    assert_int_equal(ev[2].kv.mod_rev, r1 + 4);
    clear_events(ev, 3);
    assert_int_equal(store_watch_poll(w, ev, 4), 0);
    assert_int_equal(store_watch_wait(w, 10), K1S_ETIMEOUT);
    store_watch_cancel(w);
}

static void watch_from_old_revision_catches_up_then_goes_live(void **state)
{
    struct fixture *f = *state;
    struct store_watch *w;
    struct store_event ev[64];
    char key[32];

    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "/c/%02d", i);
        put(f->s, key, key);
    }
    /* from revision 10: revisions 11..30 from history, then live */
    assert_int_equal(store_watch(f->s, "/c/", 10, NULL, NULL, &w), 0);
    for (int i = 30; i < 40; i++) {
        snprintf(key, sizeof key, "/c/%02d", i);
        put(f->s, key, key);
    }
    take(w, ev, 30);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(ev[i].kv.mod_rev, 11 + i);
        snprintf(key, sizeof key, "/c/%02d", 10 + i);
        assert_string_equal(ev[i].kv.key, key);
    }
    clear_events(ev, 30);
    assert_int_equal(store_watch_poll(w, ev, 64), 0);
    store_watch_cancel(w);
}

struct notified {
    pthread_mutex_t mu;
    int calls;
};

static void notify_cb(struct store_watch *w, void *arg)
{
    struct notified *n = arg;
    (void)w;
    pthread_mutex_lock(&n->mu);
    n->calls++;
    pthread_mutex_unlock(&n->mu);
}

static int notified_calls(struct notified *n)
{
    int c;
    pthread_mutex_lock(&n->mu);
    c = n->calls;
    pthread_mutex_unlock(&n->mu);
    return c;
}

static void watch_notify_callback_runs(void **state)
{
    struct fixture *f = *state;
    struct notified n = {PTHREAD_MUTEX_INITIALIZER, 0};
    struct store_watch *w;
    struct store_event ev[2];

    assert_int_equal(store_watch(f->s, "/n/", 0, notify_cb, &n, &w), 0);
    put(f->s, "/other", "x");
    assert_int_equal(notified_calls(&n), 0);
    put(f->s, "/n/1", "x");
    /* the callback runs before the writer is woken */
    assert_true(notified_calls(&n) >= 1);
    take(w, ev, 1);
    clear_events(ev, 1);
    store_watch_cancel(w);
    put(f->s, "/n/2", "x");
    assert_int_equal(notified_calls(&n), 1);
}

static void restart_keeps_everything(void **state)
{
    struct fixture *f = *state;
    struct store_kv kv;
    int64_t r;

    put(f->s, "/r/a", "1");
    r = put(f->s, "/r/b", "2");
    assert_int_equal(store_update(f->s, "/r/a", "3", 1, 0, NULL), 0);
    assert_int_equal(store_delete(f->s, "/r/b", r, NULL, NULL), 0);
    reopen(f);
    assert_int_equal(store_revision(f->s), 4);
    assert_value(f->s, "/r/a", "3");
    assert_int_equal(store_get(f->s, "/r/b", &kv, NULL), K1S_ENOTFOUND);
    assert_int_equal(store_get(f->s, "/r/a", &kv, NULL), 0);
    assert_int_equal(kv.mod_rev, 3);
    store_kv_clear(&kv);
    assert_int_equal(put(f->s, "/r/c", "5"), 5);
}

/* Appends write commands straight to the log, as if the process died
 * after the append and before the apply. */
static void append_unapplied(const char *dir, const struct store_cmd *cmds,
                             size_t n)
{
    char path[256], err[256];
    struct store_log *log;
    struct store_log_entry ents[8];
    uint8_t bufs[8][256];
    uint64_t last;

    assert_true(n <= 8);
    snprintf(path, sizeof path, "%s/log.db", dir);
    assert_int_equal(store_log_open(path, &log, err, sizeof err), 0);
    last = store_log_last_index(log);
    for (size_t i = 0; i < n; i++) {
        assert_true(store_cmd_size(&cmds[i]) <= sizeof bufs[i]);
        store_cmd_encode(&cmds[i], bufs[i]);
        ents[i].index = last + 1 + i;
        ents[i].term = 1;
        ents[i].type = STORE_LOG_NORMAL;
        ents[i].data = bufs[i];
        ents[i].len = store_cmd_size(&cmds[i]);
    }
    assert_int_equal(store_log_append(log, ents, n, NULL), 0);
    store_log_close(log);
}

static void restart_replays_exactly_the_unapplied_entries(void **state)
{
    struct fixture *f = *state;
    struct store_cmd cmds[3] = {
        {.op = STORE_OP_UPDATE,
         .key = "/u/a",
         .keylen = 4,
         .value = "two",
         .vlen = 3},
        {.op = STORE_OP_CREATE,
         .key = "/u/b",
         .keylen = 4,
         .value = "new",
         .vlen = 3},
        {.op = STORE_OP_CREATE,
         .key = "/u/a",
         .keylen = 4,
         .value = "dup",
         .vlen = 3},
    };
    struct store_kv kv;

    put(f->s, "/u/a", "one");
    store_close(f->s);
    f->s = NULL;
    append_unapplied(f->dir, cmds, 3);
    assert_int_equal(open_store(f), 0);
    /* update + create applied once each; the duplicate create failed at
     * apply time and took no revision */
    assert_int_equal(store_revision(f->s), 3);
    assert_int_equal(store_get(f->s, "/u/a", &kv, NULL), 0);
    assert_string_equal(kv.value, "two");
    assert_int_equal(kv.mod_rev, 2);
    store_kv_clear(&kv);
    assert_value(f->s, "/u/b", "new");
    /* and nothing is replayed twice */
    reopen(f);
    assert_int_equal(store_revision(f->s), 3);
    assert_int_equal(put(f->s, "/u/c", "x"), 4);
}

static void corrupt_log_tail_is_truncated(void **state)
{
    struct fixture *f = *state;
    struct store_cmd cmds[3] = {
        {.op = STORE_OP_CREATE,
         .key = "/t/1",
         .keylen = 4,
         .value = "a",
         .vlen = 1},
        {.op = STORE_OP_CREATE,
         .key = "/t/2",
         .keylen = 4,
         .value = "b",
         .vlen = 1},
        {.op = STORE_OP_CREATE,
         .key = "/t/3",
         .keylen = 4,
         .value = "c",
         .vlen = 1},
    };
    struct store_kv kv;
    sqlite3 *db;
    char path[256];

    put(f->s, "/t/0", "z");
    store_close(f->s);
    f->s = NULL;
    append_unapplied(f->dir, cmds, 3);
    /* flip the data of the second unapplied entry (index 3) */
    snprintf(path, sizeof path, "%s/log.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE entries SET data = "
                                  "substr(data, 1, 10) || x'58' || "
                                  "substr(data, 12) WHERE idx = 3",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(open_store(f), 0);
    assert_value(f->s, "/t/1", "a");
    assert_int_equal(store_get(f->s, "/t/2", &kv, NULL), K1S_ENOTFOUND);
    assert_int_equal(store_get(f->s, "/t/3", &kv, NULL), K1S_ENOTFOUND);
    assert_int_equal(store_revision(f->s), 2);
    /* the log goes on from the last good entry */
    assert_int_equal(put(f->s, "/t/2", "again"), 3);
    reopen(f);
    assert_value(f->s, "/t/2", "again");
}

static void torn_log_tail_is_dropped_and_replay_resumes(void **state)
{
    struct fixture *f = *state;
    char early[128], late[128], key[32];
    struct store_config cfg = f->cfg;
    struct store_kv kv;
    struct store *s2;
    char err[512];

    snprintf(early, sizeof early, "%s/early", f->dir);
    snprintf(late, sizeof late, "%s/late", f->dir);
    assert_int_equal(mkdir(early, 0700), 0);
    assert_int_equal(mkdir(late, 0700), 0);
    for (int i = 1; i <= 15; i++) {
        snprintf(key, sizeof key, "/torn/%02d", i);
        put(f->s, key, key);
        if (i == 10) { /* the state database as of revision 10 */
            copy_file(f->dir, early, "state.db", 0);
            copy_file(f->dir, early, "state.db-wal", 0);
        }
    }
    copy_file(f->dir, late, "state.db", 0);
    copy_file(f->dir, late, "state.db-wal", 0);
    /* the log with its last transaction (entry 15) torn: one write per
     * transaction, so cutting into the last WAL frame drops entry 15 */
    for (int d = 0; d < 2; d++) {
        const char *to = d ? late : early;
        copy_file(f->dir, to, "log.db", 0);
        copy_file(f->dir, to, "log.db-wal", 100);
    }

    /* state behind the log: entries 11..14 replay, 15 is gone */
    cfg.dir = early;
    assert_int_equal(store_open(&cfg, &s2, err, sizeof err), 0);
    assert_int_equal(store_revision(s2), 14);
    assert_value(s2, "/torn/14", "/torn/14");
    assert_int_equal(store_get(s2, "/torn/15", &kv, NULL), K1S_ENOTFOUND);
    assert_int_equal(store_create(s2, "/torn/15", "again", 5, NULL), 0);
    store_close(s2);
    assert_int_equal(store_open(&cfg, &s2, err, sizeof err), 0);
    assert_value(s2, "/torn/15", "again");
    assert_int_equal(store_revision(s2), 15);
    store_close(s2);
    rm_dir(early);

    /* state ahead of the log (it had applied entry 15): the state stands,
     * the log restarts after it */
    cfg.dir = late;
    assert_int_equal(store_open(&cfg, &s2, err, sizeof err), 0);
    assert_int_equal(store_revision(s2), 15);
    assert_value(s2, "/torn/15", "/torn/15");
    assert_int_equal(store_create(s2, "/torn/16", "x", 1, NULL), 0);
    store_close(s2);
    assert_int_equal(store_open(&cfg, &s2, err, sizeof err), 0);
    assert_int_equal(store_revision(s2), 16);
    assert_value(s2, "/torn/16", "x");
    store_close(s2);
    rm_dir(late);
}

static void *concurrent_writer(void *arg)
{
    struct store *s = ((void **)arg)[0];
    int id = (int)(intptr_t)((void **)arg)[1];
    char key[32];

    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "/cw/%d/%d", id, i);
        if (store_create(s, key, key, strlen(key), NULL) != 0)
            return (void *)1;
        /* a counter incremented with compare-and-swap */
        for (int tries = 0; tries < 10000; tries++) {
            struct store_kv kv;
            char val[32];
            int rv;
            assert_int_equal(store_get(s, "/counter", &kv, NULL), 0);
            snprintf(val, sizeof val, "%d", atoi(kv.value) + 1);
            rv =
                store_update(s, "/counter", val, strlen(val), kv.mod_rev, NULL);
            store_kv_clear(&kv);
            if (rv == 0)
                break;
            if (rv != K1S_ECONFLICT)
                return (void *)1;
        }
    }
    return NULL;
}

static void concurrent_writers_lose_nothing(void **state)
{
    struct fixture *f = *state;
    enum { NT = 8 };
    pthread_t t[NT];
    void *args[NT][2];
    struct store_list l;
    int64_t r0 = put(f->s, "/counter", "0");

    for (int i = 0; i < NT; i++) {
        args[i][0] = f->s;
        args[i][1] = (void *)(intptr_t)i;
        assert_int_equal(
            pthread_create(&t[i], NULL, concurrent_writer, args[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    assert_value(f->s, "/counter", "800");
    assert_int_equal(store_list(f->s, "/cw/", NULL, 0, 0, &l), 0);
    assert_int_equal(l.n, NT * 100);
    store_list_free(&l);
    assert_int_equal(store_revision(f->s), r0 + NT * 100 * 2);
}

/* --- Failure ----------------------------------------------------------- */

static void create_existing_is_eexist(void **state)
{
    struct fixture *f = *state;
    int64_t rev = -1;

    put(f->s, "/e", "1");
    assert_int_equal(store_create(f->s, "/e", "2", 1, &rev), K1S_EEXIST);
    assert_int_equal(rev, -1);
    assert_int_equal(store_revision(f->s), 1);
    assert_value(f->s, "/e", "1");
}

static void missing_key_is_enotfound(void **state)
{
    struct fixture *f = *state;
    struct store_kv kv;

    assert_int_equal(store_get(f->s, "/none", &kv, NULL), K1S_ENOTFOUND);
    assert_int_equal(store_update(f->s, "/none", "x", 1, 0, NULL),
                     K1S_ENOTFOUND);
    assert_int_equal(store_delete(f->s, "/none", 0, NULL, NULL), K1S_ENOTFOUND);
    assert_int_equal(store_revision(f->s), 0);
}

static void stale_precondition_is_econflict(void **state)
{
    struct fixture *f = *state;
    int64_t r1 = put(f->s, "/cas", "1");

    assert_int_equal(store_update(f->s, "/cas", "2", 1, r1, NULL), 0);
    assert_int_equal(store_update(f->s, "/cas", "3", 1, r1, NULL),
                     K1S_ECONFLICT);
    assert_int_equal(store_delete(f->s, "/cas", r1, NULL, NULL), K1S_ECONFLICT);
    assert_value(f->s, "/cas", "2");
    assert_int_equal(store_revision(f->s), 2);
}

static void bad_arguments_are_refused(void **state)
{
    struct fixture *f = *state;
    struct store_list l;
    char *big = calloc(1, STORE_MAX_VALUE + 1);
    char *longkey = malloc(STORE_MAX_KEY + 2);

    assert_non_null(big);
    memset(longkey, 'k', STORE_MAX_KEY + 1);
    longkey[STORE_MAX_KEY + 1] = '\0';
    assert_int_equal(store_create(f->s, "", "x", 1, NULL), K1S_EINVAL);
    assert_int_equal(store_create(f->s, longkey, "x", 1, NULL), K1S_EINVAL);
    assert_int_equal(store_create(f->s, "/big", big, STORE_MAX_VALUE + 1, NULL),
                     K1S_ETOOLARGE);
    assert_int_equal(store_list(f->s, "", NULL, 0, 5, &l), K1S_EINVAL);
    assert_int_equal(store_revision(f->s), 0);
    free(big);
    free(longkey);
}

static void compacted_revisions_are_gone(void **state)
{
    struct fixture *f = *state;
    struct store_watch *w;
    struct store_list l;
    char key[32];
    int64_t compact;

    store_close(f->s);
    f->s = NULL;
    f->cfg.history_revisions = 10;
    assert_int_equal(open_store(f), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "/h/%02d", i % 5);
        if (i < 5)
            put(f->s, key, "v");
        else
            assert_int_equal(store_update(f->s, key, key, strlen(key), 0, NULL),
                             0);
    }
    compact = store_compact_revision(f->s);
    /* at least `history` revisions are kept, and old ones are dropped */
    assert_true(compact > 1);
    assert_true(store_revision(f->s) - compact + 1 >= 10);
    assert_int_equal(store_list(f->s, "/h/", NULL, 0, compact - 1, &l),
                     K1S_EGONE);
    assert_int_equal(store_list(f->s, "/h/", NULL, 0, compact, &l), 0);
    assert_int_equal(l.n, 5);
    store_list_free(&l);
    assert_int_equal(store_watch(f->s, "/h/", compact - 2, NULL, NULL, &w),
                     K1S_EGONE);
    assert_int_equal(store_watch(f->s, "/h/", compact - 1, NULL, NULL, &w), 0);
    store_watch_cancel(w);
    /* the window survives a restart */
    reopen(f);
    assert_int_equal(store_compact_revision(f->s), compact);
}

static void slow_watcher_is_cut_off(void **state)
{
    struct fixture *f = *state;
    struct store_watch *w, *w2;
    struct store_event ev[8];
    char key[32];

    store_close(f->s);
    f->s = NULL;
    f->cfg.watch_queue_max = 4;
    assert_int_equal(open_store(f), 0);
    assert_int_equal(store_watch(f->s, "", 0, NULL, NULL, &w), 0);
    assert_int_equal(store_watch(f->s, "", 0, NULL, NULL, &w2), 0);
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/s/%d", i);
        put(f->s, key, "v");
        if (i % 2 == 1) { /* w2 keeps up */
            take(w2, ev, 2);
            clear_events(ev, 2);
        }
    }
    assert_int_equal(store_watch_wait(w, 0), 0);
    assert_int_equal(store_watch_poll(w, ev, 8), K1S_ESLOW);
    assert_int_equal(store_watch_poll(w, ev, 8), K1S_ESLOW);
    assert_int_equal(store_watch_poll(w2, ev, 8), 0);
    store_watch_cancel(w);
    store_watch_cancel(w2);
}

static void corrupt_state_database_names_the_file(void **state)
{
    struct fixture *f = *state;
    struct store *s2;
    char path[256], err[512];
    int fd;

    put(f->s, "/a", "1");
    store_close(f->s);
    f->s = NULL;
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "this is not SQLite at all", 25, 0), 25);
    close(fd);
    err[0] = '\0';
    assert_int_equal(store_open(&f->cfg, &s2, err, sizeof err), K1S_ECORRUPT);
    assert_non_null(strstr(err, path));
    /* a log database in the state's place is refused too */
    unlink(path);
    {
        char lp[256], cmd[600];
        snprintf(lp, sizeof lp, "%s/log.db", f->dir);
        snprintf(cmd, sizeof cmd, "cp %s %s", lp, path);
        assert_int_equal(system(cmd), 0);
    }
    assert_int_equal(store_open(&f->cfg, &s2, err, sizeof err), K1S_ECORRUPT);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a k1s state database"));
}

static void corrupt_log_database_names_the_file(void **state)
{
    struct fixture *f = *state;
    struct store *s2;
    char path[256], err[512];
    int fd;

    store_close(f->s);
    f->s = NULL;
    snprintf(path, sizeof path, "%s/log.db", f->dir);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage garbage garbage garbage", 31), 31);
    close(fd);
    assert_int_equal(store_open(&f->cfg, &s2, err, sizeof err), K1S_ECORRUPT);
    assert_non_null(strstr(err, path));
}

/* Full disk, simulated with SQLite's max_page_count on the log database
 * (store_open_ex's test knob): mount is not available to tests. */
static void full_log_disk_fails_writes_cleanly(void **state)
{
    struct fixture *f = *state;
    struct store_test_config t = {.log_max_pages = 40};
    char err[512], key[32], val[2048];
    int64_t acked = 0;
    int rv = 0, i;

    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open_ex(&f->cfg, &t, &f->s, err, sizeof err), 0);
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "/full/%04d", i);
        rv = store_create(f->s, key, val, strlen(val), NULL);
        if (rv != 0)
            break;
        acked++;
    }
    assert_int_equal(rv, K1S_ENOSPACE);
    assert_true(acked > 0);
    /* reads still work, nothing half-applied */
    assert_int_equal(store_revision(f->s), acked);
    assert_value(f->s, "/full/0000", val);
    reopen(f);
    assert_int_equal(store_revision(f->s), acked);
    snprintf(key, sizeof key, "/full/%04d", i);
    {
        struct store_kv kv;
        assert_int_equal(store_get(f->s, key, &kv, NULL), K1S_ENOTFOUND);
    }
    assert_int_equal(store_create(f->s, key, "x", 1, NULL), 0);
}

static void full_state_disk_refuses_writes_until_reopen(void **state)
{
    struct fixture *f = *state;
    struct store_test_config t = {.state_max_pages = 30};
    char err[512], key[32], val[2048];
    int64_t acked = 0;
    int rv = 0, i;

    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open_ex(&f->cfg, &t, &f->s, err, sizeof err), 0);
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "/sf/%04d", i);
        rv = store_create(f->s, key, val, strlen(val), NULL);
        if (rv != 0)
            break;
        acked++;
    }
    assert_int_equal(rv, K1S_ENOSPACE);
    assert_int_equal(store_create(f->s, "/sf/later", "x", 1, NULL),
                     K1S_ENOSPACE);
    assert_int_equal(store_revision(f->s), acked);
    /* reopened with room, the logged write is replayed: an error meant
     * "outcome unknown", and every acknowledged write is there */
    reopen(f);
    assert_int_equal(store_revision(f->s), acked + 1);
    assert_value(f->s, "/sf/0000", val);
    assert_value(f->s, key, val);
}

struct stopper {
    struct store *s;
    int last_rv;
    int ok;
};

static void *write_until_shutdown(void *arg)
{
    struct stopper *st = arg;
    char key[32];
    for (int i = 0; i < 1000000; i++) {
        snprintf(key, sizeof key, "/stop/%p/%d", (void *)st, i);
        st->last_rv = store_create(st->s, key, "x", 1, NULL);
        if (st->last_rv != 0)
            break;
        st->ok++;
    }
    return NULL;
}

static void close_fails_pending_and_later_calls(void **state)
{
    struct fixture *f = *state;
    struct notified n = {PTHREAD_MUTEX_INITIALIZER, 0};
    struct stopper st[4];
    pthread_t t[4];
    struct store_watch *w;
    struct store_event ev[4];
    struct store_kv kv;
    struct store_list l;
    int total = 0;

    assert_int_equal(store_watch(f->s, "/q/", 0, notify_cb, &n, &w), 0);
    put(f->s, "/q/1", "x");
    put(f->s, "/q/2", "x");
    for (int i = 0; i < 4; i++) {
        st[i].s = f->s;
        st[i].ok = 0;
        st[i].last_rv = 0;
        pthread_create(&t[i], NULL, write_until_shutdown, &st[i]);
    }
    /* wait (bounded) until the writers are under way */
    for (int i = 0; i < 2000 && store_revision(f->s) < 50; i++)
        usleep(1000);
    store_stop(f->s);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(st[i].last_rv, K1S_ESHUTDOWN);
        total += st[i].ok;
    }
    assert_int_equal(store_revision(f->s), 2 + total);
    assert_int_equal(store_create(f->s, "/late", "x", 1, NULL), K1S_ESHUTDOWN);
    assert_int_equal(store_get(f->s, "/q/1", &kv, NULL), K1S_ESHUTDOWN);
    assert_int_equal(store_list(f->s, "", NULL, 0, 0, &l), K1S_ESHUTDOWN);
    /* the watcher: its queued events first, then K1S_ESHUTDOWN */
    assert_int_equal(store_watch_poll(w, ev, 4), 2);
    clear_events(ev, 2);
    assert_int_equal(store_watch_poll(w, ev, 4), K1S_ESHUTDOWN);
    assert_true(notified_calls(&n) >= 3);
    assert_int_equal(store_watch_wait(w, 0), 0);
    store_close(f->s);
    f->s = NULL;
    /* a watcher may be cancelled after the store is closed */
    store_watch_cancel(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_then_get, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_value_round_trips, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(update_with_precondition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(delete_returns_previous, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(list_prefix_in_order_with_paging, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(list_old_snapshot_while_writes_continue,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(watch_delivers_changes_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            watch_from_old_revision_catches_up_then_goes_live, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_notify_callback_runs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(restart_keeps_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            restart_replays_exactly_the_unapplied_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_log_tail_is_truncated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            torn_log_tail_is_dropped_and_replay_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_lose_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(create_existing_is_eexist, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_key_is_enotfound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stale_precondition_is_econflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compacted_revisions_are_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(slow_watcher_is_cut_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(corrupt_state_database_names_the_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_log_database_names_the_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(full_log_disk_fails_writes_cleanly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            full_state_disk_refuses_writes_until_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(close_fails_pending_and_later_calls,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
