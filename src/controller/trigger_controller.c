/*
 * trigger_controller.c - the ImageTrigger reconciler (see include/istrigger/controller/trigger.h).
 *
 * reconcile(ns/name) is level-driven and idempotent:
 *   1. The ImageTrigger is gone, or being deleted: release everything it owns (its entries on
 *      every workload whose ownership record names it, its claim on every stream's
 *      lookupPolicy), then drop the finalizer.
 *   2. Otherwise make sure the finalizer is there, release workloads it no longer targets
 *      (retarget), plan the target (trigger_plan_workload) against the cached object and
 *      the ImageTriggers on the same target, and send the merge patch when there is one; a 409
 *      (stale resourceVersion) re-reads the workload from the API and plans again.
 *   3. Claim or release lookupPolicy.local on source streams.
 *   4. Status (trigger_status_build) and events, written only on change. "Change" is judged
 *      against the status this controller last wrote while the cache has not yet seen that
 *      write (same resourceVersion as the copy it was computed from), so two reconciles before
 *      the watch catches up neither patch twice nor record the same event twice.
 * Watches wake it: the ImageTrigger itself, its target (so a stripped annotation is put back
 * and a target created later gets its triggers), and its source streams (a stream created or
 * imported later resolves).
 */
#include "istrigger/controller/trigger.h"

#include "istrigger/controller/trigger_plan.h"
#include "istrigger/controller/trigger_status.h"
#include "istrigger/http/status.h"
#include "istrigger/kube/client.h"
#include "istrigger/kube/events.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/resources.h"
#include "istrigger/kube/workqueue.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKINDS         4
#define CONFLICT_TRIES 5
#define INDEX_TARGET   "target"
#define INDEX_SOURCE   "source"
#define INDEX_OWNER    "owner"
#define INDEX_LOOKUP   "lookupOwner"
#define DEFAULT_RESYNC (10 * 60 * NS_PER_SEC)
#define SYNC_POLL_NS   (100 * NS_PER_MS)

static const char *const kinds[NKINDS] = {"Deployment", "StatefulSet", "DaemonSet", "CronJob"};

struct kind_ctx {
    struct trigger_controller *tc;
    int kind;
};

struct trigger_controller {
    struct kube_client *client;     /* borrowed */
    struct kube_recorder *recorder; /* borrowed, may be NULL */
    struct kube_informer *triggers;
    struct kube_informer *workloads[NKINDS];
    struct kube_informer *streams;
    struct workqueue *queue;
    struct kind_ctx kind_ctx[NKINDS];
    bool (*may_write)(void *ctx);
    void *may_write_ctx;
    bool running;
    const char *const *namespaces; /* watched (opts->namespaces, borrowed); NULL: all */
    /* key -> {"rv": resourceVersion the status was computed from, "status": what was written}.
     * Owned; guarded by written_lock (workers reconcile different keys at once). */
    json_t *written;
    pthread_mutex_t written_lock;
    pthread_t starter; /* waits for the caches, then starts the workers */
    bool has_starter;
};

static const struct kube_resource *kind_resource(int k)
{
    switch (k) {
    case 0:
        return KUBE_RES_DEPLOYMENTS;
    case 1:
        return KUBE_RES_STATEFULSETS;
    case 2:
        return KUBE_RES_DAEMONSETS;
    default:
        return KUBE_RES_CRONJOBS;
    }
}

static int kind_index(const char *kind)
{
    for (int k = 0; kind && k < NKINDS; k++) {
        if (!strcmp(kinds[k], kind))
            return k;
    }
    return -1;
}

/* ---- indexes ---------------------------------------------------------------------------- */

static int index_target(const json_t *it, void (*emit)(void *e, const char *v), void *e)
{
    const char *ns = jsonx_str(it, "metadata", "namespace");
    const char *kind = jsonx_str(it, "spec", "target", "kind");
    const char *name = jsonx_str(it, "spec", "target", "name");
    char key[600];

    if (!ns || !kind || !name)
        return 0;
    snprintf(key, sizeof(key), "%s/%s/%s", ns, kind, name);
    emit(e, key);
    return 0;
}

/* "NS/STREAM" of a trigger's source (the ImageTrigger's namespace unless from.namespace). */
static bool source_key(const json_t *it, const json_t *trig, char *key, size_t size)
{
    const char *ns = jsonx_str(trig, "from", "namespace");
    const char *istag = jsonx_str(trig, "from", "name");
    const char *colon = istag ? strchr(istag, ':') : NULL;

    if (!ns || !*ns)
        ns = jsonx_str(it, "metadata", "namespace");
    if (!ns || !colon)
        return false;
    snprintf(key, size, "%s/%.*s", ns, (int)(colon - istag), istag);
    return true;
}

static int index_source(const json_t *it, void (*emit)(void *e, const char *v), void *e)
{
    size_t i;
    json_t *trig;
    char key[600];

    json_array_foreach (jsonx_get(it, "spec", "triggers"), i, trig) {
        if (source_key(it, trig, key, sizeof(key)))
            emit(e, key);
    }
    return 0;
}

static int index_owner(const json_t *wl, void (*emit)(void *e, const char *v), void *e)
{
    trigger_workload_owners(wl, emit, e);
    return 0;
}

static int index_lookup_owner(const json_t *is, void (*emit)(void *e, const char *v), void *e)
{
    const char *s = jsonx_str(is, "metadata", "annotations", TRIGGER_LOOKUP_OWNERS_ANNOTATION);
    _cleanup_json_ json_t *owners = s ? json_loads(s, 0, NULL) : NULL;
    size_t i;
    json_t *v;

    json_array_foreach (owners, i, v) {
        if (json_is_string(v))
            emit(e, json_string_value(v));
    }
    return 0;
}

/* ---- handlers: only enqueue ------------------------------------------------------------- */

static void enqueue_obj(struct trigger_controller *tc, const json_t *obj)
{
    _cleanup_free_ char *key = kube_object_key(obj);
    if (key)
        workqueue_add(tc->queue, key);
}

static void enqueue_by_index(struct trigger_controller *tc, struct kube_informer *inf,
                             const char *index, const char *value)
{
    _cleanup_json_ json_t *arr = NULL;
    size_t i;
    json_t *obj;

    if (kube_cache_by_index(inf, index, value, &arr) < 0)
        return;
    json_array_foreach (arr, i, obj) {
        enqueue_obj(tc, obj);
    }
}

static void enqueue_key(void *e, const char *key)
{
    workqueue_add(((struct trigger_controller *)e)->queue, key);
}

static void enqueue_peers(struct trigger_controller *tc, const json_t *it)
{
    const char *ns = jsonx_str(it, "metadata", "namespace");
    const char *kind = jsonx_str(it, "spec", "target", "kind");
    const char *name = jsonx_str(it, "spec", "target", "name");
    char key[600];

    if (!ns || !kind || !name)
        return;
    snprintf(key, sizeof(key), "%s/%s/%s", ns, kind, name);
    enqueue_by_index(tc, tc->triggers, INDEX_TARGET, key);
}

static void on_trigger(void *ctx, const json_t *old, const json_t *obj)
{
    struct trigger_controller *tc = ctx;

    enqueue_obj(tc, obj);
    /* Other ImageTriggers on the same (old or new) target may win or lose containers. */
    enqueue_peers(tc, obj);
    if (old)
        enqueue_peers(tc, old);
}

static void on_workload(void *ctx, const json_t *old, const json_t *obj)
{
    struct kind_ctx *kc = ctx;
    const char *ns = jsonx_str(obj, "metadata", "namespace");
    const char *name = jsonx_str(obj, "metadata", "name");
    char key[600];

    if (!ns || !name)
        return;
    snprintf(key, sizeof(key), "%s/%s/%s", ns, kinds[kc->kind], name);
    enqueue_by_index(kc->tc, kc->tc->triggers, INDEX_TARGET, key);
    /* Owners recorded on it that may no longer target it (retarget, deletion). */
    trigger_workload_owners(obj, enqueue_key, kc->tc);
    if (old)
        trigger_workload_owners(old, enqueue_key, kc->tc);
}

static void on_stream(void *ctx, const json_t *old, const json_t *obj)
{
    struct trigger_controller *tc = ctx;
    _cleanup_free_ char *key = kube_object_key(obj);

    if (key)
        enqueue_by_index(tc, tc->triggers, INDEX_SOURCE, key);
    index_lookup_owner(obj, enqueue_key, tc);
    if (old)
        index_lookup_owner(old, enqueue_key, tc);
}

/* ---- writes ------------------------------------------------------------------------------ */

static void event(struct trigger_controller *tc, const json_t *it, const char *type,
                  const char *reason, const char *msg)
{
    if (tc->recorder)
        kube_event(tc->recorder, it, type, reason, "%s", msg);
}

/*
 * Plan and patch one workload, re-reading it on 409 Conflict. `wl` is the cached object
 * (borrowed). On return `plan` holds the claims of the last plan (the caller clears it);
 * `*wrote` tells whether a patch was sent. -ENOENT when the workload disappeared.
 */
static int apply_workload(struct trigger_controller *tc, int k, const json_t *it, bool release,
                          const json_t *wl, const json_t *peers, struct trigger_workload_plan *plan,
                          bool *wrote)
{
    const struct kube_resource *res = kind_resource(k);
    const char *ns = jsonx_str(wl, "metadata", "namespace");
    const char *name = jsonx_str(wl, "metadata", "name");
    _cleanup_json_ json_t *fresh = NULL;
    int r = 0;

    *wrote = false;
    memset(plan, 0, sizeof(*plan));
    for (int attempt = 0; attempt < CONFLICT_TRIES; attempt++) {
        struct trigger_workload_input in = {.trigger = it,
                                            .release = release,
                                            .workload = fresh ? fresh : wl,
                                            .kind = kinds[k],
                                            .peers = peers};
        trigger_workload_plan_clear(plan);
        r = trigger_plan_workload(&in, plan);
        if (r < 0)
            return err_wrap(r, "%s %s/%s", kinds[k], ns, name);
        if (!plan->patch)
            return 0;
        r = kube_patch(tc->client, res, ns, name, KUBE_PATCH_MERGE, plan->patch, NULL, NULL);
        if (r == 0) {
            *wrote = true;
            return 0;
        }
        if (r != -ESTALE)
            return r;
        json_decref(fresh);
        fresh = NULL;
        r = kube_get(tc->client, res, ns, name, NULL, &fresh);
        if (r < 0)
            return r;
    }
    return err_set(-ESTALE, "%s %s/%s: still conflicting after %d attempts", kinds[k], ns, name,
                   CONFLICT_TRIES);
}

/* Claim or release lookupPolicy.local on one stream (cached `is`), retrying conflicts. */
static int apply_stream(struct trigger_controller *tc, const char *owner, bool want,
                        const json_t *is)
{
    const char *ns = jsonx_str(is, "metadata", "namespace");
    const char *name = jsonx_str(is, "metadata", "name");
    _cleanup_json_ json_t *fresh = NULL;
    int r;

    for (int attempt = 0; attempt < CONFLICT_TRIES; attempt++) {
        _cleanup_json_ json_t *patch = NULL;
        r = trigger_plan_stream_lookup(owner, want, fresh ? fresh : is, &patch);
        if (r < 0 || !patch)
            return r;
        r = kube_patch(tc->client, KUBE_RES_IMAGESTREAMS, ns, name, KUBE_PATCH_MERGE, patch, NULL,
                       NULL);
        if (r == 0) {
            log_info(owner, "%s lookupPolicy.local on ImageStream %s/%s", want ? "set" : "cleared",
                     ns, name);
            return 0;
        }
        if (r != -ESTALE)
            return r;
        json_decref(fresh);
        fresh = NULL;
        if ((r = kube_get(tc->client, KUBE_RES_IMAGESTREAMS, ns, name, NULL, &fresh)) < 0)
            return r;
    }
    return err_set(-ESTALE, "ImageStream %s/%s: still conflicting", ns, name);
}

/* Release this trigger's claims on every stream except those in `keep` (object of keys). */
static int release_streams(struct trigger_controller *tc, const char *owner, const json_t *keep)
{
    _cleanup_json_ json_t *arr = NULL;
    size_t i;
    json_t *is;
    int r, first = 0;

    if ((r = kube_cache_by_index(tc->streams, INDEX_LOOKUP, owner, &arr)) < 0)
        return r;
    json_array_foreach (arr, i, is) {
        _cleanup_free_ char *key = kube_object_key(is);
        if (key && keep && json_object_get(keep, key))
            continue;
        r = apply_stream(tc, owner, false, is);
        if (r < 0 && r != -ENOENT && !first) {
            first = r;
            log_warn(owner, "releasing lookupPolicy: %s", err_msg());
        }
    }
    return first;
}

/* Release this trigger's entries on every workload recorded as owned by it, except the one
 * of kind `keep_kind` named `keep_name` (its current target; NULL: none). */
static int release_workloads(struct trigger_controller *tc, const json_t *it, const char *owner,
                             const char *keep_kind, const char *keep_name)
{
    int first = 0;

    for (int k = 0; k < NKINDS; k++) {
        _cleanup_json_ json_t *arr = NULL;
        size_t i;
        json_t *wl;
        if (kube_cache_by_index(tc->workloads[k], INDEX_OWNER, owner, &arr) < 0)
            continue;
        json_array_foreach (arr, i, wl) {
            struct trigger_workload_plan plan;
            bool wrote;
            int r;
            if (keep_kind && !strcmp(keep_kind, kinds[k]) &&
                !strcmp(keep_name, jsonx_str(wl, "metadata", "name") ?: ""))
                continue;
            r = apply_workload(tc, k, it, true, wl, NULL, &plan, &wrote);
            trigger_workload_plan_clear(&plan);
            if (r < 0 && r != -ENOENT) {
                log_warn(owner, "releasing triggers: %s", err_msg());
                if (!first)
                    first = r;
            } else if (wrote) {
                log_info(owner, "removed its triggers from %s %s", kinds[k],
                         jsonx_str(wl, "metadata", "name"));
            }
        }
    }
    return first;
}

static bool has_finalizer(const json_t *it)
{
    size_t i;
    json_t *f;

    json_array_foreach (jsonx_get(it, "metadata", "finalizers"), i, f) {
        if (json_is_string(f) && !strcmp(json_string_value(f), TRIGGER_FINALIZER))
            return true;
    }
    return false;
}

/* Add or remove our finalizer with a merge patch guarded by resourceVersion. */
static int set_finalizer(struct trigger_controller *tc, const json_t *it, bool present)
{
    const char *ns = jsonx_str(it, "metadata", "namespace");
    const char *name = jsonx_str(it, "metadata", "name");
    const char *rv = jsonx_str(it, "metadata", "resourceVersion");
    _cleanup_json_ json_t *list = json_array(), *patch = NULL;
    size_t i;
    json_t *f;

    if (!list)
        return -ENOMEM;
    json_array_foreach (jsonx_get(it, "metadata", "finalizers"), i, f) {
        if (!json_is_string(f) || strcmp(json_string_value(f), TRIGGER_FINALIZER))
            json_array_append(list, f);
    }
    if (present)
        json_array_append_new(list, json_string(TRIGGER_FINALIZER));
    patch = json_pack("{s:{s:s?,s:O}}", "metadata", "resourceVersion", rv, "finalizers", list);
    if (!patch)
        return -ENOMEM;
    return kube_patch(tc->client, KUBE_RES_IMAGETRIGGERS, ns, name, KUBE_PATCH_MERGE, patch, NULL,
                      NULL);
}

/* ---- reconcile --------------------------------------------------------------------------- */

static int finalize(struct trigger_controller *tc, const json_t *it, const char *owner)
{
    int r = release_workloads(tc, it, owner, NULL, NULL);
    int r2 = release_streams(tc, owner, NULL);

    if (r < 0 || r2 < 0)
        return -EAGAIN;
    if (it && jsonx_str(it, "metadata", "deletionTimestamp") && has_finalizer(it)) {
        r = set_finalizer(tc, it, false);
        if (r == -ENOENT)
            return 0;
        if (r < 0) {
            if (r == -ESTALE) /* a stale cached copy: the newer one is on its way */
                log_debug(owner, "removing finalizer: %s", err_msg());
            else
                log_warn(owner, "removing finalizer: %s", err_msg());
            return r;
        }
        log_info(owner, "released its triggers; finalizer removed");
    }
    return 0;
}

/* Streams of this trigger's sources that exist: object "NS/NAME" -> stream. NEW. */
static json_t *source_streams(struct trigger_controller *tc, const json_t *it)
{
    json_t *out = json_object();
    size_t i;
    json_t *trig;
    char key[600];

    json_array_foreach (jsonx_get(it, "spec", "triggers"), i, trig) {
        json_t *is;
        if (!source_key(it, trig, key, sizeof(key)) || json_object_get(out, key))
            continue;
        is = kube_cache_get_by_key(tc->streams, key);
        if (is)
            json_object_set_new(out, key, is);
    }
    return out;
}

static void emit_transition_events(struct trigger_controller *tc, const json_t *it,
                                   const json_t *old_status, const json_t *status)
{
    const json_t *oc = trigger_status_condition(old_status, "Ready");
    const json_t *nc = trigger_status_condition(status, "Ready");
    const char *nreason = jsonx_str(nc, "reason") ?: "";
    size_t i;
    json_t *t;

    if (!oc || strcmp(jsonx_str(oc, "reason") ?: "", nreason)) {
        bool ok = !strcmp(jsonx_str(nc, "status") ?: "", "True");
        event(tc, it, ok ? "Normal" : "Warning", nreason, jsonx_str(nc, "message") ?: "");
    }
    json_array_foreach (json_object_get(status, "triggers"), i, t) {
        const char *img = jsonx_str(t, "image");
        const char *old = jsonx_str(json_array_get(jsonx_get(old_status, "triggers"), i), "image");
        char msg[1024];
        if (!img || (old && !strcmp(old, img)))
            continue;
        snprintf(msg, sizeof(msg), "%s now resolves to %s", jsonx_str(t, "from") ?: "", img);
        event(tc, it, "Normal", "ImageResolved", msg);
    }
}

/* The status the API holds as far as this controller knows: the one it wrote last when the
 * cached copy `it` is still the one that write was computed from, else the cached one. NEW. */
static json_t *known_status(struct trigger_controller *tc, const char *key, const json_t *it)
{
    const char *rv = jsonx_str(it, "metadata", "resourceVersion") ?: "";
    json_t *w, *st = NULL;

    pthread_mutex_lock(&tc->written_lock);
    w = json_object_get(tc->written, key);
    if (w && !strcmp(jsonx_str(w, "rv") ?: "", rv))
        st = json_incref(json_object_get(w, "status"));
    else if (w) /* the cache has moved past that write */
        json_object_del(tc->written, key);
    pthread_mutex_unlock(&tc->written_lock);
    return st ? st : json_incref(json_object_get(it, "status"));
}

static void forget_status(struct trigger_controller *tc, const char *key)
{
    pthread_mutex_lock(&tc->written_lock);
    json_object_del(tc->written, key);
    pthread_mutex_unlock(&tc->written_lock);
}

/* Patch status when it differs from `known` (known_status): 1 written, 0 unchanged, -errno. */
static int write_status(struct trigger_controller *tc, const char *key, const json_t *it,
                        const json_t *known, json_t *status)
{
    const char *ns = jsonx_str(it, "metadata", "namespace");
    const char *name = jsonx_str(it, "metadata", "name");
    _cleanup_json_ json_t *patch = NULL, *w = NULL;

    int r;

    if (jsonx_equal(status, known))
        return 0;
    patch = json_pack("{s:O}", "status", status);
    if (!patch)
        return -ENOMEM;
    r = kube_patch(tc->client, KUBE_RES_IMAGETRIGGERS, ns, name, KUBE_PATCH_MERGE, patch, "status",
                   NULL);
    if (r < 0) {
        forget_status(tc, key); /* not known what the API holds now: trust the cache again */
        return r;
    }
    w = json_pack("{s:s, s:O}", "rv", jsonx_str(it, "metadata", "resourceVersion") ?: "", "status",
                  status);
    pthread_mutex_lock(&tc->written_lock);
    if (!w || json_object_set(tc->written, key, w) < 0)
        json_object_del(tc->written, key);
    pthread_mutex_unlock(&tc->written_lock);
    return 1;
}

int trigger_controller_reconcile(struct trigger_controller *tc, const char *key)
{
    _cleanup_json_ json_t *it = kube_cache_get_by_key(tc->triggers, key);
    _cleanup_json_ json_t *wl = NULL, *peers = NULL, *streams = NULL, *status = NULL;
    _cleanup_json_ json_t *known = NULL, *keep = json_object();
    struct trigger_workload_plan plan = {0};
    struct trigger_observation obs = {0};
    const char *kind, *target, *ns;
    char peer_key[600], apply_msg[ERR_MSG_MAX] = "";
    bool wrote = false;
    int k, r, r2;

    if (!keep)
        return -ENOMEM;
    if (tc->may_write && !tc->may_write(tc->may_write_ctx))
        return 0; /* a standby replica; enqueue_all runs when it starts leading */
    if (!it || jsonx_str(it, "metadata", "deletionTimestamp")) {
        _cleanup_json_ json_t *ghost = NULL;
        forget_status(tc, key);
        if (!it) {
            _cleanup_free_ char *gns = NULL, *gname = NULL;
            if (kube_key_split(key, &gns, &gname) < 0)
                return 0;
            ghost = json_pack("{s:{s:s,s:s}}", "metadata", "name", gname, "namespace", gns);
        }
        return finalize(tc, it ? it : ghost, key) < 0 ? -1 : 0;
    }

    if (!has_finalizer(it)) {
        r = set_finalizer(tc, it, true);
        if (r == -ESTALE) { /* a stale cached copy: the newer one is on its way */
            log_debug(key, "adding finalizer: %s", err_msg());
            return -1;
        }
        if (r < 0) {
            log_warn(key, "adding finalizer: %s", err_msg());
            return -1;
        }
        /* The update wakes us again with the new resourceVersion. */
        return 0;
    }

    ns = jsonx_str(it, "metadata", "namespace");
    kind = jsonx_str(it, "spec", "target", "kind");
    target = jsonx_str(it, "spec", "target", "name");
    k = kind_index(kind);

    /* Entries left on workloads this trigger no longer targets. */
    if (release_workloads(tc, it, key, kind, target) < 0)
        return -1;

    if (k >= 0 && target)
        wl = kube_cache_get(tc->workloads[k], ns, target);
    obs.target_found = wl != NULL;
    if (wl) {
        snprintf(peer_key, sizeof(peer_key), "%s/%s/%s", ns, kind, target);
        if (kube_cache_by_index(tc->triggers, INDEX_TARGET, peer_key, &peers) < 0)
            peers = NULL;
        r = apply_workload(tc, k, it, false, wl, peers, &plan, &wrote);
        if (r == -ENOENT) {
            obs.target_found = false;
        } else if (r < 0) {
            obs.apply_err = r;
            snprintf(apply_msg, sizeof(apply_msg), "%s", err_msg());
            obs.apply_msg = apply_msg;
            log_warn(key, "applying triggers: %s", apply_msg);
        } else if (wrote) {
            char msg[800];
            snprintf(msg, sizeof(msg),
                     "updated image.openshift.io/triggers on %s %s (%d "
                     "container trigger(s) owned by this ImageTrigger)",
                     kind, target, plan.applied);
            log_info(key, "%s", msg);
            event(tc, it, "Normal", "TriggersUpdated", msg);
        }
        obs.claims = plan.claims;
    }

    /* Image lookup on the source streams. */
    streams = source_streams(tc, it);
    if (jsonx_bool(it, false, "spec", "imageLookup", "imageStreams")) {
        const char *skey;
        json_t *is;
        json_object_foreach (streams, skey, is) {
            /* Only streams of this namespace: lookupPolicy.local only serves pods of the
             * stream's own namespace (§6.2), and flipping it on another namespace's stream
             * would let a user there change what they could not patch themselves. */
            if (strcmp(jsonx_str(is, "metadata", "namespace") ?: "", ns))
                continue;
            json_object_set_new(keep, skey, json_true());
            if (apply_stream(tc, key, true, is) < 0)
                log_warn(key, "setting lookupPolicy: %s", err_msg());
        }
    }
    r = release_streams(tc, key, keep);

    obs.streams = streams;
    known = known_status(tc, key, it);
    obs.known_status = known;
    obs.watched = tc->namespaces;
    status = trigger_status_build(it, &obs, time_real_ns());
    trigger_workload_plan_clear(&plan);
    if (!status)
        return -ENOMEM;
    r2 = write_status(tc, key, it, known, status);
    if (r2 > 0)
        emit_transition_events(tc, it, known, status);
    if (r2 < 0) {
        log_warn(key, "writing status: %s", err_msg());
        return -1;
    }
    log_debug(key, "reconciled: workload %s, status %s", wrote ? "patched" : "unchanged",
              r2 > 0 ? "patched" : "unchanged");
    return (obs.apply_err && obs.apply_err != -EBADMSG) || r < 0 ? -1 : 0;
}

void trigger_controller_enqueue_all(struct trigger_controller *tc)
{
    _cleanup_json_ json_t *all = NULL;
    size_t i;
    json_t *it;

    if (kube_cache_list(tc->triggers, NULL, &all) < 0)
        return;
    json_array_foreach (all, i, it) {
        enqueue_obj(tc, it);
    }
}

static int reconcile_cb(void *ctx, const char *key)
{
    return trigger_controller_reconcile(ctx, key);
}

/* ---- status provider --------------------------------------------------------------------- */

json_t *trigger_controller_snapshot(void *ctx)
{
    struct trigger_controller *tc = ctx;
    _cleanup_json_ json_t *all = NULL;
    json_t *out = json_array();
    size_t i, j;
    json_t *it, *t;

    if (!out || kube_cache_list(tc->triggers, NULL, &all) < 0)
        return out;
    json_array_foreach (all, i, it) {
        const json_t *ready = trigger_status_condition(json_object_get(it, "status"), "Ready");
        json_t *triggers = json_array();
        json_array_foreach (jsonx_get(it, "status", "triggers"), j, t) {
            json_array_append_new(
                triggers,
                json_pack("{s:{s:s?,s:s?},s:O?,s:b,s:s?,s:s?,s:s?}", "from", "namespace",
                          jsonx_str(t, "namespace"), "name", jsonx_str(t, "from"), "containers",
                          json_object_get(t, "containers"), "paused",
                          jsonx_bool(t, false, "paused"), "resolvedImage", jsonx_str(t, "image"),
                          "lastChange", jsonx_str(t, "lastChangeTime"), "state",
                          jsonx_str(t, "state")));
        }
        json_array_append_new(
            out, json_pack("{s:s?,s:s?,s:{s:s?,s:s?},s:o,s:b,s:s?,s:s?}", "namespace",
                           jsonx_str(it, "metadata", "namespace"), "name",
                           jsonx_str(it, "metadata", "name"), "target", "kind",
                           jsonx_str(it, "spec", "target", "kind"), "name",
                           jsonx_str(it, "spec", "target", "name"), "triggers", triggers, "ready",
                           !strcmp(jsonx_str(ready, "status") ?: "", "True"), "reason",
                           jsonx_str(ready, "reason"), "message", jsonx_str(ready, "message")));
    }
    return out;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int new_informer(struct trigger_controller *tc, const struct kube_resource *res,
                        const struct trigger_controller_opts *opts, const char *name,
                        struct kube_informer **out)
{
    struct kube_informer_opts io = {
        .namespaces = opts->namespaces,
        .resync_ns = opts->resync_ns > 0 ? opts->resync_ns : DEFAULT_RESYNC,
        .name = name,
    };
    (void)tc;
    return kube_informer_new(opts->client, res, NULL, &io, out);
}

int trigger_controller_new(const struct trigger_controller_opts *opts,
                           struct trigger_controller **out)
{
    struct trigger_controller *tc = calloc(1, sizeof(*tc));
    struct kube_event_handlers h = {on_trigger, on_trigger, on_trigger, NULL};
    int r;

    *out = NULL;
    if (!tc)
        return -ENOMEM;
    tc->client = opts->client;
    tc->recorder = opts->recorder;
    tc->may_write = opts->may_write;
    tc->may_write_ctx = opts->may_write_ctx;
    tc->namespaces = opts->namespaces;
    pthread_mutex_init(&tc->written_lock, NULL);
    tc->written = json_object();
    if (!tc->written) {
        free(tc);
        return -ENOMEM;
    }
    h.ctx = tc;
    if ((r = new_informer(tc, KUBE_RES_IMAGETRIGGERS, opts, "imagetriggers", &tc->triggers)) ||
        (r = kube_informer_add_index(tc->triggers, INDEX_TARGET, index_target)) ||
        (r = kube_informer_add_index(tc->triggers, INDEX_SOURCE, index_source)) ||
        (r = kube_informer_add_handlers(tc->triggers, &h)))
        goto fail;
    for (int k = 0; k < NKINDS; k++) {
        struct kube_event_handlers wh = {on_workload, on_workload, on_workload, NULL};
        tc->kind_ctx[k] = (struct kind_ctx){tc, k};
        wh.ctx = &tc->kind_ctx[k];
        if ((r = new_informer(tc, kind_resource(k), opts, NULL, &tc->workloads[k])) ||
            (r = kube_informer_add_index(tc->workloads[k], INDEX_OWNER, index_owner)) ||
            (r = kube_informer_add_handlers(tc->workloads[k], &wh)))
            goto fail;
    }
    {
        struct kube_event_handlers sh = {on_stream, on_stream, on_stream, tc};
        if ((r = new_informer(tc, KUBE_RES_IMAGESTREAMS, opts, "imagestreams (triggers)",
                              &tc->streams)) ||
            (r = kube_informer_add_index(tc->streams, INDEX_LOOKUP, index_lookup_owner)) ||
            (r = kube_informer_add_handlers(tc->streams, &sh)))
            goto fail;
    }
    if ((r = workqueue_new("imagetriggers", reconcile_cb, tc, opts->workers > 0 ? opts->workers : 2,
                           &tc->queue)))
        goto fail;
    *out = tc;
    return 0;
fail:
    err_wrap(r, "creating the ImageTrigger controller");
    trigger_controller_free(tc);
    return r;
}

/* Wait for every cache, then start the workers. Runs on the starter thread, so `istrigger run`
 * does not hang when the ImageTrigger CRD is not installed yet (the informer keeps retrying and
 * the controller starts once it is). */
static int start_when_synced(struct trigger_controller *tc, int64_t timeout_ns)
{
    int r;

    if ((r = kube_informer_wait_synced(tc->triggers, timeout_ns)) < 0)
        return err_wrap(r, "waiting for the ImageTrigger cache");
    for (int k = 0; k < NKINDS; k++) {
        if ((r = kube_informer_wait_synced(tc->workloads[k], timeout_ns)) < 0)
            return err_wrap(r, "waiting for the %s cache", kinds[k]);
    }
    if ((r = kube_informer_wait_synced(tc->streams, timeout_ns)) < 0)
        return err_wrap(r, "waiting for the ImageStream cache");
    if ((r = workqueue_start(tc->queue)) < 0)
        return err_wrap(r, "starting the ImageTrigger workers");
    status_register_provider("imagetriggers", trigger_controller_snapshot, tc);
    log_info(NULL, "ImageTrigger controller started (%zu ImageTriggers)",
             kube_cache_len(tc->triggers));
    return 0;
}

static void *starter_main(void *arg)
{
    struct trigger_controller *tc = arg;

    if (start_when_synced(tc, -1) < 0 && tc->running)
        log_error(NULL, "%s", err_msg());
    return NULL;
}

int trigger_controller_run(struct trigger_controller *tc, int64_t sync_timeout_ns)
{
    struct kube_informer *all[NKINDS + 2];
    int n = 0, r;

    all[n++] = tc->triggers;
    for (int k = 0; k < NKINDS; k++)
        all[n++] = tc->workloads[k];
    all[n++] = tc->streams;
    for (int i = 0; i < n; i++) {
        if ((r = kube_informer_start(all[i])) < 0)
            return err_wrap(r, "starting the ImageTrigger controller's informers");
    }
    tc->running = true;
    if (sync_timeout_ns != 0)
        return start_when_synced(tc, sync_timeout_ns);
    if ((r = pthread_create(&tc->starter, NULL, starter_main, tc)) != 0)
        return err_set(-r, "starting the ImageTrigger controller: %s", strerror(r));
    tc->has_starter = true;
    return 0;
}

void trigger_controller_shutdown(struct trigger_controller *tc)
{
    if (!tc || !tc->running)
        return;
    tc->running = false;
    status_unregister_provider("imagetriggers");
    /* Stopping the informers ends the starter's wait (-ECANCELED). */
    kube_informer_stop(tc->triggers);
    for (int k = 0; k < NKINDS; k++)
        kube_informer_stop(tc->workloads[k]);
    kube_informer_stop(tc->streams);
    if (tc->has_starter) {
        pthread_join(tc->starter, NULL);
        tc->has_starter = false;
    }
    if (tc->queue)
        workqueue_shutdown(tc->queue);
}

void trigger_controller_free(struct trigger_controller *tc)
{
    if (!tc)
        return;
    trigger_controller_shutdown(tc);
    workqueue_free(tc->queue);
    kube_informer_free(tc->triggers);
    for (int k = 0; k < NKINDS; k++)
        kube_informer_free(tc->workloads[k]);
    kube_informer_free(tc->streams);
    json_decref(tc->written);
    pthread_mutex_destroy(&tc->written_lock);
    free(tc);
}
