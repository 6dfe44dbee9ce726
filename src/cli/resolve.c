/*
 * resolve.c - `istrigger resolve`: print the manifest digest a registry serves for each image,
 * with the same registry client (auth, TLS, digests) the operator uses. All images are
 * resolved concurrently in one curl multi batch over shared connections; output is one line
 * per image in the order given.
 */
#include "istrigger/cli/cli.h"

#include "istrigger/registry/client.h"
#include "istrigger/registry/keyring.h"
#include "istrigger/registry/ref.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/duration.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void resolve_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: istrigger resolve [OPTIONS] IMAGE...\n"
        "\n"
        "Print the manifest digest the registry serves for each IMAGE, one line per image in\n"
        "the order given, asking the registry the way OpenShift's importer does (HEAD with\n"
        "the OCI/Docker Accept list, bearer-token or basic auth, digest verification).\n"
        "Images are resolved concurrently over reused connections. IMAGE is a reference\n"
        "such as nginx:1.25, quay.io/org/app:v1 or 127.0.0.1:5000/app@sha256:...\n"
        "\n"
        "Options:\n"
        "  --authfile FILE     credentials: containers auth.json, docker config.json,\n"
        "                      .dockerconfigjson or .dockercfg content (env REGISTRY_AUTH_FILE)\n"
        "  --ca-file FILE      extra CA bundle (PEM) trusted besides the system store\n"
        "  --cert-file FILE    TLS client certificate (PEM), with --key-file FILE\n"
        "  --insecure          allow plain HTTP and skip TLS verification (importPolicy.insecure)\n"
        "  --platform OS/ARCH[/VARIANT]\n"
        "                      for an image index, print the digest of that platform's child\n"
        "                      (an image that is not an index is printed as it is)\n"
        "  --json              print one JSON object per image: digest, mediaType, and for an\n"
        "                      index its children with platforms (errors as {\"error\": ...})\n"
        "  --tags              list each repository's tags instead (Link pagination followed)\n"
        "  --tags-page-size N  with --tags, ask for N tags per page (default: the registry's)\n"
        "  --max-in-flight N   concurrent checks (default 16)\n"
        "  --timeout DURATION  give up on what is not resolved after DURATION (e.g. 30s)\n"
        "  --images-from FILE  read more images from FILE, one per line ('-' = stdin)\n"
        "  -v, --log-level L, --log-format F   logging on stderr\n"
        "\n"
        "Exit status: 0 when every image resolved; 1 when any failed (a one-line reason per\n"
        "failed image on stderr); 2 on bad usage.\n");
}

struct item {
    struct image_ref ref;
    const char *arg;
    struct registry_result res;
    bool done;
};

static void on_done(void *ctx, const struct registry_result *r)
{
    struct item *it = ctx;
    if (registry_result_copy(&it->res, r) < 0) {
        it->res.err = -ENOMEM;
        snprintf(it->res.error, sizeof(it->res.error), "out of memory");
    }
    it->done = true;
}

static int read_images(const char *path, char ***list, size_t *n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (!f)
        return err_set(-errno, "reading %s: %s", path, strerror(errno));
    while ((len = getline(&line, &cap, f)) >= 0) {
        char **nl;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        nl = realloc(*list, (*n + 1) * sizeof(**list));
        if (!nl || !(nl[*n] = strdup(line))) {
            *list = nl ? nl : *list;
            free(line);
            if (f != stdin)
                fclose(f);
            return err_set(-ENOMEM, "out of memory");
        }
        *list = nl;
        (*n)++;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return 0;
}

static void print_json(const struct item *it)
{
    _cleanup_json_ json_t *o = json_object();
    _cleanup_free_ char *name = it->ref.registry ? image_ref_format(&it->ref) : NULL;
    _cleanup_free_ char *s = NULL;

    json_object_set_new(o, "image", json_string(it->arg));
    if (name)
        json_object_set_new(o, "reference", json_string(name));
    if (it->res.err) {
        json_object_set_new(o, "error", json_string(it->res.error));
        json_object_set_new(o, "code", json_string(err_name(it->res.err)));
        if (it->res.http_status)
            json_object_set_new(o, "httpStatus", json_integer(it->res.http_status));
        if (it->res.retry_after_ns)
            json_object_set_new(o, "retryAfterSeconds",
                                json_integer(it->res.retry_after_ns / NS_PER_SEC));
    } else {
        json_object_set_new(o, "digest", json_string(it->res.digest));
        if (it->res.media_type)
            json_object_set_new(o, "mediaType", json_string(it->res.media_type));
        if (it->res.index_digest)
            json_object_set_new(o, "indexDigest", json_string(it->res.index_digest));
        if (it->res.children)
            json_object_set(o, "manifests", it->res.children);
    }
    s = jsonx_dump(o);
    printf("%s\n", s ? s : "{}");
}

static int list_tags(struct registry_client *client, struct item *items, size_t n,
                     const struct registry_request_opts *base, const struct keyring *kr, bool json)
{
    int failed = 0;

    for (size_t i = 0; i < n; i++) {
        struct registry_request_opts o = *base;
        _cleanup_json_ json_t *tags = NULL;
        size_t k;
        json_t *t;

        if (!items[i].ref.registry)
            continue;
        o.cred = keyring_lookup(kr, &items[i].ref);
        if (registry_list_tags(client, &items[i].ref, &o, &tags) < 0) {
            fprintf(stderr, "istrigger: %s\n", err_msg());
            failed++;
            continue;
        }
        if (json) {
            _cleanup_free_ char *s = jsonx_dump(tags);
            printf("%s\n", s ? s : "[]");
            continue;
        }
        json_array_foreach (tags, k, t) {
            printf("%s\n", json_string_value(t));
        }
    }
    return failed;
}

int cli_resolve(int argc, char **argv)
{
    enum {
        OPT_AUTHFILE = 256,
        OPT_CA,
        OPT_CERT,
        OPT_KEY,
        OPT_INSECURE,
        OPT_PLATFORM,
        OPT_JSON,
        OPT_TAGS,
        OPT_PAGE,
        OPT_INFLIGHT,
        OPT_TIMEOUT,
        OPT_FROM
    };
    static const struct option longopts[] = {
        {"authfile", required_argument, NULL, OPT_AUTHFILE},
        {"ca-file", required_argument, NULL, OPT_CA},
        {"cert-file", required_argument, NULL, OPT_CERT},
        {"key-file", required_argument, NULL, OPT_KEY},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"json", no_argument, NULL, OPT_JSON},
        {"tags", no_argument, NULL, OPT_TAGS},
        {"tags-page-size", required_argument, NULL, OPT_PAGE},
        {"max-in-flight", required_argument, NULL, OPT_INFLIGHT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"images-from", required_argument, NULL, OPT_FROM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *authfile = getenv("REGISTRY_AUTH_FILE"), *from = NULL;
    struct registry_request_opts ro = {0};
    struct registry_client_opts copts = {0};
    bool json = false, tags = false;
    int in_flight = 16, opt, failed = 0;
    int64_t timeout_ns = 0;
    char **extra = NULL;
    size_t n_extra = 0, n = 0;
    struct keyring *kr = NULL;
    struct registry_client *client = NULL;
    struct registry_batch *batch = NULL;
    struct item *items = NULL;
    int rc = 2;

    if (cli_take_log_flags(&argc, argv) < 0) {
        fprintf(stderr, "istrigger resolve: %s\n", err_msg());
        return 2;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_AUTHFILE:
            authfile = optarg;
            break;
        case OPT_CA:
            ro.ca_file = optarg;
            break;
        case OPT_CERT:
            ro.client_cert_file = optarg;
            break;
        case OPT_KEY:
            ro.client_key_file = optarg;
            break;
        case OPT_INSECURE:
            ro.insecure = true;
            break;
        case OPT_PLATFORM:
            ro.platform = optarg;
            break;
        case OPT_JSON:
            json = true;
            ro.children = true;
            break;
        case OPT_TAGS:
            tags = true;
            break;
        case OPT_PAGE:
            copts.tags_page_size = atoi(optarg);
            if (copts.tags_page_size < 1) {
                fprintf(stderr, "istrigger resolve: --tags-page-size must be positive\n");
                return 2;
            }
            break;
        case OPT_INFLIGHT:
            in_flight = atoi(optarg);
            if (in_flight < 1 || in_flight > 1024) {
                fprintf(stderr, "istrigger resolve: --max-in-flight must be 1..1024\n");
                return 2;
            }
            break;
        case OPT_TIMEOUT:
            if (duration_parse(optarg, &timeout_ns) < 0 || timeout_ns <= 0) {
                fprintf(stderr, "istrigger resolve: --timeout: %s\n",
                        timeout_ns <= 0 && !err_msg()[0] ? "must be positive" : err_msg());
                return 2;
            }
            break;
        case OPT_FROM:
            from = optarg;
            break;
        case 'h':
            resolve_usage(stdout);
            return 0;
        default:
            resolve_usage(stderr);
            return 2;
        }
    }
    if (from && read_images(from, &extra, &n_extra) < 0) {
        fprintf(stderr, "istrigger resolve: %s\n", err_msg());
        goto out;
    }
    n = (size_t)(argc - optind) + n_extra;
    if (n == 0) {
        fprintf(stderr, "istrigger resolve: no IMAGE given (see --help)\n");
        goto out;
    }
    if (ro.platform && strchr(ro.platform, '/') == NULL) {
        fprintf(stderr, "istrigger resolve: --platform must be OS/ARCH[/VARIANT], got \"%s\"\n",
                ro.platform);
        goto out;
    }
    if (!(kr = keyring_new()) || !(items = calloc(n, sizeof(*items)))) {
        fprintf(stderr, "istrigger resolve: out of memory\n");
        goto out;
    }
    if (authfile && *authfile && keyring_add_file(kr, authfile) < 0) {
        fprintf(stderr, "istrigger resolve: --authfile: %s\n", err_msg());
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t na = (size_t)(argc - optind);
        items[i].arg = i < na ? argv[optind + (int)i] : extra[i - na];
        if (image_ref_parse(items[i].arg, &items[i].ref) < 0) {
            items[i].res.err = err_code();
            snprintf(items[i].res.error, sizeof(items[i].res.error), "%s", err_msg());
            items[i].done = true;
        }
    }
    if (registry_client_new(&copts, &client) < 0) {
        fprintf(stderr, "istrigger resolve: %s\n", err_msg());
        rc = 1;
        goto out;
    }
    if (tags) {
        for (size_t i = 0; i < n; i++) {
            if (items[i].res.err) {
                fprintf(stderr, "istrigger: %s\n", items[i].res.error);
                failed++;
            }
        }
        failed += list_tags(client, items, n, &ro, kr, json);
        rc = failed ? 1 : 0;
        goto out;
    }
    batch = registry_batch_new(client, in_flight);
    if (!batch) {
        fprintf(stderr, "istrigger resolve: out of memory\n");
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct registry_request_opts o = ro;
        if (items[i].done)
            continue;
        o.cred = keyring_lookup(kr, &items[i].ref);
        if (o.cred)
            log_debug(items[i].arg, "using credentials from %s (entry %s)", o.cred->source,
                      o.cred->key);
        if (registry_batch_add(batch, &items[i].ref, &o, on_done, &items[i]) < 0) {
            fprintf(stderr, "istrigger resolve: %s\n", err_msg());
            rc = 1;
            goto out;
        }
    }
    registry_batch_run(batch, timeout_ns);
    for (size_t i = 0; i < n; i++) {
        if (json)
            print_json(&items[i]);
        else if (!items[i].res.err)
            printf("%s\n", items[i].res.digest);
        if (items[i].res.err) {
            if (!json)
                fprintf(stderr, "istrigger: %s\n", items[i].res.error);
            failed++;
        }
    }
    if (log_enabled(LOG_LEVEL_DEBUG)) {
        struct registry_client_stats st;
        registry_client_get_stats(client, &st);
        log_debug(NULL,
                  "resolved %zu images: %llu requests, %llu new connections, %llu pings, "
                  "%llu token requests",
                  n, (unsigned long long)st.requests, (unsigned long long)st.connects,
                  (unsigned long long)st.pings, (unsigned long long)st.tokens);
    }
    rc = failed ? 1 : 0;
out:
    fflush(stdout);
    registry_batch_free(batch);
    registry_client_free(client);
    if (items) {
        for (size_t i = 0; i < n; i++) {
            image_ref_free(&items[i].ref);
            registry_result_clear(&items[i].res);
        }
    }
    free(items);
    keyring_free(kr);
    for (size_t i = 0; i < n_extra; i++)
        free(extra[i]);
    free(extra);
    return rc;
}
