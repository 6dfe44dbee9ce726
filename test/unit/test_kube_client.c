/* Unit tests for the REST client pieces that need no API server (src/kube/client.c): the
 * client-side rate limiter, jittered backoff, Status -> errno mapping, API paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/kube/kube_internal.h"
#include "istrigger/kube/client.h"
#include "istrigger/kube/resources.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

static int requests_seen;
static void count_request(const char *verb, const char *resource, int code)
{
    (void)verb;
    (void)resource;
    (void)code;
    requests_seen++;
}

/* Port 1 on loopback refuses connections at once, so each request costs ~nothing but the
 * rate limiter's wait. */
static void test_rate_limiter_allows_burst_then_qps(void **state)
{
    struct kube_config cfg = {.server = "http://127.0.0.1:1"};
    struct kube_client_opts opts = {
        .qps = 50, .burst = 5, .max_retries = -1, .on_request = count_request};
    struct kube_client *c;
    (void)state;
    assert_int_equal(kube_client_new(&cfg, &opts, &c), 0);
    requests_seen = 0;
    int64_t t0 = time_mono_ns();
    for (int i = 0; i < 5; i++)
        assert_int_equal(kube_get(c, KUBE_RES_CONFIGMAPS, "ns", "x", NULL, NULL), -ECONNREFUSED);
    int64_t burst_took = time_mono_ns() - t0;
    assert_true(burst_took < 100 * NS_PER_MS);
    for (int i = 0; i < 10; i++)
        kube_get(c, KUBE_RES_CONFIGMAPS, "ns", "x", NULL, NULL);
    int64_t took = time_mono_ns() - t0;
    /* 10 requests beyond the burst at 50/s need >= 200ms (minus what refilled meanwhile). */
    assert_true(took >= 180 * NS_PER_MS);
    assert_true(took < 1000 * NS_PER_MS);
    assert_int_equal(requests_seen, 15);
    assert_non_null(strstr(err_msg(), "get configmaps ns/x"));
    assert_int_equal(kube_last_status()->http_code, 0);
    kube_client_free(c);
}

static void test_connect_failures_retry_with_backoff_then_cancel(void **state)
{
    struct kube_config cfg = {.server = "http://127.0.0.1:1"};
    struct kube_client_opts opts = {.qps = 1000,
                                    .burst = 1000,
                                    .max_retries = 3,
                                    .retry_base_ns = 40 * NS_PER_MS,
                                    .on_request = count_request};
    struct kube_client *c;
    (void)state;
    assert_int_equal(kube_client_new(&cfg, &opts, &c), 0);
    requests_seen = 0;
    int64_t t0 = time_mono_ns();
    assert_int_equal(kube_get(c, KUBE_RES_NAMESPACES, NULL, "x", NULL, NULL), -ECONNREFUSED);
    int64_t took = time_mono_ns() - t0;
    assert_int_equal(requests_seen, 4);
    /* Waits of [20,40] + [40,80] + [80,160] ms. */
    assert_true(took >= 140 * NS_PER_MS);
    assert_true(took < 800 * NS_PER_MS);
    kube_client_cancel(c);
    assert_int_equal(kube_get(c, KUBE_RES_NAMESPACES, NULL, "x", NULL, NULL), -ECANCELED);
    kube_client_free(c);
}

static void test_backoff_doubles_with_jitter_and_caps(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        int64_t d0 = kube_backoff_ns(100, 10000, 0);
        int64_t d3 = kube_backoff_ns(100, 10000, 3);
        int64_t d20 = kube_backoff_ns(100, 10000, 20);
        assert_true(d0 >= 50 && d0 <= 100);
        assert_true(d3 >= 400 && d3 <= 800);
        assert_true(d20 >= 5000 && d20 <= 10000);
    }
}

static void test_status_objects_map_to_errno(void **state)
{
    static const struct {
        int code;
        const char *reason;
        int want;
    } cases[] = {
        {404, "NotFound", -ENOENT},        {401, "Unauthorized", -EACCES},
        {403, "Forbidden", -EPERM},        {409, "AlreadyExists", -EEXIST},
        {409, "Conflict", -ESTALE},        {422, "Invalid", -EINVAL},
        {400, "BadRequest", -EINVAL},      {410, "Expired", -ENODATA},
        {429, "TooManyRequests", -EAGAIN}, {500, "InternalError", -EIO},
        {504, "Timeout", -ETIMEDOUT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *st =
            json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "status", "Failure", "reason",
                      cases[i].reason, "message", "the message", "code", cases[i].code);
        assert_int_equal(kube_status_error(cases[i].code, st, NULL, 0), cases[i].want);
        assert_string_equal(kube_last_status()->reason, cases[i].reason);
        assert_string_equal(kube_last_status()->message, "the message");
        assert_int_equal(kube_last_status()->http_code, cases[i].code);
        json_decref(st);
    }
    /* A non-Status body (a proxy's HTML page) keeps the code and shows the text. */
    assert_int_equal(kube_status_error(502, NULL, "<html>bad gateway</html>", 24), -EIO);
    assert_string_equal(err_msg(), "502 : <html>bad gateway</html>");
}

static void test_resource_paths(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    char buf[128];
    (void)state;
    kube_resource_path(&sb, KUBE_RES_DEPLOYMENTS, "web", "app", "status");
    assert_string_equal(strbuf_str(&sb), "/apis/apps/v1/namespaces/web/deployments/app/status");
    strbuf_reset(&sb);
    kube_resource_path(&sb, KUBE_RES_CONFIGMAPS, NULL, NULL, NULL);
    assert_string_equal(strbuf_str(&sb), "/api/v1/configmaps");
    strbuf_reset(&sb);
    kube_resource_path(&sb, KUBE_RES_IMAGETRIGGERCONFIGS, "ignored", "cluster", NULL);
    assert_string_equal(strbuf_str(&sb), "/apis/istrigger.io/v1alpha1/imagetriggerconfigs/cluster");
    strbuf_reset(&sb);
    kube_resource_path(&sb, KUBE_RES_IMAGESTREAMTAGS, "ns", "app:1.0", NULL);
    assert_string_equal(strbuf_str(&sb),
                        "/apis/image.openshift.io/v1/namespaces/ns/imagestreamtags/app%3A1.0");
    strbuf_free(&sb);
    assert_string_equal(kube_resource_name(KUBE_RES_LEASES, buf, sizeof(buf)),
                        "leases.coordination.k8s.io");
    assert_string_equal(kube_resource_api_version(KUBE_RES_SECRETS, buf, sizeof(buf)), "v1");
    assert_ptr_equal(kube_resource_lookup("deployments.apps"), KUBE_RES_DEPLOYMENTS);
    assert_ptr_equal(kube_resource_lookup("configmaps"), KUBE_RES_CONFIGMAPS);
    assert_null(kube_resource_lookup("widgets"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limiter_allows_burst_then_qps),
        cmocka_unit_test(test_connect_failures_retry_with_backoff_then_cancel),
        cmocka_unit_test(test_backoff_doubles_with_jitter_and_caps),
        cmocka_unit_test(test_status_objects_map_to_errno),
        cmocka_unit_test(test_resource_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
