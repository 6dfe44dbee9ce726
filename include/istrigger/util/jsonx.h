/*
 * jsonx.h - the one set of JSON helpers over jansson.
 *
 * Kubernetes objects are handled as plain jansson trees. Paths are given as NULL-terminated
 * lists of object keys (keys such as "image.openshift.io/triggers" contain dots and slashes,
 * so there is no path syntax to escape): jsonx_get(obj, "metadata", "annotations", key).
 *
 * Ownership: getters return BORROWED references (valid while the root lives and is not
 * modified); functions named *_new, jsonx_load* and jsonx_dup return NEW references the
 * caller json_decref()s; jsonx_dump returns a malloc'd string the caller free()s; setters
 * STEAL the value they are given.
 */
#ifndef ISTRIGGER_UTIL_JSONX_H
#define ISTRIGGER_UTIL_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Follow object keys from `root`. NULL when any step is missing or not an object. */
json_t *jsonx_getv(const json_t *root, ...);
#define jsonx_get(root, ...) jsonx_getv((root), __VA_ARGS__, (const char *)NULL)

/* String at the path, or NULL when missing or not a string. Borrowed. */
const char *jsonx_strv(const json_t *root, ...);
#define jsonx_str(root, ...) jsonx_strv((root), __VA_ARGS__, (const char *)NULL)

/* Integer at the path, or `dflt` when missing or not an integer. */
long long jsonx_intv(const json_t *root, long long dflt, ...);
#define jsonx_int(root, dflt, ...) jsonx_intv((root), (dflt), __VA_ARGS__, (const char *)NULL)

/* Boolean at the path (JSON true/false only), or `dflt`. */
bool jsonx_boolv(const json_t *root, int dflt, ...); /* int: va_start after a bool is UB */
#define jsonx_bool(root, dflt, ...) jsonx_boolv((root), (dflt), __VA_ARGS__, (const char *)NULL)

/* Set `value` at the path, creating intermediate objects (replacing non-objects on the way).
 * Steals `value` even on failure. 0 or -ENOMEM/-EINVAL. */
int jsonx_setv(json_t *root, json_t *value, ...);
#define jsonx_set(root, value, ...) jsonx_setv((root), (value), __VA_ARGS__, (const char *)NULL)

/* First element of array `arr` that is an object whose string member `key` equals `value`
 * (e.g. the container named "web"). Borrowed, or NULL. Also returns its index if `index`. */
json_t *jsonx_array_find(const json_t *arr, const char *key, const char *value, size_t *index);

/* Parse `len` bytes of JSON. `what` names the input for the error ("watch event from
 * /apis/..."). NEW reference, or NULL with err_msg "parsing WHAT: line L column C: reason". */
json_t *jsonx_loadb(const char *buf, size_t len, const char *what);

/* Compact serialisation with keys in insertion order. malloc'd; free(). NULL on ENOMEM. */
char *jsonx_dump(const json_t *value);

/* Serialise exactly as Go's json.Marshal would (compact, keys in insertion order, Go's string
 * escaping incl. \u003c \u003e \u0026 \u2028 \u2029): for values that Go programs such as
 * `oc` write byte for byte (the image.openshift.io/triggers annotation). Appends to `out`.
 * 0 or -ENOMEM. */
struct strbuf;
int jsonx_dump_go(const json_t *value, struct strbuf *out);

/* Deep copy. NEW reference. */
json_t *jsonx_dup(const json_t *value);

/* True when both are equal JSON values (objects compared by keys, not order). */
bool jsonx_equal(const json_t *a, const json_t *b);

/* A wall-clock time (ns since the epoch) as an RFC 3339 string to the second, as the
 * Kubernetes API writes times. NEW reference, or NULL on ENOMEM. */
json_t *jsonx_time(int64_t real_ns);

#endif
