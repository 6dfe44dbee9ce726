/*
 * trigger.h - the ImageTrigger controller (issue 6): watches ImageTriggers, the four workload
 * kinds and ImageStreams, and keeps each target's image.openshift.io/triggers annotation,
 * resolve-names annotation and source streams' lookupPolicy as the ImageTrigger says (the
 * pure computation is in trigger_plan.h, the status in trigger_status.h).
 *
 * Shape (client-go): informers -> handlers enqueue ImageTrigger keys "ns/name" (through the
 * indexes "target" ns/Kind/name and "source" ns/stream on the ImageTrigger cache, "owner" on
 * the workload caches and "lookupOwner" on the stream cache) -> a work queue with N workers ->
 * reconcile(key), which reads the caches, writes merge patches only when something changes
 * (re-reading and retrying on 409 Conflict) and patches status. A finalizer
 * (istrigger.io/imagetrigger) lets it remove its own entries before an ImageTrigger goes.
 *
 * Threads: the informers' reflector threads (handlers only enqueue), the queue's workers.
 * The controller has no lock of its own: the caches and the queue are thread-safe and a key
 * is never reconciled by two workers at once.
 */
#ifndef ISTRIGGER_CONTROLLER_TRIGGER_H
#define ISTRIGGER_CONTROLLER_TRIGGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct kube_client;
struct kube_recorder;
struct trigger_controller;

struct trigger_controller_opts {
    struct kube_client *client;     /* borrowed; must outlive the controller */
    struct kube_recorder *recorder; /* borrowed; NULL: no events */
    const char *const *namespaces;  /* NULL-terminated; NULL: all namespaces */
    int workers;                    /* 0: 2 */
    int64_t resync_ns;              /* periodic re-check of everything; 0: 10 minutes */
    /* Writes happen only while this returns true (leader election); NULL: always. A key
     * reconciled while not leading is dropped; call trigger_controller_enqueue_all when
     * leadership is gained. */
    bool (*may_write)(void *ctx);
    void *may_write_ctx;
};

/* Create the controller (informers, indexes, queue); nothing runs yet. NEW in *out
 * (trigger_controller_free). 0 or -errno with err_msg. */
int trigger_controller_new(const struct trigger_controller_opts *opts,
                           struct trigger_controller **out);

/* Start the informers, wait for their first lists (up to `sync_timeout_ns`, <0 forever), then
 * start the workers and register the "imagetriggers" status provider. 0, -ETIMEDOUT, -errno.
 * With `sync_timeout_ns` 0 the waiting happens on a thread of the controller's own and this
 * returns at once (the operator: a missing CRD must not stop the rest of it). */
int trigger_controller_run(struct trigger_controller *tc, int64_t sync_timeout_ns);

/* Stop the workers and informers (idempotent) and unregister the status provider. */
void trigger_controller_shutdown(struct trigger_controller *tc);

/* Shut down if needed and free. NULL is fine. */
void trigger_controller_free(struct trigger_controller *tc);

/* The "imagetriggers" status snapshot (status.h shape) from the caches. NEW array. */
json_t *trigger_controller_snapshot(void *tc);

/* Queue every cached ImageTrigger (on gaining leadership, or a settings change). */
void trigger_controller_enqueue_all(struct trigger_controller *tc);

/* Reconcile one key now on the calling thread (tests, benchmarks). Same return convention as
 * a workqueue reconcile function. */
int trigger_controller_reconcile(struct trigger_controller *tc, const char *key);

/* `istrigger run` (src/controller/trigger_operator.c): build and run the controller from the
 * operator's client, recorder and --namespaces, writing only while leading; the controller is
 * kept in op->trigger. 0 or -errno with err_msg. */
struct operator;
int trigger_controller_start(struct operator* op);
/* Stop and free op->trigger (NULL is fine). */
void trigger_controller_stop(struct operator* op);

#endif
