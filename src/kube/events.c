/*
 * events.c - the event recorder (see events.h): per-object rate limit, aggregation into
 * count bumps, and a writer thread so callers never wait for the API.
 *
 * `lock` guards the queue, the spam buckets, the aggregation cache and the stats; the writer
 * thread takes one queued event at a time and does the API call without the lock. The
 * aggregation cache maps "ns/kind/name/uid/type/reason/message" to the Event written for it
 * ({name, count}); it is cleared when it grows past AGG_MAX entries (the next occurrence of an
 * old event then creates a new Event, as client-go's LRU would).
 */
#include "istrigger/kube/events.h"

#include "kube_internal.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGG_MAX     4096
#define SPAM_MAX    4096
#define MESSAGE_MAX 1024

struct pending {
    struct pending *next;
    json_t *ref; /* involvedObject */
    char *ns, *type, *reason, *message, *agg_key;
};

struct kube_recorder {
    struct kube_client *c;
    char *component, *instance;
    int burst;
    int64_t refill_ns;
    size_t queue_max;

    pthread_mutex_t lock;
    pthread_cond_t cond; /* queue not empty, or stopping */
    pthread_cond_t idle; /* queue drained and writer idle */
    struct pending *head, *tail;
    size_t qlen;
    bool busy, stopping;
    json_t *agg;  /* agg_key -> {"name": s, "count": i} */
    json_t *spam; /* object key -> {"tokens": real, "at": int} */
    struct kube_recorder_stats stats;
    pthread_t thread;
};

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    json_decref(p->ref);
    free(p->ns);
    free(p->type);
    free(p->reason);
    free(p->message);
    free(p->agg_key);
    free(p);
}

/* Write one event: bump an existing Event's count, or create one. */
static int write_event(struct kube_recorder *rec, struct pending *p)
{
    char now[64], name[300];
    long long count = 0;
    json_t *prev;
    int r;

    time_format_rfc3339(time_real_ns(), now, sizeof(now), false);
    pthread_mutex_lock(&rec->lock);
    prev = json_object_get(rec->agg, p->agg_key);
    if (prev) {
        snprintf(name, sizeof(name), "%s", jsonx_str(prev, "name"));
        count = jsonx_int(prev, 1, "count") + 1;
    }
    pthread_mutex_unlock(&rec->lock);

    if (count) {
        _cleanup_json_ json_t *patch =
            json_pack("{s:I, s:s}", "count", (json_int_t)count, "lastTimestamp", now);
        r = kube_patch(rec->c, KUBE_RES_EVENTS, p->ns, name, KUBE_PATCH_MERGE, patch, NULL, NULL);
        if (r == 0) {
            pthread_mutex_lock(&rec->lock);
            json_t *e = json_object_get(rec->agg, p->agg_key);
            if (e)
                json_object_set_new(e, "count", json_integer(count));
            rec->stats.aggregated++;
            pthread_mutex_unlock(&rec->lock);
            return 0;
        }
        if (r != -ENOENT)
            return r;
        /* The Event expired on the server (TTL): write a new one. */
    }
    snprintf(name, sizeof(name), "%s.%llx", jsonx_str(p->ref, "name"),
             (unsigned long long)time_real_ns());
    _cleanup_json_ json_t *ev =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:O, s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s}, s:s, s:s}",
                  "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", p->ns,
                  "involvedObject", p->ref, "reason", p->reason, "message", p->message, "type",
                  p->type, "count", 1, "firstTimestamp", now, "lastTimestamp", now, "source",
                  "component", rec->component, "reportingComponent", rec->component,
                  "reportingInstance", rec->instance ? rec->instance : "");
    if (!ev)
        return err_set(-ENOMEM, "out of memory");
    if ((r = kube_create(rec->c, KUBE_RES_EVENTS, p->ns, ev, NULL, NULL)) < 0)
        return r;
    pthread_mutex_lock(&rec->lock);
    if (json_object_size(rec->agg) >= AGG_MAX)
        json_object_clear(rec->agg);
    json_object_set_new(rec->agg, p->agg_key, json_pack("{s:s, s:i}", "name", name, "count", 1));
    rec->stats.created++;
    pthread_mutex_unlock(&rec->lock);
    return 0;
}

static void *writer_main(void *arg)
{
    struct kube_recorder *rec = arg;

    pthread_mutex_lock(&rec->lock);
    for (;;) {
        while (!rec->head && !rec->stopping)
            pthread_cond_wait(&rec->cond, &rec->lock);
        if (!rec->head)
            break; /* stopping and drained */
        struct pending *p = rec->head;
        rec->head = p->next;
        if (!rec->head)
            rec->tail = NULL;
        rec->qlen--;
        rec->busy = true;
        pthread_mutex_unlock(&rec->lock);

        int r = write_event(rec, p);
        if (r < 0)
            log_warn(p->ns, "writing event %s: %s", p->reason, err_msg());
        pending_free(p);

        pthread_mutex_lock(&rec->lock);
        if (r < 0)
            rec->stats.failed++;
        rec->busy = false;
        if (!rec->head)
            pthread_cond_broadcast(&rec->idle);
    }
    rec->busy = false;
    pthread_cond_broadcast(&rec->idle);
    pthread_mutex_unlock(&rec->lock);
    return NULL;
}

int kube_recorder_new_opts(struct kube_client *c, const char *component,
                           const struct kube_recorder_opts *opts, struct kube_recorder **out)
{
    struct kube_recorder *rec;
    int e;

    *out = NULL;
    if (!(rec = calloc(1, sizeof(*rec))))
        return err_set(-ENOMEM, "out of memory");
    rec->c = c;
    rec->component = strdup(component);
    rec->instance = opts && opts->instance ? strdup(opts->instance) : NULL;
    rec->burst = opts && opts->burst > 0 ? opts->burst : 25;
    rec->refill_ns = opts && opts->refill_ns > 0 ? opts->refill_ns : 300 * NS_PER_SEC;
    rec->queue_max = opts && opts->queue_size > 0 ? opts->queue_size : 1000;
    rec->agg = json_object();
    rec->spam = json_object();
    pthread_mutex_init(&rec->lock, NULL);
    pthread_cond_init(&rec->cond, NULL);
    pthread_cond_init(&rec->idle, NULL);
    if (!rec->component || !rec->agg || !rec->spam) {
        json_decref(rec->agg);
        json_decref(rec->spam);
        free(rec->component);
        free(rec->instance);
        free(rec);
        return err_set(-ENOMEM, "out of memory");
    }
    if ((e = pthread_create(&rec->thread, NULL, writer_main, rec))) {
        json_decref(rec->agg);
        json_decref(rec->spam);
        free(rec->component);
        free(rec->instance);
        free(rec);
        return err_set(-e, "event recorder: starting thread: %s", strerror(e));
    }
    *out = rec;
    return 0;
}

int kube_recorder_new(struct kube_client *c, const char *component, struct kube_recorder **out)
{
    return kube_recorder_new_opts(c, component, NULL, out);
}

/* Token bucket per involved object (lock held). True when the event may pass. */
static bool spam_allow(struct kube_recorder *rec, const char *obj_key)
{
    int64_t now = time_mono_ns();
    json_t *b = json_object_get(rec->spam, obj_key);
    double tokens;

    if (!b) {
        if (json_object_size(rec->spam) >= SPAM_MAX)
            json_object_clear(rec->spam);
        b = json_pack("{s:f, s:I}", "tokens", (double)rec->burst, "at", (json_int_t)now);
        if (!b || json_object_set_new(rec->spam, obj_key, b) < 0)
            return true;
    }
    tokens = json_real_value(json_object_get(b, "tokens"));
    tokens += (double)(now - json_integer_value(json_object_get(b, "at"))) / (double)rec->refill_ns;
    if (tokens > rec->burst)
        tokens = rec->burst;
    json_object_set_new(b, "at", json_integer(now));
    if (tokens < 1.0) {
        json_object_set_new(b, "tokens", json_real(tokens));
        return false;
    }
    json_object_set_new(b, "tokens", json_real(tokens - 1.0));
    return true;
}

/* The involvedObject reference: from a full object or from a reference. NEW or NULL. */
static json_t *make_ref(const json_t *o)
{
    const json_t *md = json_object_get(o, "metadata");
    const json_t *src = md ? md : o;
    const char *name = jsonx_str(src, "name"), *ns = jsonx_str(src, "namespace");
    const char *uid = jsonx_str(src, "uid"), *rv = jsonx_str(src, "resourceVersion");
    json_t *ref;

    if (!name)
        return NULL;
    ref = json_pack("{s:s}", "name", name);
    if (!ref)
        return NULL;
    if (jsonx_str(o, "kind"))
        json_object_set_new(ref, "kind", json_string(jsonx_str(o, "kind")));
    if (jsonx_str(o, "apiVersion"))
        json_object_set_new(ref, "apiVersion", json_string(jsonx_str(o, "apiVersion")));
    if (ns)
        json_object_set_new(ref, "namespace", json_string(ns));
    if (uid)
        json_object_set_new(ref, "uid", json_string(uid));
    if (rv)
        json_object_set_new(ref, "resourceVersion", json_string(rv));
    return ref;
}

int kube_event(struct kube_recorder *rec, const json_t *involved_object, const char *type,
               const char *reason, const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    struct pending *p;
    va_list ap;
    int dropped = 0;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!(p = calloc(1, sizeof(*p))))
        return err_set(-ENOMEM, "out of memory");
    if (!(p->ref = make_ref(involved_object))) {
        free(p);
        return err_set(-EINVAL, "event %s: involved object has no name", reason);
    }
    const char *ns = jsonx_str(p->ref, "namespace");
    const char *kind = jsonx_str(p->ref, "kind"), *uid = jsonx_str(p->ref, "uid");
    p->ns = strdup(ns && *ns ? ns : "default");
    p->type = strdup(type);
    p->reason = strdup(reason);
    p->message = strdup(msg);
    _cleanup_free_ char *obj_key = NULL;
    if (asprintf(&obj_key, "%s/%s/%s/%s", p->ns, kind ? kind : "", jsonx_str(p->ref, "name"),
                 uid ? uid : "") < 0)
        obj_key = NULL;
    if (!obj_key || asprintf(&p->agg_key, "%s/%s/%s/%s", obj_key, type, reason, msg) < 0)
        p->agg_key = NULL;
    if (!p->ns || !p->type || !p->reason || !p->message || !p->agg_key) {
        pending_free(p);
        return err_set(-ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&rec->lock);
    if (rec->stopping || rec->qlen >= rec->queue_max) {
        rec->stats.dropped++;
        dropped = 1;
    } else if (!spam_allow(rec, obj_key)) {
        rec->stats.rate_limited++;
        dropped = 1;
    } else {
        if (rec->tail)
            rec->tail->next = p;
        else
            rec->head = p;
        rec->tail = p;
        rec->qlen++;
        pthread_cond_signal(&rec->cond);
    }
    pthread_mutex_unlock(&rec->lock);
    if (dropped)
        pending_free(p);
    return dropped;
}

int kube_recorder_flush(struct kube_recorder *rec, int64_t timeout_ns)
{
    int64_t deadline = time_real_ns() + timeout_ns;
    struct timespec ts = {.tv_sec = deadline / NS_PER_SEC, .tv_nsec = deadline % NS_PER_SEC};
    int r = 0;

    pthread_mutex_lock(&rec->lock);
    while ((rec->head || rec->busy) && r == 0) {
        if (pthread_cond_timedwait(&rec->idle, &rec->lock, &ts) != 0 && (rec->head || rec->busy))
            r = err_set(-ETIMEDOUT, "event recorder: %zu events still queued", rec->qlen);
    }
    pthread_mutex_unlock(&rec->lock);
    return r;
}

void kube_recorder_get_stats(struct kube_recorder *rec, struct kube_recorder_stats *out)
{
    pthread_mutex_lock(&rec->lock);
    *out = rec->stats;
    pthread_mutex_unlock(&rec->lock);
}

void kube_recorder_free(struct kube_recorder *rec)
{
    if (!rec)
        return;
    kube_recorder_flush(rec, 2 * NS_PER_SEC);
    pthread_mutex_lock(&rec->lock);
    rec->stopping = true;
    /* Whatever is still queued after the flush timeout is dropped. */
    while (rec->head) {
        struct pending *p = rec->head;
        rec->head = p->next;
        pending_free(p);
        rec->stats.dropped++;
    }
    rec->tail = NULL;
    rec->qlen = 0;
    pthread_cond_broadcast(&rec->cond);
    pthread_mutex_unlock(&rec->lock);
    pthread_join(rec->thread, NULL);
    json_decref(rec->agg);
    json_decref(rec->spam);
    pthread_mutex_destroy(&rec->lock);
    pthread_cond_destroy(&rec->cond);
    pthread_cond_destroy(&rec->idle);
    free(rec->component);
    free(rec->instance);
    free(rec);
}
