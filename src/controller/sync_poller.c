/*
 * sync_poller.c - the sync controller's poller thread. It owns the registry batch (curl
 * multi: every check in flight from this one thread): it takes due sources from the
 * scheduler, HEADs them with the namespace's cached credentials and the registry's settings,
 * and reports each result to the scheduler; when a source's digest changes (or a 401 makes the
 * pull secrets stale) it enqueues the subscribed streams for their workers, and it reports a
 * source's first failure and its recovery as events on those streams. Only the leader polls.
 * It never touches the network for anything but registry checks.
 */
#include "sync_internal.h"

#include "istrigger/registry/ref.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_POLLS_PER_STEP 64
#define POLLER_MAX_WAIT_NS (250 * NS_PER_MS)

static const char *reason_of(int err)
{
    switch (err) {
    case -EACCES:
        return "Unauthorized";
    case -EPERM:
        return "Forbidden";
    case -ENOENT:
        return "NotFound";
    case -EAGAIN:
        return "TooManyRequests";
    case -ETIMEDOUT:
        return "Timeout";
    case -ECONNREFUSED:
        return "ConnectionRefused";
    case -EPROTO:
        return "TLSError";
    case -EBADMSG:
        return "BadResponse";
    case -ECANCELED:
        return "Canceled";
    default:
        return "Error";
    }
}

struct poll_ctx {
    struct sync_controller *ctl;
    char *source_key;
    char *registry;
    char *ns;
    char *ref;
    struct ns_keyring *kr;
    char *ca_pem;
    int64_t started;
};

static void poll_ctx_free(struct poll_ctx *pc)
{
    sync_keyring_release(pc->ctl, pc->kr);
    free(pc->source_key);
    free(pc->registry);
    free(pc->ns);
    free(pc->ref);
    free(pc->ca_pem);
    free(pc);
}

static void enqueue_all(struct sync_controller *ctl, const json_t *streams)
{
    size_t i;
    json_t *k;
    json_array_foreach (streams, i, k) {
        workqueue_add(ctl->queue, json_string_value(k));
    }
}

static void poll_done(void *vctx, const struct registry_result *r)
{
    struct poll_ctx *pc = vctx;
    struct sync_controller *ctl = pc->ctl;
    int64_t now = time_mono_ns();
    metrics_observe(ctl->m.c->poll_duration, (double)(now - pc->started) / NS_PER_SEC,
                    pc->registry);

    struct scheduler_result sr = {.ok = r->err == 0,
                                  .digest = r->digest,
                                  .children = r->children,
                                  .reason = reason_of(r->err),
                                  .message = r->error,
                                  .retry_after_ns = r->retry_after_ns};
    if (r->err == 0 && !r->digest) {
        sr.ok = false;
        sr.reason = "BadResponse";
        sr.message = "the registry answered without a digest";
    }
    if (r->err == -EACCES)
        sync_keyring_mark_stale(ctl, pc->ns); /* re-read the pull secrets at once */
    int flags = scheduler_complete(ctl->sched, pc->source_key, now, &sr);
    metrics_inc(ctl->m.c->polls, pc->registry,
                !sr.ok                        ? "error"
                : (flags & SCHEDULER_CHANGED) ? "changed"
                                              : "unchanged");
    _cleanup_json_ json_t *subs = scheduler_subscribers(ctl->sched, pc->source_key);
    if (sr.ok)
        log_debug(pc->ref, "digest %s%s", r->digest, flags & SCHEDULER_CHANGED ? " (new)" : "");
    else
        log_debug(pc->ref, "poll failed: %s: %s", sr.reason, sr.message);
    if ((flags & SCHEDULER_CHANGED) || r->err == -EACCES)
        enqueue_all(ctl, subs);
    size_t i;
    json_t *k;
    if (flags & SCHEDULER_FIRST_FAILURE) {
        json_array_foreach (subs, i, k) {
            sync_stream_event(ctl, json_string_value(k), "Warning", "PollFailed",
                              "checking %s: %s: %s", pc->ref, sr.reason,
                              sr.message ? sr.message : "");
        }
    }
    if (flags & SCHEDULER_RECOVERED) {
        json_array_foreach (subs, i, k) {
            sync_stream_event(ctl, json_string_value(k), "Normal", "PollRecovered",
                              "checking %s works again", pc->ref);
        }
    }
    poll_ctx_free(pc);
}

static void start_poll(struct sync_controller *ctl, struct scheduler_poll *p)
{
    struct poll_ctx *pc = calloc(1, sizeof(*pc));
    struct image_ref ref = {0};
    struct scheduler_result fail = {.ok = false, .reason = "Error"};
    if (!pc) {
        fail.message = "out of memory";
        scheduler_complete(ctl->sched, p->source_key, time_mono_ns(), &fail);
        return;
    }
    pc->ctl = ctl;
    pc->source_key = TAKE_PTR(p->source_key);
    pc->registry = TAKE_PTR(p->registry);
    pc->ns = TAKE_PTR(p->ns);
    pc->ref = TAKE_PTR(p->ref);
    pc->started = time_mono_ns();
    if (image_ref_parse(pc->ref, &ref) < 0) {
        fail.reason = "InvalidReference";
        fail.message = err_msg();
        scheduler_complete(ctl->sched, pc->source_key, pc->started, &fail);
        poll_ctx_free(pc);
        return;
    }
    pc->kr = sync_keyring_acquire(ctl, pc->ns, NULL); /* cached only: no network on this thread */
    struct registry_request_opts opts = {.insecure = p->insecure, .children = true};
    opts.cred = pc->kr ? keyring_lookup(pc->kr->kr, &ref) : NULL;
    struct operator_registry rs;
    if (operator_registry_settings(ctl->op, ref.registry, &rs)) {
        opts.insecure = opts.insecure || rs.insecure;
        pc->ca_pem = rs.ca_pem;
        opts.ca_pem = pc->ca_pem;
    }
    if (registry_batch_add(ctl->batch, &ref, &opts, poll_done, pc) < 0) {
        fail.message = "out of memory";
        scheduler_complete(ctl->sched, pc->source_key, pc->started, &fail);
        poll_ctx_free(pc);
    }
    image_ref_free(&ref);
}

void *sync_poller_main(void *arg)
{
    struct sync_controller *ctl = arg;
    struct scheduler_poll polls[MAX_POLLS_PER_STEP];
    while (!atomic_load(&ctl->stop)) {
        int64_t now = time_mono_ns();
        if (operator_is_leader(ctl->op)) {
            size_t n = scheduler_take_due(ctl->sched, now, polls, MAX_POLLS_PER_STEP);
            for (size_t i = 0; i < n; i++) {
                start_poll(ctl, &polls[i]);
                scheduler_poll_clear(&polls[i]);
            }
        }
        int64_t next = scheduler_next_due(ctl->sched);
        int64_t wait = next == INT64_MAX ? POLLER_MAX_WAIT_NS : next - time_mono_ns();
        if (wait > POLLER_MAX_WAIT_NS)
            wait = POLLER_MAX_WAIT_NS;
        if (wait < 0)
            wait = 0;
        registry_batch_step(ctl->batch, wait);
    }
    return NULL;
}
