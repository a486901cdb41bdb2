#include "lib/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"

static int64_t clock_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
    return clock_read(CLOCK_MONOTONIC);
}

int64_t clock_real_ns(void)
{
    return clock_read(CLOCK_REALTIME);
}

char *clock_rfc3339(int64_t ns, char *out, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

char *clock_rfc3339_micro(int64_t ns, char *out, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    char base[24];
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06ldZ", base, (long)((ns % 1000000000) / 1000));
    return out;
}

static int clock_digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return K1S_EINVAL;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *ret = v;
    return 0;
}

int clock_parse_rfc3339(const char *s, int64_t *ret_ns)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac = 0, scale = 1000000000;
    const char *p = s;
    time_t t;

    memset(&tm, 0, sizeof tm);
    if (clock_digits(&p, 4, &y) || *p++ != '-' || clock_digits(&p, 2, &mo) ||
        *p++ != '-' || clock_digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return K1S_EINVAL;
    p++;
    if (clock_digits(&p, 2, &h) || *p++ != ':' || clock_digits(&p, 2, &mi) ||
        *p++ != ':' || clock_digits(&p, 2, &sec))
        return K1S_EINVAL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return K1S_EINVAL;
        while (isdigit((unsigned char)*p)) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        if (clock_digits(&p, 2, &oh) || *p++ != ':' || clock_digits(&p, 2, &om))
            return K1S_EINVAL;
        oh *= sign;
        om *= sign;
    } else {
        return K1S_EINVAL;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return K1S_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    t -= (time_t)oh * 3600 + (time_t)om * 60;
    *ret_ns = (int64_t)t * 1000000000 + frac;
    return 0;
}
