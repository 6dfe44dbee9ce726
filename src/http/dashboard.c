/*
 * dashboard.c - the console dashboard, built from small panel helpers so each panel reads as
 * one line: its type, title, width and PromQL. Only panel types the console draws are used
 * (graph, singlestat, table; olm-okd.md §6), every panel has targets[].expr, and every metric
 * comes from metrics_catalog.h (test/packaging/test_monitoring.py checks all three).
 *
 * Rates use a fixed 5m window rather than $__rate_interval: it is what the platform's own
 * dashboards do and does not depend on the console substituting the variable.
 */
#include "istrigger/http/dashboard.h"

#include "istrigger/kube/client.h"
#include "istrigger/kube/resources.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"

#include <string.h>

static json_t *target(const char *expr, const char *legend)
{
    return json_pack("{s:s,s:s,s:s}", "expr", expr, "legendFormat", legend ? legend : "", "refId",
                     "A");
}

static json_t *graph(const char *title, int span, const char *unit, bool stack, json_t *targets)
{
    char ref[2] = "A";
    size_t i;
    json_t *t;
    json_array_foreach (targets, i, t) {
        ref[0] = (char)('A' + i);
        json_object_set_new(t, "refId", json_string(ref));
    }
    return json_pack("{s:s,s:s,s:i,s:b,s:i,s:{s:b},s:[{s:s,s:b},{s:s,s:b}],s:o}", "type", "graph",
                     "title", title, "span", span, "stack", stack, "fill", stack ? 5 : 1, "legend",
                     "show", 1, "yaxes", "format", unit, "show", 1, "format", "short", "show", 0,
                     "targets", targets);
}

static json_t *singlestat(const char *title, int span, const char *expr, const char *thresholds,
                          json_t *value_maps)
{
    json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:i,s:s,s:[o]}", "type", "singlestat", "title", title,
                          "span", span, "format", "none", "decimals", 0, "valueName", "current",
                          "targets", target(expr, NULL));
    if (thresholds) {
        json_object_set_new(p, "thresholds", json_string(thresholds));
        json_object_set_new(p, "colorValue", json_true());
        json_object_set_new(p, "colors", json_pack("[s,s,s]", "#3e8635", "#f0ab00", "#c9190b"));
    }
    if (value_maps)
        json_object_set_new(p, "valueMaps", value_maps);
    return p;
}

static json_t *table(const char *title, int span, const char *expr, json_t *styles)
{
    json_t *t = target(expr, NULL);
    json_object_set_new(t, "format", json_string("table"));
    json_object_set_new(t, "instant", json_true());
    return json_pack("{s:s,s:s,s:i,s:[o],s:o}", "type", "table", "title", title, "span", span,
                     "targets", t, "styles", styles);
}

static json_t *row(const char *title, json_t *panels)
{
    return json_pack("{s:s,s:b,s:s,s:o}", "title", title, "showTitle", 1, "height", "250px",
                     "panels", panels);
}

/* Panel ids in reading order (json_pack's argument order is unspecified). */
static json_t *number_panels(json_t *dashboard)
{
    json_t *r, *p;
    size_t i, j;
    int id = 0;
    json_array_foreach (json_object_get(dashboard, "rows"), i, r) {
        json_array_foreach (json_object_get(r, "panels"), j, p) {
            json_object_set_new(p, "id", json_integer(++id));
        }
    }
    return dashboard;
}

json_t *http_dashboard_json(void)
{
    json_t *overview = json_pack(
        "[o,o,o,o]", singlestat("Tracked tags", 3, "sum(istrigger_tracked_tags)", NULL, NULL),
        singlestat("Failing tags", 3,
                   "sum(istrigger_tracked_tags{state=~\"Failing|BackingOff\"}) or vector(0)", "1,5",
                   NULL),
        singlestat("ImageTriggers not ready", 3,
                   "sum(istrigger_imagetriggers{ready=\"false\"}) or vector(0)", "1,5", NULL),
        singlestat("Leader elected", 3, "max(istrigger_leader)", NULL,
                   json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "op", "=", "value", "1", "text",
                             "yes", "op", "=", "value", "0", "text", "no")));
    json_t *tags = json_pack(
        "[o,o]",
        graph("Tracked tags by state", 6, "short", true,
              json_pack("[o]", target("sum by (state) (istrigger_tracked_tags)", "{{state}}"))),
        table("Namespaces with failing or backing-off tags", 6,
              "sum by (namespace, state) (istrigger_tracked_tags{state=~\"Failing|BackingOff\"}) "
              "> 0",
              json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s,s:s,s:i}]", "pattern", "Time",
                        "type", "hidden", "pattern", "namespace", "alias", "Namespace", "pattern",
                        "state", "alias", "State", "pattern", "Value", "alias", "Tags", "type",
                        "number", "decimals", 0)));
    json_t *polls = json_pack(
        "[o,o]",
        graph("Registry checks per second by registry and result", 6, "short", false,
              json_pack("[o]", target("sum by (registry, result) "
                                      "(rate(istrigger_polls_total[5m]))",
                                      "{{registry}} {{result}}"))),
        graph("Registry check errors per second by registry", 6, "short", false,
              json_pack("[o]", target("sum by (registry) "
                                      "(rate(istrigger_polls_total{result=\"error\"}[5m]))",
                                      "{{registry}}"))));
    json_t *imports = json_pack(
        "[o,o]",
        graph("Imports per second by registry and result", 6, "short", false,
              json_pack("[o]", target("sum by (registry, result) "
                                      "(rate(istrigger_imports_total[5m]))",
                                      "{{registry}} {{result}}"))),
        graph("Detection-to-import latency", 6, "s", false,
              json_pack("[o,o]",
                        target("histogram_quantile(0.5, sum by (le) "
                               "(rate(istrigger_detection_to_import_seconds_bucket[5m])))",
                               "p50"),
                        target("histogram_quantile(0.95, sum by (le) "
                               "(rate(istrigger_detection_to_import_seconds_bucket[5m])))",
                               "p95"))));
    json_t *requests =
        json_pack("[o,o]",
                  graph("Registry requests per second by host and code", 6, "short", false,
                        json_pack("[o]", target("sum by (registry, code) "
                                                "(rate(istrigger_registry_requests_total[5m]))",
                                                "{{registry}} {{code}}"))),
                  graph("Kubernetes API requests per second by verb and code", 6, "short", false,
                        json_pack("[o]", target("sum by (verb, code) "
                                                "(rate(istrigger_api_requests_total[5m]))",
                                                "{{verb}} {{code}}"))));
    return number_panels(json_pack(
        "{s:s,s:[s],s:s,s:{s:s,s:s},s:s,s:{s:[]},s:[o,o,o,o,o]}", "title",
        "istrigger / ImageStream polling and triggers", "tags", "istrigger", "timezone", "utc",
        "time", "from", "now-6h", "to", "now", "refresh", "1m", "templating", "list", "rows",
        row("Overview", overview), row("Tracked tags", tags), row("Registry checks", polls),
        row("Imports", imports), row("Requests", requests)));
}

char *http_dashboard_text(void)
{
    _cleanup_json_ json_t *d = http_dashboard_json();
    _cleanup_free_ char *s = d ? json_dumps(d, JSON_INDENT(2)) : NULL;
    struct strbuf sb = STRBUF_INIT;
    if (!s || strbuf_puts(&sb, s) < 0 || strbuf_putc(&sb, '\n') < 0) {
        strbuf_free(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}

json_t *http_dashboard_configmap(void)
{
    _cleanup_free_ char *text = http_dashboard_text();
    if (!text)
        return NULL;
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:s}}", "apiVersion", "v1", "kind",
                     "ConfigMap", "metadata", "name", DASHBOARD_NAME, "namespace",
                     DASHBOARD_NAMESPACE, "labels", "console.openshift.io/dashboard", "true",
                     "app.kubernetes.io/name", "istrigger", "data", DASHBOARD_KEY, text);
}

int http_dashboard_yaml(struct strbuf *out)
{
    _cleanup_free_ char *text = http_dashboard_text();
    const char *line, *nl;

    if (!text)
        return err_set(-ENOMEM, "rendering the dashboard: out of memory");
    strbuf_puts(out,
                "# The istrigger dashboard for the OpenShift console (Observe -> Dashboards).\n"
                "# Generated by `istrigger console-dashboard`; do not edit (the source is\n"
                "# src/http/dashboard.c). OLM cannot ship objects into openshift-config-managed:\n"
                "# apply it with `oc apply -f`, or run the operator with --console-dashboard.\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " DASHBOARD_NAME "\n"
                "  namespace: " DASHBOARD_NAMESPACE "\n  labels:\n"
                "    console.openshift.io/dashboard: \"true\"\n"
                "    app.kubernetes.io/name: istrigger\ndata:\n  " DASHBOARD_KEY ": |\n");
    for (line = text; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        strbuf_puts(out, "    ");
        strbuf_append(out, line, (size_t)(nl - line) + 1);
    }
    return out->buf ? 0 : err_set(-ENOMEM, "rendering the dashboard: out of memory");
}

int http_dashboard_apply(struct kube_client *c)
{
    _cleanup_json_ json_t *want = http_dashboard_configmap(), *cur = NULL;
    int r;

    if (!want)
        return err_set(-ENOMEM, "console dashboard: out of memory");
    r = kube_get(c, KUBE_RES_CONFIGMAPS, DASHBOARD_NAMESPACE, DASHBOARD_NAME, NULL, &cur);
    if (r == -ENOENT) {
        r = kube_create(c, KUBE_RES_CONFIGMAPS, DASHBOARD_NAMESPACE, want, NULL, NULL);
        if (r < 0)
            return err_wrap(r, "creating ConfigMap %s/%s", DASHBOARD_NAMESPACE, DASHBOARD_NAME);
        log_info(DASHBOARD_NAMESPACE "/" DASHBOARD_NAME, "created the console dashboard");
        return 1;
    }
    if (r < 0)
        return err_wrap(r, "reading ConfigMap %s/%s", DASHBOARD_NAMESPACE, DASHBOARD_NAME);
    bool same_data = jsonx_equal(json_object_get(cur, "data"), json_object_get(want, "data"));
    bool same_labels = true;
    const char *k;
    json_t *v;
    json_object_foreach (jsonx_get(want, "metadata", "labels"), k, v) {
        if (!json_equal(jsonx_get(cur, "metadata", "labels", k), v))
            same_labels = false;
    }
    if (same_data && same_labels)
        return 0;
    /* Keep the object's other labels and metadata; replace data; conditional on
     * resourceVersion (a concurrent writer makes this fail with -ESTALE, retried next start). */
    json_object_set(cur, "data", json_object_get(want, "data"));
    json_object_foreach (jsonx_get(want, "metadata", "labels"), k, v) {
        jsonx_set(cur, json_incref(v), "metadata", "labels", k);
    }
    r = kube_update(c, KUBE_RES_CONFIGMAPS, DASHBOARD_NAMESPACE, cur, NULL, NULL);
    if (r < 0)
        return err_wrap(r, "updating ConfigMap %s/%s", DASHBOARD_NAMESPACE, DASHBOARD_NAME);
    log_info(DASHBOARD_NAMESPACE "/" DASHBOARD_NAME, "updated the console dashboard");
    return 1;
}
