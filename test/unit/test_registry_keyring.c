/* Unit tests for the registry keyring (registry/keyring.h): dockerconfigjson / dockercfg /
 * auth.json parsing and the kubelet matching rules the importer uses (reference §3.5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/registry/keyring.h"
#include "istrigger/util/err.h"

static const struct registry_credential *lookup(struct keyring *kr, const char *image)
{
    struct image_ref r;
    const struct registry_credential *c;
    assert_int_equal(image_ref_parse(image, &r), 0);
    c = keyring_lookup(kr, &r);
    image_ref_free(&r);
    return c;
}

static int add(struct keyring *kr, const char *json, const char *src)
{
    return keyring_add_json(kr, json, strlen(json), src);
}

static void test_dockerconfigjson_auth_and_username_password(void **state)
{
    struct keyring *kr = keyring_new();
    const struct registry_credential *c;
    (void)state;
    /* "dXNlcjpwYTpzcw==" is base64("user:pa:ss"): the password keeps its colon */
    assert_int_equal(add(kr,
                         "{\"auths\":{\"quay.io\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
                         "\"127.0.0.1:5000\":{\"username\":\"u2\",\"password\":\"p2\"},"
                         "\"reg.example.com\":{\"identitytoken\":\"refresh\"}},"
                         "\"credsStore\":\"desktop\"}",
                         "secret web/pull"),
                     3);
    c = lookup(kr, "quay.io/org/app:v1");
    assert_non_null(c);
    assert_string_equal(c->username, "user");
    assert_string_equal(c->password, "pa:ss");
    assert_string_equal(c->source, "secret web/pull");
    assert_string_equal(c->key, "quay.io");
    c = lookup(kr, "127.0.0.1:5000/app");
    assert_non_null(c);
    assert_string_equal(c->username, "u2");
    assert_null(lookup(kr, "127.0.0.1:5001/app"));
    assert_null(lookup(kr, "127.0.0.1/app"));
    c = lookup(kr, "reg.example.com/a");
    assert_string_equal(c->identity_token, "refresh");
    assert_null(c->username);
    assert_null(lookup(kr, "docker.io/library/nginx"));
    keyring_free(kr);
}

static void test_most_specific_path_wins_and_first_source_wins_ties(void **state)
{
    struct keyring *kr = keyring_new();
    (void)state;
    assert_int_equal(add(kr,
                         "{\"auths\":{\"quay.io\":{\"username\":\"host\",\"password\":\"x\"},"
                         "\"quay.io/org\":{\"username\":\"org\",\"password\":\"x\"},"
                         "\"https://quay.io/org/app\":{\"username\":\"app\",\"password\":\"x\"}}}",
                         "first"),
                     3);
    assert_int_equal(add(kr, "{\"quay.io/org\":{\"username\":\"later\",\"password\":\"y\"}}",
                         "second (dockercfg)"),
                     1);
    assert_string_equal(lookup(kr, "quay.io/org/app:1")->username, "app");
    assert_string_equal(lookup(kr, "quay.io/org/other")->username, "org");
    assert_string_equal(lookup(kr, "quay.io/org/other")->source, "first");
    assert_string_equal(lookup(kr, "quay.io/else/x")->username, "host");
    assert_int_equal(keyring_size(kr), 4);
    keyring_free(kr);
}

static void test_docker_hub_keys_all_match_docker_hub_images(void **state)
{
    static const char *const keys[] = {"docker.io", "index.docker.io",
                                       "https://index.docker.io/v1/",
                                       "https://index.docker.io/v2/"};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        struct keyring *kr = keyring_new();
        char doc[256];
        snprintf(doc, sizeof(doc), "{\"auths\":{\"%s\":{\"username\":\"hub\",\"password\":\"p\"}}}",
                 keys[i]);
        assert_int_equal(add(kr, doc, "auth.json"), 1);
        assert_non_null(lookup(kr, "nginx"));
        assert_non_null(lookup(kr, "docker.io/library/nginx:1.25"));
        assert_non_null(lookup(kr, "index.docker.io/user/app"));
        assert_null(lookup(kr, "quay.io/nginx"));
        keyring_free(kr);
    }
}

static void test_globs_and_ports(void **state)
{
    struct keyring *kr = keyring_new();
    (void)state;
    assert_int_equal(add(kr,
                         "{\"auths\":{\"*.example.com\":{\"username\":\"glob\",\"password\":\"x\"},"
                         "\"localhost:5000\":{\"username\":\"lp\",\"password\":\"x\"}}}",
                         "s"),
                     2);
    assert_string_equal(lookup(kr, "a.example.com/x")->username, "glob");
    assert_null(lookup(kr, "a.b.example.com/x")); /* label count differs */
    assert_null(lookup(kr, "example.com/x"));
    assert_string_equal(lookup(kr, "localhost:5000/x")->username, "lp");
    assert_null(lookup(kr, "localhost/x"));
    keyring_free(kr);
}

static void test_bad_documents_are_rejected_whole_without_leaking_secrets(void **state)
{
    struct keyring *kr = keyring_new();
    (void)state;
    assert_int_equal(add(kr, "not json", "secret a/b"), -EINVAL);
    assert_non_null(strstr(err_msg(), "secret a/b"));
    assert_int_equal(add(kr, "[1]", "s"), -EINVAL);
    assert_int_equal(add(kr, "{\"auths\":[]}", "s"), -EINVAL);
    /* The second entry is bad: nothing of the document is kept. */
    assert_int_equal(add(kr,
                         "{\"auths\":{\"a.io\":{\"auth\":\"dTpw\"},"
                         "\"b.io\":{\"auth\":\"c2VjcmV0bm9jb2xvbg==\"}}}",
                         "secret x/y"),
                     -EINVAL);
    assert_non_null(strstr(err_msg(), "b.io"));
    assert_null(strstr(err_msg(), "secretnocolon"));
    assert_null(strstr(err_msg(), "c2VjcmV0bm9jb2xvbg"));
    assert_int_equal(keyring_size(kr), 0);
    assert_int_equal(add(kr, "{\"auths\":{\"a.io\":{\"auth\":\"!!!\"}}}", "s"), -EINVAL);
    assert_int_equal(add(kr, "{}", "empty"), 0);
    /* Found by fuzz_keyring: documents with no usable entry on an empty keyring (qsort on a
     * NULL array under UBSan). */
    assert_int_equal(add(kr, "{\"auths\":{\"x.io\":1,\"y.io\":[]}}", "no entries"), 0);
    assert_null(lookup(kr, "a.io/x"));
    assert_int_equal(keyring_add_file(kr, "/nonexistent/auth.json"), -ENOENT);
    keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dockerconfigjson_auth_and_username_password),
        cmocka_unit_test(test_most_specific_path_wins_and_first_source_wins_ties),
        cmocka_unit_test(test_docker_hub_keys_all_match_docker_hub_images),
        cmocka_unit_test(test_globs_and_ports),
        cmocka_unit_test(test_bad_documents_are_rejected_whole_without_leaking_secrets),
    };
    return cmocka_run_group_tests_name("registry_keyring", tests, NULL, NULL);
}
