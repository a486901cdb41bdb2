/*
 * DESIGN: resource.Quantity after k8s.io/apimachinery/pkg/api/resource
 * (quantity.go: parseQuantityString, ParseQuantity, CanonicalizeBytes).
 *
 * Parsing splits sign, integer digits, fraction digits and suffix exactly
 * as parseQuantityString does (so "1.G" and ".5" are accepted, "1K" is a
 * bad suffix, "1 " the wrong shape). The number is then evaluated exactly
 * in 128-bit integers: up to 36 significant digits form a mantissa M (the
 * rest only matter through a "sticky" flag that forces rounding up), and
 * the value in nano units is M * 10^e * 2^k, where e collects the fraction
 * length, the decimal suffix and the +9 to nanos, and k is the binary
 * suffix's power. Division (e < 0) is done by long division with the
 * remainder, so rounding up to 1n is exact. Results above (2^63-1) base
 * units are capped there, as Kubernetes does.
 *
 * Formatting is CanonicalizeBytes: binary SI only for integral values with
 * |v| >= 1024 (otherwise decimal SI); decimal forms strip factors of ten
 * from the mantissa and step the exponent down to a multiple of three.
 */
#include "apiserver/quantity.h"

#include <stdio.h>
#include <string.h>

#include "lib/err.h"

__extension__ typedef unsigned __int128 u128;

#define NANO 1000000000ull
/* (2^63 - 1) * 10^9: the largest magnitude, in nanos */
#define MAX_NANOS ((u128)INT64_MAX * NANO)
#define MAX_MANTISSA_DIGITS 36

static u128 get_nanos(const struct api_quantity *q)
{
    return ((u128)q->nanos_hi << 64) | q->nanos_lo;
}

static void set_nanos(struct api_quantity *q, u128 v)
{
    q->nanos_hi = (uint64_t)(v >> 64);
    q->nanos_lo = (uint64_t)v;
}

static int fail(char *errbuf, size_t errlen, const char *msg)
{
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", msg);
    return K1S_EINVALID;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The suffix's meaning: base 10 or 2, exponent, format. */
static bool interpret_suffix(const char *s, size_t n, int *base, int *exp,
                             enum api_quantity_format *fmt)
{
    static const struct {
        const char *s;
        int base, exp;
    } tab[] = {
        {"", 10, 0},   {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3},
        {"k", 10, 3},  {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12},
        {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
        {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
    };
    long long v = 0;
    size_t i = 1;
    bool neg = false;

    for (size_t t = 0; t < sizeof tab / sizeof tab[0]; t++) {
        if (strlen(tab[t].s) == n && strncmp(tab[t].s, s, n) == 0) {
            *base = tab[t].base;
            *exp = tab[t].exp;
            *fmt = tab[t].base == 2 ? API_QUANTITY_BINARY_SI
                                    : API_QUANTITY_DECIMAL_SI;
            return true;
        }
    }
    /* e<int32> / E<int32>, as strconv.ParseInt(s[1:], 10, 32) */
    if (n < 2 || (s[0] != 'e' && s[0] != 'E'))
        return false;
    if (s[1] == '+' || s[1] == '-') {
        neg = s[1] == '-';
        i = 2;
    }
    if (i >= n)
        return false;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > 2147483648ll)
            return false;
    }
    if (!neg && v > 2147483647ll)
        return false;
    *base = 10;
    *exp = (int)(neg ? -v : v);
    *fmt = API_QUANTITY_DECIMAL_EXPONENT;
    return true;
}

/* x * 10^n, capped (returns false if the result exceeds MAX_NANOS). */
static bool mul_pow10(u128 *x, long long n)
{
    for (long long i = 0; i < n; i++) {
        if (*x > MAX_NANOS / 10)
            return false;
        *x *= 10;
    }
    return true;
}

static bool mul_pow2(u128 *x, int k)
{
    for (int i = 0; i < k; i++) {
        if (*x > MAX_NANOS / 2)
            return false;
        *x *= 2;
    }
    return true;
}

int api_quantity_parse_err(const char *s, struct api_quantity *ret,
                           char *errbuf, size_t errlen)
{
    size_t pos = 0, end, num_start, num_len, den_start = 0, den_len = 0;
    size_t suf_start, suf_len, i;
    bool negative = false, sticky = false, capped = false;
    enum api_quantity_format fmt;
    int base, sexp, digits = 0;
    long long e, dropped = 0;
    u128 m = 0, nanos;

    if (s == NULL || s[0] == '\0')
        return fail(errbuf, errlen, API_QUANTITY_FORMAT_ERR);
    end = strlen(s);
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        pos++;
    }
    while (pos < end && s[pos] == '0')
        pos++;
    num_start = pos;
    while (pos < end && is_digit(s[pos]))
        pos++;
    num_len = pos - num_start;
    if (pos < end && s[pos] == '.') {
        pos++;
        den_start = pos;
        while (pos < end && is_digit(s[pos]))
            pos++;
        den_len = pos - den_start;
    }
    suf_start = pos;
    while (pos < end && strchr("eEinumkKMGTP", s[pos]) != NULL)
        pos++;
    if (pos < end && (s[pos] == '-' || s[pos] == '+'))
        pos++;
    while (pos < end && is_digit(s[pos]))
        pos++;
    if (pos < end)
        return fail(errbuf, errlen, API_QUANTITY_FORMAT_ERR);
    suf_len = end - suf_start;
    if (!interpret_suffix(s + suf_start, suf_len, &base, &sexp, &fmt))
        return fail(errbuf, errlen, "unable to parse quantity's suffix");

    /* mantissa: the significant digits of num.den */
    for (i = 0; i < num_len + den_len; i++) {
        char c = i < num_len ? s[num_start + i] : s[den_start + i - num_len];
        if (digits == 0 && c == '0')
            continue; /* leading zeros of the fraction */
        if (digits < MAX_MANTISSA_DIGITS) {
            m = m * 10 + (u128)(c - '0');
            digits++;
        } else {
            dropped++;
            if (c != '0')
                sticky = true;
        }
    }
    /* value = m * 10^(dropped - den_len) * 10^sexp|2^sexp; in nanos +9 */
    e = dropped - (long long)den_len + 9 + (base == 10 ? sexp : 0);
    nanos = m;
    if (m == 0) {
        nanos = 0;
    } else if (e >= 0) {
        capped =
            !mul_pow10(&nanos, e) || (base == 2 && !mul_pow2(&nanos, sexp));
    } else {
        /* ceil(m * 2^k / 10^d) by long division */
        long long d = -e;
        u128 q, r, div;
        int k = base == 2 ? sexp : 0;

        if (d > 38 + 20) {
            nanos = 1; /* far below 1n: rounds up to the smallest unit */
        } else {
            while (d > 38) { /* bring the divisor within 128 bits */
                if (m % 10 != 0)
                    sticky = true;
                m /= 10;
                d--;
            }
            div = 1;
            for (long long j = 0; j < d; j++)
                div *= 10;
            q = m / div;
            r = m % div;
            for (int j = 0; j < k; j++) { /* q:r = (q:r) * 2 */
                if (q > MAX_NANOS / 2) {
                    capped = true;
                    break;
                }
                q *= 2;
                r *= 2; /* r < div <= 10^38 < 2^127: no overflow */
                if (r >= div) {
                    r -= div;
                    q++;
                }
            }
            nanos = q;
            if (!capped && (r != 0 || sticky))
                nanos++;
        }
    }
    if (capped || nanos > MAX_NANOS)
        nanos = MAX_NANOS;
    ret->negative = negative && nanos != 0;
    set_nanos(ret, nanos);
    ret->format = fmt;
    return 0;
}

int api_quantity_parse(const char *s, struct api_quantity *ret)
{
    return api_quantity_parse_err(s, ret, NULL, 0);
}

/* ceil(nanos / div) with saturation to int64, signed. */
static int64_t scaled(const struct api_quantity *q, u128 div)
{
    u128 n = get_nanos(q);
    u128 v = n / div + (n % div != 0);

    if (v > (u128)INT64_MAX)
        return q->negative ? INT64_MIN : INT64_MAX;
    return q->negative ? -(int64_t)v : (int64_t)v;
}

int64_t api_quantity_milli(const struct api_quantity *q)
{
    return scaled(q, 1000000);
}

int64_t api_quantity_value(const struct api_quantity *q)
{
    return scaled(q, NANO);
}

int api_quantity_cmp(const struct api_quantity *a, const struct api_quantity *b)
{
    u128 x = get_nanos(a), y = get_nanos(b);
    int sa = x == 0 ? 0 : a->negative ? -1 : 1;
    int sb = y == 0 ? 0 : b->negative ? -1 : 1;

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (x == y)
        return 0;
    return ((x < y) == (sa > 0)) ? -1 : 1;
}

/* Decimal digits of v into buf (at least 40 bytes); returns buf. */
static const char *u128_str(u128 v, char *buf)
{
    char tmp[48];
    int n = 0, j = 0;

    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    while (n > 0)
        buf[j++] = tmp[--n];
    buf[j] = '\0';
    return buf;
}

int api_quantity_format(const struct api_quantity *q, char *out, size_t len)
{
    static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    u128 n = get_nanos(q), m;
    enum api_quantity_format fmt = q->format;
    const char *sign = q->negative ? "-" : "";
    char digits[48], suffix[16];
    int exp, w;

    if (n == 0) {
        w = snprintf(out, len, "0");
        return (w < 0 || (size_t)w >= len) ? K1S_EINVAL : w;
    }
    if (fmt == API_QUANTITY_BINARY_SI &&
        (n < (u128)1024 * NANO || n % NANO != 0))
        fmt = API_QUANTITY_DECIMAL_SI;
    if (fmt == API_QUANTITY_BINARY_SI) {
        int p = 0;
        m = n / NANO;
        while (m % 1024 == 0 && p < 6) {
            m /= 1024;
            p++;
        }
        w = snprintf(out, len, "%s%s%s", sign, u128_str(m, digits), bin[p]);
        return (w < 0 || (size_t)w >= len) ? K1S_EINVAL : w;
    }
    /* AsCanonicalBytes: mantissa * 10^exp, exp a multiple of 3 */
    m = n;
    exp = -9;
    while (m % 10 == 0) {
        m /= 10;
        exp++;
    }
    while (exp % 3 != 0) {
        m *= 10; /* at most 100x: stays below 2^100 */
        exp--;
    }
    if (fmt == API_QUANTITY_DECIMAL_EXPONENT) {
        if (exp == 0)
            suffix[0] = '\0';
        else
            snprintf(suffix, sizeof suffix, "e%d", exp);
    } else {
        static const char *const dec[] = {"n", "u", "m", "",  "k",
                                          "M", "G", "T", "P", "E"};
        snprintf(suffix, sizeof suffix, "%s", dec[(exp + 9) / 3]);
    }
    w = snprintf(out, len, "%s%s%s", sign, u128_str(m, digits), suffix);
    return (w < 0 || (size_t)w >= len) ? K1S_EINVAL : w;
}
