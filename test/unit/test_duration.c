/* Unit tests for Go-style durations (util/duration). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "istrigger/util/duration.h"
#include "istrigger/util/err.h"

static void test_poll_interval_forms_parse(void **state)
{
    static const struct {
        const char *in;
        int64_t ns;
    } cases[] = {
        {"30s", 30000000000LL},        {"5m", 300000000000LL},
        {"1h30m", 5400000000000LL},    {"1.5h", 5400000000000LL},
        {"250ms", 250000000LL},        {"0", 0},
        {"2h45m10s", 9910000000000LL}, {"+10s", 10000000000LL},
        {"-1m", -60000000000LL},       {"1us", 1000LL},
        {"1\xc2\xb5s", 1000LL},        {"7ns", 7},
        {".5s", 500000000LL},          {"1.s", 1000000000LL},
        {"1m0.5s", 60500000000LL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = -42;
        assert_int_equal(duration_parse(cases[i].in, &ns), 0);
        assert_true(ns == cases[i].ns);
    }
}

static void test_bad_durations_rejected_with_reason(void **state)
{
    static const char *const bad[] = {"",   "30",   "s",    "5 m",      "1d", "1h-5m",
                                      ".s", "--1s", "1e3s", "3000000h", "abc"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns;
        assert_true(duration_parse(bad[i], &ns) < 0);
        assert_non_null(strstr(err_msg(), "invalid duration"));
    }
    int64_t ns;
    assert_int_equal(duration_parse("30", &ns), -EINVAL);
    assert_non_null(strstr(err_msg(), "missing unit"));
}

static void test_format_matches_go(void **state)
{
    static const struct {
        int64_t ns;
        const char *out;
    } cases[] = {
        {0, "0s"},
        {30000000000LL, "30s"},
        {5400000000000LL, "1h30m0s"},
        {2500000000LL, "2.5s"},
        {250000000LL, "250ms"},
        {1500, "1.5\xc2\xb5s"},
        {-60000000000LL, "-1m0s"},
    };
    char buf[32];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(duration_format(cases[i].ns, buf, sizeof(buf)), cases[i].out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_interval_forms_parse),
        cmocka_unit_test(test_bad_durations_rejected_with_reason),
        cmocka_unit_test(test_format_matches_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
