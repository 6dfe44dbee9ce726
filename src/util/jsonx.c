/*
 * jsonx.c - JSON helpers over jansson (see include/istrigger/util/jsonx.h).
 */
#include "istrigger/util/jsonx.h"

#include "istrigger/util/err.h"

#include <stdarg.h>
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

bool jsonx_boolv(const json_t *root, bool dflt, ...)
{
    va_list ap;
    json_t *v;

    va_start(ap, dflt);
    v = get_va(root, ap);
    va_end(ap);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
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
