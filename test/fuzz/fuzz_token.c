/* libFuzzer target: bearer token server replies. The lifetime is never negative nor longer
 * than the reply allows. */
#include <stdint.h>
#include <stdlib.h>

#include "istrigger/registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tok = NULL;
    int64_t life = -1;

    if (registry_token_parse((const char *)data, size, 1795000000LL * 1000000000LL, &tok, &life) ==
        0) {
        if (!tok || life < 0)
            abort();
    } else if (tok) {
        abort();
    }
    free(tok);
    return 0;
}
