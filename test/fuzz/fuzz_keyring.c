/* libFuzzer target: dockerconfigjson / dockercfg / auth.json parsing and lookups. */
#include <stdint.h>
#include <stdlib.h>

#include "istrigger/registry/keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const images[] = {"nginx",       "quay.io/org/app:v1", "127.0.0.1:5000/a/b",
                                         "localhost/x", "[::1]:5000/app",     "a.example.com/x"};
    struct keyring *kr = keyring_new();
    int n;

    if (!kr)
        return 0;
    n = keyring_add_json(kr, (const char *)data, size, "fuzz");
    if (n >= 0 && keyring_size(kr) != (size_t)n)
        abort();
    if (n < 0 && keyring_size(kr) != 0)
        abort(); /* a rejected document leaves nothing behind */
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
        struct image_ref r;
        if (image_ref_parse(images[i], &r) == 0)
            (void)keyring_lookup(kr, &r);
        image_ref_free(&r);
    }
    keyring_free(kr);
    return 0;
}
