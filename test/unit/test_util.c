/* Unit tests for the shared basics: errors, strbuf, JSON helpers, base64, time, logging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

static void test_error_context_reads_outside_in(void **state)
{
    (void)state;
    assert_int_equal(err_set(-EACCES, "401 Unauthorized"), -EACCES);
    assert_int_equal(err_wrap(-EACCES, "HEAD manifest"), -EACCES);
    assert_int_equal(err_wrap(-EACCES, "resolving %s", "docker.io/library/nginx:1.25"), -EACCES);
    assert_string_equal(err_msg(),
                        "resolving docker.io/library/nginx:1.25: HEAD manifest: 401 Unauthorized");
    assert_int_equal(err_code(), -EACCES);
    assert_string_equal(err_name(-ETIMEDOUT), "ETIMEDOUT");
    err_clear();
    assert_string_equal(err_msg(), "");
}

static void test_strbuf_grows_and_consumes(void **state)
{
    _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
    (void)state;
    assert_string_equal(strbuf_str(&sb), "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(strbuf_printf(&sb, "%d,", i), 0);
    assert_int_equal(strncmp(strbuf_str(&sb), "0,1,2,", 6), 0);
    strbuf_consume(&sb, 4);
    assert_int_equal(strncmp(strbuf_str(&sb), "2,3,", 4), 0);
    char *s = strbuf_detach(&sb);
    assert_int_equal(sb.len, 0);
    free(s);
}

static void test_jsonx_paths_with_dotted_keys(void **state)
{
    static const char doc[] =
        "{\"metadata\":{\"name\":\"web\",\"generation\":3,\"annotations\":"
        "{\"image.openshift.io/triggers\":\"[]\"}},\"spec\":{\"paused\":true,"
        "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"image\":\"x\"}]}}";
    _cleanup_json_ json_t *obj = jsonx_loadb(doc, sizeof(doc) - 1, "test object");
    size_t idx = 99;
    (void)state;
    assert_non_null(obj);
    assert_string_equal(jsonx_str(obj, "metadata", "name"), "web");
    assert_string_equal(jsonx_str(obj, "metadata", "annotations", "image.openshift.io/triggers"),
                        "[]");
    assert_null(jsonx_str(obj, "metadata", "missing"));
    assert_null(jsonx_str(obj, "metadata", "generation"));
    assert_int_equal(jsonx_int(obj, -1, "metadata", "generation"), 3);
    assert_int_equal(jsonx_int(obj, -1, "metadata", "name"), -1);
    assert_true(jsonx_bool(obj, false, "spec", "paused"));
    json_t *c = jsonx_array_find(jsonx_get(obj, "spec", "containers"), "name", "b", &idx);
    assert_non_null(c);
    assert_int_equal(idx, 1);
    assert_int_equal(jsonx_set(obj, json_string("v"), "status", "deep", "key"), 0);
    assert_string_equal(jsonx_str(obj, "status", "deep", "key"), "v");
    _cleanup_free_ char *dump = jsonx_dump(jsonx_get(obj, "status"));
    assert_string_equal(dump, "{\"deep\":{\"key\":\"v\"}}");
}

static void test_jsonx_load_error_names_input(void **state)
{
    (void)state;
    assert_null(jsonx_loadb("{\"a\":", 5, "watch event"));
    assert_non_null(strstr(err_msg(), "parsing watch event: line 1"));
}

static void test_base64_round_trip_and_unpadded(void **state)
{
    size_t n;
    (void)state;
    _cleanup_free_ char *enc = base64_encode((const unsigned char *)"user:pass", 9);
    assert_string_equal(enc, "dXNlcjpwYXNz");
    _cleanup_free_ unsigned char *dec = base64_decode("dXNlcjpwYXNz", &n);
    assert_int_equal(n, 9);
    assert_memory_equal(dec, "user:pass", 9);
    _cleanup_free_ unsigned char *dec2 = base64_decode("YQ", &n);
    assert_int_equal(n, 1);
    assert_int_equal(dec2[0], 'a');
    assert_null(base64_decode("!!!!", &n));
}

static void test_rfc3339_round_trip(void **state)
{
    int64_t ns;
    char buf[40];
    (void)state;
    assert_int_equal(time_parse_rfc3339("2025-01-01T00:00:00Z", &ns), 0);
    assert_true(ns == 1735689600LL * NS_PER_SEC);
    time_format_rfc3339(ns, buf, sizeof(buf), false);
    assert_string_equal(buf, "2025-01-01T00:00:00Z");
    assert_int_equal(time_parse_rfc3339("2025-01-01T01:00:00.250+01:00", &ns), 0);
    assert_true(ns == 1735689600LL * NS_PER_SEC + 250 * NS_PER_MS);
    assert_true(time_parse_rfc3339("2025-01-01 00:00:00", &ns) < 0);
}

static void test_log_lines_are_structured_and_escaped(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    log_set_output(f);
    log_configure(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT);
    log_debug("ns/x", "hidden");
    log_info("web/app", "imported \"%s\"\n", "1.25");
    log_configure(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
    log_warn(NULL, "tab\there");
    log_set_output(NULL);
    fclose(f);
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, "level=info object=\"web/app\" msg=\"imported \\\"1.25\\\"\\n\""));
    assert_non_null(strstr(buf, "\"level\":\"warn\",\"msg\":\"tab\\there\"}"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_context_reads_outside_in),
        cmocka_unit_test(test_strbuf_grows_and_consumes),
        cmocka_unit_test(test_jsonx_paths_with_dotted_keys),
        cmocka_unit_test(test_jsonx_load_error_names_input),
        cmocka_unit_test(test_base64_round_trip_and_unpadded),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_log_lines_are_structured_and_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
