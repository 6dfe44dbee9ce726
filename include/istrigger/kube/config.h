/*
 * config.h - where the Kubernetes API server is and how to authenticate to it.
 *
 * Sources, in the order client-go's clientcmd uses them:
 *   1. an explicit kubeconfig path (`--kubeconfig`),
 *   2. the KUBECONFIG environment variable (a ':'-separated list; missing files are skipped,
 *      several existing ones are merged as kubectl merges them: first current-context and
 *      first definition of each cluster/user/context name win, relative paths resolve against
 *      the file that defined the entry),
 *   3. ~/.kube/config,
 *   4. in-cluster: KUBERNETES_SERVICE_HOST/PORT, the service-account token, CA bundle and
 *      namespace file under /var/run/secrets/kubernetes.io/serviceaccount/ (or the directory
 *      in $KUBE_SA_DIR, for tests and unusual mounts).
 *
 * kubeconfig files are parsed with libyaml. The supported fields of the selected context's
 * cluster and user are: server, certificate-authority, certificate-authority-data,
 * insecure-skip-tls-verify, tls-server-name, token, tokenFile, client-certificate(-data),
 * client-key(-data), username, password; the context's namespace. Relative file paths are
 * resolved against the kubeconfig's directory, as kubectl does. Errors name the file and the
 * field ("kubeconfig /root/.kube/config: users[0] \"admin\": client-key-data: invalid base64").
 */
#ifndef ISTRIGGER_KUBE_CONFIG_H
#define ISTRIGGER_KUBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Default location of the service-account files inside a pod. */
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * A resolved client configuration. Every string is owned by the struct (freed by
 * kube_config_free) and may be NULL when not set. PEM buffers are NUL-terminated.
 */
struct kube_config {
    char *server;  /* "https://127.0.0.1:6443" (no trailing slash) */
    char *ca_file; /* certificate-authority (absolute path) */
    char *ca_pem;  /* certificate-authority-data, decoded PEM */
    size_t ca_pem_len;
    char *tls_server_name; /* tls-server-name (SNI/verification name override) */
    bool insecure;         /* insecure-skip-tls-verify */
    char *client_cert_file;
    char *client_cert_pem; /* client-certificate-data, decoded */
    size_t client_cert_pem_len;
    char *client_key_file;
    char *client_key_pem; /* client-key-data, decoded */
    size_t client_key_pem_len;
    char *token;      /* static bearer token */
    char *token_file; /* bearer token file, re-read when it changes (rotation) */
    char *username;   /* basic auth */
    char *password;
    char *namespace; /* the context's namespace, or the in-cluster namespace; "default" if none */
    char *context;   /* the context used (NULL in-cluster) */
    char *source;    /* where this came from, for messages: "kubeconfig PATH" or "in-cluster" */
    bool in_cluster;
};

/*
 * Find and load the configuration: `path` when given (an error if it cannot be read), else
 * $KUBECONFIG, else ~/.kube/config, else in-cluster when KUBERNETES_SERVICE_HOST is set.
 * `context` selects a context (NULL: current-context). On success *out is a NEW config
 * (kube_config_free). Errors: -ENOENT nothing found (the message lists what was tried),
 * -EINVAL broken file (message names file and field), -ENOMEM.
 */
int kube_config_load(const char *path, const char *context, struct kube_config **out);

/* Load one kubeconfig file (no fallbacks). Same ownership and errors as kube_config_load. */
int kube_config_load_file(const char *path, const char *context, struct kube_config **out);

/* Parse kubeconfig YAML held in memory; `dir` resolves relative paths, `name` is used in
 * messages. Same ownership and errors as kube_config_load. */
int kube_config_load_buffer(const char *yaml, size_t len, const char *name, const char *dir,
                            const char *context, struct kube_config **out);

/* In-cluster configuration from the environment (KUBERNETES_SERVICE_HOST/PORT) and the
 * service-account directory `sa_dir` (NULL: KUBE_SA_DIR). The token is not copied: the
 * client re-reads `sa_dir`/token when it changes. NEW config in *out. -ENOENT when not in a
 * cluster. */
int kube_config_in_cluster(const char *sa_dir, struct kube_config **out);

/* Deep copy. NEW config in *out, or -ENOMEM. */
int kube_config_dup(const struct kube_config *cfg, struct kube_config **out);

/* Free a config and every string in it. NULL is fine. */
void kube_config_free(struct kube_config *cfg);

#endif
