/*
 * auth.c - TokenReview + SubjectAccessReview authorization for the HTTP surface, the way
 * OpenShift components protect /metrics (olm-okd.md §5.4).
 *
 * The decision (http_auth_decide) is a pure function of the two replies, so every branch is
 * unit-tested. http_auth_check adds the round trips through a backend and a small cache of
 * verdicts keyed by SHA-256(token + the attribute asked about): tokens are never kept.
 * A verdict of UNAVAILABLE (API server unreachable, our own RBAC missing) is never cached, so
 * the next request asks again.
 */
#include "istrigger/http/auth.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_auth_parse_mode(const char *s, enum http_auth_mode *out)
{
    if (s && strcmp(s, "none") == 0)
        *out = HTTP_AUTH_NONE;
    else if (s && strcmp(s, "kubernetes") == 0)
        *out = HTTP_AUTH_KUBERNETES;
    else
        return err_set(-EINVAL, "auth mode \"%s\": want \"kubernetes\" or \"none\"", s ? s : "");
    return 0;
}

int http_auth_parse_resource(const char *s, struct http_auth_resource *out, char **storage)
{
    char *copy, *p, *sp, *slash, *dot;

    memset(out, 0, sizeof(*out));
    *storage = NULL;
    if (!s || !*s || !(copy = strdup(s)))
        return err_set(-EINVAL, "resource attribute \"%s\": empty", s ? s : "");
    p = copy;
    if ((sp = strchr(p, ' '))) {
        *sp = '\0';
        out->verb = p;
        p = sp + 1;
    } else {
        out->verb = "get";
    }
    if ((slash = strchr(p, '/'))) {
        *slash = '\0';
        out->subresource = slash + 1;
    }
    if ((dot = strchr(p, '.'))) {
        *dot = '\0';
        out->group = dot + 1;
    } else {
        out->group = "";
    }
    out->resource = p;
    if (!*out->verb || !*out->resource || strchr(p, ' ') ||
        (out->subresource && (!*out->subresource || strchr(out->subresource, '/'))) ||
        (out->group && strchr(out->group, ' '))) {
        free(copy);
        memset(out, 0, sizeof(*out));
        return err_set(-EINVAL,
                       "resource attribute \"%s\": want [VERB ]RESOURCE[.GROUP][/SUBRESOURCE]", s);
    }
    *storage = copy;
    return 0;
}

int http_auth_verdict_status(enum http_auth_verdict v)
{
    switch (v) {
    case HTTP_AUTH_ALLOW:
        return 200;
    case HTTP_AUTH_UNAUTHENTICATED:
        return 401;
    case HTTP_AUTH_FORBIDDEN:
        return 403;
    case HTTP_AUTH_UNAVAILABLE:
        break;
    }
    return 503;
}

const char *http_auth_bearer_token(const char *header, size_t *len)
{
    const char *p, *tok;
    size_t n;

    if (!header || strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' '))
        return NULL;
    p = header + 6;
    while (*p == ' ')
        p++;
    tok = p;
    while (*p > 0x20 && *p < 0x7f)
        p++;
    n = (size_t)(p - tok);
    while (*p == ' ' || *p == '\t')
        p++;
    if (n == 0 || *p != '\0')
        return NULL;
    *len = n;
    return tok;
}

json_t *http_auth_tokenreview_request(const char *token, size_t len)
{
    return json_pack("{s:s,s:s,s:{s:s%}}", "apiVersion", "authentication.k8s.io/v1", "kind",
                     "TokenReview", "spec", "token", token, len);
}

static void set_nonempty(json_t *obj, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(obj, key, json_string(value));
}

json_t *http_auth_sar_request(const json_t *tokenreview_reply, const char *path,
                              const struct http_auth_resource *res)
{
    const json_t *user = jsonx_get(tokenreview_reply, "status", "user");
    const char *username = jsonx_str(user, "username");
    json_t *spec, *sar, *v;

    if (!username || !*username)
        return NULL;
    spec = json_object();
    json_object_set_new(spec, "user", json_string(username));
    set_nonempty(spec, "uid", jsonx_str(user, "uid"));
    if ((v = json_object_get(user, "groups")) && json_is_array(v))
        json_object_set_new(spec, "groups", jsonx_dup(v));
    if ((v = json_object_get(user, "extra")) && json_is_object(v))
        json_object_set_new(spec, "extra", jsonx_dup(v));
    if (res) {
        json_t *ra = json_object();
        json_object_set_new(ra, "verb", json_string(res->verb ? res->verb : "get"));
        json_object_set_new(ra, "group", json_string(res->group ? res->group : ""));
        json_object_set_new(ra, "resource", json_string(res->resource));
        set_nonempty(ra, "subresource", res->subresource);
        set_nonempty(ra, "namespace", res->namespace);
        set_nonempty(ra, "name", res->name);
        json_object_set_new(spec, "resourceAttributes", ra);
    } else {
        json_object_set_new(spec, "nonResourceAttributes",
                            json_pack("{s:s,s:s}", "path", path, "verb", "get"));
    }
    sar = json_pack("{s:s,s:s,s:o}", "apiVersion", "authorization.k8s.io/v1", "kind",
                    "SubjectAccessReview", "spec", spec);
    return sar;
}

enum http_auth_verdict http_auth_decide(int tr_err, const json_t *tr_reply, int sar_err,
                                        const json_t *sar_reply, char *user, size_t usersz)
{
    const char *username;

    if (user && usersz)
        user[0] = '\0';
    if (tr_err < 0)
        return HTTP_AUTH_UNAVAILABLE;
    if (!jsonx_bool(tr_reply, false, "status", "authenticated"))
        return HTTP_AUTH_UNAUTHENTICATED;
    username = jsonx_str(tr_reply, "status", "user", "username");
    if (!username || !*username)
        return HTTP_AUTH_UNAUTHENTICATED;
    if (user && usersz)
        snprintf(user, usersz, "%s", username);
    if (sar_err < 0)
        return HTTP_AUTH_UNAVAILABLE;
    if (!sar_reply)
        return HTTP_AUTH_FORBIDDEN;
    /* `denied` can only be true with allowed false; check both anyway. */
    if (jsonx_bool(sar_reply, false, "status", "allowed") &&
        !jsonx_bool(sar_reply, false, "status", "denied"))
        return HTTP_AUTH_ALLOW;
    return HTTP_AUTH_FORBIDDEN;
}

/* ---- cache ---- */

struct cache_entry {
    unsigned char key[32];
    enum http_auth_verdict verdict;
    int64_t expires_ns;
    char user[256];
};

struct http_auth_cache {
    pthread_mutex_t lock; /* guards entries, n */
    int64_t allow_ttl_ns, deny_ttl_ns;
    size_t max;
    size_t n;
    struct cache_entry *entries;
};

int http_auth_cache_new(int64_t allow_ttl_ns, int64_t deny_ttl_ns, size_t max_entries,
                        struct http_auth_cache **out)
{
    struct http_auth_cache *c = calloc(1, sizeof(*c));
    if (!c || !(c->entries = calloc(max_entries ? max_entries : 1, sizeof(*c->entries)))) {
        free(c);
        return err_set(-ENOMEM, "auth cache: out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    c->allow_ttl_ns = allow_ttl_ns;
    c->deny_ttl_ns = deny_ttl_ns;
    c->max = max_entries ? max_entries : 1;
    *out = c;
    return 0;
}

void http_auth_cache_free(struct http_auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
}

static void cache_key(const char *token, size_t len, const char *attr, unsigned char key[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 32;
    memset(key, 0, 32);
    if (!md)
        return;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, token, len);
    EVP_DigestUpdate(md, "\n", 1);
    EVP_DigestUpdate(md, attr, strlen(attr));
    EVP_DigestFinal_ex(md, key, &n);
    EVP_MD_CTX_free(md);
}

static bool cache_lookup(struct http_auth_cache *c, const unsigned char key[32], int64_t now,
                         enum http_auth_verdict *v, char *user, size_t usersz)
{
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        struct cache_entry *e = &c->entries[i];
        if (memcmp(e->key, key, 32) == 0 && e->expires_ns > now) {
            *v = e->verdict;
            if (user && usersz)
                snprintf(user, usersz, "%s", e->user);
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

static void cache_store(struct http_auth_cache *c, const unsigned char key[32], int64_t now,
                        enum http_auth_verdict v, const char *user)
{
    struct cache_entry *slot = NULL;
    int64_t ttl = v == HTTP_AUTH_ALLOW ? c->allow_ttl_ns : c->deny_ttl_ns;

    if (v == HTTP_AUTH_UNAVAILABLE || ttl <= 0)
        return;
    pthread_mutex_lock(&c->lock);
    /* Reuse the same key, else an expired slot, else append, else evict the soonest to
     * expire. */
    for (size_t i = 0; i < c->n && !slot; i++)
        if (memcmp(c->entries[i].key, key, 32) == 0)
            slot = &c->entries[i];
    for (size_t i = 0; i < c->n && !slot; i++)
        if (c->entries[i].expires_ns <= now)
            slot = &c->entries[i];
    if (!slot && c->n < c->max)
        slot = &c->entries[c->n++];
    if (!slot) {
        slot = &c->entries[0];
        for (size_t i = 1; i < c->n; i++)
            if (c->entries[i].expires_ns < slot->expires_ns)
                slot = &c->entries[i];
    }
    memcpy(slot->key, key, 32);
    slot->verdict = v;
    slot->expires_ns = now + ttl;
    snprintf(slot->user, sizeof(slot->user), "%s", user ? user : "");
    pthread_mutex_unlock(&c->lock);
}

static void describe_attribute(struct strbuf *sb, const char *path,
                               const struct http_auth_resource *res)
{
    if (res)
        strbuf_printf(sb, "%s %s.%s/%s %s/%s", res->verb ? res->verb : "get", res->resource,
                      res->group ? res->group : "", res->subresource ? res->subresource : "",
                      res->namespace ? res->namespace : "", res->name ? res->name : "");
    else
        strbuf_printf(sb, "get %s", path);
}

enum http_auth_verdict http_auth_check(struct http_auth_cache *c,
                                       const struct http_auth_backend *backend,
                                       const char *authorization_header, const char *path,
                                       const struct http_auth_resource *res, char *user,
                                       size_t usersz)
{
    _cleanup_json_ json_t *tr_req = NULL, *tr_reply = NULL, *sar_req = NULL, *sar_reply = NULL;
    struct strbuf attr = STRBUF_INIT;
    unsigned char key[32];
    enum http_auth_verdict v;
    int64_t now = time_mono_ns();
    size_t len;
    int tr_err, sar_err = 0;
    char who[256] = "";
    const char *token = http_auth_bearer_token(authorization_header, &len);

    if (user && usersz)
        user[0] = '\0';
    if (!token)
        return HTTP_AUTH_UNAUTHENTICATED;
    describe_attribute(&attr, path, res);
    cache_key(token, len, strbuf_str(&attr), key);
    if (c && cache_lookup(c, key, now, &v, user, usersz)) {
        strbuf_free(&attr);
        return v;
    }
    tr_req = http_auth_tokenreview_request(token, len);
    tr_err = tr_req ? backend->create(backend->ctx, "tokenreviews", tr_req, &tr_reply) : -ENOMEM;
    if (tr_err < 0)
        log_warn(NULL, "auth: TokenReview failed: %s", err_msg());
    v = http_auth_decide(tr_err, tr_reply, 0, NULL, who, sizeof(who));
    if (v == HTTP_AUTH_FORBIDDEN) { /* authenticated: ask the SubjectAccessReview */
        sar_req = http_auth_sar_request(tr_reply, path, res);
        sar_err = sar_req
                      ? backend->create(backend->ctx, "subjectaccessreviews", sar_req, &sar_reply)
                      : -ENOMEM;
        if (sar_err < 0)
            log_warn(NULL, "auth: SubjectAccessReview for %s failed: %s", who, err_msg());
        v = http_auth_decide(tr_err, tr_reply, sar_err, sar_reply, who, sizeof(who));
    }
    if (v != HTTP_AUTH_ALLOW && log_enabled(LOG_LEVEL_DEBUG)) {
        const char *why = jsonx_str(sar_reply, "status", "reason");
        if (!why)
            why = jsonx_str(tr_reply, "status", "error");
        log_debug(NULL, "auth: %s %s for \"%s\": %s", who[0] ? who : "token",
                  v == HTTP_AUTH_FORBIDDEN ? "forbidden" : "not authenticated", strbuf_str(&attr),
                  why ? why : "no reason given");
    }
    if (c)
        cache_store(c, key, now, v, who);
    if (user && usersz)
        snprintf(user, usersz, "%s", who);
    strbuf_free(&attr);
    return v;
}
