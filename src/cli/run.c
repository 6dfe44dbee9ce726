/*
 * run.c - `istrigger run`: the operator. Parses flags (each with an environment variable for
 * the container), builds the operator (controller/operator.h), starts the controllers, waits
 * for SIGTERM/SIGINT and shuts down in the order that hands over fastest: release the lease,
 * then drain the controllers.
 *
 * Each controller's engineer adds only their own start/stop call below.
 */
#include "istrigger/cli/cli.h"
#include "run_http.h"
#include "istrigger/controller/operator.h"
#include "istrigger/controller/sync.h"
#include "istrigger/controller/trigger.h"
#include "istrigger/http/server.h"
#include "istrigger/http/status.h"
#include "istrigger/kube/shutdown.h"
#include "istrigger/util/duration.h"
#include "istrigger/util/err.h"
#include "istrigger/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { OPT_STRING, OPT_DURATION, OPT_BOOL, OPT_INT, OPT_DOUBLE, OPT_PLATFORM };

struct opt {
    const char *name; /* --name */
    const char *env;  /* environment variable */
    const char *env2; /* second accepted variable (OLM, Kubernetes conventions), or NULL */
    enum opt_type type;
    size_t offset; /* in struct operator_config */
    const char *help;
};

#define OFF(f) offsetof(struct operator_config, f)

static const struct opt opts[] = {
    {"kubeconfig", "KUBECONFIG", NULL, OPT_STRING, OFF(kubeconfig),
     "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)"},
    {"context", "ISTRIGGER_CONTEXT", NULL, OPT_STRING, OFF(context), "kubeconfig context"},
    {"namespaces", "ISTRIGGER_NAMESPACES", "WATCH_NAMESPACES", OPT_STRING, OFF(namespaces),
     "comma-separated namespaces to watch (default: all; OLM's olm.targetNamespaces through "
     "WATCH_NAMESPACES or OLM_TARGET_NAMESPACES)"},
    {"listen", "ISTRIGGER_LISTEN", NULL, OPT_STRING, OFF(listen),
     "ADDR:PORT of the HTTP listener (metrics, health, status page; default 0.0.0.0:8080)"},
    {"auth", "ISTRIGGER_AUTH", NULL, OPT_STRING, OFF(auth),
     "who may read /metrics, the status page and /api/v1/: kubernetes (a bearer token passing "
     "TokenReview and SubjectAccessReview; default) or none (/healthz and /readyz stay open)"},
    {"auth-resource", "ISTRIGGER_AUTH_RESOURCE", NULL, OPT_STRING, OFF(auth_resource),
     "who may read the status page and /api/v1/: users allowed \"[VERB ]RESOURCE[.GROUP]\" "
     "(default: get imagetriggerconfigs.istrigger.io; /api/* URLs cannot be used, every "
     "authenticated user may get them); /metrics needs get on the URL /metrics"},
    {"tls-cert-file", "ISTRIGGER_TLS_CERT_FILE", NULL, OPT_STRING, OFF(tls_cert_file),
     "serve HTTPS with this certificate (PEM; reloaded when it changes)"},
    {"tls-key-file", "ISTRIGGER_TLS_KEY_FILE", NULL, OPT_STRING, OFF(tls_key_file),
     "the private key of --tls-cert-file (PEM)"},
    {"console-dashboard", "ISTRIGGER_CONSOLE_DASHBOARD", NULL, OPT_BOOL, OFF(console_dashboard),
     "create/update the OpenShift console dashboard ConfigMap in openshift-config-managed "
     "(default false)"},
    {"operator-namespace", "ISTRIGGER_NAMESPACE", "POD_NAMESPACE", OPT_STRING,
     OFF(operator_namespace),
     "namespace of the leader Lease and CA ConfigMaps (default: the kubeconfig's namespace)"},
    {"identity", "ISTRIGGER_IDENTITY", "POD_NAME", OPT_STRING, OFF(identity),
     "leader election identity (default: hostname_pid)"},
    {"leader-elect", "ISTRIGGER_LEADER_ELECT", NULL, OPT_BOOL, OFF(leader_elect),
     "elect a leader; only the leader polls and imports (default true)"},
    {"leader-election-id", "ISTRIGGER_LEADER_ELECTION_ID", NULL, OPT_STRING, OFF(lease_name),
     "name of the Lease (default istrigger-leader)"},
    {"lease-duration", "ISTRIGGER_LEASE_DURATION", NULL, OPT_DURATION, OFF(lease_duration_ns),
     "how long a leader's lease is valid (default 15s)"},
    {"renew-deadline", "ISTRIGGER_RENEW_DEADLINE", NULL, OPT_DURATION, OFF(renew_deadline_ns),
     "the leader steps down when it could not renew for this long (default 10s)"},
    {"retry-period", "ISTRIGGER_RETRY_PERIOD", NULL, OPT_DURATION, OFF(retry_period_ns),
     "interval of lease attempts and renewals (default 2s)"},
    {"default-interval", "ISTRIGGER_DEFAULT_INTERVAL", NULL, OPT_DURATION, OFF(default_interval_ns),
     "interval of adopted scheduled tags (default 1m)"},
    {"minimum-interval", "ISTRIGGER_MINIMUM_INTERVAL", NULL, OPT_DURATION, OFF(minimum_interval_ns),
     "lowest poll interval; lower annotations are raised (default 10s)"},
    {"adopt-scheduled-tags", "ISTRIGGER_ADOPT_SCHEDULED_TAGS", NULL, OPT_BOOL, OFF(adopt_scheduled),
     "poll importPolicy.scheduled tags without annotation (default true)"},
    {"max-concurrent-polls", "ISTRIGGER_MAX_CONCURRENT_POLLS", NULL, OPT_INT,
     OFF(max_concurrent_polls), "registry checks in flight, all registries (default 32)"},
    {"max-concurrent-per-registry", "ISTRIGGER_MAX_CONCURRENT_PER_REGISTRY", NULL, OPT_INT,
     OFF(max_concurrent_per_registry), "registry checks in flight per registry (default 8)"},
    {"registry-qps", "ISTRIGGER_REGISTRY_QPS", NULL, OPT_DOUBLE, OFF(registry_rps),
     "checks per second per registry, 0 = unlimited (default 0)"},
    {"max-backoff", "ISTRIGGER_MAX_BACKOFF", NULL, OPT_DURATION, OFF(max_backoff_ns),
     "longest wait after failures of a source or an import (default 5m)"},
    {"secrets-refresh", "ISTRIGGER_SECRETS_REFRESH", NULL, OPT_DURATION, OFF(secrets_refresh_ns),
     "how long pull secrets are cached (refreshed at once after a 401; default 5m)"},
    {"ca-refresh", "ISTRIGGER_CA_REFRESH", NULL, OPT_DURATION, OFF(ca_refresh_ns),
     "how often the registries' caBundle ConfigMaps are read again (default 1m)"},
    {"registry-timeout", "ISTRIGGER_REGISTRY_TIMEOUT", NULL, OPT_DURATION, OFF(registry_timeout_ns),
     "timeout of one registry request (default 30s)"},
    {"control-plane-platform", "ISTRIGGER_CONTROL_PLANE_PLATFORM", NULL, OPT_PLATFORM,
     OFF(platform_os),
     "OS/ARCH of the control plane, the child OpenShift keeps from a manifest "
     "list in Legacy mode (default linux/amd64)"},
    {"watch-config", "ISTRIGGER_WATCH_CONFIG", NULL, OPT_BOOL, OFF(watch_config),
     "follow the ImageTriggerConfig named cluster (default true)"},
    {"workers", "ISTRIGGER_WORKERS", NULL, OPT_INT, OFF(workers),
     "reconcile workers of the ImageStream queue (default 4)"},
    {"kube-qps", "ISTRIGGER_KUBE_QPS", NULL, OPT_DOUBLE, OFF(kube_qps),
     "Kubernetes API requests per second (default 20)"},
    {"kube-burst", "ISTRIGGER_KUBE_BURST", NULL, OPT_INT, OFF(kube_burst),
     "Kubernetes API burst (default 40)"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: istrigger run [OPTIONS]\n\n"
            "Run the operator: poll the registries of annotated ImageStream tags on their own\n"
            "interval and import changed tags through OpenShift (ImageStreamImport).\n\n"
            "Options (each also read from the environment variable shown):\n");
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        const struct opt *o = &opts[i];
        const char *arg = o->type == OPT_BOOL ? "[=BOOL]" : "=VALUE";
        fprintf(out, "  --%s%s  [$%s%s%s]\n      %s\n", o->name, arg, o->env, o->env2 ? ", $" : "",
                o->env2 ? o->env2 : "", o->help);
    }
    fprintf(out, "  -v, --log-level=LEVEL, --log-format=logfmt|json  [$ISTRIGGER_LOG_LEVEL, "
                 "$ISTRIGGER_LOG_FORMAT]\n  -h, --help\n");
}

static int set_opt(struct operator_config *cfg, const struct opt *o, const char *v,
                   const char *from)
{
    void *p = (char *)cfg + o->offset;
    char *end = NULL;
    switch (o->type) {
    case OPT_STRING:
        *(const char **)p = v;
        return 0;
    case OPT_DURATION:
        if (duration_parse(v, (int64_t *)p) < 0 || *(int64_t *)p <= 0)
            return err_set(-EINVAL, "%s: invalid duration \"%s\"", from, v);
        return 0;
    case OPT_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            *(bool *)p = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
            *(bool *)p = false;
        else
            return err_set(-EINVAL, "%s: expected true or false, not \"%s\"", from, v);
        return 0;
    case OPT_INT: {
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0 || n > 100000)
            return err_set(-EINVAL, "%s: invalid number \"%s\"", from, v);
        *(int *)p = (int)n;
        return 0;
    }
    case OPT_DOUBLE: {
        double d = strtod(v, &end);
        if (!*v || *end || d < 0)
            return err_set(-EINVAL, "%s: invalid number \"%s\"", from, v);
        *(double *)p = d;
        return 0;
    }
    case OPT_PLATFORM: {
        const char *slash = strchr(v, '/');
        if (!slash || slash == v || !slash[1])
            return err_set(-EINVAL, "%s: expected OS/ARCH, not \"%s\"", from, v);
        cfg->platform_os = strndup(v, (size_t)(slash - v)); /* lives as long as the process */
        cfg->platform_arch = slash + 1;
        return 0;
    }
    }
    return -EINVAL;
}

/* Environment first, flags override. */
static int parse_args(int argc, char **argv, struct operator_config *cfg, bool *help)
{
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        const char *v = getenv(opts[i].env);
        const char *name = opts[i].env;
        if ((!v || !*v) && opts[i].env2) {
            v = getenv(opts[i].env2);
            name = opts[i].env2;
        }
        if ((!v || !*v) && strcmp(opts[i].name, "namespaces") == 0) {
            v = getenv("OLM_TARGET_NAMESPACES");
            name = "OLM_TARGET_NAMESPACES";
        }
        if (v && *v && strcmp(opts[i].env, "KUBECONFIG") != 0) {
            int rc = set_opt(cfg, &opts[i], v, name);
            if (rc < 0)
                return rc;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            *help = true;
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0)
            return err_set(-EINVAL, "unexpected argument \"%s\"", arg);
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = NULL;
        for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
            if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
                o = &opts[i];
        }
        if (!o)
            return err_set(-EINVAL, "unknown option \"%s\" (see --help)", arg);
        const char *v = eq ? eq + 1 : NULL;
        if (!v && o->type == OPT_BOOL)
            v = "true";
        else if (!v && a + 1 < argc)
            v = argv[++a];
        else if (!v)
            return err_set(-EINVAL, "option --%s needs a value", o->name);
        char from[80];
        snprintf(from, sizeof(from), "--%s", o->name);
        int rc = set_opt(cfg, o, v, from);
        if (rc < 0)
            return rc;
    }
    if (cfg->lease_duration_ns <= cfg->renew_deadline_ns ||
        cfg->renew_deadline_ns <= cfg->retry_period_ns * 12 / 10)
        return err_set(-EINVAL, "leader election needs lease-duration > renew-deadline > "
                                "1.2 * retry-period");
    return 0;
}

int cli_run(int argc, char **argv)
{
    if (cli_take_log_flags(&argc, argv) < 0) {
        fprintf(stderr, "istrigger run: %s\n", err_msg());
        return 2;
    }
    struct operator_config cfg;
    operator_config_defaults(&cfg);
    bool help = false;
    if (parse_args(argc, argv, &cfg, &help) < 0) {
        fprintf(stderr, "istrigger run: %s\n", err_msg());
        return 2;
    }
    if (help) {
        usage(stdout);
        return 0;
    }
    if (kube_shutdown_install() < 0) {
        fprintf(stderr, "istrigger run: %s\n", err_msg());
        return 1;
    }
    struct operator* op = NULL;
    int rc = operator_new(&cfg, &op);
    if (rc < 0) {
        log_error(NULL, "%s", err_msg());
        return 1;
    }
    log_info(op->identity, "istrigger %s starting", ISTRIGGER_VERSION);
    /* The HTTP listener (issue 7 owns its options: auth, TLS). */
    struct http_server *http = NULL;
    rc = cli_run_http_start(op, &http);
    if (rc < 0)
        err_wrap(rc, "starting the HTTP listener on %s", cfg.listen);
    if (rc == 0)
        rc = operator_start(op);
    if (rc == 0)
        rc = sync_controller_start(op);
    if (rc == 0)
        rc = trigger_controller_start(op);
    if (rc == 0)
        status_set_ready(true);
    if (rc < 0) {
        log_error(NULL, "%s", err_msg());
    } else {
        int sig = kube_shutdown_wait(-1);
        log_info(op->identity, "shutting down (signal %d)", sig);
    }
    status_set_ready(false);
    operator_stop(op); /* release the lease first: a successor starts at once */
    sync_controller_stop(op);
    trigger_controller_stop(op);
    http_server_stop(http);
    operator_free(op);
    return rc < 0 ? 1 : 0;
}
