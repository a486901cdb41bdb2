/*
 * DESIGN: resource quantities (k8s.io/apimachinery resource.Quantity) as
 * the scheduler needs them: milli-CPU and bytes, rounded up. This parser
 * lives here rather than using apiserver/quantity.h because a module
 * includes only other modules' public headers, and rather than in lib/
 * because lib/ knows nothing of Kubernetes. It needs no canonical form,
 * only a value: mantissa (at most 18 significant digits kept), decimal
 * exponent (e/E or n u m k M G T P E) and binary exponent (Ki .. Ei), in
 * 128-bit arithmetic, saturating.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "lib/err.h"
#include "scheduler/sched_int.h"

__extension__ typedef __int128 i128;

#define I128_CAP ((i128)1 << 100)

static int suffix(const char *s, int *dexp, int *bexp)
{
    static const struct {
        const char *s;
        int d, b;
    } tab[] = {
        {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},
        {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},   {"T", 12, 0},
        {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
        {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(s, tab[i].s) == 0) {
            *dexp = tab[i].d;
            *bexp = tab[i].b;
            return 0;
        }
    }
    if ((s[0] == 'e' || s[0] == 'E') && s[1]) {
        const char *p = s + 1;
        int sign = 1, v = 0;
        if (*p == '+' || *p == '-')
            sign = *p++ == '-' ? -1 : 1;
        if (!*p)
            return K1S_EINVALID;
        for (; *p; p++) {
            if (!isdigit((unsigned char)*p) || v > 1000)
                return K1S_EINVALID;
            v = v * 10 + (*p - '0');
        }
        *dexp = sign * v;
        *bexp = 0;
        return 0;
    }
    return K1S_EINVALID;
}

int sched_quantity(const char *s, int64_t scale, int64_t *ret)
{
    i128 mant = 0, num, den = 1;
    int digits = 0, frac = 0, dexp, bexp, dropped = 0;
    bool neg = false, seen_dot = false, any = false;
    const char *p = s;

    if (s == NULL)
        return K1S_EINVALID;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    for (; *p; p++) {
        if (*p == '.' && !seen_dot) {
            seen_dot = true;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        any = true;
        if (digits < 18) {
            if (mant != 0 || *p != '0')
                digits++;
            mant = mant * 10 + (*p - '0');
            if (seen_dot)
                frac++;
        } else if (!seen_dot) {
            dropped++; /* integer digit beyond precision: x10 */
        }
    }
    if (!any || suffix(p, &dexp, &bexp) != 0)
        return K1S_EINVALID;
    dexp += dropped - frac;
    num = mant * scale;
    for (; dexp > 0; dexp--) {
        if (num > I128_CAP)
            break;
        num *= 10;
    }
    for (; dexp < 0; dexp++) {
        if (den > I128_CAP)
            break;
        den *= 10;
    }
    if (dexp > 0 || (num > I128_CAP >> bexp)) {
        *ret = neg ? INT64_MIN : INT64_MAX;
        return 0;
    }
    num <<= bexp;
    num = (num + den - 1) / den; /* rounds up, as Quantity.Value/MilliValue */
    if (num > INT64_MAX)
        num = INT64_MAX;
    *ret = neg ? -(int64_t)num : (int64_t)num;
    return 0;
}
