/*
 * client.h - the registry client: which digest does a registry serve for an image reference,
 * asked the way OpenShift's importer asks (reference openshift-image-api.md §8), over libcurl.
 *
 * One `struct registry_client` per process: it owns a curl share handle (connection cache, DNS,
 * TLS sessions), the /v2/ ping cache (scheme and auth challenge per registry) and the bearer
 * token cache (keyed by realm, service, scope and credential; honours expires_in/issued_at).
 * The client is thread-safe; a `struct registry_batch` is driven by ONE thread at a time.
 *
 * How a digest is found: /v2/ ping (https first; plain http only when `insecure`), a bearer
 * token for scope repository:NAME:pull (anonymous or with the credential) or Basic auth, then
 * HEAD /v2/NAME/manifests/REF with the full Accept list (OCI index, Docker manifest list,
 * Docker schema 2, OCI manifest). GET is used when the reply has no Docker-Content-Digest,
 * when an index's children or a platform's child are wanted, and to learn whether a 404 means
 * the repository or the tag. A fetched manifest's SHA-256 is always checked.
 *
 * Error codes in registry_result.err (and the returns below):
 *   -EACCES 401 (the message names the credential source tried, never its value),
 *   -EPERM 403, -ENOENT 404 (message says "repository ... not found" or "tag ... not found"),
 *   -EAGAIN 429/503 after retries (retry_after_ns holds the server's Retry-After),
 *   -EIO other 5xx / transport errors, -ETIMEDOUT, -ECONNREFUSED (registry down),
 *   -EPROTO TLS failure (message names the host and the reason), -EBADMSG malformed reply or
 *   digest mismatch, -EINVAL bad options (e.g. platform not in the index: -ENOENT).
 */
#ifndef ISTRIGGER_REGISTRY_CLIENT_H
#define ISTRIGGER_REGISTRY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "istrigger/registry/keyring.h"
#include "istrigger/registry/ref.h"

/* Media types (the Accept list, most preferred first). */
#define REGISTRY_MT_OCI_INDEX    "application/vnd.oci.image.index.v1+json"
#define REGISTRY_MT_DOCKER_LIST  "application/vnd.docker.distribution.manifest.list.v2+json"
#define REGISTRY_MT_DOCKER_V2    "application/vnd.docker.distribution.manifest.v2+json"
#define REGISTRY_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

struct registry_client;
struct registry_batch;

/* Client-wide settings; zero values mean the defaults in brackets. */
struct registry_client_opts {
    const char *user_agent;     /* ["istrigger/VERSION"] */
    int64_t timeout_ns;         /* whole HTTP request [30 s] */
    int64_t connect_timeout_ns; /* TCP+TLS connect [10 s] */
    int max_retries;            /* 429/503 retries honouring Retry-After [2]; -1 = none */
    int64_t max_retry_wait_ns;  /* longest Retry-After waited for before giving up [10 s] */
    int64_t ping_ttl_ns;        /* how long a /v2/ ping result is trusted [10 min] */
    int tags_page_size;         /* "n" asked for per tag-list page [0: the registry's choice] */
    /* Called after every HTTP exchange with a registry or token server (may be NULL):
     * host, kind ("ping", "token", "head", "get", "tags") and status (0 = transport error).
     * Called from the thread driving the request. */
    void (*on_request)(void *ctx, const char *host, const char *kind, int http_status);
    void *on_request_ctx;
};

/* Per-request settings (usually per registry / per ImageStream tag). Strings are borrowed and
 * must stay valid until the request completes. */
struct registry_request_opts {
    const struct registry_credential *cred; /* NULL = anonymous */
    bool insecure;                /* importPolicy.insecure: http allowed, TLS not verified */
    const char *ca_file;          /* extra CA bundle file, in addition to the system store */
    const char *ca_pem;           /* extra CA bundle as PEM text */
    const char *client_cert_file; /* optional TLS client certificate (PEM) ... */
    const char *client_key_file;  /* ... and its key */
    const char *platform;         /* "os/arch[/variant]": answer with that index child */
    bool children;                /* fill registry_result.children for an index */
};

/* The answer for one reference. Strings and `children` are owned by the result. */
struct registry_result {
    int err;                /* 0 or a negative code (see above) */
    int http_status;        /* last registry HTTP status (0 when none) */
    char *digest;           /* the manifest digest (the child's when `platform` was given) */
    char *media_type;       /* media type of that manifest */
    char *index_digest;     /* when a platform child was chosen: the index's digest, else NULL */
    int64_t retry_after_ns; /* Retry-After of the last 429/503, 0 when none */
    json_t *children;       /* for an index when asked: array of {"digest","mediaType","size",
                               "os","architecture","variant"}; NEW reference or NULL */
    char error[512];        /* why, when err != 0 ("" otherwise) */
};

/* Free the fields and zero the struct. */
void registry_result_clear(struct registry_result *r);

/* Deep copy (for a done callback that wants to keep its result). 0 or -ENOMEM. */
int registry_result_copy(struct registry_result *dst, const struct registry_result *src);

/* Create a client (registry_client_free). `opts` may be NULL. 0, or -ENOMEM/-EIO. */
int registry_client_new(const struct registry_client_opts *opts, struct registry_client **out);
void registry_client_free(struct registry_client *c);

/* Counters since creation, for tests, logs and metrics. */
struct registry_client_stats {
    uint64_t requests; /* HTTP exchanges (all kinds) */
    uint64_t pings;    /* /v2/ pings sent */
    uint64_t tokens;   /* token requests sent (cache misses) */
    uint64_t connects; /* new TCP connections opened (the rest were reused) */
};
void registry_client_get_stats(struct registry_client *c, struct registry_client_stats *out);

/* Forget cached pings and tokens (e.g. after credentials change). */
void registry_client_flush_caches(struct registry_client *c);

/* ---- asynchronous: many checks in flight from one thread (curl multi) ---- */

/* Called once per check, from the thread driving the batch, with a result borrowed for the
 * duration of the call (copy with registry_result_copy to keep it). The callback may call
 * registry_batch_add on the same batch. */
typedef void (*registry_done_fn)(void *ctx, const struct registry_result *result);

/* A batch with at most `max_in_flight` checks in progress at once (<= 0: 16). NULL on ENOMEM. */
struct registry_batch *registry_batch_new(struct registry_client *c, int max_in_flight);

/* Queue a digest check. `ref` is copied; `opts` strings and `cred` are borrowed until `done`
 * runs. 0 or -ENOMEM. */
int registry_batch_add(struct registry_batch *b, const struct image_ref *ref,
                       const struct registry_request_opts *opts, registry_done_fn done, void *ctx);

/* Drive until every queued check is done (their callbacks have run) or `timeout_ns` passes
 * (<= 0: no limit); at the timeout the remaining checks complete with -ETIMEDOUT.
 * 0, or -ETIMEDOUT. */
int registry_batch_run(struct registry_batch *b, int64_t timeout_ns);

/* Event-loop form: do the work that is ready, waiting up to `max_wait_ns` for network activity
 * (0 = don't wait). Returns the number of checks still pending (queued or in flight). */
int registry_batch_step(struct registry_batch *b, int64_t max_wait_ns);

/* Checks queued or in flight. */
int registry_batch_pending(const struct registry_batch *b);

/* Make a registry_batch_step/run that is waiting return early. The only call that is safe
 * from another thread. */
void registry_batch_wakeup(struct registry_batch *b);

/* Free the batch; checks still pending complete with -ECANCELED first. NULL-safe. */
void registry_batch_free(struct registry_batch *b);

/* ---- synchronous conveniences (a batch of one) ---- */

/* Resolve one reference. Returns result->err; the caller clears `result`. */
int registry_resolve_digest(struct registry_client *c, const struct image_ref *ref,
                            const struct registry_request_opts *opts,
                            struct registry_result *result);

/* Every tag of ref's repository, following Link pagination: a NEW JSON array of strings in
 * the registry's order in *tags_out. 0 or a negative code with err_msg set. */
int registry_list_tags(struct registry_client *c, const struct image_ref *ref,
                       const struct registry_request_opts *opts, json_t **tags_out);

#endif
