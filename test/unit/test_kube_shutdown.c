/* Unit tests for the shutdown helpers (src/kube/shutdown.c): a blocked SIGTERM stays pending
 * until kube_shutdown_wait takes it, even with a zero timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "istrigger/kube/shutdown.h"
#include "istrigger/util/timeutil.h"

static void test_timeout_without_signal_then_pending_sigterm_is_taken(void **state)
{
    (void)state;
    assert_int_equal(kube_shutdown_install(), 0);
    int64_t t0 = time_mono_ns();
    assert_int_equal(kube_shutdown_wait(50 * NS_PER_MS), 0);
    assert_true(time_mono_ns() - t0 >= 50 * NS_PER_MS);
    assert_false(kube_shutdown_requested());
    /* Blocked, so the process survives and the signal waits. */
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(kube_shutdown_wait(0), SIGTERM);
    assert_true(kube_shutdown_requested());
    assert_int_equal(kube_shutdown_wait(-1), SIGTERM); /* stays requested */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_without_signal_then_pending_sigterm_is_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
