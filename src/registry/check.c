/*
 * check.c - the per-check state machine of the registry client. A check (one reference to
 * resolve, or one repository's tag list) is driven by HTTP completions from its batch's curl
 * multi handle:
 *
 *   ping (/v2/, per host, cached) -> auth (bearer token, per realm/service/scope/credential,
 *   cached; or Basic) -> HEAD manifest -> [GET manifest] -> done
 *                                      \-> 404: GET tags/list?n=1 tells repository vs tag
 *
 * Pings and token fetches are shared: the first check that needs one starts it ("leader"),
 * the others in the same batch wait on it and resume when it completes. Results land in the
 * client's caches (client.c), where every batch and thread finds them. The HTTP exchange
 * itself is transport.c; batch.c starts checks, wakes sleepers and delivers completions here.
 * Nothing secret (passwords, tokens, Authorization headers) is ever logged or copied into a
 * message.
 */
#include "registry_internal.h"

#include "istrigger/registry/auth.h"
#include "istrigger/registry/manifest.h"
#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPT_MANIFESTS                                                                     \
    "Accept: " REGISTRY_MT_OCI_INDEX ", " REGISTRY_MT_DOCKER_LIST ", " REGISTRY_MT_DOCKER_V2 \
    ", " REGISTRY_MT_OCI_MANIFEST

void registry_check_free(struct check *k)
{
    if (k->easy)
        curl_easy_cleanup(k->easy);
    curl_slist_free_all(k->headers);
    strbuf_free(&k->body);
    free(k->h_digest);
    free(k->h_ctype);
    free(k->h_wwwauth);
    free(k->h_link);
    free(k->post);
    registry_challenge_free(&k->chal);
    if (k->authz)
        explicit_bzero(k->authz, strlen(k->authz));
    free(k->authz);
    free(k->token_key);
    registry_result_clear(&k->res);
    json_decref(k->tags);
    free(k->next_path);
    image_ref_free(&k->ref);
    free(k->name);
    free(k);
}

static void list_unlink(struct registry_batch *b, struct check *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        b->active = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
}

static void remove_from_wait_list(struct check **head, struct check *k)
{
    for (struct check **pp = head; *pp; pp = &(*pp)->wait_next) {
        if (*pp == k) {
            *pp = k->wait_next;
            k->wait_next = NULL;
            return;
        }
    }
}

static void op_finish(struct registry_batch *b, struct check *leader, int err, const char *msg);

/* Finish a check: report, unlink, free. */
static void complete(struct check *k)
{
    struct registry_batch *b = k->b;

    if (k->easy)
        curl_multi_remove_handle(b->multi, k->easy);
    if (k->op)
        op_finish(b, k, k->res.err ? k->res.err : -ECANCELED, k->res.error);
    if (k->step == STEP_SLEEP)
        remove_from_wait_list(&b->sleepers, k);
    if (k->step == STEP_WAIT) {
        for (struct shared_op *op = b->ops; op; op = op->next)
            remove_from_wait_list(&op->waiters, k);
    }
    list_unlink(b, k);
    b->n_active--;
    if (k->res.err == 0)
        k->res.error[0] = '\0';
    if (k->kind == KIND_TAGS && k->res.err == 0) {
        k->res.children = k->tags;
        k->tags = NULL;
    }
    k->done(k->ctx, &k->res);
    registry_check_free(k);
}

void registry_check_fail(struct check *k, int code, const char *fmt, ...)
{
    char msg[sizeof(k->res.error)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    k->res.err = code;
    /* Long messages are cut at the buffer's end; the reference and the cause come first. */
    if (snprintf(k->res.error, sizeof(k->res.error), "%s: %s", k->name, msg) < 0)
        k->res.error[0] = '\0';
    complete(k);
}

static void count_request(struct check *k, const char *kind, long status)
{
    struct registry_client *c = k->b->c;
    long connects = 0;

    curl_easy_getinfo(k->easy, CURLINFO_NUM_CONNECTS, &connects);
    pthread_mutex_lock(&c->lock);
    c->stats.requests++;
    c->stats.connects += (uint64_t)connects;
    pthread_mutex_unlock(&c->lock);
    if (c->opts.on_request)
        c->opts.on_request(c->opts.on_request_ctx, registry_check_host(k), kind, (int)status);
}

static char *base_url(const struct check *k)
{
    char *s = NULL;
    if (asprintf(&s, "%s://%s", k->scheme, registry_check_host(k)) < 0)
        return NULL;
    return s;
}

/* ---- shared ops (ping / token dedup inside a batch) ---- */

static struct shared_op *op_find(struct registry_batch *b, const char *key)
{
    for (struct shared_op *op = b->ops; op; op = op->next) {
        if (strcmp(op->key, key) == 0)
            return op;
    }
    return NULL;
}

/* Become the leader for `key` (0), or wait behind the current leader (1). */
static int op_join(struct check *k, const char *key)
{
    struct registry_batch *b = k->b;
    struct shared_op *op = op_find(b, key);

    if (op) {
        k->resume_step = k->step;
        k->step = STEP_WAIT;
        k->wait_next = op->waiters;
        op->waiters = k;
        return 1;
    }
    op = calloc(1, sizeof(*op));
    if (op && !(op->key = strdup(key))) {
        free(op);
        op = NULL;
    }
    if (op) { /* without memory the check simply goes alone */
        op->next = b->ops;
        b->ops = op;
        k->op = op;
    }
    return 0;
}

/* The leader's ping/token is done: let the waiters continue (they find the cache filled) or
 * fail them with the same reason. */
static void op_finish(struct registry_batch *b, struct check *leader, int err, const char *msg)
{
    struct shared_op *op = leader->op;
    struct check *waiters;

    leader->op = NULL;
    for (struct shared_op **pp = &b->ops; *pp; pp = &(*pp)->next) {
        if (*pp == op) {
            *pp = op->next;
            break;
        }
    }
    waiters = op->waiters;
    free(op->key);
    free(op);
    while (waiters) {
        struct check *k = waiters;
        waiters = k->wait_next;
        k->wait_next = NULL;
        k->step = k->resume_step;
        if (err) {
            /* msg is "LEADER-REF: reason"; keep the reason */
            const char *reason = strstr(msg, ": ");
            registry_check_fail(k, err, "%s", reason ? reason + 2 : msg);
        } else {
            registry_check_resume(k);
        }
    }
}

/* ---- steps ---- */

static void start_ping(struct check *k);
static void ensure_auth(struct check *k);
static void request_main(struct check *k);

static void ping_key(const struct check *k, char *buf, size_t size)
{
    snprintf(buf, size, "%s|%c", registry_check_host(k), k->o.insecure ? 'i' : 's');
}

void registry_check_begin(struct check *k)
{
    char key[300];

    k->step = STEP_PING;
    ping_key(k, key, sizeof(key));
    registry_challenge_free(&k->chal);
    if (registry_host_cache_get(k->b->c, key, k->scheme, &k->chal)) {
        ensure_auth(k);
        return;
    }
    if (op_join(k, key))
        return;
    snprintf(k->scheme, sizeof(k->scheme), "https");
    start_ping(k);
}

static void start_ping(struct check *k)
{
    _cleanup_free_ char *base = base_url(k);
    _cleanup_free_ char *url = NULL;

    if (!base || asprintf(&url, "%s/v2/", base) < 0) {
        registry_check_fail(k, -ENOMEM, "out of memory");
        return;
    }
    pthread_mutex_lock(&k->b->c->lock);
    k->b->c->stats.pings++;
    pthread_mutex_unlock(&k->b->c->lock);
    registry_http_start(k, STEP_PING, "GET", url, NULL, false);
}

static void ping_done(struct check *k, CURLcode cc, long status)
{
    char key[300], msg[400];
    int r;

    if (cc != CURLE_OK) {
        r = registry_transport_error(k, cc, "pinging the registry", msg, sizeof(msg));
        /* The importer pings https first and falls back to http only when insecure. */
        if (k->o.insecure && !k->tried_http && r != -ETIMEDOUT) {
            k->tried_http = true;
            snprintf(k->scheme, sizeof(k->scheme), "http");
            log_debug(k->name, "https to %s failed, trying http (insecure)",
                      registry_check_host(k));
            start_ping(k);
            return;
        }
        registry_check_fail(k, r, "%s", msg);
        return;
    }
    registry_challenge_free(&k->chal);
    if (status == 401 && k->h_wwwauth) {
        r = registry_challenge_parse(k->h_wwwauth, &k->chal);
        if (r < 0) {
            registry_check_fail(k, -EBADMSG, "%s: %s", registry_check_host(k), err_msg());
            return;
        }
    } else if (status >= 500) {
        registry_check_fail(k, -EIO, "pinging %s: HTTP %ld", registry_check_host(k), status);
        return;
    }
    /* 200, or a registry that answers /v2/ oddly: the manifest request will tell. */
    ping_key(k, key, sizeof(key));
    registry_host_cache_put(k->b->c, key, k->scheme, &k->chal);
    if (k->op)
        op_finish(k->b, k, 0, "");
    ensure_auth(k);
}

static void credential_id(const struct registry_credential *cred, char out[REGISTRY_DIGEST_MAX])
{
    _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

    if (!cred) {
        snprintf(out, REGISTRY_DIGEST_MAX, "anonymous");
        return;
    }
    strbuf_printf(&sb, "%s%c%s%c%s", cred->username ? cred->username : "", 0,
                  cred->password ? cred->password : "", 0,
                  cred->identity_token ? cred->identity_token : "");
    if (registry_digest_compute("sha256", sb.buf ? sb.buf : "", sb.len, out) < 0)
        snprintf(out, REGISTRY_DIGEST_MAX, "unhashable");
    if (sb.buf)
        explicit_bzero(sb.buf, sb.len);
}

static bool has_basic(const struct registry_credential *cred)
{
    return cred && cred->username && *cred->username;
}

static int make_basic_authz(struct check *k)
{
    _cleanup_free_ char *pair = NULL, *b64 = NULL;
    int r = 0;

    if (asprintf(&pair, "%s:%s", k->o.cred->username,
                 k->o.cred->password ? k->o.cred->password : "") < 0)
        return -ENOMEM;
    b64 = base64_encode((unsigned char *)pair, strlen(pair));
    explicit_bzero(pair, strlen(pair));
    free(k->authz);
    k->authz = NULL;
    if (!b64 || asprintf(&k->authz, "Authorization: Basic %s", b64) < 0)
        r = -ENOMEM;
    if (b64)
        explicit_bzero(b64, strlen(b64));
    return r;
}

static char *scope_of(const struct check *k)
{
    char *s = NULL;
    if (asprintf(&s, "repository:%s:pull", k->ref.repository) < 0)
        return NULL;
    return s;
}

static void start_token(struct check *k);
static bool schedule_retry(struct check *k, const char *what, long status);

static void ensure_auth(struct check *k)
{
    _cleanup_free_ char *scope = NULL, *tok = NULL;
    char credid[REGISTRY_DIGEST_MAX];

    free(k->authz);
    k->authz = NULL;
    if (k->chal.scheme == REGISTRY_AUTH_BASIC) {
        if (has_basic(k->o.cred) && make_basic_authz(k) < 0) {
            registry_check_fail(k, -ENOMEM, "out of memory");
            return;
        }
        request_main(k);
        return;
    }
    if (k->chal.scheme != REGISTRY_AUTH_BEARER || !k->chal.realm) {
        request_main(k);
        return;
    }
    scope = scope_of(k);
    credential_id(k->o.cred, credid);
    free(k->token_key);
    k->token_key = NULL;
    if (!scope || asprintf(&k->token_key, "%s|%s|%s|%s", k->chal.realm,
                           k->chal.service ? k->chal.service : "", scope, credid) < 0) {
        registry_check_fail(k, -ENOMEM, "out of memory");
        return;
    }
    tok = registry_token_cache_get(k->b->c, k->token_key);
    if (tok) {
        if (asprintf(&k->authz, "Authorization: Bearer %s", tok) < 0)
            k->authz = NULL;
        explicit_bzero(tok, strlen(tok));
        request_main(k);
        return;
    }
    k->step = STEP_TOKEN;
    if (op_join(k, k->token_key))
        return;
    start_token(k);
}

static void start_token(struct check *k)
{
    CURL *esc = curl_easy_init();
    _cleanup_free_ char *scope = scope_of(k), *url = NULL;
    char *svc = NULL, *sc = NULL;
    bool refresh = k->o.cred && k->o.cred->identity_token;

    if (!esc || !scope)
        goto oom;
    svc = curl_easy_escape(esc, k->chal.service ? k->chal.service : "", 0);
    sc = curl_easy_escape(esc, scope, 0);
    if (!svc || !sc)
        goto oom;
    free(k->post);
    k->post = NULL;
    if (refresh) {
        /* OAuth2 refresh-token grant (identitytoken from a docker login). */
        char *rt = curl_easy_escape(esc, k->o.cred->identity_token, 0);
        int n = rt ? asprintf(&k->post,
                              "grant_type=refresh_token&client_id=istrigger&service=%s&scope=%s"
                              "&refresh_token=%s",
                              svc, sc, rt)
                   : -1;
        if (rt) {
            explicit_bzero(rt, strlen(rt));
            curl_free(rt);
        }
        if (n < 0 || asprintf(&url, "%s", k->chal.realm) < 0)
            goto oom;
    } else {
        if (asprintf(&url, "%s%s%s%s&scope=%s", k->chal.realm,
                     strchr(k->chal.realm, '?') ? "&" : "?", "service=", svc, sc) < 0)
            goto oom;
        if (has_basic(k->o.cred) && make_basic_authz(k) < 0)
            goto oom;
    }
    curl_free(svc);
    curl_free(sc);
    curl_easy_cleanup(esc);
    pthread_mutex_lock(&k->b->c->lock);
    k->b->c->stats.tokens++;
    pthread_mutex_unlock(&k->b->c->lock);
    registry_http_start(k, STEP_TOKEN, refresh ? "POST" : "GET", url, NULL, !refresh);
    return;
oom:
    curl_free(svc);
    curl_free(sc);
    if (esc)
        curl_easy_cleanup(esc);
    registry_check_fail(k, -ENOMEM, "out of memory");
}

static const char *cred_desc(const struct check *k, char *buf, size_t size)
{
    if (!k->o.cred)
        snprintf(buf, size, "anonymous access (no credentials)");
    else
        snprintf(buf, size, "credentials from %s (entry \"%s\")",
                 k->o.cred->source ? k->o.cred->source : "?",
                 k->o.cred->key ? k->o.cred->key : "?");
    return buf;
}

static void token_done(struct check *k, CURLcode cc, long status)
{
    _cleanup_free_ char *tok = NULL;
    char msg[400], cd[256];
    int64_t life;
    int r;

    if (cc != CURLE_OK) {
        r = registry_transport_error(k, cc, "getting a token", msg, sizeof(msg));
        registry_check_fail(k, r, "%s (realm %s)", msg, k->chal.realm);
        return;
    }
    if (status == 401 || status == 403) {
        registry_check_fail(k, -EACCES, "%ld %s: token server %s refused %s", status,
                            status == 401 ? "Unauthorized" : "Forbidden", k->chal.realm,
                            cred_desc(k, cd, sizeof(cd)));
        return;
    }
    if ((status == 429 || status == 503) && schedule_retry(k, "token", status))
        return;
    if (status != 200) {
        registry_check_fail(k, status == 429 || status == 503 ? -EAGAIN : -EIO,
                            "token server %s answered HTTP %ld", k->chal.realm, status);
        return;
    }
    r = registry_token_parse(k->body.buf ? k->body.buf : "", k->body.len, time_real_ns(), &tok,
                             &life);
    explicit_bzero(k->body.buf, k->body.len);
    if (r < 0) {
        registry_check_fail(k, r, "token server %s: %s", k->chal.realm, err_msg());
        return;
    }
    registry_token_cache_put(k->b->c, k->token_key, tok, life);
    free(k->authz);
    if (asprintf(&k->authz, "Authorization: Bearer %s", tok) < 0)
        k->authz = NULL;
    explicit_bzero(tok, strlen(tok));
    if (k->op)
        op_finish(k->b, k, 0, "");
    request_main(k);
}

static void start_manifest(struct check *k, enum check_step step)
{
    _cleanup_free_ char *base = base_url(k), *url = NULL;

    if (!base || asprintf(&url, "%s/v2/%s/manifests/%s", base, k->ref.repository,
                          image_ref_manifest_ref(&k->ref)) < 0) {
        registry_check_fail(k, -ENOMEM, "out of memory");
        return;
    }
    registry_http_start(k, step, step == STEP_HEAD ? "HEAD" : "GET", url, ACCEPT_MANIFESTS, true);
}

static void start_tags(struct check *k, enum check_step step, const char *path)
{
    _cleanup_free_ char *base = base_url(k), *url = NULL;

    if (!base || asprintf(&url, "%s%s", base, path) < 0) {
        registry_check_fail(k, -ENOMEM, "out of memory");
        return;
    }
    registry_http_start(k, step, "GET", url, "Accept: application/json", true);
}

static void request_main(struct check *k)
{
    if (k->kind == KIND_TAGS) {
        if (!k->next_path) {
            registry_check_fail(k, -ENOMEM, "out of memory");
            return;
        }
        start_tags(k, STEP_TAGS, k->next_path);
        return;
    }
    start_manifest(k, STEP_HEAD);
}

void registry_check_resume(struct check *k)
{
    switch (k->step) {
    case STEP_PING:
        registry_check_begin(k);
        break;
    case STEP_TOKEN:
        if (k->op)
            start_token(k); /* the leader retrying: its waiters keep waiting */
        else
            ensure_auth(k);
        break;
    case STEP_HEAD:
    case STEP_GET:
        start_manifest(k, k->step);
        break;
    case STEP_TAGS:
        start_tags(k, STEP_TAGS, k->next_path);
        break;
    default:
        registry_check_fail(k, -EIO, "internal error: cannot resume step %d", (int)k->step);
    }
}

/* After a 429/503: sleep until Retry-After (or a short backoff) and redo the current step,
 * when retries are left and the wait is acceptable. true when scheduled. */
static bool schedule_retry(struct check *k, const char *what, long status)
{
    struct registry_client *c = k->b->c;
    int64_t wait = k->h_retry_after_ns;

    k->res.retry_after_ns = k->h_retry_after_ns;
    if (c->opts.max_retries <= 0 || k->retries >= c->opts.max_retries ||
        k->h_retry_after_ns > c->opts.max_retry_wait_ns)
        return false;
    if (wait <= 0)
        wait = (int64_t)(k->retries + 1) * 500 * NS_PER_MS;
    k->retries++;
    k->wake_at = time_mono_ns() + wait;
    k->resume_step = k->step;
    k->step = STEP_SLEEP;
    k->wait_next = k->b->sleepers;
    k->b->sleepers = k;
    log_debug(k->name, "%s: HTTP %ld, retrying in %lld ms", what, status,
              (long long)(wait / NS_PER_MS));
    return true;
}

/* The status handling shared by HEAD, GET and tags. true when it took the check over. */
static bool handle_error_status(struct check *k, long status, const char *what)
{
    struct registry_client *c = k->b->c;
    char cd[256];

    if (status == 401) {
        /* The challenge may have changed, or the token expired early: retry once with
         * fresh auth from this reply's challenge. */
        if (!k->auth_retried && k->h_wwwauth) {
            struct registry_challenge ch;
            k->auth_retried = true;
            if (registry_challenge_parse(k->h_wwwauth, &ch) == 0) {
                char key[300];
                registry_challenge_free(&k->chal);
                k->chal = ch;
                ping_key(k, key, sizeof(key));
                registry_host_cache_put(c, key, k->scheme, &k->chal);
                if (k->token_key)
                    registry_token_cache_drop(c, k->token_key);
                if (k->chal.scheme == REGISTRY_AUTH_BEARER ||
                    (k->chal.scheme == REGISTRY_AUTH_BASIC && has_basic(k->o.cred) && !k->authz)) {
                    ensure_auth(k);
                    return true;
                }
            } else {
                registry_challenge_free(&ch);
            }
        }
        if (k->o.cred)
            registry_check_fail(k, -EACCES, "401 Unauthorized: %s rejected %s",
                                registry_check_host(k), cred_desc(k, cd, sizeof(cd)));
        else
            registry_check_fail(k, -EACCES,
                                "401 Unauthorized: %s requires credentials and none were found "
                                "for it (tried anonymous access)",
                                registry_check_host(k));
        return true;
    }
    if (status == 403) {
        registry_check_fail(k, -EPERM, "403 Forbidden: %s denies access to %s with %s",
                            registry_check_host(k), k->ref.repository,
                            cred_desc(k, cd, sizeof(cd)));
        return true;
    }
    if (status == 429 || status == 503) {
        if (schedule_retry(k, what, status))
            return true;
        if (k->h_retry_after_ns)
            registry_check_fail(k, -EAGAIN, "%ld %s from %s after %d retries: retry after %lld s",
                                status, status == 429 ? "Too Many Requests" : "Service Unavailable",
                                registry_check_host(k), k->retries,
                                (long long)(k->h_retry_after_ns / NS_PER_SEC));
        else
            registry_check_fail(k, -EAGAIN, "%ld %s from %s after %d retries", status,
                                status == 429 ? "Too Many Requests" : "Service Unavailable",
                                registry_check_host(k), k->retries);
        return true;
    }
    if (status >= 500) {
        registry_check_fail(k, -EIO, "%s: %s answered HTTP %ld (server error)", what,
                            registry_check_host(k), status);
        return true;
    }
    if (status != 200 && status != 404) {
        registry_check_fail(k, status == 400 ? -EINVAL : -EIO, "%s: %s answered HTTP %ld", what,
                            registry_check_host(k), status);
        return true;
    }
    return false;
}

static void finish_digest(struct check *k, const char *digest, const char *media_type)
{
    k->res.digest = strdup(digest);
    k->res.media_type = media_type ? strdup(media_type) : NULL;
    if (!k->res.digest || (media_type && !k->res.media_type)) {
        registry_check_fail(k, -ENOMEM, "out of memory");
        return;
    }
    k->res.err = 0;
    complete(k);
}

static bool body_needed(const struct check *k, const char *media_type)
{
    return (k->o.platform || k->o.children) && registry_media_type_is_index(media_type);
}

static void head_done(struct check *k, long status)
{
    _cleanup_free_ char *ct = NULL;

    if (handle_error_status(k, status, "HEAD manifest"))
        return;
    if (status == 404) {
        /* HEAD has no error body, and Distribution answers MANIFEST_UNKNOWN for a missing
         * repository too; the tag list says whether the repository exists. */
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/v2/%s/tags/list?n=1", k->ref.repository) < 0) {
            registry_check_fail(k, -ENOMEM, "out of memory");
            return;
        }
        start_tags(k, STEP_PROBE, path);
        return;
    }
    ct = k->h_ctype ? strndup(k->h_ctype, strcspn(k->h_ctype, "; \t")) : NULL;
    if (k->h_digest && image_ref_digest_valid(k->h_digest) && !body_needed(k, ct)) {
        if (k->ref.digest && strcmp(k->ref.digest, k->h_digest) != 0) {
            registry_check_fail(k, -EBADMSG,
                                "content integrity error: registry reports digest %s for %s",
                                k->h_digest, k->ref.digest);
            return;
        }
        finish_digest(k, k->h_digest, ct);
        return;
    }
    start_manifest(k, STEP_GET);
}

static void get_done(struct check *k, long status)
{
    char computed[REGISTRY_DIGEST_MAX];
    _cleanup_free_ char *mt = NULL;
    json_t *children = NULL;
    const char *expected = k->ref.digest ? k->ref.digest : k->h_digest;
    const char *body = k->body.buf ? k->body.buf : "";
    int r;

    if (handle_error_status(k, status, "GET manifest"))
        return;
    if (status == 404) {
        registry_check_fail(k, -ENOENT, "manifest disappeared between HEAD and GET");
        return;
    }
    if (expected && image_ref_digest_valid(expected)) {
        /* Always verify what was fetched (reference §8.2, "content integrity error"). */
        if ((r = registry_digest_verify(expected, body, k->body.len)) < 0) {
            registry_check_fail(k, r, "%s", err_msg());
            return;
        }
        snprintf(computed, sizeof(computed), "%s", expected);
    } else if ((r = registry_digest_compute("sha256", body, k->body.len, computed)) < 0) {
        registry_check_fail(k, r, "%s", err_msg());
        return;
    }
    r = registry_manifest_parse(body, k->body.len, k->h_ctype, &mt, &children);
    if (r < 0) {
        registry_check_fail(k, r, "%s", err_msg());
        return;
    }
    if (k->o.platform && children) {
        int e = 0;
        const json_t *child = registry_index_select(children, k->o.platform, &e);
        if (!child) {
            json_decref(children);
            registry_check_fail(k, e, "%s", err_msg());
            return;
        }
        k->res.index_digest = strdup(computed);
        snprintf(computed, sizeof(computed), "%s", jsonx_str(child, "digest"));
        free(mt);
        mt = jsonx_str(child, "mediaType") ? strdup(jsonx_str(child, "mediaType")) : NULL;
    }
    if (k->o.children)
        k->res.children = children;
    else
        json_decref(children);
    finish_digest(k, computed, mt);
}

static void probe_done(struct check *k, long status)
{
    _cleanup_free_ char *repo = image_ref_format_repo(&k->ref);

    if (status == 404) {
        registry_check_fail(k, -ENOENT, "404 Not Found: repository %s not found",
                            repo ? repo : "?");
        return;
    }
    if (status == 200) {
        if (k->ref.digest)
            registry_check_fail(k, -ENOENT, "404 Not Found: manifest %s not found in repository %s",
                                k->ref.digest, repo ? repo : "?");
        else
            registry_check_fail(k, -ENOENT, "404 Not Found: tag \"%s\" not found in repository %s",
                                k->ref.tag, repo ? repo : "?");
        return;
    }
    registry_check_fail(k, -ENOENT, "404 Not Found: manifest %s in %s",
                        image_ref_manifest_ref(&k->ref), repo ? repo : "?");
}

/* Link: </v2/x/tags/list?last=a&n=2>; rel="next" -> "/v2/x/tags/list?last=a&n=2" (same
 * origin only, so credentials never travel to another host). NULL when there is none. */
static char *next_link(const struct check *k)
{
    const char *l = k->h_link, *lt, *gt;
    _cleanup_free_ char *base = base_url(k);

    if (!l || !(lt = strchr(l, '<')) || !(gt = strchr(lt, '>')) || !strstr(gt, "next"))
        return NULL;
    lt++;
    if (*lt == '/')
        return strndup(lt, (size_t)(gt - lt));
    if (base && strncmp(lt, base, strlen(base)) == 0 && lt[strlen(base)] == '/')
        return strndup(lt + strlen(base), (size_t)(gt - lt) - strlen(base));
    return NULL;
}

static void tags_done(struct check *k, long status)
{
    _cleanup_json_ json_t *doc = NULL;
    const json_t *tags;
    size_t i;
    json_t *t;

    if (handle_error_status(k, status, "listing tags"))
        return;
    if (status == 404) {
        _cleanup_free_ char *repo = image_ref_format_repo(&k->ref);
        registry_check_fail(k, -ENOENT, "404 Not Found: repository %s not found",
                            repo ? repo : "?");
        return;
    }
    doc = jsonx_loadb(k->body.buf ? k->body.buf : "", k->body.len, "tag list");
    tags = doc ? json_object_get(doc, "tags") : NULL;
    if (!doc || !(json_is_array(tags) || json_is_null(tags))) {
        registry_check_fail(k, -EBADMSG, "%s", doc ? "tag list has no \"tags\" array" : err_msg());
        return;
    }
    json_array_foreach (tags, i, t) {
        if (json_is_string(t))
            json_array_append(k->tags, t);
    }
    free(k->next_path);
    k->next_path = next_link(k);
    if (k->next_path) {
        start_tags(k, STEP_TAGS, k->next_path);
        return;
    }
    k->res.err = 0;
    complete(k);
}

static const char *step_kind(enum check_step s)
{
    switch (s) {
    case STEP_PING:
        return "ping";
    case STEP_TOKEN:
        return "token";
    case STEP_HEAD:
        return "head";
    case STEP_GET:
        return "get";
    default:
        return "tags";
    }
}

void registry_check_http_done(struct check *k, CURLcode cc)
{
    long status = 0;
    char msg[400];
    int r;

    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(k->b->multi, k->easy);
    count_request(k, step_kind(k->step), cc == CURLE_OK ? status : 0);
    if (k->step == STEP_HEAD || k->step == STEP_GET || k->step == STEP_TAGS)
        k->res.http_status = (int)status; /* the probe after a 404 keeps the 404 */
    if (k->step == STEP_PING) {
        ping_done(k, cc, status);
        return;
    }
    if (k->step == STEP_TOKEN) {
        token_done(k, cc, status);
        return;
    }
    if (cc != CURLE_OK) {
        r = registry_transport_error(k, cc, k->step == STEP_HEAD ? "HEAD manifest" : "GET", msg,
                                     sizeof(msg));
        registry_check_fail(k, r, "%s", msg);
        return;
    }
    switch (k->step) {
    case STEP_HEAD:
        head_done(k, status);
        break;
    case STEP_GET:
        get_done(k, status);
        break;
    case STEP_PROBE:
        probe_done(k, status);
        break;
    case STEP_TAGS:
        tags_done(k, status);
        break;
    default:
        registry_check_fail(k, -EIO, "internal error: completion in step %d", (int)k->step);
    }
}
