/* Unit tests for lib/: the error table, buf, clock. */
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

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"

/* --- Success ------------------------------------------------------------ */

static void err_maps_codes_to_http_and_reason(void **state)
{
    (void)state;
    assert_int_equal(err_http_status(0), 200);
    assert_int_equal(err_http_status(K1S_ENOTFOUND), 404);
    assert_string_equal(err_reason(K1S_ENOTFOUND), "NotFound");
    assert_int_equal(err_http_status(K1S_EEXIST), 409);
    assert_string_equal(err_reason(K1S_EEXIST), "AlreadyExists");
    assert_int_equal(err_http_status(K1S_ECONFLICT), 409);
    assert_string_equal(err_reason(K1S_ECONFLICT), "Conflict");
    assert_int_equal(err_http_status(K1S_EGONE), 410);
    assert_string_equal(err_reason(K1S_EGONE), "Expired");
    assert_int_equal(err_http_status(K1S_EINVALID), 422);
    assert_int_equal(err_http_status(K1S_ETOOLARGE), 413);
    assert_string_equal(err_name(K1S_ESHUTDOWN), "K1S_ESHUTDOWN");
}

static void err_codes_are_distinct(void **state)
{
    static const int codes[] = {
#define K1S_CODE(name, value, http, reason, msg) value,
        K1S_ERR_MAP(K1S_CODE)
#undef K1S_CODE
    };
    size_t n = sizeof codes / sizeof codes[0];
    (void)state;
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void buf_grows_and_steals(void **state)
{
    struct buf b;
    char *s;
    size_t len;
    (void)state;

    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    assert_int_equal(b.data[b.len], '\0');
    s = buf_steal(&b, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    assert_null(b.data);
    free(s);
    s = buf_steal(&b, &len); /* empty buffer gives "" */
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    buf_close(&b);
    buf_close(NULL);
}

static void clock_formats_and_parses_rfc3339(void **state)
{
    char out[32];
    int64_t ns;
    (void)state;

    assert_string_equal(
        clock_rfc3339(1764042505LL * 1000000000, out, sizeof out),
        "2025-11-25T03:48:25Z");
    assert_int_equal(clock_parse_rfc3339("2025-11-25T03:48:25Z", &ns), 0);
    assert_int_equal(ns, 1764042505LL * 1000000000);
    assert_int_equal(clock_parse_rfc3339("2025-11-25T04:48:25.5+01:00", &ns),
                     0);
    assert_int_equal(ns, 1764042505LL * 1000000000 + 500000000);
    clock_rfc3339_micro(1764042505LL * 1000000000 + 123456789, out, sizeof out);
    assert_string_equal(out, "2025-11-25T03:48:25.123456Z");
}

static void log_parses_levels(void **state)
{
    enum log_level l;
    (void)state;
    assert_int_equal(log_parse_level("debug", &l), 0);
    assert_int_equal(l, LOG_LEVEL_DEBUG);
    assert_int_equal(log_parse_level("WARN", &l), 0);
    assert_int_equal(l, LOG_LEVEL_WARN);
}

static void fs_creates_nested_directories(void **state)
{
    char base[] = "/tmp/k1s-test-fs.XXXXXX", path[256], file[256];
    struct stat st;
    (void)state;

    assert_non_null(mkdtemp(base));
    snprintf(path, sizeof path, "%s/a/b/c", base);
    assert_int_equal(fs_mkdir_p(path, 0700), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fs_mkdir_p(path, 0700), 0); /* existing: success */
    snprintf(file, sizeof file, "%s/d/e/file.txt", base);
    assert_int_equal(fs_mkdir_parents(file, 0755), 0);
    snprintf(path, sizeof path, "%s/d/e", base);
    assert_int_equal(stat(path, &st), 0);
    assert_int_not_equal(stat(file, &st), 0); /* the file is not made */
    assert_int_equal(fs_mkdir_p("", 0700), K1S_EINVAL);
    /* a file in the way is an error, not a silent success */
    snprintf(file, sizeof file, "%s/plain", base);
    fclose(fopen(file, "w"));
    snprintf(path, sizeof path, "%s/plain/sub", base);
    assert_true(fs_mkdir_p(path, 0700) < 0);
    snprintf(path, sizeof path, "rm -rf '%s'", base);
    assert_int_equal(system(path), 0);
}

/* --- Failure ------------------------------------------------------------ */

static void clock_rejects_malformed_timestamps(void **state)
{
    int64_t ns;
    (void)state;
    assert_int_equal(clock_parse_rfc3339("", &ns), K1S_EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-11-25", &ns), K1S_EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-13-25T00:00:00Z", &ns),
                     K1S_EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-11-25T00:00:00", &ns),
                     K1S_EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-11-25T00:00:00Zjunk", &ns),
                     K1S_EINVAL);
}

static void err_unknown_code_is_internal(void **state)
{
    (void)state;
    assert_int_equal(err_http_status(-9999), 500);
    assert_string_equal(err_reason(-9999), "InternalError");
    assert_int_equal(log_parse_level("loud", &(enum log_level){0}), K1S_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_maps_codes_to_http_and_reason),
        cmocka_unit_test(err_codes_are_distinct),
        cmocka_unit_test(buf_grows_and_steals),
        cmocka_unit_test(clock_formats_and_parses_rfc3339),
        cmocka_unit_test(log_parses_levels),
        cmocka_unit_test(fs_creates_nested_directories),
        cmocka_unit_test(clock_rejects_malformed_timestamps),
        cmocka_unit_test(err_unknown_code_is_internal),
    };
    return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
