/*
 * client.c - the registry client (see registry/client.h for what it does and its errors).
 *
 * Shape: a check (one reference to resolve, or one repository's tag list) is a small state
 * machine driven by HTTP completions from a curl multi handle owned by its batch:
 *
 *   ping (/v2/, per host, cached) -> auth (bearer token, per realm/service/scope/credential,
 *   cached; or Basic) -> HEAD manifest -> [GET manifest] -> done
 *                                      \-> 404: GET tags/list?n=1 tells repository vs tag
 *
 * Pings and token fetches are shared: the first check that needs one starts it ("leader"),
 * the others in the same batch wait on it and resume when it completes. Results land in the
 * client's caches (under `lock`), where every batch and thread finds them. Connections, DNS and
 * TLS sessions live in the client's curl share handle, so batches reuse each other's
 * connections. Nothing secret (passwords, tokens, Authorization headers) is ever logged or
 * copied into a message.
 */
#include "istrigger/registry/client.h"

#include "istrigger/registry/auth.h"
#include "istrigger/registry/manifest.h"
#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/curlshare.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MANIFEST_MAX_BYTES (4u << 20)
#define TAGS_MAX_BYTES     (16u << 20)
#define OTHER_MAX_BYTES    (1u << 20)
#define SYSTEM_CA_DIR      "/etc/ssl/certs"
#define ACCEPT_MANIFESTS                                                                     \
    "Accept: " REGISTRY_MT_OCI_INDEX ", " REGISTRY_MT_DOCKER_LIST ", " REGISTRY_MT_DOCKER_V2 \
    ", " REGISTRY_MT_OCI_MANIFEST

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

struct registry_client {
    struct registry_client_opts opts;
    char *user_agent;
    struct curlshare *share; /* connections, DNS, TLS sessions */
    pthread_mutex_t lock;    /* guards hosts, tokens and stats */
    struct host_entry *hosts;
    struct token_entry *tokens;
    struct registry_client_stats stats;
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

/* Fresh cached ping for `key` copied into scheme/chal: 1 found, 0 not. */
static int host_cache_get(struct registry_client *c, const char *key, char scheme[8],
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

static void host_cache_put(struct registry_client *c, const char *key, const char *scheme,
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

/* A copy of a valid cached token (free()), or NULL. */
static char *token_cache_get(struct registry_client *c, const char *key)
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

static void token_cache_drop(struct registry_client *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    token_cache_drop_locked(c, key);
    pthread_mutex_unlock(&c->lock);
}

static void token_cache_put(struct registry_client *c, const char *key, const char *token,
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

/* ------------------------------------------------------------------------------------------ */
/* Checks and batches                                                                         */

enum check_kind { KIND_DIGEST, KIND_TAGS };

enum check_step {
    STEP_QUEUED,
    STEP_PING,
    STEP_TOKEN,
    STEP_WAIT, /* on another check's ping or token */
    STEP_HEAD,
    STEP_GET,
    STEP_PROBE, /* tags/list?n=1 after a 404: repository or tag? */
    STEP_TAGS,
    STEP_SLEEP, /* Retry-After */
};

struct shared_op; /* a ping or token fetch other checks wait for */

struct check {
    struct check *next, *prev; /* batch->active list, or queue */
    struct check *wait_next;   /* in a shared_op's waiters or the sleepers list */
    struct registry_batch *b;
    enum check_kind kind;
    enum check_step step, resume_step;
    struct image_ref ref;
    char *name; /* normalised reference for messages */
    struct registry_request_opts o;
    registry_done_fn done;
    void *ctx;

    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    struct strbuf body;
    size_t body_max;
    char *h_digest, *h_ctype, *h_wwwauth, *h_link;
    int64_t h_retry_after_ns;
    char *post; /* request body (token POST) */

    char scheme[8];
    bool tried_http, auth_retried, anonymous_tried;
    int retries;
    struct registry_challenge chal;
    char *authz;          /* "Authorization: ..." (secret) */
    char *token_key;      /* when bearer */
    struct shared_op *op; /* the op this check leads */
    int64_t wake_at;
    struct registry_result res;
    json_t *tags;
    char *next_path;
};

struct shared_op {
    struct shared_op *next;
    char *key;
    struct check *waiters;
};

struct registry_batch {
    struct registry_client *c;
    CURLM *multi;
    int max_in_flight;
    int n_active, n_queued;
    struct check *active;             /* started, not done */
    struct check *queue, *queue_tail; /* not started */
    struct check *sleepers;
    struct shared_op *ops;
};

static void check_free(struct check *k)
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

static const char *host_of(const struct check *k)
{
    return image_ref_api_host(&k->ref);
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
    check_free(k);
}

static void fail(struct check *k, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fail with "REF: message". */
static void fail(struct check *k, int code, const char *fmt, ...)
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

/* ---- HTTP plumbing ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct check *k = userp;
    size_t len = size * n;

    if (k->body.len + len > k->body_max || strbuf_append(&k->body, data, len) < 0)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    return len;
}

static void set_header_value(char **slot, const char *v, size_t len)
{
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    free(*slot);
    *slot = strndup(v, len);
}

static int64_t parse_retry_after(const char *v, size_t len)
{
    char buf[64];
    time_t t;
    int64_t secs;
    char *end;

    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), v);
    buf[strcspn(buf, "\r\n")] = '\0';
    secs = strtoll(buf, &end, 10);
    if (end != buf && *end == '\0')
        return secs < 0 ? 0 : (secs > 86400 ? 86400 : secs) * NS_PER_SEC;
    t = curl_getdate(buf, NULL);
    if (t < 0)
        return 0;
    secs = (int64_t)t - time_real_ns() / NS_PER_SEC;
    return secs <= 0 ? 0 : (secs > 86400 ? 86400 : secs) * NS_PER_SEC;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct check *k = userp;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    size_t nlen, vlen;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or 100 Continue): forget the previous headers */
        free(k->h_digest), k->h_digest = NULL;
        free(k->h_ctype), k->h_ctype = NULL;
        free(k->h_wwwauth), k->h_wwwauth = NULL;
        free(k->h_link), k->h_link = NULL;
        k->h_retry_after_ns = 0;
        return len;
    }
    if (!colon)
        return len;
    nlen = (size_t)(colon - data);
    vlen = len - nlen - 1;
#define HDR_IS(s) (nlen == sizeof(s) - 1 && strncasecmp(data, s, nlen) == 0)
    if (HDR_IS("docker-content-digest"))
        set_header_value(&k->h_digest, colon + 1, vlen);
    else if (HDR_IS("content-type"))
        set_header_value(&k->h_ctype, colon + 1, vlen);
    else if (HDR_IS("www-authenticate") && !k->h_wwwauth)
        set_header_value(&k->h_wwwauth, colon + 1, vlen);
    else if (HDR_IS("link"))
        set_header_value(&k->h_link, colon + 1, vlen);
    else if (HDR_IS("retry-after"))
        k->h_retry_after_ns = parse_retry_after(colon + 1, vlen);
#undef HDR_IS
    return len;
}

static void apply_tls(struct check *k)
{
    CURL *e = k->easy;

    if (k->o.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* An extra CA adds to the system store: CAINFO is the extra bundle, CAPATH the system's
     * hashed directory (OpenSSL consults both). */
    if (k->o.ca_file || k->o.ca_pem) {
        if (k->o.ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, k->o.ca_file);
        if (k->o.ca_pem) {
            struct curl_blob blob = {(void *)k->o.ca_pem, strlen(k->o.ca_pem), CURL_BLOB_COPY};
            curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (access(SYSTEM_CA_DIR, R_OK) == 0)
            curl_easy_setopt(e, CURLOPT_CAPATH, SYSTEM_CA_DIR);
    }
    if (k->o.client_cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, k->o.client_cert_file);
    if (k->o.client_key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, k->o.client_key_file);
}

/* Start one HTTP exchange for `k` in `step`. `url` absolute. On setup failure, fails k. */
static void http_start(struct check *k, enum check_step step, const char *method, const char *url,
                       const char *accept, bool with_authz)
{
    struct registry_client *c = k->b->c;
    CURL *e;

    if (!k->easy && !(k->easy = curl_easy_init())) {
        fail(k, -ENOMEM, "out of memory");
        return;
    }
    e = k->easy;
    curl_easy_reset(e);
    curl_slist_free_all(k->headers);
    k->headers = NULL;
    strbuf_reset(&k->body);
    free(k->h_digest), k->h_digest = NULL;
    free(k->h_ctype), k->h_ctype = NULL;
    free(k->h_wwwauth), k->h_wwwauth = NULL;
    free(k->h_link), k->h_link = NULL;
    k->h_retry_after_ns = 0;
    k->errbuf[0] = '\0';
    k->step = step;
    k->body_max = step == STEP_GET    ? MANIFEST_MAX_BYTES
                  : step == STEP_TAGS ? TAGS_MAX_BYTES
                                      : OTHER_MAX_BYTES;

    if (accept)
        k->headers = curl_slist_append(k->headers, accept);
    if (with_authz && k->authz)
        k->headers = curl_slist_append(k->headers, k->authz);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_SHARE, curlshare_handle(c->share));
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->opts.timeout_ns / NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->opts.connect_timeout_ns / NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->post ? k->post : "");
    apply_tls(k);
    if (curl_multi_add_handle(k->b->multi, e) != CURLM_OK)
        fail(k, -EIO, "starting HTTP request failed");
}

/* Map a transport failure to our codes and a message naming the host and the reason. */
static int transport_error(struct check *k, CURLcode cc, const char *what, char *msg, size_t size)
{
    const char *why = k->errbuf[0] ? k->errbuf : curl_easy_strerror(cc);
    const char *host = host_of(k);

    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        snprintf(msg, size, "%s: cannot connect to %s (%s)", what, host, why);
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(msg, size, "%s: %s did not answer in time (%s)", what, host, why);
        return -ETIMEDOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        snprintf(msg, size, "%s: TLS with %s failed: %s", what, host, why);
        return -EPROTO;
    case CURLE_WRITE_ERROR:
        snprintf(msg, size, "%s: reply from %s larger than %zu bytes", what, host, k->body_max);
        return -EBADMSG;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        /* TLS 1.3 reports a refused client certificate as an alert after the handshake. */
        if (strstr(why, "SSL") || strstr(why, "alert")) {
            snprintf(msg, size, "%s: TLS with %s failed: %s", what, host, why);
            return -EPROTO;
        }
        /* fall through */
    default:
        snprintf(msg, size, "%s: talking to %s failed: %s", what, host, why);
        return -EIO;
    }
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
        c->opts.on_request(c->opts.on_request_ctx, host_of(k), kind, (int)status);
}

static char *base_url(const struct check *k)
{
    char *s = NULL;
    if (asprintf(&s, "%s://%s", k->scheme, host_of(k)) < 0)
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

static void resume(struct check *k);

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
            fail(k, err, "%s", reason ? reason + 2 : msg);
        } else {
            resume(k);
        }
    }
}

/* ---- steps ---- */

static void start_ping(struct check *k);
static void ensure_auth(struct check *k);
static void request_main(struct check *k);

static void ping_key(const struct check *k, char *buf, size_t size)
{
    snprintf(buf, size, "%s|%c", host_of(k), k->o.insecure ? 'i' : 's');
}

static void begin(struct check *k)
{
    char key[300];

    k->step = STEP_PING;
    ping_key(k, key, sizeof(key));
    registry_challenge_free(&k->chal);
    if (host_cache_get(k->b->c, key, k->scheme, &k->chal)) {
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
        fail(k, -ENOMEM, "out of memory");
        return;
    }
    pthread_mutex_lock(&k->b->c->lock);
    k->b->c->stats.pings++;
    pthread_mutex_unlock(&k->b->c->lock);
    http_start(k, STEP_PING, "GET", url, NULL, false);
}

static void ping_done(struct check *k, CURLcode cc, long status)
{
    char key[300], msg[400];
    int r;

    if (cc != CURLE_OK) {
        r = transport_error(k, cc, "pinging the registry", msg, sizeof(msg));
        /* The importer pings https first and falls back to http only when insecure. */
        if (k->o.insecure && !k->tried_http && r != -ETIMEDOUT) {
            k->tried_http = true;
            snprintf(k->scheme, sizeof(k->scheme), "http");
            log_debug(k->name, "https to %s failed, trying http (insecure)", host_of(k));
            start_ping(k);
            return;
        }
        fail(k, r, "%s", msg);
        return;
    }
    registry_challenge_free(&k->chal);
    if (status == 401 && k->h_wwwauth) {
        r = registry_challenge_parse(k->h_wwwauth, &k->chal);
        if (r < 0) {
            fail(k, -EBADMSG, "%s: %s", host_of(k), err_msg());
            return;
        }
    } else if (status >= 500) {
        fail(k, -EIO, "pinging %s: HTTP %ld", host_of(k), status);
        return;
    }
    /* 200, or a registry that answers /v2/ oddly: the manifest request will tell. */
    ping_key(k, key, sizeof(key));
    host_cache_put(k->b->c, key, k->scheme, &k->chal);
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
            fail(k, -ENOMEM, "out of memory");
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
        fail(k, -ENOMEM, "out of memory");
        return;
    }
    tok = token_cache_get(k->b->c, k->token_key);
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
    http_start(k, STEP_TOKEN, refresh ? "POST" : "GET", url, NULL, !refresh);
    return;
oom:
    curl_free(svc);
    curl_free(sc);
    if (esc)
        curl_easy_cleanup(esc);
    fail(k, -ENOMEM, "out of memory");
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
        r = transport_error(k, cc, "getting a token", msg, sizeof(msg));
        fail(k, r, "%s (realm %s)", msg, k->chal.realm);
        return;
    }
    if (status == 401 || status == 403) {
        fail(k, -EACCES, "%ld %s: token server %s refused %s", status,
             status == 401 ? "Unauthorized" : "Forbidden", k->chal.realm,
             cred_desc(k, cd, sizeof(cd)));
        return;
    }
    if ((status == 429 || status == 503) && schedule_retry(k, "token", status))
        return;
    if (status != 200) {
        fail(k, status == 429 || status == 503 ? -EAGAIN : -EIO,
             "token server %s answered HTTP %ld", k->chal.realm, status);
        return;
    }
    r = registry_token_parse(k->body.buf ? k->body.buf : "", k->body.len, time_real_ns(), &tok,
                             &life);
    explicit_bzero(k->body.buf, k->body.len);
    if (r < 0) {
        fail(k, r, "token server %s: %s", k->chal.realm, err_msg());
        return;
    }
    token_cache_put(k->b->c, k->token_key, tok, life);
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
        fail(k, -ENOMEM, "out of memory");
        return;
    }
    http_start(k, step, step == STEP_HEAD ? "HEAD" : "GET", url, ACCEPT_MANIFESTS, true);
}

static void start_tags(struct check *k, enum check_step step, const char *path)
{
    _cleanup_free_ char *base = base_url(k), *url = NULL;

    if (!base || asprintf(&url, "%s%s", base, path) < 0) {
        fail(k, -ENOMEM, "out of memory");
        return;
    }
    http_start(k, step, "GET", url, "Accept: application/json", true);
}

static void request_main(struct check *k)
{
    if (k->kind == KIND_TAGS) {
        if (!k->next_path) {
            fail(k, -ENOMEM, "out of memory");
            return;
        }
        start_tags(k, STEP_TAGS, k->next_path);
        return;
    }
    start_manifest(k, STEP_HEAD);
}

/* Continue after waiting (on an op or Retry-After). */
static void resume(struct check *k)
{
    switch (k->step) {
    case STEP_PING:
        begin(k);
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
        fail(k, -EIO, "internal error: cannot resume step %d", (int)k->step);
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
                host_cache_put(c, key, k->scheme, &k->chal);
                if (k->token_key)
                    token_cache_drop(c, k->token_key);
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
            fail(k, -EACCES, "401 Unauthorized: %s rejected %s", host_of(k),
                 cred_desc(k, cd, sizeof(cd)));
        else
            fail(k, -EACCES,
                 "401 Unauthorized: %s requires credentials and none were found "
                 "for it (tried anonymous access)",
                 host_of(k));
        return true;
    }
    if (status == 403) {
        fail(k, -EPERM, "403 Forbidden: %s denies access to %s with %s", host_of(k),
             k->ref.repository, cred_desc(k, cd, sizeof(cd)));
        return true;
    }
    if (status == 429 || status == 503) {
        if (schedule_retry(k, what, status))
            return true;
        if (k->h_retry_after_ns)
            fail(k, -EAGAIN, "%ld %s from %s after %d retries: retry after %lld s", status,
                 status == 429 ? "Too Many Requests" : "Service Unavailable", host_of(k),
                 k->retries, (long long)(k->h_retry_after_ns / NS_PER_SEC));
        else
            fail(k, -EAGAIN, "%ld %s from %s after %d retries", status,
                 status == 429 ? "Too Many Requests" : "Service Unavailable", host_of(k),
                 k->retries);
        return true;
    }
    if (status >= 500) {
        fail(k, -EIO, "%s: %s answered HTTP %ld (server error)", what, host_of(k), status);
        return true;
    }
    if (status != 200 && status != 404) {
        fail(k, status == 400 ? -EINVAL : -EIO, "%s: %s answered HTTP %ld", what, host_of(k),
             status);
        return true;
    }
    return false;
}

static void finish_digest(struct check *k, const char *digest, const char *media_type)
{
    k->res.digest = strdup(digest);
    k->res.media_type = media_type ? strdup(media_type) : NULL;
    if (!k->res.digest || (media_type && !k->res.media_type)) {
        fail(k, -ENOMEM, "out of memory");
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
            fail(k, -ENOMEM, "out of memory");
            return;
        }
        start_tags(k, STEP_PROBE, path);
        return;
    }
    ct = k->h_ctype ? strndup(k->h_ctype, strcspn(k->h_ctype, "; \t")) : NULL;
    if (k->h_digest && image_ref_digest_valid(k->h_digest) && !body_needed(k, ct)) {
        if (k->ref.digest && strcmp(k->ref.digest, k->h_digest) != 0) {
            fail(k, -EBADMSG, "content integrity error: registry reports digest %s for %s",
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
        fail(k, -ENOENT, "manifest disappeared between HEAD and GET");
        return;
    }
    if (expected && image_ref_digest_valid(expected)) {
        /* Always verify what was fetched (reference §8.2, "content integrity error"). */
        if ((r = registry_digest_verify(expected, body, k->body.len)) < 0) {
            fail(k, r, "%s", err_msg());
            return;
        }
        snprintf(computed, sizeof(computed), "%s", expected);
    } else if ((r = registry_digest_compute("sha256", body, k->body.len, computed)) < 0) {
        fail(k, r, "%s", err_msg());
        return;
    }
    r = registry_manifest_parse(body, k->body.len, k->h_ctype, &mt, &children);
    if (r < 0) {
        fail(k, r, "%s", err_msg());
        return;
    }
    if (k->o.platform && children) {
        int e = 0;
        const json_t *child = registry_index_select(children, k->o.platform, &e);
        if (!child) {
            json_decref(children);
            fail(k, e, "%s", err_msg());
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
        fail(k, -ENOENT, "404 Not Found: repository %s not found", repo ? repo : "?");
        return;
    }
    if (status == 200) {
        if (k->ref.digest)
            fail(k, -ENOENT, "404 Not Found: manifest %s not found in repository %s", k->ref.digest,
                 repo ? repo : "?");
        else
            fail(k, -ENOENT, "404 Not Found: tag \"%s\" not found in repository %s", k->ref.tag,
                 repo ? repo : "?");
        return;
    }
    fail(k, -ENOENT, "404 Not Found: manifest %s in %s", image_ref_manifest_ref(&k->ref),
         repo ? repo : "?");
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
        fail(k, -ENOENT, "404 Not Found: repository %s not found", repo ? repo : "?");
        return;
    }
    doc = jsonx_loadb(k->body.buf ? k->body.buf : "", k->body.len, "tag list");
    tags = doc ? json_object_get(doc, "tags") : NULL;
    if (!doc || !(json_is_array(tags) || json_is_null(tags))) {
        fail(k, -EBADMSG, "%s", doc ? "tag list has no \"tags\" array" : err_msg());
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

static void http_done(struct check *k, CURLcode cc)
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
        r = transport_error(k, cc, k->step == STEP_HEAD ? "HEAD manifest" : "GET", msg,
                            sizeof(msg));
        fail(k, r, "%s", msg);
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
        fail(k, -EIO, "internal error: completion in step %d", (int)k->step);
    }
}

/* ---- batch API ---- */

struct registry_batch *registry_batch_new(struct registry_client *c, int max_in_flight)
{
    struct registry_batch *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->c = c;
    b->max_in_flight = max_in_flight > 0 ? max_in_flight : 16;
    b->multi = curl_multi_init();
    if (!b->multi) {
        free(b);
        return NULL;
    }
    curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    return b;
}

static int make_tags_path(const struct registry_client *c, const struct image_ref *ref, char **out)
{
    if (c->opts.tags_page_size > 0)
        return asprintf(out, "/v2/%s/tags/list?n=%d", ref->repository, c->opts.tags_page_size);
    return asprintf(out, "/v2/%s/tags/list", ref->repository);
}

static int batch_add(struct registry_batch *b, enum check_kind kind, const struct image_ref *ref,
                     const struct registry_request_opts *opts, registry_done_fn done, void *ctx)
{
    struct check *k = calloc(1, sizeof(*k));

    if (!k)
        return err_set(-ENOMEM, "registry batch: out of memory");
    k->b = b;
    k->kind = kind;
    k->done = done;
    k->ctx = ctx;
    if (opts)
        k->o = *opts;
    if (image_ref_copy(&k->ref, ref) < 0 || !(k->name = image_ref_format(ref)) ||
        (kind == KIND_TAGS &&
         (!(k->tags = json_array()) || make_tags_path(b->c, ref, &k->next_path) < 0))) {
        check_free(k);
        return err_set(-ENOMEM, "registry batch: out of memory");
    }
    k->step = STEP_QUEUED;
    if (b->queue_tail)
        b->queue_tail->next = k;
    else
        b->queue = k;
    b->queue_tail = k;
    b->n_queued++;
    return 0;
}

int registry_batch_add(struct registry_batch *b, const struct image_ref *ref,
                       const struct registry_request_opts *opts, registry_done_fn done, void *ctx)
{
    return batch_add(b, KIND_DIGEST, ref, opts, done, ctx);
}

int registry_batch_pending(const struct registry_batch *b)
{
    return b->n_active + b->n_queued;
}

/* Move the first queued check to the active list (it counts against max_in_flight). */
static struct check *queue_pop_to_active(struct registry_batch *b)
{
    struct check *k = b->queue;

    b->queue = k->next;
    if (!b->queue)
        b->queue_tail = NULL;
    b->n_queued--;
    k->next = b->active;
    k->prev = NULL;
    if (b->active)
        b->active->prev = k;
    b->active = k;
    b->n_active++;
    return k;
}

static void start_queued(struct registry_batch *b)
{
    while (b->queue && b->n_active < b->max_in_flight)
        begin(queue_pop_to_active(b));
}

static int64_t wake_sleepers(struct registry_batch *b)
{
    int64_t now = time_mono_ns(), next = 0;
    struct check *due = NULL;

    for (struct check **pp = &b->sleepers; *pp;) {
        struct check *k = *pp;
        if (k->wake_at <= now) {
            *pp = k->wait_next;
            k->wait_next = due;
            due = k;
        } else {
            if (!next || k->wake_at < next)
                next = k->wake_at;
            pp = &k->wait_next;
        }
    }
    while (due) {
        struct check *k = due;
        due = k->wait_next;
        k->wait_next = NULL;
        k->step = k->resume_step;
        resume(k);
    }
    return next;
}

static void drain_messages(struct registry_batch *b)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(b->multi, &left))) {
        struct check *k = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        if (k)
            http_done(k, m->data.result);
    }
}

int registry_batch_step(struct registry_batch *b, int64_t max_wait_ns)
{
    int running = 0, numfds = 0;
    int64_t next_wake, wait_ms;

    start_queued(b);
    next_wake = wake_sleepers(b);
    curl_multi_perform(b->multi, &running);
    drain_messages(b);
    start_queued(b);
    if (registry_batch_pending(b) == 0)
        return 0;
    wait_ms = max_wait_ns / NS_PER_MS;
    if (next_wake) {
        int64_t until = (next_wake - time_mono_ns()) / NS_PER_MS + 1;
        if (until < wait_ms)
            wait_ms = until < 0 ? 0 : until;
    }
    if (wait_ms > 0) {
        curl_multi_poll(b->multi, NULL, 0, (int)(wait_ms > 1000 ? 1000 : wait_ms), &numfds);
        curl_multi_perform(b->multi, &running);
        drain_messages(b);
        wake_sleepers(b);
        start_queued(b);
    }
    return registry_batch_pending(b);
}

static void fail_everything(struct registry_batch *b, int code, const char *why)
{
    while (b->queue)
        queue_pop_to_active(b);
    while (b->active)
        fail(b->active, code, "%s", why);
}

int registry_batch_run(struct registry_batch *b, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns > 0 ? time_mono_ns() + timeout_ns : 0;

    while (registry_batch_pending(b) > 0) {
        int64_t wait = 1000 * NS_PER_MS;
        if (deadline) {
            int64_t left = deadline - time_mono_ns();
            if (left <= 0) {
                char why[64];
                snprintf(why, sizeof(why), "not resolved within %.1f s",
                         (double)timeout_ns / NS_PER_SEC);
                fail_everything(b, -ETIMEDOUT, why);
                return -ETIMEDOUT;
            }
            if (left < wait)
                wait = left;
        }
        registry_batch_step(b, wait);
    }
    return 0;
}

void registry_batch_wakeup(struct registry_batch *b)
{
    curl_multi_wakeup(b->multi);
}

void registry_batch_free(struct registry_batch *b)
{
    if (!b)
        return;
    fail_everything(b, -ECANCELED, "cancelled");
    while (b->ops) {
        struct shared_op *op = b->ops;
        b->ops = op->next;
        free(op->key);
        free(op);
    }
    curl_multi_cleanup(b->multi);
    free(b);
}

/* ---- synchronous conveniences ---- */

static void copy_result(void *ctx, const struct registry_result *r)
{
    struct registry_result *dst = ctx;
    if (registry_result_copy(dst, r) < 0) {
        memset(dst, 0, sizeof(*dst));
        dst->err = -ENOMEM;
        snprintf(dst->error, sizeof(dst->error), "out of memory");
    }
}

static int run_one(struct registry_client *c, enum check_kind kind, const struct image_ref *ref,
                   const struct registry_request_opts *opts, struct registry_result *result)
{
    struct registry_batch *b = registry_batch_new(c, 1);
    int r;

    memset(result, 0, sizeof(*result));
    if (!b)
        return err_set(-ENOMEM, "registry: out of memory");
    r = batch_add(b, kind, ref, opts, copy_result, result);
    if (r == 0)
        registry_batch_run(b, 0);
    registry_batch_free(b);
    if (r < 0)
        return r;
    if (result->err)
        err_set(result->err, "%s", result->error);
    return result->err;
}

int registry_resolve_digest(struct registry_client *c, const struct image_ref *ref,
                            const struct registry_request_opts *opts,
                            struct registry_result *result)
{
    return run_one(c, KIND_DIGEST, ref, opts, result);
}

int registry_list_tags(struct registry_client *c, const struct image_ref *ref,
                       const struct registry_request_opts *opts, json_t **tags_out)
{
    struct registry_result res;
    int r = run_one(c, KIND_TAGS, ref, opts, &res);

    *tags_out = NULL;
    if (r == 0) {
        *tags_out = res.children;
        res.children = NULL;
    }
    registry_result_clear(&res);
    return r;
}
