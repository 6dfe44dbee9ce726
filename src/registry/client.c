/*
 * client.c - the registry client object (see registry/client.h for what the client does and
 * its errors): options with their defaults, the curl share (connections, DNS, TLS sessions)
 * every batch uses, the /v2/ ping and bearer token caches, statistics, and results.
 *
 * The caches are shared by every batch and thread (under the client's `lock`): check.c fills
 * them and looks in them before pinging a host or fetching a token. Tokens are secrets: they
 * are wiped when dropped and never logged. How a check runs is in check.c, the HTTP exchange
 * in transport.c, the batch driver in batch.c (registry_internal.h names the pieces).
 */
#include "registry_internal.h"

#include "istrigger/registry/auth.h"
#include "istrigger/util/curlshare.h"
#include "istrigger/util/err.h"
#include "istrigger/util/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Client: caches and the curl share                                                          */

struct host_entry { /* a /v2/ ping result */
    struct host_entry *next;
    char *key; /* "host|s" or "host|i" (insecure) */
    char scheme[8];
    struct registry_challenge chal;
    int64_t valid_until; /* monotonic */
};

struct token_entry {
    struct token_entry *next;
    char *key; /* realm|service|scope|credential id */
    char *token;
    int64_t valid_until; /* monotonic */
};

int registry_client_new(const struct registry_client_opts *opts, struct registry_client **out)
{
    struct registry_client *c;
    int r;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(-ENOMEM, "registry client: out of memory");
    if (opts)
        c->opts = *opts;
    if (c->opts.timeout_ns <= 0)
        c->opts.timeout_ns = 30 * NS_PER_SEC;
    if (c->opts.connect_timeout_ns <= 0)
        c->opts.connect_timeout_ns = 10 * NS_PER_SEC;
    if (c->opts.max_retries == 0)
        c->opts.max_retries = 2;
    if (c->opts.max_retry_wait_ns <= 0)
        c->opts.max_retry_wait_ns = 10 * NS_PER_SEC;
    if (c->opts.ping_ttl_ns <= 0)
        c->opts.ping_ttl_ns = 600 * NS_PER_SEC;
    if (c->opts.user_agent)
        c->user_agent = strdup(c->opts.user_agent);
    else if (asprintf(&c->user_agent, "istrigger/%s", ISTRIGGER_VERSION) < 0)
        c->user_agent = NULL;
    pthread_mutex_init(&c->lock, NULL);
    if (!c->user_agent) {
        registry_client_free(c);
        return err_set(-ENOMEM, "registry client: out of memory");
    }
    /* Connections are shared too: every batch reuses the others' keep-alive connections. */
    if ((r = curlshare_new(true, &c->share)) < 0) {
        registry_client_free(c);
        return err_wrap(r, "registry client");
    }
    *out = c;
    return 0;
}

static void host_entry_free(struct host_entry *h)
{
    registry_challenge_free(&h->chal);
    free(h->key);
    free(h);
}

static void token_entry_free(struct token_entry *t)
{
    if (t->token)
        explicit_bzero(t->token, strlen(t->token));
    free(t->token);
    free(t->key);
    free(t);
}

void registry_client_flush_caches(struct registry_client *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->hosts) {
        struct host_entry *h = c->hosts;
        c->hosts = h->next;
        host_entry_free(h);
    }
    while (c->tokens) {
        struct token_entry *t = c->tokens;
        c->tokens = t->next;
        token_entry_free(t);
    }
    pthread_mutex_unlock(&c->lock);
}

void registry_client_free(struct registry_client *c)
{
    if (!c)
        return;
    registry_client_flush_caches(c);
    curlshare_free(c->share);
    pthread_mutex_destroy(&c->lock);
    free(c->user_agent);
    free(c);
}

void registry_client_get_stats(struct registry_client *c, struct registry_client_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

static int challenge_copy(struct registry_challenge *dst, const struct registry_challenge *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->scheme = src->scheme;
    dst->realm = src->realm ? strdup(src->realm) : NULL;
    dst->service = src->service ? strdup(src->service) : NULL;
    dst->scope = src->scope ? strdup(src->scope) : NULL;
    if ((src->realm && !dst->realm) || (src->service && !dst->service) ||
        (src->scope && !dst->scope)) {
        registry_challenge_free(dst);
        return -ENOMEM;
    }
    return 0;
}

int registry_host_cache_get(struct registry_client *c, const char *key, char scheme[8],
                            struct registry_challenge *chal)
{
    int found = 0;
    int64_t now = time_mono_ns();

    pthread_mutex_lock(&c->lock);
    for (struct host_entry *h = c->hosts; h; h = h->next) {
        if (strcmp(h->key, key) == 0 && h->valid_until > now) {
            memcpy(scheme, h->scheme, 8);
            found = challenge_copy(chal, &h->chal) == 0;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

void registry_host_cache_put(struct registry_client *c, const char *key, const char *scheme,
                             const struct registry_challenge *chal)
{
    struct host_entry *h = calloc(1, sizeof(*h)), **pp;

    if (!h || !(h->key = strdup(key)) || challenge_copy(&h->chal, chal) < 0) {
        if (h)
            free(h->key);
        free(h);
        return; /* a cache miss next time, nothing worse */
    }
    snprintf(h->scheme, sizeof(h->scheme), "%s", scheme);
    h->valid_until = time_mono_ns() + c->opts.ping_ttl_ns;
    pthread_mutex_lock(&c->lock);
    for (pp = &c->hosts; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct host_entry *old = *pp;
            *pp = old->next;
            host_entry_free(old);
            break;
        }
    }
    h->next = c->hosts;
    c->hosts = h;
    pthread_mutex_unlock(&c->lock);
}

char *registry_token_cache_get(struct registry_client *c, const char *key)
{
    char *tok = NULL;
    int64_t now = time_mono_ns();

    pthread_mutex_lock(&c->lock);
    for (struct token_entry *t = c->tokens; t; t = t->next) {
        if (strcmp(t->key, key) == 0 && t->valid_until > now) {
            tok = strdup(t->token);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return tok;
}

static void token_cache_drop_locked(struct registry_client *c, const char *key)
{
    for (struct token_entry **pp = &c->tokens; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct token_entry *old = *pp;
            *pp = old->next;
            token_entry_free(old);
            return;
        }
    }
}

void registry_token_cache_drop(struct registry_client *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    token_cache_drop_locked(c, key);
    pthread_mutex_unlock(&c->lock);
}

void registry_token_cache_put(struct registry_client *c, const char *key, const char *token,
                              int64_t lifetime_ns)
{
    struct token_entry *t;

    if (lifetime_ns <= 0)
        return; /* already expired: use once, do not keep */
    t = calloc(1, sizeof(*t));
    if (!t || !(t->key = strdup(key)) || !(t->token = strdup(token))) {
        if (t) {
            free(t->key);
            free(t);
        }
        return;
    }
    t->valid_until = time_mono_ns() + lifetime_ns;
    pthread_mutex_lock(&c->lock);
    token_cache_drop_locked(c, key);
    /* Expired entries are pruned here so the cache stays as small as the live set. */
    for (struct token_entry **pp = &c->tokens; *pp;) {
        if ((*pp)->valid_until <= time_mono_ns()) {
            struct token_entry *old = *pp;
            *pp = old->next;
            token_entry_free(old);
        } else {
            pp = &(*pp)->next;
        }
    }
    t->next = c->tokens;
    c->tokens = t;
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Results                                                                                    */

void registry_result_clear(struct registry_result *r)
{
    if (!r)
        return;
    free(r->digest);
    free(r->media_type);
    free(r->index_digest);
    json_decref(r->children);
    memset(r, 0, sizeof(*r));
}

int registry_result_copy(struct registry_result *dst, const struct registry_result *src)
{
    *dst = *src;
    dst->digest = src->digest ? strdup(src->digest) : NULL;
    dst->media_type = src->media_type ? strdup(src->media_type) : NULL;
    dst->index_digest = src->index_digest ? strdup(src->index_digest) : NULL;
    dst->children = src->children ? json_deep_copy(src->children) : NULL;
    if ((src->digest && !dst->digest) || (src->media_type && !dst->media_type) ||
        (src->index_digest && !dst->index_digest) || (src->children && !dst->children)) {
        registry_result_clear(dst);
        return err_set(-ENOMEM, "copying registry result: out of memory");
    }
    return 0;
}
