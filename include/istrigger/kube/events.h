/*
 * events.h - an event recorder (client-go's record.EventRecorder) writing core/v1 Events.
 *
 * kube_event() never blocks on the network: events go into a bounded queue that a recorder
 * thread writes. Two protections keep a flapping object from flooding the API:
 *   - de-duplication: an event equal to a recent one (same involved object, type, reason and
 *     message) bumps the existing Event's `count` and `lastTimestamp` (a PATCH) instead of
 *     creating a new one (client-go's EventCorrelator aggregation);
 *   - a rate limit per involved object (token bucket, burst 25, one token per 5 minutes, as
 *     client-go's spam filter); events over it are dropped (counted in stats).
 * When the queue is full, new events are dropped (counted).
 */
#ifndef ISTRIGGER_KUBE_EVENTS_H
#define ISTRIGGER_KUBE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "istrigger/kube/client.h"

struct kube_recorder;

struct kube_recorder_opts {
    const char *instance; /* reportingInstance (pod name); copied; may be NULL */
    int burst;            /* per-object burst; 0: 25 */
    int64_t refill_ns;    /* one token per ...; 0: 5 minutes */
    size_t queue_size;    /* 0: 1000 */
};

/* Create a recorder reporting as `component` (e.g. "istrigger"; copied) and start its
 * thread. `c` borrowed. NEW in *out (kube_recorder_free). */
int kube_recorder_new(struct kube_client *c, const char *component, struct kube_recorder **out);
int kube_recorder_new_opts(struct kube_client *c, const char *component,
                           const struct kube_recorder_opts *opts, struct kube_recorder **out);

/*
 * Record an event about `involved_object` (a full object or a reference with kind,
 * apiVersion, metadata or name/namespace/uid: borrowed, only its identity is copied). `type` is
 * "Normal" or "Warning"; `reason` is CamelCase; the message is printf-formatted (cut to
 * 1024 bytes). Returns 0 when queued, 1 when dropped by the rate limit or a full queue,
 * -EINVAL for an object without name/namespace.
 */
int kube_event(struct kube_recorder *rec, const json_t *involved_object, const char *type,
               const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Wait until the queue is empty and the last write is done, or timeout. 0 or -ETIMEDOUT. */
int kube_recorder_flush(struct kube_recorder *rec, int64_t timeout_ns);

struct kube_recorder_stats {
    unsigned long created;    /* Events POSTed */
    unsigned long aggregated; /* count bumps (PATCH) */
    unsigned long rate_limited;
    unsigned long dropped; /* queue full */
    unsigned long failed;  /* write failures */
};
void kube_recorder_get_stats(struct kube_recorder *rec, struct kube_recorder_stats *out);

/* Stop the thread (writes what is queued, within ~2s) and free. NULL is fine. */
void kube_recorder_free(struct kube_recorder *rec);

#endif
