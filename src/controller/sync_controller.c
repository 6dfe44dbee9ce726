/*
 * sync_controller.c - the ImageStream sync controller: informer -> tracked tags -> scheduler
 * -> registry poller -> ImageStreamImport (DESIGN.md, "How an import happens"). This file is
 * the wiring: sync_controller_start/stop, the informer's handlers, the reaction to settings
 * changes and leadership, metrics, the status page's providers, the ImageTriggerConfig status
 * thread, and the events on streams the other pieces report with.
 *
 * Threads and what they own:
 *   - the ImageStream informer's threads: handlers only enqueue "ns/name";
 *   - the work queue's workers run sync_reconcile(key) (sync_reconcile.c), with the
 *     namespaces' pull secrets from sync_keyring.c;
 *   - the poller thread (sync_poller.c) owns the registry batch; only the leader polls;
 *   - the status thread refreshes the ImageTriggerConfig status (leader only, only on change).
 *
 * `lock` guards `keyrings`, `states` and `imports` (sync_internal.h has the controller
 * object and what the files share).
 */
#include "sync_internal.h"

#include "istrigger/http/metrics.h"
#include "istrigger/http/metrics_catalog.h"
#include "istrigger/http/status.h"
#include "istrigger/kube/client.h"
#include "istrigger/kube/events.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/resources.h"
#include "istrigger/kube/workqueue.h"
#include "istrigger/registry/client.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strmap.h"
#include "istrigger/util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_PERIOD_NS (5 * NS_PER_SEC)

/* ---- events ---- */

void sync_stream_event(struct sync_controller *ctl, const char *stream_key, const char *type,
                       const char *reason, const char *fmt, ...)
{
    if (!operator_is_leader(ctl->op))
        return;
    _cleanup_json_ json_t *obj = kube_cache_get_by_key(ctl->informer, stream_key);
    if (!obj)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_write(strcmp(type, "Warning") == 0 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, stream_key, "%s: %s",
              reason, msg);
    if (!jsonx_get(obj, "kind")) {
        json_t *copy = jsonx_dup(obj);
        json_object_set_new(copy, "kind", json_string("ImageStream"));
        json_object_set_new(copy, "apiVersion", json_string("image.openshift.io/v1"));
        json_decref(obj);
        obj = copy;
    }
    kube_event(ctl->op->recorder, obj, type, reason, "%s", msg);
}

/* ---- informer, settings, status ---- */

static void stream_changed(void *vctl, const json_t *old, const json_t *obj)
{
    struct sync_controller *ctl = vctl;
    (void)old;
    _cleanup_free_ char *key = kube_object_key(obj);
    if (key)
        workqueue_add(ctl->queue, key);
}

static void requeue_all(struct sync_controller *ctl)
{
    _cleanup_json_ json_t *all = NULL;
    if (kube_cache_list(ctl->informer, NULL, &all) < 0)
        return;
    size_t i;
    json_t *obj;
    json_array_foreach (all, i, obj) {
        _cleanup_free_ char *key = kube_object_key(obj);
        if (key)
            workqueue_add(ctl->queue, key);
    }
}

/* Settings changed, or this replica started leading. */
static void settings_changed(void *vctl)
{
    struct sync_controller *ctl = vctl;
    struct operator_settings s;
    operator_settings_copy(ctl->op, &s);
    scheduler_set_defaults(ctl->sched, s.max_concurrent_polls, s.max_concurrent_per_registry,
                           s.registry_rps);
    scheduler_clear_registry_limits(ctl->sched);
    for (int i = 0; i < s.nregistries; i++) {
        const struct operator_registry *r = &s.registries[i];
        if (r->requests_per_second > 0 || r->max_concurrent_polls > 0)
            scheduler_set_registry_limits(ctl->sched, r->host, r->requests_per_second,
                                          r->max_concurrent_polls);
    }
    operator_settings_clear(&s);
    if (operator_is_leader(ctl->op))
        scheduler_spread(ctl->sched, time_mono_ns());
    requeue_all(ctl);
}

static void collect_metrics(void *vctl)
{
    struct sync_controller *ctl = vctl;
    struct scheduler_stats st;
    scheduler_get_stats(ctl->sched, &st);
    metrics_set(ctl->m.sources, (double)st.sources);
    metrics_set(ctl->m.backoffs, (double)st.backoffs);
    metrics_set(ctl->m.in_flight, (double)st.in_flight);
    metrics_set(ctl->m.queue_depth, (double)workqueue_len(ctl->queue), "imagestreams");
    metrics_set(ctl->m.c->leader, operator_is_leader(ctl->op) ? 1.0 : 0.0);
}

/* /readyz: leader and followers alike are ready once the ImageStream cache holds a full list
 * (a follower that takes over then starts from a warm cache). */
static bool stream_cache_synced(void *vctl, struct strbuf *why)
{
    struct sync_controller *ctl = vctl;
    if (kube_informer_has_synced(ctl->informer))
        return true;
    strbuf_puts(why, "ImageStream cache not synced");
    return false;
}

static json_t *sources_snapshot(void *vctl)
{
    struct sync_controller *ctl = vctl;
    int64_t now = time_mono_ns(), now_real = time_real_ns();
    json_t *sources = scheduler_snapshot(ctl->sched, now, now_real);
    if (sources)
        sync_annotate_tag_states(ctl, sources, now, now_real);
    return sources;
}

static json_t *imports_snapshot(void *vctl)
{
    struct sync_controller *ctl = vctl;
    pthread_mutex_lock(&ctl->lock);
    json_t *copy = jsonx_dup(ctl->imports);
    pthread_mutex_unlock(&ctl->lock);
    return copy;
}

static void *status_main(void *arg)
{
    struct sync_controller *ctl = arg;
    pthread_mutex_lock(&ctl->lock);
    while (!atomic_load(&ctl->stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += STATUS_PERIOD_NS / NS_PER_SEC;
        pthread_cond_timedwait(&ctl->status_cond, &ctl->lock, &ts);
        if (atomic_load(&ctl->stop))
            break;
        pthread_mutex_unlock(&ctl->lock);
        struct scheduler_stats st;
        scheduler_get_stats(ctl->sched, &st);
        operator_update_config_status(ctl->op, (long)st.tags, (long)st.sources, (long)st.backoffs);
        pthread_mutex_lock(&ctl->lock);
    }
    pthread_mutex_unlock(&ctl->lock);
    return NULL;
}

static void init_metrics(struct sync_metrics *m)
{
    static const char *const queue[] = {"queue", NULL};
    static const char *const none[] = {NULL};
    m->c = metrics_catalog();
    m->sources = metrics_gauge("istrigger_unique_sources",
                               "Distinct sources polled (tags sharing one share a poll).", none);
    m->backoffs = metrics_gauge("istrigger_source_backoffs",
                                "Sources whose last poll failed and that are backing off.", none);
    m->in_flight = metrics_gauge("istrigger_polls_in_flight", "Registry checks in flight.", none);
    m->queue_depth =
        metrics_gauge("istrigger_workqueue_depth", "Keys waiting in a work queue.", queue);
}

int sync_controller_start(struct operator* op)
{
    struct sync_controller *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return -ENOMEM;
    op->sync = ctl;
    ctl->op = op;
    ctl->platform.os = op->cfg.platform_os;
    ctl->platform.arch = op->cfg.platform_arch;
    ctl->secrets_refresh_ns = op->cfg.secrets_refresh_ns;
    pthread_mutex_init(&ctl->lock, NULL);
    pthread_cond_init(&ctl->status_cond, NULL);
    ctl->keyrings = strmap_new(sync_keyring_map_free);
    ctl->states = strmap_new(sync_stream_state_free);
    ctl->imports = json_array();
    if (!ctl->keyrings || !ctl->states || !ctl->imports)
        return -ENOMEM;
    init_metrics(&ctl->m);

    struct operator_settings s;
    operator_settings_copy(op, &s);
    struct scheduler_opts so = {.max_in_flight = s.max_concurrent_polls,
                                .max_in_flight_per_registry = s.max_concurrent_per_registry,
                                .requests_per_second = s.registry_rps,
                                .max_backoff_ns = op->cfg.max_backoff_ns};
    operator_settings_clear(&s);
    int rc = scheduler_new(&so, &ctl->sched);
    if (rc < 0)
        return rc;
    struct registry_client_opts ro = {.timeout_ns = op->cfg.registry_timeout_ns,
                                      .max_retries = -1, /* the scheduler backs off */
                                      .on_request = metrics_on_registry_request};
    rc = registry_client_new(&ro, &ctl->reg);
    if (rc < 0)
        return err_wrap(rc, "creating the registry client");
    ctl->batch = registry_batch_new(ctl->reg, 64);
    if (!ctl->batch)
        return -ENOMEM;

    rc = workqueue_new("imagestreams", sync_reconcile, ctl,
                       op->cfg.workers > 0 ? op->cfg.workers : 4, &ctl->queue);
    if (rc < 0)
        return err_wrap(rc, "creating the ImageStream work queue");
    struct kube_informer_opts io = {.name = "imagestreams",
                                    .namespaces = (const char *const *)op->watch_namespaces,
                                    .resync_ns = 10 * 60 * NS_PER_SEC};
    rc = kube_informer_new(op->kube, KUBE_RES_IMAGESTREAMS, NULL, &io, &ctl->informer);
    if (rc < 0)
        return err_wrap(rc, "creating the ImageStream informer");
    struct kube_event_handlers h = {.on_add = stream_changed,
                                    .on_update = stream_changed,
                                    .on_delete = stream_changed,
                                    .ctx = ctl};
    if ((rc = kube_informer_add_handlers(ctl->informer, &h)) < 0 ||
        (rc = operator_add_listener(op, settings_changed, ctl)) < 0 ||
        (rc = metrics_add_collector(collect_metrics, ctl)) < 0 ||
        (rc = status_register_provider("sources", sources_snapshot, ctl)) < 0 ||
        (rc = status_register_provider("imports", imports_snapshot, ctl)) < 0 ||
        (rc = status_add_ready_check("imagestream-cache", stream_cache_synced, ctl)) < 0)
        return err_wrap(rc, "setting up the sync controller");
    if ((rc = kube_informer_start(ctl->informer)) < 0 || (rc = workqueue_start(ctl->queue)) < 0)
        return err_wrap(rc, "starting the sync controller");
    if ((rc = -pthread_create(&ctl->poller, NULL, sync_poller_main, ctl)) < 0)
        return err_wrap(rc, "starting the poller thread");
    ctl->poller_started = true;
    if ((rc = -pthread_create(&ctl->status_thread, NULL, status_main, ctl)) < 0)
        return err_wrap(rc, "starting the status thread");
    ctl->status_started = true;
    log_info(NULL, "sync controller started (%s)",
             op->watch_namespaces ? "selected namespaces" : "all namespaces");
    return 0;
}

void sync_controller_stop(struct operator* op)
{
    struct sync_controller *ctl = op->sync;
    if (!ctl)
        return;
    atomic_store(&ctl->stop, true);
    status_remove_ready_check("imagestream-cache");
    status_unregister_provider("sources");
    status_unregister_provider("imports");
    metrics_remove_collector(collect_metrics, ctl);
    if (ctl->batch)
        registry_batch_wakeup(ctl->batch);
    if (ctl->poller_started)
        pthread_join(ctl->poller, NULL);
    pthread_mutex_lock(&ctl->lock);
    pthread_cond_broadcast(&ctl->status_cond);
    pthread_mutex_unlock(&ctl->lock);
    if (ctl->status_started)
        pthread_join(ctl->status_thread, NULL);
    if (ctl->informer)
        kube_informer_stop(ctl->informer);
    if (ctl->queue)
        workqueue_shutdown(ctl->queue);
    /* Pending checks complete with -ECANCELED; their callbacks still need the scheduler. */
    registry_batch_free(ctl->batch);
    workqueue_free(ctl->queue);
    kube_informer_free(ctl->informer);
    registry_client_free(ctl->reg);
    scheduler_free(ctl->sched);
    pthread_mutex_lock(&ctl->lock);
    strmap_free(ctl->keyrings);
    strmap_free(ctl->states);
    pthread_mutex_unlock(&ctl->lock);
    json_decref(ctl->imports);
    pthread_cond_destroy(&ctl->status_cond);
    pthread_mutex_destroy(&ctl->lock);
    free(ctl);
    op->sync = NULL;
}
