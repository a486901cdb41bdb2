/* Unit tests for the durable log (store/log.h). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "lib/err.h"
#include "lib/log.h"
#include "store/log.h"
#include "store/store_int.h"

/* --- Fixture ----------------------------------------------------------- */

struct fixture {
    char dir[64];
    char path[128];
    struct store_log *log;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    log_set_level(LOG_LEVEL_ERROR);
    snprintf(f->dir, sizeof f->dir, "/tmp/k1s-test-log.XXXXXX");
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

/* --- Helpers ----------------------------------------------------------- */

/* Appends entries lo..hi (inclusive) with data "e<index>t<term>". */
static int append_range(struct store_log *log, uint64_t lo, uint64_t hi,
                        uint64_t term)
{
    struct store_log_entry ents[64];
    char data[64][32];
    size_t n = 0;

    for (uint64_t i = lo; i <= hi; i++, n++) {
        snprintf(data[n], sizeof data[n], "e%llut%llu", (unsigned long long)i,
                 (unsigned long long)term);
        ents[n].index = i;
        ents[n].term = term;
        ents[n].type = STORE_LOG_NORMAL;
        ents[n].data = data[n];
        ents[n].len = strlen(data[n]);
    }
    return store_log_append(log, ents, n, NULL);
}

static void reopen(struct fixture *f)
{
    char err[256];
    store_log_close(f->log);
    f->log = NULL;
    assert_int_equal(store_log_open(f->path, &f->log, err, sizeof err), 0);
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* --- Success ----------------------------------------------------------- */

static void append_and_read_back(void **state)
{
    struct fixture *f = *state;
    struct store_log_entry *ents;
    size_t n;
    uint64_t term;

    assert_int_equal(store_log_first_index(f->log), 1);
    assert_int_equal(store_log_last_index(f->log), 0);
    assert_int_equal(append_range(f->log, 1, 10, 1), 0);
    assert_int_equal(append_range(f->log, 11, 12, 2), 0);
    assert_int_equal(store_log_last_index(f->log), 12);
    assert_int_equal(store_log_read(f->log, 3, 6, 0, &ents, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ents[0].index, 3);
    assert_int_equal(ents[2].index, 5);
    assert_int_equal(ents[0].len, 4);
    assert_memory_equal(ents[0].data, "e3t1", 4);
    store_log_entries_free(ents, n);
    /* max_bytes limits, but at least one entry comes back */
    assert_int_equal(store_log_read(f->log, 1, 13, 1, &ents, &n), 0);
    assert_int_equal(n, 1);
    store_log_entries_free(ents, n);
    assert_int_equal(store_log_term(f->log, 11, &term), 0);
    assert_int_equal(term, 2);
    assert_int_equal(store_log_term(f->log, 13, &term), K1S_ENOTFOUND);
    reopen(f);
    assert_int_equal(store_log_last_index(f->log), 12);
}

static void append_overwrites_a_conflicting_suffix(void **state)
{
    struct fixture *f = *state;
    struct store_log_entry *ents;
    size_t n;
    uint64_t term;

    assert_int_equal(append_range(f->log, 1, 10, 1), 0);
    assert_int_equal(append_range(f->log, 6, 7, 3), 0);
    assert_int_equal(store_log_last_index(f->log), 7);
    assert_int_equal(store_log_term(f->log, 6, &term), 0);
    assert_int_equal(term, 3);
    assert_int_equal(store_log_read(f->log, 1, 100, 0, &ents, &n), 0);
    assert_int_equal(n, 7);
    store_log_entries_free(ents, n);
    assert_int_equal(store_log_truncate_suffix(f->log, 5), 0);
    assert_int_equal(store_log_last_index(f->log), 4);
    reopen(f);
    assert_int_equal(store_log_last_index(f->log), 4);
}

static void hard_state_and_snapshot_meta_persist(void **state)
{
    struct fixture *f = *state;
    struct store_log_hardstate hs = {.term = 7, .vote = 2, .commit = 5}, got;
    struct store_log_snapshot_meta meta = {
        .index = 6, .term = 1, .conf = "abc", .conf_len = 3};
    struct store_log_snapshot_meta m2;
    struct store_log_entry *ents;
    size_t n;
    uint64_t term;

    assert_int_equal(store_log_load_hardstate(f->log, &got), 0);
    assert_int_equal(got.term, 0);
    assert_int_equal(append_range(f->log, 1, 10, 1), 0);
    assert_int_equal(store_log_save_hardstate(f->log, &hs), 0);
    assert_int_equal(store_log_compact(f->log, &meta), 0);
    reopen(f);
    assert_int_equal(store_log_load_hardstate(f->log, &got), 0);
    assert_int_equal(got.term, 7);
    assert_int_equal(got.vote, 2);
    assert_int_equal(got.commit, 5);
    assert_int_equal(store_log_first_index(f->log), 7);
    assert_int_equal(store_log_last_index(f->log), 10);
    assert_int_equal(store_log_load_snapshot_meta(f->log, &m2), 0);
    assert_int_equal(m2.index, 6);
    assert_int_equal(m2.conf_len, 3);
    assert_memory_equal(m2.conf, "abc", 3);
    free((void *)m2.conf);
    assert_int_equal(store_log_term(f->log, 6, &term), 0);
    assert_int_equal(term, 1);
    assert_int_equal(store_log_term(f->log, 5, &term), K1S_EGONE);
    assert_int_equal(store_log_read(f->log, 5, 10, 0, &ents, &n), K1S_EGONE);
    /* compacting past the end empties the log; appends follow on */
    meta.index = 20;
    assert_int_equal(store_log_compact(f->log, &meta), 0);
    assert_int_equal(store_log_last_index(f->log), 20);
    assert_int_equal(append_range(f->log, 21, 21, 1), 0);
}

static void corrupt_entry_truncates_the_tail(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(append_range(f->log, 1, 10, 1), 0);
    store_log_close(f->log);
    f->log = NULL;
    exec_sql(f->path, "UPDATE entries SET data = x'00' WHERE idx = 8");
    reopen(f);
    assert_int_equal(store_log_last_index(f->log), 7);
    assert_int_equal(append_range(f->log, 8, 9, 1), 0);
}

static void gap_truncates_the_tail(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(append_range(f->log, 1, 10, 1), 0);
    store_log_close(f->log);
    f->log = NULL;
    exec_sql(f->path, "DELETE FROM entries WHERE idx = 4");
    reopen(f);
    assert_int_equal(store_log_last_index(f->log), 3);
}

static void crc32c_matches_the_standard_check_value(void **state)
{
    (void)state;
    /* RFC 3720 B.4 / the CRC catalogue: "123456789" -> 0xE3069283 */
    assert_int_equal(store_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(store_crc32c(store_crc32c(0, "1234", 4), "56789", 5),
                     0xE3069283u);
}

/* --- Failure ----------------------------------------------------------- */

static void append_with_a_gap_is_einval(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(append_range(f->log, 2, 3, 1), K1S_EINVAL);
    assert_int_equal(append_range(f->log, 1, 3, 1), 0);
    assert_int_equal(append_range(f->log, 5, 6, 1), K1S_EINVAL);
    assert_int_equal(store_log_last_index(f->log), 3);
}

static void not_a_log_database_is_ecorrupt(void **state)
{
    struct fixture *f = *state;
    struct store_log *log;
    char path[160], err[256];
    int fd;

    snprintf(path, sizeof path, "%s/other.db", f->dir);
    exec_sql(path, "CREATE TABLE foo(x)");
    assert_int_equal(store_log_open(path, &log, err, sizeof err), K1S_ECORRUPT);
    assert_non_null(strstr(err, path));
    unlink(path);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not sqlite, not at all, not even close", 38),
                     38);
    close(fd);
    assert_int_equal(store_log_open(path, &log, err, sizeof err), K1S_ECORRUPT);
    assert_non_null(strstr(err, path));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(append_overwrites_a_conflicting_suffix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(hard_state_and_snapshot_meta_persist,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_entry_truncates_the_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gap_truncates_the_tail, setup,
                                        teardown),
        cmocka_unit_test(crc32c_matches_the_standard_check_value),
        cmocka_unit_test_setup_teardown(append_with_a_gap_is_einval, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(not_a_log_database_is_ecorrupt, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("store_log", tests, NULL, NULL);
}
