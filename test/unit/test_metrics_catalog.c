/*
 * Unit tests for the metrics catalogue: the gauges derived from status snapshots (what the
 * "sources failing" alert and the dashboard read), the registry request hook, and
 * re-registration after a registry reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/http/metrics_catalog.h"
#include "istrigger/http/status.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/jsonx.h"

static json_t *load(const char *s)
{
    json_t *j = jsonx_loadb(s, strlen(s), "test");
    assert_non_null(j);
    return j;
}

static json_t *sources_provider(void *ctx)
{
    return load((const char *)ctx);
}

static void test_tracked_tag_gauges_follow_the_sources_snapshot(void **state)
{
    (void)state;
    metrics_reset();
    status_reset();
    const struct metrics_catalog *c = metrics_catalog();
    static const char two_failing[] =
        "[{\"state\":\"Failing\",\"tags\":[{\"namespace\":\"a\"},{\"namespace\":\"b\"}]},"
        "{\"state\":\"UpToDate\",\"tags\":[{\"namespace\":\"a\"},{\"namespace\":\"a\"},"
        "{\"namespace\":\"a\",\"state\":\"Importing\"}]},"
        "{\"tags\":[{\"namespace\":\"b\"}]}]";
    status_register_provider("sources", sources_provider, (void *)two_failing);
    _cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
    assert_int_equal(metrics_render(&out), 0); /* runs the collector */
    assert_true(metrics_value(c->tracked_tags, "a", "Failing") == 1);
    assert_true(metrics_value(c->tracked_tags, "a", "UpToDate") == 2);
    assert_true(metrics_value(c->tracked_tags, "a", "Importing") == 1); /* the tag's own state */
    assert_true(metrics_value(c->tracked_tags, "b", "Failing") == 1);
    assert_true(metrics_value(c->tracked_tags, "b", "Pending") == 1);
    assert_non_null(
        strstr(strbuf_str(&out), "istrigger_tracked_tags{namespace=\"b\",state=\"UpToDate\"} 0\n"));

    /* Namespace b's stream is gone and a's tag recovered: series follow. */
    static const char recovered[] = "[{\"state\":\"UpToDate\",\"tags\":[{\"namespace\":\"a\"}]}]";
    status_register_provider("sources", sources_provider, (void *)recovered);
    strbuf_reset(&out);
    assert_int_equal(metrics_render(&out), 0);
    assert_true(metrics_value(c->tracked_tags, "a", "Failing") == 0);
    assert_true(metrics_value(c->tracked_tags, "a", "UpToDate") == 1);
    assert_null(strstr(strbuf_str(&out), "namespace=\"b\""));

    _cleanup_json_ json_t *its = load("[{\"namespace\":\"a\",\"ready\":true},"
                                      "{\"namespace\":\"a\",\"ready\":false},"
                                      "{\"namespace\":\"a\",\"ready\":true}]");
    metrics_catalog_update_from_status(NULL, its);
    assert_true(metrics_value(c->imagetriggers, "a", "true") == 2);
    assert_true(metrics_value(c->imagetriggers, "a", "false") == 1);
    status_reset();
}

static void test_registry_hook_counts_by_host_kind_and_code(void **state)
{
    (void)state;
    metrics_reset();
    metrics_on_registry_request(NULL, "registry-1.docker.io", "head", 200);
    metrics_on_registry_request(NULL, "registry-1.docker.io", "head", 429);
    metrics_on_registry_request(NULL, "registry-1.docker.io", "head", 429);
    metrics_on_registry_request(NULL, "quay.io", "token", 0);
    const struct metrics_catalog *c = metrics_catalog();
    /* Docker Hub's API host is labelled docker.io, like polls and imports. */
    assert_true(metrics_value(c->registry_requests, "docker.io", "head", "429") == 2);
    assert_true(metrics_value(c->registry_requests, "docker.io", "head", "200") == 1);
    assert_true(metrics_value(c->registry_requests, "registry-1.docker.io", "head", "429") == 0);
    assert_true(metrics_value(c->registry_requests, "quay.io", "token", "0") == 1);
}

static void test_catalog_registers_again_after_reset(void **state)
{
    (void)state;
    metrics_reset();
    metrics_inc(metrics_catalog()->polls, "docker.io", "changed");
    metrics_reset();
    const struct metrics_catalog *c = metrics_catalog();
    assert_true(metrics_value(c->polls, "docker.io", "changed") == 0);
    metrics_inc(c->polls, "docker.io", "changed");
    assert_true(metrics_value(c->polls, "docker.io", "changed") == 1);
    const char **names = metrics_names();
    int n = 0;
    for (int i = 0; names[i]; i++)
        n++;
    free(names);
    assert_int_equal(n, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracked_tag_gauges_follow_the_sources_snapshot),
        cmocka_unit_test(test_registry_hook_counts_by_host_kind_and_code),
        cmocka_unit_test(test_catalog_registers_again_after_reset),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_reset();
    return r;
}
