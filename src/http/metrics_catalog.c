/*
 * metrics_catalog.c - registration of the operator's metric families (see metrics_catalog.h
 * for names, labels and who updates each), and the scrape-time collector that derives the
 * tracked-tag and ImageTrigger gauges from the controllers' status snapshots, so the gauges
 * can never disagree with the status page.
 */
#include "istrigger/http/metrics_catalog.h"

#include "istrigger/http/status.h"
#include "istrigger/registry/ref.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/jsonx.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t catalog_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static struct metrics_catalog catalog;
static unsigned catalog_generation; /* metrics_generation() when registered; 0 = never */

static const double POLL_BUCKETS[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

/* States a source can be in (status.h); every one gets a series, 0 when empty, so a tag
 * leaving "Failing" drops the alert instead of leaving a stale series. */
static const char *const STATES[] = {"UpToDate",   "Importing", "Failing",
                                     "BackingOff", "Pending",   NULL};

static void collect_from_status(void *ctx)
{
    _cleanup_json_ json_t *sources = status_snapshot("sources");
    _cleanup_json_ json_t *triggers = status_snapshot("imagetriggers");
    (void)ctx;
    metrics_catalog_update_from_status(sources, triggers);
}

static void count(json_t *counts, const char *ns, const char *key)
{
    json_t *per_ns = json_object_get(counts, ns);
    if (!per_ns) {
        per_ns = json_object();
        json_object_set_new(counts, ns, per_ns);
    }
    json_object_set_new(per_ns, key, json_integer(jsonx_int(per_ns, 0, key) + 1));
}

void metrics_catalog_update_from_status(const json_t *sources, const json_t *imagetriggers)
{
    const struct metrics_catalog *c = metrics_catalog();
    _cleanup_json_ json_t *tags = json_object(), *its = json_object();
    json_t *src, *tag, *per_ns, *it;
    const char *ns;
    size_t i, j;

    json_array_foreach (sources, i, src) {
        const char *state = jsonx_str(src, "state") ? jsonx_str(src, "state") : "Pending";
        json_array_foreach (json_object_get(src, "tags"), j, tag) {
            ns = jsonx_str(tag, "namespace");
            if (ns) /* a tag's own import state outranks its source's poll state */
                count(tags, ns, jsonx_str(tag, "state") ? jsonx_str(tag, "state") : state);
        }
    }
    json_array_foreach (imagetriggers, i, it) {
        ns = jsonx_str(it, "namespace");
        if (ns)
            count(its, ns, jsonx_bool(it, false, "ready") ? "true" : "false");
    }
    /* Recompute from scratch: namespaces that disappeared lose their series. */
    metrics_clear(c->tracked_tags);
    metrics_clear(c->imagetriggers);
    json_object_foreach (tags, ns, per_ns) {
        for (i = 0; STATES[i]; i++)
            metrics_set(c->tracked_tags, (double)jsonx_int(per_ns, 0, STATES[i]), ns, STATES[i]);
    }
    json_object_foreach (its, ns, per_ns) {
        metrics_set(c->imagetriggers, (double)jsonx_int(per_ns, 0, "true"), ns, "true");
        metrics_set(c->imagetriggers, (double)jsonx_int(per_ns, 0, "false"), ns, "false");
    }
}

static void catalog_register(void)
{
    static const char *const registry_result[] = {"registry", "result", NULL};
    static const char *const registry_only[] = {"registry", NULL};
    static const char *const ns_registry_result[] = {"namespace", "registry", "result", NULL};
    static const char *const registry_kind_code[] = {"registry", "kind", "code", NULL};
    static const char *const ns_state[] = {"namespace", "state", NULL};
    static const char *const ns_ready[] = {"namespace", "ready", NULL};
    static const char *const verb_res_code[] = {"verb", "resource", "code", NULL};

    catalog.polls = metrics_counter(
        "istrigger_polls_total",
        "Digest checks of tracked sources, by registry and result (changed, unchanged, error).",
        registry_result);
    catalog.poll_duration = metrics_histogram(
        "istrigger_poll_duration_seconds", "Time taken by one digest check of a source.",
        registry_only, POLL_BUCKETS, sizeof(POLL_BUCKETS) / sizeof(POLL_BUCKETS[0]));
    catalog.imports = metrics_counter(
        "istrigger_imports_total",
        "ImageStreamImports posted, by namespace, registry and result (success, failure).",
        ns_registry_result);
    catalog.detection_to_import = metrics_histogram(
        "istrigger_detection_to_import_seconds",
        "Time from the poll that saw a new digest to the ImageStream import completing.",
        registry_only, METRICS_LATENCY_BUCKETS, METRICS_LATENCY_NBUCKETS);
    catalog.registry_requests = metrics_counter(
        "istrigger_registry_requests_total",
        "HTTP exchanges with registries and their token servers, by host, kind and status code "
        "(0: no answer).",
        registry_kind_code);
    catalog.tracked_tags = metrics_gauge("istrigger_tracked_tags",
                                         "Tracked ImageStream tags, by namespace and state (the "
                                         "tag's import state, else its source's).",
                                         ns_state);
    catalog.imagetriggers = metrics_gauge(
        "istrigger_imagetriggers", "ImageTriggers, by namespace and Ready condition.", ns_ready);
    catalog.api_requests = metrics_counter(
        "istrigger_api_requests_total",
        "Kubernetes API requests by verb, resource and HTTP code (0: no answer).", verb_res_code);
    catalog.leader = metrics_gauge("istrigger_leader",
                                   "1 while this replica holds the leader lease, else 0.", NULL);
    metrics_add_collector(collect_from_status, NULL);
}

const struct metrics_catalog *metrics_catalog(void)
{
    /* Registered again after metrics_reset() (tests), which invalidates metric pointers. */
    pthread_mutex_lock(&catalog_lock);
    if (catalog_generation != metrics_generation()) {
        catalog_register();
        catalog_generation = metrics_generation();
    }
    pthread_mutex_unlock(&catalog_lock);
    return &catalog;
}

void metrics_on_registry_request(void *ctx, const char *host, const char *kind, int http_status)
{
    char code[16];
    (void)ctx;
    snprintf(code, sizeof(code), "%d", http_status);
    /* The client talks to registry-1.docker.io; polls and imports say docker.io, as the image
     * references do. One label value per registry, so the dashboard can join them. */
    if (image_ref_is_docker_hub(host))
        host = IMAGE_REF_DOCKER_HUB;
    metrics_inc(metrics_catalog()->registry_requests, host ? host : "", kind ? kind : "", code);
}

void metrics_on_api_request(const char *verb, const char *resource, int code)
{
    char c[16];
    snprintf(c, sizeof(c), "%d", code);
    metrics_inc(metrics_catalog()->api_requests, verb ? verb : "", resource ? resource : "", c);
}
