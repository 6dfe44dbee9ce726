/*
 * client.h - REST access to the Kubernetes API on JSON objects (jansson).
 *
 * One `struct kube_client` per process is the norm. It is thread-safe: any number of threads
 * may call the verbs concurrently. It holds a pool of libcurl easy handles (HTTP/1.1
 * keep-alive; each handle keeps its connection) sharing DNS and TLS sessions, the TLS and
 * authentication settings of a `struct kube_config` (copied), a client-side rate limiter
 * (token bucket: QPS and burst, client-go's defaults 5/10) and the retry policy:
 *
 *   - 429, 500, 502, 503 and 504 are retried with capped exponential backoff, waiting at least what
 *     the server asked for in `Retry-After` (create/POST only on 429, or 5xx with Retry-After,
 *     since another 5xx may mean the object was created);
 *   - connection failures before anything was sent are retried for every verb;
 *   - 401 with a token file forces a re-read of the token (rotation) and one retry.
 *
 * Errors (see also include/istrigger/util/err.h) map the API's Status objects:
 *   -ENOENT 404, -EACCES 401, -EPERM 403, -EEXIST 409 AlreadyExists, -ESTALE 409 Conflict,
 *   -EINVAL 400/422, -ENODATA 410 Gone/Expired, -EAGAIN 429/503 after retries,
 *   -ETIMEDOUT, -ECONNREFUSED, -EIO other transport or 5xx, -EBADMSG malformed reply,
 *   -EPROTO TLS failure, -ECANCELED the client is shutting down.
 * err_msg() reads like "updating deployments.apps web/app: 409 Conflict: Operation cannot be
 * fulfilled ..."; kube_last_status() gives the parts.
 */
#ifndef ISTRIGGER_KUBE_CLIENT_H
#define ISTRIGGER_KUBE_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "istrigger/kube/config.h"
#include "istrigger/kube/resources.h"

struct kube_client;

struct kube_client_opts {
    double qps;                 /* requests per second; 0: 5 (client-go default) */
    int burst;                  /* bucket size; 0: 10 */
    int max_retries;            /* retries of 429/5xx/connect failures; 0: 5; <0: none */
    int64_t retry_base_ns;      /* first backoff; 0: 200ms (doubles, with jitter) */
    int64_t retry_max_ns;       /* cap of one wait, also caps Retry-After; 0: 30s */
    int64_t timeout_ns;         /* whole-request timeout (not watches); 0: 30s */
    int64_t connect_timeout_ns; /* 0: 10s */
    const char *user_agent;     /* NULL: "istrigger/VERSION"; copied */
    /* Called after every HTTP exchange (including each retry) with the verb ("GET", "LIST",
     * "WATCH", "POST", "PUT", "PATCH", "DELETE"), the resource name ("deployments.apps", or
     * the path for raw requests) and the HTTP code (0 on transport failure). Must be
     * thread-safe and quick (the operator wires it to the metrics registry). */
    void (*on_request)(const char *verb, const char *resource, int code);
};

/* Create a client. `cfg` is copied; `opts` may be NULL for defaults. NEW client in *out
 * (kube_client_free). -EINVAL for an unusable config (no server), -ENOMEM. */
int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
                    struct kube_client **out);

/* Cancel: every request in flight or waiting (rate limiter, backoff) returns -ECANCELED soon
 * (within ~1s for open watches). Used at shutdown before joining threads. Thread-safe. */
void kube_client_cancel(struct kube_client *c);

/* Counters since the client was created (for metrics, tests and benchmarks). */
struct kube_client_stats {
    unsigned long requests;    /* HTTP exchanges attempted (each retry counts) */
    unsigned long connections; /* new TCP connections opened (keep-alive reuses the others) */
    unsigned long retries;     /* exchanges repeated after 429/5xx/connect failures */
};
void kube_client_get_stats(struct kube_client *c, struct kube_client_stats *out);

/* Make every request made by the calling thread end with -ECANCELED (within about a second,
 * also while waiting for the rate limiter or a retry) once *stop becomes non-zero; NULL
 * removes it. For threads that must stop promptly (reflectors, the leader elector). */
void kube_client_set_thread_stop(const atomic_int *stop);

/* Free the client. No request may be in flight. NULL is fine. */
void kube_client_free(struct kube_client *c);

/* The client's copy of its configuration (e.g. ->namespace). Borrowed; lives as long as c. */
const struct kube_config *kube_client_config(const struct kube_client *c);

/* The parts of the last failed request's answer on this thread. */
struct kube_status {
    int http_code;          /* 0 when no HTTP answer (transport failure) */
    char reason[64];        /* Status.reason ("Conflict", "NotFound", "Expired"...) or "" */
    char message[512];      /* Status.message, or the transport error */
    int64_t retry_after_ns; /* Retry-After of the last 429/5xx answer, 0 if none */
};

/* The last failure's Status on this thread (zeroed by each successful verb). Borrowed,
 * thread-local; valid until the next verb on this thread. */
const struct kube_status *kube_last_status(void);

/* List options. All optional (NULL/0). */
struct kube_list_opts {
    const char *label_selector;
    const char *field_selector;
    long limit;                   /* page size; 0: no limit */
    const char *continue_token;   /* from the previous page's metadata.continue */
    const char *resource_version; /* "0" to allow a cached answer */
};

enum kube_patch_type {
    KUBE_PATCH_MERGE,     /* application/merge-patch+json */
    KUBE_PATCH_JSON,      /* application/json-patch+json (an array of operations) */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in types only) */
};

/*
 * The verbs. `ns` is ignored for cluster-scoped resources and must be non-NULL for
 * namespaced ones (except kube_list: NULL lists all namespaces). `subresource` may be NULL
 * ("status", "scale", ...). Objects passed in are borrowed. When `out` is non-NULL, *out
 * receives a NEW reference to the answer (the object; for delete, the object or the Status)
 * or NULL on failure. Return 0 or a negative errno as listed above.
 */
int kube_get(struct kube_client *c, const struct kube_resource *res, const char *ns,
             const char *name, const char *subresource, json_t **out);
/* One page (or everything, without limit): the List object with items and metadata. */
int kube_list(struct kube_client *c, const struct kube_resource *res, const char *ns,
              const struct kube_list_opts *opts, json_t **out);
/* POST; the name comes from obj's metadata (or generateName). With a subresource
 * (e.g. "eviction"), `name` is taken from obj's metadata.name. */
int kube_create(struct kube_client *c, const struct kube_resource *res, const char *ns,
                const json_t *obj, const char *subresource, json_t **out);
/* PUT to obj's metadata.name; obj's metadata.resourceVersion, if set, makes it conditional
 * (-ESTALE on conflict). */
int kube_update(struct kube_client *c, const struct kube_resource *res, const char *ns,
                const json_t *obj, const char *subresource, json_t **out);
int kube_patch(struct kube_client *c, const struct kube_resource *res, const char *ns,
               const char *name, enum kube_patch_type type, const json_t *patch,
               const char *subresource, json_t **out);
int kube_delete(struct kube_client *c, const struct kube_resource *res, const char *ns,
                const char *name, json_t **out);

/*
 * Read-modify-write with conflict retry (client-go's RetryOnConflict): get the object, call
 * `mutate(ctx, obj)` on a private copy (return 0 to write, >0 to skip the write because
 * nothing changes, <0 to abort with that error), PUT it; on -ESTALE re-read and try again,
 * up to `attempts` times (0: 5). *out (optional) receives the NEW written object (or the
 * unchanged one when skipped).
 */
int kube_update_retry(struct kube_client *c, const struct kube_resource *res, const char *ns,
                      const char *name, const char *subresource,
                      int (*mutate)(void *ctx, json_t *obj), void *ctx, int attempts, json_t **out);

/*
 * A raw request on an API path ("/version", "/apis"): `body` may be NULL; `content_type`
 * defaults to application/json. Same retry, rate limit and error mapping. *out as above.
 */
int kube_request(struct kube_client *c, const char *method, const char *path, const json_t *body,
                 const char *content_type, json_t **out);

/* Build the API path of a resource ("/apis/apps/v1/namespaces/NS/deployments/NAME/status")
 * into `sb` (appended; names are URL-escaped). 0 or -ENOMEM. */
struct strbuf;
int kube_resource_path(struct strbuf *sb, const struct kube_resource *res, const char *ns,
                       const char *name, const char *subresource);

#endif
