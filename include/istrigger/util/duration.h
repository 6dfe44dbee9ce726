/*
 * duration.h - Go-style durations ("30s", "5m", "1h30m", "1.5h", "250ms"), as users write
 * them in `istrigger.io/poll-interval` and in flags.
 */
#ifndef ISTRIGGER_UTIL_DURATION_H
#define ISTRIGGER_UTIL_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse Go's time.ParseDuration syntax: an optional sign, then one or more decimal numbers
 * each with a unit (ns, us, µs, ms, s, m, h); "0" alone is allowed. Returns 0 with the value
 * in nanoseconds, or -EINVAL / -ERANGE with err_msg naming the input. */
int duration_parse(const char *s, int64_t *ns);

/* Format like Go's Duration.String() ("1h30m0s", "2.5s", "250ms", "0s"). Always NUL-terminates;
 * 32 bytes are enough. Returns `buf`. */
char *duration_format(int64_t ns, char *buf, size_t size);

#endif
