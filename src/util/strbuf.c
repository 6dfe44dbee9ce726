/*
 * strbuf.c - growable string buffer (see include/istrigger/util/strbuf.h).
 */
#include "istrigger/util/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int strbuf_reserve(struct strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    size_t cap;
    char *nb;

    if (need <= sb->cap)
        return 0;
    cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    nb = realloc(sb->buf, cap);
    if (!nb)
        return -ENOMEM;
    sb->buf = nb;
    sb->cap = cap;
    return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
    if (strbuf_reserve(sb, len) < 0)
        return -ENOMEM;
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s)
{
    return strbuf_append(sb, s, strlen(s));
}

int strbuf_putc(struct strbuf *sb, char c)
{
    return strbuf_append(sb, &c, 1);
}

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return -EINVAL;
    if (strbuf_reserve(sb, (size_t)n) < 0)
        return -ENOMEM;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
    return r;
}

const char *strbuf_str(const struct strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

void strbuf_consume(struct strbuf *sb, size_t n)
{
    if (n >= sb->len) {
        strbuf_reset(sb);
        return;
    }
    memmove(sb->buf, sb->buf + n, sb->len - n);
    sb->len -= n;
    sb->buf[sb->len] = '\0';
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

void strbuf_free(struct strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

char *strbuf_detach(struct strbuf *sb)
{
    char *s = sb->buf;

    if (!s)
        s = strdup("");
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return s;
}
