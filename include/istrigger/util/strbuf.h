/*
 * strbuf.h - a growable, always NUL-terminated byte buffer.
 *
 * The struct owns `buf`; strbuf_free() releases it, strbuf_detach() hands it to the caller.
 * Appends return 0 or -ENOMEM (the buffer is left as it was); an out-of-memory buffer stays
 * usable. `STRBUF_INIT` is a valid empty buffer (strbuf_str() returns "").
 */
#ifndef ISTRIGGER_UTIL_STRBUF_H
#define ISTRIGGER_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
};

#define STRBUF_INIT \
    {               \
        NULL, 0, 0  \
    }

int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_putc(struct strbuf *sb, char c);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
int strbuf_reserve(struct strbuf *sb, size_t extra);

/* The contents, NUL-terminated. Borrowed; valid until the next change. Never NULL. */
const char *strbuf_str(const struct strbuf *sb);

/* Drop the first `n` bytes (consumed input of a stream parser). */
void strbuf_consume(struct strbuf *sb, size_t n);

void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

/* Give the contents to the caller (free() it; never NULL, "" when empty or out of memory)
 * and leave `sb` empty. */
char *strbuf_detach(struct strbuf *sb);

#endif
