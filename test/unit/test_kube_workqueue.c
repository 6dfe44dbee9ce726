/* Unit tests for the work queue (src/kube/workqueue.c): deduplication, one worker per key,
 * delayed adds, per-key backoff, requeue-after, shutdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/kube/workqueue.h"
#include "istrigger/util/timeutil.h"

struct rec {
    pthread_mutex_t lock;
    int calls;         /* total reconciles */
    int per_key[16];   /* by key index "k<i>" */
    int64_t times[64]; /* when key k0 ran */
    int nt;
    atomic_int active[16]; /* workers in reconcile for a key right now */
    atomic_int overlap;    /* set if two workers ever held one key */
    int fail_times;        /* k0 fails this many times first */
    int requeue_ms;        /* k0 returns this once (>0) */
    int64_t sleep_ns;      /* each reconcile sleeps */
};

static int key_index(const char *key)
{
    return atoi(key + 1);
}

static int reconcile(void *ctx, const char *key)
{
    struct rec *r = ctx;
    int i = key_index(key), ret = 0;

    if (atomic_fetch_add(&r->active[i], 1) != 0)
        atomic_store(&r->overlap, 1);
    if (r->sleep_ns)
        time_sleep_ns(r->sleep_ns);
    pthread_mutex_lock(&r->lock);
    r->calls++;
    r->per_key[i]++;
    if (i == 0) {
        if (r->nt < 64)
            r->times[r->nt++] = time_mono_ns();
        if (r->per_key[0] <= r->fail_times)
            ret = -5;
        else if (r->requeue_ms && r->per_key[0] == 1)
            ret = r->requeue_ms;
    }
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_sub(&r->active[i], 1);
    return ret;
}

static int calls_of(struct rec *r, int i)
{
    pthread_mutex_lock(&r->lock);
    int n = r->per_key[i];
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void wait_calls(struct rec *r, int i, int want, int64_t timeout_ns)
{
    int64_t end = time_mono_ns() + timeout_ns;
    while (calls_of(r, i) < want && time_mono_ns() < end)
        time_sleep_ns(2 * NS_PER_MS);
}

static void test_duplicate_adds_before_processing_run_once(void **state)
{
    struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct workqueue *q;
    (void)state;
    assert_int_equal(workqueue_new("t", reconcile, &r, 4, &q), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(workqueue_add(q, "k1"), 0);
    assert_int_equal(workqueue_add(q, "k2"), 0);
    assert_int_equal(workqueue_len(q), 2);
    assert_int_equal(workqueue_start(q), 0);
    wait_calls(&r, 2, 1, NS_PER_SEC);
    wait_calls(&r, 1, 1, NS_PER_SEC);
    time_sleep_ns(50 * NS_PER_MS);
    assert_int_equal(calls_of(&r, 1), 1);
    assert_int_equal(calls_of(&r, 2), 1);
    workqueue_free(q);
}

static void test_key_never_processed_by_two_workers(void **state)
{
    struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER, .sleep_ns = 2 * NS_PER_MS};
    struct workqueue *q;
    (void)state;
    assert_int_equal(workqueue_new("t", reconcile, &r, 8, &q), 0);
    assert_int_equal(workqueue_start(q), 0);
    /* Keep re-adding three keys while 8 workers run: each add during processing must
     * requeue after the run instead of starting a parallel one. */
    for (int i = 0; i < 300; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", 1 + i % 3);
        workqueue_add(q, key);
        time_sleep_ns(200000);
    }
    wait_calls(&r, 1, 5, NS_PER_SEC);
    workqueue_shutdown(q);
    assert_int_equal(atomic_load(&r.overlap), 0);
    assert_true(calls_of(&r, 1) >= 5);
    /* Dedup: far fewer runs than adds. */
    assert_true(calls_of(&r, 1) < 100);
    workqueue_free(q);
}

static void test_added_during_processing_runs_again_after(void **state)
{
    struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER, .sleep_ns = 100 * NS_PER_MS};
    struct workqueue *q;
    (void)state;
    assert_int_equal(workqueue_new("t", reconcile, &r, 2, &q), 0);
    assert_int_equal(workqueue_start(q), 0);
    workqueue_add(q, "k3");
    time_sleep_ns(30 * NS_PER_MS); /* k3 is being processed */
    workqueue_add(q, "k3");
    workqueue_add(q, "k3");
    wait_calls(&r, 3, 2, NS_PER_SEC);
    time_sleep_ns(150 * NS_PER_MS);
    assert_int_equal(calls_of(&r, 3), 2);
    assert_int_equal(atomic_load(&r.overlap), 0);
    workqueue_free(q);
}

static void test_failures_back_off_exponentially_then_forget(void **state)
{
    struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER, .fail_times = 4};
    struct workqueue *q;
    (void)state;
    assert_int_equal(workqueue_new("t", reconcile, &r, 2, &q), 0);
    workqueue_set_backoff(q, 20 * NS_PER_MS, 1000 * NS_PER_MS);
    assert_int_equal(workqueue_start(q), 0);
    workqueue_add(q, "k0");
    wait_calls(&r, 0, 5, 3 * NS_PER_SEC);
    assert_int_equal(calls_of(&r, 0), 5);
    /* Gaps: 20, 40, 80, 160 ms (at least; scheduling may add a little). */
    for (int i = 1; i < 5; i++) {
        int64_t gap = r.times[i] - r.times[i - 1];
        int64_t want = (20 * NS_PER_MS) << (i - 1);
        assert_true(gap >= want);
        assert_true(gap < want + 400 * NS_PER_MS);
    }
    time_sleep_ns(20 * NS_PER_MS);
    assert_int_equal(workqueue_num_requeues(q, "k0"), 0); /* success forgot failures */
    time_sleep_ns(300 * NS_PER_MS);
    assert_int_equal(calls_of(&r, 0), 5); /* no further runs */
    workqueue_free(q);
}

static void test_requeue_after_and_delayed_add_keep_earliest(void **state)
{
    struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER, .requeue_ms = 120};
    struct workqueue *q;
    int64_t t0;
    (void)state;
    assert_int_equal(workqueue_new("t", reconcile, &r, 1, &q), 0);
    assert_int_equal(workqueue_start(q), 0);
    t0 = time_mono_ns();
    workqueue_add(q, "k0");
    wait_calls(&r, 0, 2, 2 * NS_PER_SEC);
    assert_int_equal(calls_of(&r, 0), 2);
    assert_true(r.times[1] - r.times[0] >= 120 * NS_PER_MS);

    /* Delayed adds: 500ms then 100ms -> runs once, after ~100ms. */
    t0 = time_mono_ns();
    workqueue_add_after(q, "k5", 500 * NS_PER_MS);
    workqueue_add_after(q, "k5", 100 * NS_PER_MS);
    workqueue_add_after(q, "k5", 300 * NS_PER_MS);
    assert_int_equal(workqueue_delayed_len(q), 1);
    wait_calls(&r, 5, 1, 2 * NS_PER_SEC);
    int64_t took = time_mono_ns() - t0;
    assert_true(took >= 100 * NS_PER_MS);
    assert_true(took < 400 * NS_PER_MS);
    time_sleep_ns(600 * NS_PER_MS);
    assert_int_equal(calls_of(&r, 5), 1);
    assert_int_equal(workqueue_delayed_len(q), 0);
    workqueue_free(q);
}

static void test_shutdown_waits_for_running_and_drops_rest(void **state)
{
    struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER, .sleep_ns = 200 * NS_PER_MS};
    struct workqueue *q;
    (void)state;
    assert_int_equal(workqueue_new("t", reconcile, &r, 1, &q), 0);
    assert_int_equal(workqueue_start(q), 0);
    workqueue_add(q, "k1");
    workqueue_add(q, "k2");
    workqueue_add_after(q, "k4", 50 * NS_PER_MS);
    time_sleep_ns(50 * NS_PER_MS);
    int64_t t0 = time_mono_ns();
    workqueue_shutdown(q);
    int64_t took = time_mono_ns() - t0;
    /* k1 was running: shutdown waited for it, then did not start k2. */
    assert_true(took >= 100 * NS_PER_MS);
    assert_int_equal(calls_of(&r, 1), 1);
    assert_int_equal(calls_of(&r, 2), 0);
    assert_int_equal(workqueue_add(q, "k3"), -ECANCELED);
    workqueue_shutdown(q); /* idempotent */
    workqueue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_adds_before_processing_run_once),
        cmocka_unit_test(test_key_never_processed_by_two_workers),
        cmocka_unit_test(test_added_during_processing_runs_again_after),
        cmocka_unit_test(test_failures_back_off_exponentially_then_forget),
        cmocka_unit_test(test_requeue_after_and_delayed_add_keep_earliest),
        cmocka_unit_test(test_shutdown_waits_for_running_and_drops_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
