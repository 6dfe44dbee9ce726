/* Unit tests for the sync controller's pure parts: tracking (annotations, adoption, minimum,
 * invalid values), deciding (manifest lists, Legacy vs PreserveOriginal) and the
 * ImageStreamImport request/reply (controller/sync_track.c, controller/sync_import.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "istrigger/controller/sync.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

static const struct sync_settings settings = {
    .default_interval_ns = 60 * NS_PER_SEC,
    .minimum_interval_ns = 10 * NS_PER_SEC,
    .adopt_scheduled = true,
};

static json_t *load(const char *s)
{
    json_t *j = jsonx_loadb(s, strlen(s), "test");
    assert_non_null(j);
    return j;
}

/* A stream shaped like the server returns it (reference §1.1; transcripts 00/01). */
#define STREAM_HEAD(ANN)                                                    \
    "{\"apiVersion\":\"image.openshift.io/v1\",\"kind\":\"ImageStream\","   \
    "\"metadata\":{\"name\":\"web\",\"namespace\":\"app\",\"uid\":\"u-1\"," \
    "\"resourceVersion\":\"42\",\"annotations\":" ANN "},"

static void track(const char *json, struct sync_stream_tracking *t)
{
    json_t *is = load(json);
    assert_int_equal(sync_track_stream(is, &settings, t), 0);
    json_decref(is);
}

static void test_stream_annotation_tracks_importable_tags_only(void **state)
{
    (void)state;
    struct sync_stream_tracking t;
    track(STREAM_HEAD(
              "{\"istrigger.io/poll-interval\":\"30s\"}") "\"spec\":{\"tags\":["
                                                          "{\"name\":\"1.25\",\"annotations\":null,"
                                                          "\"from\":{\"kind\":\"DockerImage\","
                                                          "\"name\":\"127.0.0.1:5000/"
                                                          "nginx:1.25\"},\"importPolicy\":{"
                                                          "\"importMode\":\"Legacy\"},"
                                                          "\"referencePolicy\":{\"type\":"
                                                          "\"Source\"}},"
                                                          "{\"name\":\"ref\",\"from\":{\"kind\":"
                                                          "\"DockerImage\",\"name\":\"x/y:1\"},"
                                                          "\"reference\":true},"
                                                          "{\"name\":\"alias\",\"from\":{\"kind\":"
                                                          "\"ImageStreamTag\",\"name\":\"web:1."
                                                          "25\"}},"
                                                          "{\"name\":\"pinned\",\"from\":{\"kind\":"
                                                          "\"DockerImage\",\"name\":\"x/y@sha256:"
                                                          "0000000000000000000000000000000000000000"
                                                          "000000000000000000000000\"}}]},"
                                                          "\"status\":{\"tags\":[{\"tag\":\"1.25\","
                                                          "\"items\":[{\"image\":\"sha256:new\"},"
                                                          "{\"image\":\"sha256:old\"}]}]}}",
          &t);
    assert_int_equal(t.ntags, 1);
    assert_string_equal(t.tags[0].tag, "1.25");
    assert_string_equal(t.tags[0].from, "127.0.0.1:5000/nginx:1.25");
    assert_true(t.tags[0].interval_ns == 30 * NS_PER_SEC);
    assert_int_equal(t.tags[0].why, SYNC_WHY_ANNOTATION);
    assert_string_equal(t.tags[0].current_image, "sha256:new");
    assert_int_equal(t.nwarnings, 0);
    assert_string_equal(t.resource_version, "42");
    assert_string_equal(t.uid, "u-1");
    sync_stream_tracking_clear(&t);
}

static void test_tag_annotation_wins_over_stream(void **state)
{
    (void)state;
    struct sync_stream_tracking t;
    track(STREAM_HEAD(
              "{\"istrigger.io/poll-interval\":\"5m\"}") "\"spec\":{\"tags\":["
                                                         "{\"name\":\"a\",\"annotations\":{"
                                                         "\"istrigger.io/poll-interval\":\"45s\"},"
                                                         "\"from\":{\"kind\":\"DockerImage\","
                                                         "\"name\":\"r/a:1\"}},"
                                                         "{\"name\":\"b\",\"annotations\":{"
                                                         "\"istrigger.io/enabled\":\"false\"},"
                                                         "\"from\":{\"kind\":\"DockerImage\","
                                                         "\"name\":\"r/b:1\"}},"
                                                         "{\"name\":\"c\",\"from\":{\"kind\":"
                                                         "\"DockerImage\",\"name\":\"r/c:1\"}}]}}",
          &t);
    assert_int_equal(t.ntags, 2);
    assert_true(sync_tracking_find(&t, "a")->interval_ns == 45 * NS_PER_SEC);
    assert_null(sync_tracking_find(&t, "b"));
    assert_true(sync_tracking_find(&t, "c")->interval_ns == 300 * NS_PER_SEC);
    assert_null(sync_tracking_find(&t, "c")->current_image);
    sync_stream_tracking_clear(&t);
}

static void test_stream_opt_out_and_tag_opt_back_in(void **state)
{
    (void)state;
    struct sync_stream_tracking t;
    track(
        STREAM_HEAD(
            "{\"istrigger.io/poll-interval\":\"1m\",\"istrigger.io/enabled\":\"false\"}") "\"spec\""
                                                                                          ":{"
                                                                                          "\"tags\""
                                                                                          ":["
                                                                                          "{\"name"
                                                                                          "\":"
                                                                                          "\"a\","
                                                                                          "\"from\""
                                                                                          ":{"
                                                                                          "\"kind\""
                                                                                          ":\"Docke"
                                                                                          "rImage\""
                                                                                          ",\"name"
                                                                                          "\":\"r/"
                                                                                          "a:1\"},"
                                                                                          "\"import"
                                                                                          "Policy\""
                                                                                          ":{"
                                                                                          "\"schedu"
                                                                                          "led\":"
                                                                                          "true}},"
                                                                                          "{\"name"
                                                                                          "\":"
                                                                                          "\"b\","
                                                                                          "\"annota"
                                                                                          "tions\":"
                                                                                          "{\"istri"
                                                                                          "gger.io/"
                                                                                          "enabled"
                                                                                          "\":"
                                                                                          "\"true\""
                                                                                          "},"
                                                                                          "\"from\""
                                                                                          ":{"
                                                                                          "\"kind\""
                                                                                          ":\"Docke"
                                                                                          "rImage\""
                                                                                          ",\"name"
                                                                                          "\":\"r/"
                                                                                          "b:1\"}}]"
                                                                                          "}}",
        &t);
    assert_int_equal(t.ntags, 1);
    assert_string_equal(t.tags[0].tag, "b");
    sync_stream_tracking_clear(&t);
}

static void test_scheduled_tag_adopted_at_default_interval(void **state)
{
    (void)state;
    const char *js = STREAM_HEAD("null") "\"spec\":{\"tags\":["
                                         "{\"name\":\"s\",\"from\":{\"kind\":\"DockerImage\","
                                         "\"name\":\"r/s:1\"},\"importPolicy\":{\"scheduled\":"
                                         "true,\"insecure\":true,\"importMode\":"
                                         "\"PreserveOriginal\"}},"
                                         "{\"name\":\"u\",\"from\":{\"kind\":\"DockerImage\","
                                         "\"name\":\"r/u:1\"}}]}}";
    struct sync_stream_tracking t;
    track(js, &t);
    assert_int_equal(t.ntags, 1);
    assert_string_equal(t.tags[0].tag, "s");
    assert_int_equal(t.tags[0].why, SYNC_WHY_ADOPTED);
    assert_true(t.tags[0].interval_ns == 60 * NS_PER_SEC);
    assert_true(t.tags[0].insecure);
    assert_int_equal(t.tags[0].mode, SYNC_IMPORT_PRESERVE_ORIGINAL);
    sync_stream_tracking_clear(&t);

    /* Adoption off: nothing tracked. */
    struct sync_settings off = settings;
    off.adopt_scheduled = false;
    json_t *is = load(js);
    assert_int_equal(sync_track_stream(is, &off, &t), 0);
    assert_int_equal(t.ntags, 0);
    sync_stream_tracking_clear(&t);
    json_decref(is);
}

static void test_interval_below_minimum_raised_with_warning(void **state)
{
    (void)state;
    struct sync_stream_tracking t;
    track(STREAM_HEAD(
              "{\"istrigger.io/poll-interval\":\"2s\"}") "\"spec\":{\"tags\":["
                                                         "{\"name\":\"a\",\"from\":{\"kind\":"
                                                         "\"DockerImage\",\"name\":\"r/a:1\"}},"
                                                         "{\"name\":\"b\",\"annotations\":{"
                                                         "\"istrigger.io/poll-interval\":\"1s\"},"
                                                         "\"from\":{\"kind\":\"DockerImage\","
                                                         "\"name\":\"r/b:1\"}}]}}",
          &t);
    assert_int_equal(t.ntags, 2);
    assert_true(t.tags[0].interval_ns == 10 * NS_PER_SEC);
    assert_true(t.tags[1].interval_ns == 10 * NS_PER_SEC);
    assert_int_equal(t.nwarnings, 2);
    assert_string_equal(t.warnings[0].reason, SYNC_REASON_INTERVAL_RAISED);
    assert_non_null(strstr(t.warnings[0].message, "istrigger.io/poll-interval=2s on the stream"));
    assert_non_null(strstr(t.warnings[0].message, "10s"));
    assert_non_null(strstr(t.warnings[1].message, "=1s on tag b"));
    sync_stream_tracking_clear(&t);
}

static void test_invalid_values_warned_rest_of_stream_works(void **state)
{
    (void)state;
    struct sync_stream_tracking t;
    track(
        STREAM_HEAD(
            "{\"istrigger.io/poll-interval\":\"30s\"}") "\"spec\":{\"tags\":["
                                                        "{\"name\":\"bad\",\"annotations\":{"
                                                        "\"istrigger.io/poll-interval\":\"soon\"},"
                                                        "\"from\":{\"kind\":\"DockerImage\","
                                                        "\"name\":\"r/a:1\"}},"
                                                        "{\"name\":\"neg\",\"annotations\":{"
                                                        "\"istrigger.io/poll-interval\":\"-5m\","
                                                        "\"istrigger.io/enabled\":\"nope\"},"
                                                        "\"from\":{\"kind\":\"DockerImage\","
                                                        "\"name\":\"r/n:1\"}},"
                                                        "{\"name\":\"good\",\"from\":{\"kind\":"
                                                        "\"DockerImage\",\"name\":\"r/b:1\"}}]}}",
        &t);
    /* Invalid tag values fall back to the stream's interval. */
    assert_int_equal(t.ntags, 3);
    for (size_t i = 0; i < t.ntags; i++)
        assert_true(t.tags[i].interval_ns == 30 * NS_PER_SEC);
    assert_int_equal(t.nwarnings, 3);
    for (size_t i = 0; i < t.nwarnings; i++)
        assert_string_equal(t.warnings[i].reason, SYNC_REASON_INVALID_ANN);
    assert_non_null(strstr(t.warnings[0].message, "\"soon\""));
    assert_non_null(strstr(t.warnings[0].message, "istrigger.io/poll-interval"));
    assert_non_null(strstr(t.warnings[0].message, "tag bad"));
    assert_non_null(strstr(t.warnings[1].message, "istrigger.io/enabled"));
    assert_non_null(strstr(t.warnings[2].message, "\"-5m\""));
    sync_stream_tracking_clear(&t);

    /* An invalid stream value: nothing annotated, but scheduled tags are still adopted. */
    track(STREAM_HEAD(
              "{\"istrigger.io/poll-interval\":\"0\"}") "\"spec\":{\"tags\":["
                                                        "{\"name\":\"a\",\"from\":{\"kind\":"
                                                        "\"DockerImage\",\"name\":\"r/a:1\"}},"
                                                        "{\"name\":\"s\",\"from\":{\"kind\":"
                                                        "\"DockerImage\",\"name\":\"r/s:1\"},"
                                                        "\"importPolicy\":{\"scheduled\":true}}]}}",
          &t);
    assert_int_equal(t.ntags, 1);
    assert_string_equal(t.tags[0].tag, "s");
    assert_int_equal(t.nwarnings, 1);
    assert_non_null(strstr(t.warnings[0].message, "on the stream"));
    sync_stream_tracking_clear(&t);
}

static void test_not_an_imagestream_rejected(void **state)
{
    (void)state;
    struct sync_stream_tracking t;
    json_t *j = load("{\"metadata\":{}}");
    assert_int_equal(sync_track_stream(j, &settings, &t), -EINVAL);
    sync_stream_tracking_clear(&t);
    json_decref(j);
}

/* An index: arm64 first (nested platform, as in the index), then amd64 and s390x (flat, as
 * the registry client reports children). */
static const char *INDEX_CHILDREN =
    "[{\"digest\":\"sha256:arm\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
    "{\"digest\":\"sha256:amd\",\"architecture\":\"amd64\",\"os\":\"linux\"},"
    "{\"digest\":\"sha256:s390\",\"architecture\":\"s390x\",\"os\":\"linux\"}]";

static void test_legacy_picks_child_openshift_would_keep(void **state)
{
    (void)state;
    json_t *children = load(INDEX_CHILDREN);
    struct sync_tracked_tag t = {.tag = "m", .mode = SYNC_IMPORT_LEGACY};
    const struct sync_platform amd = {"linux", "amd64"}, s390 = {"linux", "s390x"},
                               ppc = {"linux", "ppc64le"};
    assert_string_equal(sync_expected_image(&t, "sha256:index", children, &amd), "sha256:amd");
    /* The control plane's platform first... */
    assert_string_equal(sync_expected_image(&t, "sha256:index", children, &s390), "sha256:s390");
    /* ...then linux/amd64 when the control plane's is missing. */
    assert_string_equal(sync_expected_image(&t, "sha256:index", children, &ppc), "sha256:amd");
    /* The tag's prefer-arch wins (prefer-os defaults to the control plane's). */
    t.prefer_arch = "arm64";
    assert_string_equal(sync_expected_image(&t, "sha256:index", children, &amd), "sha256:arm");
    /* No amd64 and no preferred match: the first entry. */
    json_t *two = load("[{\"digest\":\"sha256:a\",\"platform\":{\"architecture\":\"arm\","
                       "\"os\":\"linux\"}},{\"digest\":\"sha256:b\",\"platform\":"
                       "{\"architecture\":\"386\",\"os\":\"linux\"}}]");
    t.prefer_arch = "mips";
    assert_string_equal(sync_expected_image(&t, "sha256:i", two, &amd), "sha256:a");
    /* An empty index is an error, not a change. */
    json_t *none = json_array();
    assert_null(sync_expected_image(&t, "sha256:i", none, &amd));
    json_decref(none);
    json_decref(two);
    json_decref(children);
}

static void test_preserve_original_compares_index_digest(void **state)
{
    (void)state;
    json_t *children = load(INDEX_CHILDREN);
    const struct sync_platform amd = {"linux", "amd64"};
    struct sync_tracked_tag t = {
        .tag = "m", .mode = SYNC_IMPORT_PRESERVE_ORIGINAL, .current_image = "sha256:index"};
    const char *e = sync_expected_image(&t, "sha256:index", children, &amd);
    assert_string_equal(e, "sha256:index");
    assert_false(sync_tag_changed(&t, e));
    assert_true(sync_tag_changed(&t, "sha256:index2"));
    /* Legacy tag whose stored image is the amd64 child: unchanged although the index digest
     * differs from the stored image. */
    struct sync_tracked_tag l = {
        .tag = "m", .mode = SYNC_IMPORT_LEGACY, .current_image = "sha256:amd"};
    assert_false(sync_tag_changed(&l, sync_expected_image(&l, "sha256:index", children, &amd)));
    /* Never imported: changed. A single manifest: its own digest. */
    struct sync_tracked_tag n = {.tag = "n"};
    assert_true(sync_tag_changed(&n, sync_expected_image(&n, "sha256:x", NULL, &amd)));
    json_decref(children);
}

static const char *ISI_STREAM =
    STREAM_HEAD("{}") "\"spec\":{\"tags\":["
                      "{\"name\":\"v1\",\"from\":{\"kind\":\"DockerImage\",\"name\":"
                      "\"127.0.0.1:15000/app:v1\"},\"importPolicy\":{\"insecure\":true,"
                      "\"scheduled\":true,\"importMode\":\"PreserveOriginal\"},"
                      "\"referencePolicy\":{\"type\":\"Local\"}},"
                      "{\"name\":\"v2\",\"from\":{\"kind\":\"DockerImage\",\"name\":"
                      "\"127.0.0.1:15000/app:v2\"},\"importPolicy\":{\"importMode\":\"Legacy\"},"
                      "\"referencePolicy\":{\"type\":\"Source\"}},"
                      "{\"name\":\"alias\",\"from\":{\"kind\":\"ImageStreamTag\",\"name\":"
                      "\"web:v1\"}}]}}";

static void test_isi_echoes_policies_and_stream_identity(void **state)
{
    (void)state;
    json_t *is = load(ISI_STREAM);
    const char *tags[] = {"v1", "v2"};
    json_t *isi = sync_build_isi(is, tags, 2);
    assert_non_null(isi);
    json_t *want =
        load("{\"apiVersion\":\"image.openshift.io/v1\",\"kind\":\"ImageStreamImport\","
             "\"metadata\":{\"name\":\"web\",\"namespace\":\"app\",\"resourceVersion\":\"42\","
             "\"uid\":\"u-1\"},\"spec\":{\"import\":true,\"images\":["
             "{\"from\":{\"kind\":\"DockerImage\",\"name\":\"127.0.0.1:15000/app:v1\"},"
             "\"to\":{\"name\":\"v1\"},\"importPolicy\":{\"insecure\":true,\"scheduled\":true,"
             "\"importMode\":\"PreserveOriginal\"},\"referencePolicy\":{\"type\":\"Local\"},"
             "\"includeManifest\":false},"
             "{\"from\":{\"kind\":\"DockerImage\",\"name\":\"127.0.0.1:15000/app:v2\"},"
             "\"to\":{\"name\":\"v2\"},\"importPolicy\":{\"importMode\":\"Legacy\"},"
             "\"referencePolicy\":{\"type\":\"Source\"},\"includeManifest\":false}]},"
             "\"status\":{}}");
    assert_true(jsonx_equal(isi, want));
    json_decref(want);
    json_decref(isi);

    const char *bad[] = {"alias"};
    assert_null(sync_build_isi(is, bad, 1));
    const char *missing[] = {"nope"};
    assert_null(sync_build_isi(is, missing, 1));
    json_decref(is);
}

/* Reply shaped like transcript 04: a 201 with one failure per reason and one success; the
 * failed "down" image reports the SOURCE's tag "v1" in status.images[1].tag. */
static void test_isi_reply_checked_per_image_by_index(void **state)
{
    (void)state;
    json_t *req = load("{\"spec\":{\"images\":[{\"to\":{\"name\":\"missing\"}},"
                       "{\"to\":{\"name\":\"down\"}},{\"to\":{\"name\":\"v1\"}}]}}");
    json_t *reply = load(
        "{\"status\":{\"images\":["
        "{\"status\":{\"code\":404,\"message\":\"dockerimage.image.openshift.io "
        "\\\"127.0.0.1:15000/app:missing\\\" not found\",\"reason\":\"NotFound\","
        "\"status\":\"Failure\"},\"tag\":\"missing\"},"
        "{\"status\":{\"code\":500,\"message\":\"Internal error occurred: connection refused\","
        "\"reason\":\"InternalError\",\"status\":\"Failure\"},\"tag\":\"v1\"},"
        "{\"status\":{\"metadata\":{},\"status\":\"Success\"},\"tag\":\"v1\","
        "\"image\":{\"metadata\":{\"name\":\"sha256:8165\"}}}]}}");
    struct sync_isi_result *r;
    size_t n;
    assert_int_equal(sync_parse_isi_result(req, reply, &r, &n), 0);
    assert_int_equal(n, 3);
    assert_false(r[0].success);
    assert_int_equal(r[0].code, 404);
    assert_string_equal(r[0].reason, "NotFound");
    assert_string_equal(r[1].tag, "down");
    assert_false(r[1].success);
    assert_string_equal(r[1].reason, "InternalError");
    assert_true(r[2].success);
    assert_string_equal(r[2].image, "sha256:8165");
    sync_isi_results_free(r, n);

    json_t *short_reply = load("{\"status\":{\"images\":[]}}");
    assert_int_equal(sync_parse_isi_result(req, short_reply, &r, &n), 0);
    assert_false(r[0].success);
    assert_string_equal(r[0].reason, "NoStatus");
    sync_isi_results_free(r, n);
    json_t *garbage = load("{\"kind\":\"Status\"}");
    assert_int_equal(sync_parse_isi_result(req, garbage, &r, &n), -EBADMSG);
    json_decref(garbage);
    json_decref(short_reply);
    json_decref(reply);
    json_decref(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_annotation_tracks_importable_tags_only),
        cmocka_unit_test(test_tag_annotation_wins_over_stream),
        cmocka_unit_test(test_stream_opt_out_and_tag_opt_back_in),
        cmocka_unit_test(test_scheduled_tag_adopted_at_default_interval),
        cmocka_unit_test(test_interval_below_minimum_raised_with_warning),
        cmocka_unit_test(test_invalid_values_warned_rest_of_stream_works),
        cmocka_unit_test(test_not_an_imagestream_rejected),
        cmocka_unit_test(test_legacy_picks_child_openshift_would_keep),
        cmocka_unit_test(test_preserve_original_compares_index_digest),
        cmocka_unit_test(test_isi_echoes_policies_and_stream_identity),
        cmocka_unit_test(test_isi_reply_checked_per_image_by_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
