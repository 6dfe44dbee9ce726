/*
 * kube_internal.h - what the files of src/kube/ share and nobody else needs: the client's
 * HTTP exchange (used by the REST verbs in client.c and the watch in watch.c), status
 * mapping, cancellable sleeps and jittered backoff.
 */
#ifndef ISTRIGGER_KUBE_INTERNAL_H
#define ISTRIGGER_KUBE_INTERNAL_H

#include "istrigger/kube/client.h"
#include "istrigger/util/strbuf.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One HTTP exchange's description. */
struct kube_http_req {
    const char *method;   /* "GET", "POST", ... */
    const char *verb;     /* metrics label: "GET", "LIST", "WATCH", ... */
    const char *what;     /* resource label: "deployments.apps" */
    const char *url_path; /* path with query, appended to the server URL */
    const char *body;     /* NULL for none */
    size_t body_len;
    const char *content_type; /* NULL: application/json */
    /* Streaming (watch): when set, 2xx body bytes go to `on_data` (return 0 to go on, <0 to
     * abort with that code) instead of being collected. */
    int (*on_data)(void *ctx, const char *data, size_t len);
    void *on_data_ctx;
    const atomic_int *stop; /* optional extra cancel flag (watch) */
    int64_t timeout_ns;     /* 0: the client's default; <0: none */
};

/* Run one exchange with rate limiting, auth, and (unless `no_retry`) the retry policy.
 * On 2xx returns 0 and, unless streaming, the parsed body in *out (NEW, may be NULL for an
 * empty body). On failure maps Status/transport errors (kube_last_status, err_msg). */
int kube_http_do(struct kube_client *c, const struct kube_http_req *rq, bool no_retry,
                 json_t **out);

/* Map an HTTP code and (optional) Status body to -errno, setting kube_last_status and err_msg
 * ("CODE Reason: message"). */
int kube_status_error(int http_code, const json_t *body, const char *raw, size_t raw_len);

/* Sleep `ns` unless the client is cancelled (or *stop set): 0 or -ECANCELED. */
int kube_client_sleep(struct kube_client *c, int64_t ns, const atomic_int *stop);

bool kube_client_cancelled(const struct kube_client *c);

/* d * 2^attempt capped at max, then jittered to [d/2, d] ("equal jitter"). */
int64_t kube_backoff_ns(int64_t base, int64_t max, int attempt);

/* Uniform random double in [0, 1), thread-safe. */
double kube_rand01(void);

/* Append "?k=v" or "&k=v" (value URL-escaped) to sb; skipped when v is NULL or "". */
int kube_query_add(struct strbuf *sb, const char *k, const char *v);

/* Reset the thread's last status to "no error". */
void kube_status_clear(void);

#endif
