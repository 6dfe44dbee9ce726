/*
 * batch.c - the batch driver of the registry client: many checks in flight from one thread
 * with one curl multi handle. Checks wait in a queue until a slot of `max_in_flight` is free,
 * then run their state machine (check.c); registry_batch_step() starts queued checks, wakes
 * the ones sleeping on a Retry-After, drives curl and hands each finished transfer to its
 * check. registry_batch_run() steps until every check is done or the deadline passes.
 *
 * The synchronous calls (registry_resolve_digest, registry_list_tags) are a batch of one.
 */
#include "registry_internal.h"

#include "istrigger/util/err.h"
#include "istrigger/util/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- batch API ---- */

struct registry_batch *registry_batch_new(struct registry_client *c, int max_in_flight)
{
    struct registry_batch *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->c = c;
    b->max_in_flight = max_in_flight > 0 ? max_in_flight : 16;
    b->multi = curl_multi_init();
    if (!b->multi) {
        free(b);
        return NULL;
    }
    curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    return b;
}

static int make_tags_path(const struct registry_client *c, const struct image_ref *ref, char **out)
{
    if (c->opts.tags_page_size > 0)
        return asprintf(out, "/v2/%s/tags/list?n=%d", ref->repository, c->opts.tags_page_size);
    return asprintf(out, "/v2/%s/tags/list", ref->repository);
}

static int batch_add(struct registry_batch *b, enum check_kind kind, const struct image_ref *ref,
                     const struct registry_request_opts *opts, registry_done_fn done, void *ctx)
{
    struct check *k = calloc(1, sizeof(*k));

    if (!k)
        return err_set(-ENOMEM, "registry batch: out of memory");
    k->b = b;
    k->kind = kind;
    k->done = done;
    k->ctx = ctx;
    if (opts)
        k->o = *opts;
    if (image_ref_copy(&k->ref, ref) < 0 || !(k->name = image_ref_format(ref)) ||
        (kind == KIND_TAGS &&
         (!(k->tags = json_array()) || make_tags_path(b->c, ref, &k->next_path) < 0))) {
        registry_check_free(k);
        return err_set(-ENOMEM, "registry batch: out of memory");
    }
    k->step = STEP_QUEUED;
    if (b->queue_tail)
        b->queue_tail->next = k;
    else
        b->queue = k;
    b->queue_tail = k;
    b->n_queued++;
    return 0;
}

int registry_batch_add(struct registry_batch *b, const struct image_ref *ref,
                       const struct registry_request_opts *opts, registry_done_fn done, void *ctx)
{
    return batch_add(b, KIND_DIGEST, ref, opts, done, ctx);
}

int registry_batch_pending(const struct registry_batch *b)
{
    return b->n_active + b->n_queued;
}

/* Move the first queued check to the active list (it counts against max_in_flight). */
static struct check *queue_pop_to_active(struct registry_batch *b)
{
    struct check *k = b->queue;

    b->queue = k->next;
    if (!b->queue)
        b->queue_tail = NULL;
    b->n_queued--;
    k->next = b->active;
    k->prev = NULL;
    if (b->active)
        b->active->prev = k;
    b->active = k;
    b->n_active++;
    return k;
}

static void start_queued(struct registry_batch *b)
{
    while (b->queue && b->n_active < b->max_in_flight)
        registry_check_begin(queue_pop_to_active(b));
}

static int64_t wake_sleepers(struct registry_batch *b)
{
    int64_t now = time_mono_ns(), next = 0;
    struct check *due = NULL;

    for (struct check **pp = &b->sleepers; *pp;) {
        struct check *k = *pp;
        if (k->wake_at <= now) {
            *pp = k->wait_next;
            k->wait_next = due;
            due = k;
        } else {
            if (!next || k->wake_at < next)
                next = k->wake_at;
            pp = &k->wait_next;
        }
    }
    while (due) {
        struct check *k = due;
        due = k->wait_next;
        k->wait_next = NULL;
        k->step = k->resume_step;
        registry_check_resume(k);
    }
    return next;
}

static void drain_messages(struct registry_batch *b)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(b->multi, &left))) {
        struct check *k = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        if (k)
            registry_check_http_done(k, m->data.result);
    }
}

int registry_batch_step(struct registry_batch *b, int64_t max_wait_ns)
{
    int running = 0, numfds = 0;
    int64_t next_wake, wait_ms;

    start_queued(b);
    next_wake = wake_sleepers(b);
    curl_multi_perform(b->multi, &running);
    drain_messages(b);
    start_queued(b);
    if (registry_batch_pending(b) == 0)
        return 0;
    wait_ms = max_wait_ns / NS_PER_MS;
    if (next_wake) {
        int64_t until = (next_wake - time_mono_ns()) / NS_PER_MS + 1;
        if (until < wait_ms)
            wait_ms = until < 0 ? 0 : until;
    }
    if (wait_ms > 0) {
        curl_multi_poll(b->multi, NULL, 0, (int)(wait_ms > 1000 ? 1000 : wait_ms), &numfds);
        curl_multi_perform(b->multi, &running);
        drain_messages(b);
        wake_sleepers(b);
        start_queued(b);
    }
    return registry_batch_pending(b);
}

static void fail_everything(struct registry_batch *b, int code, const char *why)
{
    while (b->queue)
        queue_pop_to_active(b);
    while (b->active)
        registry_check_fail(b->active, code, "%s", why);
}

int registry_batch_run(struct registry_batch *b, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns > 0 ? time_mono_ns() + timeout_ns : 0;

    while (registry_batch_pending(b) > 0) {
        int64_t wait = 1000 * NS_PER_MS;
        if (deadline) {
            int64_t left = deadline - time_mono_ns();
            if (left <= 0) {
                char why[64];
                snprintf(why, sizeof(why), "not resolved within %.1f s",
                         (double)timeout_ns / NS_PER_SEC);
                fail_everything(b, -ETIMEDOUT, why);
                return -ETIMEDOUT;
            }
            if (left < wait)
                wait = left;
        }
        registry_batch_step(b, wait);
    }
    return 0;
}

void registry_batch_wakeup(struct registry_batch *b)
{
    curl_multi_wakeup(b->multi);
}

void registry_batch_free(struct registry_batch *b)
{
    if (!b)
        return;
    fail_everything(b, -ECANCELED, "cancelled");
    while (b->ops) {
        struct shared_op *op = b->ops;
        b->ops = op->next;
        free(op->key);
        free(op);
    }
    curl_multi_cleanup(b->multi);
    free(b);
}

/* ---- synchronous conveniences ---- */

static void copy_result(void *ctx, const struct registry_result *r)
{
    struct registry_result *dst = ctx;
    if (registry_result_copy(dst, r) < 0) {
        memset(dst, 0, sizeof(*dst));
        dst->err = -ENOMEM;
        snprintf(dst->error, sizeof(dst->error), "out of memory");
    }
}

static int run_one(struct registry_client *c, enum check_kind kind, const struct image_ref *ref,
                   const struct registry_request_opts *opts, struct registry_result *result)
{
    struct registry_batch *b = registry_batch_new(c, 1);
    int r;

    memset(result, 0, sizeof(*result));
    if (!b)
        return err_set(-ENOMEM, "registry: out of memory");
    r = batch_add(b, kind, ref, opts, copy_result, result);
    if (r == 0)
        registry_batch_run(b, 0);
    registry_batch_free(b);
    if (r < 0)
        return r;
    if (result->err)
        err_set(result->err, "%s", result->error);
    return result->err;
}

int registry_resolve_digest(struct registry_client *c, const struct image_ref *ref,
                            const struct registry_request_opts *opts,
                            struct registry_result *result)
{
    return run_one(c, KIND_DIGEST, ref, opts, result);
}

int registry_list_tags(struct registry_client *c, const struct image_ref *ref,
                       const struct registry_request_opts *opts, json_t **tags_out)
{
    struct registry_result res;
    int r = run_one(c, KIND_TAGS, ref, opts, &res);

    *tags_out = NULL;
    if (r == 0) {
        *tags_out = res.children;
        res.children = NULL;
    }
    registry_result_clear(&res);
    return r;
}
