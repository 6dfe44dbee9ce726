/*
 * Unit tests for the metrics registry: every rendering is parsed back by a strict parser of
 * the Prometheus text format 0.0.4 written here (escapes, HELP/TYPE placement, contiguous
 * families, histogram bucket rules), then checked value by value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/http/metrics.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/strbuf.h"

/* ---- strict parser: text -> {"family": {"type":..,"help":..,"samples":[{name,labels,value}]}}
 * Returns NULL (and prints why) on any deviation from the format. ---- */

static json_t *parse_fail(const char *line, const char *why)
{
    fprintf(stderr, "exposition parse error: %s: \"%.*s\"\n", why, (int)strcspn(line, "\n"), line);
    return NULL;
}

static bool is_name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
        return true;
    return !first && c >= '0' && c <= '9';
}

static size_t scan_name(const char *p, bool colon)
{
    size_t n = 0;
    while (is_name_char(p[n], n == 0, colon))
        n++;
    return n;
}

/* Unescape up to the closing quote (label value) or end of line (help). NULL on a bad escape. */
static char *unescape(const char **pp, bool quoted)
{
    struct strbuf sb = STRBUF_INIT;
    const char *p = *pp;
    for (;;) {
        char c = *p;
        if (c == '\0' || c == '\n') {
            if (quoted)
                goto bad;
            break;
        }
        if (quoted && c == '"')
            break;
        if (c == '\\') {
            char e = p[1];
            if (e == '\\')
                strbuf_putc(&sb, '\\');
            else if (e == 'n')
                strbuf_putc(&sb, '\n');
            else if (e == '"' && quoted)
                strbuf_putc(&sb, '"');
            else
                goto bad;
            p += 2;
            continue;
        }
        strbuf_putc(&sb, c);
        p++;
    }
    *pp = p;
    return strbuf_detach(&sb);
bad:
    strbuf_free(&sb);
    return NULL;
}

static bool parse_float(const char *s, size_t len, double *out)
{
    char buf[64], *end;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
        *out = INFINITY;
        return true;
    }
    if (strcmp(buf, "-Inf") == 0) {
        *out = -INFINITY;
        return true;
    }
    if (strcmp(buf, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    /* Only plain decimal/exponent syntax: strtod would also take hex, "inf", "nan". */
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789.eE+-", buf[i]))
            return false;
    *out = strtod(buf, &end);
    return *end == '\0';
}

static const char *family_of(const char *sample, const char *family, const char *type)
{
    size_t n = strlen(family);
    if (strncmp(sample, family, n) != 0)
        return NULL;
    if (sample[n] == '\0')
        return strcmp(type, "histogram") == 0 ? NULL : "";
    if (strcmp(type, "histogram") == 0 &&
        (!strcmp(sample + n, "_bucket") || !strcmp(sample + n, "_sum") ||
         !strcmp(sample + n, "_count")))
        return sample + n;
    return NULL;
}

static double sample_number(json_t *sample)
{
    double v = NAN;
    const char *t = json_string_value(json_object_get(sample, "text"));
    if (t)
        parse_float(t, strlen(t), &v);
    return v;
}

/* Per label set (without le): buckets in increasing le order with non-decreasing counts,
 * ending in le="+Inf" whose count equals _count. (jansson cannot hold infinities, hence the
 * flags next to the finite numbers.) */
static bool histogram_consistent(json_t *fam)
{
    json_t *groups = json_object(), *s, *g;
    size_t i;
    const char *k;
    bool ok = true;
    json_array_foreach (json_object_get(fam, "samples"), i, s) {
        json_t *labels = jsonx_dup(json_object_get(s, "labels"));
        const char *suffix = json_string_value(json_object_get(s, "suffix"));
        char *le = jsonx_str(labels, "le") ? strdup(jsonx_str(labels, "le")) : NULL;
        char *key;
        double v = sample_number(s), b;
        json_object_del(labels, "le");
        key = jsonx_dump(labels);
        json_decref(labels);
        if (!(g = json_object_get(groups, key))) {
            g = json_pack("{s:b,s:f,s:f,s:b}", "has_le", 0, "last_le", 0.0, "last", 0.0, "inf", 0);
            json_object_set_new(groups, key, g);
        }
        free(key);
        if (strcmp(suffix, "_bucket") == 0) {
            if (!le || !parse_float(le, strlen(le), &b) || isnan(b) ||
                json_is_true(json_object_get(g, "inf")) ||
                (json_is_true(json_object_get(g, "has_le")) &&
                 b <= json_real_value(json_object_get(g, "last_le"))) ||
                v < json_real_value(json_object_get(g, "last"))) {
                ok = false;
            } else if (isinf(b)) {
                json_object_set_new(g, "inf", json_true());
            } else {
                json_object_set_new(g, "has_le", json_true());
                json_object_set_new(g, "last_le", json_real(b));
            }
            json_object_set_new(g, "last", json_real(v));
        } else if (strcmp(suffix, "_count") == 0) {
            json_object_set_new(g, "count", json_real(v));
        } else if (le) {
            ok = false;
        }
        free(le);
    }
    json_object_foreach (groups, k, g) {
        if (!json_is_true(json_object_get(g, "inf")) || !json_object_get(g, "count") ||
            json_real_value(json_object_get(g, "count")) !=
                json_real_value(json_object_get(g, "last")))
            ok = false;
    }
    json_decref(groups);
    return ok;
}

static json_t *parse_exposition(const char *text)
{
    _cleanup_json_ json_t *fams = json_object();
    json_t *cur = NULL; /* family of the current block */
    const char *cur_name = NULL;
    const char *p = text;

    if (*text && text[strlen(text) - 1] != '\n')
        return parse_fail(text, "no final newline");
    while (*p) {
        const char *line = p, *eol = strchr(p, '\n');
        if (eol == p)
            return parse_fail(line, "empty line");
        if (strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0) {
            bool help = p[2] == 'H';
            size_t n;
            p += 7;
            n = scan_name(p, true);
            if (n == 0 || p[n] != ' ')
                return parse_fail(line, "bad metric name in comment");
            char *name = strndup(p, n);
            p += n + 1;
            json_t *fam = json_object_get(fams, name);
            if (fam && fam != cur) {
                free(name);
                return parse_fail(line, "family is not contiguous");
            }
            if (!fam) {
                fam = json_object();
                json_object_set_new(fam, "samples", json_array());
                json_object_set_new(fams, name, fam);
            }
            if (json_array_size(json_object_get(fam, "samples")) > 0) {
                free(name);
                return parse_fail(line, "HELP/TYPE after samples");
            }
            cur = fam;
            cur_name = json_object_iter_key(json_object_iter_at(fams, name));
            free(name);
            if (help) {
                if (json_object_get(fam, "help"))
                    return parse_fail(line, "second HELP");
                char *h = unescape(&p, false);
                if (!h)
                    return parse_fail(line, "bad escape in HELP");
                json_object_set_new(fam, "help", json_string(h));
                free(h);
            } else {
                static const char *const types[] = {"counter", "gauge",   "histogram",
                                                    "summary", "untyped", NULL};
                size_t len = (size_t)(eol - p);
                bool ok = false;
                if (json_object_get(fam, "type"))
                    return parse_fail(line, "second TYPE");
                for (int i = 0; types[i]; i++)
                    if (strlen(types[i]) == len && strncmp(p, types[i], len) == 0)
                        ok = true;
                if (!ok)
                    return parse_fail(line, "unknown TYPE");
                json_object_set_new(fam, "type", json_stringn(p, len));
                p = eol;
            }
            if (p != eol)
                return parse_fail(line, "trailing text");
            p = eol + 1;
            continue;
        }
        if (*p == '#')
            return parse_fail(line, "comment other than HELP/TYPE");
        /* sample */
        size_t n = scan_name(p, true);
        if (n == 0)
            return parse_fail(line, "bad sample name");
        char *sname = strndup(p, n);
        p += n;
        const char *suffix =
            cur ? family_of(sname, cur_name,
                            jsonx_str(cur, "type") ? jsonx_str(cur, "type") : "untyped")
                : NULL;
        if (!suffix) {
            free(sname);
            return parse_fail(line, "sample outside its family (or wrong suffix)");
        }
        json_t *labels = json_object();
        json_t *sample = json_pack("{s:o,s:s}", "labels", labels, "suffix", suffix);
        free(sname);
        json_array_append_new(json_object_get(cur, "samples"), sample);
        if (*p == '{') {
            p++;
            while (*p != '}') {
                size_t ln = scan_name(p, false);
                if (ln == 0 || p[ln] != '=' || p[ln + 1] != '"')
                    return parse_fail(line, "bad label");
                char *lname = strndup(p, ln);
                p += ln + 2;
                char *val = unescape(&p, true);
                if (!val || *p != '"' || json_object_get(labels, lname)) {
                    free(lname);
                    free(val);
                    return parse_fail(line, "bad or duplicate label value");
                }
                p++;
                json_object_set_new(labels, lname, json_string(val));
                free(lname);
                free(val);
                if (*p == ',')
                    p++;
                else if (*p != '}')
                    return parse_fail(line, "expected , or }");
            }
            p++;
        }
        if (*p != ' ')
            return parse_fail(line, "expected a space before the value");
        p++;
        size_t vl = strcspn(p, " \n");
        double v;
        if (!parse_float(p, vl, &v))
            return parse_fail(line, "bad value");
        json_object_set_new(sample, "text", json_stringn(p, vl));
        p += vl;
        if (*p == ' ') { /* optional integer timestamp */
            p++;
            size_t tl = strspn(p, "-0123456789");
            if (tl == 0)
                return parse_fail(line, "bad timestamp");
            p += tl;
        }
        if (*p != '\n')
            return parse_fail(line, "trailing text after value");
        p++;
    }
    /* Per-family checks: no duplicate series; histograms consistent. */
    const char *name;
    json_t *fam;
    json_object_foreach (fams, name, fam) {
        json_t *seen = json_object(), *s;
        size_t i;
        json_array_foreach (json_object_get(fam, "samples"), i, s) {
            char key[4096];
            char *lk = jsonx_dump(json_object_get(s, "labels"));
            snprintf(key, sizeof(key), "%s|%s", jsonx_str(s, "suffix"), lk);
            free(lk);
            if (json_object_get(seen, key)) {
                json_decref(seen);
                return parse_fail(name, "duplicate series");
            }
            json_object_set_new(seen, key, json_true());
        }
        json_decref(seen);
        if (jsonx_str(fam, "type") && strcmp(jsonx_str(fam, "type"), "histogram") == 0 &&
            !histogram_consistent(fam))
            return parse_fail(name, "inconsistent histogram");
    }
    return TAKE_PTR(fams);
}

/* The value of the sample of `family` with `suffix` whose labels equal `labels_json`. NaN when
 * absent. */
static double sample_value(json_t *fams, const char *family, const char *suffix,
                           const char *labels_json)
{
    json_t *want = jsonx_loadb(labels_json, strlen(labels_json), "test labels");
    json_t *s;
    size_t i;
    double v = NAN;
    json_array_foreach (jsonx_get(fams, family, "samples"), i, s) {
        if (strcmp(jsonx_str(s, "suffix"), suffix) == 0 &&
            jsonx_equal(json_object_get(s, "labels"), want))
            v = sample_number(s);
    }
    json_decref(want);
    return v;
}

static json_t *render_and_parse(void)
{
    _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
    assert_int_equal(metrics_render(&sb), 0);
    json_t *fams = parse_exposition(strbuf_str(&sb));
    if (!fams)
        fprintf(stderr, "---- rendered:\n%s----\n", strbuf_str(&sb));
    assert_non_null(fams);
    return fams;
}

static int reset(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

/* ---- tests ---- */

static void test_parser_rejects_malformed_exposition(void **state)
{
    (void)state;
    /* The parser must be able to fail, or the other tests prove nothing. */
    static const char *const bad[] = {
        "x_total 1",                                         /* no newline */
        "# TYPE x counter\nx{a=\"b\\q\"} 1\n",               /* bad escape */
        "# TYPE x counter\nx{a=\"b\"\"} 1\n",                /* stray quote */
        "# TYPE x counter\ny 1\n",                           /* sample of another family */
        "# TYPE x counter\nx 1\n# TYPE y gauge\ny 1\nx 2\n", /* non-contiguous */
        "# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_bucket{le=\"+Inf\"} 1\nx_sum 1\nx_count "
        "1\n",                                                            /* decreasing buckets */
        "# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_sum 1\nx_count 1\n", /* no +Inf */
        "# TYPE x counter\nx 1\nx 2\n",                                   /* duplicate */
        "# TYPE x counter\nx 0x10\n",                                     /* hex value */
        "# HELP x a\\tb\n# TYPE x counter\nx 1\n",                        /* bad HELP escape */
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        json_t *r = parse_exposition(bad[i]);
        if (r)
            fprintf(stderr, "accepted bad input %d\n", i);
        assert_null(r);
    }
    json_t *ok = parse_exposition(
        "# HELP x_total things\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\\n\"} 1.5\n");
    assert_non_null(ok);
    assert_true(sample_value(ok, "x_total", "", "{\"a\":\"q\\\"\\\\\\n\"}") == 1.5);
    json_decref(ok);
}

static void test_counter_with_labels_renders_help_type_and_escaped_values(void **state)
{
    static const char *const labels[] = {"registry", "result", NULL};
    struct metric *polls = metrics_counter("istrigger_test_polls_total",
                                           "Digest checks.\nBy registry \\ result.", labels);
    (void)state;
    metrics_inc(polls, "docker.io", "success");
    metrics_inc(polls, "docker.io", "success");
    metrics_add(polls, 3, "quay.io", "error");
    metrics_inc(polls, "we\"ird\\reg\nistry", "ünïcode");
    metrics_add(polls, -5, "docker.io", "success"); /* counters never go down */

    json_t *fams = render_and_parse();
    assert_string_equal(jsonx_str(fams, "istrigger_test_polls_total", "type"), "counter");
    assert_string_equal(jsonx_str(fams, "istrigger_test_polls_total", "help"),
                        "Digest checks.\nBy registry \\ result.");
    assert_true(sample_value(fams, "istrigger_test_polls_total", "",
                             "{\"registry\":\"docker.io\",\"result\":\"success\"}") == 2);
    assert_true(sample_value(fams, "istrigger_test_polls_total", "",
                             "{\"registry\":\"quay.io\",\"result\":\"error\"}") == 3);
    assert_true(sample_value(fams, "istrigger_test_polls_total", "",
                             "{\"registry\":\"we\\\"ird\\\\reg\\nistry\",\"result\":"
                             "\"\xc3\xbc"
                             "n\xc3\xaf"
                             "code\"}") == 1);
    assert_true(metrics_value(polls, "quay.io", "error") == 3);
    json_decref(fams);
}

static void test_same_name_registers_once(void **state)
{
    static const char *const labels[] = {"namespace", NULL};
    (void)state;
    struct metric *a = metrics_gauge("istrigger_test_tracked_tags", "Tags.", labels);
    struct metric *b = metrics_gauge("istrigger_test_tracked_tags", "Tags.", labels);
    assert_ptr_equal(a, b);
    metrics_set(a, 4, "web");
    metrics_set(b, 7, "web");
    assert_true(metrics_value(a, "web") == 7);
    const char **names = metrics_names();
    assert_non_null(names);
    assert_string_equal(names[0], "istrigger_test_tracked_tags");
    assert_null(names[1]);
    free(names);
}

static void test_unlabelled_metric_exposes_zero_before_first_update(void **state)
{
    (void)state;
    metrics_counter("istrigger_test_restarts_total", "Restarts.", NULL);
    metrics_histogram("istrigger_test_empty_seconds", "Nothing observed.", NULL, NULL, 0);
    json_t *fams = render_and_parse();
    assert_true(sample_value(fams, "istrigger_test_restarts_total", "", "{}") == 0);
    assert_true(sample_value(fams, "istrigger_test_empty_seconds", "_count", "{}") == 0);
    assert_true(
        sample_value(fams, "istrigger_test_empty_seconds", "_bucket", "{\"le\":\"+Inf\"}") == 0);
    json_decref(fams);
}

static void test_histogram_buckets_are_cumulative_with_inf_sum_and_count(void **state)
{
    static const char *const labels[] = {"registry", NULL};
    static const double bounds[] = {0.1, 1, 10};
    struct metric *h = metrics_histogram("istrigger_test_request_duration_seconds",
                                         "Request latency.", labels, bounds, 3);
    (void)state;
    metrics_observe(h, 0.05, "r1"); /* <= 0.1 */
    metrics_observe(h, 0.1, "r1");  /* le is inclusive */
    metrics_observe(h, 0.5, "r1");
    metrics_observe(h, 20, "r1"); /* only +Inf */
    metrics_observe(h, 2, "r2");

    json_t *fams = render_and_parse();
    const char *f = "istrigger_test_request_duration_seconds";
    assert_string_equal(jsonx_str(fams, f, "type"), "histogram");
    assert_true(sample_value(fams, f, "_bucket", "{\"registry\":\"r1\",\"le\":\"0.1\"}") == 2);
    assert_true(sample_value(fams, f, "_bucket", "{\"registry\":\"r1\",\"le\":\"1\"}") == 3);
    assert_true(sample_value(fams, f, "_bucket", "{\"registry\":\"r1\",\"le\":\"10\"}") == 3);
    assert_true(sample_value(fams, f, "_bucket", "{\"registry\":\"r1\",\"le\":\"+Inf\"}") == 4);
    assert_true(sample_value(fams, f, "_count", "{\"registry\":\"r1\"}") == 4);
    assert_true(fabs(sample_value(fams, f, "_sum", "{\"registry\":\"r1\"}") - 20.65) < 1e-9);
    assert_true(sample_value(fams, f, "_bucket", "{\"registry\":\"r2\",\"le\":\"1\"}") == 0);
    assert_true(sample_value(fams, f, "_bucket", "{\"registry\":\"r2\",\"le\":\"10\"}") == 1);
    assert_true(sample_value(fams, f, "_count", "{\"registry\":\"r2\"}") == 1);
    json_decref(fams);
}

static void test_values_render_exactly_and_specials_as_prometheus_spells_them(void **state)
{
    static const char *const labels[] = {"k", NULL};
    struct metric *g = metrics_gauge("istrigger_test_values", "Values.", labels);
    static const double vals[] = {0.1, 1e-9, 123456789012.5, 1e300, -3, 1.0 / 3};
    char key[8];
    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        snprintf(key, sizeof(key), "v%zu", i);
        metrics_set(g, vals[i], key);
    }
    metrics_set(g, INFINITY, "inf");
    metrics_set(g, -INFINITY, "neginf");
    metrics_set(g, NAN, "nan");
    json_t *fams = render_and_parse();
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char lj[32];
        snprintf(lj, sizeof(lj), "{\"k\":\"v%zu\"}", i);
        assert_true(sample_value(fams, "istrigger_test_values", "", lj) == vals[i]);
    }
    assert_true(isinf(sample_value(fams, "istrigger_test_values", "", "{\"k\":\"inf\"}")));
    assert_true(sample_value(fams, "istrigger_test_values", "", "{\"k\":\"neginf\"}") < 0);
    json_t *s;
    size_t i;
    json_array_foreach (jsonx_get(fams, "istrigger_test_values", "samples"), i, s) {
        const char *k = jsonx_str(s, "labels", "k");
        const char *t = jsonx_str(s, "text");
        if (strcmp(k, "v0") == 0)
            assert_string_equal(t, "0.1");
        if (strcmp(k, "v4") == 0)
            assert_string_equal(t, "-3");
        if (strcmp(k, "inf") == 0)
            assert_string_equal(t, "+Inf");
        if (strcmp(k, "nan") == 0)
            assert_string_equal(t, "NaN");
    }
    json_decref(fams);
}

static void test_gauge_series_can_be_removed_and_cleared(void **state)
{
    static const char *const labels[] = {"namespace", "state", NULL};
    struct metric *g = metrics_gauge("istrigger_test_sources", "Sources.", labels);
    (void)state;
    metrics_set(g, 2, "web", "failing");
    metrics_set(g, 5, "web", "ok");
    metrics_add(g, -1, "web", "ok");
    metrics_remove(g, "web", "failing");
    json_t *fams = render_and_parse();
    assert_true(sample_value(fams, "istrigger_test_sources", "",
                             "{\"namespace\":\"web\",\"state\":\"ok\"}") == 4);
    assert_true(isnan(sample_value(fams, "istrigger_test_sources", "",
                                   "{\"namespace\":\"web\",\"state\":\"failing\"}")));
    json_decref(fams);
    metrics_clear(g);
    assert_true(metrics_value(g, "web", "ok") == 0);
    metrics_set_labels(g, 9, (const char *const[]){"api", "ok"});
    assert_true(metrics_value(g, "api", "ok") == 9);
}

static int collected;
static void collect_tracked(void *ctx)
{
    metrics_set((struct metric *)ctx, 42);
    collected++;
}

static void test_collectors_run_at_render(void **state)
{
    struct metric *g = metrics_gauge("istrigger_test_collected", "Set by a collector.", NULL);
    (void)state;
    collected = 0;
    assert_int_equal(metrics_add_collector(collect_tracked, g), 0);
    json_t *fams = render_and_parse();
    assert_int_equal(collected, 1);
    assert_true(sample_value(fams, "istrigger_test_collected", "", "{}") == 42);
    json_decref(fams);
    metrics_remove_collector(collect_tracked, g);
    json_decref(render_and_parse());
    assert_int_equal(collected, 1);
}

struct hammer {
    struct metric *c, *h;
};

static void *hammer_thread(void *arg)
{
    struct hammer *hm = arg;
    char ns[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(ns, sizeof(ns), "ns%d", i % 7);
        metrics_inc(hm->c, ns);
        metrics_observe(hm->h, (i % 10) * 0.1);
        if (i % 5000 == 0) {
            struct strbuf sb = STRBUF_INIT;
            metrics_render(&sb);
            strbuf_free(&sb);
        }
    }
    return NULL;
}

static void test_concurrent_updates_lose_nothing(void **state)
{
    static const char *const labels[] = {"namespace", NULL};
    struct hammer hm = {
        metrics_counter("istrigger_test_concurrent_total", "Concurrent.", labels),
        metrics_histogram("istrigger_test_concurrent_seconds", "Concurrent.", NULL, NULL, 0),
    };
    pthread_t t[4];
    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &hm), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    double total = 0;
    char ns[16];
    for (int i = 0; i < 7; i++) {
        snprintf(ns, sizeof(ns), "ns%d", i);
        total += metrics_value(hm.c, ns);
    }
    assert_true(total == 80000);
    assert_true(metrics_value(hm.h) == 80000);
    json_t *fams = render_and_parse();
    assert_true(sample_value(fams, "istrigger_test_concurrent_seconds", "_count", "{}") == 80000);
    json_decref(fams);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_rejects_malformed_exposition),
        cmocka_unit_test_setup(test_counter_with_labels_renders_help_type_and_escaped_values,
                               reset),
        cmocka_unit_test_setup(test_same_name_registers_once, reset),
        cmocka_unit_test_setup(test_unlabelled_metric_exposes_zero_before_first_update, reset),
        cmocka_unit_test_setup(test_histogram_buckets_are_cumulative_with_inf_sum_and_count, reset),
        cmocka_unit_test_setup(test_values_render_exactly_and_specials_as_prometheus_spells_them,
                               reset),
        cmocka_unit_test_setup(test_gauge_series_can_be_removed_and_cleared, reset),
        cmocka_unit_test_setup(test_collectors_run_at_render, reset),
        cmocka_unit_test_setup(test_concurrent_updates_lose_nothing, reset),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_reset();
    return r;
}
