/* Unit tests for image reference parsing (registry/ref.h): the Distribution grammar's edge
 * cases and OpenShift's Docker Hub normalisation (reference §8.1), table-driven. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/registry/ref.h"
#include "istrigger/util/err.h"

#define D64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UD64 "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

struct good_case {
    const char *in;
    const char *registry, *repository, *tag, *digest, *formatted, *api_host;
};

static const struct good_case good[] = {
    {"nginx", "docker.io", "library/nginx", "latest", NULL, "docker.io/library/nginx:latest",
     "registry-1.docker.io"},
    {"nginx:1.25", "docker.io", "library/nginx", "1.25", NULL, "docker.io/library/nginx:1.25",
     "registry-1.docker.io"},
    {"library/nginx", "docker.io", "library/nginx", "latest", NULL, NULL, NULL},
    {"docker.io/nginx", "docker.io", "library/nginx", "latest", NULL, NULL, NULL},
    {"index.docker.io/nginx:1", "docker.io", "library/nginx", "1", NULL,
     "docker.io/library/nginx:1", "registry-1.docker.io"},
    {"registry-1.docker.io/library/nginx", "docker.io", "library/nginx", "latest", NULL, NULL,
     NULL},
    {"user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest", NULL},
    {"quay.io/a/b/c:v1", "quay.io", "a/b/c", "v1", NULL, "quay.io/a/b/c:v1", "quay.io"},
    {"quay.io/app", "quay.io", "app", "latest", NULL, NULL, NULL},
    {"localhost/foo", "localhost", "foo", "latest", NULL, NULL, "localhost"},
    {"localhost:5000/foo:tag", "localhost:5000", "foo", "tag", NULL, NULL, "localhost:5000"},
    {"localhost", "docker.io", "library/localhost", "latest", NULL, NULL, NULL},
    {"foo:5000", "docker.io", "library/foo", "5000", NULL, NULL, NULL},
    {"foo:5000/bar", "foo:5000", "bar", "latest", NULL, NULL, NULL},
    {"127.0.0.1:5000/app@sha256:" D64, "127.0.0.1:5000", "app", NULL, "sha256:" D64,
     "127.0.0.1:5000/app@sha256:" D64, NULL},
    {"app:v1@sha256:" D64, "docker.io", "library/app", "v1", "sha256:" D64,
     "docker.io/library/app:v1@sha256:" D64, NULL},
    {"[::1]:5000/app:v1", "[::1]:5000", "app", "v1", NULL, NULL, NULL},
    {"[fe80::1]/app", "[fe80::1]", "app", "latest", NULL, NULL, NULL},
    {"Example.COM/x", "Example.COM", "x", "latest", NULL, NULL, NULL},
    {"my-registry.example.com:443/team/app:2.0.1-rc_1", "my-registry.example.com:443", "team/app",
     "2.0.1-rc_1", NULL, NULL, NULL},
    {"a-----b", "docker.io", "library/a-----b", "latest", NULL, NULL, NULL},
    {"a__b/c.d_e", "docker.io", "a__b/c.d_e", "latest", NULL, NULL, NULL},
    {"x:_Tag.With-Caps", "docker.io", "library/x", "_Tag.With-Caps", NULL, NULL, NULL},
    {"quay.io/app@sha512:" D64 D64, "quay.io", "app", NULL, "sha512:" D64 D64, NULL, NULL},
    {"quay.io/app@multihash+base58:" D64, "quay.io", "app", NULL, "multihash+base58:" D64, NULL,
     NULL},
    {"0/1", "docker.io", "0/1", "latest", NULL, NULL, NULL},
};

struct bad_case {
    const char *in;
    const char *why; /* substring of the message */
};

static const struct bad_case bad[] = {
    {"", "empty"},
    {"Nginx", "must be lowercase"},
    {"docker.io/Library/nginx", "must be lowercase"},
    {"nginx:", "empty tag"},
    {"nginx:-bad", "tag must start"},
    {"nginx:a/b", "port"}, /* ":" before the last "/" makes "nginx:a" a registry */
    {"nginx:bad!", "tag may contain only"},
    {"nginx@sha256:abc", "malformed digest"},
    {"nginx@sha256:" UD64, "malformed digest"},
    {"nginx@" D64, "malformed digest"},
    {"nginx@:" D64, "malformed digest"},
    {"nginx@sha256:" D64 "0", "malformed digest"},
    {"nginx@1sha:" D64, "malformed digest"},
    {"a__-b", "start and end"},
    {"a___b", "start and end"},
    {"-nginx", "start and end"},
    {"nginx-", "start and end"},
    {"a//b", "empty path component"},
    {"/a", "empty"},
    {"a/", "empty path component"},
    {"a b", "may contain only"},
    {"a..b", "start and end"},
    {"example.com:abc/x", "port"},
    {"example.com:123456/x", "port"},
    {"-example.com/x", "host name"},
    {"example..com/x", "host name"},
    {"exa_mple.com/x", "host name"},
    {"[zz:1]/x", "IPv6"},
    {"[zz]/x", "start and end"},
    {"[::1]x/app", "port"},
    {"example.com/", "empty path component"},
    {":tag", "empty repository"},
    {"@sha256:" D64, "empty repository"},
};

static void expect_str(const char *want, const char *got, const char *in, const char *field)
{
    if (!want && !got)
        return;
    if (!want || !got || strcmp(want, got) != 0) {
        print_error("%s: %s = \"%s\", want \"%s\"\n", in, field, got ? got : "(null)",
                    want ? want : "(null)");
        fail();
    }
}

static void test_valid_references_are_normalised_like_the_importer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const struct good_case *c = &good[i];
        struct image_ref r;
        int rc = image_ref_parse(c->in, &r);
        if (rc != 0) {
            print_error("%s: rejected: %s\n", c->in, err_msg());
            fail();
        }
        expect_str(c->registry, r.registry, c->in, "registry");
        expect_str(c->repository, r.repository, c->in, "repository");
        expect_str(c->tag, r.tag, c->in, "tag");
        expect_str(c->digest, r.digest, c->in, "digest");
        expect_str(c->in, r.original, c->in, "original");
        if (c->formatted) {
            char *f = image_ref_format(&r);
            expect_str(c->formatted, f, c->in, "format");
            free(f);
        }
        if (c->api_host)
            expect_str(c->api_host, image_ref_api_host(&r), c->in, "api host");
        expect_str(c->digest ? c->digest : c->tag, image_ref_manifest_ref(&r), c->in,
                   "manifest ref");
        image_ref_free(&r);
    }
}

static void test_invalid_references_are_rejected_with_a_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct image_ref r;
        int rc = image_ref_parse(bad[i].in, &r);
        if (rc != -EINVAL) {
            print_error("%s: accepted or wrong code %d (registry %s repo %s)\n", bad[i].in, rc,
                        r.registry, r.repository);
            fail();
        }
        if (!strstr(err_msg(), bad[i].why) || !strstr(err_msg(), "invalid image reference")) {
            print_error("%s: message \"%s\" lacks \"%s\"\n", bad[i].in, err_msg(), bad[i].why);
            fail();
        }
        assert_null(r.registry);
        image_ref_free(&r);
    }
}

static void test_length_limits(void **state)
{
    char name[300], tag[200];
    struct image_ref r;
    (void)state;

    /* 255 characters including the registry: "quay.io/" + 247 */
    strcpy(name, "quay.io/");
    memset(name + 8, 'a', 247);
    name[255] = '\0';
    assert_int_equal(image_ref_parse(name, &r), 0);
    image_ref_free(&r);
    name[255] = 'a';
    name[256] = '\0';
    assert_int_equal(image_ref_parse(name, &r), -EINVAL);
    assert_non_null(strstr(err_msg(), "longer than 255"));

    /* Found by fuzz_image_ref: a Docker Hub name that fits as written but not once it becomes
     * "docker.io/library/..." must be rejected, or its formatted form would not parse. */
    memset(name, 'a', 250);
    name[250] = '\0';
    assert_int_equal(image_ref_parse(name, &r), -EINVAL);
    assert_non_null(strstr(err_msg(), "once normalised"));
    memset(name, 'a', 255 - 18);
    name[255 - 18] = '\0';
    assert_int_equal(image_ref_parse(name, &r), 0);
    char *f = image_ref_format(&r);
    struct image_ref again;
    assert_int_equal(strlen(f), 255 + strlen(":latest"));
    assert_int_equal(image_ref_parse(f, &again), 0);
    image_ref_free(&again);
    free(f);
    image_ref_free(&r);

    strcpy(tag, "x:");
    memset(tag + 2, 't', 128);
    tag[130] = '\0';
    assert_int_equal(image_ref_parse(tag, &r), 0);
    assert_int_equal(strlen(r.tag), 128);
    image_ref_free(&r);
    tag[130] = 't';
    tag[131] = '\0';
    assert_int_equal(image_ref_parse(tag, &r), -EINVAL);
    assert_non_null(strstr(err_msg(), "longer than 128"));
}

static void test_copy_and_docker_hub_names(void **state)
{
    struct image_ref a, b;
    (void)state;
    assert_int_equal(image_ref_parse("quay.io/org/app:v2@sha256:" D64, &a), 0);
    assert_int_equal(image_ref_copy(&b, &a), 0);
    image_ref_free(&a);
    assert_string_equal(b.registry, "quay.io");
    assert_string_equal(b.tag, "v2");
    char *repo = image_ref_format_repo(&b);
    assert_string_equal(repo, "quay.io/org/app");
    free(repo);
    image_ref_free(&b);
    image_ref_free(NULL);
    assert_true(image_ref_is_docker_hub("index.docker.io"));
    assert_true(image_ref_is_docker_hub("registry-1.docker.io"));
    assert_false(image_ref_is_docker_hub("docker.io:5000"));
    assert_false(image_ref_is_docker_hub(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_references_are_normalised_like_the_importer),
        cmocka_unit_test(test_invalid_references_are_rejected_with_a_reason),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_copy_and_docker_hub_names),
    };
    return cmocka_run_group_tests_name("image_ref", tests, NULL, NULL);
}
