/* libFuzzer target: the status page rendered from arbitrary controller snapshots (their strings
 * come from cluster objects and registry errors, i.e. from outside). Nothing from the data may
 * open a tag: the page holds exactly its own one <script>, and the JSON model renders too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/http/status.h"
#include "istrigger/util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *all = jsonx_loadb((const char *)data, size, "fuzz input");
    struct strbuf out = STRBUF_INIT;

    if (!all)
        return 0;
    if (status_render_html(&out, all, 1795000000LL * 1000000000LL) == 0) {
        const char *html = strbuf_str(&out);
        if (count(html, "<script") != 1 || count(html, "</script") != 1 ||
            count(html, "<style") != 1 || count(html, "<img") != 0 || count(html, "<iframe") != 0)
            abort();
    }
    json_t *model = status_page_model(all, 0);
    json_decref(model);
    strbuf_free(&out);
    json_decref(all);
    return 0;
}
