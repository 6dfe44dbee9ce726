/*
 * metrics_catalog.h - the operator's metric families, defined once.
 *
 * The alerts (manifests/prometheusrule.yaml) and the console dashboard (dashboard.c) are
 * written against these names and labels, and test/packaging/test_monitoring.py checks that
 * every name they use is registered in the C sources. Modules update the metrics through this
 * struct rather than registering their own copies, so a label can never drift.
 *
 *   istrigger_polls_total{registry, result}                      counter   (sync controller)
 *       one per digest check of a source; result "changed" (a new digest), "unchanged",
 *       "error". registry is image_ref's normalised registry ("docker.io").
 *   istrigger_poll_duration_seconds{registry}                    histogram (sync controller)
 *   istrigger_imports_total{namespace, registry, result}         counter   (sync controller)
 *       ImageStreamImports posted; result "success" or "failure" (any tag's import failed).
 *   istrigger_detection_to_import_seconds{registry}              histogram (sync controller)
 *       from the poll that saw the new digest to the import reported by the API server.
 *   istrigger_registry_requests_total{registry, kind, code}      counter   (registry client hook)
 *       every HTTP exchange with a registry or its token server; kind "ping", "token",
 *       "head", "get", "tags"; code the HTTP status, "0" for a transport error.
 *   istrigger_tracked_tags{namespace, state}                     gauge     (computed here)
 *       tracked ImageStream tags by state (UpToDate, Importing, Failing, BackingOff,
 *       Pending): the tag's own import state when it has one, else its source's; from the
 *       "sources" status provider at every scrape.
 *   istrigger_imagetriggers{namespace, ready}                    gauge     (computed here)
 *       ImageTriggers by Ready condition ("true"/"false"), from the "imagetriggers" provider.
 *   istrigger_leader                                             gauge     (operator)
 *       1 while this replica holds the leader lease, else 0.
 *   istrigger_api_requests_total{verb, resource, code}           counter   (kube client hook)
 *       every Kubernetes API request; verb as the client labels it ("GET", "LIST", "WATCH",
 *       ...), code the HTTP status, "0" when there was no answer.
 *   istrigger_http_requests_total{handler, code}, istrigger_build_info{version}   (server.c)
 */
#ifndef ISTRIGGER_HTTP_METRICS_CATALOG_H
#define ISTRIGGER_HTTP_METRICS_CATALOG_H

#include <jansson.h>

#include "istrigger/http/metrics.h"

struct metrics_catalog {
    struct metric *polls;
    struct metric *poll_duration;
    struct metric *imports;
    struct metric *detection_to_import;
    struct metric *registry_requests;
    struct metric *tracked_tags;
    struct metric *imagetriggers;
    struct metric *leader;
    struct metric *api_requests;
};

/* Register every family (once, and again after metrics_reset; thread-safe) and the collector that
 * compute the gauges from the status providers. The returned struct is static: never free it. */
const struct metrics_catalog *metrics_catalog(void);

/* For registry_client_opts.on_request: counts istrigger_registry_requests_total. `ctx` unused. */
void metrics_on_registry_request(void *ctx, const char *host, const char *kind, int http_status);

/* For kube_client_opts.on_request: counts istrigger_api_requests_total. */
void metrics_on_api_request(const char *verb, const char *resource, int code);

/* The gauges computed from status snapshots, for a given "sources"/"imagetriggers" snapshot
 * (either may be NULL). Called by the collector at every scrape; exposed for tests. */
void metrics_catalog_update_from_status(const json_t *sources, const json_t *imagetriggers);

#endif
