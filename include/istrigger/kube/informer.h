/*
 * informer.h - client-go's reflector + indexer + shared informer, in C.
 *
 * An informer keeps a local, thread-safe cache of every object of one resource in a set of
 * namespaces (one namespace, a list of them, or all), and tells handlers what changed:
 *
 *   reflector thread (one per watched namespace, or one for all namespaces):
 *     list (paginated with limit/continue) -> replace the cache (adds, updates, deletes for
 *     what changed while we were away; an object whose resourceVersion did not change gets
 *     no event) -> watch from the list's resourceVersion with
 *     bookmarks -> apply each event -> when the server ends the watch, watch again from the
 *     last resourceVersion seen -> on 410 Gone/Expired, list again.
 *     Failures back off exponentially (capped, with jitter); nothing busy-loops while the
 *     server is down.
 *   resync thread (when resync_ns > 0): every resync period, on_update(obj, obj) for every
 *     cached object, so level-based controllers re-check everything now and then.
 *
 * Cached objects are IMMUTABLE: the cache holds one reference; readers get a NEW reference
 * (json_decref when done) and must never modify it (jsonx_dup first). Keys are
 * "namespace/name" (or "name" for cluster-scoped resources).
 *
 * Handlers run on the reflector/resync threads, one at a time per informer (a handler lock
 * serialises them), after the cache has been updated and with no cache lock held, so they
 * may read the cache. They must be quick: enqueue a key into a workqueue and return.
 */
#ifndef ISTRIGGER_KUBE_INFORMER_H
#define ISTRIGGER_KUBE_INFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "istrigger/kube/client.h"
#include "istrigger/kube/resources.h"

struct kube_informer;

/* Handlers; any may be NULL. `old` is NULL for add; for delete `obj` is the last state
 * known (the final object from the watch, or the cached one when a relist found it gone).
 * Both are BORROWED for the duration of the call. */
struct kube_event_handlers {
    void (*on_add)(void *ctx, const json_t *old, const json_t *obj);
    void (*on_update)(void *ctx, const json_t *old, const json_t *obj);
    void (*on_delete)(void *ctx, const json_t *old, const json_t *obj);
    void *ctx;
};

struct kube_informer_opts {
    const char *label_selector; /* copied */
    const char *field_selector; /* copied */
    /* Namespaces to watch, NULL-terminated, copied; overrides the `ns` argument of
     * kube_informer_new. NULL (and ns NULL): all namespaces. */
    const char *const *namespaces;
    int64_t resync_ns;       /* 0: no periodic resync */
    long page_size;          /* list page size; 0: 500; <0: no pagination */
    int watch_timeout_s;     /* timeoutSeconds of each watch; 0: random in [300, 600) */
    int64_t backoff_base_ns; /* first retry delay after a failure; 0: 800ms */
    int64_t backoff_max_ns;  /* cap; 0: 30s */
    const char *name;        /* for logs; NULL: the resource name */
    /* Cached objects lose metadata.managedFields (server-side apply bookkeeping, often larger
     * than the object, unused by controllers), as client-go users do with a transform.
     * Set to keep them. */
    bool keep_managed_fields;
};

/*
 * Create an informer for `res` in namespace `ns` (NULL: all namespaces, or opts->namespaces).
 * Nothing runs until kube_informer_start. NEW informer in *out (kube_informer_free).
 * `c` and `res` are borrowed and must outlive the informer.
 */
int kube_informer_new(struct kube_client *c, const struct kube_resource *res, const char *ns,
                      const struct kube_informer_opts *opts, struct kube_informer **out);

/* Register handlers (copied) before kube_informer_start. Up to 16 sets. 0 or -ENOSPC. */
int kube_informer_add_handlers(struct kube_informer *inf, const struct kube_event_handlers *h);

/*
 * A secondary index: `fn` calls emit(e, value) for each index value of obj (any number,
 * possibly none; values are copied). Register before kube_informer_start. `name` is copied.
 * 0, -EEXIST (name taken), -ENOSPC (more than 8 indexes).
 */
typedef int (*kube_index_fn)(const json_t *obj, void (*emit)(void *e, const char *value), void *e);
int kube_informer_add_index(struct kube_informer *inf, const char *name, kube_index_fn fn);

/* Start the reflector (and resync) threads. 0 or -errno (thread creation). */
int kube_informer_start(struct kube_informer *inf);

/* True once every reflector has finished its first full list and the cache holds it. */
bool kube_informer_has_synced(struct kube_informer *inf);

/* -errno of the last failed list (e.g. -ENOENT: the resource is not served, its CRD is not
 * installed), or 0 when the last list succeeded or none has finished yet. */
int kube_informer_list_error(struct kube_informer *inf);

/* Block until synced, stopped, or `timeout_ns` (<0: forever). 0, -ETIMEDOUT, -ECANCELED. */
int kube_informer_wait_synced(struct kube_informer *inf, int64_t timeout_ns);

/* Stop and join the threads (returns within ~1s; in-flight requests are abandoned). The
 * cache stays readable. Idempotent. */
void kube_informer_stop(struct kube_informer *inf);

/* Stop if needed and free everything. NULL is fine. */
void kube_informer_free(struct kube_informer *inf);

/* --- cache reads (thread-safe, any time after new) --- */

/* The cached object ("ns" ignored for cluster-scoped resources). NEW reference, or NULL. */
json_t *kube_cache_get(struct kube_informer *inf, const char *ns, const char *name);

/* The cached object by key "ns/name". NEW reference, or NULL. */
json_t *kube_cache_get_by_key(struct kube_informer *inf, const char *key);

/* All cached objects (of namespace `ns`, or all when NULL) as a NEW array (json_decref);
 * elements are shared, immutable. 0 or -ENOMEM. Order unspecified. */
int kube_cache_list(struct kube_informer *inf, const char *ns, json_t **array_out);

/* Objects whose index `index` emitted `value`, as a NEW array. 0, -ENOENT (no such index),
 * -ENOMEM. */
int kube_cache_by_index(struct kube_informer *inf, const char *index, const char *value,
                        json_t **array_out);

/* Number of cached objects. */
size_t kube_cache_len(struct kube_informer *inf);

/* The cache key of an object: "ns/name" or "name". malloc'd (free), NULL on ENOMEM or when
 * the object has no metadata.name. */
char *kube_object_key(const json_t *obj);

/* Split a key into namespace (NULL for cluster-scoped keys) and name, both malloc'd. 0 or
 * -EINVAL/-ENOMEM. */
int kube_key_split(const char *key, char **ns_out, char **name_out);

/* Statistics for metrics and benchmarks (monotonic counters since start). */
struct kube_informer_stats {
    unsigned long lists;       /* full lists (initial and relists) */
    unsigned long watches;     /* watch requests opened */
    unsigned long events;      /* watch events applied (not bookmarks) */
    unsigned long relists_410; /* relists caused by 410 Gone/Expired */
    unsigned long failures;    /* failed list/watch attempts (each followed by backoff) */
};
void kube_informer_get_stats(struct kube_informer *inf, struct kube_informer_stats *out);

#endif
