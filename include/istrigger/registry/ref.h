/*
 * ref.h - container image references, parsed and normalised the way OpenShift's importer
 * does it (reference openshift-image-api.md §8.1, grammar of the Distribution reference
 * package):
 *
 *   [registry/]path[:tag][@algo:hex]
 *
 * The first path component is a registry only if it contains '.' or ':' or is "localhost".
 * No registry means Docker Hub, written "docker.io" (index.docker.io and registry-1.docker.io
 * are normalised to it); a single-segment Docker Hub name gets "library/"; no tag and no digest
 * means tag "latest". Repositories must be lower case.
 */
#ifndef ISTRIGGER_REGISTRY_REF_H
#define ISTRIGGER_REGISTRY_REF_H

#include <stdbool.h>

#define IMAGE_REF_DOCKER_HUB     "docker.io"
#define IMAGE_REF_DOCKER_HUB_API "registry-1.docker.io"

/* All strings are owned by the struct (image_ref_free). */
struct image_ref {
    char *registry;   /* "docker.io", "quay.io", "127.0.0.1:5000" (never NULL once parsed) */
    char *repository; /* "library/nginx", "org/app/sub" (never NULL once parsed) */
    char *tag;        /* "1.25", "latest" by default; NULL when only a digest was given */
    char *digest;     /* "sha256:<64 hex>" or NULL */
    char *original;   /* the string as written */
};

/* Parse `s` into `*out` (zeroed first). 0, or -EINVAL with err_msg saying what is wrong
 * ("invalid reference \"Nginx\": repository name must be lowercase"), or -ENOMEM.
 * On failure `*out` holds nothing to free (it is safe to call image_ref_free anyway). */
int image_ref_parse(const char *s, struct image_ref *out);

/* Release the strings and zero the struct. NULL-safe. */
void image_ref_free(struct image_ref *ref);

/* Deep copy. 0 or -ENOMEM. */
int image_ref_copy(struct image_ref *dst, const struct image_ref *src);

/* The normalised form "registry/repository[:tag][@digest]". malloc'd (free()); NULL on ENOMEM. */
char *image_ref_format(const struct image_ref *ref);

/* "registry/repository", malloc'd (free()); NULL on ENOMEM. */
char *image_ref_format_repo(const struct image_ref *ref);

/* The host:port to talk to: "registry-1.docker.io" for Docker Hub, else `registry`. Borrowed. */
const char *image_ref_api_host(const struct image_ref *ref);

/* The manifest reference to ask the registry for: the digest when there is one, else the tag.
 * Borrowed. */
const char *image_ref_manifest_ref(const struct image_ref *ref);

/* True for docker.io, index.docker.io and registry-1.docker.io. */
bool image_ref_is_docker_hub(const char *registry);

/* True when `d` is a well-formed digest "algo:hex" (sha256 needs 64 lower-case hex digits,
 * sha512 128; other algorithms at least 32 hex digits). */
bool image_ref_digest_valid(const char *d);

#endif
