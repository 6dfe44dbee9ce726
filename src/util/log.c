/*
 * log.c - structured logging (see include/istrigger/util/log.h).
 *
 * The line is built in a local buffer and written with a single fputs under the stream's
 * lock, so concurrent threads produce whole lines.
 */
#include "istrigger/util/log.h"

#include "istrigger/util/err.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int log_min_level = LOG_LEVEL_INFO;
static atomic_int log_fmt = LOG_FORMAT_LOGFMT;
static FILE *_Atomic log_out;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_configure(enum log_level min, enum log_format fmt)
{
    atomic_store(&log_min_level, (int)min);
    atomic_store(&log_fmt, (int)fmt);
}

int log_parse_level(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return err_set(-EINVAL, "invalid log level \"%s\" (want debug, info, warn or error)", s);
}

int log_parse_format(const char *s, enum log_format *out)
{
    if (strcmp(s, "logfmt") == 0 || strcmp(s, "text") == 0)
        *out = LOG_FORMAT_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return err_set(-EINVAL, "invalid log format \"%s\" (want logfmt or json)", s);
    return 0;
}

void log_set_output(FILE *f)
{
    atomic_store(&log_out, f);
}

bool log_enabled(enum log_level lvl)
{
    return (int)lvl >= atomic_load(&log_min_level);
}

/* Append `s` quoted for logfmt or JSON (both escape " \ and control characters). */
static void append_quoted(struct strbuf *sb, const char *s)
{
    strbuf_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            strbuf_puts(sb, "\\\"");
            break;
        case '\\':
            strbuf_puts(sb, "\\\\");
            break;
        case '\n':
            strbuf_puts(sb, "\\n");
            break;
        case '\r':
            strbuf_puts(sb, "\\r");
            break;
        case '\t':
            strbuf_puts(sb, "\\t");
            break;
        default:
            if (*p < 0x20)
                strbuf_printf(sb, "\\u%04x", *p);
            else
                strbuf_putc(sb, (char)*p);
        }
    }
    strbuf_putc(sb, '"');
}

void log_write(enum log_level lvl, const char *object, const char *fmt, ...)
{
    struct strbuf msg = STRBUF_INIT;
    struct strbuf line = STRBUF_INIT;
    char ts[40];
    va_list ap;
    FILE *out;

    if (!log_enabled(lvl))
        return;
    va_start(ap, fmt);
    strbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    time_format_rfc3339(time_real_ns(), ts, sizeof(ts), true);

    if (atomic_load(&log_fmt) == LOG_FORMAT_JSON) {
        strbuf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[lvl]);
        if (object) {
            strbuf_puts(&line, ",\"object\":");
            append_quoted(&line, object);
        }
        strbuf_puts(&line, ",\"msg\":");
        append_quoted(&line, strbuf_str(&msg));
        strbuf_puts(&line, "}\n");
    } else {
        strbuf_printf(&line, "ts=%s level=%s", ts, level_names[lvl]);
        if (object) {
            strbuf_puts(&line, " object=");
            append_quoted(&line, object);
        }
        strbuf_puts(&line, " msg=");
        append_quoted(&line, strbuf_str(&msg));
        strbuf_putc(&line, '\n');
    }
    out = atomic_load(&log_out);
    if (!out)
        out = stderr;
    flockfile(out);
    fputs(strbuf_str(&line), out);
    fflush(out);
    funlockfile(out);
    strbuf_free(&msg);
    strbuf_free(&line);
}
