/*
 * Tests of the HTTP listener against real sockets: libmicrohttpd serving on 127.0.0.1 with a
 * free port, libcurl as the client. Covers the built-in routes, auth answers (401/403 that say
 * nothing, open probes), the JSON API over fake providers, and TLS with certificate reload
 * (certificates made by the openssl command line in a temporary directory).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "istrigger/http/metrics.h"
#include "istrigger/http/server.h"
#include "istrigger/http/status.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"

struct reply {
    long code;
    struct strbuf body;
    struct strbuf headers;
    char content_type[128];
    int curl_err;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    strbuf_append(ud, p, size * n);
    return size * n;
}

/* GET (or `method`) https?://127.0.0.1:PORT/PATH with an optional bearer token and CA. */
static void request(struct reply *r, const char *scheme, unsigned port, const char *method,
                    const char *path, const char *token, const char *ca)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512], auth[256];
    char *ct = NULL;

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", scheme, port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    r->curl_err = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void reply_free(struct reply *r)
{
    strbuf_free(&r->body);
    strbuf_free(&r->headers);
}

static json_t *fake_sources(void *ctx)
{
    (void)ctx;
    static const char s[] =
        "[{\"source\":\"registry.example:5000/team/api:v2\",\"registry\":\"registry.example:5000\","
        "\"interval\":\"1m\",\"state\":\"Failing\",\"reason\":\"Unauthorized\","
        "\"message\":\"HEAD manifest: 401 <script>alert(1)</script>\",\"consecutiveFailures\":4,"
        "\"tags\":[{\"namespace\":\"shop\",\"imageStream\":\"api\",\"tag\":\"v2\"}]},"
        "{\"source\":\"registry.example:5000/team/web:latest\",\"interval\":\"30s\","
        "\"state\":\"UpToDate\",\"lastDigest\":\"sha256:0123456789abcdef0123\","
        "\"tags\":[{\"namespace\":\"shop\",\"imageStream\":\"web\",\"tag\":\"latest\"}]}]";
    return jsonx_loadb(s, sizeof(s) - 1, "fake sources");
}

static json_t *fake_triggers(void *ctx)
{
    (void)ctx;
    static const char s[] =
        "[{\"namespace\":\"shop\",\"name\":\"web\",\"target\":{\"kind\":\"Deployment\","
        "\"name\":\"web\"},\"triggers\":[{\"from\":{\"name\":\"web:latest\"},\"containers\":"
        "[\"web\"],\"paused\":false}],\"ready\":true}]";
    return jsonx_loadb(s, sizeof(s) - 1, "fake triggers");
}

/* Fake API server: "good" is alice, allowed on /metrics and on resource
 * imagetriggerconfigs.istrigger.io; "bob" is authenticated, allowed nothing. */
static int fake_create(void *ctx, const char *review, const json_t *req, json_t **reply)
{
    (void)ctx;
    if (strcmp(review, "tokenreviews") == 0) {
        const char *tok = jsonx_str(req, "spec", "token");
        const char *user = !strcmp(tok, "good") ? "alice" : !strcmp(tok, "bob") ? "bob" : NULL;
        *reply = user ? json_pack("{s:{s:b,s:{s:s}}}", "status", "authenticated", 1, "user",
                                  "username", user)
                      : json_pack("{s:{s:b}}", "status", "authenticated", 0);
        return 0;
    }
    const char *path = jsonx_str(req, "spec", "nonResourceAttributes", "path");
    const char *res = jsonx_str(req, "spec", "resourceAttributes", "resource");
    bool alice = strcmp(jsonx_str(req, "spec", "user"), "alice") == 0;
    bool allowed = alice && ((path && strcmp(path, "/metrics") == 0) ||
                             (res && strcmp(res, "imagetriggerconfigs") == 0));
    *reply = json_pack("{s:{s:b}}", "status", "allowed", allowed);
    return 0;
}

static bool check_synced(void *ctx, struct strbuf *why)
{
    if (*(bool *)ctx)
        return true;
    strbuf_puts(why, "cache of imagestreams not synced");
    return false;
}

static struct http_server *start(enum http_auth_mode auth, const struct http_auth_resource *res,
                                 const char *cert, const char *key)
{
    struct http_server_opts o;
    struct http_server *srv = NULL;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.auth = auth;
    o.auth_backend.create = fake_create;
    o.page_resource = res;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    o.threads = 2;
    int r = http_server_start(&o, &srv);
    if (r < 0)
        fprintf(stderr, "http_server_start: %s\n", err_msg());
    assert_int_equal(r, 0);
    assert_true(http_server_port(srv) > 0);
    return srv;
}

static int setup(void **state)
{
    (void)state;
    metrics_reset();
    status_reset();
    status_register_provider("sources", fake_sources, NULL);
    status_register_provider("imagetriggers", fake_triggers, NULL);
    return 0;
}

static void test_probes_metrics_page_and_api_without_auth(void **state)
{
    struct http_server *srv = start(HTTP_AUTH_NONE, NULL, NULL, NULL);
    unsigned port = http_server_port(srv);
    struct reply r;
    (void)state;

    request(&r, "http", port, NULL, "/healthz", NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(strbuf_str(&r.body), "ok\n");
    reply_free(&r);

    request(&r, "http", port, NULL, "/readyz", NULL, NULL);
    assert_int_equal(r.code, 503);
    assert_string_equal(strbuf_str(&r.body), "not ready: starting\n");
    reply_free(&r);
    status_set_ready(true);
    request(&r, "http", port, NULL, "/readyz", NULL, NULL);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    /* A registered check that fails makes the probe fail and say which and why. */
    static bool synced;
    assert_int_equal(status_add_ready_check("informers", check_synced, &synced), 0);
    request(&r, "http", port, NULL, "/readyz", NULL, NULL);
    assert_int_equal(r.code, 503);
    assert_string_equal(strbuf_str(&r.body),
                        "not ready: informers: cache of imagestreams not synced\n");
    reply_free(&r);
    synced = true;
    request(&r, "http", port, NULL, "/readyz", NULL, NULL);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    /* A removed check is not asked any more (its owner may free what it reads). */
    synced = false;
    status_remove_ready_check("informers");
    request(&r, "http", port, NULL, "/readyz", NULL, NULL);
    assert_int_equal(r.code, 200);
    reply_free(&r);

    request(&r, "http", port, NULL, "/metrics", NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.content_type, METRICS_CONTENT_TYPE);
    assert_non_null(strstr(strbuf_str(&r.body),
                           "istrigger_http_requests_total{handler=\"/readyz\",code=\"503\"} 2\n"));
    assert_non_null(strstr(strbuf_str(&r.body), "istrigger_build_info{version=\""));
    reply_free(&r);

    request(&r, "http", port, NULL, "/", NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    const char *html = strbuf_str(&r.body);
    assert_non_null(strstr(html, "registry.example:5000/team/api:v2"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_null(strstr(html, "<script>alert(1)"));
    assert_non_null(strstr(html, "<code>Deployment/web</code>"));
    /* failures first */
    assert_true(strstr(html, "team/api:v2") < strstr(html, "team/web:latest"));
    assert_non_null(strstr(strbuf_str(&r.headers), "Content-Security-Policy: default-src 'none'"));
    reply_free(&r);

    request(&r, "http", port, NULL, "/api/v1/", NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(strbuf_str(&r.body),
                        "{\"kind\":\"Index\",\"resources\":[\"imagetriggers\",\"sources\","
                        "\"status\"]}\n");
    reply_free(&r);

    request(&r, "http", port, NULL, "/api/v1/sources", NULL, NULL);
    assert_int_equal(r.code, 200);
    _cleanup_json_ json_t *j = jsonx_loadb(r.body.buf, r.body.len, "reply");
    assert_string_equal(jsonx_str(j, "kind"), "sources");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    reply_free(&r);

    request(&r, "http", port, NULL, "/api/v1/status", NULL, NULL);
    assert_int_equal(r.code, 200);
    _cleanup_json_ json_t *m = jsonx_loadb(r.body.buf, r.body.len, "reply");
    assert_int_equal(jsonx_int(m, -1, "summary", "Failing"), 1);
    assert_int_equal(jsonx_int(m, -1, "summary", "UpToDate"), 1);
    assert_string_equal(jsonx_str(json_array_get(json_object_get(m, "rows"), 0), "state"),
                        "Failing");
    assert_non_null(strstr(jsonx_str(m, "html"), "Deployment/web"));
    reply_free(&r);

    request(&r, "http", port, NULL, "/api/v1/nothing", NULL, NULL);
    assert_int_equal(r.code, 404);
    reply_free(&r);
    request(&r, "http", port, NULL, "/nothing", NULL, NULL);
    assert_int_equal(r.code, 404);
    reply_free(&r);
    request(&r, "http", port, "POST", "/metrics", NULL, NULL);
    assert_int_equal(r.code, 405);
    reply_free(&r);
    http_server_stop(srv);
}

static void test_kubernetes_auth_401_403_200_and_open_probes(void **state)
{
    struct http_server *srv = start(HTTP_AUTH_KUBERNETES, NULL, NULL, NULL);
    unsigned port = http_server_port(srv);
    struct reply r;
    (void)state;

    request(&r, "http", port, NULL, "/healthz", NULL, NULL);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    request(&r, "http", port, NULL, "/readyz", NULL, NULL);
    assert_int_equal(r.code, 503); /* open, just not ready */
    reply_free(&r);

    request(&r, "http", port, NULL, "/metrics", NULL, NULL);
    assert_int_equal(r.code, 401);
    assert_string_equal(strbuf_str(&r.body), "Unauthorized\n");
    assert_non_null(strstr(strbuf_str(&r.headers), "WWW-Authenticate: Bearer"));
    reply_free(&r);
    request(&r, "http", port, NULL, "/metrics", "wrong", NULL);
    assert_int_equal(r.code, 401);
    assert_string_equal(strbuf_str(&r.body), "Unauthorized\n");
    reply_free(&r);
    request(&r, "http", port, NULL, "/metrics", "bob", NULL);
    assert_int_equal(r.code, 403);
    assert_string_equal(strbuf_str(&r.body), "Forbidden\n");
    reply_free(&r);
    request(&r, "http", port, NULL, "/metrics", "good", NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(strbuf_str(&r.body), "# TYPE istrigger_http_requests_total counter"));
    reply_free(&r);
    /* The page is another non-resource URL alice has no grant for; unknown paths do not
     * reveal that they do not exist. */
    request(&r, "http", port, NULL, "/", "good", NULL);
    assert_int_equal(r.code, 403);
    reply_free(&r);
    request(&r, "http", port, NULL, "/api/v1/sources", NULL, NULL);
    assert_int_equal(r.code, 401);
    assert_null(strstr(strbuf_str(&r.body), "registry.example"));
    reply_free(&r);
    request(&r, "http", port, NULL, "/secret-path", NULL, NULL);
    assert_int_equal(r.code, 401);
    reply_free(&r);
    http_server_stop(srv);

    /* With a resource attribute for the page and the API, alice may read them. */
    struct http_auth_resource res;
    _cleanup_free_ char *st = NULL;
    assert_int_equal(http_auth_parse_resource("imagetriggerconfigs.istrigger.io", &res, &st), 0);
    srv = start(HTTP_AUTH_KUBERNETES, &res, NULL, NULL);
    port = http_server_port(srv);
    request(&r, "http", port, NULL, "/", "good", NULL);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    request(&r, "http", port, NULL, "/api/v1/imagetriggers", "good", NULL);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    request(&r, "http", port, NULL, "/", "bob", NULL);
    assert_int_equal(r.code, 403);
    reply_free(&r);
    request(&r, "http", port, NULL, "/metrics", "good", NULL); /* still the URL for metrics */
    assert_int_equal(r.code, 200);
    reply_free(&r);
    http_server_stop(srv);
}

static char tmpdir[64];

static void make_cert(const char *name, const char *cn)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=%s -addext subjectAltName=IP:127.0.0.1 -keyout %s/%s.key -out %s/%s.crt "
             "2>/dev/null",
             cn, tmpdir, name, tmpdir, name);
    assert_int_equal(system(cmd), 0);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp %s %s.tmp && mv %s.tmp %s", from, to, to, to);
    assert_int_equal(system(cmd), 0);
}

static void test_tls_serves_and_reloads_certificate(void **state)
{
    char crt[128], key[128], a_crt[128], a_key[128], b_crt[128], b_key[128];
    struct reply r;
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/istrigger-tls-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    make_cert("a", "first");
    make_cert("b", "second");
    snprintf(crt, sizeof(crt), "%s/tls.crt", tmpdir);
    snprintf(key, sizeof(key), "%s/tls.key", tmpdir);
    snprintf(a_crt, sizeof(a_crt), "%s/a.crt", tmpdir);
    snprintf(a_key, sizeof(a_key), "%s/a.key", tmpdir);
    snprintf(b_crt, sizeof(b_crt), "%s/b.crt", tmpdir);
    snprintf(b_key, sizeof(b_key), "%s/b.key", tmpdir);
    copy_file(a_crt, crt);
    copy_file(a_key, key);

    struct http_server *srv = start(HTTP_AUTH_NONE, NULL, crt, key);
    unsigned port = http_server_port(srv);
    request(&r, "https", port, NULL, "/healthz", NULL, a_crt);
    assert_int_equal(r.curl_err, CURLE_OK);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    request(&r, "https", port, NULL, "/healthz", NULL, b_crt);
    assert_int_not_equal(r.curl_err, CURLE_OK); /* not trusted: it is a's certificate */
    reply_free(&r);
    request(&r, "http", port, NULL, "/healthz", NULL, NULL);
    assert_true(r.code != 200);
    reply_free(&r);

    /* Unchanged files: nothing to do. A mismatched pair is refused and a keeps serving. */
    assert_int_equal(http_server_reload_tls(srv), 0);
    copy_file(b_crt, crt);
    assert_int_equal(http_server_reload_tls(srv), -EPROTO);
    request(&r, "https", port, NULL, "/healthz", NULL, a_crt);
    assert_int_equal(r.code, 200);
    reply_free(&r);

    copy_file(b_key, key);
    assert_int_equal(http_server_reload_tls(srv), 1);
    request(&r, "https", port, NULL, "/healthz", NULL, b_crt);
    assert_int_equal(r.curl_err, CURLE_OK);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    request(&r, "https", port, NULL, "/healthz", NULL, a_crt);
    assert_int_not_equal(r.curl_err, CURLE_OK);
    reply_free(&r);
    http_server_stop(srv);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static void test_listen_address_parsing_and_bad_tls_files(void **state)
{
    char host[64];
    unsigned port;
    struct http_server_opts o;
    struct http_server *srv = NULL;
    (void)state;
    assert_int_equal(http_parse_listen(":8443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 8443);
    assert_int_equal(http_parse_listen("127.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(http_parse_listen("[::1]:9", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(http_parse_listen("8443", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(http_parse_listen(":99999", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(http_parse_listen("::1:80", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(http_parse_listen("a:", host, sizeof(host), &port), -EINVAL);

    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.tls_cert_file = "/nonexistent/tls.crt";
    o.tls_key_file = "/nonexistent/tls.key";
    assert_int_equal(http_server_start(&o, &srv), -ENOENT);
    assert_non_null(strstr(err_msg(), "/nonexistent/tls.crt"));
    o.tls_key_file = NULL;
    assert_int_equal(http_server_start(&o, &srv), -EINVAL);
    o.tls_cert_file = NULL;
    o.auth = HTTP_AUTH_KUBERNETES; /* without a backend */
    assert_int_equal(http_server_start(&o, &srv), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_probes_metrics_page_and_api_without_auth, setup),
        cmocka_unit_test_setup(test_kubernetes_auth_401_403_200_and_open_probes, setup),
        cmocka_unit_test_setup(test_tls_serves_and_reloads_certificate, setup),
        cmocka_unit_test_setup(test_listen_address_parsing_and_bad_tls_files, setup),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_configure(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT);
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    status_reset();
    metrics_reset();
    curl_global_cleanup();
    return r;
}
