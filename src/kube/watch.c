/*
 * watch.c - the watch request and its incremental event-stream parser (see watch.h).
 *
 * The parser keeps the bytes of the current, incomplete line in a strbuf and remembers how far
 * it already looked for a newline, so a large object arriving in many small pieces is scanned
 * once (linear time), and all complete lines of one chunk are handed out before the consumed
 * prefix is dropped in one move.
 */
#include "istrigger/kube/watch.h"

#include "kube_internal.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_LINE (64u << 20)

static const char *const type_names[] = {
    [KUBE_WATCH_ADDED] = "ADDED",     [KUBE_WATCH_MODIFIED] = "MODIFIED",
    [KUBE_WATCH_DELETED] = "DELETED", [KUBE_WATCH_BOOKMARK] = "BOOKMARK",
    [KUBE_WATCH_ERROR] = "ERROR",
};

const char *kube_watch_type_name(enum kube_watch_type t)
{
    return (unsigned)t <= KUBE_WATCH_ERROR ? type_names[t] : "UNKNOWN";
}

static int parse_type(const char *s, enum kube_watch_type *t)
{
    for (unsigned i = 0; i <= KUBE_WATCH_ERROR; i++) {
        if (strcmp(s, type_names[i]) == 0) {
            *t = (enum kube_watch_type)i;
            return 0;
        }
    }
    return -1;
}

/* Parse one line (without its newline) and deliver it. Blank lines are skipped. */
static int deliver_line(struct kube_watch_parser *p, const char *line, size_t len, kube_watch_fn fn,
                        void *ctx)
{
    enum kube_watch_type type;
    const char *ts;
    json_t *obj;
    size_t i;

    for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++)
        ;
    if (i == len)
        return 0;
    _cleanup_json_ json_t *ev = jsonx_loadb(line, len, "watch event");
    if (!ev)
        return err_wrap(-EBADMSG, "watch stream");
    ts = jsonx_str(ev, "type");
    obj = json_object_get(ev, "object");
    if (!json_is_object(ev) || !ts || !json_is_object(obj))
        return err_set(-EBADMSG, "watch stream: event without \"type\" or \"object\"");
    if (parse_type(ts, &type) < 0)
        return err_set(-EBADMSG, "watch stream: unknown event type \"%s\"", ts);
    p->events++;
    return fn(ctx, type, obj);
}

int kube_watch_parser_feed(struct kube_watch_parser *p, const char *data, size_t len,
                           kube_watch_fn fn, void *ctx)
{
    size_t max_line = p->max_line ? p->max_line : DEFAULT_MAX_LINE;
    size_t start = 0;
    int r = 0;

    if (strbuf_append(&p->buf, data, len) < 0)
        return err_set(-ENOMEM, "watch stream: out of memory");
    for (;;) {
        char *nl = memchr(p->buf.buf + p->scanned, '\n', p->buf.len - p->scanned);
        if (!nl) {
            p->scanned = p->buf.len;
            break;
        }
        size_t end = (size_t)(nl - p->buf.buf);
        r = deliver_line(p, p->buf.buf + start, end - start, fn, ctx);
        start = end + 1;
        p->scanned = start;
        if (r < 0)
            break;
    }
    if (start) {
        strbuf_consume(&p->buf, start);
        p->scanned -= start;
    }
    if (r == 0 && p->buf.len > max_line) {
        r = err_set(-EBADMSG, "watch stream: event longer than %zu bytes", max_line);
        strbuf_reset(&p->buf);
        p->scanned = 0;
    }
    return r;
}

int kube_watch_parser_finish(struct kube_watch_parser *p, kube_watch_fn fn, void *ctx)
{
    int r = 0;

    if (p->buf.len)
        r = deliver_line(p, p->buf.buf, p->buf.len, fn, ctx);
    strbuf_reset(&p->buf);
    p->scanned = 0;
    return r;
}

void kube_watch_parser_free(struct kube_watch_parser *p)
{
    strbuf_free(&p->buf);
    p->scanned = 0;
}

int kube_watch_error_status(const json_t *status)
{
    int code = (int)jsonx_int(status, 500, "code");
    return kube_status_error(code, status, NULL, 0);
}

struct watch_state {
    struct kube_watch_parser parser;
    kube_watch_fn fn;
    void *ctx;
};

static int watch_on_data(void *ctx, const char *data, size_t len)
{
    struct watch_state *ws = ctx;
    return kube_watch_parser_feed(&ws->parser, data, len, ws->fn, ws->ctx);
}

int kube_watch(struct kube_client *c, const struct kube_resource *res, const char *ns,
               const struct kube_watch_opts *opts, kube_watch_fn fn, void *ctx)
{
    static const struct kube_watch_opts no_opts;
    _cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
    struct watch_state ws = {.parser = KUBE_WATCH_PARSER_INIT, .fn = fn, .ctx = ctx};
    char rn[128], tmo[32];
    int r;

    if (!opts)
        opts = &no_opts;
    snprintf(tmo, sizeof(tmo), "%d", opts->timeout_seconds);
    if (kube_resource_path(&path, res, ns, NULL, NULL) < 0 || strbuf_puts(&path, "?watch=1") < 0 ||
        kube_query_add(&path, "resourceVersion", opts->resource_version) < 0 ||
        kube_query_add(&path, "labelSelector", opts->label_selector) < 0 ||
        kube_query_add(&path, "fieldSelector", opts->field_selector) < 0 ||
        kube_query_add(&path, "allowWatchBookmarks", opts->allow_bookmarks ? "true" : NULL) < 0 ||
        kube_query_add(&path, "timeoutSeconds", opts->timeout_seconds > 0 ? tmo : NULL) < 0)
        return err_set(-ENOMEM, "out of memory");
    struct kube_http_req rq = {
        .method = "GET",
        .verb = "WATCH",
        .what = kube_resource_name(res, rn, sizeof(rn)),
        .url_path = strbuf_str(&path),
        .on_data = watch_on_data,
        .on_data_ctx = &ws,
        .stop = opts->stop,
        /* The server ends the stream at timeoutSeconds; give it a margin before we do. */
        .timeout_ns = opts->timeout_seconds > 0 ? (opts->timeout_seconds + 30) * NS_PER_SEC : -1,
    };
    r = kube_http_do(c, &rq, true, NULL);
    if (r == 0)
        r = kube_watch_parser_finish(&ws.parser, fn, ctx);
    kube_watch_parser_free(&ws.parser);
    if (r < 0 && r != -ECANCELED)
        return err_wrap(r, "watch %s%s%s", rn, ns ? " in " : "", ns ? ns : "");
    return r;
}
