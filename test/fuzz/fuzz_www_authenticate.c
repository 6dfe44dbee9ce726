/* libFuzzer target: WWW-Authenticate challenge parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = strndup((const char *)data, size);
    struct registry_challenge c;

    if (!s)
        return 0;
    if (registry_challenge_parse(s, &c) == 0 && c.scheme == REGISTRY_AUTH_NONE)
        abort(); /* a parsed challenge always has a scheme */
    registry_challenge_free(&c);
    free(s);
    return 0;
}
