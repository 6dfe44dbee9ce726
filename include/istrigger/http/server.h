/*
 * server.h - istrigger's one HTTP(S) listener, on libmicrohttpd.
 *
 * Serves /healthz and /readyz (always open), /metrics, the status page (/) and the JSON API
 * (/api/v1/), and whatever other routes modules add (registry webhooks later). TLS comes from
 * the mounted serving-certificate files (OpenShift service-ca) and is reloaded when they
 * change. With HTTP_AUTH_KUBERNETES every non-public route asks the API server (TokenReview,
 * then SubjectAccessReview) through the `auth` backend; see auth.h.
 *
 * Handlers run on libmicrohttpd's threads (a pool); they must be thread-safe and quick.
 */
#ifndef ISTRIGGER_HTTP_SERVER_H
#define ISTRIGGER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "istrigger/http/auth.h"
#include "istrigger/util/strbuf.h"

struct http_server;
struct http_request;

struct http_response {
    int status;               /* default 200 */
    const char *content_type; /* static string; default "text/plain; charset=utf-8" */
    struct strbuf body;       /* owned by the server */
    char *location;           /* optional Location header (malloc'd; freed by the server) */
};

/* Handler: fill `resp`. Return 0 to send it, or a negative errno to answer 500 with a
 * generic body (the error is logged, never sent). */
typedef int (*http_handler_fn)(void *ctx, const struct http_request *req,
                               struct http_response *resp);

/* Request accessors; returned strings are borrowed and valid during the handler call. */
const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);
/* Header or query argument value, NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);
const char *http_request_query(const struct http_request *req, const char *key);
/* The authenticated user name, or NULL (auth none / public route). */
const char *http_request_user(const struct http_request *req);

struct http_server_opts {
    const char *listen;        /* "HOST:PORT" or ":PORT" (all addresses); port 0 = any free */
    const char *tls_cert_file; /* both or neither: PEM files, re-read when they change */
    const char *tls_key_file;
    enum http_auth_mode auth;
    struct http_auth_backend auth_backend; /* required with HTTP_AUTH_KUBERNETES */
    /* Authorize the page and the API with this resource attribute instead of `get` on the
     * request's URL. Needed in a real cluster: every authenticated user may `get` the URLs
     * under /api/ (ClusterRole system:discovery), so the URL cannot protect /api/v1/. */
    const struct http_auth_resource *page_resource;
    unsigned threads;    /* worker threads, default 4 */
    bool builtin_routes; /* add /healthz /readyz /metrics / and /api/v1/ (default set by
                            http_server_opts_default) */
};

/* Defaults: listen ":8443", no TLS, auth none, 4 threads, builtin routes on. */
void http_server_opts_default(struct http_server_opts *opts);

/* Parse "--listen"-style addresses. 0 or -EINVAL. `host` is "" for all addresses. */
int http_parse_listen(const char *listen, char *host, size_t hostsz, unsigned *port);

/* Bind and start serving. Strings in `opts` are copied. On success *out owns the server;
 * stop it with http_server_stop. 0 or negative errno (-EADDRINUSE, -EINVAL, -EPROTO for bad
 * TLS files) with err_msg set. */
int http_server_start(const struct http_server_opts *opts, struct http_server **out);

/* Port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);

/* Route requests whose path equals `prefix`, or starts with it when `prefix` ends in '/'.
 * The longest matching prefix wins. `ctx` is not owned. Public routes skip auth.
 * 0 or -ENOMEM / -EEXIST. Safe while serving. */
int http_server_add_route(struct http_server *srv, const char *prefix, http_handler_fn handler,
                          void *ctx);
int http_server_add_public_route(struct http_server *srv, const char *prefix,
                                 http_handler_fn handler, void *ctx);

/* The built-in routes: /healthz and /readyz (public), /metrics, / (the status page) and
 * /api/v1/ (JSON: an index, one resource per status provider, and "status", the page model).
 * http_server_start adds them when opts->builtin_routes. 0 or negative errno. */
int http_server_add_builtin_routes(struct http_server *srv);

/* Reload the TLS files now if they changed (also checked on its own every few seconds).
 * 0, 1 when reloaded, or negative errno (the old certificate stays in use). */
int http_server_reload_tls(struct http_server *srv);

/* Stop listening, wait for running handlers, free. NULL is fine. */
void http_server_stop(struct http_server *srv);

#endif
