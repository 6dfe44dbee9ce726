/*
 * log.h - the one logging API of istrigger: structured lines on stderr.
 *
 * Each line carries a timestamp, a level, the object it is about (namespace/name, or a
 * registry reference; may be NULL) and a message:
 *
 *   logfmt: ts=2026-11-22T03:00:00.123Z level=info object=web/app msg="imported tag 1.25"
 *   json:   {"ts":"...","level":"info","object":"web/app","msg":"imported tag 1.25"}
 *
 * Lines are written whole (one write per line), so threads never interleave. Messages must
 * never contain secrets: callers log which credential was used, never its value.
 */
#ifndef ISTRIGGER_UTIL_LOG_H
#define ISTRIGGER_UTIL_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_LOGFMT = 0, LOG_FORMAT_JSON };

/* Set the minimum level and format. Thread-safe; default info/logfmt. */
void log_configure(enum log_level min, enum log_format fmt);

/* Parse "debug|info|warn|error" / "logfmt|json". Return 0, or -EINVAL with err_msg set. */
int log_parse_level(const char *s, enum log_level *out);
int log_parse_format(const char *s, enum log_format *out);

/* Send lines to `f` instead of stderr (tests). NULL restores stderr. Not owned. */
void log_set_output(FILE *f);

bool log_enabled(enum log_level lvl);

void log_write(enum log_level lvl, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(object, ...) log_write(LOG_LEVEL_DEBUG, (object), __VA_ARGS__)
#define log_info(object, ...)  log_write(LOG_LEVEL_INFO, (object), __VA_ARGS__)
#define log_warn(object, ...)  log_write(LOG_LEVEL_WARN, (object), __VA_ARGS__)
#define log_error(object, ...) log_write(LOG_LEVEL_ERROR, (object), __VA_ARGS__)

#endif
