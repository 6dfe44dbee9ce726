/*
 * manifest.h - what the registry client needs from manifests: their digests (SHA-256 / SHA-512
 * over the exact bytes served, via OpenSSL), their media type, an index's children with
 * platforms, and choosing the child for a platform (reference openshift-image-api.md §8.2).
 * Public for the client's unit tests and fuzzers.
 */
#ifndef ISTRIGGER_REGISTRY_MANIFEST_H
#define ISTRIGGER_REGISTRY_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define REGISTRY_DIGEST_MAX 160 /* "sha512:" + 128 hex + NUL fits */

/* Digest of `len` bytes with the algorithm named by `algo` ("sha256", "sha512"; NULL means
 * sha256), written as "algo:hex" into out[REGISTRY_DIGEST_MAX]. 0 or -EINVAL (unsupported
 * algorithm) / -ENOMEM. */
int registry_digest_compute(const char *algo, const void *data, size_t len,
                            char out[REGISTRY_DIGEST_MAX]);

/* Check `data` against `expected` ("algo:hex"). 0, or -EBADMSG "content integrity error:
 * ... is X, expected Y", or -EINVAL for an unsupported algorithm. */
int registry_digest_verify(const char *expected, const void *data, size_t len);

bool registry_media_type_is_index(const char *media_type);

/* Parse a manifest body. *media_type_out (malloc'd, free()) is the body's "mediaType", else
 * the Content-Type header's (without parameters), else inferred from the shape. For an
 * index, *children_out (NEW reference, else NULL) is an array of {"digest","mediaType",
 * "size","os","architecture","variant"} (absent members left out). Either out pointer may be
 * NULL. 0, or -EBADMSG (not a manifest) / -ENOMEM with err_msg set. */
int registry_manifest_parse(const char *body, size_t len, const char *content_type,
                            char **media_type_out, json_t **children_out);

/* The child of `children` (as above) for `platform` "os/arch[/variant]": os and architecture
 * must match, the variant too when given; the first match wins. Borrowed, or NULL with
 * err_msg set: -ENOENT (no such platform, message lists the ones there) or -EINVAL (bad
 * platform string) in *err when `err` is not NULL. */
const json_t *registry_index_select(const json_t *children, const char *platform, int *err);

#endif
