/*
 * status.h - live state for the status page, the JSON API under /api/v1/ and /readyz.
 *
 * Controllers register *providers*: a name and a function returning a JSON snapshot of what
 * they hold right now. The HTTP layer calls them per request (from libmicrohttpd's threads,
 * so providers must be thread-safe and must not block on the network) and renders the result;
 * nothing here keeps copies. `/api/v1/NAME` returns the provider NAME's snapshot as
 * `{"kind":"NAME","items":[...]}`.
 *
 * Snapshot shapes the page understands (extra members are kept in the API and ignored by the
 * page; times are RFC 3339 strings, absent when unknown):
 *
 *   "sources" (sync controller): array of one object per polled external reference
 *     {"source": "docker.io/library/nginx:1.25", "registry": "docker.io",
 *      "interval": "30s", "state": "UpToDate"|"Importing"|"Failing"|"BackingOff"|"Pending",
 *      "reason": "Unauthorized", "message": "HEAD manifest: 401 ...",    (last error, if any)
 *      "lastPoll": T, "lastDigest": "sha256:...", "lastChange": T, "nextDue": T,
 *      "backoffUntil": T, "consecutiveFailures": 3,
 *      "tags": [{"namespace": "web", "imageStream": "app", "tag": "latest"}, ...]}
 *     A tag may carry its own import state, which the page and the tracked-tags gauge prefer
 *     to the source's: "state" ("Importing", "Failing", "BackingOff"), "reason", "message",
 *     "backoffUntil", "consecutiveFailures", "importingSince".
 *
 *   "imagetriggers" (trigger controller): array of
 *     {"namespace": "web", "name": "app", "target": {"kind": "Deployment", "name": "app"},
 *      "triggers": [{"from": {"namespace": "web", "name": "app:latest"},
 *                    "containers": ["app"], "paused": false, "resolvedImage":
 * "reg/app@sha256:.."}], "ready": true, "reason": "...", "message": "..."}
 *
 *   "imports" (sync controller): array, newest first, of the last imports
 *     {"time": T, "namespace": "web", "imageStream": "app", "tags": ["latest"],
 *      "source": "...", "digest": "sha256:...", "previousDigest": "sha256:...",
 *      "result": "Success"|"Failed", "message": "...", "detectionToImportSeconds": 1.5}
 */
#ifndef ISTRIGGER_HTTP_STATUS_H
#define ISTRIGGER_HTTP_STATUS_H

#include <jansson.h>
#include <stdbool.h>

#include "istrigger/util/strbuf.h"

/* Returns a NEW reference (normally an array), or NULL when there is nothing to show. */
typedef json_t *(*status_snapshot_fn)(void *ctx);

/* Register or replace the provider `name` ([a-z0-9-]+). `ctx` is not owned and must outlive
 * the registration. 0, -EINVAL (bad name) or -ENOMEM. */
int status_register_provider(const char *name, status_snapshot_fn fn, void *ctx);
/* Remove provider `name`; waits for calls to it in flight, so `ctx` may be freed afterwards.
 * Must not be called from a provider or a readiness check. */
void status_unregister_provider(const char *name);

/* Call provider `name`. NEW reference, or NULL when no such provider or it returned NULL. */
json_t *status_snapshot(const char *name);

/* Every registered provider's snapshot as {"NAME": snapshot-or-null, ...}. NEW reference. */
json_t *status_snapshot_all(void);

/* Names of registered providers as a NEW JSON array of strings, sorted. */
json_t *status_provider_names(void);

/* Readiness for /readyz: ready when the flag set by status_set_ready is true (the operator
 * sets it once its controllers are started; initially false, "starting") and every
 * registered check passes. A check returns true when fine; when not it may append why to
 * `why`. Checks run on every probe (keep them cheap: e.g. an informer's has_synced); `ctx` is
 * not owned. status_add_ready_check: 0, -EINVAL or -ENOMEM. */
void status_set_ready(bool ready);
int status_add_ready_check(const char *name, bool (*check)(void *ctx, struct strbuf *why),
                           void *ctx);
/* Remove the readiness check `name`; like status_unregister_provider, waits for calls in
 * flight. */
void status_remove_ready_check(const char *name);
/* False with the reasons ("starting", or "NAME: why; ...") appended to `why` (may be NULL). */
bool status_is_ready(struct strbuf *why);

/* Render the status page from a status_snapshot_all()-shaped object. `now_real_ns` is the
 * time shown and used for "in 3m" texts. Self-contained HTML (inline CSS and script, no
 * external assets). 0 or -ENOMEM. */
int status_render_html(struct strbuf *out, const json_t *all, long long now_real_ns);

/* The page's model as JSON, served at /api/v1/status: {"generated": T, "summary": {"tags",
 * "sources", "imageTriggers", and a count per state}, "rows": [one per tracked tag, failures
 * first, with "workloads" joined from the imagetriggers snapshot], "html": the page's main
 * fragment (what the inline script swaps in to refresh without reloading)}. NEW ref, or NULL
 * on ENOMEM. */
json_t *status_page_model(const json_t *all, long long now_real_ns);

/* Forget every provider and readiness setting (tests). */
void status_reset(void);

#endif
