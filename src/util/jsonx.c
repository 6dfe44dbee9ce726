/*
 * jsonx.c - JSON helpers over jansson (see include/istrigger/util/jsonx.h).
 */
#include "istrigger/util/jsonx.h"

#include "istrigger/util/err.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static json_t *get_va(const json_t *root, va_list ap)
{
    const json_t *cur = root;
    const char *key;

    while ((key = va_arg(ap, const char *)) != NULL) {
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_get(cur, key);
        if (!cur)
            return NULL;
    }
    return (json_t *)cur;
}

json_t *jsonx_getv(const json_t *root, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, root);
    v = get_va(root, ap);
    va_end(ap);
    return v;
}

const char *jsonx_strv(const json_t *root, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, root);
    v = get_va(root, ap);
    va_end(ap);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jsonx_intv(const json_t *root, long long dflt, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, dflt);
    v = get_va(root, ap);
    va_end(ap);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

bool jsonx_boolv(const json_t *root, int dflt, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, dflt);
    v = get_va(root, ap);
    va_end(ap);
    return json_is_boolean(v) ? json_is_true(v) : dflt != 0;
}

int jsonx_setv(json_t *root, json_t *value, ...)
{
    va_list ap;
    json_t *cur = root;
    const char *key, *next;

    if (!value)
        return -ENOMEM;
    if (!json_is_object(root)) {
        json_decref(value);
        return err_set(-EINVAL, "setting a JSON path on a non-object");
    }
    va_start(ap, value);
    key = va_arg(ap, const char *);
    while (key && (next = va_arg(ap, const char *)) != NULL) {
        json_t *child = json_object_get(cur, key);
        if (!json_is_object(child)) {
            child = json_object();
            if (!child || json_object_set_new(cur, key, child) < 0) {
                va_end(ap);
                json_decref(value);
                return -ENOMEM;
            }
        }
        cur = child;
        key = next;
    }
    va_end(ap);
    if (!key) {
        json_decref(value);
        return err_set(-EINVAL, "empty JSON path");
    }
    return json_object_set_new(cur, key, value) < 0 ? -ENOMEM : 0;
}

json_t *jsonx_array_find(const json_t *arr, const char *key, const char *value, size_t *index)
{
    size_t i;
    json_t *el;

    if (!json_is_array(arr))
        return NULL;
    json_array_foreach (arr, i, el) {
        const char *s = jsonx_str(el, key);
        if (s && strcmp(s, value) == 0) {
            if (index)
                *index = i;
            return el;
        }
    }
    return NULL;
}

json_t *jsonx_loadb(const char *buf, size_t len, const char *what)
{
    json_error_t jerr;
    json_t *v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    if (!v)
        err_set(-EBADMSG, "parsing %s: line %d column %d: %s", what, jerr.line, jerr.column,
                jerr.text);
    return v;
}

char *jsonx_dump(const json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

json_t *jsonx_dup(const json_t *value)
{
    return json_deep_copy(value);
}

bool jsonx_equal(const json_t *a, const json_t *b)
{
    return json_equal(a, b) == 1;
}

/*
 * Go encoding/json string rules (encodeState.string with escapeHTML, as json.Marshal uses):
 * '"' and '\\' escaped; \b \f \n \r \t short forms (Go 1.22+); other bytes < 0x20 as \u00xx
 * with lower-case hex; '<', '>', '&' as \u003c \u003e \u0026; U+2028 and U+2029 as \u2028
 * and \u2029. '/' and DEL are written as is. jansson strings are valid UTF-8 already.
 */
static int dump_go_string(struct strbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int r = strbuf_putc(out, '"');

    for (size_t i = 0; r == 0 && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            r = strbuf_puts(out, "\\\"");
            break;
        case '\\':
            r = strbuf_puts(out, "\\\\");
            break;
        case '\b':
            r = strbuf_puts(out, "\\b");
            break;
        case '\f':
            r = strbuf_puts(out, "\\f");
            break;
        case '\n':
            r = strbuf_puts(out, "\\n");
            break;
        case '\r':
            r = strbuf_puts(out, "\\r");
            break;
        case '\t':
            r = strbuf_puts(out, "\\t");
            break;
        case '<':
        case '>':
        case '&':
            r = strbuf_printf(out, "\\u00%c%c", hex[c >> 4], hex[c & 0xf]);
            break;
        default:
            if (c < 0x20) {
                r = strbuf_printf(out, "\\u00%c%c", hex[c >> 4], hex[c & 0xf]);
            } else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                       ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
                r = strbuf_puts(out, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
                i += 2;
            } else {
                r = strbuf_putc(out, (char)c);
            }
        }
    }
    return r ? r : strbuf_putc(out, '"');
}

int jsonx_dump_go(const json_t *value, struct strbuf *out)
{
    const char *key;
    json_t *child;
    size_t i;
    int r = 0;

    switch (json_typeof(value)) {
    case JSON_OBJECT:
        r = strbuf_putc(out, '{');
        i = 0;
        json_object_foreach ((json_t *)value, key, child) {
            if (r == 0 && i++ > 0)
                r = strbuf_putc(out, ',');
            if (r == 0)
                r = dump_go_string(out, key, strlen(key));
            if (r == 0)
                r = strbuf_putc(out, ':');
            if (r == 0)
                r = jsonx_dump_go(child, out);
        }
        return r ? r : strbuf_putc(out, '}');
    case JSON_ARRAY:
        r = strbuf_putc(out, '[');
        json_array_foreach (value, i, child) {
            if (r == 0 && i > 0)
                r = strbuf_putc(out, ',');
            if (r == 0)
                r = jsonx_dump_go(child, out);
        }
        return r ? r : strbuf_putc(out, ']');
    case JSON_STRING:
        return dump_go_string(out, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        return strbuf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    case JSON_REAL: {
        char *s = json_dumps(value, JSON_ENCODE_ANY);
        if (!s)
            return -ENOMEM;
        r = strbuf_puts(out, s);
        free(s);
        return r;
    }
    case JSON_TRUE:
        return strbuf_puts(out, "true");
    case JSON_FALSE:
        return strbuf_puts(out, "false");
    case JSON_NULL:
        return strbuf_puts(out, "null");
    }
    return -EINVAL;
}

json_t *jsonx_time(int64_t real_ns)
{
    char buf[40];
    time_format_rfc3339(real_ns, buf, sizeof(buf), false);
    return json_string(buf);
}
