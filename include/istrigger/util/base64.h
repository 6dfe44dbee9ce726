/*
 * base64.h - standard base64 (RFC 4648, with padding) over OpenSSL, for dockerconfigjson
 * `auth` fields, kubeconfig `*-data` fields and HTTP Basic credentials.
 */
#ifndef ISTRIGGER_UTIL_BASE64_H
#define ISTRIGGER_UTIL_BASE64_H

#include <stddef.h>

/* Decode `in` (whitespace ignored). Returns a malloc'd NUL-terminated buffer (free()) and its
 * length in *out_len, or NULL with err_msg set (-EINVAL on bad input). */
unsigned char *base64_decode(const char *in, size_t *out_len);

/* Encode `len` bytes. malloc'd NUL-terminated string (free()), NULL on ENOMEM. */
char *base64_encode(const unsigned char *data, size_t len);

#endif
