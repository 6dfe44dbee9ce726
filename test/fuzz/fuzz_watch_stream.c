/* libFuzzer target: the watch event-stream parser (src/kube/watch.c). Property: feeding the
 * input in one piece or split at a point taken from the input delivers the same events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/kube/watch.h"
#include "istrigger/util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int record(void *ctx, enum kube_watch_type type, json_t *obj)
{
    struct strbuf *log = ctx;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    strbuf_printf(log, "%d:%s\n", (int)type, s ? s : "");
    free(s);
    return 0;
}

static int run(const char *d, size_t n, size_t cut, struct strbuf *log)
{
    struct kube_watch_parser p = KUBE_WATCH_PARSER_INIT;
    int r = kube_watch_parser_feed(&p, d, cut, record, log);
    if (r == 0)
        r = kube_watch_parser_feed(&p, d + cut, n - cut, record, log);
    if (r == 0)
        r = kube_watch_parser_finish(&p, record, log);
    kube_watch_parser_free(&p);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    size_t cut = size ? data[0] % size : 0;
    int ra = run((const char *)data, size, size, &a);
    int rb = run((const char *)data, size, cut, &b);

    if (ra != rb || strcmp(strbuf_str(&a), strbuf_str(&b)) != 0)
        abort();
    strbuf_free(&a);
    strbuf_free(&b);
    return 0;
}
