/* Unit tests for ImageTrigger status (trigger_status.c): conditions a user can act on, the
 * resolved image per trigger, and times that only move on a real transition. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/controller/trigger_status.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

static json_t *load(const char *s)
{
    json_t *v = jsonx_loadb(s, strlen(s), "test");
    assert_non_null(v);
    return v;
}

static const char *IT =
    "{\"metadata\":{\"name\":\"t\",\"namespace\":\"theses\",\"generation\":3},"
    "\"spec\":{\"target\":{\"kind\":\"Deployment\",\"name\":\"api\"},\"triggers\":["
    "{\"from\":{\"name\":\"app:v1\"},\"containers\":[\"web\"]},"
    "{\"from\":{\"name\":\"tools:1\",\"namespace\":\"shared\"},\"containers\":[\"side\"],"
    "\"paused\":true}]}}";

static json_t *streams_both_imported(void)
{
    return load("{\"theses/app\":{\"metadata\":{\"name\":\"app\",\"namespace\":\"theses\"},"
                "\"status\":{\"tags\":[{\"tag\":\"v1\",\"items\":[{\"created\":"
                "\"2026-11-22T01:00:00Z\",\"dockerImageReference\":\"r/app@sha256:1\","
                "\"image\":\"sha256:1\"}]}]}},"
                "\"shared/tools\":{\"metadata\":{\"name\":\"tools\",\"namespace\":\"shared\"},"
                "\"status\":{\"tags\":[{\"tag\":\"1\",\"items\":[{\"created\":"
                "\"2026-11-22T02:00:00Z\",\"dockerImageReference\":\"r/tools@sha256:2\"}]}]}}}");
}

static const char *cond(const json_t *st, const char *type, const char *field)
{
    return jsonx_str(trigger_status_condition(st, type), field);
}

static void test_all_good_is_ready_with_resolved_images(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = streams_both_imported();
    _cleanup_json_ json_t *claims =
        load("[{\"trigger\":0,\"container\":\"web\",\"state\":\"Applied\",\"message\":\"\"},"
             "{\"trigger\":1,\"container\":\"side\",\"state\":\"Paused\",\"message\":\"\"}]");
    struct trigger_observation obs = {.target_found = true, .claims = claims, .streams = streams};
    _cleanup_json_ json_t *st = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);

    assert_non_null(st);
    assert_int_equal(jsonx_int(st, 0, "observedGeneration"), 3);
    assert_string_equal(jsonx_str(st, "sources"), "app:v1,shared/tools:1");
    assert_string_equal(cond(st, "Ready", "status"), "True");
    assert_string_equal(cond(st, "TargetFound", "status"), "True");
    assert_string_equal(cond(st, "TriggersApplied", "reason"), "Applied");
    assert_string_equal(cond(st, "ImagesResolved", "reason"), "Resolved");
    json_t *t0 = json_array_get(json_object_get(st, "triggers"), 0);
    json_t *t1 = json_array_get(json_object_get(st, "triggers"), 1);
    assert_string_equal(jsonx_str(t0, "image"), "r/app@sha256:1");
    assert_string_equal(jsonx_str(t0, "lastChangeTime"), "2026-11-22T01:00:00Z");
    assert_string_equal(jsonx_str(t0, "state"), "Applied");
    assert_string_equal(jsonx_str(t1, "state"), "Paused");
    assert_string_equal(jsonx_str(t1, "namespace"), "shared");
    assert_int_equal(jsonx_int(trigger_status_condition(st, "Ready"), 0, "observedGeneration"), 3);
}

static void test_missing_target_says_it_will_be_applied_later(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = streams_both_imported();
    struct trigger_observation obs = {.target_found = false, .streams = streams};
    _cleanup_json_ json_t *st = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);

    assert_string_equal(cond(st, "Ready", "status"), "False");
    assert_string_equal(cond(st, "Ready", "reason"), "TargetNotFound");
    assert_non_null(strstr(cond(st, "Ready", "message"), "Deployment api does not exist"));
    assert_string_equal(cond(st, "TriggersApplied", "reason"), "TargetNotFound");
}

static void test_conflict_and_unimported_tag_are_reported(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = load("{}");
    _cleanup_json_ json_t *claims =
        load("[{\"trigger\":0,\"container\":\"web\",\"state\":\"Conflict\",\"message\":"
             "\"container web of Deployment api is claimed by ImageTrigger first\"},"
             "{\"trigger\":1,\"container\":\"side\",\"state\":\"Paused\",\"message\":\"\"}]");
    struct trigger_observation obs = {.target_found = true, .claims = claims, .streams = streams};
    _cleanup_json_ json_t *st = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);

    assert_string_equal(cond(st, "TriggersApplied", "reason"), "Conflict");
    assert_string_equal(cond(st, "Ready", "reason"), "Conflict");
    assert_non_null(strstr(cond(st, "Ready", "message"), "ImageTrigger first"));
    assert_string_equal(cond(st, "ImagesResolved", "reason"), "StreamNotFound");
    assert_string_equal(jsonx_str(json_array_get(json_object_get(st, "triggers"), 0), "state"),
                        "Conflict");

    /* Stream exists but the tag has no items yet. */
    _cleanup_json_ json_t *s2 = load("{\"theses/app\":{\"metadata\":{\"name\":\"app\"},"
                                     "\"spec\":{\"tags\":[{\"name\":\"v1\"}]}}}");
    obs.streams = s2;
    obs.claims = NULL;
    _cleanup_json_ json_t *st2 = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);
    assert_string_equal(cond(st2, "ImagesResolved", "reason"), "TagNotImported");
    assert_non_null(strstr(cond(st2, "Ready", "message"), "tag v1 of ImageStream theses/app"));
}

static void test_transition_time_kept_while_unchanged(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = streams_both_imported();
    struct trigger_observation obs = {.target_found = true, .streams = streams};
    json_t *st = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);
    char *t1 = strdup(cond(st, "Ready", "lastTransitionTime"));

    json_object_set_new(it, "status", st);
    _cleanup_json_ json_t *again = trigger_status_build(it, &obs, 1800000100LL * NS_PER_SEC);
    assert_string_equal(cond(again, "Ready", "lastTransitionTime"), t1);
    assert_true(jsonx_equal(again, st)); /* nothing to write */

    obs.target_found = false;
    _cleanup_json_ json_t *moved = trigger_status_build(it, &obs, 1800000100LL * NS_PER_SEC);
    assert_string_not_equal(cond(moved, "Ready", "lastTransitionTime"), t1);
    free(t1);
}

/* The controller passes the status it wrote itself while its cache still holds an older copy:
 * times come from that one, so a second reconcile on the stale copy builds the same status. */
static void test_known_status_wins_over_a_stale_cached_one(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = streams_both_imported();
    struct trigger_observation obs = {.target_found = false, .streams = streams};
    _cleanup_json_ json_t *stale = trigger_status_build(it, &obs, 1700000000LL * NS_PER_SEC);

    json_object_set(it, "status", stale);
    obs.target_found = true;
    _cleanup_json_ json_t *written = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);
    assert_string_not_equal(cond(written, "Ready", "lastTransitionTime"),
                            cond(stale, "Ready", "lastTransitionTime"));

    obs.known_status = written; /* `it` still carries `stale` */
    _cleanup_json_ json_t *again = trigger_status_build(it, &obs, 1800000100LL * NS_PER_SEC);
    assert_true(jsonx_equal(again, written));
}

/* With --namespaces, a source outside them is not "missing": istrigger cannot see it. */
static void test_source_in_an_unwatched_namespace_says_so(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = load("{}");
    static const char *const only_theses[] = {"theses", NULL};
    struct trigger_observation obs = {.target_found = true, .streams = streams};
    _cleanup_json_ json_t *all = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);
    obs.watched = only_theses;
    _cleanup_json_ json_t *some = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);

    const json_t *t_all = json_array_get(json_object_get(all, "triggers"), 1);
    const json_t *t_some = json_array_get(json_object_get(some, "triggers"), 1);
    assert_non_null(strstr(jsonx_str(t_all, "message"), "does not exist"));
    assert_string_equal(jsonx_str(t_some, "state"), "StreamNotFound");
    assert_non_null(strstr(jsonx_str(t_some, "message"),
                           "shared/tools is in namespace shared, which istrigger does not watch"));
    /* The watched namespace's own stream is still just missing. */
    assert_non_null(
        strstr(jsonx_str(json_array_get(json_object_get(some, "triggers"), 0), "message"),
               "does not exist"));
}

static void test_invalid_foreign_annotation_is_actionable(void **state)
{
    (void)state;
    _cleanup_json_ json_t *it = load(IT);
    _cleanup_json_ json_t *streams = streams_both_imported();
    struct trigger_observation obs = {.target_found = true,
                                      .apply_err = -EBADMSG,
                                      .apply_msg = "parsing image.openshift.io/triggers: x",
                                      .streams = streams};
    _cleanup_json_ json_t *st = trigger_status_build(it, &obs, 1800000000LL * NS_PER_SEC);
    assert_string_equal(cond(st, "Ready", "reason"), "InvalidTriggerAnnotation");
    assert_non_null(strstr(cond(st, "Ready", "message"), "fix or remove it"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_good_is_ready_with_resolved_images),
        cmocka_unit_test(test_missing_target_says_it_will_be_applied_later),
        cmocka_unit_test(test_conflict_and_unimported_tag_are_reported),
        cmocka_unit_test(test_transition_time_kept_while_unchanged),
        cmocka_unit_test(test_known_status_wins_over_a_stale_cached_one),
        cmocka_unit_test(test_source_in_an_unwatched_namespace_says_so),
        cmocka_unit_test(test_invalid_foreign_annotation_is_actionable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
