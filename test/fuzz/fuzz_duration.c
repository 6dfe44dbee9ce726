/* libFuzzer target: Go-style durations. Property: a parsed value formats to a string that
 * parses back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/util/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = strndup((const char *)data, size);
    int64_t ns, back;
    char buf[64];

    if (!s)
        return 0;
    if (duration_parse(s, &ns) == 0) {
        duration_format(ns, buf, sizeof(buf));
        if (duration_parse(buf, &back) != 0 || back != ns)
            abort();
    }
    free(s);
    return 0;
}
