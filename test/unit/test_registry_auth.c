/* Unit tests for WWW-Authenticate challenges and bearer token replies (registry/auth.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/registry/auth.h"
#include "istrigger/util/err.h"
#include "istrigger/util/timeutil.h"

static void test_bearer_challenge_with_quoted_commas(void **state)
{
    struct registry_challenge c;
    (void)state;
    assert_int_equal(
        registry_challenge_parse(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
            "scope=\"repository:samalba/my-app:pull,push\"",
            &c),
        0);
    assert_int_equal(c.scheme, REGISTRY_AUTH_BEARER);
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:samalba/my-app:pull,push");
    registry_challenge_free(&c);
}

static void test_basic_and_case_and_escapes_and_spaces(void **state)
{
    struct registry_challenge c;
    (void)state;
    assert_int_equal(registry_challenge_parse("basic REALM = \"my \\\"realm\\\"\"", &c), 0);
    assert_int_equal(c.scheme, REGISTRY_AUTH_BASIC);
    assert_string_equal(c.realm, "my \"realm\"");
    registry_challenge_free(&c);
    assert_int_equal(registry_challenge_parse("Bearer realm=http://x/token,service=reg", &c), 0);
    assert_string_equal(c.realm, "http://x/token");
    assert_string_equal(c.service, "reg");
    assert_null(c.scope);
    registry_challenge_free(&c);
    assert_int_equal(registry_challenge_parse("Bearer", &c), 0);
    assert_int_equal(c.scheme, REGISTRY_AUTH_BEARER);
    assert_null(c.realm);
    registry_challenge_free(&c);
}

static void test_several_challenges_prefer_bearer(void **state)
{
    struct registry_challenge c;
    (void)state;
    assert_int_equal(registry_challenge_parse("Basic realm=\"a\", Bearer realm=\"https://t/x\","
                                              "service=\"s\", error=\"insufficient_scope\"",
                                              &c),
                     0);
    assert_int_equal(c.scheme, REGISTRY_AUTH_BEARER);
    assert_string_equal(c.realm, "https://t/x");
    assert_string_equal(c.error, "insufficient_scope");
    registry_challenge_free(&c);
    assert_int_equal(registry_challenge_parse("Negotiate abc==, Basic realm=\"r\"", &c), 0);
    assert_int_equal(c.scheme, REGISTRY_AUTH_BASIC);
    registry_challenge_free(&c);
    assert_int_equal(registry_challenge_parse("Negotiate", &c), 0);
    assert_int_equal(c.scheme, REGISTRY_AUTH_OTHER);
    registry_challenge_free(&c);
}

static void test_malformed_challenges(void **state)
{
    static const char *const bad[] = {"",
                                      "   ",
                                      "Bearer realm=\"unterminated",
                                      "Bearer realm=",
                                      "=x",
                                      "Bearer realm=\"a\" service=\"b\"",
                                      "Bearer @"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct registry_challenge c;
        int r = registry_challenge_parse(bad[i], &c);
        if (r != -EBADMSG) {
            print_error("\"%s\": got %d\n", bad[i], r);
            fail();
        }
        assert_non_null(strstr(err_msg(), "WWW-Authenticate"));
        registry_challenge_free(&c);
    }
}

static void test_token_lifetime_honours_expires_in_and_issued_at(void **state)
{
    char *tok = NULL;
    int64_t life = 0, now;
    (void)state;
    assert_int_equal(time_parse_rfc3339("2026-11-22T03:00:00Z", &now), 0);

    /* expires_in 300 from now: 300 s minus a tenth capped at 10 s */
    assert_int_equal(
        registry_token_parse("{\"token\":\"t1\",\"expires_in\":300}", 31, now, &tok, &life), 0);
    assert_string_equal(tok, "t1");
    assert_int_equal(life, 290 * NS_PER_SEC);
    free(tok);

    /* default 60 s, access_token accepted */
    const char *b = "{\"access_token\":\"t2\"}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), 0);
    assert_string_equal(tok, "t2");
    assert_int_equal(life, 54 * NS_PER_SEC);
    free(tok);

    /* issued 100 s ago with 300 s: 200 s left, minus 10 */
    b = "{\"token\":\"t3\",\"expires_in\":300,\"issued_at\":\"2026-11-22T02:58:20Z\"}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), 0);
    assert_int_equal(life, 190 * NS_PER_SEC);
    free(tok);

    /* issued in the future (clock skew): not longer than expires_in from now */
    b = "{\"token\":\"t4\",\"expires_in\":100,\"issued_at\":\"2026-11-22T03:10:00Z\"}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), 0);
    assert_int_equal(life, 90 * NS_PER_SEC);
    free(tok);

    /* already expired: lifetime 0 (use once, never cache) */
    b = "{\"token\":\"t5\",\"expires_in\":60,\"issued_at\":\"2026-11-22T01:00:00Z\"}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), 0);
    assert_int_equal(life, 0);
    free(tok);

    /* Found by fuzz_token: issued_at centuries away overflowed the nanosecond conversion
     * (UBSan); such a time is now ignored and expires_in counts from now. */
    b = "{\"token\":\"t\",\"access_token\":\"a\",\"expires_in\":1.5e3,"
        "\"issued_at\":\"1013-11-22T02:58:20.123426789+02:00\",\"refresh_token\":\"r\"}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), 0);
    assert_string_equal(tok, "t");
    assert_int_equal(life, 1490 * NS_PER_SEC);
    free(tok);
    /* Found by fuzz_token: an issued_at near the edge of the range overflowed "now - issued"
     * (UBSan); and "+02:0r" passed as a zone offset. */
    b = "{\"token\":\"t\",\"issued_at\":\"1700-01-02T00:08:02Z\"}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), 0);
    assert_int_equal(life, 0);
    free(tok);
    int64_t far;
    assert_int_equal(time_parse_rfc3339("1732-1-2T0:8:2+02:0r", &far), -EINVAL);
    assert_int_equal(time_parse_rfc3339("2026-11-22T03:00:00+02:00", &far), 0);
    assert_int_equal(far, now - 2 * 3600 * NS_PER_SEC);
    assert_int_equal(time_parse_rfc3339("9999-01-01T00:00:00Z", &far), -EINVAL);
    assert_int_equal(time_parse_rfc3339("1013-11-22T02:58:20Z", &far), -EINVAL);

    b = "{\"expires_in\":60}";
    assert_int_equal(registry_token_parse(b, strlen(b), now, &tok, &life), -EBADMSG);
    assert_null(tok);
    assert_int_equal(registry_token_parse("<html>", 6, now, &tok, &life), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_challenge_with_quoted_commas),
        cmocka_unit_test(test_basic_and_case_and_escapes_and_spaces),
        cmocka_unit_test(test_several_challenges_prefer_bearer),
        cmocka_unit_test(test_malformed_challenges),
        cmocka_unit_test(test_token_lifetime_honours_expires_in_and_issued_at),
    };
    return cmocka_run_group_tests_name("registry_auth", tests, NULL, NULL);
}
