/*
 * Unit tests for the HTTP auth decisions: bearer parsing, the TokenReview and
 * SubjectAccessReview objects we send, the verdict for every combination of replies, and the
 * cache (a fake backend records what it was asked and answers like the API server).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/http/auth.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

static json_t *load(const char *s)
{
    json_t *j = jsonx_loadb(s, strlen(s), "test");
    assert_non_null(j);
    return j;
}

static void test_bearer_token_parsing(void **state)
{
    size_t len = 0;
    const char *t;
    (void)state;
    t = http_auth_bearer_token("Bearer abc.def-ghi", &len);
    assert_non_null(t);
    assert_int_equal(len, 11);
    assert_memory_equal(t, "abc.def-ghi", 11);
    t = http_auth_bearer_token("bearer   tok  ", &len);
    assert_non_null(t);
    assert_int_equal(len, 3);
    assert_null(http_auth_bearer_token(NULL, &len));
    assert_null(http_auth_bearer_token("", &len));
    assert_null(http_auth_bearer_token("Bearer", &len));
    assert_null(http_auth_bearer_token("Bearer ", &len));
    assert_null(http_auth_bearer_token("Basic dXNlcjpwYXNz", &len));
    assert_null(http_auth_bearer_token("Bearertok", &len));
    assert_null(http_auth_bearer_token("Bearer two tokens", &len));
    assert_null(http_auth_bearer_token("Bearer tok\x01", &len));
}

static void test_tokenreview_request_carries_the_token(void **state)
{
    (void)state;
    _cleanup_json_ json_t *tr = http_auth_tokenreview_request("secret-token-xyz", 12);
    assert_string_equal(jsonx_str(tr, "apiVersion"), "authentication.k8s.io/v1");
    assert_string_equal(jsonx_str(tr, "kind"), "TokenReview");
    assert_string_equal(jsonx_str(tr, "spec", "token"), "secret-token");
}

static const char TR_OK[] =
    "{\"status\":{\"authenticated\":true,\"user\":{\"username\":"
    "\"system:serviceaccount:openshift-monitoring:prometheus-k8s\",\"uid\":\"u-1\","
    "\"groups\":[\"system:serviceaccounts\",\"system:authenticated\"],"
    "\"extra\":{\"authentication.kubernetes.io/pod-name\":[\"prometheus-k8s-0\"]}}}}";

static void test_sar_request_for_non_resource_url_and_resource(void **state)
{
    (void)state;
    _cleanup_json_ json_t *tr = load(TR_OK);
    _cleanup_json_ json_t *sar = http_auth_sar_request(tr, "/metrics", NULL);
    assert_non_null(sar);
    assert_string_equal(jsonx_str(sar, "apiVersion"), "authorization.k8s.io/v1");
    assert_string_equal(jsonx_str(sar, "kind"), "SubjectAccessReview");
    assert_string_equal(jsonx_str(sar, "spec", "user"),
                        "system:serviceaccount:openshift-monitoring:prometheus-k8s");
    assert_string_equal(jsonx_str(sar, "spec", "uid"), "u-1");
    assert_int_equal(json_array_size(jsonx_get(sar, "spec", "groups")), 2);
    assert_non_null(jsonx_get(sar, "spec", "extra", "authentication.kubernetes.io/pod-name"));
    assert_string_equal(jsonx_str(sar, "spec", "nonResourceAttributes", "path"), "/metrics");
    assert_string_equal(jsonx_str(sar, "spec", "nonResourceAttributes", "verb"), "get");
    assert_null(jsonx_get(sar, "spec", "resourceAttributes"));

    struct http_auth_resource res;
    _cleanup_free_ char *storage = NULL;
    assert_int_equal(http_auth_parse_resource("imagetriggerconfigs.istrigger.io", &res, &storage),
                     0);
    _cleanup_json_ json_t *sar2 = http_auth_sar_request(tr, "/", &res);
    assert_string_equal(jsonx_str(sar2, "spec", "resourceAttributes", "verb"), "get");
    assert_string_equal(jsonx_str(sar2, "spec", "resourceAttributes", "group"), "istrigger.io");
    assert_string_equal(jsonx_str(sar2, "spec", "resourceAttributes", "resource"),
                        "imagetriggerconfigs");
    assert_null(jsonx_get(sar2, "spec", "nonResourceAttributes"));

    _cleanup_json_ json_t *anon = load("{\"status\":{\"authenticated\":false}}");
    assert_null(http_auth_sar_request(anon, "/metrics", NULL));
}

static void test_parse_resource_attribute(void **state)
{
    struct http_auth_resource r;
    char *st = NULL;
    (void)state;
    assert_int_equal(http_auth_parse_resource("list pods/log", &r, &st), 0);
    assert_string_equal(r.verb, "list");
    assert_string_equal(r.resource, "pods");
    assert_string_equal(r.group, "");
    assert_string_equal(r.subresource, "log");
    free(st);
    assert_int_equal(http_auth_parse_resource("", &r, &st), -EINVAL);
    assert_int_equal(http_auth_parse_resource("get ", &r, &st), -EINVAL);
    assert_int_equal(http_auth_parse_resource("get a b", &r, &st), -EINVAL);
    assert_int_equal(http_auth_parse_resource("pods/", &r, &st), -EINVAL);
    assert_null(st);
    enum http_auth_mode m;
    assert_int_equal(http_auth_parse_mode("kubernetes", &m), 0);
    assert_int_equal(m, HTTP_AUTH_KUBERNETES);
    assert_int_equal(http_auth_parse_mode("none", &m), 0);
    assert_int_equal(m, HTTP_AUTH_NONE);
    assert_int_equal(http_auth_parse_mode("None", &m), -EINVAL);
}

static void test_decide_every_outcome(void **state)
{
    (void)state;
    _cleanup_json_ json_t *tr_ok = load(TR_OK);
    _cleanup_json_ json_t *tr_no = load("{\"status\":{\"authenticated\":false,\"error\":\"x\"}}");
    _cleanup_json_ json_t *tr_nouser = load("{\"status\":{\"authenticated\":true,\"user\":{}}}");
    _cleanup_json_ json_t *tr_empty = load("{}");
    _cleanup_json_ json_t *sar_yes = load("{\"status\":{\"allowed\":true}}");
    _cleanup_json_ json_t *sar_no = load("{\"status\":{\"allowed\":false,\"reason\":\"no\"}}");
    _cleanup_json_ json_t *sar_denied = load("{\"status\":{\"allowed\":true,\"denied\":true}}");
    _cleanup_json_ json_t *sar_str = load("{\"status\":{\"allowed\":\"true\"}}");
    char user[64];

    assert_int_equal(http_auth_decide(-ETIMEDOUT, NULL, 0, NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAVAILABLE);
    assert_int_equal(http_auth_decide(-EPERM, NULL, 0, NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAVAILABLE);
    assert_int_equal(http_auth_decide(0, tr_no, 0, NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAUTHENTICATED);
    assert_string_equal(user, "");
    assert_int_equal(http_auth_decide(0, tr_nouser, 0, sar_yes, user, sizeof(user)),
                     HTTP_AUTH_UNAUTHENTICATED);
    assert_int_equal(http_auth_decide(0, tr_empty, 0, sar_yes, user, sizeof(user)),
                     HTTP_AUTH_UNAUTHENTICATED);
    /* Authenticated but no SAR asked: never allow. */
    assert_int_equal(http_auth_decide(0, tr_ok, 0, NULL, user, sizeof(user)), HTTP_AUTH_FORBIDDEN);
    assert_string_equal(user, "system:serviceaccount:openshift-monitoring:prometheus-k8s");
    assert_int_equal(http_auth_decide(0, tr_ok, -EIO, NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAVAILABLE);
    assert_int_equal(http_auth_decide(0, tr_ok, 0, sar_no, user, sizeof(user)),
                     HTTP_AUTH_FORBIDDEN);
    assert_int_equal(http_auth_decide(0, tr_ok, 0, sar_denied, user, sizeof(user)),
                     HTTP_AUTH_FORBIDDEN);
    assert_int_equal(http_auth_decide(0, tr_ok, 0, sar_str, user, sizeof(user)),
                     HTTP_AUTH_FORBIDDEN);
    assert_int_equal(http_auth_decide(0, tr_ok, 0, sar_yes, user, sizeof(user)), HTTP_AUTH_ALLOW);
    assert_int_equal(http_auth_verdict_status(HTTP_AUTH_ALLOW), 200);
    assert_int_equal(http_auth_verdict_status(HTTP_AUTH_UNAUTHENTICATED), 401);
    assert_int_equal(http_auth_verdict_status(HTTP_AUTH_FORBIDDEN), 403);
    assert_int_equal(http_auth_verdict_status(HTTP_AUTH_UNAVAILABLE), 503);
}

/* A fake API server: token "good" is alice (allowed on /metrics only), "bob" is authenticated
 * but never allowed, anything else is rejected; `down` makes every call fail. */
struct fake {
    int tokenreviews, sars;
    bool down;
    char last_path[64];
};

static int fake_create(void *ctx, const char *review, const json_t *req, json_t **reply)
{
    struct fake *f = ctx;
    if (f->down)
        return err_set(-ECONNREFUSED, "connect: refused");
    if (strcmp(review, "tokenreviews") == 0) {
        const char *tok = jsonx_str(req, "spec", "token");
        f->tokenreviews++;
        if (strcmp(tok, "good") == 0)
            *reply = json_pack("{s:{s:b,s:{s:s}}}", "status", "authenticated", 1, "user",
                               "username", "alice");
        else if (strcmp(tok, "bob") == 0)
            *reply = json_pack("{s:{s:b,s:{s:s}}}", "status", "authenticated", 1, "user",
                               "username", "bob");
        else
            *reply = json_pack("{s:{s:b}}", "status", "authenticated", 0);
        return 0;
    }
    assert_string_equal(review, "subjectaccessreviews");
    f->sars++;
    const char *path = jsonx_str(req, "spec", "nonResourceAttributes", "path");
    snprintf(f->last_path, sizeof(f->last_path), "%s", path ? path : "");
    bool allowed = strcmp(jsonx_str(req, "spec", "user"), "alice") == 0 && path &&
                   strcmp(path, "/metrics") == 0;
    *reply = json_pack("{s:{s:b}}", "status", "allowed", allowed);
    return 0;
}

static void test_check_with_fake_api_server_and_cache(void **state)
{
    struct fake f = {0};
    struct http_auth_backend be = {fake_create, &f};
    struct http_auth_cache *c;
    char user[64];
    (void)state;
    assert_int_equal(http_auth_cache_new(30 * NS_PER_SEC, 5 * NS_PER_SEC, 4, &c), 0);

    assert_int_equal(http_auth_check(c, &be, NULL, "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAUTHENTICATED);
    assert_int_equal(f.tokenreviews, 0); /* no token: nobody asked */
    assert_int_equal(http_auth_check(c, &be, "Bearer nope", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAUTHENTICATED);
    assert_int_equal(f.sars, 0);
    assert_int_equal(http_auth_check(c, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_ALLOW);
    assert_string_equal(user, "alice");
    assert_string_equal(f.last_path, "/metrics");
    assert_int_equal(
        http_auth_check(c, &be, "Bearer good", "/api/v1/sources", NULL, user, sizeof(user)),
        HTTP_AUTH_FORBIDDEN);
    assert_int_equal(http_auth_check(c, &be, "Bearer bob", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_FORBIDDEN);
    assert_string_equal(user, "bob");
    int trs = f.tokenreviews, sars = f.sars;
    /* Cached: same answers without asking again. */
    assert_int_equal(http_auth_check(c, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_ALLOW);
    assert_string_equal(user, "alice");
    assert_int_equal(http_auth_check(c, &be, "Bearer bob", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_FORBIDDEN);
    assert_int_equal(http_auth_check(c, &be, "Bearer nope", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAUTHENTICATED);
    assert_int_equal(f.tokenreviews, trs);
    assert_int_equal(f.sars, sars);

    /* API server down: 503, and not cached (a new token must ask). */
    struct http_auth_cache *c2;
    assert_int_equal(http_auth_cache_new(30 * NS_PER_SEC, 5 * NS_PER_SEC, 4, &c2), 0);
    f.down = true;
    assert_int_equal(http_auth_check(c2, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_UNAVAILABLE);
    f.down = false;
    assert_int_equal(http_auth_check(c2, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_ALLOW);
    http_auth_cache_free(c2);

    /* More distinct tokens than entries: still correct (eviction), never a wrong verdict. */
    for (int i = 0; i < 10; i++) {
        char h[32];
        snprintf(h, sizeof(h), "Bearer other%d", i);
        assert_int_equal(http_auth_check(c, &be, h, "/metrics", NULL, user, sizeof(user)),
                         HTTP_AUTH_UNAUTHENTICATED);
    }
    assert_int_equal(http_auth_check(c, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_ALLOW);
    http_auth_cache_free(c);
}

static void test_check_expires_cached_verdicts(void **state)
{
    struct fake f = {0};
    struct http_auth_backend be = {fake_create, &f};
    struct http_auth_cache *c;
    char user[64];
    (void)state;
    assert_int_equal(http_auth_cache_new(50 * NS_PER_MS, 50 * NS_PER_MS, 8, &c), 0);
    assert_int_equal(http_auth_check(c, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_ALLOW);
    assert_int_equal(f.tokenreviews, 1);
    time_sleep_ns(80 * NS_PER_MS);
    assert_int_equal(http_auth_check(c, &be, "Bearer good", "/metrics", NULL, user, sizeof(user)),
                     HTTP_AUTH_ALLOW);
    assert_int_equal(f.tokenreviews, 2);
    http_auth_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_token_parsing),
        cmocka_unit_test(test_tokenreview_request_carries_the_token),
        cmocka_unit_test(test_sar_request_for_non_resource_url_and_resource),
        cmocka_unit_test(test_parse_resource_attribute),
        cmocka_unit_test(test_decide_every_outcome),
        cmocka_unit_test(test_check_with_fake_api_server_and_cache),
        cmocka_unit_test(test_check_expires_cached_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
