/* Unit tests for the watch event-stream parser (src/kube/watch.c): events split at every
 * possible point and in random chunk sizes, bookmarks, ERROR events, malformed lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/kube/client.h"
#include "istrigger/kube/watch.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/strbuf.h"

/* Shapes as recorded from kube-apiserver 1.26 (reference transcripts 08, 09, 16). */
static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
    "\"metadata\":{\"name\":\"c1\",\"namespace\":\"transcripts\",\"resourceVersion\":\"1134\"},"
    "\"data\":{\"k\":\"v with \\n escaped newline and unicode \\u00e9\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
    "\"metadata\":{\"name\":\"c1\",\"namespace\":\"transcripts\",\"resourceVersion\":\"1135\"}}}\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
    "\"metadata\":{\"resourceVersion\":\"1140\"}}}\r\n"
    "{\"type\":\"DELETED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
    "\"metadata\":{\"name\":\"c1\",\"namespace\":\"transcripts\",\"resourceVersion\":\"1141\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"apiVersion\":\"v1\",\"code\":410,\"kind\":\"Status\","
    "\"message\":\"too old resource version: 1458 (1484)\",\"metadata\":{},\"reason\":"
    "\"Expired\",\"status\":\"Failure\"}}\n";

struct seen {
    struct strbuf log;
    int n;
};

static int record(void *ctx, enum kube_watch_type type, json_t *obj)
{
    struct seen *s = ctx;
    const char *rv = jsonx_str(obj, "metadata", "resourceVersion");
    s->n++;
    strbuf_printf(&s->log, "%s:%s;", kube_watch_type_name(type), rv ? rv : "-");
    return 0;
}

static const char expected[] = "ADDED:1134;MODIFIED:1135;BOOKMARK:1140;DELETED:1141;ERROR:-;";

static void feed_in_chunks(const size_t *sizes, size_t nsizes, struct seen *s)
{
    struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
    size_t off = 0, i = 0, len = sizeof(stream) - 1;
    while (off < len) {
        size_t n = sizes[i++ % nsizes];
        if (n > len - off)
            n = len - off;
        assert_int_equal(kube_watch_parser_feed(&p, stream + off, n, record, s), 0);
        off += n;
    }
    assert_int_equal(kube_watch_parser_finish(&p, record, s), 0);
    kube_watch_parser_free(&p);
}

static void test_whole_stream_at_once(void **state)
{
    struct seen s = {STRBUF_INIT, 0};
    const size_t all[] = {sizeof(stream)};
    (void)state;
    feed_in_chunks(all, 1, &s);
    assert_string_equal(strbuf_str(&s.log), expected);
    strbuf_free(&s.log);
}

static void test_every_split_point_of_two_pieces(void **state)
{
    (void)state;
    for (size_t cut = 1; cut < sizeof(stream) - 1; cut++) {
        struct seen s = {STRBUF_INIT, 0};
        const size_t sizes[] = {cut, sizeof(stream)};
        feed_in_chunks(sizes, 2, &s);
        assert_string_equal(strbuf_str(&s.log), expected);
        strbuf_free(&s.log);
    }
}

static void test_random_and_single_byte_chunks(void **state)
{
    unsigned int seed = 42;
    (void)state;
    for (int round = 0; round < 200; round++) {
        struct seen s = {STRBUF_INIT, 0};
        size_t sizes[64];
        for (int i = 0; i < 64; i++)
            sizes[i] = round == 0 ? 1 : 1 + (size_t)(rand_r(&seed) % 97);
        feed_in_chunks(sizes, 64, &s);
        assert_string_equal(strbuf_str(&s.log), expected);
        strbuf_free(&s.log);
    }
}

static void test_last_line_without_newline_is_parsed_at_finish(void **state)
{
    struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
    struct seen s = {STRBUF_INIT, 0};
    static const char ev[] =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}";
    (void)state;
    assert_int_equal(kube_watch_parser_feed(&p, ev, sizeof(ev) - 1, record, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(kube_watch_parser_finish(&p, record, &s), 0);
    assert_string_equal(strbuf_str(&s.log), "ADDED:7;");
    kube_watch_parser_free(&p);
    strbuf_free(&s.log);
}

static void test_large_object_in_small_pieces(void **state)
{
    struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
    struct seen s = {STRBUF_INIT, 0};
    struct strbuf big = STRBUF_INIT;
    (void)state;
    strbuf_puts(&big, "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"resourceVersion\":"
                      "\"99\"},\"data\":{\"blob\":\"");
    for (int i = 0; i < 200000; i++)
        strbuf_putc(&big, (char)('a' + i % 26));
    strbuf_puts(&big, "\"}}}\n");
    for (size_t off = 0; off < big.len; off += 1000) {
        size_t n = big.len - off < 1000 ? big.len - off : 1000;
        assert_int_equal(kube_watch_parser_feed(&p, big.buf + off, n, record, &s), 0);
    }
    assert_string_equal(strbuf_str(&s.log), "MODIFIED:99;");
    assert_int_equal(p.buf.len, 0);
    kube_watch_parser_free(&p);
    strbuf_free(&s.log);
    strbuf_free(&big);
}

static void test_malformed_lines_are_ebadmsg(void **state)
{
    static const char *const bad[] = {
        "not json\n",        "{\"type\":\"ADDED\"}\n",
        "{\"object\":{}}\n", "{\"type\":\"SOMETHING\",\"object\":{}}\n",
        "[1,2]\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
        struct seen s = {STRBUF_INIT, 0};
        assert_int_equal(kube_watch_parser_feed(&p, bad[i], strlen(bad[i]), record, &s), -EBADMSG);
        assert_int_equal(s.n, 0);
        kube_watch_parser_free(&p);
        strbuf_free(&s.log);
    }
    struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
    struct seen s = {STRBUF_INIT, 0};
    p.max_line = 100;
    char junk[300];
    memset(junk, 'x', sizeof(junk));
    assert_int_equal(kube_watch_parser_feed(&p, junk, sizeof(junk), record, &s), -EBADMSG);
    assert_non_null(strstr(err_msg(), "longer than 100 bytes"));
    kube_watch_parser_free(&p);
}

static int stop_at_second(void *ctx, enum kube_watch_type type, json_t *obj)
{
    int *n = ctx;
    (void)type;
    (void)obj;
    return ++*n == 2 ? -ECANCELED : 0;
}

static void test_callback_error_stops_the_stream(void **state)
{
    struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
    int n = 0;
    (void)state;
    assert_int_equal(kube_watch_parser_feed(&p, stream, sizeof(stream) - 1, stop_at_second, &n),
                     -ECANCELED);
    assert_int_equal(n, 2);
    kube_watch_parser_free(&p);
}

static void test_error_event_status_maps_410_to_enodata(void **state)
{
    static const char st[] = "{\"apiVersion\":\"v1\",\"code\":410,\"kind\":\"Status\","
                             "\"message\":\"too old resource version: 1458 (1484)\","
                             "\"metadata\":{},\"reason\":\"Expired\",\"status\":\"Failure\"}";
    json_t *obj = jsonx_loadb(st, sizeof(st) - 1, "status");
    (void)state;
    assert_int_equal(kube_watch_error_status(obj), -ENODATA);
    assert_int_equal(kube_last_status()->http_code, 410);
    assert_string_equal(kube_last_status()->reason, "Expired");
    assert_string_equal(err_msg(), "410 Expired: too old resource version: 1458 (1484)");
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream_at_once),
        cmocka_unit_test(test_every_split_point_of_two_pieces),
        cmocka_unit_test(test_random_and_single_byte_chunks),
        cmocka_unit_test(test_last_line_without_newline_is_parsed_at_finish),
        cmocka_unit_test(test_large_object_in_small_pieces),
        cmocka_unit_test(test_malformed_lines_are_ebadmsg),
        cmocka_unit_test(test_callback_error_stops_the_stream),
        cmocka_unit_test(test_error_event_status_maps_410_to_enodata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
