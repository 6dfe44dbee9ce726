/* Unit tests for the ImageTrigger core (trigger_plan.c): the annotation oc would write, merging
 * with foreign entries, ownership, conflicts, image lookup and the tag resolution rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/controller/trigger_plan.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/strbuf.h"

static json_t *load(const char *s)
{
    json_t *v = jsonx_loadb(s, strlen(s), "test");
    assert_non_null(v);
    return v;
}

static json_t *deployment(const char *kind, const char *annotations_json)
{
    char buf[4096];
    const char *pod = "{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{"
                      "\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\"}],"
                      "\"containers\":[{\"name\":\"theses-api-diffusion\",\"image\":\"p:1\"},"
                      "{\"name\":\"side\",\"image\":\"p:1\"}]}}";
    if (!strcmp(kind, "CronJob"))
        snprintf(buf, sizeof(buf),
                 "{\"kind\":\"CronJob\",\"metadata\":{\"name\":\"theses-api-diffusion\","
                 "\"namespace\":\"theses\",\"resourceVersion\":\"7\",\"annotations\":%s},"
                 "\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":%s}}}}",
                 annotations_json, pod);
    else
        snprintf(buf, sizeof(buf),
                 "{\"kind\":\"%s\",\"metadata\":{\"name\":\"theses-api-diffusion\","
                 "\"namespace\":\"theses\",\"resourceVersion\":\"7\",\"annotations\":%s},"
                 "\"spec\":{\"template\":%s}}",
                 kind, annotations_json, pod);
    return load(buf);
}

static json_t *image_trigger(const char *name, const char *created, const char *kind,
                             const char *triggers_json, const char *lookup_json)
{
    char buf[4096];
    snprintf(
        buf, sizeof(buf),
        "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"theses\",\"creationTimestamp\":\"%s\"},"
        "\"spec\":{\"target\":{\"kind\":\"%s\",\"name\":\"theses-api-diffusion\"},"
        "\"triggers\":%s,\"imageLookup\":%s}}",
        name, created, kind, triggers_json, lookup_json ? lookup_json : "{}");
    return load(buf);
}

static const char *SEED_TRIGGERS = "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"theses-api-"
                                   "diffusion:develop-api-diffusion\"},"
                                   "\"containers\":[\"theses-api-diffusion\"],\"paused\":false}]";

static const char *SEED_ANNOTATION = "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"theses-"
                                     "api-diffusion:develop-api-diffusion\"},"
                                     "\"fieldPath\":\"spec.template.spec.containers[?(@.name=="
                                     "\\\"theses-api-diffusion\\\")].image\"}]";

/* Run a plan and return the triggers annotation value the patch would write ("<unchanged>" when
 * the patch does not touch it, "<deleted>" when it removes it). */
static const char *plan_annotation(const struct trigger_workload_plan *p)
{
    json_t *v = jsonx_get(p->patch, "metadata", "annotations", TRIGGER_ANNOTATION);
    if (!v)
        return "<unchanged>";
    if (json_is_null(v))
        return "<deleted>";
    return json_string_value(v);
}

/* Apply a merge patch's metadata.annotations to `obj` (enough for these tests). */
static void apply_annotations(json_t *obj, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach (jsonx_get(patch, "metadata", "annotations"), k, v) {
        json_t *ann = jsonx_get(obj, "metadata", "annotations");
        if (json_is_null(v))
            json_object_del(ann, k);
        else
            json_object_set(ann, k, v);
    }
}

static void test_seed_scenario_writes_exactly_what_oc_writes(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("Deployment", "{}");
    _cleanup_json_ json_t *it = image_trigger("theses-api-diffusion", "2026-11-22T03:00:00Z",
                                              "Deployment", SEED_TRIGGERS, NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;

    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(plan_annotation(&p), SEED_ANNOTATION);
    assert_string_equal(jsonx_str(p.patch, "metadata", "resourceVersion"), "7");
    assert_string_equal(jsonx_str(p.patch, "metadata", "annotations", TRIGGER_MANAGED_ANNOTATION),
                        "{\"theses-api-diffusion\":{\"fieldPaths\":[\"spec.template.spec."
                        "containers[?(@.name==\\\"theses-api-diffusion\\\")].image\"]}}");
    assert_null(jsonx_get(p.patch, "spec")); /* no resolve-names asked for */
    assert_int_equal(p.applied, 1);
    assert_int_equal(p.problems, 0);

    /* Applied once, the same plan changes nothing: no write. */
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_null(p.patch);
    trigger_workload_plan_clear(&p);
}

static void test_field_path_per_kind_and_cronjob(void **state)
{
    (void)state;
    const char *kinds[] = {"Deployment", "StatefulSet", "DaemonSet"};
    for (size_t i = 0; i < 3; i++) {
        _cleanup_free_ char *fp = trigger_field_path(kinds[i], "web");
        assert_string_equal(fp, "spec.template.spec.containers[?(@.name==\"web\")].image");
    }
    _cleanup_free_ char *cj = trigger_field_path("CronJob", "web");
    assert_string_equal(cj,
                        "spec.jobTemplate.spec.template.spec.containers[?(@.name==\"web\")].image");
    assert_null(trigger_field_path("Job", "web"));

    _cleanup_json_ json_t *wl = deployment("CronJob", "{}");
    _cleanup_json_ json_t *it =
        image_trigger("t", "2026-11-22T03:00:00Z", "CronJob", SEED_TRIGGERS, "{\"workload\":true}");
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(
        plan_annotation(&p),
        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"theses-api-diffusion:develop-api-"
        "diffusion\"},\"fieldPath\":\"spec.jobTemplate.spec.template.spec.containers[?(@.name=="
        "\\\"theses-api-diffusion\\\")].image\"}]");
    /* resolve-names goes on the job template's pod template (§6.1). */
    assert_string_equal(jsonx_str(p.patch, "spec", "jobTemplate", "spec", "template", "metadata",
                                  "annotations", TRIGGER_RESOLVE_NAMES_ANNOTATION),
                        "*");
    trigger_workload_plan_clear(&p);
}

static void test_init_container_several_containers_paused_and_cross_namespace(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("StatefulSet", "{}");
    _cleanup_json_ json_t *it = image_trigger(
        "t", "2026-11-22T03:00:00Z", "StatefulSet",
        "[{\"from\":{\"name\":\"app:v1\",\"namespace\":\"theses\"},\"containers\":[\"init\","
        "\"theses-api-diffusion\"]},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"tools:1.0\",\"namespace\":\"shared\"},"
        "\"containers\":[\"side\"],\"paused\":true}]",
        NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    /* Same namespace dropped, other namespace kept, paused a boolean after fieldPath, init
     * containers addressed with the containers[...] form as oc does (§5.6). */
    assert_string_equal(
        plan_annotation(&p),
        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:v1\"},\"fieldPath\":\"spec."
        "template.spec.containers[?(@.name==\\\"init\\\")].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:v1\"},\"fieldPath\":\"spec."
        "template.spec.containers[?(@.name==\\\"theses-api-diffusion\\\")].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"tools:1.0\",\"namespace\":\"shared\"},"
        "\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"side\\\")].image\","
        "\"paused\":true}]");
    assert_int_equal(p.applied, 3);
    assert_string_equal(jsonx_str(json_array_get(p.claims, 2), "state"), "Paused");
    trigger_workload_plan_clear(&p);
}

static void test_foreign_entries_kept_and_container_removal_drops_only_ours(void **state)
{
    (void)state;
    /* A foreign entry written by oc (by index, another container) sits first. */
    _cleanup_json_ json_t *wl = deployment(
        "Deployment", "{\"image.openshift.io/triggers\":\"[{\\\"from\\\":{\\\"kind\\\":"
                      "\\\"ImageStreamTag\\\",\\\"name\\\":\\\"other:1\\\"},\\\"fieldPath\\\":"
                      "\\\"spec.template.spec.containers[1].image\\\"}]\",\"keep\":\"me\"}");
    _cleanup_json_ json_t *it = image_trigger(
        "t", "2026-11-22T03:00:00Z", "Deployment",
        "[{\"from\":{\"name\":\"app:v1\"},\"containers\":[\"theses-api-diffusion\",\"init\"]}]",
        NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(
        plan_annotation(&p),
        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"other:1\"},\"fieldPath\":\"spec."
        "template.spec.containers[1].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:v1\"},\"fieldPath\":\"spec."
        "template.spec.containers[?(@.name==\\\"theses-api-diffusion\\\")].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:v1\"},\"fieldPath\":\"spec."
        "template.spec.containers[?(@.name==\\\"init\\\")].image\"}]");
    assert_null(jsonx_get(p.patch, "metadata", "annotations", "keep"));
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);

    /* Drop "init" from the CR: exactly its entry goes. */
    json_array_remove(jsonx_get(json_array_get(jsonx_get(it, "spec", "triggers"), 0), "containers"),
                      1);
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(
        plan_annotation(&p),
        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"other:1\"},\"fieldPath\":\"spec."
        "template.spec.containers[1].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:v1\"},\"fieldPath\":\"spec."
        "template.spec.containers[?(@.name==\\\"theses-api-diffusion\\\")].image\"}]");
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);

    /* Release (CR deleted): only the foreign entry is left, the ownership record goes. */
    in.release = true;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(plan_annotation(&p),
                        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"other:1\"},"
                        "\"fieldPath\":\"spec.template.spec.containers[1].image\"}]");
    assert_true(
        json_is_null(jsonx_get(p.patch, "metadata", "annotations", TRIGGER_MANAGED_ANNOTATION)));
    trigger_workload_plan_clear(&p);
}

static void test_release_of_last_entry_deletes_annotation(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("Deployment", "{}");
    _cleanup_json_ json_t *it =
        image_trigger("t", "2026-11-22T03:00:00Z", "Deployment", SEED_TRIGGERS, NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);
    in.release = true;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(plan_annotation(&p), "<deleted>");
    trigger_workload_plan_clear(&p);
}

static void test_missing_container_is_reported_and_not_written(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("Deployment", "{}");
    _cleanup_json_ json_t *it = image_trigger(
        "t", "2026-11-22T03:00:00Z", "Deployment",
        "[{\"from\":{\"name\":\"app:v1\"},\"containers\":[\"nope\",\"side\",\"side\"]}]", NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(plan_annotation(&p),
                        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"app:v1\"},"
                        "\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"side\\\")]."
                        "image\"}]");
    assert_string_equal(jsonx_str(json_array_get(p.claims, 0), "state"), "ContainerNotFound");
    assert_string_equal(jsonx_str(json_array_get(p.claims, 2), "state"), "DuplicateContainer");
    assert_int_equal(p.applied, 1);
    assert_int_equal(p.problems, 2);
    trigger_workload_plan_clear(&p);
}

static void test_later_image_trigger_reports_conflict_and_writes_nothing(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("Deployment", "{}");
    _cleanup_json_ json_t *first =
        image_trigger("first", "2026-11-22T03:00:00Z", "Deployment", SEED_TRIGGERS, NULL);
    _cleanup_json_ json_t *later = image_trigger(
        "later", "2026-11-22T03:00:05Z", "Deployment",
        "[{\"from\":{\"name\":\"b:1\"},\"containers\":[\"theses-api-diffusion\",\"side\"]}]", NULL);
    _cleanup_json_ json_t *peers = json_pack("[O,O]", first, later);
    struct trigger_workload_input in = {.trigger = later, .workload = wl, .peers = peers};
    struct trigger_workload_plan p;

    /* Even when the later one runs first, it does not take the contested container. */
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(jsonx_str(json_array_get(p.claims, 0), "state"), "Conflict");
    assert_non_null(strstr(jsonx_str(json_array_get(p.claims, 0), "message"), "first"));
    assert_string_equal(plan_annotation(&p),
                        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"b:1\"},\"fieldPath\":"
                        "\"spec.template.spec.containers[?(@.name==\\\"side\\\")].image\"}]");
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);

    in.trigger = first;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_int_equal(p.problems, 0);
    assert_string_equal(
        plan_annotation(&p),
        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"b:1\"},\"fieldPath\":\"spec.template."
        "spec.containers[?(@.name==\\\"side\\\")].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"theses-api-diffusion:develop-api-"
        "diffusion\"},\"fieldPath\":\"spec.template.spec.containers[?(@.name==\\\"theses-api-"
        "diffusion\\\")].image\"}]");
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);

    /* When "first" goes away (not a peer any more), "later" takes over; first's entry is
     * dropped as stale. */
    json_array_remove(peers, 0);
    in.trigger = later;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_int_equal(p.problems, 0);
    assert_string_equal(
        plan_annotation(&p),
        "[{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"b:1\"},\"fieldPath\":\"spec.template."
        "spec.containers[?(@.name==\\\"side\\\")].image\"},"
        "{\"from\":{\"kind\":\"ImageStreamTag\",\"name\":\"b:1\"},\"fieldPath\":\"spec.template."
        "spec.containers[?(@.name==\\\"theses-api-diffusion\\\")].image\"}]");
    trigger_workload_plan_clear(&p);
}

static void test_foreign_entry_for_same_container_is_not_duplicated(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment(
        "Deployment", "{\"image.openshift.io/triggers\":\"[{\\\"from\\\":{\\\"kind\\\":"
                      "\\\"ImageStreamTag\\\",\\\"name\\\":\\\"x:1\\\"},\\\"fieldPath\\\":"
                      "\\\"spec.template.spec.containers[?(@.name==\\\\\\\"theses-api-diffusion"
                      "\\\\\\\")].image\\\"}]\"}");
    _cleanup_json_ json_t *it =
        image_trigger("t", "2026-11-22T03:00:00Z", "Deployment", SEED_TRIGGERS, NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(jsonx_str(json_array_get(p.claims, 0), "state"), "ForeignTrigger");
    assert_null(p.patch);
    trigger_workload_plan_clear(&p);
}

static void test_unparseable_annotation_is_left_alone(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl =
        deployment("Deployment", "{\"image.openshift.io/triggers\":\"[{not json\"}");
    _cleanup_json_ json_t *it =
        image_trigger("t", "2026-11-22T03:00:00Z", "Deployment", SEED_TRIGGERS, NULL);
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    assert_int_equal(trigger_plan_workload(&in, &p), -EBADMSG);
    assert_null(p.patch);
    trigger_workload_plan_clear(&p);
}

static void test_resolve_names_switch_off_removes_only_what_istrigger_added(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("Deployment", "{}");
    _cleanup_json_ json_t *it = image_trigger("t", "2026-11-22T03:00:00Z", "Deployment",
                                              SEED_TRIGGERS, "{\"workload\":true}");
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;
    json_t *tmpl_ann;

    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_string_equal(jsonx_str(p.patch, "spec", "template", "metadata", "annotations",
                                  TRIGGER_RESOLVE_NAMES_ANNOTATION),
                        "*");
    assert_non_null(
        strstr(jsonx_str(p.patch, "metadata", "annotations", TRIGGER_MANAGED_ANNOTATION),
               "\"resolveNames\":true"));
    apply_annotations(wl, p.patch);
    jsonx_set(wl, json_string("*"), "spec", "template", "metadata", "annotations",
              TRIGGER_RESOLVE_NAMES_ANNOTATION);
    trigger_workload_plan_clear(&p);

    json_object_set_new(jsonx_get(it, "spec", "imageLookup"), "workload", json_false());
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_true(json_is_null(jsonx_get(p.patch, "spec", "template", "metadata", "annotations",
                                       TRIGGER_RESOLVE_NAMES_ANNOTATION)));
    trigger_workload_plan_clear(&p);

    /* Set by someone else before: switching off leaves it. */
    _cleanup_json_ json_t *wl2 = deployment("Deployment", "{}");
    tmpl_ann = json_pack("{s:s}", TRIGGER_RESOLVE_NAMES_ANNOTATION, "*");
    jsonx_set(wl2, tmpl_ann, "spec", "template", "metadata", "annotations");
    in.workload = wl2;
    json_object_set_new(jsonx_get(it, "spec", "imageLookup"), "workload", json_true());
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_null(jsonx_get(p.patch, "spec"));
    assert_null(strstr(jsonx_str(p.patch, "metadata", "annotations", TRIGGER_MANAGED_ANNOTATION),
                       "resolveNames"));
    apply_annotations(wl2, p.patch);
    trigger_workload_plan_clear(&p);
    json_object_set_new(jsonx_get(it, "spec", "imageLookup"), "workload", json_false());
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_null(p.patch);
    trigger_workload_plan_clear(&p);
}

static void test_stream_lookup_policy_owned_and_released(void **state)
{
    (void)state;
    _cleanup_json_ json_t *is = load("{\"metadata\":{\"name\":\"app\",\"namespace\":\"theses\","
                                     "\"resourceVersion\":\"3\"},\"spec\":{\"tags\":[{\"name\":"
                                     "\"v1\"}]}}");
    json_t *patch;

    assert_int_equal(trigger_plan_stream_lookup("theses/t", true, is, &patch), 0);
    assert_true(jsonx_bool(patch, false, "spec", "lookupPolicy", "local"));
    assert_null(jsonx_get(patch, "spec", "tags")); /* never merge-patch spec.tags */
    assert_string_equal(
        jsonx_str(patch, "metadata", "annotations", TRIGGER_LOOKUP_OWNERS_ANNOTATION),
        "[\"theses/t\"]");
    assert_string_equal(jsonx_str(patch, "metadata", "resourceVersion"), "3");
    /* apply */
    jsonx_set(is, json_true(), "spec", "lookupPolicy", "local");
    jsonx_set(is, json_string("[\"theses/t\"]"), "metadata", "annotations",
              TRIGGER_LOOKUP_OWNERS_ANNOTATION);
    json_decref(patch);
    assert_true(trigger_stream_lookup_owned_by(is, "theses/t"));

    assert_int_equal(trigger_plan_stream_lookup("theses/t", true, is, &patch), 0);
    assert_null(patch);
    assert_int_equal(trigger_plan_stream_lookup("theses/t", false, is, &patch), 0);
    assert_false(jsonx_bool(patch, true, "spec", "lookupPolicy", "local"));
    assert_true(json_is_null(
        jsonx_get(patch, "metadata", "annotations", TRIGGER_LOOKUP_OWNERS_ANNOTATION)));
    json_decref(patch);

    /* local was true before istrigger: not ours, never switched off. */
    _cleanup_json_ json_t *pre = load("{\"metadata\":{\"name\":\"app\"},\"spec\":{\"lookupPolicy\""
                                      ":{\"local\":true}}}");
    assert_int_equal(trigger_plan_stream_lookup("theses/t", true, pre, &patch), 0);
    assert_null(patch);
    assert_int_equal(trigger_plan_stream_lookup("theses/t", false, pre, &patch), 0);
    assert_null(patch);
}

static void test_resolve_names_shared_by_two_image_triggers(void **state)
{
    (void)state;
    _cleanup_json_ json_t *wl = deployment("Deployment", "{}");
    _cleanup_json_ json_t *a = image_trigger(
        "a", "2026-11-22T03:00:00Z", "Deployment",
        "[{\"from\":{\"name\":\"app:v1\"},\"containers\":[\"side\"]}]", "{\"workload\":true}");
    _cleanup_json_ json_t *b = image_trigger(
        "b", "2026-11-22T03:00:01Z", "Deployment",
        "[{\"from\":{\"name\":\"app:v1\"},\"containers\":[\"init\"]}]", "{\"workload\":true}");
    struct trigger_workload_input in = {.trigger = a, .workload = wl};
    struct trigger_workload_plan p;
    const char *rn[] = {"spec", "template", "metadata", "annotations"};

    /* a adds it, b shares it. */
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    apply_annotations(wl, p.patch);
    jsonx_set(wl, json_string("*"), rn[0], rn[1], rn[2], rn[3], TRIGGER_RESOLVE_NAMES_ANNOTATION);
    trigger_workload_plan_clear(&p);
    in.trigger = b;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_null(jsonx_get(p.patch, "spec"));
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);
    assert_non_null(
        strstr(jsonx_str(wl, "metadata", "annotations", TRIGGER_MANAGED_ANNOTATION),
               "\"b\":{\"fieldPaths\":[\"spec.template.spec.containers[?(@.name==\\\"init\\\")]"
               ".image\"],\"resolveNames\":true}"));

    /* a lets go: b still wants it, it stays. */
    json_object_set_new(jsonx_get(a, "spec", "imageLookup"), "workload", json_false());
    in.trigger = a;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_null(jsonx_get(p.patch, "spec"));
    apply_annotations(wl, p.patch);
    trigger_workload_plan_clear(&p);

    /* b lets go too (deleted): it goes. */
    in.trigger = b;
    in.release = true;
    assert_int_equal(trigger_plan_workload(&in, &p), 0);
    assert_true(json_is_null(
        jsonx_get(p.patch, rn[0], rn[1], rn[2], rn[3], TRIGGER_RESOLVE_NAMES_ANNOTATION)));
    trigger_workload_plan_clear(&p);
}

static void test_stream_lookup_shared_by_two_owners(void **state)
{
    (void)state;
    _cleanup_json_ json_t *is = load("{\"metadata\":{\"name\":\"app\",\"annotations\":{"
                                     "\"istrigger.io/managed-lookup\":\"[\\\"ns/a\\\"]\"}},"
                                     "\"spec\":{\"lookupPolicy\":{\"local\":true}}}");
    json_t *patch;

    /* b joins a: recorded, local already true. */
    assert_int_equal(trigger_plan_stream_lookup("ns/b", true, is, &patch), 0);
    assert_string_equal(
        jsonx_str(patch, "metadata", "annotations", TRIGGER_LOOKUP_OWNERS_ANNOTATION),
        "[\"ns/a\",\"ns/b\"]");
    assert_null(jsonx_get(patch, "spec"));
    jsonx_set(is, json_string("[\"ns/a\",\"ns/b\"]"), "metadata", "annotations",
              TRIGGER_LOOKUP_OWNERS_ANNOTATION);
    json_decref(patch);
    /* a leaves while b stays: local stays true. */
    assert_int_equal(trigger_plan_stream_lookup("ns/a", false, is, &patch), 0);
    assert_null(jsonx_get(patch, "spec"));
    assert_string_equal(
        jsonx_str(patch, "metadata", "annotations", TRIGGER_LOOKUP_OWNERS_ANNOTATION),
        "[\"ns/b\"]");
    jsonx_set(is, json_string("[\"ns/b\"]"), "metadata", "annotations",
              TRIGGER_LOOKUP_OWNERS_ANNOTATION);
    json_decref(patch);
    /* b, the last one, leaves: back to false. */
    assert_int_equal(trigger_plan_stream_lookup("ns/b", false, is, &patch), 0);
    assert_false(jsonx_bool(patch, true, "spec", "lookupPolicy", "local"));
    assert_true(json_is_null(
        jsonx_get(patch, "metadata", "annotations", TRIGGER_LOOKUP_OWNERS_ANNOTATION)));
    json_decref(patch);
}

static void test_resolve_tag_follows_reference_policy(void **state)
{
    (void)state;
    _cleanup_json_ json_t *is = load(
        "{\"metadata\":{\"name\":\"app\",\"namespace\":\"ns\"},"
        "\"spec\":{\"tags\":[{\"name\":\"src\",\"referencePolicy\":{\"type\":\"Source\"}},"
        "{\"name\":\"loc\",\"referencePolicy\":{\"type\":\"Local\"}},{\"name\":\"new\"}]},"
        "\"status\":{\"dockerImageRepository\":\"image-registry.svc:5000/ns/app\",\"tags\":["
        "{\"tag\":\"src\",\"items\":[{\"created\":\"2026-11-22T03:00:00Z\","
        "\"dockerImageReference\":\"127.0.0.1:5000/app@sha256:aa\",\"image\":\"sha256:aa\"},"
        "{\"dockerImageReference\":\"old\"}]},"
        "{\"tag\":\"loc\",\"items\":[{\"dockerImageReference\":\"127.0.0.1:5000/app@sha256:bb\","
        "\"image\":\"sha256:bb\"}]}]}}");
    char *img;
    const char *created;

    assert_int_equal(trigger_resolve_tag(is, "src", &img, &created), 0);
    assert_string_equal(img, "127.0.0.1:5000/app@sha256:aa");
    assert_string_equal(created, "2026-11-22T03:00:00Z");
    free(img);
    assert_int_equal(trigger_resolve_tag(is, "loc", &img, NULL), 0);
    assert_string_equal(img, "image-registry.svc:5000/ns/app@sha256:bb");
    free(img);
    assert_int_equal(trigger_resolve_tag(is, "new", &img, NULL), -ENOENT);
    assert_null(img);
}

static void test_split_istag(void **state)
{
    (void)state;
    char *s, *t;
    assert_int_equal(trigger_split_istag("app:v1", &s, &t), 0);
    assert_string_equal(s, "app");
    assert_string_equal(t, "v1");
    free(s);
    free(t);
    assert_int_equal(trigger_split_istag("app", &s, &t), -EINVAL);
    assert_int_equal(trigger_split_istag(":v1", &s, &t), -EINVAL);
    assert_int_equal(trigger_split_istag("a:b:c", &s, &t), -EINVAL);
}

static void test_go_json_escaping(void **state)
{
    (void)state;
    _cleanup_json_ json_t *v =
        json_pack("{s:s,s:b,s:i}", "k<>&", "a\"\\\n\t\x01/\xe2\x80\xa8\x7f", "t", 1, "n", -3);
    _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
    assert_int_equal(jsonx_dump_go(v, &sb), 0);
    assert_string_equal(strbuf_str(&sb),
                        "{\"k\\u003c\\u003e\\u0026\":\"a\\\"\\\\\\n\\t\\u0001/\\u2028\x7f\","
                        "\"t\":true,\"n\":-3}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_scenario_writes_exactly_what_oc_writes),
        cmocka_unit_test(test_field_path_per_kind_and_cronjob),
        cmocka_unit_test(test_init_container_several_containers_paused_and_cross_namespace),
        cmocka_unit_test(test_foreign_entries_kept_and_container_removal_drops_only_ours),
        cmocka_unit_test(test_release_of_last_entry_deletes_annotation),
        cmocka_unit_test(test_missing_container_is_reported_and_not_written),
        cmocka_unit_test(test_later_image_trigger_reports_conflict_and_writes_nothing),
        cmocka_unit_test(test_foreign_entry_for_same_container_is_not_duplicated),
        cmocka_unit_test(test_unparseable_annotation_is_left_alone),
        cmocka_unit_test(test_resolve_names_switch_off_removes_only_what_istrigger_added),
        cmocka_unit_test(test_stream_lookup_policy_owned_and_released),
        cmocka_unit_test(test_resolve_names_shared_by_two_image_triggers),
        cmocka_unit_test(test_stream_lookup_shared_by_two_owners),
        cmocka_unit_test(test_resolve_tag_follows_reference_policy),
        cmocka_unit_test(test_split_istag),
        cmocka_unit_test(test_go_json_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
