/*
 * sync_reconcile.c - sync_reconcile(key) of the sync controller's work queue workers, level-based:
 * read the cached ImageStream, compute its tracked tags (sync_track_stream), get the
 * namespace's keyring (sync_keyring.c), subscribe the tags to their sources in the scheduler,
 * and - on the leader only - compare each tag with the last digest its source served and POST
 * one ImageStreamImport for the changed tags, reporting each tag's outcome (events, metrics,
 * the recent-imports ring of the status page).
 *
 * Restart safety: decisions compare what the registry serves with the stream's status
 * (status.tags[].items[0].image, §1.1), never with memory of earlier polls, so a restarted or
 * newly elected operator imports nothing that did not change. The per-stream state
 * (ctl->states, under ctl->lock) only remembers warnings already reported, imports the cache
 * does not show yet, and per-tag backoff after failed imports (no retry storm); the ISI's
 * stream resourceVersion makes a decision made on a stale cache fail with 409 instead of
 * acting on it.
 */
#include "sync_internal.h"

#include "istrigger/kube/client.h"
#include "istrigger/kube/resources.h"
#include "istrigger/registry/ref.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_BACKOFF_NS (5 * NS_PER_SEC)
#define RECENT_IMPORTS    50

void sync_stream_state_free(void *p)
{
    struct stream_state *st = p;
    if (!st)
        return;
    free(st->warned);
    strmap_free(st->imported);
    strmap_free(st->backoff);
    strmap_free(st->importing);
    free(st);
}

static void tag_backoff_free(void *p)
{
    struct tag_backoff *b = p;
    if (!b)
        return;
    free(b->reason);
    free(b->message);
    free(b);
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
    st->backoff = strmap_new(tag_backoff_free);
    st->importing = strmap_new(free);
    if (!st->imported || !st->backoff || !st->importing || strmap_set(ctl->states, key, st) < 0) {
        sync_stream_state_free(st);
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
        sync_stream_event(ctl, key, "Warning", t->warnings[i].reason, "%s", t->warnings[i].message);
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

/* Record the outcome of a tag's import (reason and message say why it failed); after a
 * failure returns the backoff in ms before the next attempt (the caller requeues the stream
 * then), else 0. */
static int tag_import_result(struct sync_controller *ctl, const char *key, const char *tag,
                             const char *imported_digest, bool ok, const char *reason,
                             const char *message)
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
            free(b->reason);
            free(b->message);
            b->reason = strdup(reason && *reason ? reason : "ImportFailed");
            b->message = message ? strdup(message) : NULL;
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

/* Forget the tag's failed import (`failure`: it is what the registry holds now) or its import
 * in flight (it ended). */
static void tag_forget(struct sync_controller *ctl, const char *key, const char *tag, bool failure)
{
    pthread_mutex_lock(&ctl->lock);
    struct stream_state *st = strmap_get(ctl->states, key);
    if (st)
        strmap_remove(failure ? st->backoff : st->importing, tag);
    pthread_mutex_unlock(&ctl->lock);
}

static void tag_importing(struct sync_controller *ctl, const char *key, const char *tag,
                          int64_t now)
{
    pthread_mutex_lock(&ctl->lock);
    struct stream_state *st = state_get_locked(ctl, key);
    int64_t *since = st ? malloc(sizeof(*since)) : NULL;
    if (since) {
        *since = now;
        if (strmap_set(st->importing, tag, since) < 0)
            free(since);
    }
    pthread_mutex_unlock(&ctl->lock);
}

void sync_annotate_tag_states(struct sync_controller *ctl, json_t *sources, int64_t now,
                              int64_t now_real)
{
    size_t i, j;
    json_t *src, *tag;

    pthread_mutex_lock(&ctl->lock);
    json_array_foreach (sources, i, src) {
        json_array_foreach (json_object_get(src, "tags"), j, tag) {
            char key[512];
            snprintf(key, sizeof(key), "%s/%s", jsonx_str(tag, "namespace") ?: "",
                     jsonx_str(tag, "imageStream") ?: "");
            const char *t = jsonx_str(tag, "tag") ?: "";
            struct stream_state *st = strmap_get(ctl->states, key);
            const int64_t *since = st ? strmap_get(st->importing, t) : NULL;
            const struct tag_backoff *b = st ? strmap_get(st->backoff, t) : NULL;
            if (since) {
                json_object_set_new(tag, "state", json_string("Importing"));
                json_object_set_new(tag, "importingSince", jsonx_time(now_real - (now - *since)));
            } else if (b && b->failures > 0) {
                bool waiting = b->until > now;
                json_object_set_new(tag, "state", json_string(waiting ? "BackingOff" : "Failing"));
                json_object_set_new(tag, "reason", json_string(b->reason ? b->reason : ""));
                json_object_set_new(tag, "message", json_string(b->message ? b->message : ""));
                json_object_set_new(tag, "consecutiveFailures", json_integer(b->failures));
                if (waiting)
                    json_object_set_new(tag, "backoffUntil",
                                        jsonx_time(now_real + (b->until - now)));
            }
        }
    }
    pthread_mutex_unlock(&ctl->lock);
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
            requeue = min_requeue(requeue, tag_import_result(ctl, key, d[i].tag->tag, NULL, false,
                                                             "ImportRefused", msg));
            record_import(ctl, ns, name, d[i].tag->tag, d[i].tag->from, d[i].expected,
                          d[i].tag->current_image, false, msg, -1);
            sync_stream_event(
                ctl, key, "Warning", "ImportFailed",
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
            tag_import_result(ctl, key, t->tag, res[i].image ? res[i].image : d[i].expected, true,
                              NULL, NULL);
            record_import(ctl, ns, name, t->tag, t->from, res[i].image, t->current_image, true,
                          NULL, latency);
            sync_stream_event(ctl, key, "Normal", "Imported",
                              "imported %s = %s, %.1fs after the push "
                              "was seen",
                              t->tag, res[i].image ? res[i].image : d[i].expected,
                              latency >= 0 ? latency : 0.0);
        } else {
            metrics_inc(ctl->m.c->imports, ns, reg, "failure");
            requeue = min_requeue(requeue, tag_import_result(ctl, key, t->tag, NULL, false,
                                                             res[i].reason, res[i].message));
            record_import(ctl, ns, name, t->tag, t->from, d[i].expected, t->current_image, false,
                          res[i].message, -1);
            sync_stream_event(ctl, key, "Warning", "ImportFailed", "importing %s from %s: %s: %s",
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
        if (!sync_tag_changed(&t->tags[i], expected)) {
            tag_forget(ctl, key, t->tags[i].tag, true); /* e.g. the registry moved back */
            continue;
        }
        if (recently_imported(ctl, key, &t->tags[i], expected))
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
        for (size_t i = 0; i < n; i++)
            tag_importing(ctl, key, d[i].tag->tag, now);
        rc = import_tags(ctl, key, is, d, n);
        for (size_t i = 0; i < n; i++) /* ended, whatever the outcome */
            tag_forget(ctl, key, d[i].tag->tag, false);
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

int sync_reconcile(void *vctl, const char *key)
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
    struct ns_keyring *kr = sync_keyring_acquire(ctl, ns, t.name);
    char **keys = calloc(t.ntags, sizeof(char *));
    rc = keys ? subscribe_tags(ctl, key, &t, kr, keys) : -ENOMEM;
    sync_keyring_release(ctl, kr);
    if (rc == 0 && operator_is_leader(ctl->op))
        rc = decide_and_import(ctl, key, is, &t, keys);
    for (size_t i = 0; keys && i < t.ntags; i++)
        free(keys[i]);
    free(keys);
    sync_stream_tracking_clear(&t);
    return rc;
}
