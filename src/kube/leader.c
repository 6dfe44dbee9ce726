/*
 * leader.c - Lease-based leader election with client-go's semantics (see leader.h).
 *
 * The elector thread alternates between two phases:
 *   candidate: try_acquire_or_renew() every retry_period * [1, 1.2) until it succeeds;
 *   leader:    try_acquire_or_renew() every retry_period; if no attempt succeeded within
 *              renew_deadline of the last success, step down and become a candidate again.
 * Expiry of someone else's lease is judged only by our monotonic clock: `observed_at` is
 * when we last saw the Lease record change; the holder keeps it until observed_at +
 * lease_duration. `lock` guards the state read by other threads (leading, last_renew,
 * holder); the Lease I/O happens without it.
 */
#include "istrigger/kube/leader.h"

#include "kube_internal.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kube_leader {
    struct kube_client *c;
    char *ns, *name, *identity;
    struct kube_leader_opts opts;
    pthread_t thread;
    bool running;
    atomic_int stop;

    /* Elector thread only. */
    json_t *observed_spec; /* the Lease spec as last seen */
    int64_t observed_at;   /* monotonic time it was seen to change */
    char *observed_rv;     /* its resourceVersion */

    pthread_mutex_t lock; /* guards leading, last_renew, holder */
    bool leading;
    int64_t last_renew;
    char holder[256];
};

int kube_leader_new(struct kube_client *c, const char *ns, const char *name, const char *identity,
                    const struct kube_leader_opts *opts, struct kube_leader **out)
{
    struct kube_leader *le;

    *out = NULL;
    if (!(le = calloc(1, sizeof(*le))))
        return err_set(-ENOMEM, "out of memory");
    if (opts)
        le->opts = *opts;
    if (!le->opts.lease_duration_ns)
        le->opts.lease_duration_ns = 15 * NS_PER_SEC;
    if (!le->opts.renew_deadline_ns)
        le->opts.renew_deadline_ns = 10 * NS_PER_SEC;
    if (!le->opts.retry_period_ns)
        le->opts.retry_period_ns = 2 * NS_PER_SEC;
    le->c = c;
    le->ns = strdup(ns);
    le->name = strdup(name);
    le->identity = strdup(identity);
    pthread_mutex_init(&le->lock, NULL);
    if (!le->ns || !le->name || !le->identity) {
        kube_leader_free(le);
        return err_set(-ENOMEM, "out of memory");
    }
    if (le->opts.lease_duration_ns <= le->opts.renew_deadline_ns ||
        le->opts.renew_deadline_ns <= le->opts.retry_period_ns * 12 / 10 ||
        le->opts.lease_duration_ns < NS_PER_SEC) {
        kube_leader_free(le);
        return err_set(-EINVAL, "leader election: need leaseDuration > renewDeadline > "
                                "retryPeriod*1.2 and leaseDuration >= 1s");
    }
    *out = le;
    return 0;
}

/* MicroTime as the API writes it: "2026-11-22T02:25:24.000000Z". */
static void micro_time(char *buf, size_t size)
{
    int64_t ns = time_real_ns();
    time_t secs = (time_t)(ns / NS_PER_SEC);
    struct tm tm;
    char base[24];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%06ldZ", base, (long)(ns % NS_PER_SEC / 1000));
}

/* `renewed_at` is when the successful attempt STARTED: a renewal whose answer is read after
 * a long pause must not count as fresh (the lease may have been lost meanwhile). */
static void set_state(struct kube_leader *le, bool leading, const char *holder, int64_t renewed_at)
{
    pthread_mutex_lock(&le->lock);
    le->leading = leading;
    if (leading)
        le->last_renew = renewed_at;
    if (holder)
        snprintf(le->holder, sizeof(le->holder), "%s", holder);
    pthread_mutex_unlock(&le->lock);
}

static void observe(struct kube_leader *le, const json_t *lease)
{
    json_t *spec = json_object_get(lease, "spec");
    const char *rv = jsonx_str(lease, "metadata", "resourceVersion");

    if (!le->observed_spec || !jsonx_equal(spec, le->observed_spec)) {
        json_decref(le->observed_spec);
        le->observed_spec = spec ? jsonx_dup(spec) : json_object();
        le->observed_at = time_mono_ns();
    }
    free(le->observed_rv);
    le->observed_rv = rv ? strdup(rv) : NULL;
}

/* The spec we write: ourselves as holder, now as renewTime. */
static json_t *our_spec(struct kube_leader *le, const json_t *old, bool keep_acquire)
{
    char now[64];
    long long transitions = old ? jsonx_int(old, 0, "leaseTransitions") : 0;
    const char *acquired = old ? jsonx_str(old, "acquireTime") : NULL;

    micro_time(now, sizeof(now));
    if (old && !keep_acquire)
        transitions++;
    return json_pack("{s:s, s:I, s:s, s:s, s:I}", "holderIdentity", le->identity,
                     "leaseDurationSeconds", (json_int_t)(le->opts.lease_duration_ns / NS_PER_SEC),
                     "acquireTime", keep_acquire && acquired ? acquired : now, "renewTime", now,
                     "leaseTransitions", (json_int_t)transitions);
}

/* One attempt. 1: we hold the lease now (renewed as of `*started`); 0: someone else does;
 * <0: error. */
static int try_acquire_or_renew(struct kube_leader *le, int64_t *started)
{
    _cleanup_json_ json_t *lease = NULL, *written = NULL;
    int r;

    *started = time_mono_ns();
    r = kube_get(le->c, KUBE_RES_LEASES, le->ns, le->name, NULL, &lease);

    if (r == -ENOENT) {
        _cleanup_json_ json_t *obj =
            json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "coordination.k8s.io/v1",
                      "kind", "Lease", "metadata", "name", le->name, "namespace", le->ns, "spec",
                      our_spec(le, NULL, false));
        if ((r = kube_create(le->c, KUBE_RES_LEASES, le->ns, obj, NULL, &written)) < 0)
            return r == -EEXIST ? 0 : r;
        observe(le, written);
        set_state(le, true, le->identity, *started);
        return 1;
    }
    if (r < 0)
        return r;
    observe(le, lease);
    json_t *spec = json_object_get(lease, "spec");
    const char *holder = spec ? jsonx_str(spec, "holderIdentity") : NULL;
    bool ours = holder && strcmp(holder, le->identity) == 0;
    int64_t dur_ns = spec ? jsonx_int(spec, 0, "leaseDurationSeconds") * NS_PER_SEC : 0;
    if (dur_ns <= 0)
        dur_ns = le->opts.lease_duration_ns;
    if (holder && *holder && !ours && time_mono_ns() < le->observed_at + dur_ns) {
        pthread_mutex_lock(&le->lock);
        snprintf(le->holder, sizeof(le->holder), "%s", holder);
        pthread_mutex_unlock(&le->lock);
        return 0; /* held by another and not expired on our clock */
    }
    char prev[256];
    snprintf(prev, sizeof(prev), "%s", holder && *holder ? holder : "none");
    /* Replacing the spec frees the old one, and `holder` with it. */
    json_object_set_new(lease, "spec", our_spec(le, spec, ours));
    r = kube_update(le->c, KUBE_RES_LEASES, le->ns, lease, NULL, &written);
    if (r == -ESTALE)
        return 0; /* someone else wrote first */
    if (r < 0)
        return r;
    observe(le, written);
    if (!ours)
        log_info(le->name, "acquired lease %s/%s as %s (previous holder %s)", le->ns, le->name,
                 le->identity, prev);
    set_state(le, true, le->identity, *started);
    return 1;
}

static int64_t jittered(int64_t d)
{
    return d + (int64_t)((double)d * 0.2 * kube_rand01());
}

static void release(struct kube_leader *le)
{
    _cleanup_json_ json_t *lease = NULL;
    char now[64];

    if (kube_get(le->c, KUBE_RES_LEASES, le->ns, le->name, NULL, &lease) < 0)
        return;
    if (!jsonx_str(lease, "spec", "holderIdentity") ||
        strcmp(jsonx_str(lease, "spec", "holderIdentity"), le->identity) != 0)
        return;
    micro_time(now, sizeof(now));
    jsonx_set(lease, json_string(""), "spec", "holderIdentity");
    jsonx_set(lease, json_integer(1), "spec", "leaseDurationSeconds");
    jsonx_set(lease, json_string(now), "spec", "renewTime");
    if (kube_update(le->c, KUBE_RES_LEASES, le->ns, lease, NULL, NULL) < 0)
        log_warn(le->name, "releasing lease: %s", err_msg());
    else
        log_info(le->name, "released lease %s/%s", le->ns, le->name);
}

static void step_down(struct kube_leader *le)
{
    set_state(le, false, NULL, 0);
    if (le->opts.on_stopped_leading)
        le->opts.on_stopped_leading(le->opts.ctx);
}

static void *elector_main(void *arg)
{
    struct kube_leader *le = arg;
    char last_holder[256] = "";

    kube_client_set_thread_stop(&le->stop);

    while (!atomic_load(&le->stop)) {
        /* Candidate. */
        int64_t started;
        int r = try_acquire_or_renew(le, &started);
        if (r < 0 && r != -ECANCELED)
            log_warn(le->name, "leader election: %s", err_msg());
        if (r <= 0) {
            char h[256];
            kube_leader_holder(le, h, sizeof(h));
            if (le->opts.on_new_leader && *h && strcmp(h, last_holder) != 0)
                le->opts.on_new_leader(le->opts.ctx, h);
            snprintf(last_holder, sizeof(last_holder), "%s", h);
            kube_client_sleep(le->c, jittered(le->opts.retry_period_ns), &le->stop);
            continue;
        }
        /* Leader. */
        log_info(le->name, "started leading as %s", le->identity);
        if (le->opts.on_new_leader && strcmp(le->identity, last_holder) != 0)
            le->opts.on_new_leader(le->opts.ctx, le->identity);
        snprintf(last_holder, sizeof(last_holder), "%s", le->identity);
        if (le->opts.on_started_leading)
            le->opts.on_started_leading(le->opts.ctx);
        int64_t last_ok = started;
        while (!atomic_load(&le->stop)) {
            if (kube_client_sleep(le->c, le->opts.retry_period_ns, &le->stop) < 0)
                break;
            /* A pause longer than the deadline (SIGSTOP) means the lease may be gone. */
            if (time_mono_ns() - last_ok > le->opts.renew_deadline_ns) {
                log_warn(le->name, "lease not renewed within the renew deadline");
                break;
            }
            r = try_acquire_or_renew(le, &started);
            if (r == 1) {
                last_ok = started;
                continue;
            }
            if (r == 0) {
                log_warn(le->name, "lease taken over by another holder");
                break;
            }
            log_warn(le->name, "renewing lease: %s", err_msg());
            if (time_mono_ns() - last_ok > le->opts.renew_deadline_ns)
                break;
        }
        if (atomic_load(&le->stop))
            break; /* kube_leader_stop releases and steps down */
        log_info(le->name, "stopped leading");
        step_down(le);
    }
    return NULL;
}

int kube_leader_start(struct kube_leader *le)
{
    int e;

    if (le->running)
        return 0;
    if ((e = pthread_create(&le->thread, NULL, elector_main, le)))
        return err_set(-e, "leader election: starting thread: %s", strerror(e));
    le->running = true;
    return 0;
}

bool kube_leader_is_leader(struct kube_leader *le)
{
    bool yes;

    pthread_mutex_lock(&le->lock);
    yes = le->leading && time_mono_ns() - le->last_renew < le->opts.renew_deadline_ns;
    pthread_mutex_unlock(&le->lock);
    return yes;
}

const char *kube_leader_holder(struct kube_leader *le, char *buf, size_t size)
{
    pthread_mutex_lock(&le->lock);
    snprintf(buf, size, "%s", le->holder);
    pthread_mutex_unlock(&le->lock);
    return buf;
}

void kube_leader_stop(struct kube_leader *le)
{
    bool was_leading;

    atomic_store(&le->stop, 1);
    if (le->running) {
        pthread_join(le->thread, NULL);
        le->running = false;
    }
    pthread_mutex_lock(&le->lock);
    was_leading = le->leading;
    pthread_mutex_unlock(&le->lock);
    if (!was_leading)
        return;
    set_state(le, false, NULL, 0);
    if (!le->opts.no_release_on_stop)
        release(le);
    if (le->opts.on_stopped_leading)
        le->opts.on_stopped_leading(le->opts.ctx);
}

void kube_leader_free(struct kube_leader *le)
{
    if (!le)
        return;
    kube_leader_stop(le);
    json_decref(le->observed_spec);
    free(le->observed_rv);
    free(le->ns);
    free(le->name);
    free(le->identity);
    pthread_mutex_destroy(&le->lock);
    free(le);
}
