/* Unit tests for the poll scheduler (controller/scheduler.c): shared sources, the timer heap,
 * jitter, concurrency and rate limits, backoff and Retry-After, driven by a virtual clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/controller/scheduler.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

#define SEC NS_PER_SEC
#define T0  (1000 * SEC)

static struct scheduler *new_sched(int max_in_flight, int per_registry, double rps)
{
    struct scheduler_opts o = {.max_in_flight = max_in_flight,
                               .max_in_flight_per_registry = per_registry,
                               .requests_per_second = rps,
                               .max_backoff_ns = 60 * SEC,
                               .seed = 7};
    struct scheduler *s;
    assert_int_equal(scheduler_new(&o, &s), 0);
    return s;
}

/* Subscribe stream ns/NAME's tag "t" to source KEY on registry REG. */
static void subscribe(struct scheduler *s, const char *stream, const char *key, const char *reg,
                      int64_t interval, int64_t now)
{
    struct scheduler_sub sub = {
        .tag = "t", .source_key = key, .ref = key, .registry = reg, .interval_ns = interval};
    assert_int_equal(scheduler_set_stream(s, stream, &sub, 1, now), 0);
}

static size_t take(struct scheduler *s, int64_t now, struct scheduler_poll *out, size_t max)
{
    return scheduler_take_due(s, now, out, max);
}

static void complete_ok(struct scheduler *s, const char *key, int64_t now, const char *digest)
{
    struct scheduler_result r = {.ok = true, .digest = digest};
    scheduler_complete(s, key, now, &r);
}

static void test_tags_with_same_source_share_one_poll(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 0, 0);
    char stream[32];
    for (int i = 0; i < 200; i++) {
        char key[64];
        snprintf(stream, sizeof(stream), "ns%d/web", i % 7);
        snprintf(stream + strlen(stream), sizeof(stream) - strlen(stream), "%d", i);
        snprintf(key, sizeof(key), "reg:5000/app%d:v1", i % 20);
        subscribe(s, stream, key, "reg:5000", 2 * SEC, T0);
    }
    struct scheduler_stats st;
    scheduler_get_stats(s, &st);
    assert_int_equal(st.tags, 200);
    assert_int_equal(st.sources, 20);
    /* Over ten intervals, exactly one poll per source per interval. */
    struct scheduler_poll polls[64];
    size_t total = 0;
    for (int64_t now = T0; now < T0 + 20 * SEC; now += 50 * NS_PER_MS) {
        size_t n = take(s, now, polls, 64);
        for (size_t i = 0; i < n; i++) {
            complete_ok(s, polls[i].source_key, now, "sha256:a");
            scheduler_poll_clear(&polls[i]);
        }
        total += n;
    }
    assert_in_range(total, 200, 240); /* 20 sources x 10 intervals, jitter shortens a bit */
    json_t *subs = scheduler_subscribers(s, "reg:5000/app3:v1");
    assert_int_equal(json_array_size(subs), 10);
    json_decref(subs);
    scheduler_free(s);
}

static void test_next_poll_within_interval_with_jitter(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 0, 0);
    subscribe(s, "a/web", "k", "r", 10 * SEC, T0);
    /* First poll within the jitter window (10% of the interval). */
    assert_true(scheduler_next_due(s) >= T0 && scheduler_next_due(s) <= T0 + 1 * SEC);
    struct scheduler_poll p;
    assert_int_equal(take(s, T0 + SEC, &p, 1), 1);
    assert_int_equal(scheduler_next_due(s), INT64_MAX); /* in flight: not in the heap */
    assert_int_equal(take(s, T0 + SEC, &p + 0, 0), 0);
    complete_ok(s, p.source_key, T0 + SEC, "sha256:a");
    scheduler_poll_clear(&p);
    int64_t due = scheduler_next_due(s);
    assert_true(due > T0 + SEC + 9 * SEC - 1 && due <= T0 + 11 * SEC);
    assert_int_equal(take(s, due - 1, &p, 1), 0);
    assert_int_equal(take(s, due, &p, 1), 1);
    scheduler_poll_clear(&p);
    scheduler_free(s);
}

static void test_failing_source_backs_off_and_honours_retry_after(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 0, 0);
    subscribe(s, "a/web", "k", "r", 2 * SEC, T0);
    struct scheduler_poll p;
    int64_t now = T0 + SEC;
    int64_t expect[] = {4, 8, 16, 32, 60, 60}; /* 2s * 2^n, capped at max_backoff 60s */
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(take(s, now, &p, 1), 1);
        struct scheduler_result r = {.ok = false, .reason = "Unavailable", .message = "503"};
        assert_int_equal(scheduler_complete(s, p.source_key, now, &r),
                         i == 0 ? SCHEDULER_FIRST_FAILURE : 0);
        scheduler_poll_clear(&p);
        assert_true(scheduler_next_due(s) == now + expect[i] * SEC);
        struct scheduler_stats st;
        scheduler_get_stats(s, &st);
        assert_int_equal(st.backoffs, 1);
        now = scheduler_next_due(s);
    }
    /* A Retry-After longer than the backoff wins. */
    assert_int_equal(take(s, now, &p, 1), 1);
    struct scheduler_result r = {
        .ok = false, .reason = "TooManyRequests", .retry_after_ns = 120 * SEC};
    scheduler_complete(s, p.source_key, now, &r);
    scheduler_poll_clear(&p);
    assert_true(scheduler_next_due(s) == now + 120 * SEC);
    json_t *snap = scheduler_snapshot(s, now, 1800000000LL * SEC);
    assert_string_equal(jsonx_str(json_array_get(snap, 0), "state"), "BackingOff");
    assert_string_equal(jsonx_str(json_array_get(snap, 0), "reason"), "TooManyRequests");
    assert_int_equal(jsonx_int(json_array_get(snap, 0), 0, "consecutiveFailures"), 7);
    json_decref(snap);
    /* Success resets: back to the interval. */
    now += 120 * SEC;
    assert_int_equal(take(s, now, &p, 1), 1);
    struct scheduler_result okr = {.ok = true, .digest = "sha256:b"};
    assert_int_equal(scheduler_complete(s, p.source_key, now, &okr),
                     SCHEDULER_CHANGED | SCHEDULER_RECOVERED);
    scheduler_poll_clear(&p);
    assert_true(scheduler_next_due(s) <= now + 2 * SEC);
    struct scheduler_stats st;
    scheduler_get_stats(s, &st);
    assert_int_equal(st.backoffs, 0);
    scheduler_free(s);
}

static void test_global_concurrency_limit(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(2, 0, 0);
    for (int i = 0; i < 5; i++) {
        char stream[32], key[32];
        snprintf(stream, sizeof(stream), "a/s%d", i);
        snprintf(key, sizeof(key), "k%d", i);
        subscribe(s, stream, key, i % 2 ? "r1" : "r2", 10 * SEC, T0);
    }
    struct scheduler_poll p[8];
    int64_t now = T0 + 2 * SEC;
    assert_int_equal(take(s, now, p, 8), 2);
    assert_int_equal(take(s, now, p + 2, 8), 0);
    complete_ok(s, p[0].source_key, now, "sha256:x");
    assert_int_equal(take(s, now, p + 2, 8), 1);
    for (int i = 0; i < 3; i++)
        scheduler_poll_clear(&p[i]);
    scheduler_free(s);
}

static void test_limited_registry_does_not_slow_others(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 2, 0);
    assert_int_equal(scheduler_set_registry_limits(s, "slow", 1.0, 0), 0);
    for (int i = 0; i < 6; i++) {
        char stream[32], key[32];
        snprintf(stream, sizeof(stream), "a/slow%d", i);
        snprintf(key, sizeof(key), "slow%d", i);
        subscribe(s, stream, key, "slow", 10 * SEC, T0);
        snprintf(stream, sizeof(stream), "a/fast%d", i);
        snprintf(key, sizeof(key), "fast%d", i);
        subscribe(s, stream, key, "fast", 10 * SEC, T0);
    }
    struct scheduler_poll p[16];
    int64_t now = T0 + 2 * SEC;
    size_t n = take(s, now, p, 16);
    /* "slow": 1 request per second, burst 1; "fast": its in-flight limit of 2. */
    size_t slow = 0, fast = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].registry, "slow") == 0)
            slow++;
        else
            fast++;
    }
    assert_int_equal(slow, 1);
    assert_int_equal(fast, 2);
    /* The slow registry's polls complete with errors; the fast ones keep flowing. */
    size_t fast_done = 0;
    for (int64_t t = now; t < now + 3 * SEC; t += 100 * NS_PER_MS) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(p[i].registry, "fast") == 0) {
                complete_ok(s, p[i].source_key, t, "sha256:f");
                fast_done++;
            } else {
                struct scheduler_result r = {.ok = false, .reason = "Timeout"};
                scheduler_complete(s, p[i].source_key, t, &r);
            }
            scheduler_poll_clear(&p[i]);
        }
        n = take(s, t, p, 16);
    }
    for (size_t i = 0; i < n; i++)
        scheduler_poll_clear(&p[i]);
    assert_true(fast_done >= 6); /* every fast source polled within 3s */
    scheduler_free(s);
}

static void test_observation_change_and_drop_while_in_flight(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 0, 0);
    subscribe(s, "a/web", "k", "r", 2 * SEC, T0);
    struct scheduler_poll p;
    assert_int_equal(take(s, T0 + SEC, &p, 1), 1);
    struct scheduler_result r = {.ok = true, .digest = "sha256:1"};
    assert_int_equal(scheduler_complete(s, "k", T0 + SEC, &r), SCHEDULER_CHANGED);
    char *d;
    json_t *ch;
    int64_t seen;
    assert_int_equal(scheduler_observation(s, "k", &d, &ch, &seen), 0);
    assert_string_equal(d, "sha256:1");
    assert_true(seen == T0 + SEC);
    assert_null(ch);
    free(d);
    scheduler_poll_clear(&p);
    assert_int_equal(take(s, T0 + 4 * SEC, &p, 1), 1);
    assert_int_equal(scheduler_complete(s, "k", T0 + 4 * SEC, &r), 0); /* same digest */
    scheduler_poll_clear(&p);
    assert_int_equal(take(s, T0 + 7 * SEC, &p, 1), 1);
    /* The stream goes away while its poll is in flight. */
    assert_int_equal(scheduler_set_stream(s, "a/web", NULL, 0, T0 + 7 * SEC), 0);
    r.digest = "sha256:2";
    assert_int_equal(scheduler_complete(s, "k", T0 + 8 * SEC, &r), 0);
    scheduler_poll_clear(&p);
    struct scheduler_stats st;
    scheduler_get_stats(s, &st);
    assert_int_equal(st.sources, 0);
    assert_int_equal(st.tags, 0);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(scheduler_next_due(s), INT64_MAX);
    scheduler_free(s);
}

static void test_faster_subscriber_brings_source_forward(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 0, 0);
    subscribe(s, "a/one", "k", "r", 60 * SEC, T0);
    struct scheduler_poll p;
    assert_int_equal(take(s, T0 + 6 * SEC, &p, 1), 1);
    complete_ok(s, "k", T0 + 6 * SEC, "sha256:1");
    scheduler_poll_clear(&p);
    assert_true(scheduler_next_due(s) > T0 + 50 * SEC);
    subscribe(s, "b/two", "k", "r", 5 * SEC, T0 + 7 * SEC);
    assert_true(scheduler_next_due(s) <= T0 + 12 * SEC);
    json_t *snap = scheduler_snapshot(s, T0 + 7 * SEC, 1800000000LL * SEC);
    assert_int_equal(json_array_size(snap), 1);
    json_t *src = json_array_get(snap, 0);
    assert_string_equal(jsonx_str(src, "interval"), "5s");
    assert_string_equal(jsonx_str(src, "state"), "UpToDate");
    assert_int_equal(json_array_size(jsonx_get(src, "tags")), 2);
    json_decref(snap);
    scheduler_free(s);
}

static void test_resubscribing_keeps_schedule_and_observation(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(0, 0, 0);
    subscribe(s, "a/web", "k", "r", 10 * SEC, T0);
    struct scheduler_poll p;
    assert_int_equal(take(s, T0 + SEC, &p, 1), 1);
    complete_ok(s, "k", T0 + SEC, "sha256:1");
    scheduler_poll_clear(&p);
    int64_t due = scheduler_next_due(s);
    /* The stream is reconciled again (e.g. because the poll saw a new digest): same tags. */
    subscribe(s, "a/web", "k", "r", 10 * SEC, T0 + 2 * SEC);
    assert_true(scheduler_next_due(s) == due);
    char *d;
    json_t *ch;
    assert_int_equal(scheduler_observation(s, "k", &d, &ch, NULL), 0);
    assert_string_equal(d, "sha256:1");
    free(d);
    /* Moving the tag to another source drops the old one. */
    subscribe(s, "a/web", "k2", "r", 10 * SEC, T0 + 3 * SEC);
    assert_int_equal(scheduler_observation(s, "k", &d, &ch, NULL), -ENOENT);
    struct scheduler_stats st;
    scheduler_get_stats(s, &st);
    assert_int_equal(st.sources, 1);
    assert_int_equal(st.tags, 1);
    scheduler_free(s);
}

static void test_takeover_spreads_overdue_sources(void **state)
{
    (void)state;
    struct scheduler *s = new_sched(100, 100, 0);
    for (int i = 0; i < 50; i++) {
        char stream[32];
        snprintf(stream, sizeof(stream), "a/s%d", i);
        subscribe(s, stream, stream, "r", 10 * SEC, T0);
    }
    /* A follower never polled; when it takes over a minute later all would be due at once. */
    int64_t now = T0 + 60 * SEC;
    scheduler_spread(s, now);
    struct scheduler_poll p[64];
    size_t n = take(s, now, p, 64);
    for (size_t i = 0; i < n; i++)
        scheduler_poll_clear(&p[i]);
    assert_true(n < 10);
    n = take(s, now + SEC, p, 64); /* the rest within the jitter window (10% of 10s) */
    for (size_t i = 0; i < n; i++)
        scheduler_poll_clear(&p[i]);
    struct scheduler_stats st;
    scheduler_get_stats(s, &st);
    assert_int_equal(st.in_flight, 50);
    scheduler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_with_same_source_share_one_poll),
        cmocka_unit_test(test_next_poll_within_interval_with_jitter),
        cmocka_unit_test(test_failing_source_backs_off_and_honours_retry_after),
        cmocka_unit_test(test_global_concurrency_limit),
        cmocka_unit_test(test_limited_registry_does_not_slow_others),
        cmocka_unit_test(test_observation_change_and_drop_while_in_flight),
        cmocka_unit_test(test_faster_subscriber_brings_source_forward),
        cmocka_unit_test(test_takeover_spreads_overdue_sources),
        cmocka_unit_test(test_resubscribing_keeps_schedule_and_observation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
