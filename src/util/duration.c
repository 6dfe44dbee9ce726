/*
 * duration.c - Go-style duration parsing and formatting (see include/istrigger/util/duration.h).
 *
 * Follows the grammar of Go's time.ParseDuration, including fractions ("1.5h") and sums of
 * units ("1h30m"), with overflow checks: a duration must fit in int64 nanoseconds (~292 years).
 */
#include "istrigger/util/duration.h"

#include "istrigger/util/err.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *name;
    int64_t ns;
};

/* Longest names first so "ms" is not read as "m". */
static const struct unit units[] = {
    {"ns", 1LL},           {"us", 1000LL},      {"\xc2\xb5s", 1000LL}, /* U+00B5 micro */
    {"\xce\xbcs", 1000LL},                                             /* U+03BC mu */
    {"ms", 1000000LL},     {"s", 1000000000LL}, {"m", 60000000000LL},  {"h", 3600000000000LL},
};

static const struct unit *match_unit(const char *p, size_t *len)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(p, units[i].name, n) == 0) {
            *len = n;
            return &units[i];
        }
    }
    return NULL;
}

int duration_parse(const char *s, int64_t *ns)
{
    const char *p = s;
    bool neg = false;
    uint64_t total = 0;
    const uint64_t limit = (uint64_t)INT64_MAX + 1;

    if (!s || !*s)
        return err_set(-EINVAL, "invalid duration \"\": empty");
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*p)
        return err_set(-EINVAL, "invalid duration \"%s\"", s);
    while (*p) {
        uint64_t whole = 0, frac = 0, scale = 1, value;
        bool digits = false;
        const struct unit *u;
        size_t ulen = 0;

        while (*p >= '0' && *p <= '9') {
            if (whole > (UINT64_MAX - 9) / 10)
                return err_set(-ERANGE, "invalid duration \"%s\": out of range", s);
            whole = whole * 10 + (uint64_t)(*p++ - '0');
            digits = true;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                if (scale < 1000000000000000000ULL) {
                    frac = frac * 10 + (uint64_t)(*p - '0');
                    scale *= 10;
                }
                p++;
                digits = true;
            }
        }
        if (!digits)
            return err_set(-EINVAL, "invalid duration \"%s\"", s);
        u = match_unit(p, &ulen);
        if (!u) {
            if (!*p)
                return err_set(-EINVAL, "invalid duration \"%s\": missing unit (e.g. 30s, 5m, 1h)",
                               s);
            return err_set(-EINVAL, "invalid duration \"%s\": unknown unit \"%.*s\"", s,
                           (int)strcspn(p, "0123456789."), p);
        }
        p += ulen;
        if (whole > limit / (uint64_t)u->ns)
            return err_set(-ERANGE, "invalid duration \"%s\": out of range", s);
        value = whole * (uint64_t)u->ns;
        /* frac/scale of a unit: computed in long double to keep precision for "1.5h". */
        value += (uint64_t)((long double)frac * (long double)u->ns / (long double)scale);
        if (value > limit || total > limit - value)
            return err_set(-ERANGE, "invalid duration \"%s\": out of range", s);
        total += value;
    }
    if (total > (uint64_t)INT64_MAX && !neg)
        return err_set(-ERANGE, "invalid duration \"%s\": out of range", s);
    *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
}

/* Append the decimal form of v / 10^prec, with trailing zeros (and a bare '.') removed. */
static int fmt_frac(char *buf, size_t size, uint64_t v, int prec)
{
    assert(prec > 0 && prec <= 9);
    uint64_t div = 1;
    uint64_t whole, frac;
    char fbuf[24];
    int n;

    for (int i = 0; i < prec; i++)
        div *= 10;
    whole = v / div;
    frac = v % div;
    if (!frac)
        return snprintf(buf, size, "%llu", (unsigned long long)whole);
    /* prec is at most 9 (nanoseconds), so the digits always fit. */
    for (n = prec; n > 0; n--) {
        fbuf[n - 1] = (char)('0' + frac % 10);
        frac /= 10;
    }
    fbuf[prec] = '\0';
    n = prec;
    while (n > 0 && fbuf[n - 1] == '0')
        fbuf[--n] = '\0';
    return snprintf(buf, size, "%llu.%s", (unsigned long long)whole, fbuf);
}

char *duration_format(int64_t ns, char *buf, size_t size)
{
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    char num[48];

    if (u == 0) {
        snprintf(buf, size, "0s");
    } else if (u < 1000ULL) {
        snprintf(buf, size, "%s%lluns", sign, (unsigned long long)u);
    } else if (u < 1000000ULL) {
        fmt_frac(num, sizeof(num), u, 3);
        snprintf(buf, size, "%s%s\xc2\xb5s", sign, num);
    } else if (u < 1000000000ULL) {
        fmt_frac(num, sizeof(num), u, 6);
        snprintf(buf, size, "%s%sms", sign, num);
    } else {
        uint64_t secs_ns = u % 60000000000ULL;
        uint64_t mins = u / 60000000000ULL;
        uint64_t hours = mins / 60;

        mins %= 60;
        fmt_frac(num, sizeof(num), secs_ns, 9);
        if (hours)
            snprintf(buf, size, "%s%lluh%llum%ss", sign, (unsigned long long)hours,
                     (unsigned long long)mins, num);
        else if (mins)
            snprintf(buf, size, "%s%llum%ss", sign, (unsigned long long)mins, num);
        else
            snprintf(buf, size, "%s%ss", sign, num);
    }
    return buf;
}
