/*
 * timeutil.h - clocks and RFC 3339 timestamps. Times are int64 nanoseconds.
 */
#ifndef ISTRIGGER_UTIL_TIMEUTIL_H
#define ISTRIGGER_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_PER_MS  1000000LL
#define NS_PER_SEC 1000000000LL

/* CLOCK_MONOTONIC, for intervals and deadlines. */
int64_t time_mono_ns(void);
/* CLOCK_REALTIME, for timestamps shown to people and written to the API. */
int64_t time_real_ns(void);

/* Format as UTC "2026-11-22T03:00:00Z" (or with ".123Z" when `millis`). Always NUL-terminates
 * `buf` (size >= 32 is enough). */
void time_format_rfc3339(int64_t real_ns, char *buf, size_t size, bool millis);

/* Parse RFC 3339 ("...Z" or "+hh:mm", optional fraction). 0 or -EINVAL with err_msg set. */
int time_parse_rfc3339(const char *s, int64_t *real_ns);

/* Sleep for `ns` (restarting after signals unless `interruptible`). */
void time_sleep_ns(int64_t ns);

#endif
