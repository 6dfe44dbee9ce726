/* Unit tests for the operator's settings (controller/operator.c): flags as the base layer,
 * the ImageTriggerConfig `cluster` overlaid live, invalid objects rejected with the previous
 * settings kept, namespace narrowing, per-registry settings. No network: operator_init only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "istrigger/controller/operator.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

static struct operator* new_op(const char *namespaces)
{
    struct operator_config cfg;
    operator_config_defaults(&cfg);
    cfg.namespaces = namespaces;
    cfg.minimum_interval_ns = 5 * NS_PER_SEC;
    struct operator* op = calloc(1, sizeof(*op));
    assert_non_null(op);
    assert_int_equal(operator_init(op, &cfg), 0);
    return op;
}

static json_t *itc(const char *spec)
{
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"istrigger.io/v1alpha1\",\"kind\":\"ImageTriggerConfig\","
             "\"metadata\":{\"name\":\"cluster\",\"generation\":3},\"spec\":%s}",
             spec);
    json_t *j = jsonx_loadb(buf, strlen(buf), "test");
    assert_non_null(j);
    return j;
}

static int listener_calls;
static void count_listener(void *ctx)
{
    (void)ctx;
    listener_calls++;
}

static void test_flags_are_the_defaults_without_config(void **state)
{
    (void)state;
    struct operator* op = new_op(NULL);
    struct operator_settings s;
    operator_settings_copy(op, &s);
    assert_true(s.sync.default_interval_ns == 60 * NS_PER_SEC);
    assert_true(s.sync.minimum_interval_ns == 5 * NS_PER_SEC);
    assert_true(s.sync.adopt_scheduled);
    assert_int_equal(s.max_concurrent_polls, 32);
    assert_false(s.from_config);
    assert_null(s.namespaces);
    operator_settings_clear(&s);
    assert_true(operator_namespace_tracked(op, "anything"));
    assert_true(operator_is_leader(op)); /* no leader election configured */
    operator_free(op);
}

static void test_config_overlays_flags_and_applies_registries(void **state)
{
    (void)state;
    struct operator* op = new_op(NULL);
    assert_int_equal(operator_add_listener(op, count_listener, NULL), 0);
    json_t *c = itc("{\"defaultInterval\":\"2m\",\"minimumInterval\":\"1s\","
                    "\"adoptScheduledTags\":false,\"maxConcurrentPolls\":7,"
                    "\"registries\":[{\"host\":\"quay.io\",\"requestsPerSecond\":2.5,"
                    "\"insecure\":true,\"caBundle\":{\"configMap\":{\"name\":\"ca\"}}}],"
                    "\"namespaces\":[\"web\",\"api\"]}");
    assert_int_equal(operator_apply_config(op, c), 0);
    struct operator_settings s;
    operator_settings_copy(op, &s);
    assert_true(s.sync.default_interval_ns == 120 * NS_PER_SEC);
    assert_true(s.sync.minimum_interval_ns == NS_PER_SEC);
    assert_false(s.sync.adopt_scheduled);
    assert_int_equal(s.max_concurrent_polls, 7);
    assert_int_equal(s.generation, 3);
    assert_true(s.from_config);
    operator_settings_clear(&s);
    struct operator_registry r;
    assert_true(operator_registry_settings(op, "quay.io", &r));
    assert_true(r.requests_per_second == 2.5);
    assert_true(r.insecure);
    assert_string_equal(r.ca_configmap, "ca");
    assert_string_equal(r.ca_key, "ca-bundle.crt");
    free(r.ca_pem);
    assert_false(operator_registry_settings(op, "docker.io", &r));
    assert_true(operator_namespace_tracked(op, "web"));
    assert_false(operator_namespace_tracked(op, "other"));
    assert_string_equal(jsonx_str(json_array_get(op->config_conditions, 0), "status"), "True");
    json_decref(c);

    /* Deleting the object falls back to the flags. */
    assert_int_equal(operator_apply_config(op, NULL), 0);
    assert_true(operator_namespace_tracked(op, "other"));
    operator_settings_copy(op, &s);
    assert_true(s.sync.minimum_interval_ns == 5 * NS_PER_SEC);
    operator_settings_clear(&s);
    operator_free(op);
}

static void test_invalid_config_keeps_previous_settings(void **state)
{
    (void)state;
    log_configure(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT);
    struct operator* op = new_op(NULL);
    json_t *good = itc("{\"minimumInterval\":\"2s\"}");
    assert_int_equal(operator_apply_config(op, good), 0);
    static const char *const bad[] = {
        "{\"minimumInterval\":\"soon\"}",
        "{\"defaultInterval\":\"-1m\"}",
        "{\"maxConcurrentPolls\":0}",
        "{\"registries\":[{\"requestsPerSecond\":1}]}",
        "{\"registries\":[{\"host\":\"q.io\",\"requestsPerSecond\":-1}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *c = itc(bad[i]);
        assert_int_equal(operator_apply_config(op, c), -EINVAL);
        json_decref(c);
        struct operator_settings s;
        operator_settings_copy(op, &s);
        assert_true(s.sync.minimum_interval_ns == 2 * NS_PER_SEC);
        operator_settings_clear(&s);
        json_t *cond = json_array_get(op->config_conditions, 0);
        assert_string_equal(jsonx_str(cond, "status"), "False");
        assert_string_equal(jsonx_str(cond, "reason"), "InvalidSpec");
        assert_int_equal(jsonx_int(cond, 0, "observedGeneration"), 3);
    }
    json_decref(good);
    operator_free(op);
}

static void test_default_interval_never_below_minimum(void **state)
{
    (void)state;
    struct operator* op = new_op(NULL);
    json_t *c = itc("{\"defaultInterval\":\"5s\",\"minimumInterval\":\"30s\"}");
    assert_int_equal(operator_apply_config(op, c), 0);
    struct operator_settings s;
    operator_settings_copy(op, &s);
    assert_true(s.sync.default_interval_ns == 30 * NS_PER_SEC);
    operator_settings_clear(&s);
    json_decref(c);
    operator_free(op);
}

static void test_watch_namespaces_flag_limits_tracking(void **state)
{
    (void)state;
    struct operator* op = new_op("team-a, team-b");
    assert_non_null(op->watch_namespaces);
    assert_string_equal(op->watch_namespaces[0], "team-a");
    assert_string_equal(op->watch_namespaces[1], "team-b");
    assert_null(op->watch_namespaces[2]);
    assert_true(operator_namespace_tracked(op, "team-b"));
    assert_false(operator_namespace_tracked(op, "team-c"));
    /* The config may narrow it, never widen it. */
    json_t *c = itc("{\"namespaces\":[\"team-b\",\"team-c\"]}");
    assert_int_equal(operator_apply_config(op, c), 0);
    assert_false(operator_namespace_tracked(op, "team-a"));
    assert_true(operator_namespace_tracked(op, "team-b"));
    assert_false(operator_namespace_tracked(op, "team-c"));
    json_decref(c);
    operator_free(op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_are_the_defaults_without_config),
        cmocka_unit_test(test_config_overlays_flags_and_applies_registries),
        cmocka_unit_test(test_invalid_config_keeps_previous_settings),
        cmocka_unit_test(test_default_interval_never_below_minimum),
        cmocka_unit_test(test_watch_namespaces_flag_limits_tracking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
