/*
 * Unit tests for the status page model and HTML (status_page.c) that need no server: rows
 * joined from the "sources" snapshot, and rendering of any time RFC 3339 allows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "istrigger/http/status.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/strbuf.h"

static json_t *load(const char *s)
{
    json_t *j = jsonx_loadb(s, strlen(s), "test");
    assert_non_null(j);
    return j;
}

/* A tag's own import state (from the sync controller) outranks its source's poll state on
 * the page: the registry answers, but the import fails. */
static void test_page_rows_take_the_tags_import_state(void **state)
{
    (void)state;
    _cleanup_json_ json_t *all =
        load("{\"sources\":[{\"source\":\"r/app:v\",\"state\":\"UpToDate\",\"tags\":["
             "{\"namespace\":\"a\",\"imageStream\":\"app\",\"tag\":\"ok\"},"
             "{\"namespace\":\"a\",\"imageStream\":\"app\",\"tag\":\"v\",\"state\":"
             "\"BackingOff\",\"reason\":\"ImportRefused\",\"message\":\"500 InternalError\","
             "\"backoffUntil\":\"2026-12-07T10:00:00Z\"}]}]}");
    _cleanup_json_ json_t *model = status_page_model(all, 1700000000LL * 1000000000LL);
    assert_non_null(model);
    const json_t *rows = json_object_get(model, "rows");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *first = json_array_get(rows, 0), *second = json_array_get(rows, 1);
    assert_string_equal(jsonx_str(first, "tag"), "v"); /* failures first */
    assert_string_equal(jsonx_str(first, "state"), "BackingOff");
    assert_string_equal(jsonx_str(first, "reason"), "ImportRefused");
    assert_string_equal(jsonx_str(first, "backoffUntil"), "2026-12-07T10:00:00Z");
    assert_true(jsonx_bool(first, false, "problem"));
    assert_string_equal(jsonx_str(second, "state"), "UpToDate");
    assert_null(jsonx_str(second, "reason"));
}

/* Regression (make fuzz, status_page): times centuries away from now overflowed the "5m ago"
 * arithmetic (signed overflow, undefined behaviour). */
static void test_far_times_render_without_overflow(void **state)
{
    (void)state;
    _cleanup_json_ json_t *all =
        load("{\"sources\":[{\"source\":\"r/app:v\",\"state\":\"Failing\","
             "\"lastPoll\":\"1700-01-01T00:00:00Z\",\"lastChange\":\"1678-01-01T00:00:00Z\","
             "\"nextDue\":\"2262-04-01T00:00:00Z\",\"backoffUntil\":\"2262-04-01T00:00:00Z\","
             "\"tags\":[{\"namespace\":\"a\",\"imageStream\":\"app\",\"tag\":\"v\"}]}]}");
    _cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
    assert_int_equal(status_render_html(&out, all, 1795000000LL * 1000000000LL), 0);
    assert_non_null(strstr(strbuf_str(&out), "d ago</time>"));
    assert_non_null(strstr(strbuf_str(&out), ">in "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_rows_take_the_tags_import_state),
        cmocka_unit_test(test_far_times_render_without_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
