/* libFuzzer target: manifest and index JSON (media type, children, platform choice, digest). */
#include <stdint.h>
#include <stdlib.h>

#include "istrigger/registry/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *mt = NULL;
    json_t *children = NULL;
    char digest[REGISTRY_DIGEST_MAX];

    if (registry_digest_compute("sha256", data, size, digest) != 0)
        abort();
    if (registry_digest_verify(digest, data, size) != 0)
        abort();
    if (registry_manifest_parse((const char *)data, size, "application/json", &mt, &children) ==
        0) {
        if (!mt)
            abort();
        if (children) {
            static const char *const platforms[] = {"linux/amd64", "linux/arm/v7", "x/y/z/w", "/"};
            for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
                int e = 0;
                const json_t *c = registry_index_select(children, platforms[i], &e);
                if (!c && e == 0)
                    abort();
            }
        }
    }
    free(mt);
    json_decref(children);
    return 0;
}
