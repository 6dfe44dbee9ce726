/*
 * workqueue.h - client-go's rate-limited work queue of "namespace/name" keys, with its own
 * worker threads (controller-runtime's controller loop).
 *
 * Semantics (as client-go's workqueue):
 *   - a key added several times before a worker takes it is processed once (deduplication);
 *   - a key is never processed by two workers at once: if it is added while being processed,
 *     it is processed again after the current run ends;
 *   - delayed adds (workqueue_add_after) keep only the earliest pending time per key;
 *   - per-key exponential backoff for failures: base * 2^(failures-1), capped (client-go's
 *     ItemExponentialFailureRateLimiter: 5ms .. 1000s by default), reset when the reconcile
 *     succeeds.
 *
 * reconcile(ctx, key) runs on one of the N workers and returns:
 *   0   done: forget the key's failures;
 *   >0  requeue after that many milliseconds (failures forgotten);
 *   <0  failed: requeue with the key's backoff.
 */
#ifndef ISTRIGGER_KUBE_WORKQUEUE_H
#define ISTRIGGER_KUBE_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct workqueue;

typedef int (*workqueue_reconcile_fn)(void *ctx, const char *key);

/* Create a queue named `name` (copied; for logs) with `nworkers` (>= 1) workers. Nothing
 * runs before workqueue_start; keys may be added before. NEW queue in *out (workqueue_free). */
int workqueue_new(const char *name, workqueue_reconcile_fn reconcile, void *ctx, int nworkers,
                  struct workqueue **out);

/* Change the failure backoff (before start): first delay and cap, in ns. */
void workqueue_set_backoff(struct workqueue *q, int64_t base_ns, int64_t max_ns);

/* Add a key now (copied). Ignored after shutdown began. 0 or -ENOMEM/-ECANCELED. */
int workqueue_add(struct workqueue *q, const char *key);

/* Add a key after `delay_ns` (<= 0: now). 0 or -ENOMEM/-ECANCELED. */
int workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ns);

/* Add with the key's failure backoff and count the failure (what a <0 reconcile does). */
int workqueue_add_rate_limited(struct workqueue *q, const char *key);

/* Forget a key's failure count. */
void workqueue_forget(struct workqueue *q, const char *key);

/* Failures recorded for a key (0 when none). */
int workqueue_num_requeues(struct workqueue *q, const char *key);

/* Keys ready to be processed now (not counting delayed or in-progress ones). */
size_t workqueue_len(struct workqueue *q);

/* Keys waiting for a delayed add. */
size_t workqueue_delayed_len(struct workqueue *q);

/* Start the workers. 0 or -errno. */
int workqueue_start(struct workqueue *q);

/*
 * Shut down: stop handing out keys, let the reconciles in progress finish (their requeues are
 * dropped), join the workers. Keys still queued are dropped. Idempotent; blocks until the
 * workers are gone.
 */
void workqueue_shutdown(struct workqueue *q);

/* Shut down if needed, and free. NULL is fine. */
void workqueue_free(struct workqueue *q);

/* Statistics (monotonic): reconciles run, failed, requeued-after. */
struct workqueue_stats {
    unsigned long adds;
    unsigned long processed;
    unsigned long failures;
    size_t depth;
    size_t in_progress;
};
void workqueue_get_stats(struct workqueue *q, struct workqueue_stats *out);

#endif
