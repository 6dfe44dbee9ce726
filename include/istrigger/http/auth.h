/*
 * auth.h - who may read /metrics, the status page and the API: the OpenShift way.
 *
 * With HTTP_AUTH_KUBERNETES a request must carry `Authorization: Bearer TOKEN`; the token is
 * checked with a TokenReview and the user it belongs to with a SubjectAccessReview: `get` on
 * the non-resource URL (platform Prometheus' ClusterRole grants `get` on `/metrics`, olm-okd.md
 * §5.4), or on a configured resource attribute for the page and the API. Decisions are cached
 * briefly (by SHA-256 of the token, never the token itself). Failures answer 401 (no or bad
 * token) or 403 (valid token, not allowed) with a fixed body that says nothing about why;
 * when the API server cannot be asked the answer is 503 (again without details). The reason
 * goes to the log at debug level.
 *
 * The decision itself is a pure function of the TokenReview and SubjectAccessReview replies
 * (http_auth_decide), unit-tested without a cluster. The replies come from a backend: the
 * operator plugs in the Kubernetes client (kube_create on tokenreviews and
 * subjectaccessreviews), tests plug in fakes.
 */
#ifndef ISTRIGGER_HTTP_AUTH_H
#define ISTRIGGER_HTTP_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_auth_mode { HTTP_AUTH_NONE = 0, HTTP_AUTH_KUBERNETES };

/* "none" | "kubernetes". 0 or -EINVAL. */
int http_auth_parse_mode(const char *s, enum http_auth_mode *out);

/* Asks the API server. `review` is "tokenreviews" or "subjectaccessreviews"
 * (group authentication.k8s.io/v1 resp. authorization.k8s.io/v1, both cluster-scoped create);
 * `request` is the object to create; on success *reply is a NEW reference to the created
 * object (with status). Returns 0 or a negative errno per the kube client's conventions. */
struct http_auth_backend {
    int (*create)(void *ctx, const char *review, const json_t *request, json_t **reply);
    void *ctx;
};

/* A resource attribute for the SubjectAccessReview (verb defaults to "get"). */
struct http_auth_resource {
    const char *verb;
    const char *group;
    const char *resource;
    const char *subresource;
    const char *namespace;
    const char *name;
};

/* Parse "[VERB ]RESOURCE[.GROUP][/SUBRESOURCE]" (e.g. "imagetriggerconfigs.istrigger.io" or
 * "get imagetriggerconfigs.istrigger.io"). Strings point into a malloc'd copy stored in
 * *storage (free() it). 0 or -EINVAL. */
int http_auth_parse_resource(const char *s, struct http_auth_resource *out, char **storage);

enum http_auth_verdict {
    HTTP_AUTH_ALLOW = 0,
    HTTP_AUTH_UNAUTHENTICATED, /* 401: no token, malformed header, token rejected */
    HTTP_AUTH_FORBIDDEN,       /* 403: authenticated, not allowed */
    HTTP_AUTH_UNAVAILABLE,     /* 503: the API server could not be asked; not cached */
};

/* HTTP status for a verdict (200/401/403/503). */
int http_auth_verdict_status(enum http_auth_verdict v);

/* Extract the token from an Authorization header value ("Bearer TOKEN", scheme
 * case-insensitive, one or more spaces). Returns a pointer into `header` and the length, or
 * NULL when absent or malformed (empty token, other scheme, whitespace inside). */
const char *http_auth_bearer_token(const char *header, size_t *len);

/* The TokenReview to create for `token` (`len` bytes). NEW reference. */
json_t *http_auth_tokenreview_request(const char *token, size_t len);

/* The SubjectAccessReview asking whether the user in `tokenreview_reply`'s status may `get`
 * `path` (nonResourceAttributes), or perform `res` when given (resourceAttributes). Copies
 * user, uid, groups and extra. NEW reference, or NULL when the reply has no user. */
json_t *http_auth_sar_request(const json_t *tokenreview_reply, const char *path,
                              const struct http_auth_resource *res);

/* The decision, from the outcome of each step: `tr_err`/`tr_reply` for the TokenReview
 * (reply may be NULL when tr_err < 0), `sar_err`/`sar_reply` for the SubjectAccessReview
 * (ignored unless the token was authenticated; pass 0/NULL when not asked yet — then an
 * authenticated token yields HTTP_AUTH_FORBIDDEN, i.e. never allow without a SAR).
 * If `user` is given, the authenticated user name is copied there ("" otherwise). */
enum http_auth_verdict http_auth_decide(int tr_err, const json_t *tr_reply, int sar_err,
                                        const json_t *sar_reply, char *user, size_t usersz);

/* The full check with a cache: TokenReview + SubjectAccessReview through `backend`, or a
 * cached verdict. Allowed and denied verdicts are cached for the given TTLs; UNAVAILABLE
 * never. Thread-safe. */
struct http_auth_cache;
int http_auth_cache_new(int64_t allow_ttl_ns, int64_t deny_ttl_ns, size_t max_entries,
                        struct http_auth_cache **out);
void http_auth_cache_free(struct http_auth_cache *c);
enum http_auth_verdict http_auth_check(struct http_auth_cache *c,
                                       const struct http_auth_backend *backend,
                                       const char *authorization_header, const char *path,
                                       const struct http_auth_resource *res, char *user,
                                       size_t usersz);

#endif
