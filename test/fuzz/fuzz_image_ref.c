/* libFuzzer target: image reference parsing. Property: whatever parses formats to a string
 * that parses again to the same registry, repository, tag and digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/registry/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = strndup((const char *)data, size);
    struct image_ref r, r2;

    if (!s)
        return 0;
    if (image_ref_parse(s, &r) == 0) {
        char *f = image_ref_format(&r);
        if (!f || image_ref_parse(f, &r2) != 0)
            abort();
        if (!same(r.registry, r2.registry) || !same(r.repository, r2.repository) ||
            !same(r.tag, r2.tag) || !same(r.digest, r2.digest))
            abort();
        (void)image_ref_api_host(&r);
        (void)image_ref_manifest_ref(&r);
        image_ref_free(&r2);
        free(f);
    }
    image_ref_free(&r);
    free(s);
    return 0;
}
