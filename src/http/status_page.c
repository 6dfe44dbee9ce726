/*
 * status_page.c - the admin status page: one table row per tracked tag, per namespace,
 * failures first, with the workloads each tag triggers.
 *
 * Two steps, both pure functions of the providers' snapshots (status.h documents their
 * shapes): status_page_model() joins "sources" and "imagetriggers" into rows and a summary
 * (also served as JSON at /api/v1/status), and the HTML fragment is rendered from that model.
 * The inline script refreshes the page by fetching /api/v1/status and swapping the fragment,
 * so there is exactly one renderer (this file) and the page works without any external asset
 * (disconnected clusters). Every piece of text from the cluster goes through html_escape().
 */
#include "istrigger/http/status.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"
#include "istrigger/version.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- states ---- */

struct state_info {
    const char *state; /* as in the snapshot */
    const char *label; /* shown */
    const char *css;
    int rank; /* lower = more urgent, sorted first */
    bool problem;
};

static const struct state_info states[] = {
    {"Failing", "Failing", "failing", 0, true},
    /* In the sync controller a source backs off only after failed checks: to a person it is
     * failing, and the row says until when it waits. */
    {"BackingOff", "Failing", "failing", 1, true},
    {"Importing", "Importing", "importing", 2, false},
    {"Pending", "Waiting for first check", "pending", 3, false},
    {"UpToDate", "Up to date", "ok", 4, false},
};

static const struct state_info *state_lookup(const char *state)
{
    static const struct state_info unknown = {"", "Unknown", "pending", 3, false};
    for (size_t i = 0; state && i < sizeof(states) / sizeof(states[0]); i++)
        if (strcmp(states[i].state, state) == 0)
            return &states[i];
    return &unknown;
}

/* ---- model ---- */

static void copy_member(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v && !json_is_null(v))
        json_object_set(dst, key, v);
}

/* Every ImageTrigger's workloads, indexed by the ImageStreamTag they follow ("NS/IS:TAG" ->
 * array), so joining tags with triggers costs one lookup per row. NEW reference. */
static json_t *index_workloads(const json_t *imagetriggers)
{
    json_t *index = json_object(), *it, *trig;
    size_t i, j;
    char key[768];

    json_array_foreach (imagetriggers, i, it) {
        const char *it_ns = jsonx_str(it, "namespace");
        json_array_foreach (json_object_get(it, "triggers"), j, trig) {
            const char *from_ns = jsonx_str(trig, "from", "namespace");
            const char *from = jsonx_str(trig, "from", "name");
            if (!from_ns || !*from_ns)
                from_ns = it_ns;
            if (!from || !from_ns)
                continue;
            json_t *w = json_object();
            copy_member(w, it, "namespace");
            json_object_set_new(w, "kind",
                                json_string(jsonx_str(it, "target", "kind")
                                                ? jsonx_str(it, "target", "kind")
                                                : "?"));
            json_object_set_new(w, "name",
                                json_string(jsonx_str(it, "target", "name")
                                                ? jsonx_str(it, "target", "name")
                                                : "?"));
            copy_member(w, it, "ready");
            json_object_set_new(w, "imageTrigger",
                                json_string(jsonx_str(it, "name") ? jsonx_str(it, "name") : ""));
            copy_member(w, trig, "containers");
            copy_member(w, trig, "paused");
            copy_member(w, trig, "resolvedImage");
            snprintf(key, sizeof(key), "%s/%s", from_ns, from);
            json_t *list = json_object_get(index, key);
            if (!list) {
                list = json_array();
                json_object_set_new(index, key, list);
            }
            json_array_append_new(list, w);
        }
    }
    return index;
}

static json_t *make_row(const json_t *src, const json_t *tag, const json_t *workloads)
{
    static const char *const from_source[] = {
        "source",   "registry",   "interval",   "state",   "reason",       "message",
        "lastPoll", "lastDigest", "lastChange", "nextDue", "backoffUntil", "consecutiveFailures",
        NULL};
    const char *ns = jsonx_str(tag, "namespace"), *is = jsonx_str(tag, "imageStream"),
               *t = jsonx_str(tag, "tag");
    char istag[512];
    json_t *row = json_object();

    snprintf(istag, sizeof(istag), "%s:%s", is ? is : "?", t ? t : "?");
    json_object_set_new(row, "namespace", json_string(ns ? ns : ""));
    json_object_set_new(row, "imageStream", json_string(is ? is : ""));
    json_object_set_new(row, "tag", json_string(t ? t : ""));
    for (size_t i = 0; from_source[i]; i++)
        copy_member(row, src, from_source[i]);
    /* The tag's own import state (importing, or its import failing) outranks the source's
     * poll state: the registry answers, but the tag is not (yet) what it holds. */
    if (tag != src && jsonx_str(tag, "state")) {
        static const char *const from_tag[] = {
            "state", "reason", "message", "backoffUntil", "importingSince", "consecutiveFailures",
            NULL};
        for (size_t i = 0; from_tag[i]; i++)
            copy_member(row, tag, from_tag[i]);
    }
    if (!jsonx_str(row, "state"))
        json_object_set_new(row, "state", json_string("Pending"));
    json_object_set_new(row, "problem",
                        json_boolean(state_lookup(jsonx_str(row, "state"))->problem));
    char key[768];
    snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", istag);
    json_t *w = json_object_get(workloads, key);
    json_object_set_new(row, "workloads", w ? jsonx_dup(w) : json_array());
    return row;
}

static int compare_rows(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int ra = state_lookup(jsonx_str(a, "state"))->rank;
    int rb = state_lookup(jsonx_str(b, "state"))->rank;
    static const char *const keys[] = {"namespace", "imageStream", "tag", NULL};
    if (ra != rb)
        return ra - rb;
    for (int i = 0; keys[i]; i++) {
        int c = strcmp(jsonx_str(a, keys[i]), jsonx_str(b, keys[i]));
        if (c)
            return c;
    }
    return 0;
}

static json_t *build_model(const json_t *all, long long now_real_ns)
{
    const json_t *sources = json_object_get(all, "sources");
    const json_t *triggers = json_object_get(all, "imagetriggers");
    json_t *rows = json_array(), *src, *tag, *model;
    size_t i, j, n = 0;
    char ts[40];
    long long counts[sizeof(states) / sizeof(states[0])] = {0};

    json_t *workloads = index_workloads(triggers);
    json_array_foreach (sources, i, src) {
        json_t *tags = json_object_get(src, "tags");
        if (json_is_array(tags) && json_array_size(tags) > 0) {
            json_array_foreach (tags, j, tag) {
                json_array_append_new(rows, make_row(src, tag, workloads));
            }
        } else { /* a source reported without its tags: show it on its own */
            json_array_append_new(rows, make_row(src, src, workloads));
        }
    }
    json_decref(workloads);
    /* Sort through a plain array (jansson has no sort). */
    n = json_array_size(rows);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        json_decref(rows);
        return NULL;
    }
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(rows, i));
    qsort(v, n, sizeof(*v), compare_rows);
    json_array_clear(rows);
    for (i = 0; i < n; i++) {
        const struct state_info *st = state_lookup(jsonx_str(v[i], "state"));
        for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
            if (st == &states[k])
                counts[k]++;
        json_array_append_new(rows, v[i]);
    }
    free(v);

    json_t *summary = json_object();
    json_object_set_new(summary, "tags", json_integer((json_int_t)n));
    json_object_set_new(summary, "sources", json_integer((json_int_t)json_array_size(sources)));
    json_object_set_new(summary, "imageTriggers",
                        json_integer((json_int_t)json_array_size(triggers)));
    for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
        json_object_set_new(summary, states[k].state, json_integer(counts[k]));
    time_format_rfc3339(now_real_ns, ts, sizeof(ts), false);
    model = json_pack("{s:s,s:o,s:o,s:b,s:b}", "generated", ts, "summary", summary, "rows", rows,
                      "syncReporting", json_is_array(sources), "triggersReporting",
                      json_is_array(triggers));
    return model;
}

static void put_fragment(struct strbuf *out, const json_t *model, const json_t *all, long long now);

json_t *status_page_model(const json_t *all, long long now_real_ns)
{
    json_t *model = build_model(all, now_real_ns);
    struct strbuf html = STRBUF_INIT;

    if (!model)
        return NULL;
    put_fragment(&html, model, all, now_real_ns);
    json_object_set_new(model, "html", json_stringn(strbuf_str(&html), html.len));
    strbuf_free(&html);
    return model;
}

/* ---- HTML ---- */

static void html_escape(struct strbuf *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            strbuf_puts(out, "&amp;");
            break;
        case '<':
            strbuf_puts(out, "&lt;");
            break;
        case '>':
            strbuf_puts(out, "&gt;");
            break;
        case '"':
            strbuf_puts(out, "&quot;");
            break;
        case '\'':
            strbuf_puts(out, "&#39;");
            break;
        default:
            strbuf_putc(out, *s);
        }
    }
}

/* Lower-cased, escaped text for the filter's data-search attribute. */
static void search_text(struct strbuf *out, const char *s)
{
    struct strbuf tmp = STRBUF_INIT;
    for (; s && *s; s++)
        strbuf_putc(&tmp, (*s >= 'A' && *s <= 'Z') ? (char)(*s + 32) : *s);
    html_escape(out, strbuf_str(&tmp));
    strbuf_putc(out, ' ');
    strbuf_free(&tmp);
}

/* a - b, saturated: page times may be any year RFC 3339 allows, so a difference of two valid
 * int64 nanosecond times can overflow. */
static int64_t diff_ns(int64_t a, int64_t b)
{
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d))
        return a > b ? INT64_MAX : INT64_MIN;
    return d;
}

/* "5m ago" / "in 20s" for an RFC 3339 time, with the absolute time as tooltip. */
static void put_time(struct strbuf *out, const char *rfc3339, long long now, const char *none)
{
    int64_t t;
    long long d;
    bool future;
    char rel[48];

    if (!rfc3339 || time_parse_rfc3339(rfc3339, &t) < 0) {
        strbuf_printf(out, "<span class=\"muted\">%s</span>", none);
        return;
    }
    future = t > now;
    /* Round away from now, so a retry due in 300ms reads "in 1s", never "in 0s". */
    d = future ? diff_ns(t, now) / NS_PER_SEC + (diff_ns(t, now) % NS_PER_SEC != 0)
               : diff_ns(now, t) / NS_PER_SEC;
    if (!future && d < 2)
        snprintf(rel, sizeof(rel), "just now");
    else if (d < 120)
        snprintf(rel, sizeof(rel), future ? "in %llds" : "%llds ago", d);
    else if (d < 7200)
        snprintf(rel, sizeof(rel), future ? "in %lldm" : "%lldm ago", d / 60);
    else if (d < 172800)
        snprintf(rel, sizeof(rel), future ? "in %lldh" : "%lldh ago", d / 3600);
    else
        snprintf(rel, sizeof(rel), future ? "in %lldd" : "%lldd ago", d / 86400);
    strbuf_puts(out, "<time datetime=\"");
    html_escape(out, rfc3339);
    strbuf_puts(out, "\" title=\"");
    html_escape(out, rfc3339);
    strbuf_printf(out, "\">%s</time>", rel);
}

/* "03:37:40 UTC (in 2m)": a wall-clock time people can compare with logs, and how far. */
static void put_clock(struct strbuf *out, const char *rfc3339, long long now)
{
    int64_t t;
    if (!rfc3339 || time_parse_rfc3339(rfc3339, &t) < 0 || strlen(rfc3339) < 19) {
        strbuf_puts(out, "<span class=\"muted\">unknown</span>");
        return;
    }
    strbuf_append(out, rfc3339 + 11, 8);
    strbuf_puts(out, " UTC");
    if (diff_ns(t, now) >= 2 * NS_PER_SEC) { /* the timestamp has whole seconds: below 2s, noise */
        strbuf_puts(out, " (");
        put_time(out, rfc3339, now, "");
        strbuf_putc(out, ')');
    }
}

static void put_digest(struct strbuf *out, const char *digest)
{
    if (!digest || !*digest)
        return;
    const char *hex = strchr(digest, ':');
    strbuf_puts(out, "<div class=\"digest\" title=\"");
    html_escape(out, digest);
    strbuf_puts(out, "\"><code>");
    /* algorithm + the first 12 hex digits, like `oc describe is` */
    if (hex) {
        struct strbuf tmp = STRBUF_INIT;
        strbuf_append(&tmp, digest,
                      (size_t)(hex - digest) + 1 + (strlen(hex + 1) > 12 ? 12 : strlen(hex + 1)));
        html_escape(out, strbuf_str(&tmp));
        strbuf_free(&tmp);
    } else {
        html_escape(out, digest);
    }
    strbuf_puts(out, "</code></div>");
}

static void put_state(struct strbuf *out, const json_t *row, long long now)
{
    const struct state_info *st = state_lookup(jsonx_str(row, "state"));
    const char *reason = jsonx_str(row, "reason"), *message = jsonx_str(row, "message");
    long long failures = jsonx_int(row, 0, "consecutiveFailures");

    strbuf_printf(out, "<span class=\"badge %s\">%s</span>", st->css, st->label);
    if (strcmp(st->state, "BackingOff") == 0) {
        strbuf_puts(out, " <span class=\"until\">backing off until ");
        put_clock(out, jsonx_str(row, "backoffUntil"), now);
        strbuf_puts(out, "</span>");
    } else if (strcmp(st->state, "Failing") == 0) {
        strbuf_puts(out, " <span class=\"until\">retrying now</span>");
    }
    if (!st->problem && !(reason && *reason))
        return;
    if (reason || message) {
        strbuf_puts(out, "<div class=\"why\">");
        if (reason && *reason) {
            strbuf_puts(out, "<strong>");
            html_escape(out, reason);
            strbuf_puts(out, "</strong>");
        }
        if (message && *message) {
            strbuf_puts(out, reason && *reason ? ": " : "");
            html_escape(out, message);
        }
        if (failures > 1)
            strbuf_printf(out, " <span class=\"muted\">(failed %lld checks in a row)</span>",
                          failures);
        strbuf_puts(out, "</div>");
    }
}

static void put_workloads(struct strbuf *out, const json_t *workloads)
{
    json_t *w;
    size_t i;

    if (json_array_size(workloads) == 0) {
        strbuf_puts(out, "<span class=\"muted\">none</span>");
        return;
    }
    strbuf_puts(out, "<ul class=\"wl\">");
    json_array_foreach (workloads, i, w) {
        strbuf_puts(out, "<li><code>");
        html_escape(out, jsonx_str(w, "kind"));
        strbuf_putc(out, '/');
        html_escape(out, jsonx_str(w, "name"));
        strbuf_puts(out, "</code>");
        if (jsonx_bool(w, false, "paused"))
            strbuf_puts(out, " <span class=\"badge pending\">paused</span>");
        if (json_is_false(json_object_get(w, "ready")))
            strbuf_puts(out, " <span class=\"badge failing\">not ready</span>");
        strbuf_puts(out, "</li>");
    }
    strbuf_puts(out, "</ul>");
}

static void put_row(struct strbuf *out, const json_t *row, long long now)
{
    const char *ns = jsonx_str(row, "namespace");
    json_t *w;
    size_t i;
    bool problem = jsonx_bool(row, false, "problem");

    strbuf_printf(out, "<tr class=\"st-%s\"%s data-search=\"",
                  state_lookup(jsonx_str(row, "state"))->css, problem ? " data-problem" : "");
    search_text(out, ns);
    search_text(out, jsonx_str(row, "imageStream"));
    strbuf_putc(out, ' ');
    search_text(out, jsonx_str(row, "tag"));
    search_text(out, jsonx_str(row, "source"));
    search_text(out, state_lookup(jsonx_str(row, "state"))->label);
    search_text(out, jsonx_str(row, "reason"));
    json_array_foreach (json_object_get(row, "workloads"), i, w) {
        search_text(out, jsonx_str(w, "kind"));
        search_text(out, jsonx_str(w, "name"));
    }
    strbuf_puts(out, "\"><th scope=\"row\"><code>");
    html_escape(out, jsonx_str(row, "imageStream"));
    strbuf_putc(out, ':');
    html_escape(out, jsonx_str(row, "tag"));
    strbuf_puts(out, "</code></th><td class=\"src\"><code>");
    html_escape(out, jsonx_str(row, "source") ? jsonx_str(row, "source") : "");
    strbuf_puts(out, "</code></td><td>");
    html_escape(out, jsonx_str(row, "interval") ? jsonx_str(row, "interval") : "");
    strbuf_puts(out, "</td><td class=\"state\">");
    put_state(out, row, now);
    strbuf_puts(out, "</td><td>");
    put_time(out, jsonx_str(row, "lastChange"), now, "never seen");
    put_digest(out, jsonx_str(row, "lastDigest"));
    strbuf_puts(out, "</td><td>");
    put_time(out, jsonx_str(row, "lastPoll"), now, "not yet");
    strbuf_puts(out, "<div class=\"next\">next ");
    int64_t due;
    if (jsonx_str(row, "nextDue") && time_parse_rfc3339(jsonx_str(row, "nextDue"), &due) == 0 &&
        due <= now)
        strbuf_puts(out, "due now");
    else
        put_time(out, jsonx_str(row, "nextDue"), now, "not scheduled");
    strbuf_puts(out, "</div></td><td>");
    put_workloads(out, json_object_get(row, "workloads"));
    strbuf_puts(out, "</td></tr>\n");
}

/* Namespaces in display order: those with problems first, then by name. */
static json_t *namespace_order(const json_t *rows)
{
    json_t *seen = json_object(), *order = json_array(), *row;
    size_t i;

    /* Rows are sorted by state rank first, so the first appearance order puts namespaces with
     * failures first; within equal urgency we keep that order (namespace names ascending). */
    json_array_foreach (rows, i, row) {
        const char *ns = jsonx_str(row, "namespace");
        if (!json_object_get(seen, ns)) {
            json_object_set_new(seen, ns, json_true());
            json_array_append_new(order, json_string(ns));
        }
    }
    json_decref(seen);
    return order;
}

static void put_namespace(struct strbuf *out, const char *ns, const json_t *rows, long long now,
                          int index)
{
    json_t *row;
    size_t i, total = 0, problems = 0;

    json_array_foreach (rows, i, row) {
        if (strcmp(jsonx_str(row, "namespace"), ns) != 0)
            continue;
        total++;
        problems += jsonx_bool(row, false, "problem");
    }
    strbuf_printf(out, "<section class=\"ns\" data-ns aria-labelledby=\"ns-%d\"><h2 id=\"ns-%d\">",
                  index, index);
    strbuf_puts(out, "<span class=\"muted\">namespace</span> ");
    html_escape(out, ns);
    strbuf_printf(out, " <span class=\"count\">%zu tag%s", total, total == 1 ? "" : "s");
    if (problems)
        strbuf_printf(out, ", <span class=\"bad\">%zu with problems</span>", problems);
    /* Fixed column widths: every namespace's table lines up with the others. */
    strbuf_puts(out, "</span></h2>\n<div class=\"scroll\"><table class=\"tags\"><colgroup>"
                     "<col style=\"width:15%\"><col style=\"width:21%\"><col style=\"width:6%\">"
                     "<col style=\"width:27%\"><col style=\"width:11%\"><col style=\"width:8%\">"
                     "<col style=\"width:12%\"></colgroup><thead><tr>"
                     "<th scope=\"col\">Tag</th><th scope=\"col\">Source</th>"
                     "<th scope=\"col\">Every</th><th scope=\"col\">State</th>"
                     "<th scope=\"col\">Last change</th><th scope=\"col\">Last check</th>"
                     "<th scope=\"col\">Triggers</th></tr></thead><tbody>\n");
    json_array_foreach (rows, i, row) {
        if (strcmp(jsonx_str(row, "namespace"), ns) == 0)
            put_row(out, row, now);
    }
    strbuf_puts(out, "</tbody></table></div></section>\n");
}

static void put_imports(struct strbuf *out, const json_t *imports, long long now)
{
    json_t *im;
    size_t i, shown = 0;

    if (!json_is_array(imports) || json_array_size(imports) == 0)
        return;
    strbuf_puts(out, "<section class=\"imports\" aria-labelledby=\"imports-h\">"
                     "<h2 id=\"imports-h\">Recent imports</h2><div class=\"scroll\"><table "
                     "class=\"imports\">"
                     "<thead><tr><th scope=\"col\">When</th><th scope=\"col\">Image stream</th>"
                     "<th scope=\"col\">Source</th><th scope=\"col\">Digest</th>"
                     "<th scope=\"col\">Result</th></tr></thead><tbody>\n");
    json_array_foreach (imports, i, im) {
        const char *result = jsonx_str(im, "result");
        bool ok = result && strcmp(result, "Success") == 0;
        json_t *tag;
        size_t j;
        if (shown++ == 20)
            break;
        strbuf_printf(out, "<tr%s data-search=\"", ok ? "" : " data-problem");
        search_text(out, jsonx_str(im, "namespace"));
        search_text(out, jsonx_str(im, "imageStream"));
        search_text(out, jsonx_str(im, "source"));
        strbuf_puts(out, "\"><td>");
        put_time(out, jsonx_str(im, "time"), now, "?");
        strbuf_puts(out, "</td><td><code>");
        html_escape(out, jsonx_str(im, "namespace"));
        strbuf_putc(out, '/');
        html_escape(out, jsonx_str(im, "imageStream"));
        json_array_foreach (json_object_get(im, "tags"), j, tag) {
            strbuf_puts(out, j ? "," : ":");
            html_escape(out, json_string_value(tag));
        }
        strbuf_puts(out, "</code></td><td class=\"src\"><code>");
        html_escape(out, jsonx_str(im, "source"));
        strbuf_puts(out, "</code></td><td>");
        put_digest(out, jsonx_str(im, "digest"));
        strbuf_puts(out, "</td><td>");
        strbuf_printf(out, "<span class=\"badge %s\">%s</span>", ok ? "ok" : "failing",
                      ok ? "Imported" : "Failed");
        if (!ok && jsonx_str(im, "message")) {
            strbuf_puts(out, "<div class=\"why\">");
            html_escape(out, jsonx_str(im, "message"));
            strbuf_puts(out, "</div>");
        }
        strbuf_puts(out, "</td></tr>\n");
    }
    strbuf_puts(out, "</tbody></table></div></section>\n");
}

static void put_summary(struct strbuf *out, const json_t *model)
{
    const json_t *s = json_object_get(model, "summary");
    long long failing = jsonx_int(s, 0, "Failing"), backoff = jsonx_int(s, 0, "BackingOff");

    strbuf_printf(out,
                  "<p class=\"summary\" id=\"summary\"><span class=\"chip\"><b>%lld</b> tag%s "
                  "tracked from <b>%lld</b> source%s</span>",
                  jsonx_int(s, 0, "tags"), jsonx_int(s, 0, "tags") == 1 ? "" : "s",
                  jsonx_int(s, 0, "sources"), jsonx_int(s, 0, "sources") == 1 ? "" : "s");
    strbuf_printf(out, "<span class=\"chip %s\"><b>%lld</b> failing",
                  failing + backoff ? "bad" : "", failing + backoff);
    if (backoff)
        strbuf_printf(out, " (%lld backing off)", backoff);
    strbuf_puts(out, "</span>");
    strbuf_printf(out, "<span class=\"chip\"><b>%lld</b> up to date</span>",
                  jsonx_int(s, 0, "UpToDate"));
    strbuf_printf(out, "<span class=\"chip\"><b>%lld</b> ImageTrigger%s</span></p>\n",
                  jsonx_int(s, 0, "imageTriggers"),
                  jsonx_int(s, 0, "imageTriggers") == 1 ? "" : "s");
}

/* The part of the page the script swaps on refresh. */
static void put_fragment(struct strbuf *out, const json_t *model, const json_t *all, long long now)
{
    const json_t *rows = json_object_get(model, "rows");
    json_t *order, *ns;
    size_t i;

    put_summary(out, model);
    if (!jsonx_bool(model, false, "syncReporting"))
        strbuf_puts(out, "<p class=\"notice\">The ImageStream sync controller has not reported "
                         "yet (starting, or not the leader).</p>\n");
    if (json_array_size(rows) == 0)
        strbuf_puts(out, "<p class=\"empty\">No tags are tracked yet. Annotate an ImageStream "
                         "to track its tags, e.g. <code>oc annotate is/app "
                         "istrigger.io/poll-interval=5m</code>.</p>\n");
    order = namespace_order(rows);
    json_array_foreach (order, i, ns) {
        put_namespace(out, json_string_value(ns), rows, now, (int)i);
    }
    json_decref(order);
    put_imports(out, json_object_get(all, "imports"), now);
}

static const char PAGE_CSS[] =
    ":root{--fg:#1b1d21;--muted:#5c6370;--line:#d8dce3;--bg:#fff;--head:#f3f5f8;"
    "--bad:#a4161a;--badbg:#fde8e8;--warn:#8a5300;--warnbg:#fff3d6;--ok:#1e6b2d;"
    "--okbg:#e4f4e7;--info:#124f93;--infobg:#e3eefb;--focus:#0b63ce}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Liberation Sans',"
    "sans-serif;color:var(--fg);background:var(--bg)}"
    "header{padding:14px 24px 10px;border-bottom:1px solid var(--line);background:var(--head)}"
    "h1{font-size:20px;margin:0 0 2px}h2{font-size:16px;margin:22px 0 8px}"
    ".meta{margin:0;color:var(--muted)}"
    ".controls{display:flex;gap:16px;align-items:center;margin-top:10px;flex-wrap:wrap}"
    ".controls input[type=search]{width:min(420px,100%);padding:6px 8px;border:1px solid "
    "#9aa3b0;border-radius:4px;font:inherit}"
    "main{padding:4px 24px 32px}"
    ".summary{display:flex;gap:8px;flex-wrap:wrap;margin:14px 0 4px}"
    ".chip{border:1px solid var(--line);border-radius:14px;padding:2px 10px;background:#fff}"
    ".chip.bad{border-color:var(--bad);color:var(--bad);background:var(--badbg)}"
    ".chip.warn{border-color:var(--warn);color:var(--warn);background:var(--warnbg)}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;min-width:900px}"
    "table.tags{table-layout:fixed}table.tags code{word-break:break-word}"
    "table.imports td:first-child{white-space:nowrap}"
    "th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid "
    "var(--line)}"
    "thead th{background:var(--head);font-weight:600;white-space:nowrap}"
    "tbody th{font-weight:600}"
    "tr.st-failing>th{border-left:4px solid var(--bad)}"
    "tbody tr>th{border-left:4px solid transparent}"
    "td.src code{word-break:break-all}"
    "td.state{min-width:220px;max-width:420px}"
    "code{font:12.5px/1.4 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}"
    ".badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;"
    "font-weight:600;white-space:nowrap;border:1px solid}"
    ".badge.failing{color:var(--bad);background:var(--badbg)}"
    ".badge.ok{color:var(--ok);background:var(--okbg)}"
    ".badge.importing{color:var(--info);background:var(--infobg)}"
    ".badge.pending{color:var(--muted);background:var(--head)}"
    ".why{margin-top:3px;color:var(--bad);word-break:break-word}"
    ".muted,.next,.digest,.count{color:var(--muted)}.count{font-weight:400;font-size:13px}"
    ".bad{color:var(--bad)}"
    ".digest,.next{font-size:12.5px}"
    ".digest{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    ".digest code{word-break:normal}"
    ".wl{margin:0;padding:0;list-style:none}.wl li+li{margin-top:4px}"
    ".notice{padding:8px 12px;background:var(--warnbg);border:1px solid var(--warn);"
    "border-radius:4px}"
    ".empty{color:var(--muted)}"
    "a.skip{position:absolute;left:-999px}a.skip:focus{left:8px;top:8px;background:#fff;"
    "padding:4px 8px;z-index:1}"
    ":focus-visible{outline:3px solid var(--focus);outline-offset:2px}"
    "[hidden]{display:none!important}";

/* Refresh by fetching the server-rendered fragment from the API (relative URL, so it works
 * behind a proxy prefix), keep filter state, re-apply it; '/' focuses the filter, Escape
 * clears it. */
static const char PAGE_SCRIPT[] =
    "(function(){'use strict';"
    "var main=document.getElementById('main'),f=document.getElementById('filter'),"
    "p=document.getElementById('problems'),st=document.getElementById('refresh'),"
    "gen=document.getElementById('generated');"
    "function apply(){var q=f.value.trim().toLowerCase(),only=p.checked;"
    "main.querySelectorAll('tr[data-search]').forEach(function(r){"
    "r.hidden=!((!q||r.getAttribute('data-search').indexOf(q)>=0)&&"
    "(!only||r.hasAttribute('data-problem')));});"
    "main.querySelectorAll('section').forEach(function(s){"
    "s.hidden=(q!==''||only)&&!s.querySelector('tr[data-search]:not([hidden])');});}"
    "f.addEventListener('input',apply);p.addEventListener('change',apply);"
    "document.addEventListener('keydown',function(e){"
    "if(e.key==='/'&&document.activeElement!==f){e.preventDefault();f.focus();}"
    "else if(e.key==='Escape'&&document.activeElement===f){f.value='';apply();}});"
    "function refresh(){fetch('api/v1/status',{cache:'no-store',credentials:'same-origin'})"
    ".then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.json();})"
    ".then(function(m){main.innerHTML=m.html;gen.textContent=m.generated;"
    "gen.setAttribute('datetime',m.generated);st.textContent='live, every 10 s';apply();})"
    ".catch(function(e){st.textContent='refresh failed ('+e.message+'), retrying';});}"
    "setInterval(refresh,10000);apply();})();";

int status_render_html(struct strbuf *out, const json_t *all, long long now_real_ns)
{
    _cleanup_json_ json_t *model = status_page_model(all, now_real_ns);
    const char *gen;

    if (!model)
        return err_set(-ENOMEM, "rendering the status page: out of memory");
    gen = jsonx_str(model, "generated");
    strbuf_printf(out,
                  "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>istrigger status</title><style>%s</style></head><body>\n"
                  "<a class=\"skip\" href=\"#main\">Skip to the tables</a>\n"
                  "<header><h1>istrigger status</h1><p class=\"meta\">version %s &middot; "
                  "generated <time id=\"generated\" datetime=\"%s\">%s</time> &middot; "
                  "<span id=\"refresh\">live, every 10 s</span></p>\n"
                  "<div class=\"controls\" role=\"search\"><label for=\"filter\">Filter</label>"
                  "<input id=\"filter\" type=\"search\" autocomplete=\"off\" "
                  "placeholder=\"namespace, tag, image or workload (press /)\">"
                  "<label><input type=\"checkbox\" id=\"problems\"> only problems</label>"
                  "</div></header>\n<main id=\"main\" tabindex=\"-1\">\n",
                  PAGE_CSS, ISTRIGGER_VERSION, gen, gen);
    strbuf_puts(out, jsonx_str(model, "html") ? jsonx_str(model, "html") : "");
    strbuf_printf(out, "</main>\n<script>%s</script>\n</body></html>\n", PAGE_SCRIPT);
    return out->buf ? 0 : err_set(-ENOMEM, "rendering the status page: out of memory");
}
