/*
 * operator.c - the wiring of `istrigger run` (see operator.h): the shared Kubernetes client,
 * recorder and leader elector, and the live ImageTriggerConfig.
 *
 * Threads: the ImageTriggerConfig informer's handler only enqueues "cluster" on a one-worker
 * queue; that worker validates the object, fetches CA ConfigMaps (network, so never under the
 * lock), swaps the settings under `op->lock` and then runs the listeners. The leader elector's
 * thread calls on_started_leading, which also runs the listeners (through the same queue) so
 * the sync controller can spread its first polls over the jitter window instead of polling
 * everything at once after a takeover.
 */
#include "istrigger/controller/operator.h"

#include "istrigger/http/metrics.h"
#include "istrigger/kube/client.h"
#include "istrigger/kube/config.h"
#include "istrigger/kube/events.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/leader.h"
#include "istrigger/kube/resources.h"
#include "istrigger/kube/workqueue.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/duration.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_KEY     "cluster"
#define CA_REFRESH_KEY "ca-refresh" /* work-queue key: re-read the CA ConfigMaps */

void operator_config_defaults(struct operator_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = "0.0.0.0:8080";
    c->leader_elect = true;
    c->lease_name = "istrigger-leader";
    c->lease_duration_ns = 15 * NS_PER_SEC;
    c->renew_deadline_ns = 10 * NS_PER_SEC;
    c->retry_period_ns = 2 * NS_PER_SEC;
    c->default_interval_ns = 60 * NS_PER_SEC;
    c->minimum_interval_ns = 10 * NS_PER_SEC;
    c->adopt_scheduled = true;
    c->max_concurrent_polls = 32;
    c->max_concurrent_per_registry = 8;
    c->registry_rps = 0;
    c->max_backoff_ns = 300 * NS_PER_SEC;
    c->secrets_refresh_ns = 300 * NS_PER_SEC;
    c->ca_refresh_ns = 60 * NS_PER_SEC;
    c->registry_timeout_ns = 30 * NS_PER_SEC;
    c->platform_os = "linux";
    c->platform_arch = "amd64";
    c->watch_config = true;
    c->workers = 4;
    c->kube_qps = 20;
    c->kube_burst = 40;
    c->auth = "kubernetes";
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void operator_settings_clear(struct operator_settings *s)
{
    for (int i = 0; i < s->nregistries; i++)
        free(s->registries[i].ca_pem);
    free_strv(s->namespaces);
    memset(s, 0, sizeof(*s));
}

static char **dup_strv(char *const *v)
{
    if (!v)
        return NULL;
    size_t n = 0;
    while (v[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out && i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            free_strv(out);
            return NULL;
        }
    }
    return out;
}

static void settings_copy(struct operator_settings *dst, const struct operator_settings *src)
{
    *dst = *src;
    for (int i = 0; i < src->nregistries; i++)
        dst->registries[i].ca_pem =
            src->registries[i].ca_pem ? strdup(src->registries[i].ca_pem) : NULL;
    dst->namespaces = dup_strv(src->namespaces);
}

/* Split "a,b, c" into a NULL-terminated list; NULL for empty input. */
static int split_namespaces(const char *s, char ***out)
{
    *out = NULL;
    if (!s || !*s)
        return 0;
    size_t n = 0;
    char **v = calloc(strlen(s) + 2, sizeof(*v));
    if (!v)
        return -ENOMEM;
    _cleanup_free_ char *copy = strdup(s);
    if (!copy) {
        free(v);
        return -ENOMEM;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        v[n] = strdup(tok);
        if (!v[n++]) {
            free_strv(v);
            return -ENOMEM;
        }
    }
    if (n == 0) {
        free(v);
        return 0;
    }
    *out = v;
    return 0;
}

static void settings_from_flags(struct operator_settings *s, const struct operator_config *c)
{
    memset(s, 0, sizeof(*s));
    s->sync.default_interval_ns = c->default_interval_ns;
    s->sync.minimum_interval_ns = c->minimum_interval_ns;
    s->sync.adopt_scheduled = c->adopt_scheduled;
    if (s->sync.default_interval_ns < s->sync.minimum_interval_ns)
        s->sync.default_interval_ns = s->sync.minimum_interval_ns;
    s->max_concurrent_polls = c->max_concurrent_polls;
    s->max_concurrent_per_registry = c->max_concurrent_per_registry;
    s->registry_rps = c->registry_rps;
}

int operator_init(struct operator* op, const struct operator_config *cfg)
{
    op->cfg = *cfg;
    pthread_mutex_init(&op->lock, NULL);
    settings_from_flags(&op->settings, cfg);
    int rc = split_namespaces(cfg->namespaces, &op->watch_namespaces);
    if (rc < 0)
        return err_set(rc, "parsing --namespaces");
    snprintf(op->op_namespace, sizeof(op->op_namespace), "%s",
             cfg->operator_namespace && *cfg->operator_namespace ? cfg->operator_namespace
                                                                 : "istrigger");
    if (cfg->identity && *cfg->identity) {
        snprintf(op->identity, sizeof(op->identity), "%s", cfg->identity);
    } else {
        char host[200] = "istrigger";
        gethostname(host, sizeof(host) - 1);
        snprintf(op->identity, sizeof(op->identity), "%s_%ld", host, (long)getpid());
    }
    op->config_conditions = json_array();
    return op->config_conditions ? 0 : -ENOMEM;
}

static struct metric *api_requests_metric;
static pthread_once_t api_metric_once = PTHREAD_ONCE_INIT;

static void api_metric_init(void)
{
    static const char *const labels[] = {"verb", "resource", "code", NULL};
    api_requests_metric = metrics_counter(
        "istrigger_api_requests_total",
        "Kubernetes API requests by verb, resource and HTTP code (0: no answer).", labels);
}

/* The Kubernetes client's per-request hook: API requests by verb, resource and code. */
static void on_api_request(const char *verb, const char *resource, int code)
{
    pthread_once(&api_metric_once, api_metric_init);
    char c[16];
    snprintf(c, sizeof(c), "%d", code);
    if (api_requests_metric)
        metrics_inc(api_requests_metric, verb, resource, c);
}

int operator_new(const struct operator_config *cfg, struct operator** out)
{
    struct operator* op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    int rc = operator_init(op, cfg);
    if (rc < 0)
        goto fail;
    rc = kube_config_load(cfg->kubeconfig, cfg->context, &op->kcfg);
    if (rc < 0) {
        err_wrap(rc, "loading the Kubernetes client configuration");
        goto fail;
    }
    if (!cfg->operator_namespace || !*cfg->operator_namespace)
        snprintf(op->op_namespace, sizeof(op->op_namespace), "%s",
                 op->kcfg->namespace ? op->kcfg->namespace : "default");
    struct kube_client_opts kopts = {.qps = cfg->kube_qps, .burst = cfg->kube_burst};
    kopts.on_request = on_api_request;
    rc = kube_client_new(op->kcfg, &kopts, &op->kube);
    if (rc < 0) {
        err_wrap(rc, "creating the Kubernetes client for %s", op->kcfg->server);
        goto fail;
    }
    struct kube_recorder_opts ropts = {.instance = op->identity};
    rc = kube_recorder_new_opts(op->kube, "istrigger", &ropts, &op->recorder);
    if (rc < 0) {
        err_wrap(rc, "creating the event recorder");
        goto fail;
    }
    *out = op;
    return 0;
fail:
    operator_free(op);
    return rc;
}

/* ---- listeners and settings ---- */

int operator_add_listener(struct operator* op, operator_listener_fn fn, void *ctx)
{
    pthread_mutex_lock(&op->lock);
    int rc = -ENOSPC;
    if (op->nlisteners < (int)(sizeof(op->listeners) / sizeof(op->listeners[0]))) {
        op->listeners[op->nlisteners].fn = fn;
        op->listeners[op->nlisteners].ctx = ctx;
        op->nlisteners++;
        rc = 0;
    }
    pthread_mutex_unlock(&op->lock);
    return rc;
}

static void run_listeners(struct operator* op)
{
    pthread_mutex_lock(&op->lock);
    int n = op->nlisteners;
    typeof(op->listeners[0]) l[8];
    memcpy(l, op->listeners, sizeof(l));
    pthread_mutex_unlock(&op->lock);
    for (int i = 0; i < n; i++)
        l[i].fn(l[i].ctx);
}

void operator_settings_copy(struct operator* op, struct operator_settings *out)
{
    pthread_mutex_lock(&op->lock);
    settings_copy(out, &op->settings);
    pthread_mutex_unlock(&op->lock);
}

bool operator_registry_settings(struct operator* op, const char *host,
                                struct operator_registry *out)
{
    bool found = false;
    pthread_mutex_lock(&op->lock);
    for (int i = 0; i < op->settings.nregistries; i++) {
        if (strcmp(op->settings.registries[i].host, host) == 0) {
            *out = op->settings.registries[i];
            out->ca_pem = out->ca_pem ? strdup(out->ca_pem) : NULL;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&op->lock);
    return found;
}

static bool strv_has(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++) {
        if (strcmp(v[i], s) == 0)
            return true;
    }
    return false;
}

bool operator_namespace_tracked(struct operator* op, const char *ns)
{
    if (op->watch_namespaces && !strv_has(op->watch_namespaces, ns))
        return false;
    pthread_mutex_lock(&op->lock);
    bool ok = !op->settings.namespaces || strv_has(op->settings.namespaces, ns);
    pthread_mutex_unlock(&op->lock);
    return ok;
}

bool operator_is_leader(struct operator* op)
{
    return !op->leader || kube_leader_is_leader(op->leader);
}

/* ---- ImageTriggerConfig ---- */

static int spec_duration(const json_t *spec, const char *field, int64_t *out)
{
    json_t *v = jsonx_get(spec, field);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return err_set(-EINVAL, "spec.%s: expected a duration string", field);
    int64_t ns;
    if (duration_parse(json_string_value(v), &ns) < 0 || ns <= 0)
        return err_set(-EINVAL, "spec.%s: invalid duration \"%s\"", field, json_string_value(v));
    *out = ns;
    return 0;
}

static int spec_registry(const json_t *r, struct operator_registry *out)
{
    memset(out, 0, sizeof(*out));
    const char *host = jsonx_str(r, "host");
    if (!host || !*host || strlen(host) >= sizeof(out->host))
        return err_set(-EINVAL, "spec.registries[]: host is required");
    snprintf(out->host, sizeof(out->host), "%s", host);
    json_t *rps = jsonx_get(r, "requestsPerSecond");
    if (rps) {
        if (!json_is_number(rps) || json_number_value(rps) < 0)
            return err_set(-EINVAL, "spec.registries[%s].requestsPerSecond: must be >= 0", host);
        out->requests_per_second = json_number_value(rps);
    }
    long long mc = jsonx_int(r, 0, "maxConcurrentPolls");
    if (mc < 0 || mc > 1000)
        return err_set(-EINVAL, "spec.registries[%s].maxConcurrentPolls: out of range", host);
    out->max_concurrent_polls = (int)mc;
    out->insecure = jsonx_bool(r, false, "insecure");
    const char *cm = jsonx_str(r, "caBundle", "configMap", "name");
    if (cm) {
        const char *key = jsonx_str(r, "caBundle", "configMap", "key");
        snprintf(out->ca_configmap, sizeof(out->ca_configmap), "%s", cm);
        snprintf(out->ca_key, sizeof(out->ca_key), "%s", key ? key : "ca-bundle.crt");
    }
    return 0;
}

/* Build settings from flags overlaid with `itc` into *s (fully initialised on success). */
static int settings_from_config(const struct operator_config *cfg, const json_t *itc,
                                struct operator_settings *s)
{
    settings_from_flags(s, cfg);
    if (!itc)
        return 0;
    const json_t *spec = jsonx_get(itc, "spec");
    int rc = spec_duration(spec, "defaultInterval", &s->sync.default_interval_ns);
    if (rc == 0)
        rc = spec_duration(spec, "minimumInterval", &s->sync.minimum_interval_ns);
    if (rc < 0)
        return rc;
    if (s->sync.default_interval_ns < s->sync.minimum_interval_ns)
        s->sync.default_interval_ns = s->sync.minimum_interval_ns;
    s->sync.adopt_scheduled = jsonx_bool(spec, s->sync.adopt_scheduled, "adoptScheduledTags");
    long long mc = jsonx_int(spec, s->max_concurrent_polls, "maxConcurrentPolls");
    if (mc < 1 || mc > 1000)
        return err_set(-EINVAL, "spec.maxConcurrentPolls: must be between 1 and 1000");
    s->max_concurrent_polls = (int)mc;
    size_t i;
    json_t *r;
    json_array_foreach (jsonx_get(spec, "registries"), i, r) {
        if (s->nregistries >= OPERATOR_MAX_REGISTRIES)
            return err_set(-EINVAL, "spec.registries: more than %d entries",
                           OPERATOR_MAX_REGISTRIES);
        rc = spec_registry(r, &s->registries[s->nregistries]);
        if (rc < 0)
            return rc;
        s->nregistries++;
    }
    json_t *nss = jsonx_get(spec, "namespaces");
    if (json_is_array(nss) && json_array_size(nss) > 0) {
        s->namespaces = calloc(json_array_size(nss) + 1, sizeof(char *));
        if (!s->namespaces)
            return -ENOMEM;
        size_t k = 0;
        json_t *ns;
        json_array_foreach (nss, i, ns) {
            if (json_is_string(ns))
                s->namespaces[k++] = strdup(json_string_value(ns));
        }
    }
    s->generation = jsonx_int(itc, 0, "metadata", "generation");
    s->from_config = true;
    return 0;
}

static json_t *condition(const char *type, bool ok, const char *reason, const char *message,
                         long long generation)
{
    char now[40];
    time_format_rfc3339(time_real_ns(), now, sizeof(now), false);
    return json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "type", type, "status", ok ? "True" : "False",
                     "observedGeneration", generation, "lastTransitionTime", now, "reason", reason,
                     "message", message);
}

static void set_conditions(struct operator* op, json_t *cond)
{
    pthread_mutex_lock(&op->lock);
    /* Keep lastTransitionTime when the status did not change. */
    json_t *old = json_array_get(op->config_conditions, 0);
    if (old && cond && jsonx_str(old, "status") && jsonx_str(cond, "status") &&
        strcmp(jsonx_str(old, "status"), jsonx_str(cond, "status")) == 0)
        json_object_set(cond, "lastTransitionTime", json_object_get(old, "lastTransitionTime"));
    json_array_clear(op->config_conditions);
    if (cond)
        json_array_append_new(op->config_conditions, cond);
    pthread_mutex_unlock(&op->lock);
}

int operator_apply_config(struct operator* op, const json_t *itc)
{
    struct operator_settings s;
    int rc = settings_from_config(&op->cfg, itc, &s);
    long long gen = jsonx_int(itc, 0, "metadata", "generation");
    if (rc < 0) {
        operator_settings_clear(&s);
        log_warn("imagetriggerconfig/" CONFIG_KEY,
                 "invalid configuration, keeping the previous "
                 "one: %s",
                 err_msg());
        set_conditions(op, condition("Ready", false, "InvalidSpec", err_msg(), gen));
        return rc;
    }
    pthread_mutex_lock(&op->lock);
    /* Keep CA bundles already fetched for unchanged registries (the worker refetches). */
    for (int i = 0; i < s.nregistries; i++) {
        for (int j = 0; j < op->settings.nregistries; j++) {
            struct operator_registry *o = &op->settings.registries[j];
            if (strcmp(o->host, s.registries[i].host) == 0 && o->ca_pem &&
                strcmp(o->ca_configmap, s.registries[i].ca_configmap) == 0)
                s.registries[i].ca_pem = strdup(o->ca_pem);
        }
    }
    operator_settings_clear(&op->settings);
    op->settings = s;
    pthread_mutex_unlock(&op->lock);
    if (itc)
        set_conditions(op,
                       condition("Ready", true, "Applied", "the configuration is applied", gen));
    else
        set_conditions(op, NULL);
    return 0;
}

/* Fetch the CA ConfigMaps named by the settings (network: outside the lock). Returns how many
 * registries name one (0: nothing to refresh later). A bundle that changed since the last
 * fetch is logged; the poller copies the settings' PEM per check, so the next check uses it. */
static int fetch_ca_bundles(struct operator* op)
{
    struct operator_settings s;
    int named = 0;
    operator_settings_copy(op, &s);
    for (int i = 0; i < s.nregistries; i++) {
        struct operator_registry *r = &s.registries[i];
        if (!r->ca_configmap[0])
            continue;
        named++;
        _cleanup_json_ json_t *cm = NULL;
        int rc =
            kube_get(op->kube, KUBE_RES_CONFIGMAPS, op->op_namespace, r->ca_configmap, NULL, &cm);
        const char *pem = rc == 0 ? jsonx_str(cm, "data", r->ca_key) : NULL;
        if (!pem) {
            log_warn("imagetriggerconfig/" CONFIG_KEY,
                     "CA bundle for %s: configmap %s/%s key %s: %s", r->host, op->op_namespace,
                     r->ca_configmap, r->ca_key, rc < 0 ? err_msg() : "no such key");
            continue;
        }
        bool changed = false;
        pthread_mutex_lock(&op->lock);
        for (int j = 0; j < op->settings.nregistries; j++) {
            struct operator_registry *o = &op->settings.registries[j];
            if (strcmp(o->host, r->host) == 0 && (!o->ca_pem || strcmp(o->ca_pem, pem) != 0)) {
                changed = changed || o->ca_pem != NULL;
                free(o->ca_pem);
                o->ca_pem = strdup(pem);
            }
        }
        pthread_mutex_unlock(&op->lock);
        if (changed)
            log_info("imagetriggerconfig/" CONFIG_KEY,
                     "CA bundle for %s changed in configmap %s/%s; the next checks use it", r->host,
                     op->op_namespace, r->ca_configmap);
    }
    operator_settings_clear(&s);
    return named;
}

/* Fetch the CA ConfigMaps now and, while any registry names one, again after --ca-refresh:
 * they change without the ImageTriggerConfig changing (rotation, or the service CA operator
 * injecting a new bundle). */
static void refresh_ca_bundles(struct operator* op)
{
    if (fetch_ca_bundles(op) > 0 && op->cfg.ca_refresh_ns > 0)
        workqueue_add_after(op->config_queue, CA_REFRESH_KEY, op->cfg.ca_refresh_ns);
}

static int config_reconcile(void *ctx, const char *key)
{
    struct operator* op = ctx;
    if (strcmp(key, CA_REFRESH_KEY) == 0) {
        refresh_ca_bundles(op);
        return 0;
    }
    if (strcmp(key, CONFIG_KEY) == 0) {
        _cleanup_json_ json_t *itc =
            op->config_informer ? kube_cache_get(op->config_informer, NULL, CONFIG_KEY) : NULL;
        if (operator_apply_config(op, itc) == 0) {
            refresh_ca_bundles(op);
            log_info("imagetriggerconfig/" CONFIG_KEY, "configuration %s",
                     itc ? "applied" : "from flags (no ImageTriggerConfig)");
        }
    }
    run_listeners(op);
    return 0;
}

static void config_changed(void *ctx, const json_t *old, const json_t *obj)
{
    struct operator* op = ctx;
    (void)old;
    const char *name = jsonx_str(obj, "metadata", "name");
    if (name && strcmp(name, CONFIG_KEY) == 0)
        workqueue_add(op->config_queue, CONFIG_KEY);
}

static void on_started_leading(void *ctx)
{
    struct operator* op = ctx;
    log_info(op->identity, "started leading");
    workqueue_add(op->config_queue, "leader");
}

static void on_stopped_leading(void *ctx)
{
    struct operator* op = ctx;
    log_info(op->identity, "stopped leading");
}

int operator_start(struct operator* op)
{
    int rc = workqueue_new("imagetriggerconfig", config_reconcile, op, 1, &op->config_queue);
    if (rc == 0)
        rc = workqueue_start(op->config_queue);
    if (rc < 0)
        return err_wrap(rc, "starting the configuration queue");
    if (op->cfg.watch_config) {
        struct kube_informer_opts io = {.name = "imagetriggerconfigs",
                                        .backoff_max_ns = 60 * NS_PER_SEC};
        rc = kube_informer_new(op->kube, KUBE_RES_IMAGETRIGGERCONFIGS, NULL, &io,
                               &op->config_informer);
        struct kube_event_handlers h = {.on_add = config_changed,
                                        .on_update = config_changed,
                                        .on_delete = config_changed,
                                        .ctx = op};
        if (rc == 0)
            rc = kube_informer_add_handlers(op->config_informer, &h);
        if (rc == 0)
            rc = kube_informer_start(op->config_informer);
        if (rc < 0)
            return err_wrap(rc, "watching ImageTriggerConfig");
    }
    if (op->cfg.leader_elect) {
        struct kube_leader_opts lo = {.lease_duration_ns = op->cfg.lease_duration_ns,
                                      .renew_deadline_ns = op->cfg.renew_deadline_ns,
                                      .retry_period_ns = op->cfg.retry_period_ns,
                                      .on_started_leading = on_started_leading,
                                      .on_stopped_leading = on_stopped_leading,
                                      .ctx = op};
        rc = kube_leader_new(op->kube, op->op_namespace, op->cfg.lease_name, op->identity, &lo,
                             &op->leader);
        if (rc == 0)
            rc = kube_leader_start(op->leader);
        if (rc < 0)
            return err_wrap(rc, "starting leader election on lease %s/%s", op->op_namespace,
                            op->cfg.lease_name);
    }
    op->started = true;
    return 0;
}

void operator_stop(struct operator* op)
{
    if (op->leader)
        kube_leader_stop(op->leader);
    if (op->config_informer)
        kube_informer_stop(op->config_informer);
    if (op->config_queue)
        workqueue_shutdown(op->config_queue);
}

void operator_free(struct operator* op)
{
    if (!op)
        return;
    operator_stop(op);
    kube_leader_free(op->leader);
    kube_informer_free(op->config_informer);
    workqueue_free(op->config_queue);
    kube_recorder_free(op->recorder);
    kube_client_free(op->kube);
    if (op->kcfg)
        kube_config_free(op->kcfg);
    operator_settings_clear(&op->settings);
    free_strv(op->watch_namespaces);
    json_decref(op->config_conditions);
    pthread_mutex_destroy(&op->lock);
    free(op);
}

int operator_update_config_status(struct operator* op, long tracked_tags, long unique_sources,
                                  long backoffs)
{
    if (!op->config_informer || !operator_is_leader(op))
        return 0;
    _cleanup_json_ json_t *itc = kube_cache_get(op->config_informer, NULL, CONFIG_KEY);
    if (!itc)
        return 0;
    pthread_mutex_lock(&op->lock);
    json_t *conds = jsonx_dup(op->config_conditions);
    pthread_mutex_unlock(&op->lock);
    _cleanup_json_ json_t *status =
        json_pack("{s:I,s:i,s:i,s:i,s:o}", "observedGeneration",
                  (json_int_t)jsonx_int(itc, 0, "metadata", "generation"), "trackedTags",
                  (int)tracked_tags, "uniqueSources", (int)unique_sources, "backoffs",
                  (int)backoffs, "conditions", conds ? conds : json_array());
    if (!status)
        return -ENOMEM;
    if (jsonx_equal(jsonx_get(itc, "status"), status))
        return 0; /* never write what would not change */
    _cleanup_json_ json_t *patch = json_pack("{s:O}", "status", status);
    int rc = kube_patch(op->kube, KUBE_RES_IMAGETRIGGERCONFIGS, NULL, CONFIG_KEY, KUBE_PATCH_MERGE,
                        patch, "status", NULL);
    if (rc < 0)
        log_warn("imagetriggerconfig/" CONFIG_KEY, "updating status: %s", err_msg());
    return rc;
}
