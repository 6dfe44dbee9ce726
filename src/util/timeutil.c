/*
 * timeutil.c - clocks and RFC 3339 timestamps (see include/istrigger/util/timeutil.h).
 */
#include "istrigger/util/timeutil.h"

#include "istrigger/util/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t time_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t time_real_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

void time_format_rfc3339(int64_t real_ns, char *buf, size_t size, bool millis)
{
    time_t secs = (time_t)(real_ns / NS_PER_SEC);
    struct tm tm;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis)
        snprintf(buf + n, size - n, ".%03dZ", (int)((real_ns % NS_PER_SEC) / NS_PER_MS));
    else
        snprintf(buf + n, size - n, "Z");
}

int time_parse_rfc3339(const char *s, int64_t *real_ns)
{
    struct tm tm = {0};
    const char *p;
    int64_t frac = 0, scale = NS_PER_SEC;
    int offset = 0;

    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        goto bad;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            goto bad;
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
        int hh, mm;
        if (strlen(p) != 6 || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
            p[3] != ':' || !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
            goto bad;
        hh = (p[1] - '0') * 10 + (p[2] - '0');
        mm = (p[4] - '0') * 10 + (p[5] - '0');
        offset = (hh * 60 + mm) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        goto bad;
    }
    if (*p)
        goto bad;
    /* int64 nanoseconds cover 1678..2262; years outside are rejected, not wrapped. */
    {
        int64_t secs = (int64_t)timegm(&tm) - offset, ns;
        if (__builtin_mul_overflow(secs, NS_PER_SEC, &ns) ||
            __builtin_add_overflow(ns, frac, real_ns))
            goto bad;
    }
    return 0;
bad:
    return err_set(-EINVAL, "invalid RFC 3339 time \"%s\"", s);
}

void time_sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / NS_PER_SEC, .tv_nsec = ns % NS_PER_SEC};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
