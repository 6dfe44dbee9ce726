/*
 * base64.c - base64 via OpenSSL's EVP block codec (see include/istrigger/util/base64.h).
 */
#include "istrigger/util/base64.h"

#include "istrigger/util/err.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

unsigned char *base64_decode(const char *in, size_t *out_len)
{
    size_t n = strlen(in), clean_len = 0, pad = 0;
    char *clean = malloc(n + 4);
    unsigned char *out;
    int got;

    if (!clean) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isspace((unsigned char)in[i]))
            clean[clean_len++] = in[i];
    }
    /* Accept unpadded input, as some tools write it. */
    while (clean_len % 4)
        clean[clean_len++] = '=';
    clean[clean_len] = '\0';
    for (size_t i = clean_len; i > 0 && clean[i - 1] == '='; i--)
        pad++;
    out = malloc(clean_len / 4 * 3 + 1);
    if (!out) {
        free(clean);
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    got = clean_len ? EVP_DecodeBlock(out, (unsigned char *)clean, (int)clean_len) : 0;
    free(clean);
    if (got < 0 || (size_t)got < pad) {
        free(out);
        err_set(-EINVAL, "invalid base64");
        return NULL;
    }
    got -= (int)pad;
    out[got] = '\0';
    *out_len = (size_t)got;
    return out;
}

char *base64_encode(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}
