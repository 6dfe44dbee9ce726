/*
 * handlers.c - the built-in routes of the HTTP surface: probes, /metrics, the status page and
 * the JSON API. Each handler only reads: the metrics registry and the status providers.
 *
 * /healthz answers as long as the process can serve HTTP (liveness must not depend on the API
 * server). /readyz asks the readiness function the operator set (caches synced; leader or
 * ready follower) and says why when not ready; both stay open without auth so kubelet can
 * probe them.
 */
#include "istrigger/http/metrics.h"
#include "istrigger/http/server.h"
#include "istrigger/http/status.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

#include <string.h>

#define JSON_TYPE "application/json"

static int handle_healthz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return strbuf_puts(&resp->body, "ok\n");
}

static int handle_readyz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    _cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
    (void)ctx;
    (void)req;
    if (status_is_ready(&why))
        return strbuf_puts(&resp->body, "ok\n");
    resp->status = 503;
    return strbuf_printf(&resp->body, "not ready: %s\n",
                         why.len ? strbuf_str(&why) : "no reason given");
}

static int handle_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    resp->content_type = METRICS_CONTENT_TYPE;
    return metrics_render(&resp->body);
}

static int handle_page(void *ctx, const struct http_request *req, struct http_response *resp)
{
    _cleanup_json_ json_t *all = NULL;
    const char *path = http_request_path(req);
    (void)ctx;
    /* "/" is the catch-all route: everything that is not the page is 404. */
    if (strcmp(path, "/") != 0 && strcmp(path, "/status") != 0) {
        resp->status = 404;
        return strbuf_puts(&resp->body, "Not Found\n");
    }
    if (!(all = status_snapshot_all()))
        return err_set(-ENOMEM, "status snapshot: out of memory");
    resp->content_type = "text/html; charset=utf-8";
    return status_render_html(&resp->body, all, time_real_ns());
}

static int send_json(struct http_response *resp, int status, json_t *body)
{
    _cleanup_free_ char *s = NULL;
    if (!body || !(s = json_dumps(body, JSON_COMPACT)))
        return err_set(-ENOMEM, "serialising JSON: out of memory");
    resp->status = status;
    resp->content_type = JSON_TYPE;
    return strbuf_puts(&resp->body, s) < 0 ? -ENOMEM : strbuf_putc(&resp->body, '\n');
}

/* /api/v1/ (index), /api/v1/status (page model), /api/v1/NAME (provider NAME). */
static int handle_api(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *name = http_request_path(req) + strlen("/api/v1/");
    _cleanup_json_ json_t *body = NULL;
    (void)ctx;

    if (*name == '\0') {
        json_t *names = status_provider_names();
        json_array_append_new(names, json_string("status"));
        body = json_pack("{s:s,s:o}", "kind", "Index", "resources", names);
        return send_json(resp, 200, body);
    }
    if (strcmp(name, "status") == 0) {
        _cleanup_json_ json_t *all = status_snapshot_all();
        body = all ? status_page_model(all, time_real_ns()) : NULL;
        return send_json(resp, 200, body);
    }
    _cleanup_json_ json_t *names = status_provider_names();
    json_t *n;
    size_t i;
    json_array_foreach (names, i, n) {
        if (strcmp(json_string_value(n), name) != 0)
            continue;
        json_t *snap = status_snapshot(name);
        body = json_pack("{s:s,s:o}", "kind", name, "items", snap ? snap : json_array());
        return send_json(resp, 200, body);
    }
    body = json_pack("{s:s,s:s}", "kind", "Status", "message", "not found");
    return send_json(resp, 404, body);
}

int http_server_add_builtin_routes(struct http_server *srv)
{
    int r;
    if ((r = http_server_add_public_route(srv, "/healthz", handle_healthz, NULL)) < 0 ||
        (r = http_server_add_public_route(srv, "/readyz", handle_readyz, NULL)) < 0 ||
        (r = http_server_add_route(srv, "/metrics", handle_metrics, NULL)) < 0 ||
        (r = http_server_add_route(srv, "/", handle_page, NULL)) < 0 ||
        (r = http_server_add_route(srv, "/api/v1/", handle_api, NULL)) < 0)
        return r;
    return 0;
}
