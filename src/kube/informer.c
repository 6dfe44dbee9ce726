/*
 * informer.c - reflector, indexed cache and event dispatch (see informer.h).
 *
 * Threads and locks:
 *   - one reflector thread per watched namespace (or one for all namespaces) runs
 *     list -> replace -> watch -> apply; it is the only writer of its namespace's keys;
 *   - an optional resync thread;
 *   - `cache_lock` (rwlock) guards `items` and the index maps; readers take it shared;
 *   - `handler_lock` (mutex) serialises "update the cache, then call the handlers" across
 *     reflectors and the resync thread, so handlers see changes in order and never run
 *     concurrently; it is taken before cache_lock, never the other way round;
 *   - `sync_lock`/`sync_cond` guard the count of synced reflectors for wait_synced.
 * The cache maps "ns/name" to an immutable json object (jansson's reference counts are
 * atomic, so readers share objects without copying). Each index maps a value to a set of keys
 * (a json object used as a hash set).
 */
#include "istrigger/kube/informer.h"

#include "istrigger/kube/watch.h"
#include "kube_internal.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HANDLERS 16
#define MAX_INDEXES  8

struct reflector {
    struct kube_informer *inf;
    char *ns; /* NULL: all namespaces */
    pthread_t thread;
    bool running;
    bool synced;
    char *rv; /* last resourceVersion seen (owned) */
};

struct index {
    char *name;
    kube_index_fn fn;
    json_t *map; /* value -> {key: null} */
};

struct kube_informer {
    struct kube_client *c;
    const struct kube_resource *res;
    char *name, *label_selector, *field_selector;
    int64_t resync_ns, backoff_base_ns, backoff_max_ns;
    long page_size;
    int watch_timeout_s;
    bool keep_managed_fields;

    struct reflector *refs;
    size_t nrefs;

    pthread_rwlock_t cache_lock; /* guards items, idx[].map */
    json_t *items;
    struct index idx[MAX_INDEXES];
    size_t nidx;

    pthread_mutex_t handler_lock; /* serialises cache change + handler calls */
    struct kube_event_handlers handlers[MAX_HANDLERS];
    size_t nhandlers;

    atomic_int stop;
    bool started;
    pthread_t resync_thread;
    bool resync_running;

    pthread_mutex_t sync_lock; /* guards nsynced */
    pthread_cond_t sync_cond;
    size_t nsynced;

    atomic_ulong st_lists, st_watches, st_events, st_relists_410, st_failures;
    atomic_int list_err; /* -errno of the last failed list, 0 after a successful one */
};

/* ---- keys ---- */

char *kube_object_key(const json_t *obj)
{
    const char *ns = jsonx_str(obj, "metadata", "namespace");
    const char *name = jsonx_str(obj, "metadata", "name");
    char *key;

    if (!name)
        return NULL;
    if (ns && *ns) {
        if (asprintf(&key, "%s/%s", ns, name) < 0)
            return NULL;
        return key;
    }
    return strdup(name);
}

int kube_key_split(const char *key, char **ns_out, char **name_out)
{
    const char *slash = strchr(key, '/');

    *ns_out = *name_out = NULL;
    if (!*key || (slash && (slash == key || !slash[1] || strchr(slash + 1, '/'))))
        return err_set(-EINVAL, "invalid key \"%s\" (want namespace/name or name)", key);
    if (slash) {
        *ns_out = strndup(key, (size_t)(slash - key));
        *name_out = strdup(slash + 1);
    } else {
        *name_out = strdup(key);
    }
    if ((slash && !*ns_out) || !*name_out) {
        free(*ns_out);
        free(*name_out);
        *ns_out = *name_out = NULL;
        return err_set(-ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- construction ---- */

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int kube_informer_new(struct kube_client *c, const struct kube_resource *res, const char *ns,
                      const struct kube_informer_opts *opts, struct kube_informer **out)
{
    static const struct kube_informer_opts none;
    struct kube_informer *inf;
    char rn[128];
    size_t n = 0;

    *out = NULL;
    if (!opts)
        opts = &none;
    if (!(inf = calloc(1, sizeof(*inf))))
        return err_set(-ENOMEM, "out of memory");
    inf->c = c;
    inf->res = res;
    inf->name = strdup(opts->name ? opts->name : kube_resource_name(res, rn, sizeof(rn)));
    inf->label_selector = dup_or_null(opts->label_selector);
    inf->field_selector = dup_or_null(opts->field_selector);
    inf->resync_ns = opts->resync_ns;
    inf->page_size = opts->page_size == 0 ? 500 : opts->page_size;
    inf->watch_timeout_s = opts->watch_timeout_s;
    inf->keep_managed_fields = opts->keep_managed_fields;
    inf->backoff_base_ns = opts->backoff_base_ns > 0 ? opts->backoff_base_ns : 800 * NS_PER_MS;
    inf->backoff_max_ns = opts->backoff_max_ns > 0 ? opts->backoff_max_ns : 30 * NS_PER_SEC;
    inf->items = json_object();
    pthread_rwlock_init(&inf->cache_lock, NULL);
    pthread_mutex_init(&inf->handler_lock, NULL);
    pthread_mutex_init(&inf->sync_lock, NULL);
    pthread_cond_init(&inf->sync_cond, NULL);

    if (res->namespaced && opts->namespaces && opts->namespaces[0]) {
        while (opts->namespaces[n])
            n++;
    } else {
        n = 1;
    }
    inf->refs = calloc(n, sizeof(*inf->refs));
    if (!inf->name || !inf->items || !inf->refs) {
        kube_informer_free(inf);
        return err_set(-ENOMEM, "out of memory");
    }
    inf->nrefs = n;
    for (size_t i = 0; i < n; i++) {
        const char *rns = NULL;
        if (res->namespaced)
            rns = opts->namespaces && opts->namespaces[0] ? opts->namespaces[i] : ns;
        inf->refs[i].inf = inf;
        if (rns && !(inf->refs[i].ns = strdup(rns))) {
            kube_informer_free(inf);
            return err_set(-ENOMEM, "out of memory");
        }
    }
    *out = inf;
    return 0;
}

int kube_informer_add_handlers(struct kube_informer *inf, const struct kube_event_handlers *h)
{
    pthread_mutex_lock(&inf->handler_lock);
    if (inf->nhandlers == MAX_HANDLERS) {
        pthread_mutex_unlock(&inf->handler_lock);
        return err_set(-ENOSPC, "informer %s: too many handlers", inf->name);
    }
    inf->handlers[inf->nhandlers++] = *h;
    pthread_mutex_unlock(&inf->handler_lock);
    return 0;
}

int kube_informer_add_index(struct kube_informer *inf, const char *name, kube_index_fn fn)
{
    int r = 0;

    pthread_rwlock_wrlock(&inf->cache_lock);
    for (size_t i = 0; i < inf->nidx; i++) {
        if (strcmp(inf->idx[i].name, name) == 0)
            r = err_set(-EEXIST, "informer %s: index %s exists", inf->name, name);
    }
    if (r == 0 && inf->nidx == MAX_INDEXES)
        r = err_set(-ENOSPC, "informer %s: too many indexes", inf->name);
    if (r == 0) {
        struct index *ix = &inf->idx[inf->nidx];
        ix->name = strdup(name);
        ix->fn = fn;
        ix->map = json_object();
        if (!ix->name || !ix->map) {
            free(ix->name);
            json_decref(ix->map);
            r = err_set(-ENOMEM, "out of memory");
        } else {
            inf->nidx++;
        }
    }
    pthread_rwlock_unlock(&inf->cache_lock);
    return r;
}

/* ---- cache and indexes (cache_lock held for writing) ---- */

static void collect_value(void *e, const char *value)
{
    json_array_append_new((json_t *)e, json_string(value));
}

static void index_update(struct index *ix, const char *key, const json_t *obj, bool add)
{
    json_t *vals = json_array(), *v;
    size_t i;

    if (!vals)
        return;
    ix->fn(obj, collect_value, vals);
    json_array_foreach (vals, i, v) {
        const char *val = json_string_value(v);
        json_t *set;
        if (!val)
            continue;
        set = json_object_get(ix->map, val);
        if (add) {
            if (!set) {
                set = json_object();
                if (!set || json_object_set_new(ix->map, val, set) < 0)
                    continue;
            }
            json_object_set_new(set, key, json_null());
        } else if (set) {
            json_object_del(set, key);
            if (json_object_size(set) == 0)
                json_object_del(ix->map, val);
        }
    }
    json_decref(vals);
}

/* Store obj under key (NULL obj: delete). Returns the previous object (NEW ref) or NULL. */
static json_t *cache_store(struct kube_informer *inf, const char *key, json_t *obj)
{
    json_t *old;

    pthread_rwlock_wrlock(&inf->cache_lock);
    old = json_object_get(inf->items, key);
    json_incref(old);
    for (size_t i = 0; i < inf->nidx; i++) {
        if (old)
            index_update(&inf->idx[i], key, old, false);
        if (obj)
            index_update(&inf->idx[i], key, obj, true);
    }
    if (obj)
        json_object_set(inf->items, key, obj);
    else
        json_object_del(inf->items, key);
    pthread_rwlock_unlock(&inf->cache_lock);
    return old;
}

/* ---- dispatch (handler_lock held) ---- */

enum change { CHANGE_ADD, CHANGE_UPDATE, CHANGE_DELETE };

static void dispatch(struct kube_informer *inf, enum change what, const json_t *old,
                     const json_t *obj)
{
    for (size_t i = 0; i < inf->nhandlers; i++) {
        const struct kube_event_handlers *h = &inf->handlers[i];
        if (what == CHANGE_ADD && h->on_add)
            h->on_add(h->ctx, NULL, obj);
        else if (what == CHANGE_UPDATE && h->on_update)
            h->on_update(h->ctx, old, obj);
        else if (what == CHANGE_DELETE && h->on_delete)
            h->on_delete(h->ctx, old, obj);
    }
}

static const char *obj_rv(const json_t *obj)
{
    const char *rv = jsonx_str(obj, "metadata", "resourceVersion");
    return rv ? rv : "";
}

/* Apply an added/modified object (upsert) or a deletion. handler_lock held. `obj` is not
 * shared yet (fresh from a list page or a watch event), so it may still be trimmed. */
static void apply(struct kube_informer *inf, json_t *obj, bool deleted)
{
    _cleanup_free_ char *key = kube_object_key(obj);
    json_t *old;

    if (!key)
        return;
    if (!deleted && !inf->keep_managed_fields)
        json_object_del(json_object_get(obj, "metadata"), "managedFields");
    old = cache_store(inf, key, deleted ? NULL : obj);
    if (deleted) {
        if (old)
            dispatch(inf, CHANGE_DELETE, old, obj);
    } else if (!old) {
        dispatch(inf, CHANGE_ADD, NULL, obj);
    } else if (strcmp(obj_rv(old), obj_rv(obj)) != 0) {
        dispatch(inf, CHANGE_UPDATE, old, obj);
    }
    json_decref(old);
}

/* Does cache key `key` belong to reflector namespace `ns` (NULL: every key)? */
static bool key_in_ns(const char *key, const char *ns)
{
    size_t n;

    if (!ns)
        return true;
    n = strlen(ns);
    return strncmp(key, ns, n) == 0 && key[n] == '/';
}

/* Replace the reflector's part of the cache with a fresh list: adds, updates (changed
 * resourceVersion) and deletes for objects that vanished while we were not watching. */
static void replace(struct reflector *ref, json_t *items)
{
    struct kube_informer *inf = ref->inf;
    _cleanup_json_ json_t *listed = json_object();
    _cleanup_json_ json_t *gone = json_array();
    json_t *obj;
    const char *key;
    size_t i;

    if (!listed || !gone)
        return;
    pthread_mutex_lock(&inf->handler_lock);
    json_array_foreach (items, i, obj) {
        _cleanup_free_ char *k = kube_object_key(obj);
        if (!k)
            continue;
        json_object_set_new(listed, k, json_null());
        apply(inf, obj, false);
    }
    pthread_rwlock_rdlock(&inf->cache_lock);
    json_object_foreach (inf->items, key, obj) {
        if (key_in_ns(key, ref->ns) && !json_object_get(listed, key))
            json_array_append(gone, obj);
    }
    pthread_rwlock_unlock(&inf->cache_lock);
    json_array_foreach (gone, i, obj)
        apply(inf, obj, true);
    pthread_mutex_unlock(&inf->handler_lock);
}

/* ---- reflector ---- */

static void set_rv(struct reflector *ref, const char *rv)
{
    if (!rv || !*rv)
        return;
    char *n = strdup(rv);
    if (n) {
        free(ref->rv);
        ref->rv = n;
    }
}

/* List every page. NEW array of items in *items_out, resourceVersion stored in ref->rv. */
static int list_all(struct reflector *ref, json_t **items_out)
{
    struct kube_informer *inf = ref->inf;
    _cleanup_json_ json_t *items = json_array();
    _cleanup_free_ char *cont = NULL, *list_rv = NULL;
    char apiv[128];
    long limit = inf->page_size > 0 ? inf->page_size : 0;
    int r;

    if (!items)
        return err_set(-ENOMEM, "out of memory");
    kube_resource_api_version(inf->res, apiv, sizeof(apiv));
    for (;;) {
        _cleanup_json_ json_t *page = NULL;
        struct kube_list_opts lo = {
            .label_selector = inf->label_selector,
            .field_selector = inf->field_selector,
            .limit = limit,
            .continue_token = cont,
        };
        json_t *it, *obj;
        size_t i;

        r = kube_list(inf->c, inf->res, ref->ns, &lo, &page);
        if (r == -ENODATA && cont) {
            /* The continue token expired (the snapshot was compacted): list again in one
             * piece, as client-go falls back to a full list. */
            log_info(inf->name, "list continue token expired, listing without pagination");
            json_array_clear(items);
            free(cont);
            cont = NULL;
            limit = 0;
            continue;
        }
        if (r < 0)
            return r;
        it = json_object_get(page, "items");
        json_array_foreach (it, i, obj) {
            /* List items carry no kind/apiVersion; watch events do. Make them alike. */
            if (!json_object_get(obj, "kind"))
                json_object_set_new(obj, "kind", json_string(inf->res->kind));
            if (!json_object_get(obj, "apiVersion"))
                json_object_set_new(obj, "apiVersion", json_string(apiv));
            json_array_append(items, obj);
        }
        if (!list_rv) {
            const char *rv = jsonx_str(page, "metadata", "resourceVersion");
            list_rv = rv ? strdup(rv) : NULL;
        }
        const char *next = jsonx_str(page, "metadata", "continue");
        free(cont);
        cont = next && *next ? strdup(next) : NULL;
        if (!cont)
            break;
    }
    set_rv(ref, list_rv);
    *items_out = TAKE_PTR(items);
    return 0;
}

struct watch_ctx {
    struct reflector *ref;
    unsigned long events;
};

static int on_watch_event(void *ctx, enum kube_watch_type type, json_t *obj)
{
    struct watch_ctx *wc = ctx;
    struct reflector *ref = wc->ref;
    struct kube_informer *inf = ref->inf;

    switch (type) {
    case KUBE_WATCH_ERROR:
        return kube_watch_error_status(obj);
    case KUBE_WATCH_BOOKMARK:
        set_rv(ref, obj_rv(obj));
        return 0;
    default:
        break;
    }
    json_incref(obj);
    pthread_mutex_lock(&inf->handler_lock);
    apply(inf, obj, type == KUBE_WATCH_DELETED);
    pthread_mutex_unlock(&inf->handler_lock);
    set_rv(ref, obj_rv(obj));
    json_decref(obj);
    wc->events++;
    atomic_fetch_add(&inf->st_events, 1);
    return 0;
}

static void mark_synced(struct reflector *ref)
{
    struct kube_informer *inf = ref->inf;

    if (ref->synced)
        return;
    ref->synced = true;
    pthread_mutex_lock(&inf->sync_lock);
    inf->nsynced++;
    pthread_cond_broadcast(&inf->sync_cond);
    pthread_mutex_unlock(&inf->sync_lock);
}

static bool backoff(struct reflector *ref, int *attempt)
{
    struct kube_informer *inf = ref->inf;
    int64_t d = kube_backoff_ns(inf->backoff_base_ns, inf->backoff_max_ns, (*attempt)++);

    atomic_fetch_add(&inf->st_failures, 1);
    return kube_client_sleep(inf->c, d, &inf->stop) == 0;
}

static void *reflector_main(void *arg)
{
    struct reflector *ref = arg;
    struct kube_informer *inf = ref->inf;
    const char *what = ref->ns ? ref->ns : "all namespaces";
    int attempt = 0, relist_attempt = 0;

    kube_client_set_thread_stop(&inf->stop); /* lists end at once on stop, too */

    while (!atomic_load(&inf->stop)) {
        _cleanup_json_ json_t *items = NULL;
        int r = list_all(ref, &items);
        if (r == -ECANCELED)
            break;
        if (r < 0) {
            atomic_store(&inf->list_err, r);
            log_warn(inf->name, "list in %s failed: %s", what, err_msg());
            if (!backoff(ref, &attempt))
                break;
            continue;
        }
        atomic_fetch_add(&inf->st_lists, 1);
        atomic_store(&inf->list_err, 0);
        replace(ref, items);
        mark_synced(ref);
        attempt = 0;
        log_debug(inf->name, "listed %zu objects in %s at resourceVersion %s",
                  json_array_size(items), what, ref->rv ? ref->rv : "?");

        /* Watch from the last resourceVersion until 410 asks for a relist. */
        while (!atomic_load(&inf->stop)) {
            struct watch_ctx wc = {.ref = ref};
            int tmo =
                inf->watch_timeout_s > 0 ? inf->watch_timeout_s : 300 + (int)(300 * kube_rand01());
            struct kube_watch_opts wo = {
                .resource_version = ref->rv,
                .label_selector = inf->label_selector,
                .field_selector = inf->field_selector,
                .timeout_seconds = tmo,
                .allow_bookmarks = true,
                .stop = &inf->stop,
            };
            int64_t t0 = time_mono_ns();
            atomic_fetch_add(&inf->st_watches, 1);
            r = kube_watch(inf->c, inf->res, ref->ns, &wo, on_watch_event, &wc);
            if (r == -ECANCELED)
                break;
            if (r == -ENODATA) {
                atomic_fetch_add(&inf->st_relists_410, 1);
                log_info(inf->name, "watch in %s: %s; relisting", what, err_msg());
                /* A server that answers 410 to the very resourceVersion it just listed
                 * would otherwise make us relist in a tight loop. */
                if (wc.events == 0 && time_mono_ns() - t0 < NS_PER_SEC) {
                    if (!backoff(ref, &relist_attempt))
                        break;
                } else {
                    relist_attempt = 0;
                }
                break;
            }
            if (r == 0 && (wc.events > 0 || time_mono_ns() - t0 > NS_PER_SEC)) {
                attempt = 0; /* a normal end of a watch (timeoutSeconds) */
                continue;
            }
            if (r < 0)
                log_warn(inf->name, "watch in %s failed: %s", what, err_msg());
            /* Failed, or ended at once without events: never spin. */
            if (!backoff(ref, &attempt))
                break;
        }
    }
    return NULL;
}

static void *resync_main(void *arg)
{
    struct kube_informer *inf = arg;

    kube_client_set_thread_stop(&inf->stop);

    while (kube_client_sleep(inf->c, inf->resync_ns, &inf->stop) == 0) {
        json_t *all = NULL, *obj;
        size_t i;
        pthread_mutex_lock(&inf->handler_lock);
        if (kube_cache_list(inf, NULL, &all) == 0) {
            json_array_foreach (all, i, obj)
                dispatch(inf, CHANGE_UPDATE, obj, obj);
        }
        pthread_mutex_unlock(&inf->handler_lock);
        json_decref(all);
    }
    return NULL;
}

int kube_informer_start(struct kube_informer *inf)
{
    int e;

    if (inf->started)
        return 0;
    inf->started = true;
    for (size_t i = 0; i < inf->nrefs; i++) {
        if ((e = pthread_create(&inf->refs[i].thread, NULL, reflector_main, &inf->refs[i]))) {
            kube_informer_stop(inf);
            return err_set(-e, "informer %s: starting reflector: %s", inf->name, strerror(e));
        }
        inf->refs[i].running = true;
    }
    if (inf->resync_ns > 0) {
        if ((e = pthread_create(&inf->resync_thread, NULL, resync_main, inf))) {
            kube_informer_stop(inf);
            return err_set(-e, "informer %s: starting resync: %s", inf->name, strerror(e));
        }
        inf->resync_running = true;
    }
    return 0;
}

bool kube_informer_has_synced(struct kube_informer *inf)
{
    bool synced;

    pthread_mutex_lock(&inf->sync_lock);
    synced = inf->nsynced == inf->nrefs;
    pthread_mutex_unlock(&inf->sync_lock);
    return synced;
}

int kube_informer_list_error(struct kube_informer *inf)
{
    return atomic_load(&inf->list_err);
}

int kube_informer_wait_synced(struct kube_informer *inf, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns >= 0 ? time_mono_ns() + timeout_ns : INT64_MAX;
    int r = 0;

    pthread_mutex_lock(&inf->sync_lock);
    while (inf->nsynced < inf->nrefs) {
        if (atomic_load(&inf->stop)) {
            r = -ECANCELED;
            break;
        }
        int64_t now = time_mono_ns();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            break;
        }
        /* sync_cond uses CLOCK_REALTIME; wait in short slices so stop is seen. */
        int64_t slice = deadline - now < 100 * NS_PER_MS ? deadline - now : 100 * NS_PER_MS;
        int64_t abs_ns = time_real_ns() + slice;
        struct timespec ts = {.tv_sec = abs_ns / NS_PER_SEC, .tv_nsec = abs_ns % NS_PER_SEC};
        pthread_cond_timedwait(&inf->sync_cond, &inf->sync_lock, &ts);
    }
    pthread_mutex_unlock(&inf->sync_lock);
    if (r == -ETIMEDOUT)
        return err_set(r, "informer %s: cache not synced in time", inf->name);
    if (r == -ECANCELED)
        return err_set(r, "informer %s: stopped", inf->name);
    return 0;
}

void kube_informer_stop(struct kube_informer *inf)
{
    atomic_store(&inf->stop, 1);
    for (size_t i = 0; i < inf->nrefs; i++) {
        if (inf->refs[i].running) {
            pthread_join(inf->refs[i].thread, NULL);
            inf->refs[i].running = false;
        }
    }
    if (inf->resync_running) {
        pthread_join(inf->resync_thread, NULL);
        inf->resync_running = false;
    }
}

void kube_informer_free(struct kube_informer *inf)
{
    if (!inf)
        return;
    kube_informer_stop(inf);
    for (size_t i = 0; i < inf->nrefs; i++) {
        free(inf->refs[i].ns);
        free(inf->refs[i].rv);
    }
    for (size_t i = 0; i < inf->nidx; i++) {
        free(inf->idx[i].name);
        json_decref(inf->idx[i].map);
    }
    free(inf->refs);
    json_decref(inf->items);
    pthread_rwlock_destroy(&inf->cache_lock);
    pthread_mutex_destroy(&inf->handler_lock);
    pthread_mutex_destroy(&inf->sync_lock);
    pthread_cond_destroy(&inf->sync_cond);
    free(inf->name);
    free(inf->label_selector);
    free(inf->field_selector);
    free(inf);
}

/* ---- reads ---- */

json_t *kube_cache_get_by_key(struct kube_informer *inf, const char *key)
{
    json_t *obj;

    pthread_rwlock_rdlock(&inf->cache_lock);
    obj = json_incref(json_object_get(inf->items, key));
    pthread_rwlock_unlock(&inf->cache_lock);
    return obj;
}

json_t *kube_cache_get(struct kube_informer *inf, const char *ns, const char *name)
{
    char *key;
    json_t *obj;

    if (inf->res->namespaced && ns) {
        if (asprintf(&key, "%s/%s", ns, name) < 0)
            return NULL;
    } else if (!(key = strdup(name))) {
        return NULL;
    }
    obj = kube_cache_get_by_key(inf, key);
    free(key);
    return obj;
}

int kube_cache_list(struct kube_informer *inf, const char *ns, json_t **array_out)
{
    json_t *arr = json_array(), *obj;
    const char *key;

    *array_out = NULL;
    if (!arr)
        return err_set(-ENOMEM, "out of memory");
    pthread_rwlock_rdlock(&inf->cache_lock);
    json_object_foreach (inf->items, key, obj) {
        if (key_in_ns(key, ns) && json_array_append(arr, obj) < 0) {
            pthread_rwlock_unlock(&inf->cache_lock);
            json_decref(arr);
            return err_set(-ENOMEM, "out of memory");
        }
    }
    pthread_rwlock_unlock(&inf->cache_lock);
    *array_out = arr;
    return 0;
}

int kube_cache_by_index(struct kube_informer *inf, const char *index, const char *value,
                        json_t **array_out)
{
    json_t *arr, *set, *v;
    const char *key;
    int r = -ENOENT;

    *array_out = NULL;
    if (!(arr = json_array()))
        return err_set(-ENOMEM, "out of memory");
    pthread_rwlock_rdlock(&inf->cache_lock);
    for (size_t i = 0; i < inf->nidx; i++) {
        if (strcmp(inf->idx[i].name, index) != 0)
            continue;
        r = 0;
        set = json_object_get(inf->idx[i].map, value);
        json_object_foreach (set, key, v) {
            json_t *obj = json_object_get(inf->items, key);
            if (obj)
                json_array_append(arr, obj);
        }
    }
    pthread_rwlock_unlock(&inf->cache_lock);
    if (r < 0) {
        json_decref(arr);
        return err_set(r, "informer %s: no index named %s", inf->name, index);
    }
    *array_out = arr;
    return 0;
}

size_t kube_cache_len(struct kube_informer *inf)
{
    size_t n;

    pthread_rwlock_rdlock(&inf->cache_lock);
    n = json_object_size(inf->items);
    pthread_rwlock_unlock(&inf->cache_lock);
    return n;
}

void kube_informer_get_stats(struct kube_informer *inf, struct kube_informer_stats *out)
{
    out->lists = atomic_load(&inf->st_lists);
    out->watches = atomic_load(&inf->st_watches);
    out->events = atomic_load(&inf->st_events);
    out->relists_410 = atomic_load(&inf->st_relists_410);
    out->failures = atomic_load(&inf->st_failures);
}
