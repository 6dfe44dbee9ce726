/* Unit tests for kubeconfig and in-cluster configuration loading (src/kube/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "istrigger/kube/config.h"
#include "istrigger/util/err.h"

/* "hello CA\n", "cert\n", "key\n" in base64. */
static const char full_kubeconfig[] = "apiVersion: v1\n"
                                      "kind: Config\n"
                                      "current-context: dev\n"
                                      "clusters:\n"
                                      "- name: other\n"
                                      "  cluster:\n"
                                      "    server: https://other:6443\n"
                                      "- name: okd\n"
                                      "  cluster:\n"
                                      "    server: https://127.0.0.1:6443/\n"
                                      "    certificate-authority-data: aGVsbG8gQ0EK\n"
                                      "contexts:\n"
                                      "- name: dev\n"
                                      "  context:\n"
                                      "    cluster: okd\n"
                                      "    user: admin\n"
                                      "    namespace: web\n"
                                      "- name: cert\n"
                                      "  context: {cluster: okd, user: certuser}\n"
                                      "- name: files\n"
                                      "  context: {cluster: filecluster, user: fileuser}\n"
                                      "users:\n"
                                      "- name: admin\n"
                                      "  user:\n"
                                      "    token: sekret-token\n"
                                      "- name: certuser\n"
                                      "  user:\n"
                                      "    client-certificate-data: Y2VydAo=\n"
                                      "    client-key-data: a2V5Cg==\n"
                                      "- name: fileuser\n"
                                      "  user:\n"
                                      "    tokenFile: tok/token\n"
                                      "    client-certificate: certs/c.pem\n"
                                      "    client-key: /abs/k.pem\n"
                                      "    username: bob\n"
                                      "    password: pw\n";

static const char filecluster[] = "- name: filecluster\n"
                                  "  cluster:\n"
                                  "    server: https://10.0.0.1\n"
                                  "    certificate-authority: ca/ca.crt\n"
                                  "    insecure-skip-tls-verify: true\n";

static struct kube_config *load(const char *yaml, const char *context, int *r)
{
    struct kube_config *cfg = NULL;
    *r = kube_config_load_buffer(yaml, strlen(yaml), "/home/u/.kube/config", "/home/u/.kube",
                                 context, &cfg);
    return cfg;
}

static void test_current_context_with_token_and_ca_data(void **state)
{
    int r;
    struct kube_config *cfg = load(full_kubeconfig, NULL, &r);
    (void)state;
    assert_int_equal(r, 0);
    assert_string_equal(cfg->server, "https://127.0.0.1:6443");
    assert_string_equal(cfg->token, "sekret-token");
    assert_string_equal(cfg->namespace, "web");
    assert_string_equal(cfg->context, "dev");
    assert_int_equal(cfg->ca_pem_len, 9);
    assert_memory_equal(cfg->ca_pem, "hello CA\n", 9);
    assert_null(cfg->client_cert_pem);
    assert_false(cfg->insecure);
    kube_config_free(cfg);
}

static void test_explicit_context_with_client_cert_data(void **state)
{
    int r;
    struct kube_config *cfg = load(full_kubeconfig, "cert", &r);
    (void)state;
    assert_int_equal(r, 0);
    assert_string_equal(cfg->client_cert_pem, "cert\n");
    assert_string_equal(cfg->client_key_pem, "key\n");
    assert_null(cfg->token);
    assert_string_equal(cfg->namespace, "default");
    kube_config_free(cfg);
}

static void test_relative_paths_resolve_against_kubeconfig_dir(void **state)
{
    char yaml[4096];
    int r;
    (void)state;
    /* Append another cluster to the clusters list by inserting before "contexts:". */
    const char *ctxs = strstr(full_kubeconfig, "contexts:");
    snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(ctxs - full_kubeconfig), full_kubeconfig,
             filecluster, ctxs);
    struct kube_config *cfg = load(yaml, "files", &r);
    assert_int_equal(r, 0);
    assert_string_equal(cfg->server, "https://10.0.0.1");
    assert_string_equal(cfg->ca_file, "/home/u/.kube/ca/ca.crt");
    assert_true(cfg->insecure);
    assert_string_equal(cfg->token_file, "/home/u/.kube/tok/token");
    assert_string_equal(cfg->client_cert_file, "/home/u/.kube/certs/c.pem");
    assert_string_equal(cfg->client_key_file, "/abs/k.pem");
    assert_string_equal(cfg->username, "bob");
    assert_string_equal(cfg->password, "pw");
    kube_config_free(cfg);
}

static void test_errors_name_file_and_field(void **state)
{
    int r;
    (void)state;
    assert_null(load(full_kubeconfig, "nope", &r));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err_msg(), "/home/u/.kube/config"));
    assert_non_null(strstr(err_msg(), "no context named \"nope\""));

    assert_null(load("clusters: [\n  - {name: x\n", NULL, &r));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err_msg(), "invalid YAML at line"));

    static const char bad_b64[] = "current-context: c\n"
                                  "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
                                  "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                                  "users: [{name: u, user: {client-certificate-data: '!!!!', "
                                  "client-key-data: a2V5Cg==}}]\n";
    assert_null(load(bad_b64, NULL, &r));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err_msg(), "users[0] \"u\": client-certificate-data"));

    static const char no_server[] = "current-context: c\n"
                                    "clusters: [{name: k, cluster: {insecure-skip-tls-verify: "
                                    "true}}]\n"
                                    "contexts: [{name: c, context: {cluster: k}}]\n";
    assert_null(load(no_server, NULL, &r));
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err_msg(), "clusters[0] \"k\": server: missing"));

    static const char cert_no_key[] = "current-context: c\n"
                                      "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
                                      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                                      "users: [{name: u, user: {client-certificate: /c.pem}}]\n";
    assert_null(load(cert_no_key, NULL, &r));
    assert_non_null(strstr(err_msg(), "client-certificate without client-key"));

    assert_null(load("current-context: \"\"\n", NULL, &r));
    assert_non_null(strstr(err_msg(), "current-context"));
}

static void test_missing_file_is_enoent_with_path(void **state)
{
    struct kube_config *cfg = NULL;
    (void)state;
    assert_int_equal(kube_config_load("/nonexistent/kubeconfig", NULL, &cfg), -ENOENT);
    assert_null(cfg);
    assert_non_null(strstr(err_msg(), "/nonexistent/kubeconfig"));
}

static void test_kubeconfig_env_and_in_cluster_fallback(void **state)
{
    char dir[] = "/tmp/kcfgXXXXXX", path[256];
    struct kube_config *cfg = NULL;
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/config", dir);
    f = fopen(path, "w");
    fputs(full_kubeconfig, f);
    fclose(f);
    setenv("KUBECONFIG", "/nonexistent/a:/tmp/kcfg-missing", 1);
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_load(NULL, NULL, &cfg), -ENOENT);
    assert_non_null(strstr(err_msg(), "/nonexistent/a (KUBECONFIG)"));
    char list[600];
    snprintf(list, sizeof(list), "/nonexistent/a:%s", path);
    setenv("KUBECONFIG", list, 1);
    assert_int_equal(kube_config_load(NULL, NULL, &cfg), 0);
    assert_string_equal(cfg->token, "sekret-token");
    assert_non_null(strstr(cfg->source, path));
    kube_config_free(cfg);

    /* In-cluster: service-account directory with token, CA and namespace. */
    char sa[300];
    snprintf(sa, sizeof(sa), "%s/token", dir);
    f = fopen(sa, "w");
    fputs("tok\n", f);
    fclose(f);
    snprintf(sa, sizeof(sa), "%s/namespace", dir);
    f = fopen(sa, "w");
    fputs("operators\n", f);
    fclose(f);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(kube_config_in_cluster(dir, &cfg), 0);
    assert_string_equal(cfg->server, "https://[fd00::1]:443");
    assert_string_equal(cfg->namespace, "operators");
    assert_null(cfg->ca_file); /* no ca.crt in the directory */
    assert_true(cfg->in_cluster);
    snprintf(sa, sizeof(sa), "%s/token", dir);
    assert_string_equal(cfg->token_file, sa);
    struct kube_config *copy = NULL;
    assert_int_equal(kube_config_dup(cfg, &copy), 0);
    assert_string_equal(copy->token_file, sa);
    kube_config_free(copy);
    kube_config_free(cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_in_cluster(dir, &cfg), -ENOENT);
    unlink(sa);
    snprintf(sa, sizeof(sa), "%s/namespace", dir);
    unlink(sa);
    unlink(path);
    rmdir(dir);
    unsetenv("KUBECONFIG");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* KUBECONFIG=a:b merges like kubectl: first current-context and first definition of a name
 * win, relative paths resolve against the file that defined the entry. */
static void test_kubeconfig_list_is_merged(void **state)
{
    char dir[] = "/tmp/kcfgmXXXXXX", a[300], b[300], list[700], want[400];
    struct kube_config *cfg = NULL;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(b, 0700), 0);
    strcat(a, "/config");
    strcat(b, "/config");
    write_text(a, "current-context: dev\n"
                  "contexts:\n"
                  "- {name: dev, context: {cluster: c2, user: u1, namespace: web}}\n"
                  "clusters:\n"
                  "- {name: shared, cluster: {server: https://first}}\n"
                  "users:\n"
                  "- {name: u1, user: {tokenFile: tok}}\n");
    write_text(b, "current-context: other\n"
                  "contexts:\n"
                  "- {name: dev, context: {cluster: shared, user: u2}}\n"
                  "- {name: other, context: {cluster: shared, user: u1}}\n"
                  "clusters:\n"
                  "- {name: c2, cluster: {server: https://c2, certificate-authority: ca.crt}}\n"
                  "- {name: shared, cluster: {server: https://second}}\n"
                  "users:\n"
                  "- {name: u1, user: {token: ignored}}\n"
                  "- {name: u2, user: {token: t2}}\n");
    snprintf(list, sizeof(list), "%s:/nonexistent/skipped:%s", a, b);
    setenv("KUBECONFIG", list, 1);
    unsetenv("KUBERNETES_SERVICE_HOST");

    assert_int_equal(kube_config_load(NULL, NULL, &cfg), 0);
    assert_string_equal(cfg->context, "dev");       /* a's current-context and a's "dev" */
    assert_string_equal(cfg->server, "https://c2"); /* a cluster only b defines */
    snprintf(want, sizeof(want), "%s/b/ca.crt", dir);
    assert_string_equal(cfg->ca_file, want); /* relative to b */
    snprintf(want, sizeof(want), "%s/a/tok", dir);
    assert_string_equal(cfg->token_file, want); /* relative to a */
    assert_null(cfg->token);                    /* a's u1, not b's */
    assert_string_equal(cfg->namespace, "web");
    kube_config_free(cfg);

    assert_int_equal(kube_config_load(NULL, "other", &cfg), 0);
    assert_string_equal(cfg->server, "https://first"); /* "shared" as a defined it */
    kube_config_free(cfg);

    assert_int_equal(kube_config_load(NULL, "nope", &cfg), -EINVAL);
    assert_non_null(strstr(err_msg(), "KUBECONFIG="));
    assert_non_null(strstr(err_msg(), "no context named \"nope\""));

    write_text(b, "clusters: [\n");
    assert_true(kube_config_load(NULL, NULL, &cfg) < 0); /* a broken file is an error */
    assert_non_null(strstr(err_msg(), b));

    unlink(a);
    unlink(b);
    a[strlen(a) - strlen("/config")] = 0;
    b[strlen(b) - strlen("/config")] = 0;
    rmdir(a);
    rmdir(b);
    rmdir(dir);
    unsetenv("KUBECONFIG");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context_with_token_and_ca_data),
        cmocka_unit_test(test_explicit_context_with_client_cert_data),
        cmocka_unit_test(test_relative_paths_resolve_against_kubeconfig_dir),
        cmocka_unit_test(test_errors_name_file_and_field),
        cmocka_unit_test(test_missing_file_is_enoent_with_path),
        cmocka_unit_test(test_kubeconfig_env_and_in_cluster_fallback),
        cmocka_unit_test(test_kubeconfig_list_is_merged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
