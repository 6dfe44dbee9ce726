/*
 * sync_controller.c - the ImageStream sync controller: informer -> tracked tags -> scheduler
 * -> registry poller -> ImageStreamImport (DESIGN.md, "How an import happens").
 *
 * Threads and what they own:
 *   - the ImageStream informer's threads: handlers only enqueue "ns/name";
 *   - the work queue's workers run reconcile(key), level-based: read the cached stream,
 *     compute its tracked tags (sync_track_stream), fetch the namespace's pull secrets through
 *     `imagestreams/NAME/secrets` when the cached keyring is old (network, no lock held),
 *     subscribe the tags to their sources, and - on the leader only - compare each tag with
 *     the last digest its source served and POST one ImageStreamImport for the changed tags;
 *   - the poller thread owns the registry batch (curl multi: every check in flight from this
 *     one thread); it takes due sources from the scheduler, HEADs them and, when a source's
 *     digest changes, enqueues the subscribed streams; only the leader polls;
 *   - the status thread refreshes the ImageTriggerConfig status (leader only, only on change).
 *
 * `lock` guards `keyrings`, `states` and `imports`. Keyrings are reference-counted because the
 * poller borrows a credential for the duration of a request while a worker may replace the
 * namespace's keyring.
 *
 * Restart safety: decisions compare what the registry serves with the stream's status
 * (status.tags[].items[0].image, §1.1), never with memory of earlier polls, so a restarted or
 * newly elected operator imports nothing that did not change. Failed imports back off per tag
 * (no retry storm); the ISI's stream resourceVersion makes a decision made on a stale cache
 * fail with 409 instead of acting on it.
 */
#include "istrigger/controller/operator.h"
#include "istrigger/controller/scheduler.h"
#include "istrigger/controller/sync.h"

#include "istrigger/http/metrics.h"
#include "istrigger/http/metrics_catalog.h"
#include "istrigger/http/status.h"
#include "istrigger/kube/client.h"
#include "istrigger/kube/events.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/resources.h"
#include "istrigger/kube/workqueue.h"
#include "istrigger/registry/client.h"
#include "istrigger/registry/keyring.h"
#include "istrigger/registry/ref.h"
#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/duration.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strmap.h"
#include "istrigger/util/timeutil.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLLS_PER_STEP 64
#define POLLER_MAX_WAIT_NS (250 * NS_PER_MS)
#define IMPORT_BACKOFF_NS  (5 * NS_PER_SEC)
#define KEYRING_RETRY_NS   (15 * NS_PER_SEC)
#define RECENT_IMPORTS     50
#define STATUS_PERIOD_NS   (5 * NS_PER_SEC)

struct ns_keyring {
    int refs; /* under ctl->lock */
    bool stale;
    int64_t fetched_at;
    struct keyring *kr;
};

struct tag_backoff {
    int failures;
    int64_t until;
};

struct stream_state {
    char *warned;            /* warnings already reported, joined */
    struct strmap *imported; /* tag -> digest we imported, until the cache shows it */
    struct strmap *backoff;  /* tag -> struct tag_backoff */
};

/* Families of the metrics catalog (http/metrics_catalog.h) plus the sync controller's own. */
struct sync_metrics {
    const struct metrics_catalog *c;
    struct metric *sources, *backoffs, *queue_depth, *in_flight;
};

struct sync_controller {
    struct operator* op;
    struct kube_informer *informer;
    struct workqueue *queue;
    struct scheduler *sched;
    struct registry_client *reg;
    struct registry_batch *batch; /* poller thread only */
    pthread_t poller, status_thread;
    bool poller_started, status_started;
    atomic_bool stop;
    struct sync_platform platform;
    int64_t secrets_refresh_ns;

    pthread_mutex_t lock;
    pthread_cond_t status_cond;
    struct strmap *keyrings; /* ns -> struct ns_keyring */
    struct strmap *states;   /* "ns/name" -> struct stream_state */
    json_t *imports;         /* recent imports, newest first */
    struct sync_metrics m;
};

/* ---- small helpers ---- */

static const char *reason_of(int err)
{
    switch (err) {
    case -EACCES:
        return "Unauthorized";
    case -EPERM:
        return "Forbidden";
    case -ENOENT:
        return "NotFound";
    case -EAGAIN:
        return "TooManyRequests";
    case -ETIMEDOUT:
        return "Timeout";
    case -ECONNREFUSED:
        return "ConnectionRefused";
    case -EPROTO:
        return "TLSError";
    case -EBADMSG:
        return "BadResponse";
    case -ECANCELED:
        return "Canceled";
    default:
        return "Error";
    }
}

static void keyring_unref_locked(struct ns_keyring *k)
{
    if (k && --k->refs == 0) {
        keyring_free(k->kr);
        free(k);
    }
}

static void keyring_release(struct sync_controller *ctl, struct ns_keyring *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&ctl->lock);
    keyring_unref_locked(k);
    pthread_mutex_unlock(&ctl->lock);
}

static void keyring_map_free(void *p)
{
    keyring_unref_locked(p); /* called with ctl->lock held, or at teardown */
}

static void stream_state_free(void *p)
{
    struct stream_state *st = p;
    if (!st)
        return;
    free(st->warned);
    strmap_free(st->imported);
    strmap_free(st->backoff);
    free(st);
}

static struct stream_state *state_get_locked(struct sync_controller *ctl, const char *key)
{
    struct stream_state *st = strmap_get(ctl->states, key);
    if (st)
        return st;
    st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->imported = strmap_new(free);
    st->backoff = strmap_new(free);
    if (!st->imported || !st->backoff || strmap_set(ctl->states, key, st) < 0) {
        stream_state_free(st);
        return NULL;
    }
    return st;
}

/* Short fingerprint of a credential, so tags using different credentials for the same
 * reference get different sources, without keeping the secret in the key. */
static void credential_fingerprint(const struct registry_credential *c, char out[17])
{
    if (!c) {
        snprintf(out, 17, "anonymous");
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *parts[] = {c->username, c->password, c->identity_token};
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < 3; i++) {
        const char *p = parts[i] ? parts[i] : "";
        EVP_DigestUpdate(ctx, p, strlen(p) + 1);
    }
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- pull secrets (§3.5): imagestreams/NAME/secrets ---- */

static struct keyring *keyring_from_secrets(const json_t *list, const char *ns)
{
    struct keyring *kr = keyring_new();
    size_t i;
    json_t *sec;
    json_array_foreach (jsonx_get(list, "items"), i, sec) {
        const char *type = jsonx_str(sec, "type");
        const char *field = NULL;
        if (type && strcmp(type, "kubernetes.io/dockerconfigjson") == 0)
            field = ".dockerconfigjson";
        else if (type && strcmp(type, "kubernetes.io/dockercfg") == 0)
            field = ".dockercfg";
        const char *b64 = field ? jsonx_str(sec, "data", field) : NULL;
        if (!kr || !b64)
            continue;
        size_t len = 0;
        _cleanup_free_ unsigned char *buf = base64_decode(b64, &len);
        char source[300];
        snprintf(source, sizeof(source), "secret %s/%s", ns, jsonx_str(sec, "metadata", "name"));
        if (!buf || keyring_add_json(kr, (const char *)buf, len, source) < 0)
            log_warn(source, "unusable pull secret: %s", err_msg());
    }
    return kr;
}

/* The namespace's keyring (a reference: keyring_release it), fetched when missing, stale
 * (after a 401) or older than the refresh period. `stream` names any stream of the namespace
 * (the subresource lists every pull secret of the namespace). NULL on ENOMEM only. */
static struct ns_keyring *keyring_acquire(struct sync_controller *ctl, const char *ns,
                                          const char *stream)
{
    int64_t now = time_mono_ns();
    pthread_mutex_lock(&ctl->lock);
    struct ns_keyring *k = strmap_get(ctl->keyrings, ns);
    if (k && (!stream || (!k->stale && now - k->fetched_at < ctl->secrets_refresh_ns))) {
        k->refs++;
        pthread_mutex_unlock(&ctl->lock);
        return k;
    }
    pthread_mutex_unlock(&ctl->lock);
    if (!stream)
        return NULL;

    _cleanup_json_ json_t *list = NULL;
    int rc = kube_get(ctl->op->kube, KUBE_RES_IMAGESTREAMS, ns, stream, "secrets", &list);
    struct ns_keyring *fresh = calloc(1, sizeof(*fresh));
    if (!fresh)
        return NULL;
    fresh->refs = 2; /* the map's and the caller's */
    fresh->fetched_at = now;
    if (rc < 0) {
        log_warn(ns, "reading pull secrets through imagestreams/%s/secrets: %s", stream, err_msg());
        /* Try again soon; meanwhile keep the credentials we had, if any. */
        fresh->fetched_at = now - ctl->secrets_refresh_ns + KEYRING_RETRY_NS;
        pthread_mutex_lock(&ctl->lock);
        k = strmap_get(ctl->keyrings, ns);
        if (k) {
            k->fetched_at = fresh->fetched_at;
            k->refs++;
            pthread_mutex_unlock(&ctl->lock);
            free(fresh);
            return k;
        }
        pthread_mutex_unlock(&ctl->lock);
        fresh->kr = keyring_new();
    } else {
        fresh->kr = keyring_from_secrets(list, ns);
        log_debug(ns, "pull secrets refreshed: %zu credentials",
                  fresh->kr ? keyring_size(fresh->kr) : 0);
    }
    if (!fresh->kr) {
        free(fresh);
        return NULL;
    }
    pthread_mutex_lock(&ctl->lock);
    if (strmap_set(ctl->keyrings, ns, fresh) < 0)
        fresh->refs--; /* not in the map: only the caller's reference */
    pthread_mutex_unlock(&ctl->lock);
    return fresh;
}

static void keyring_mark_stale(struct sync_controller *ctl, const char *ns)
{
    pthread_mutex_lock(&ctl->lock);
    struct ns_keyring *k = strmap_get(ctl->keyrings, ns);
    if (k)
        k->stale = true;
    pthread_mutex_unlock(&ctl->lock);
}

/* ---- events ---- */

static void stream_event(struct sync_controller *ctl, const char *stream_key, const char *type,
                         const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void stream_event(struct sync_controller *ctl, const char *stream_key, const char *type,
                         const char *reason, const char *fmt, ...)
{
    if (!operator_is_leader(ctl->op))
        return;
    _cleanup_json_ json_t *obj = kube_cache_get_by_key(ctl->informer, stream_key);
    if (!obj)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_write(strcmp(type, "Warning") == 0 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, stream_key, "%s: %s",
              reason, msg);
    if (!jsonx_get(obj, "kind")) {
        json_t *copy = jsonx_dup(obj);
        json_object_set_new(copy, "kind", json_string("ImageStream"));
        json_object_set_new(copy, "apiVersion", json_string("image.openshift.io/v1"));
        json_decref(obj);
        obj = copy;
    }
    kube_event(ctl->op->recorder, obj, type, reason, "%s", msg);
}

/* ---- polling (poller thread) ---- */

struct poll_ctx {
    struct sync_controller *ctl;
    char *source_key;
    char *registry;
    char *ns;
    char *ref;
    struct ns_keyring *kr;
    char *ca_pem;
    int64_t started;
};

static void poll_ctx_free(struct poll_ctx *pc)
{
    keyring_release(pc->ctl, pc->kr);
    free(pc->source_key);
    free(pc->registry);
    free(pc->ns);
    free(pc->ref);
    free(pc->ca_pem);
    free(pc);
}

static void enqueue_all(struct sync_controller *ctl, const json_t *streams)
{
    size_t i;
    json_t *k;
    json_array_foreach (streams, i, k) {
        workqueue_add(ctl->queue, json_string_value(k));
    }
}

static void poll_done(void *vctx, const struct registry_result *r)
{
    struct poll_ctx *pc = vctx;
    struct sync_controller *ctl = pc->ctl;
    int64_t now = time_mono_ns();
    metrics_observe(ctl->m.c->poll_duration, (double)(now - pc->started) / NS_PER_SEC,
                    pc->registry);

    struct scheduler_result sr = {.ok = r->err == 0,
                                  .digest = r->digest,
                                  .children = r->children,
                                  .reason = reason_of(r->err),
                                  .message = r->error,
                                  .retry_after_ns = r->retry_after_ns};
    if (r->err == 0 && !r->digest) {
        sr.ok = false;
        sr.reason = "BadResponse";
        sr.message = "the registry answered without a digest";
    }
    if (r->err == -EACCES)
        keyring_mark_stale(ctl, pc->ns); /* re-read the pull secrets at once */
    int flags = scheduler_complete(ctl->sched, pc->source_key, now, &sr);
    metrics_inc(ctl->m.c->polls, pc->registry,
                !sr.ok                        ? "error"
                : (flags & SCHEDULER_CHANGED) ? "changed"
                                              : "unchanged");
    _cleanup_json_ json_t *subs = scheduler_subscribers(ctl->sched, pc->source_key);
    if (sr.ok)
        log_debug(pc->ref, "digest %s%s", r->digest, flags & SCHEDULER_CHANGED ? " (new)" : "");
    else
        log_debug(pc->ref, "poll failed: %s: %s", sr.reason, sr.message);
    if ((flags & SCHEDULER_CHANGED) || r->err == -EACCES)
        enqueue_all(ctl, subs);
    size_t i;
    json_t *k;
    if (flags & SCHEDULER_FIRST_FAILURE) {
        json_array_foreach (subs, i, k) {
            stream_event(ctl, json_string_value(k), "Warning", "PollFailed", "checking %s: %s: %s",
                         pc->ref, sr.reason, sr.message ? sr.message : "");
        }
    }
    if (flags & SCHEDULER_RECOVERED) {
        json_array_foreach (subs, i, k) {
            stream_event(ctl, json_string_value(k), "Normal", "PollRecovered",
                         "checking %s works again", pc->ref);
        }
    }
    poll_ctx_free(pc);
}

static void start_poll(struct sync_controller *ctl, struct scheduler_poll *p)
{
    struct poll_ctx *pc = calloc(1, sizeof(*pc));
    struct image_ref ref = {0};
    struct scheduler_result fail = {.ok = false, .reason = "Error"};
    if (!pc) {
        fail.message = "out of memory";
        scheduler_complete(ctl->sched, p->source_key, time_mono_ns(), &fail);
        return;
    }
    pc->ctl = ctl;
    pc->source_key = TAKE_PTR(p->source_key);
    pc->registry = TAKE_PTR(p->registry);
    pc->ns = TAKE_PTR(p->ns);
    pc->ref = TAKE_PTR(p->ref);
    pc->started = time_mono_ns();
    if (image_ref_parse(pc->ref, &ref) < 0) {
        fail.reason = "InvalidReference";
        fail.message = err_msg();
        scheduler_complete(ctl->sched, pc->source_key, pc->started, &fail);
        poll_ctx_free(pc);
        return;
    }
    pc->kr = keyring_acquire(ctl, pc->ns, NULL); /* cached only: no network on this thread */
    struct registry_request_opts opts = {.insecure = p->insecure, .children = true};
    opts.cred = pc->kr ? keyring_lookup(pc->kr->kr, &ref) : NULL;
    struct operator_registry rs;
    if (operator_registry_settings(ctl->op, ref.registry, &rs)) {
        opts.insecure = opts.insecure || rs.insecure;
        pc->ca_pem = rs.ca_pem;
        opts.ca_pem = pc->ca_pem;
    }
    if (registry_batch_add(ctl->batch, &ref, &opts, poll_done, pc) < 0) {
        fail.message = "out of memory";
        scheduler_complete(ctl->sched, pc->source_key, pc->started, &fail);
        poll_ctx_free(pc);
    }
    image_ref_free(&ref);
}

static void *poller_main(void *arg)
{
    struct sync_controller *ctl = arg;
    struct scheduler_poll polls[MAX_POLLS_PER_STEP];
    while (!atomic_load(&ctl->stop)) {
        int64_t now = time_mono_ns();
        if (operator_is_leader(ctl->op)) {
            size_t n = scheduler_take_due(ctl->sched, now, polls, MAX_POLLS_PER_STEP);
            for (size_t i = 0; i < n; i++) {
                start_poll(ctl, &polls[i]);
                scheduler_poll_clear(&polls[i]);
            }
        }
        int64_t next = scheduler_next_due(ctl->sched);
        int64_t wait = next == INT64_MAX ? POLLER_MAX_WAIT_NS : next - time_mono_ns();
        if (wait > POLLER_MAX_WAIT_NS)
            wait = POLLER_MAX_WAIT_NS;
        if (wait < 0)
            wait = 0;
        registry_batch_step(ctl->batch, wait);
    }
    return NULL;
}

/* ---- reconcile (work queue workers) ---- */

/* Report the stream's warnings once per distinct set (the recorder also de-duplicates). */
static void report_warnings(struct sync_controller *ctl, const char *key,
                            const struct sync_stream_tracking *t)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < t->nwarnings; i++)
        strbuf_printf(&sb, "%s\n", t->warnings[i].message);
    if (!operator_is_leader(ctl->op)) {
        strbuf_free(&sb);
        return; /* the leader reports; a new leader reports again */
    }
    pthread_mutex_lock(&ctl->lock);
    struct stream_state *st = state_get_locked(ctl, key);
    bool same = !st || (st->warned ? strcmp(st->warned, strbuf_str(&sb)) == 0 : sb.len == 0);
    if (st && !same) {
        free(st->warned);
        st->warned = strdup(strbuf_str(&sb));
    }
    pthread_mutex_unlock(&ctl->lock);
    strbuf_free(&sb);
    if (same)
        return;
    for (size_t i = 0; i < t->nwarnings; i++)
        stream_event(ctl, key, "Warning", t->warnings[i].reason, "%s", t->warnings[i].message);
}

/* Subscribe the tracked tags to their sources. `keys[i]` receives tag i's source key (NULL
 * when the tag's reference does not parse). */
static int subscribe_tags(struct sync_controller *ctl, const char *key,
                          const struct sync_stream_tracking *t, struct ns_keyring *kr, char **keys)
{
    struct scheduler_sub *subs = calloc(t->ntags ? t->ntags : 1, sizeof(*subs));
    char **refs = calloc(t->ntags ? t->ntags : 1, sizeof(char *));
    char **regs = calloc(t->ntags ? t->ntags : 1, sizeof(char *));
    size_t n = 0;
    int rc = (!subs || !refs || !regs) ? -ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < t->ntags; i++) {
        const struct sync_tracked_tag *tt = &t->tags[i];
        struct image_ref ref;
        if (image_ref_parse(tt->from, &ref) < 0) {
            log_warn(key, "tag %s: %s", tt->tag, err_msg());
            continue;
        }
        char fp[17];
        credential_fingerprint(kr ? keyring_lookup(kr->kr, &ref) : NULL, fp);
        refs[i] = image_ref_format(&ref);
        regs[i] = strdup(ref.registry);
        if (refs[i] &&
            asprintf(&keys[i], "%s|%s|%s", refs[i], tt->insecure ? "insecure" : "tls", fp) < 0)
            keys[i] = NULL;
        image_ref_free(&ref);
        if (!refs[i] || !regs[i] || !keys[i]) {
            rc = -ENOMEM;
            break;
        }
        subs[n++] = (struct scheduler_sub){.tag = tt->tag,
                                           .source_key = keys[i],
                                           .ref = refs[i],
                                           .registry = regs[i],
                                           .insecure = tt->insecure,
                                           .interval_ns = tt->interval_ns};
    }
    if (rc == 0)
        rc = scheduler_set_stream(ctl->sched, key, subs, n, time_mono_ns());
    for (size_t i = 0; refs && regs && i < t->ntags; i++) {
        free(refs[i]);
        free(regs[i]);
    }
    free(refs);
    free(regs);
    free(subs);
    if (ctl->batch)
        registry_batch_wakeup(ctl->batch);
    return rc;
}

/* Record an import in the ring shown on the status page. */
static void record_import(struct sync_controller *ctl, const char *ns, const char *name,
                          const char *tag, const char *source, const char *digest,
                          const char *previous, bool ok, const char *message, double latency)
{
    char now[40];
    time_format_rfc3339(time_real_ns(), now, sizeof(now), false);
    json_t *e = json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s?,s:s?,s:s,s:s}", "time", now, "namespace", ns,
                          "imageStream", name, "tags", tag, "source", source, "digest", digest,
                          "previousDigest", previous, "result", ok ? "Success" : "Failed",
                          "message", message ? message : "");
    if (!e)
        return;
    if (ok && latency >= 0)
        json_object_set_new(e, "detectionToImportSeconds", json_real(latency));
    pthread_mutex_lock(&ctl->lock);
    json_array_insert_new(ctl->imports, 0, e);
    while (json_array_size(ctl->imports) > RECENT_IMPORTS)
        json_array_remove(ctl->imports, json_array_size(ctl->imports) - 1);
    pthread_mutex_unlock(&ctl->lock);
}

struct decision {
    const struct sync_tracked_tag *tag;
    char *expected;
    int64_t seen_at;
};

/* Per-tag import backoff: the time before which `tag` must not be imported again (0: none). */
static int64_t tag_backoff_until(struct sync_controller *ctl, const char *key, const char *tag)
{
    pthread_mutex_lock(&ctl->lock);
    struct stream_state *st = strmap_get(ctl->states, key);
    struct tag_backoff *b = st ? strmap_get(st->backoff, tag) : NULL;
    int64_t until = b ? b->until : 0;
    pthread_mutex_unlock(&ctl->lock);
    return until;
}

/* Record the outcome of a tag's import; after a failure returns the backoff in ms before
 * the next attempt (the caller requeues the stream then), else 0. */
static int tag_import_result(struct sync_controller *ctl, const char *key, const char *tag,
                             const char *imported_digest, bool ok)
{
    int64_t delay = 0;
    pthread_mutex_lock(&ctl->lock);
    struct stream_state *st = state_get_locked(ctl, key);
    if (st && ok) {
        strmap_remove(st->backoff, tag);
        char *d = imported_digest ? strdup(imported_digest) : NULL;
        if (d && strmap_set(st->imported, tag, d) < 0)
            free(d);
    } else if (st) {
        struct tag_backoff *b = strmap_get(st->backoff, tag);
        if (!b) {
            b = calloc(1, sizeof(*b));
            if (b && strmap_set(st->backoff, tag, b) < 0) {
                free(b);
                b = NULL;
            }
        }
        if (b) {
            int64_t d = IMPORT_BACKOFF_NS;
            for (int i = 0; i < b->failures && d < ctl->op->cfg.max_backoff_ns; i++)
                d *= 2;
            if (d > ctl->op->cfg.max_backoff_ns)
                d = ctl->op->cfg.max_backoff_ns;
            b->failures++;
            b->until = time_mono_ns() + d;
            delay = d;
        }
    }
    pthread_mutex_unlock(&ctl->lock);
    return (int)(delay / NS_PER_MS);
}

/* The smaller positive requeue delay of two (0 means none). */
static int min_requeue(int a, int b)
{
    if (a <= 0)
        return b;
    if (b <= 0)
        return a;
    return a < b ? a : b;
}

/* Whether we already imported `expected` for `tag` and the cache has not caught up yet. */
static bool recently_imported(struct sync_controller *ctl, const char *key,
                              const struct sync_tracked_tag *t, const char *expected)
{
    pthread_mutex_lock(&ctl->lock);
    struct stream_state *st = strmap_get(ctl->states, key);
    const char *d = st ? strmap_get(st->imported, t->tag) : NULL;
    bool yes = d && strcmp(d, expected) == 0;
    /* Once status shows it, forget it. */
    if (st && d && t->current_image && strcmp(t->current_image, d) == 0)
        strmap_remove(st->imported, t->tag);
    pthread_mutex_unlock(&ctl->lock);
    return yes;
}

/* POST one ImageStreamImport for the changed tags and report each tag's outcome. Returns
 * >0 to requeue after that many ms, 0 done. */
/* The registry of a tag's reference, for metric labels ("" when it does not parse). */
static void registry_of(const char *from, char *out, size_t size)
{
    struct image_ref ref;
    out[0] = 0;
    if (image_ref_parse(from, &ref) == 0)
        snprintf(out, size, "%s", ref.registry);
    image_ref_free(&ref);
}

static int import_tags(struct sync_controller *ctl, const char *key, const json_t *is,
                       struct decision *d, size_t n)
{
    const char *ns = jsonx_str(is, "metadata", "namespace");
    const char *name = jsonx_str(is, "metadata", "name");
    const char **tags = calloc(n, sizeof(*tags));
    if (!tags)
        return 1000;
    for (size_t i = 0; i < n; i++)
        tags[i] = d[i].tag->tag;
    _cleanup_json_ json_t *isi = sync_build_isi(is, tags, n);
    free(tags);
    if (!isi) {
        log_warn(key, "building the ImageStreamImport: %s", err_msg());
        return 0;
    }
    if (!operator_is_leader(ctl->op))
        return 0; /* lost the lease while deciding: the new leader decides */
    _cleanup_json_ json_t *reply = NULL;
    int rc = kube_create(ctl->op->kube, KUBE_RES_IMAGESTREAMIMPORTS, ns, isi, NULL, &reply);
    int64_t done = time_mono_ns();
    if (rc == -ESTALE || rc == -ENOENT) {
        /* The stream changed (409) or was recreated (404 uid) since the cache showed it: the
         * informer brings the new version and we decide again. */
        log_info(key, "stream changed during import (%s); deciding again", err_msg());
        return 1000;
    }
    if (rc < 0) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err_msg());
        int requeue = 0;
        for (size_t i = 0; i < n; i++) {
            char reg[256];
            registry_of(d[i].tag->from, reg, sizeof(reg));
            metrics_inc(ctl->m.c->imports, ns, reg, "failure");
            requeue = min_requeue(requeue, tag_import_result(ctl, key, d[i].tag->tag, NULL, false));
            record_import(ctl, ns, name, d[i].tag->tag, d[i].tag->from, d[i].expected,
                          d[i].tag->current_image, false, msg, -1);
            stream_event(ctl, key, "Warning", "ImportFailed",
                         "importing %s from %s: the API server refused the ImageStreamImport: %s",
                         d[i].tag->tag, d[i].tag->from, msg);
        }
        return requeue;
    }
    struct sync_isi_result *res = NULL;
    size_t nres = 0;
    if (sync_parse_isi_result(isi, reply, &res, &nres) < 0) {
        log_warn(key, "ImageStreamImport reply: %s", err_msg());
        return 1000;
    }
    int requeue = 0;
    for (size_t i = 0; i < nres && i < n; i++) {
        const struct sync_tracked_tag *t = d[i].tag;
        char reg[256];
        registry_of(t->from, reg, sizeof(reg));
        if (res[i].success) {
            double latency = d[i].seen_at > 0 ? (double)(done - d[i].seen_at) / NS_PER_SEC : -1;
            metrics_inc(ctl->m.c->imports, ns, reg, "success");
            if (latency >= 0)
                metrics_observe(ctl->m.c->detection_to_import, latency, reg);
            tag_import_result(ctl, key, t->tag, res[i].image ? res[i].image : d[i].expected, true);
            record_import(ctl, ns, name, t->tag, t->from, res[i].image, t->current_image, true,
                          NULL, latency);
            stream_event(ctl, key, "Normal", "Imported",
                         "imported %s = %s, %.1fs after the push "
                         "was seen",
                         t->tag, res[i].image ? res[i].image : d[i].expected,
                         latency >= 0 ? latency : 0.0);
        } else {
            metrics_inc(ctl->m.c->imports, ns, reg, "failure");
            requeue = min_requeue(requeue, tag_import_result(ctl, key, t->tag, NULL, false));
            record_import(ctl, ns, name, t->tag, t->from, d[i].expected, t->current_image, false,
                          res[i].message, -1);
            stream_event(ctl, key, "Warning", "ImportFailed", "importing %s from %s: %s: %s",
                         t->tag, t->from, res[i].reason, res[i].message);
        }
    }
    sync_isi_results_free(res, nres);
    return requeue;
}

/* Decide which tracked tags moved (leader only) and import them. */
static int decide_and_import(struct sync_controller *ctl, const char *key, const json_t *is,
                             const struct sync_stream_tracking *t, char **keys)
{
    struct decision *d = calloc(t->ntags ? t->ntags : 1, sizeof(*d));
    if (!d)
        return 1000;
    size_t n = 0;
    int64_t now = time_mono_ns(), next_retry = INT64_MAX;
    for (size_t i = 0; i < t->ntags; i++) {
        if (!keys[i])
            continue;
        _cleanup_free_ char *digest = NULL;
        _cleanup_json_ json_t *children = NULL;
        int64_t seen_at = 0;
        if (scheduler_observation(ctl->sched, keys[i], &digest, &children, &seen_at) < 0)
            continue; /* not polled yet */
        const char *expected = sync_expected_image(&t->tags[i], digest, children, &ctl->platform);
        if (!expected) {
            log_warn(key, "tag %s: %s", t->tags[i].tag, err_msg());
            continue;
        }
        if (!sync_tag_changed(&t->tags[i], expected) ||
            recently_imported(ctl, key, &t->tags[i], expected))
            continue;
        int64_t until = tag_backoff_until(ctl, key, t->tags[i].tag);
        if (until > now) {
            if (until < next_retry)
                next_retry = until;
            continue;
        }
        d[n].tag = &t->tags[i];
        d[n].expected = strdup(expected);
        d[n].seen_at = seen_at;
        n++;
    }
    int rc = 0;
    if (n > 0) {
        log_info(key, "%zu tag(s) changed in the registry; importing", n);
        rc = import_tags(ctl, key, is, d, n);
    }
    for (size_t i = 0; i < n; i++)
        free(d[i].expected);
    free(d);
    if (next_retry != INT64_MAX)
        rc = min_requeue(rc, (int)((next_retry - now) / NS_PER_MS) + 1);
    return rc;
}

static void forget_stream(struct sync_controller *ctl, const char *key)
{
    scheduler_set_stream(ctl->sched, key, NULL, 0, time_mono_ns());
    pthread_mutex_lock(&ctl->lock);
    strmap_remove(ctl->states, key);
    pthread_mutex_unlock(&ctl->lock);
}

static int reconcile(void *vctl, const char *key)
{
    struct sync_controller *ctl = vctl;
    _cleanup_json_ json_t *is = kube_cache_get_by_key(ctl->informer, key);
    const char *ns = jsonx_str(is, "metadata", "namespace");
    if (!is || !ns || !operator_namespace_tracked(ctl->op, ns) ||
        jsonx_get(is, "metadata", "deletionTimestamp")) {
        forget_stream(ctl, key);
        return 0;
    }
    struct operator_settings settings;
    operator_settings_copy(ctl->op, &settings);
    struct sync_stream_tracking t;
    int rc = sync_track_stream(is, &settings.sync, &t);
    operator_settings_clear(&settings);
    if (rc < 0) {
        log_warn(key, "%s", err_msg());
        sync_stream_tracking_clear(&t);
        return 0;
    }
    report_warnings(ctl, key, &t);
    if (t.ntags == 0) {
        forget_stream(ctl, key);
        sync_stream_tracking_clear(&t);
        return 0;
    }
    struct ns_keyring *kr = keyring_acquire(ctl, ns, t.name);
    char **keys = calloc(t.ntags, sizeof(char *));
    rc = keys ? subscribe_tags(ctl, key, &t, kr, keys) : -ENOMEM;
    keyring_release(ctl, kr);
    if (rc == 0 && operator_is_leader(ctl->op))
        rc = decide_and_import(ctl, key, is, &t, keys);
    for (size_t i = 0; keys && i < t.ntags; i++)
        free(keys[i]);
    free(keys);
    sync_stream_tracking_clear(&t);
    return rc;
}

/* ---- informer, settings, status ---- */

static void stream_changed(void *vctl, const json_t *old, const json_t *obj)
{
    struct sync_controller *ctl = vctl;
    (void)old;
    _cleanup_free_ char *key = kube_object_key(obj);
    if (key)
        workqueue_add(ctl->queue, key);
}

static void requeue_all(struct sync_controller *ctl)
{
    _cleanup_json_ json_t *all = NULL;
    if (kube_cache_list(ctl->informer, NULL, &all) < 0)
        return;
    size_t i;
    json_t *obj;
    json_array_foreach (all, i, obj) {
        _cleanup_free_ char *key = kube_object_key(obj);
        if (key)
            workqueue_add(ctl->queue, key);
    }
}

/* Settings changed, or this replica started leading. */
static void settings_changed(void *vctl)
{
    struct sync_controller *ctl = vctl;
    struct operator_settings s;
    operator_settings_copy(ctl->op, &s);
    scheduler_set_defaults(ctl->sched, s.max_concurrent_polls, s.max_concurrent_per_registry,
                           s.registry_rps);
    scheduler_clear_registry_limits(ctl->sched);
    for (int i = 0; i < s.nregistries; i++) {
        const struct operator_registry *r = &s.registries[i];
        if (r->requests_per_second > 0 || r->max_concurrent_polls > 0)
            scheduler_set_registry_limits(ctl->sched, r->host, r->requests_per_second,
                                          r->max_concurrent_polls);
    }
    operator_settings_clear(&s);
    if (operator_is_leader(ctl->op))
        scheduler_spread(ctl->sched, time_mono_ns());
    requeue_all(ctl);
}

static void collect_metrics(void *vctl)
{
    struct sync_controller *ctl = vctl;
    struct scheduler_stats st;
    scheduler_get_stats(ctl->sched, &st);
    metrics_set(ctl->m.sources, (double)st.sources);
    metrics_set(ctl->m.backoffs, (double)st.backoffs);
    metrics_set(ctl->m.in_flight, (double)st.in_flight);
    metrics_set(ctl->m.queue_depth, (double)workqueue_len(ctl->queue), "imagestreams");
    metrics_set(ctl->m.c->leader, operator_is_leader(ctl->op) ? 1.0 : 0.0);
}

static json_t *sources_snapshot(void *vctl)
{
    struct sync_controller *ctl = vctl;
    return scheduler_snapshot(ctl->sched, time_mono_ns(), time_real_ns());
}

static json_t *imports_snapshot(void *vctl)
{
    struct sync_controller *ctl = vctl;
    pthread_mutex_lock(&ctl->lock);
    json_t *copy = jsonx_dup(ctl->imports);
    pthread_mutex_unlock(&ctl->lock);
    return copy;
}

static void *status_main(void *arg)
{
    struct sync_controller *ctl = arg;
    pthread_mutex_lock(&ctl->lock);
    while (!atomic_load(&ctl->stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += STATUS_PERIOD_NS / NS_PER_SEC;
        pthread_cond_timedwait(&ctl->status_cond, &ctl->lock, &ts);
        if (atomic_load(&ctl->stop))
            break;
        pthread_mutex_unlock(&ctl->lock);
        struct scheduler_stats st;
        scheduler_get_stats(ctl->sched, &st);
        operator_update_config_status(ctl->op, (long)st.tags, (long)st.sources, (long)st.backoffs);
        pthread_mutex_lock(&ctl->lock);
    }
    pthread_mutex_unlock(&ctl->lock);
    return NULL;
}

static void init_metrics(struct sync_metrics *m)
{
    static const char *const queue[] = {"queue", NULL};
    static const char *const none[] = {NULL};
    m->c = metrics_catalog();
    m->sources = metrics_gauge("istrigger_unique_sources",
                               "Distinct sources polled (tags sharing one share a poll).", none);
    m->backoffs = metrics_gauge("istrigger_source_backoffs",
                                "Sources whose last poll failed and that are backing off.", none);
    m->in_flight = metrics_gauge("istrigger_polls_in_flight", "Registry checks in flight.", none);
    m->queue_depth =
        metrics_gauge("istrigger_workqueue_depth", "Keys waiting in a work queue.", queue);
}

int sync_controller_start(struct operator* op)
{
    struct sync_controller *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return -ENOMEM;
    op->sync = ctl;
    ctl->op = op;
    ctl->platform.os = op->cfg.platform_os;
    ctl->platform.arch = op->cfg.platform_arch;
    ctl->secrets_refresh_ns = op->cfg.secrets_refresh_ns;
    pthread_mutex_init(&ctl->lock, NULL);
    pthread_cond_init(&ctl->status_cond, NULL);
    ctl->keyrings = strmap_new(keyring_map_free);
    ctl->states = strmap_new(stream_state_free);
    ctl->imports = json_array();
    if (!ctl->keyrings || !ctl->states || !ctl->imports)
        return -ENOMEM;
    init_metrics(&ctl->m);

    struct operator_settings s;
    operator_settings_copy(op, &s);
    struct scheduler_opts so = {.max_in_flight = s.max_concurrent_polls,
                                .max_in_flight_per_registry = s.max_concurrent_per_registry,
                                .requests_per_second = s.registry_rps,
                                .max_backoff_ns = op->cfg.max_backoff_ns};
    operator_settings_clear(&s);
    int rc = scheduler_new(&so, &ctl->sched);
    if (rc < 0)
        return rc;
    struct registry_client_opts ro = {.timeout_ns = op->cfg.registry_timeout_ns,
                                      .max_retries = -1, /* the scheduler backs off */
                                      .on_request = metrics_on_registry_request};
    rc = registry_client_new(&ro, &ctl->reg);
    if (rc < 0)
        return err_wrap(rc, "creating the registry client");
    ctl->batch = registry_batch_new(ctl->reg, 64);
    if (!ctl->batch)
        return -ENOMEM;

    rc = workqueue_new("imagestreams", reconcile, ctl, op->cfg.workers > 0 ? op->cfg.workers : 4,
                       &ctl->queue);
    if (rc < 0)
        return err_wrap(rc, "creating the ImageStream work queue");
    struct kube_informer_opts io = {.name = "imagestreams",
                                    .namespaces = (const char *const *)op->watch_namespaces,
                                    .resync_ns = 10 * 60 * NS_PER_SEC};
    rc = kube_informer_new(op->kube, KUBE_RES_IMAGESTREAMS, NULL, &io, &ctl->informer);
    if (rc < 0)
        return err_wrap(rc, "creating the ImageStream informer");
    struct kube_event_handlers h = {.on_add = stream_changed,
                                    .on_update = stream_changed,
                                    .on_delete = stream_changed,
                                    .ctx = ctl};
    if ((rc = kube_informer_add_handlers(ctl->informer, &h)) < 0 ||
        (rc = operator_add_listener(op, settings_changed, ctl)) < 0 ||
        (rc = metrics_add_collector(collect_metrics, ctl)) < 0 ||
        (rc = status_register_provider("sources", sources_snapshot, ctl)) < 0 ||
        (rc = status_register_provider("imports", imports_snapshot, ctl)) < 0)
        return err_wrap(rc, "setting up the sync controller");
    if ((rc = kube_informer_start(ctl->informer)) < 0 || (rc = workqueue_start(ctl->queue)) < 0)
        return err_wrap(rc, "starting the sync controller");
    if ((rc = -pthread_create(&ctl->poller, NULL, poller_main, ctl)) < 0)
        return err_wrap(rc, "starting the poller thread");
    ctl->poller_started = true;
    if ((rc = -pthread_create(&ctl->status_thread, NULL, status_main, ctl)) < 0)
        return err_wrap(rc, "starting the status thread");
    ctl->status_started = true;
    log_info(NULL, "sync controller started (%s)",
             op->watch_namespaces ? "selected namespaces" : "all namespaces");
    return 0;
}

void sync_controller_stop(struct operator* op)
{
    struct sync_controller *ctl = op->sync;
    if (!ctl)
        return;
    atomic_store(&ctl->stop, true);
    status_unregister_provider("sources");
    status_unregister_provider("imports");
    metrics_remove_collector(collect_metrics, ctl);
    if (ctl->batch)
        registry_batch_wakeup(ctl->batch);
    if (ctl->poller_started)
        pthread_join(ctl->poller, NULL);
    pthread_mutex_lock(&ctl->lock);
    pthread_cond_broadcast(&ctl->status_cond);
    pthread_mutex_unlock(&ctl->lock);
    if (ctl->status_started)
        pthread_join(ctl->status_thread, NULL);
    if (ctl->informer)
        kube_informer_stop(ctl->informer);
    if (ctl->queue)
        workqueue_shutdown(ctl->queue);
    /* Pending checks complete with -ECANCELED; their callbacks still need the scheduler. */
    registry_batch_free(ctl->batch);
    workqueue_free(ctl->queue);
    kube_informer_free(ctl->informer);
    registry_client_free(ctl->reg);
    scheduler_free(ctl->sched);
    pthread_mutex_lock(&ctl->lock);
    strmap_free(ctl->keyrings);
    strmap_free(ctl->states);
    pthread_mutex_unlock(&ctl->lock);
    json_decref(ctl->imports);
    pthread_cond_destroy(&ctl->status_cond);
    pthread_mutex_destroy(&ctl->lock);
    free(ctl);
    op->sync = NULL;
}
