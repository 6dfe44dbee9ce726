/*
 * leader.h - leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics.
 *
 * A candidate tries every retry_period (with jitter) to acquire the Lease NS/NAME: it may take
 * it when it does not exist, when it is held by nobody, or when the record (holder, renewTime,
 * ...) has stayed unchanged for lease_duration as measured on OUR monotonic clock from the
 * moment we first saw it (clocks of other nodes are never compared). Writes are conditional
 * on resourceVersion, so two candidates never both win.
 *
 * The leader renews every retry_period. If it has not renewed successfully within
 * renew_deadline it steps down: on_stopped_leading runs, kube_leader_is_leader() turns false,
 * and the elector goes back to being a candidate (on_started_leading may run again later).
 * kube_leader_is_leader() also turns false on its own as soon as the last successful renewal
 * is older than renew_deadline (monotonic clock), even if the renew thread has not run yet —
 * so a process that was paused (SIGSTOP, VM freeze) and lost the lease stops writing at once.
 * Callers that write must check it just before writing.
 *
 * On kube_leader_stop the leader releases the lease (holderIdentity cleared, renewTime kept)
 * so a successor takes over at once instead of waiting for expiry (ReleaseOnCancel).
 *
 * Requirements as client-go: lease_duration > renew_deadline > retry_period * 1.2.
 */
#ifndef ISTRIGGER_KUBE_LEADER_H
#define ISTRIGGER_KUBE_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "istrigger/kube/client.h"

struct kube_leader;

struct kube_leader_opts {
    int64_t lease_duration_ns; /* 0: 15s */
    int64_t renew_deadline_ns; /* 0: 10s */
    int64_t retry_period_ns;   /* 0: 2s */
    bool no_release_on_stop;   /* keep the lease on stop (default: release it) */
    /* Called on the elector's thread; must not block for long. Any may be NULL. */
    void (*on_started_leading)(void *ctx);
    void (*on_stopped_leading)(void *ctx);
    void (*on_new_leader)(void *ctx, const char *identity); /* identity borrowed */
    void *ctx;
};

/* Create an elector for Lease `ns`/`name` as `identity` (all copied; identity is usually the
 * pod name, plus a random suffix). `c` is borrowed and must outlive it. NEW in *out. -EINVAL
 * for inconsistent durations. */
int kube_leader_new(struct kube_client *c, const char *ns, const char *name, const char *identity,
                    const struct kube_leader_opts *opts, struct kube_leader **out);

/* Start the elector thread. 0 or -errno. */
int kube_leader_start(struct kube_leader *le);

/* True while we hold a lease renewed within renew_deadline. Thread-safe, cheap. */
bool kube_leader_is_leader(struct kube_leader *le);

/* The holder we saw last (ours or another's), into buf ("" when none). Returns buf. */
const char *kube_leader_holder(struct kube_leader *le, char *buf, size_t size);

/* Stop the elector, release the lease if held (unless no_release_on_stop), calling
 * on_stopped_leading if we were leading. Joins the thread. Idempotent. */
void kube_leader_stop(struct kube_leader *le);

/* Stop if needed and free. NULL is fine. */
void kube_leader_free(struct kube_leader *le);

#endif
