/* Unit tests for apiserver/quantity.c: parsing, exact values, rounding,
 * capping and the canonical strings Kubernetes produces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "apiserver/quantity.h"
#include "lib/err.h"

/* --- Helpers ------------------------------------------------------------ */

static void canon(const char *in, const char *want)
{
    struct api_quantity q;
    char out[64], err[128] = "";
    int rv = api_quantity_parse_err(in, &q, err, sizeof err);

    if (rv != 0)
        fail_msg("parse '%s': %d %s", in, rv, err);
    assert_true(api_quantity_format(&q, out, sizeof out) > 0);
    if (strcmp(out, want) != 0)
        fail_msg("'%s' formats as '%s', want '%s'", in, out, want);
    /* the canonical form is a fixed point */
    assert_int_equal(api_quantity_parse(out, &q), 0);
    assert_true(api_quantity_format(&q, out, sizeof out) > 0);
    if (strcmp(out, want) != 0)
        fail_msg("'%s' reformats as '%s'", want, out);
}

static void values(const char *in, int64_t milli, int64_t value)
{
    struct api_quantity q;

    if (api_quantity_parse(in, &q) != 0)
        fail_msg("parse '%s' failed", in);
    if (api_quantity_milli(&q) != milli)
        fail_msg("'%s' milli %lld, want %lld", in,
                 (long long)api_quantity_milli(&q), (long long)milli);
    if (api_quantity_value(&q) != value)
        fail_msg("'%s' value %lld, want %lld", in,
                 (long long)api_quantity_value(&q), (long long)value);
}

static void bad(const char *in, const char *msg)
{
    struct api_quantity q;
    char err[256] = "";

    if (api_quantity_parse_err(in, &q, err, sizeof err) != K1S_EINVALID)
        fail_msg("'%s' should not parse", in);
    if (strstr(err, msg) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", in, err, msg);
}

/* --- Success ------------------------------------------------------------ */

static void canonical_decimal_si(void **state)
{
    (void)state;
    canon("0", "0");
    canon("0.0", "0");
    canon("-0", "0");
    canon("0.5", "500m");
    canon(".5", "500m");
    canon("1000m", "1");
    canon("1", "1");
    canon("100m", "100m");
    canon("1.5", "1500m");
    canon("1.5k", "1500");
    canon("1000", "1k");
    canon("1000000", "1M");
    canon("1000k", "1M");
    canon("1G", "1G");
    canon("128974848", "128974848");
    canon("129e6", "129e6");
    canon("129M", "129M");
    canon("0.1m", "100u");
    canon("1n", "1n");
    canon("1u", "1u");
    canon("1080m", "1080m");
    canon("1.08", "1080m");
    canon("9E", "9E");
    canon("-250m", "-250m");
    canon("+5", "5");
    canon("007", "7");
    canon("1.G", "1G");
}

static void canonical_binary_si(void **state)
{
    (void)state;
    canon("1Gi", "1Gi");
    canon("1024Mi", "1Gi");
    canon("1536Mi", "1536Mi");
    canon("64Mi", "64Mi");
    canon("6Ki", "6Ki");
    canon("1025Ki", "1025Ki");
    canon("1Ti", "1Ti");
    canon("1.5Gi", "1536Mi");
    canon("0.5Ki", "512"); /* below 1024: decimal */
    canon("1Ki", "1Ki");   /* exactly 1024 stays binary */
    canon("0.5Mi", "512Ki");
    canon("1.5Ki", "1536");    /* 1536 has no whole Ki power of 1024 */
    canon("0.3Ki", "307200m"); /* not integral: decimal SI */
    canon("1Ei", "1Ei");
    /* integral but not a whole power of 1024: digits without suffix (the
     * canonical form is then not a fixed point, exactly as in Kubernetes:
     * "832000" reparses as decimal SI and prints "832k") */
    {
        struct api_quantity q;
        char out[64];
        assert_int_equal(api_quantity_parse("812.5Ki", &q), 0);
        assert_true(api_quantity_format(&q, out, sizeof out) > 0);
        assert_string_equal(out, "832000");
        assert_int_equal(api_quantity_value(&q), 832000);
    }
}

static void canonical_decimal_exponent(void **state)
{
    (void)state;
    /* Kubernetes keeps the exponent form: 1e3 prints as 1e3 */
    canon("1e3", "1e3");
    canon("1E3", "1e3");
    canon("1e-3", "1e-3");
    canon("1.1E-1", "110e-3");
    canon("1e0", "1");
    canon("10e2", "1e3");
    canon("1e+3", "1e3");
}

static void exact_values_and_rounding(void **state)
{
    (void)state;
    values("1", 1000, 1);
    values("100m", 100, 1); /* Value rounds up */
    values("1.2", 1200, 2);
    values("0.5", 500, 1);
    values("1Gi", 1073741824000ll, 1073741824ll);
    values("1Mi", 1048576000ll, 1048576ll);
    values("2.5Gi", 2684354560000ll, 2684354560ll);
    values("1n", 1, 1);    /* MilliValue rounds up */
    values("-1n", -1, -1); /* away from zero */
    values("-1.5", -1500, -2);
    values("1e3", 1000000, 1000);
    values("1.5e-3", 2, 1);
    values("250m", 250, 1);
    /* finer than 1n rounds up to 1n */
    canon("0.0000000001", "1n");
    canon("1.0000000001", "1000000001n");
    canon("0.1n", "1n");
    /* more digits than the mantissa keeps: the tail still rounds up */
    canon("1.0000000000000000000000000000000000000000001", "1000000001n");
    canon("0.00000000000000000000000000000000000000000000000000001", "1n");
}

static void huge_values_are_capped(void **state)
{
    struct api_quantity q;
    char out[64];
    (void)state;
    /* capped at 2^63-1 base units, as Kubernetes caps */
    assert_int_equal(api_quantity_parse("100E", &q), 0);
    assert_true(api_quantity_format(&q, out, sizeof out) > 0);
    assert_string_equal(out, "9223372036854775807");
    assert_int_equal(api_quantity_value(&q), INT64_MAX);
    assert_int_equal(api_quantity_milli(&q), INT64_MAX);
    assert_int_equal(api_quantity_parse("-16Ei", &q), 0);
    assert_int_equal(api_quantity_value(&q), -INT64_MAX);
    assert_int_equal(api_quantity_milli(&q), INT64_MIN);
    assert_int_equal(api_quantity_parse("1e2147483647", &q), 0);
    assert_int_equal(api_quantity_value(&q), INT64_MAX);
    assert_int_equal(
        api_quantity_parse("99999999999999999999999999999999999999999999", &q),
        0);
    assert_int_equal(api_quantity_value(&q), INT64_MAX);
    assert_int_equal(api_quantity_parse("8Ei", &q), 0); /* 2^63: capped */
    assert_int_equal(api_quantity_value(&q), INT64_MAX);
    assert_int_equal(api_quantity_parse("1e-2147483648", &q), 0);
    assert_int_equal(api_quantity_milli(&q), 1);
}

static void comparison(void **state)
{
    struct api_quantity a, b;
    (void)state;
    assert_int_equal(api_quantity_parse("1Gi", &a), 0);
    assert_int_equal(api_quantity_parse("1073741824", &b), 0);
    assert_int_equal(api_quantity_cmp(&a, &b), 0);
    assert_int_equal(api_quantity_parse("500m", &a), 0);
    assert_int_equal(api_quantity_parse("0.6", &b), 0);
    assert_int_equal(api_quantity_cmp(&a, &b), -1);
    assert_int_equal(api_quantity_cmp(&b, &a), 1);
    assert_int_equal(api_quantity_parse("-1", &a), 0);
    assert_int_equal(api_quantity_cmp(&a, &b), -1);
    assert_int_equal(api_quantity_parse("-2", &b), 0);
    assert_int_equal(api_quantity_cmp(&a, &b), 1);
}

/* --- Failure ------------------------------------------------------------ */

static void malformed_quantities(void **state)
{
    char small[4];
    struct api_quantity q;
    (void)state;
    bad("", "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    bad("1 ", "quantities must match");
    bad("abc", "quantities must match");
    bad("1.5.5", "quantities must match");
    bad("1Gb", "quantities must match");
    bad("--1", "unable to parse quantity's suffix"); /* as k8s */
    bad("1K", "unable to parse quantity's suffix");
    bad("1Kii", "unable to parse quantity's suffix");
    bad("1e", "unable to parse quantity's suffix");
    bad("1e99999999999", "unable to parse quantity's suffix");
    bad("1mm", "unable to parse quantity's suffix");
    assert_int_equal(api_quantity_parse(NULL, &q), K1S_EINVALID);
    assert_int_equal(api_quantity_parse("1536Mi", &q), 0);
    assert_int_equal(api_quantity_format(&q, small, sizeof small), K1S_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_decimal_si),
        cmocka_unit_test(canonical_binary_si),
        cmocka_unit_test(canonical_decimal_exponent),
        cmocka_unit_test(exact_values_and_rounding),
        cmocka_unit_test(huge_values_are_capped),
        cmocka_unit_test(comparison),
        cmocka_unit_test(malformed_quantities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
