/*
 * config.c - kubeconfig (libyaml) and in-cluster configuration (see config.h).
 *
 * The YAML document is first turned into a jansson tree (every scalar becomes a string), so
 * the kubeconfig is then read with the project's JSON helpers. Each field read names its place
 * in the file for errors: "users[1] \"admin\": client-key-data: invalid base64".
 */
#include "istrigger/kube/config.h"

#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/strbuf.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

void kube_config_free(struct kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca_pem);
    free(cfg->tls_server_name);
    free(cfg->client_cert_file);
    free(cfg->client_cert_pem);
    free(cfg->client_key_file);
    free(cfg->client_key_pem);
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->username);
    free(cfg->password);
    free(cfg->namespace);
    free(cfg->context);
    free(cfg->source);
    free(cfg);
}

static int dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

static int dup_mem(char **dst, const char *src, size_t len)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = malloc(len + 1);
    if (!*dst)
        return -ENOMEM;
    memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    return 0;
}

int kube_config_dup(const struct kube_config *cfg, struct kube_config **out)
{
    struct kube_config *n = calloc(1, sizeof(*n));
    int r = 0;

    if (!n)
        return err_set(-ENOMEM, "out of memory");
    r |= dup_str(&n->server, cfg->server);
    r |= dup_str(&n->ca_file, cfg->ca_file);
    r |= dup_mem(&n->ca_pem, cfg->ca_pem, cfg->ca_pem_len);
    r |= dup_str(&n->tls_server_name, cfg->tls_server_name);
    r |= dup_str(&n->client_cert_file, cfg->client_cert_file);
    r |= dup_mem(&n->client_cert_pem, cfg->client_cert_pem, cfg->client_cert_pem_len);
    r |= dup_str(&n->client_key_file, cfg->client_key_file);
    r |= dup_mem(&n->client_key_pem, cfg->client_key_pem, cfg->client_key_pem_len);
    r |= dup_str(&n->token, cfg->token);
    r |= dup_str(&n->token_file, cfg->token_file);
    r |= dup_str(&n->username, cfg->username);
    r |= dup_str(&n->password, cfg->password);
    r |= dup_str(&n->namespace, cfg->namespace);
    r |= dup_str(&n->context, cfg->context);
    r |= dup_str(&n->source, cfg->source);
    n->ca_pem_len = cfg->ca_pem_len;
    n->client_cert_pem_len = cfg->client_cert_pem_len;
    n->client_key_pem_len = cfg->client_key_pem_len;
    n->insecure = cfg->insecure;
    n->in_cluster = cfg->in_cluster;
    if (r) {
        kube_config_free(n);
        return err_set(-ENOMEM, "out of memory");
    }
    *out = n;
    return 0;
}

/* ---- YAML -> JSON ---- */

static json_t *yaml_node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth)
{
    json_t *v;

    if (!node || depth > 64)
        return NULL;
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return json_stringn((const char *)node->data.scalar.value, node->data.scalar.length);
    case YAML_SEQUENCE_NODE:
        v = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             v && it < node->data.sequence.items.top; it++) {
            json_t *e = yaml_node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1);
            if (!e || json_array_append_new(v, e) < 0) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    case YAML_MAPPING_NODE:
        v = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             v && p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            json_t *e;
            if (!k || k->type != YAML_SCALAR_NODE)
                continue;
            e = yaml_node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
            if (!e || json_object_setn_new(v, (const char *)k->data.scalar.value,
                                           k->data.scalar.length, e) < 0) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    default:
        return json_null();
    }
}

/* Parse YAML text into a JSON tree. NEW reference or NULL with err_msg naming `name`. */
static json_t *yaml_to_json(const char *yaml, size_t len, const char *name)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *root = NULL;

    if (!yaml_parser_initialize(&parser)) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err_set(-EINVAL, "%s: invalid YAML at line %zu column %zu: %s", name,
                parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    if (!top)
        err_set(-EINVAL, "%s: empty file", name);
    else if (!(root = yaml_node_to_json(&doc, top, 0)))
        err_set(-ENOMEM, "%s: out of memory", name);
    else if (!json_is_object(root)) {
        err_set(-EINVAL, "%s: not a kubeconfig (top level is not a mapping)", name);
        json_decref(root);
        root = NULL;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return root;
}

/* ---- kubeconfig ---- */

/* The entry of list `list` ("clusters", "contexts", "users") named `want`, and its index. */
static json_t *find_named(json_t *root, const char *list, const char *want, size_t *idx)
{
    json_t *arr = json_object_get(root, list), *e;
    size_t i;

    if (!json_is_array(arr))
        return NULL;
    json_array_foreach (arr, i, e) {
        const char *n = jsonx_str(e, "name");
        if (n && strcmp(n, want) == 0) {
            *idx = i;
            return e;
        }
    }
    return NULL;
}

/* A path field: absolute, or relative to the kubeconfig's directory. */
static int resolve_path(const char *dir, const char *p, char **out)
{
    struct strbuf sb = STRBUF_INIT;

    if (!p || !*p)
        return 0;
    if (p[0] == '/' || !dir)
        return dup_str(out, p) ? err_set(-ENOMEM, "out of memory") : 0;
    if (strbuf_printf(&sb, "%s/%s", dir, p) < 0) {
        strbuf_free(&sb);
        return err_set(-ENOMEM, "out of memory");
    }
    *out = strbuf_detach(&sb);
    return 0;
}

/* Decode a "-data" field into *out and *out_len. `where` names the entry for errors. */
static int decode_data(json_t *m, const char *field, const char *where, char **out, size_t *out_len)
{
    json_t *v = json_object_get(m, field);
    unsigned char *bytes;

    if (!v)
        return 0;
    if (!json_is_string(v))
        return err_set(-EINVAL, "%s: %s: not a string", where, field);
    bytes = base64_decode(json_string_value(v), out_len);
    if (!bytes)
        return err_wrap(-EINVAL, "%s: %s", where, field);
    if (*out_len == 0) {
        free(bytes);
        return err_set(-EINVAL, "%s: %s: empty", where, field);
    }
    *out = (char *)bytes;
    return 0;
}

/* A string field, or -EINVAL if present but not a string. */
static int get_string(json_t *m, const char *field, const char *where, const char **out)
{
    json_t *v = json_object_get(m, field);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(-EINVAL, "%s: %s: not a string", where, field);
    *out = json_string_value(v);
    return 0;
}

static int fill_cluster(struct kube_config *cfg, json_t *cluster, const char *where,
                        const char *dir)
{
    const char *server, *ca, *insecure, *tsn;
    int r;

    if (!json_is_object(cluster))
        return err_set(-EINVAL, "%s: cluster: missing or not a mapping", where);
    if ((r = get_string(cluster, "server", where, &server)) < 0 ||
        (r = get_string(cluster, "certificate-authority", where, &ca)) < 0 ||
        (r = get_string(cluster, "insecure-skip-tls-verify", where, &insecure)) < 0 ||
        (r = get_string(cluster, "tls-server-name", where, &tsn)) < 0)
        return r;
    if (!server || !*server)
        return err_set(-EINVAL, "%s: server: missing", where);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return err_set(-EINVAL, "%s: server: \"%s\" is not an http(s) URL", where, server);
    if (!(cfg->server = strdup(server)))
        return err_set(-ENOMEM, "out of memory");
    size_t n = strlen(cfg->server);
    while (n > 0 && cfg->server[n - 1] == '/')
        cfg->server[--n] = '\0';
    if (insecure) {
        if (strcmp(insecure, "true") == 0)
            cfg->insecure = true;
        else if (strcmp(insecure, "false") != 0)
            return err_set(-EINVAL, "%s: insecure-skip-tls-verify: \"%s\" is not a boolean", where,
                           insecure);
    }
    if (tsn && dup_str(&cfg->tls_server_name, tsn))
        return err_set(-ENOMEM, "out of memory");
    if ((r = resolve_path(dir, ca, &cfg->ca_file)) < 0)
        return r;
    return decode_data(cluster, "certificate-authority-data", where, &cfg->ca_pem,
                       &cfg->ca_pem_len);
}

static int fill_user(struct kube_config *cfg, json_t *user, const char *where, const char *dir)
{
    const char *token, *token_file, *cert, *key, *username, *password;
    int r;

    if (!user || json_is_null(user))
        return 0; /* an empty user entry: anonymous */
    if (!json_is_object(user))
        return err_set(-EINVAL, "%s: user: not a mapping", where);
    if ((r = get_string(user, "token", where, &token)) < 0 ||
        (r = get_string(user, "tokenFile", where, &token_file)) < 0 ||
        (r = get_string(user, "client-certificate", where, &cert)) < 0 ||
        (r = get_string(user, "client-key", where, &key)) < 0 ||
        (r = get_string(user, "username", where, &username)) < 0 ||
        (r = get_string(user, "password", where, &password)) < 0)
        return r;
    if (json_object_get(user, "exec") || json_object_get(user, "auth-provider"))
        return err_set(-ENOTSUP, "%s: exec and auth-provider plugins are not supported", where);
    if (dup_str(&cfg->token, token) || dup_str(&cfg->username, username) ||
        dup_str(&cfg->password, password))
        return err_set(-ENOMEM, "out of memory");
    if ((r = resolve_path(dir, token_file, &cfg->token_file)) < 0 ||
        (r = resolve_path(dir, cert, &cfg->client_cert_file)) < 0 ||
        (r = resolve_path(dir, key, &cfg->client_key_file)) < 0)
        return r;
    if ((r = decode_data(user, "client-certificate-data", where, &cfg->client_cert_pem,
                         &cfg->client_cert_pem_len)) < 0 ||
        (r = decode_data(user, "client-key-data", where, &cfg->client_key_pem,
                         &cfg->client_key_pem_len)) < 0)
        return r;
    bool has_cert = cfg->client_cert_file || cfg->client_cert_pem;
    bool has_key = cfg->client_key_file || cfg->client_key_pem;
    if (has_cert != has_key)
        return err_set(-EINVAL, "%s: %s without %s", where,
                       has_cert ? "client-certificate" : "client-key",
                       has_cert ? "client-key" : "client-certificate");
    return 0;
}

/* Members a merged tree adds to each cluster/user/context entry (never valid kubeconfig keys). */
#define MERGED_FILE " file"
#define MERGED_DIR  " dir"

static int load_tree(json_t *root, const char *name, const char *dir, const char *context,
                     struct kube_config *cfg)
{
    char where[256];
    size_t ci = 0, ui = 0, xi = 0;
    json_t *ctx_entry, *ctx, *cl_entry, *user_entry = NULL;
    const char *cl_name, *user_name, *ns;
    int r;

    if (!context || !*context) {
        context = jsonx_str(root, "current-context");
        if (!context || !*context)
            return err_set(-EINVAL, "%s: current-context: not set and no context given", name);
    }
    ctx_entry = find_named(root, "contexts", context, &xi);
    if (!ctx_entry)
        return err_set(-EINVAL, "%s: contexts: no context named \"%s\"", name, context);
    snprintf(where, sizeof(where), "%s: contexts[%zu] \"%s\"", name, xi, context);
    ctx = json_object_get(ctx_entry, "context");
    if (!json_is_object(ctx))
        return err_set(-EINVAL, "%s: context: missing or not a mapping", where);
    if ((r = get_string(ctx, "cluster", where, &cl_name)) < 0 ||
        (r = get_string(ctx, "user", where, &user_name)) < 0 ||
        (r = get_string(ctx, "namespace", where, &ns)) < 0)
        return r;
    if (!cl_name || !*cl_name)
        return err_set(-EINVAL, "%s: cluster: missing", where);
    cl_entry = find_named(root, "clusters", cl_name, &ci);
    if (!cl_entry)
        return err_set(-EINVAL, "%s: cluster: no cluster named \"%s\" in clusters", where, cl_name);
    if (user_name && *user_name) {
        user_entry = find_named(root, "users", user_name, &ui);
        if (!user_entry)
            return err_set(-EINVAL, "%s: user: no user named \"%s\" in users", where, user_name);
    }
    if (dup_str(&cfg->context, context) || dup_str(&cfg->namespace, ns && *ns ? ns : "default"))
        return err_set(-ENOMEM, "out of memory");
    /* In a merged KUBECONFIG list each entry keeps the file (and directory, for relative
     * paths) it came from, as kubectl resolves them (merge_kubeconfigs). */
    snprintf(where, sizeof(where), "%s: clusters[%zu] \"%s\"",
             jsonx_str(cl_entry, MERGED_FILE) ?: name, ci, cl_name);
    if ((r = fill_cluster(cfg, json_object_get(cl_entry, "cluster"), where,
                          jsonx_str(cl_entry, MERGED_DIR) ?: dir)) < 0)
        return r;
    if (user_entry) {
        snprintf(where, sizeof(where), "%s: users[%zu] \"%s\"",
                 jsonx_str(user_entry, MERGED_FILE) ?: name, ui, user_name);
        if ((r = fill_user(cfg, json_object_get(user_entry, "user"), where,
                           jsonx_str(user_entry, MERGED_DIR) ?: dir)) < 0)
            return r;
    }
    return 0;
}

/* The configuration a parsed tree selects. Takes `source` (the name used in messages; it
 * becomes the config's `source`, or is freed on error). */
static int config_from_tree(json_t *root, struct strbuf *source, const char *dir,
                            const char *context, struct kube_config **out)
{
    struct kube_config *cfg = calloc(1, sizeof(*cfg));
    int r;

    if (!cfg) {
        strbuf_free(source);
        return err_set(-ENOMEM, "out of memory");
    }
    r = load_tree(root, strbuf_str(source), dir, context, cfg);
    cfg->source = strbuf_detach(source);
    if (r < 0) {
        kube_config_free(cfg);
        return r;
    }
    *out = cfg;
    return 0;
}

int kube_config_load_buffer(const char *yaml, size_t len, const char *name, const char *dir,
                            const char *context, struct kube_config **out)
{
    struct strbuf src = STRBUF_INIT;
    _cleanup_json_ json_t *root = NULL;

    *out = NULL;
    if (strbuf_printf(&src, "kubeconfig %s", name) < 0)
        return err_set(-ENOMEM, "out of memory");
    root = yaml_to_json(yaml, len, strbuf_str(&src));
    if (!root) {
        strbuf_free(&src);
        return err_code() ? err_code() : -EINVAL;
    }
    return config_from_tree(root, &src, dir, context, out);
}

/* Read a whole file. malloc'd NUL-terminated contents in *out. */
static int read_file(const char *path, char **out, size_t *len_out)
{
    struct strbuf sb = STRBUF_INIT;
    char buf[8192];
    size_t n;
    FILE *f = fopen(path, "re");

    if (!f)
        return err_set(-errno, "%s: %s", path, strerror(errno));
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (strbuf_append(&sb, buf, n) < 0) {
            fclose(f);
            strbuf_free(&sb);
            return err_set(-ENOMEM, "out of memory");
        }
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        strbuf_free(&sb);
        return err_set(-e, "%s: %s", path, strerror(e));
    }
    fclose(f);
    if (len_out)
        *len_out = sb.len;
    *out = strbuf_detach(&sb);
    return 0;
}

int kube_config_load_file(const char *path, const char *context, struct kube_config **out)
{
    _cleanup_free_ char *text = NULL, *pathcopy = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if ((r = read_file(path, &text, &len)) < 0)
        return err_wrap(r, "kubeconfig");
    if (!(pathcopy = strdup(path)))
        return err_set(-ENOMEM, "out of memory");
    return kube_config_load_buffer(text, len, path, dirname(pathcopy), context, out);
}

/* ---- in-cluster ---- */

int kube_config_in_cluster(const char *sa_dir, struct kube_config **out)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    struct kube_config *cfg;
    struct strbuf sb = STRBUF_INIT;
    _cleanup_free_ char *ns = NULL;
    int r;

    *out = NULL;
    if (!sa_dir)
        sa_dir = KUBE_SA_DIR;
    if (!host || !*host || !port || !*port)
        return err_set(
            -ENOENT, "in-cluster config: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT not set");
    if (!(cfg = calloc(1, sizeof(*cfg))))
        return err_set(-ENOMEM, "out of memory");
    cfg->in_cluster = true;
    /* An IPv6 service address needs brackets in the URL. */
    if (strchr(host, ':'))
        r = strbuf_printf(&sb, "https://[%s]:%s", host, port);
    else
        r = strbuf_printf(&sb, "https://%s:%s", host, port);
    if (r < 0)
        goto oom;
    cfg->server = strbuf_detach(&sb);
    if (strbuf_printf(&sb, "%s/token", sa_dir) < 0)
        goto oom;
    cfg->token_file = strbuf_detach(&sb);
    if (access(cfg->token_file, R_OK) != 0) {
        r = err_set(-ENOENT, "in-cluster config: service-account token %s: %s", cfg->token_file,
                    strerror(errno));
        kube_config_free(cfg);
        return r;
    }
    if (strbuf_printf(&sb, "%s/ca.crt", sa_dir) < 0)
        goto oom;
    cfg->ca_file = strbuf_detach(&sb);
    if (access(cfg->ca_file, R_OK) != 0) {
        free(cfg->ca_file);
        cfg->ca_file = NULL; /* system CAs then */
    }
    if (strbuf_printf(&sb, "%s/namespace", sa_dir) < 0)
        goto oom;
    if (read_file(strbuf_str(&sb), &ns, NULL) == 0) {
        ns[strcspn(ns, " \t\r\n")] = '\0';
    }
    err_clear();
    strbuf_reset(&sb);
    cfg->namespace = strdup(ns && *ns ? ns : "default");
    cfg->source = strdup("in-cluster");
    if (!cfg->namespace || !cfg->source)
        goto oom;
    strbuf_free(&sb);
    *out = cfg;
    return 0;
oom:
    strbuf_free(&sb);
    kube_config_free(cfg);
    return err_set(-ENOMEM, "out of memory");
}

/* ---- discovery of the configuration ---- */

/*
 * Several KUBECONFIG files, merged as kubectl does: the first file that sets current-context
 * wins; clusters, users and contexts are the union by name, the first file defining a name
 * wins; relative paths resolve against the directory of the file that defined the entry.
 * `paths` are the existing files, in order.
 */
static int load_merged(char **paths, size_t n, const char *context, struct kube_config **out)
{
    static const char *const lists[] = {"clusters", "users", "contexts"};
    _cleanup_json_ json_t *root = json_object();
    struct strbuf name = STRBUF_INIT;
    int r = 0;

    if (!root || strbuf_puts(&name, "kubeconfig KUBECONFIG=") < 0)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *text = NULL, *dircopy = NULL, *dir = NULL;
        _cleanup_json_ json_t *tree = NULL;
        _cleanup_strbuf_ struct strbuf src = STRBUF_INIT;
        size_t len = 0;

        strbuf_printf(&name, "%s%s", i ? ":" : "", paths[i]);
        if ((r = read_file(paths[i], &text, &len)) < 0) {
            err_wrap(r, "kubeconfig");
            goto fail;
        }
        if (strbuf_printf(&src, "kubeconfig %s", paths[i]) < 0 || !(dircopy = strdup(paths[i])) ||
            !(dir = strdup(dirname(dircopy))))
            goto nomem;
        if (!(tree = yaml_to_json(text, len, strbuf_str(&src)))) {
            r = err_code() ? err_code() : -EINVAL;
            goto fail;
        }
        const char *cur = jsonx_str(tree, "current-context");
        if (cur && *cur && !jsonx_str(root, "current-context"))
            json_object_set_new(root, "current-context", json_string(cur));
        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
            json_t *arr = json_object_get(tree, lists[l]), *dst = json_object_get(root, lists[l]),
                   *e;
            size_t j, idx;
            if (!json_is_array(arr))
                continue;
            if (!dst) {
                json_object_set_new(root, lists[l], json_array());
                dst = json_object_get(root, lists[l]);
            }
            json_array_foreach (arr, j, e) {
                const char *en = jsonx_str(e, "name");
                if (!json_is_object(e) || !en || find_named(root, lists[l], en, &idx))
                    continue; /* the first definition of a name wins */
                json_t *copy = jsonx_dup(e);
                if (!copy ||
                    json_object_set_new(copy, MERGED_FILE, json_string(strbuf_str(&src))) ||
                    json_object_set_new(copy, MERGED_DIR, json_string(dir))) {
                    json_decref(copy);
                    goto nomem;
                }
                if (json_array_append_new(dst, copy)) /* drops `copy` on failure */
                    goto nomem;
            }
        }
    }
    return config_from_tree(root, &name, NULL, context, out);
nomem:
    r = err_set(-ENOMEM, "out of memory");
fail:
    strbuf_free(&name);
    return r;
}

int kube_config_load(const char *path, const char *context, struct kube_config **out)
{
    struct strbuf tried = STRBUF_INIT;
    const char *env = getenv("KUBECONFIG");
    const char *home = getenv("HOME");
    int r;

    *out = NULL;
    if (path && *path)
        return kube_config_load_file(path, context, out);
    if (env && *env) {
        _cleanup_free_ char *list = strdup(env);
        char *save = NULL, *found[32];
        size_t n = 0;
        if (!list)
            return err_set(-ENOMEM, "out of memory");
        /* Missing files in the list are skipped, as kubectl does. */
        for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            if (access(p, F_OK) == 0 && n < sizeof(found) / sizeof(found[0]))
                found[n++] = p;
            else if (access(p, F_OK) != 0)
                strbuf_printf(&tried, "%s%s (KUBECONFIG)", tried.len ? ", " : "", p);
        }
        if (n > 0) {
            strbuf_free(&tried);
            return n == 1 ? kube_config_load_file(found[0], context, out)
                          : load_merged(found, n, context, out);
        }
    } else if (home && *home) {
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT;
        if (strbuf_printf(&p, "%s/.kube/config", home) < 0)
            return err_set(-ENOMEM, "out of memory");
        if (access(strbuf_str(&p), F_OK) == 0) {
            strbuf_free(&tried);
            return kube_config_load_file(strbuf_str(&p), context, out);
        }
        strbuf_printf(&tried, "%s", strbuf_str(&p));
    }
    if (getenv("KUBERNETES_SERVICE_HOST")) {
        strbuf_free(&tried);
        return kube_config_in_cluster(getenv("KUBE_SA_DIR"), out);
    }
    r = err_set(-ENOENT,
                "no Kubernetes configuration: tried %s; not in a cluster "
                "(KUBERNETES_SERVICE_HOST not set)",
                tried.len ? strbuf_str(&tried) : "nothing (HOME not set)");
    strbuf_free(&tried);
    return r;
}
