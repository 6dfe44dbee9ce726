/*
 * cleanup.h - automatic cleanup for locals (GCC/Clang cleanup attribute), so error paths
 * stay as short as the happy path:
 *
 *     _cleanup_json_ json_t *obj = jsonx_loadb(buf, len, "reply");
 *     _cleanup_free_ char *s = strdup("x");
 *
 * To hand such a value to someone else, use TAKE_PTR(p), which returns it and sets p = NULL.
 */
#ifndef ISTRIGGER_UTIL_CLEANUP_H
#define ISTRIGGER_UTIL_CLEANUP_H

#include <jansson.h>
#include <stdlib.h>

#include "istrigger/util/strbuf.h"

static inline void cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void cleanup_json_decrefp(json_t **p)
{
    json_decref(*p);
}

static inline void cleanup_strbuf_freep(struct strbuf *sb)
{
    strbuf_free(sb);
}

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(cleanup_freep)
#define _cleanup_json_   _cleanup_(cleanup_json_decrefp)
#define _cleanup_strbuf_ _cleanup_(cleanup_strbuf_freep)

#define TAKE_PTR(p)                        \
    ({                                     \
        __typeof__(p) take_ptr_tmp_ = (p); \
        (p) = NULL;                        \
        take_ptr_tmp_;                     \
    })

#endif
