/*
 * sync_internal.h - what the files of the ImageStream sync controller share and nobody else
 * needs: the controller object, its per-namespace keyrings and per-stream state, and the calls
 * between the pieces:
 *
 *   sync_controller.c  the wiring: start/stop, the ImageStream informer, settings, metrics,
 *                      status providers and the ImageTriggerConfig status thread, stream events
 *   sync_keyring.c     the namespaces' pull secrets as keyrings (imagestreams/NAME/secrets)
 *   sync_reconcile.c   reconcile(key) of the work queue workers: subscribe, decide, import
 *   sync_poller.c      the poller thread: due sources -> registry batch -> scheduler
 *
 * The pure pieces (sync_track.c, sync_import.c) and the scheduler have public headers
 * (controller/sync.h, controller/scheduler.h); sync_controller_start/stop is in sync.h.
 */
#ifndef ISTRIGGER_SYNC_INTERNAL_H
#define ISTRIGGER_SYNC_INTERNAL_H

#include "istrigger/controller/operator.h"
#include "istrigger/controller/scheduler.h"
#include "istrigger/controller/sync.h"
#include "istrigger/http/metrics.h"
#include "istrigger/http/metrics_catalog.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/workqueue.h"
#include "istrigger/registry/client.h"
#include "istrigger/registry/keyring.h"
#include "istrigger/util/strmap.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ns_keyring {
    int refs; /* under ctl->lock */
    bool stale;
    int64_t fetched_at;
    struct keyring *kr;
};

/* A tag whose last import failed. Owns reason and message. */
struct tag_backoff {
    int failures;
    int64_t until;
    char *reason;  /* the import's reason (ImageStreamImport status, or the API's) */
    char *message; /* what went wrong, for the status page */
};

struct stream_state {
    char *warned;             /* warnings already reported, joined */
    struct strmap *imported;  /* tag -> digest we imported, until the cache shows it */
    struct strmap *backoff;   /* tag -> struct tag_backoff */
    struct strmap *importing; /* tag -> int64_t, monotonic time its import started */
};

/* Per-tag import state for the "sources" status snapshot: adds "state" (Importing, Failing,
 * BackingOff), "reason", "message" and "backoffUntil" to each entry of each source's "tags"
 * whose stream has one (an import in flight, or a failed one). Takes ctl->lock. */
void sync_annotate_tag_states(struct sync_controller *ctl, json_t *sources, int64_t now,
                              int64_t now_real);

/* Families of the metrics catalog (http/metrics_catalog.h) plus the sync controller's own. */
struct sync_metrics {
    const struct metrics_catalog *c;
    struct metric *sources, *backoffs, *queue_depth, *in_flight;
};

struct sync_controller {
    struct operator* op;
    struct kube_informer *informer;
    struct workqueue *queue;
    struct scheduler *sched;
    struct registry_client *reg;
    struct registry_batch *batch; /* poller thread only */
    pthread_t poller, status_thread;
    bool poller_started, status_started;
    atomic_bool stop;
    struct sync_platform platform;
    int64_t secrets_refresh_ns;

    pthread_mutex_t lock;
    pthread_cond_t status_cond;
    struct strmap *keyrings; /* ns -> struct ns_keyring */
    struct strmap *states;   /* "ns/name" -> struct stream_state */
    json_t *imports;         /* recent imports, newest first */
    struct sync_metrics m;
};

/* ---- sync_controller.c ---- */

/* A Kubernetes event on the stream `stream_key` ("ns/name"), from the leader only. */
void sync_stream_event(struct sync_controller *ctl, const char *stream_key, const char *type,
                       const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- sync_keyring.c ---- */

/* The namespace's keyring (a reference: sync_keyring_release it), fetched when missing, stale
 * (after a 401) or older than the refresh period. `stream` names any stream of the namespace
 * (the subresource lists every pull secret of the namespace); NULL: cached only, no network.
 * NULL on ENOMEM (or, with `stream` NULL, when none is cached). */
struct ns_keyring *sync_keyring_acquire(struct sync_controller *ctl, const char *ns,
                                        const char *stream);
void sync_keyring_release(struct sync_controller *ctl, struct ns_keyring *k);
/* After a 401: re-read the namespace's pull secrets at the next acquire. */
void sync_keyring_mark_stale(struct sync_controller *ctl, const char *ns);
/* The free function of ctl->keyrings (called with ctl->lock held, or at teardown). */
void sync_keyring_map_free(void *p);

/* ---- sync_reconcile.c ---- */

/* The work queue's reconcile: 0 done, >0 requeue after that many ms, <0 with backoff. */
int sync_reconcile(void *vctl, const char *key);
/* The free function of ctl->states. */
void sync_stream_state_free(void *p);

/* ---- sync_poller.c ---- */

/* The poller thread (leader polls only); runs until ctl->stop. */
void *sync_poller_main(void *arg);

#endif
