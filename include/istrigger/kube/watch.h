/*
 * watch.h - one watch request, and the incremental parser of its event stream.
 *
 * The API server streams one JSON object per line, {"type": T, "object": {...}} with T one
 * of ADDED, MODIFIED, DELETED, BOOKMARK (allowWatchBookmarks: the object carries only
 * metadata.resourceVersion) and ERROR (the object is a Status, e.g. code 410 reason Expired
 * "too old resource version"). Objects can be large and arrive in any number of pieces; the
 * parser buffers bytes until a full line is there.
 *
 * Informers (informer.h) are built on this; most code should use them instead.
 */
#ifndef ISTRIGGER_KUBE_WATCH_H
#define ISTRIGGER_KUBE_WATCH_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "istrigger/kube/client.h"
#include "istrigger/util/strbuf.h"

enum kube_watch_type {
    KUBE_WATCH_ADDED,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_BOOKMARK,
    KUBE_WATCH_ERROR,
};

/* "ADDED", ... Static string. */
const char *kube_watch_type_name(enum kube_watch_type t);

/*
 * Called for each event. `obj` is BORROWED (json_incref it to keep it). Return 0 to go on,
 * or a negative errno to stop the stream (the watch/feed returns that code).
 */
typedef int (*kube_watch_fn)(void *ctx, enum kube_watch_type type, json_t *obj);

/* The incremental parser. Initialise with KUBE_WATCH_PARSER_INIT; free with
 * kube_watch_parser_free. Not thread-safe (one per stream). */
struct kube_watch_parser {
    struct strbuf buf; /* bytes of the line being assembled */
    size_t scanned;    /* bytes of buf already known to hold no newline */
    size_t max_line;   /* refuse lines longer than this (0: 64 MiB) */
    unsigned long events;
};
#define KUBE_WATCH_PARSER_INIT \
    {                          \
        STRBUF_INIT, 0, 0, 0   \
    }

/*
 * Feed `len` bytes (any split). Calls `fn` for each complete event. Returns 0, the callback's
 * negative code, or -EBADMSG for a malformed line (not JSON, no "type"/"object", unknown
 * type) or an oversized one, with err_msg saying which.
 */
int kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len,
                           kube_watch_fn fn, void *ctx);

/* Call at end of stream: a final line without newline is parsed; 0 or as above. */
int kube_watch_parser_finish(struct kube_watch_parser *p, kube_watch_fn fn, void *ctx);

void kube_watch_parser_free(struct kube_watch_parser *p);

struct kube_watch_opts {
    const char *resource_version; /* start after this version; NULL/"" : "most recent" */
    const char *label_selector;
    const char *field_selector;
    int timeout_seconds;    /* server-side timeoutSeconds; 0: none (the server's default) */
    bool allow_bookmarks;   /* allowWatchBookmarks=true */
    const atomic_int *stop; /* optional: the watch ends (returns -ECANCELED) within about a
                             * second after *stop becomes non-zero */
};

/*
 * Open a watch on `res` in `ns` (NULL: all namespaces) and deliver events to `fn` until the
 * server ends the stream (returns 0), `fn` returns an error, the stop flag or
 * kube_client_cancel fires (-ECANCELED), or the transfer fails (negative errno; an HTTP
 * error answer is mapped like the REST verbs, e.g. -ENODATA for 410). ERROR events are
 * delivered to `fn` like the others; the caller decides (informers relist on 410).
 * Blocks the calling thread.
 */
int kube_watch(struct kube_client *c, const struct kube_resource *res, const char *ns,
               const struct kube_watch_opts *opts, kube_watch_fn fn, void *ctx);

/* Map a watch ERROR event's Status object to a negative errno (410 -> -ENODATA, ...) and
 * set err_msg and kube_last_status from it. */
int kube_watch_error_status(const json_t *status);

#endif
