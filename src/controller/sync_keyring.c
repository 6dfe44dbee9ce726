/*
 * sync_keyring.c - the sync controller's credentials: each namespace's pull secrets (§3.5),
 * read through `imagestreams/NAME/secrets` (every pull secret of the namespace) and kept as a
 * keyring per namespace in ctl->keyrings.
 *
 * Workers fetch (network, no lock held) when a namespace's keyring is missing, marked stale
 * after a 401, or older than --secrets-refresh; the poller thread only takes what is cached.
 * Keyrings are reference-counted under ctl->lock because the poller borrows a credential for
 * the duration of a request while a worker may replace the namespace's keyring.
 */
#include "sync_internal.h"

#include "istrigger/kube/client.h"
#include "istrigger/kube/resources.h"
#include "istrigger/registry/keyring.h"
#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strmap.h"
#include "istrigger/util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYRING_RETRY_NS (15 * NS_PER_SEC)

static void keyring_unref_locked(struct ns_keyring *k)
{
    if (k && --k->refs == 0) {
        keyring_free(k->kr);
        free(k);
    }
}

void sync_keyring_release(struct sync_controller *ctl, struct ns_keyring *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&ctl->lock);
    keyring_unref_locked(k);
    pthread_mutex_unlock(&ctl->lock);
}

void sync_keyring_map_free(void *p)
{
    keyring_unref_locked(p); /* called with ctl->lock held, or at teardown */
}

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

struct ns_keyring *sync_keyring_acquire(struct sync_controller *ctl, const char *ns,
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

void sync_keyring_mark_stale(struct sync_controller *ctl, const char *ns)
{
    pthread_mutex_lock(&ctl->lock);
    struct ns_keyring *k = strmap_get(ctl->keyrings, ns);
    if (k)
        k->stale = true;
    pthread_mutex_unlock(&ctl->lock);
}
