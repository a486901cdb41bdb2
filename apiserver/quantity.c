/*
 * DESIGN: resource.Quantity after k8s.io/apimachinery/pkg/api/resource
 * (quantity.go: parseQuantityString, ParseQuantity, CanonicalizeBytes),
 * checked against kubectl's own ParseQuantity (`kubectl set resources
 * --local`) on randomly generated quantities.
 *
 * Parsing splits sign, integer digits, fraction digits and suffix exactly
 * as parseQuantityString does (so "1.G" and ".5" are accepted, "1K" is a
 * bad suffix, "1 " the wrong shape). Then, as ParseQuantity:
 *  - the fast path: at most 18 digits and no finer than 1n (binary: a
 *    whole number whose shifted value fits in int64) is exact in int64;
 *    when the digits and exponent are already canonical, Kubernetes keeps
 *    the input string itself, and so do we (q->str);
 *  - otherwise the exact decimal value is rounded up (away from zero) to
 *    1n and, for binary SI only, capped at 2^63-1 base units.
 * The value is mantissa * 10^exp with a 128-bit mantissa of at most 36
 * significant digits; binary suffixes are evaluated in nanos by long
 * division so that rounding is exact.
 *
 * Formatting is CanonicalizeBytes: binary SI only for integral values with
 * |v| >= 1024 (otherwise decimal SI); decimal forms strip factors of ten
 * from the mantissa and step the exponent down to a multiple of three.
 */
#include "apiserver/quantity.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"

__extension__ typedef unsigned __int128 u128;

#define NANO 1000000000ull
/* (2^63 - 1) * 10^9: the binary-SI cap, in nanos */
#define MAX_NANOS ((u128)INT64_MAX * NANO)
#define MAX_MANTISSA_DIGITS 36
#define POW10_36 ((u128)1000000000000000000ull * 1000000000000000000ull)

static u128 get_mant(const struct api_quantity *q)
{
    return ((u128)q->mant_hi << 64) | q->mant_lo;
}

static void set_mant(struct api_quantity *q, u128 v)
{
    q->mant_hi = (uint64_t)(v >> 64);
    q->mant_lo = (uint64_t)v;
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

struct parts {
    const char *num; /* integer digits without leading zeros */
    size_t num_len;
    const char *den; /* fraction digits */
    size_t den_len;
    int base, sexp;
};

/* ParseQuantity's int64 fast path. True if it applies (q filled). */
static bool fast_path(const char *s, const struct parts *p,
                      struct api_quantity *q)
{
    size_t lnum = p->num_len ? p->num_len : 1;
    int precision;
    long long scale = 0;
    uint64_t value = 0;
    char shifted[40];
    size_t n = 0;

    if (p->base == 10) {
        scale = p->sexp;
        precision = 18 - (int)(lnum + p->den_len);
    } else if (p->sexp >= 0 && p->den_len == 0) {
        /* float32(exponent)*3/10, truncated, as Kubernetes computes it */
        precision = 15 - (int)lnum - (p->sexp * 3) / 10 - 1;
    } else {
        precision = -1;
    }
    if (precision < 0)
        return false;
    scale -= (long long)p->den_len;
    if (scale < -9)
        return false;
    if (p->num_len == 0)
        shifted[n++] = '0';
    memcpy(shifted + n, p->num, p->num_len);
    n += p->num_len;
    memcpy(shifted + n, p->den, p->den_len);
    n += p->den_len;
    shifted[n] = '\0';
    for (size_t i = 0; i < n; i++)
        value = value * 10 + (uint64_t)(shifted[i] - '0');
    if (p->base == 2) {
        if (value > ((uint64_t)INT64_MAX >> p->sexp))
            return false; /* int64Multiply overflows: the slow path */
        set_mant(q, (u128)value << p->sexp);
        q->exp = 0;
    } else {
        set_mant(q, value);
        q->exp = scale;
    }
    q->str[0] = '\0';
    /* "if the number is in canonical form, reuse the string" */
    if (p->base == 2 ? (value & 7) != 0
                     : (scale % 3 == 0 &&
                        !(n >= 3 && strcmp(shifted + n - 3, "000") == 0) &&
                        shifted[0] != '0')) {
        if (strlen(s) < sizeof q->str)
            strcpy(q->str, s);
    }
    return true;
}

/* The slow path: the exact value rounded up to 1n, binary SI capped. */
static void slow_path(const struct parts *p, struct api_quantity *q)
{
    bool sticky = false;
    int digits = 0;
    long long dropped = 0, e;
    u128 m = 0;

    for (size_t i = 0; i < p->num_len + p->den_len; i++) {
        char c = i < p->num_len ? p->num[i] : p->den[i - p->num_len];
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
    q->str[0] = '\0';
    if (m == 0) {
        set_mant(q, 0);
        q->exp = 0;
        return;
    }
    if (p->base == 10) {
        /* value = m * 10^e; round up below 10^-9 */
        e = dropped - (long long)p->den_len + p->sexp;
        if (e < -9) {
            long long d = -9 - e;
            if (d > 38) {
                m = 1;
            } else {
                u128 div = 1, r;
                for (long long j = 0; j < d; j++)
                    div *= 10;
                r = m % div;
                m = m / div + (r != 0 || sticky);
            }
            e = -9;
        }
        set_mant(q, m);
        q->exp = e;
        return;
    }
    /* binary: nanos = ceil(m * 10^(dropped - den_len + 9) * 2^sexp),
     * capped at MAX_NANOS */
    {
        long long d = -(dropped - (long long)p->den_len + 9);
        bool capped = false;
        u128 nanos, qq, rr, div;

        if (d <= 0) {
            nanos = m;
            for (long long j = 0; j < -d && !capped; j++) {
                if (nanos > MAX_NANOS / 10)
                    capped = true;
                else
                    nanos *= 10;
            }
            for (int j = 0; j < p->sexp && !capped; j++) {
                if (nanos > MAX_NANOS / 2)
                    capped = true;
                else
                    nanos *= 2;
            }
        } else if (d > 38 + 20) {
            nanos = 1; /* far below 1n */
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
            qq = m / div;
            rr = m % div;
            for (int j = 0; j < p->sexp && !capped; j++) {
                if (qq > MAX_NANOS / 2) {
                    capped = true;
                    break;
                }
                qq *= 2;
                rr *= 2; /* rr < div <= 10^38 < 2^127 */
                if (rr >= div) {
                    rr -= div;
                    qq++;
                }
            }
            nanos = qq + (!capped && (rr != 0 || sticky));
        }
        if (capped || nanos > MAX_NANOS)
            nanos = MAX_NANOS;
        set_mant(q, nanos);
        q->exp = -9;
    }
}

int api_quantity_parse_err(const char *s, struct api_quantity *ret,
                           char *errbuf, size_t errlen)
{
    size_t pos = 0, end, suf_start;
    enum api_quantity_format fmt;
    struct parts p = {"", 0, "", 0, 10, 0};
    bool negative = false;

    if (s == NULL || s[0] == '\0')
        return fail(errbuf, errlen, API_QUANTITY_FORMAT_ERR);
    end = strlen(s);
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        pos++;
    }
    while (pos < end && s[pos] == '0')
        pos++;
    p.num = s + pos;
    while (pos < end && is_digit(s[pos]))
        pos++;
    p.num_len = (size_t)(s + pos - p.num);
    if (pos < end && s[pos] == '.') {
        pos++;
        p.den = s + pos;
        while (pos < end && is_digit(s[pos]))
            pos++;
        p.den_len = (size_t)(s + pos - p.den);
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
    if (!interpret_suffix(s + suf_start, end - suf_start, &p.base, &p.sexp,
                          &fmt))
        return fail(errbuf, errlen, "unable to parse quantity's suffix");

    if (!fast_path(s, &p, ret)) {
        /* inf.Dec.SetString needs at least one digit ("+.e-10" has none;
         * the fast path reads "." as 0) */
        bool any = false;
        for (size_t i = 0; i < suf_start; i++)
            any = any || is_digit(s[i]);
        if (!any)
            return fail(errbuf, errlen,
                        "unable to parse numeric part of quantity");
        slow_path(&p, ret);
    }
    ret->negative = negative && get_mant(ret) != 0;
    ret->format = fmt;
    return 0;
}

int api_quantity_parse(const char *s, struct api_quantity *ret)
{
    return api_quantity_parse_err(s, ret, NULL, 0);
}

/* ceil(mantissa * 10^(exp + shift)), saturated to int64, signed. */
static int64_t scaled(const struct api_quantity *q, int shift)
{
    u128 m = get_mant(q), v;
    long long e = (long long)q->exp + shift;

    if (m == 0)
        return 0;
    if (e >= 0) {
        v = m;
        for (long long i = 0; i < e; i++) {
            if (v > (u128)INT64_MAX) /* already saturated */
                break;
            v *= 10;
        }
    } else if (-e > 38) {
        v = 1;
    } else {
        u128 div = 1;
        for (long long i = 0; i < -e; i++)
            div *= 10;
        v = m / div + (m % div != 0);
    }
    if (v > (u128)INT64_MAX)
        return q->negative ? INT64_MIN : INT64_MAX;
    return q->negative ? -(int64_t)v : (int64_t)v;
}

int64_t api_quantity_milli(const struct api_quantity *q)
{
    return scaled(q, 3);
}

int64_t api_quantity_value(const struct api_quantity *q)
{
    return scaled(q, 0);
}

static int ndigits(u128 v)
{
    int n = 0;
    while (v != 0) {
        v /= 10;
        n++;
    }
    return n;
}

int api_quantity_cmp(const struct api_quantity *a, const struct api_quantity *b)
{
    u128 x = get_mant(a), y = get_mant(b);
    int sa = x == 0 ? 0 : a->negative ? -1 : 1;
    int sb = y == 0 ? 0 : b->negative ? -1 : 1;
    long long ma, mb;
    int mag;

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    /* same sign: compare magnitudes, then flip for negatives */
    ma = ndigits(x) + (long long)a->exp;
    mb = ndigits(y) + (long long)b->exp;
    if (ma != mb) {
        mag = ma < mb ? -1 : 1;
    } else {
        /* same order of magnitude: align the exponents (the difference
         * is at most 37 digits, so the scaled mantissa still fits) */
        long long d = (long long)a->exp - (long long)b->exp;
        for (; d > 0; d--)
            x *= 10;
        for (; d < 0; d++)
            y *= 10;
        mag = x == y ? 0 : x < y ? -1 : 1;
    }
    return sa > 0 ? mag : -mag;
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

static int emit(size_t len, int w)
{
    return (w < 0 || (size_t)w >= len) ? K1S_EINVAL : w;
}

int api_quantity_format(const struct api_quantity *q, char *out, size_t len)
{
    static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    static const char *const dec[] = {"n", "u", "m", "",  "k",
                                      "M", "G", "T", "P", "E"};
    enum api_quantity_format fmt = q->format;
    const char *sign = q->negative ? "-" : "";
    char digits[48], suffix[32];
    u128 m = get_mant(q);
    long long e = q->exp;

    if (q->str[0] != '\0')
        return emit(len, snprintf(out, len, "%s", q->str));
    if (m == 0)
        return emit(len, snprintf(out, len, "0"));
    if (fmt == API_QUANTITY_BINARY_SI) {
        /* integral and at least 1024, else decimal SI (binary values are
         * capped below 2^63, so the integer fits) */
        u128 v = m;
        bool integral = true;
        for (long long i = e; i < 0 && integral; i++) {
            if (v % 10 != 0)
                integral = false;
            v /= 10;
        }
        for (long long i = 0; i < e && v < ((u128)1 << 100); i++)
            v *= 10;
        if (!integral || v < 1024) {
            fmt = API_QUANTITY_DECIMAL_SI;
        } else {
            int p = 0;
            while (v % 1024 == 0 && p < 6) {
                v /= 1024;
                p++;
            }
            return emit(len, snprintf(out, len, "%s%s%s", sign,
                                      u128_str(v, digits), bin[p]));
        }
    }
    /* AsCanonicalBytes: mantissa * 10^e, e a multiple of 3 */
    while (m % 10 == 0) {
        m /= 10;
        e++;
    }
    while (e % 3 != 0) {
        m *= 10; /* at most 100x a 36-digit mantissa: fits */
        e--;
    }
    if (fmt == API_QUANTITY_DECIMAL_EXPONENT || e < -9 || e > 18) {
        if (e == 0)
            suffix[0] = '\0';
        else
            snprintf(suffix, sizeof suffix, "e%lld", e);
    } else {
        snprintf(suffix, sizeof suffix, "%s", dec[(e + 9) / 3]);
    }
    return emit(
        len, snprintf(out, len, "%s%s%s", sign, u128_str(m, digits), suffix));
}
