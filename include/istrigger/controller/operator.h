/*
 * operator.h - the wiring of `istrigger run`: configuration, the shared Kubernetes client,
 * the event recorder, leader election, the live ImageTriggerConfig, and a slot per controller.
 *
 * Lifecycle (src/cli/run.c): operator_config_defaults + flags/env -> operator_new (loads the
 * kubeconfig, builds the client and recorder) -> the HTTP server (issue 7) ->
 * operator_start (leader election, the ImageTriggerConfig informer) -> sync_controller_start,
 * trigger_controller_start -> wait for SIGTERM/SIGINT -> operator_stop (releases the lease
 * first so a successor starts at once) -> controllers' stop -> operator_free.
 *
 * Settings have three layers: built-in defaults, flags/environment (struct operator_config),
 * and the cluster's ImageTriggerConfig `cluster` (its fields, when set, win). Controllers read
 * the effective settings with operator_settings() (a consistent copy, any thread) and register
 * a listener to hear about changes, which apply without a restart.
 */
#ifndef ISTRIGGER_CONTROLLER_OPERATOR_H
#define ISTRIGGER_CONTROLLER_OPERATOR_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "istrigger/controller/sync.h"

struct kube_client;
struct kube_config;
struct kube_recorder;
struct kube_leader;
struct kube_informer;
struct workqueue;

#define OPERATOR_MAX_REGISTRIES 64
#define OPERATOR_CONFIG_NAME    "cluster"

/* Settings of one registry host (ImageTriggerConfig spec.registries[]). */
struct operator_registry {
    char host[256];
    double requests_per_second; /* 0: the default */
    int max_concurrent_polls;   /* 0: the default */
    bool insecure;
    char ca_configmap[254]; /* "" when none */
    char ca_key[254];
    char *ca_pem; /* fetched ConfigMap content, malloc'd, or NULL */
};

/* Effective settings (flags/env overlaid with ImageTriggerConfig). */
struct operator_settings {
    struct sync_settings sync;       /* default/minimum interval, adoption */
    int max_concurrent_polls;        /* global */
    int max_concurrent_per_registry; /* default per registry */
    double registry_rps;             /* default per registry; 0: unlimited */
    struct operator_registry registries[OPERATOR_MAX_REGISTRIES];
    int nregistries;
    /* Namespaces tracked: NULL-terminated list, or NULL for all (informer scope is the flag's
     * list; the config may narrow it further without a restart). malloc'd strings. */
    char **namespaces;
    int64_t generation; /* ImageTriggerConfig metadata.generation applied, 0 when none */
    bool from_config;   /* an ImageTriggerConfig is applied */
};

/* Free what operator_settings_copy allocated. */
void operator_settings_clear(struct operator_settings *s);

/* Flags and environment of `istrigger run` (see run.c --help). Strings borrowed from argv /
 * environ, which live as long as the process. */
struct operator_config {
    const char *kubeconfig;
    const char *context;
    const char *namespaces;         /* "a,b" or NULL/"" for all */
    const char *listen;             /* "ADDR:PORT" for the HTTP server */
    const char *identity;           /* leader election identity (pod name); NULL: hostname + pid */
    const char *operator_namespace; /* where the Lease and CA ConfigMaps live */
    bool leader_elect;
    const char *lease_name;
    int64_t lease_duration_ns, renew_deadline_ns, retry_period_ns;
    int64_t default_interval_ns, minimum_interval_ns;
    bool adopt_scheduled;
    int max_concurrent_polls, max_concurrent_per_registry;
    double registry_rps;
    int64_t max_backoff_ns;     /* per-source backoff cap */
    int64_t secrets_refresh_ns; /* pull-secret cache lifetime */
    int64_t ca_refresh_ns;      /* re-read of registries[].caBundle ConfigMaps */
    int64_t registry_timeout_ns;
    const char *platform_os, *platform_arch; /* control-plane platform (Legacy child choice) */
    bool watch_config;                       /* follow ImageTriggerConfig `cluster` */
    int workers;
    double kube_qps;
    int kube_burst;
    /* HTTP surface (issue 7, src/cli/run_http.c) */
    const char *auth;          /* "kubernetes" (default) or "none" */
    const char *auth_resource; /* SubjectAccessReview resource for the page and API;
                                  NULL/"": get imagetriggerconfigs.istrigger.io */
    const char *tls_cert_file; /* serving certificate and key (PEM), or NULL for plain HTTP */
    const char *tls_key_file;
    bool console_dashboard; /* create/update the console dashboard ConfigMap */
};

void operator_config_defaults(struct operator_config *c);

typedef void (*operator_listener_fn)(void *ctx);

struct operator
{
    struct operator_config cfg;
    struct kube_config *kcfg;
    struct kube_client *kube;
    struct kube_recorder *recorder;
    struct kube_leader *leader; /* NULL without leader election */
    char identity[256];
    char op_namespace[254];
    char **watch_namespaces; /* from --namespaces: NULL-terminated, or NULL for all */

    pthread_mutex_t lock; /* guards settings, listeners, config_status */
    struct operator_settings settings;
    struct {
        operator_listener_fn fn;
        void *ctx;
    } listeners[8];
    int nlisteners;
    json_t *config_conditions; /* conditions to report on ImageTriggerConfig status */

    struct kube_informer *config_informer;
    struct workqueue *config_queue;
    bool started;

    /* Controllers' state, owned by each controller. */
    struct sync_controller *sync;
    void *trigger;
};

/* Initialise `op` (zeroed by the caller) from `cfg` without touching the network: settings
 * from flags, lock, namespaces. operator_new does this first; unit tests use it alone (then
 * operator_free). 0 or -EINVAL (bad --namespaces) / -ENOMEM. */
int operator_init(struct operator* op, const struct operator_config *cfg);

/* Build the operator: load the kubeconfig, create the client and the recorder. NEW in *out
 * (operator_free). -errno with err_msg set. */
int operator_new(const struct operator_config *cfg, struct operator** out);

/* Start leader election and the ImageTriggerConfig informer. 0 or -errno. */
int operator_start(struct operator* op);

/* Stop the config informer and release the lease (leader steps down at once). */
void operator_stop(struct operator* op);
void operator_free(struct operator* op);

/* True when this replica may write (leader, or leader election off). */
bool operator_is_leader(struct operator* op);

/* A consistent copy of the effective settings (operator_settings_clear it). */
void operator_settings_copy(struct operator* op, struct operator_settings *out);

/* The per-registry settings for `host` copied into *out; false when the host has none. */
bool operator_registry_settings(struct operator* op, const char *host,
                                struct operator_registry *out);

/* Register `fn(ctx)` to run (on the config worker thread) after the settings change, and
 * when this replica starts leading (for the sync controller to spread its first polls). */
int operator_add_listener(struct operator* op, operator_listener_fn fn, void *ctx);

/* True when namespace `ns` is tracked under the current settings. */
bool operator_namespace_tracked(struct operator* op, const char *ns);

/* Apply an ImageTriggerConfig object (NULL: none / deleted) to the settings, validating it.
 * Exported for unit tests; the config informer calls it. Returns 0, or -EINVAL with err_msg
 * describing the invalid field (the previous settings stay). Does not fetch CA ConfigMaps. */
int operator_apply_config(struct operator* op, const json_t *itc);

/* Write the ImageTriggerConfig `cluster` status (leader only; no write when unchanged):
 * trackedTags, uniqueSources, backoffs, conditions, observedGeneration. */
int operator_update_config_status(struct operator* op, long tracked_tags, long unique_sources,
                                  long backoffs);

#endif
