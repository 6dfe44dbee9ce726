/* Unit tests for manifest digests, media types, index children and platform choice
 * (registry/manifest.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/registry/client.h"
#include "istrigger/registry/manifest.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"

#define D1 "sha256:45a3f1517a20f3176b794704f4d8fb53900217a08dd3e45658008dd196cf11f4"
#define D2 "sha256:34381a8b84bd73728ad0708bdffcd8592676f9e1df5f7bd0a9fcb44146a28ad1"
#define D3 "sha256:509b19a670449b7d3fdede30f455a39b05b25e7c04bb467719aa1fdd5c63e7d1"

static const char index_doc[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1
    "\",\"size\":401,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2
    "\",\"size\":402,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3
    "\",\"size\":403,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}}]}";

static void test_sha256_of_known_bytes(void **state)
{
    char out[REGISTRY_DIGEST_MAX];
    (void)state;
    assert_int_equal(registry_digest_compute(NULL, "abc", 3, out), 0);
    assert_string_equal(out,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(registry_digest_compute("sha512", "", 0, out), 0);
    assert_int_equal(strncmp(out, "sha512:cf83e1357eefb8bd", 23), 0);
    assert_int_equal(strlen(out), 7 + 128);
    assert_int_equal(registry_digest_compute("md5", "", 0, out), -EINVAL);
}

static void test_digest_mismatch_is_a_content_integrity_error(void **state)
{
    (void)state;
    assert_int_equal(
        registry_digest_verify(
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc", 3),
        0);
    assert_int_equal(registry_digest_verify(D1, "abc", 3), -EBADMSG);
    assert_non_null(strstr(err_msg(), "content integrity error"));
    assert_non_null(strstr(err_msg(), D1));
    assert_int_equal(registry_digest_verify("nocolon", "abc", 3), -EINVAL);
}

static void test_index_children_with_platforms(void **state)
{
    char *mt = NULL;
    json_t *children = NULL;
    (void)state;
    assert_int_equal(
        registry_manifest_parse(index_doc, sizeof(index_doc) - 1, NULL, &mt, &children), 0);
    assert_string_equal(mt, REGISTRY_MT_OCI_INDEX);
    assert_int_equal(json_array_size(children), 3);
    assert_string_equal(jsonx_str(json_array_get(children, 1), "variant"), "v7");
    assert_int_equal(jsonx_int(json_array_get(children, 0), 0, "size"), 401);
    assert_null(jsonx_get(json_array_get(children, 0), "variant"));

    int e = 0;
    assert_string_equal(jsonx_str(registry_index_select(children, "linux/arm64", &e), "digest"),
                        D3);
    assert_string_equal(jsonx_str(registry_index_select(children, "linux/arm", &e), "digest"), D2);
    assert_string_equal(jsonx_str(registry_index_select(children, "linux/arm/v7", &e), "digest"),
                        D2);
    assert_null(registry_index_select(children, "linux/arm/v6", &e));
    assert_int_equal(e, -ENOENT);
    assert_non_null(strstr(err_msg(), "linux/amd64, linux/arm/v7, linux/arm64"));
    assert_null(registry_index_select(children, "windows/amd64", &e));
    assert_int_equal(e, -ENOENT);
    assert_null(registry_index_select(children, "linux", &e));
    assert_int_equal(e, -EINVAL);
    assert_null(registry_index_select(children, "linux/", &e));
    assert_int_equal(e, -EINVAL);
    assert_null(registry_index_select(children, "/amd64", &e));
    assert_int_equal(e, -EINVAL);
    free(mt);
    json_decref(children);
}

static void test_media_type_from_body_header_or_shape(void **state)
{
    char *mt = NULL;
    json_t *children = NULL;
    const char *m = "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}";
    (void)state;
    assert_int_equal(registry_manifest_parse(m, strlen(m), REGISTRY_MT_DOCKER_V2 "; charset=utf-8",
                                             &mt, &children),
                     0);
    assert_string_equal(mt, REGISTRY_MT_DOCKER_V2);
    assert_null(children);
    free(mt);
    assert_int_equal(registry_manifest_parse(m, strlen(m), "application/json", &mt, NULL), 0);
    assert_string_equal(mt, REGISTRY_MT_OCI_MANIFEST);
    free(mt);
    m = "{\"manifests\":[]}";
    assert_int_equal(registry_manifest_parse(m, strlen(m), NULL, &mt, &children), 0);
    assert_string_equal(mt, REGISTRY_MT_OCI_INDEX);
    assert_int_equal(json_array_size(children), 0);
    free(mt);
    json_decref(children);
}

static void test_malformed_manifests(void **state)
{
    static const char *const bad[] = {"",
                                      "[]",
                                      "{}",
                                      "{\"mediaType\":\"" REGISTRY_MT_OCI_INDEX "\"}",
                                      "{\"mediaType\":\"" REGISTRY_MT_DOCKER_LIST
                                      "\",\"manifests\":[{\"digest\":\"x\"}]}",
                                      "{\"manifests\":[42]}",
                                      "{\"manifests\":[{\"digest\":\"sha256:abc\"}]}"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *mt = (char *)1;
        json_t *children = (json_t *)1;
        int r = registry_manifest_parse(bad[i], strlen(bad[i]), NULL, &mt, &children);
        if (r != -EBADMSG) {
            print_error("\"%s\": got %d\n", bad[i], r);
            fail();
        }
        assert_null(mt);
        assert_null(children);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_of_known_bytes),
        cmocka_unit_test(test_digest_mismatch_is_a_content_integrity_error),
        cmocka_unit_test(test_index_children_with_platforms),
        cmocka_unit_test(test_media_type_from_body_header_or_shape),
        cmocka_unit_test(test_malformed_manifests),
    };
    return cmocka_run_group_tests_name("registry_manifest", tests, NULL, NULL);
}
