/*
 * registry_internal.h - what the files of src/registry/ that make up the client share and
 * nobody else needs: the client object, a check (one reference to resolve or one tag list) and
 * the batch that drives checks, plus the calls between the pieces:
 *
 *   client.c     the client object, its ping and token caches, results
 *   transport.c  one HTTP exchange: curl easy-handle setup, headers, TLS, transport errors
 *   check.c      the per-check state machine (ping -> auth -> HEAD/GET manifest | tags)
 *   batch.c      the curl-multi batch driver and the synchronous calls built on it
 *
 * The public API is include/istrigger/registry/client.h; nothing here is part of it.
 */
#ifndef ISTRIGGER_REGISTRY_INTERNAL_H
#define ISTRIGGER_REGISTRY_INTERNAL_H

#include "istrigger/registry/auth.h"
#include "istrigger/registry/client.h"
#include "istrigger/registry/ref.h"
#include "istrigger/util/curlshare.h"
#include "istrigger/util/strbuf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the client (client.c) ---- */

struct host_entry;  /* a /v2/ ping result */
struct token_entry; /* a bearer token */

struct registry_client {
    struct registry_client_opts opts;
    char *user_agent;
    struct curlshare *share; /* connections, DNS, TLS sessions */
    pthread_mutex_t lock;    /* guards hosts, tokens and stats */
    struct host_entry *hosts;
    struct token_entry *tokens;
    struct registry_client_stats stats;
};

/* Fresh cached ping for `key` copied into scheme/chal: 1 found, 0 not. */
int registry_host_cache_get(struct registry_client *c, const char *key, char scheme[8],
                            struct registry_challenge *chal);
void registry_host_cache_put(struct registry_client *c, const char *key, const char *scheme,
                             const struct registry_challenge *chal);
/* A copy of a valid cached token (free()), or NULL. */
char *registry_token_cache_get(struct registry_client *c, const char *key);
void registry_token_cache_drop(struct registry_client *c, const char *key);
void registry_token_cache_put(struct registry_client *c, const char *key, const char *token,
                              int64_t lifetime_ns);

/* ---- checks and batches ---- */

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

static inline const char *registry_check_host(const struct check *k)
{
    return image_ref_api_host(&k->ref);
}

/* ---- the check state machine (check.c) ---- */

/* Start a check taken off the batch's queue: ping (or the cached ping), then auth. */
void registry_check_begin(struct check *k);
/* Continue after waiting (on an op or Retry-After). */
void registry_check_resume(struct check *k);
/* The HTTP exchange of `k` completed with `cc`: advance the state machine. */
void registry_check_http_done(struct check *k, CURLcode cc);
/* Fail with "REF: message": report the result, unlink and free the check. */
void registry_check_fail(struct check *k, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void registry_check_free(struct check *k);

/* ---- HTTP exchanges (transport.c) ---- */

/* Start one HTTP exchange for `k` in `step`. `url` absolute. On setup failure, fails k. */
void registry_http_start(struct check *k, enum check_step step, const char *method, const char *url,
                         const char *accept, bool with_authz);
/* Map a transport failure to our codes and a message naming the host and the reason. */
int registry_transport_error(struct check *k, CURLcode cc, const char *what, char *msg,
                             size_t size);

#endif
