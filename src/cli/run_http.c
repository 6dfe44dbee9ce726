/*
 * run_http.c - wiring of the HTTP surface into `istrigger run` (see run_http.h): the auth
 * backend is the operator's Kubernetes client creating TokenReviews and SubjectAccessReviews
 * (cluster-scoped; RBAC in manifests/clusterrole.yaml), the console dashboard is applied with
 * the same client.
 */
#include "run_http.h"

#include "istrigger/controller/operator.h"
#include "istrigger/http/auth.h"
#include "istrigger/http/dashboard.h"
#include "istrigger/http/server.h"
#include "istrigger/http/status.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/client.h"
#include "istrigger/kube/resources.h"
#include "istrigger/util/err.h"
#include "istrigger/util/log.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_AUTH_RESOURCE "get imagetriggerconfigs.istrigger.io"

static int kube_review(void *ctx, const char *review, const json_t *request, json_t **reply)
{
    struct kube_client *c = ctx;
    if (strcmp(review, "tokenreviews") == 0)
        return kube_create(c, KUBE_RES_TOKENREVIEWS, NULL, request, NULL, reply);
    return kube_create(c, KUBE_RES_SUBJECTACCESSREVIEWS, NULL, request, NULL, reply);
}

/* /readyz: the ImageTriggerConfig cache must be synced, unless the API does not serve
 * ImageTriggerConfigs at all (CRD not installed: the flags and environment are the settings,
 * and the log says the list keeps failing). Leader and followers alike are ready. */
static bool config_cache_synced(void *ctx, struct strbuf *why)
{
    struct operator* op = ctx;
    if (!op->config_informer || kube_informer_has_synced(op->config_informer) ||
        kube_informer_list_error(op->config_informer) == -ENOENT)
        return true;
    strbuf_puts(why, "ImageTriggerConfig cache not synced");
    return false;
}

int cli_run_http_start(struct operator* op, struct http_server **out)
{
    const struct operator_config *cfg = &op->cfg;
    struct http_server_opts o;
    struct http_auth_resource res;
    char *res_storage = NULL;
    int r;

    http_server_opts_default(&o);
    o.listen = cfg->listen;
    o.tls_cert_file = cfg->tls_cert_file && *cfg->tls_cert_file ? cfg->tls_cert_file : NULL;
    o.tls_key_file = cfg->tls_key_file && *cfg->tls_key_file ? cfg->tls_key_file : NULL;
    if ((r = http_auth_parse_mode(cfg->auth, &o.auth)) < 0)
        return err_wrap(r, "--auth");
    o.auth_backend.create = kube_review;
    o.auth_backend.ctx = op->kube;
    /* Never fall back to the URL for the page and the API: every authenticated user may get
     * URLs under /api/ (system:discovery). An empty value means the default. */
    const char *attr =
        cfg->auth_resource && *cfg->auth_resource ? cfg->auth_resource : DEFAULT_AUTH_RESOURCE;
    if ((r = http_auth_parse_resource(attr, &res, &res_storage)) < 0)
        return err_wrap(r, "--auth-resource");
    o.page_resource = &res;
    r = http_server_start(&o, out); /* copies the resource attribute */
    free(res_storage);
    if (r < 0)
        return r;
    if ((r = status_add_ready_check("config-cache", config_cache_synced, op)) < 0) {
        http_server_stop(*out);
        *out = NULL;
        return r;
    }
    if (o.auth == HTTP_AUTH_NONE)
        log_warn(NULL, "http: --auth none: /metrics, the status page and /api/v1/ are open to "
                       "anyone who can reach the listener");
    if (cfg->console_dashboard && http_dashboard_apply(op->kube) < 0)
        log_warn(NULL, "console dashboard not applied: %s", err_msg());
    return 0;
}
