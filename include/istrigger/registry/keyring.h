/*
 * keyring.h - registry credentials from Kubernetes pull secrets and container auth files,
 * matched to images the way OpenShift's importer (the kubelet keyring) does, reference
 * openshift-image-api.md §3.5:
 *
 * - input: `.dockerconfigjson` / containers auth.json ({"auths": {KEY: ENTRY}}) or the older
 *   `.dockercfg` ({KEY: ENTRY}); ENTRY has "auth" (base64 "user:pass") or "username" and
 *   "password", and optionally "identitytoken" (an OAuth2 refresh token);
 * - keys are host[:port][/path], with or without a scheme; "/v1/" and "/v2/" prefixes of the
 *   path count as the host alone, so "https://index.docker.io/v1/" is "index.docker.io";
 * - lookup matches host labels (globs such as "*.example.com" allowed), the port, and the key's
 *   path as a prefix of the image's path; the most specific key (reverse lexical order) wins;
 *   among entries with the same key the one added first wins (add pull secrets before node
 *   files); "docker.io" and "index.docker.io" keys both match Docker Hub images.
 *
 * Credential values are never logged nor put in error messages; `source` and `key` are.
 */
#ifndef ISTRIGGER_REGISTRY_KEYRING_H
#define ISTRIGGER_REGISTRY_KEYRING_H

#include <stddef.h>

#include "istrigger/registry/ref.h"

/* One credential. All strings owned by the keyring; any of the secrets may be NULL. */
struct registry_credential {
    char *username;
    char *password;
    char *identity_token; /* OAuth2 refresh token ("identitytoken") */
    char *source;         /* where it came from, e.g. "secret web/pull" or "/root/auth.json" */
    char *key;            /* the normalised key it was stored under ("quay.io/org") */
};

struct keyring;

/* A new empty keyring (keyring_free). NULL on ENOMEM. */
struct keyring *keyring_new(void);
void keyring_free(struct keyring *kr);

/* Add every entry of a dockerconfigjson / auth.json / dockercfg document of `len` bytes.
 * `source_name` names it for error messages (copied). Returns the number of entries added
 * (>= 0), or -EINVAL (not JSON, bad base64, "auth" without ':') / -ENOMEM with err_msg set
 * naming the source and key, never the value. On error nothing from this document is added. */
int keyring_add_json(struct keyring *kr, const char *buf, size_t len, const char *source_name);

/* Read `path` and keyring_add_json it with the path as source. Same returns, -errno on I/O. */
int keyring_add_file(struct keyring *kr, const char *path);

/* The credential for `ref` (registry/repository as parsed), or NULL when none matches.
 * Borrowed; valid while the keyring lives. */
const struct registry_credential *keyring_lookup(const struct keyring *kr,
                                                 const struct image_ref *ref);

/* Number of entries. */
size_t keyring_size(const struct keyring *kr);

#endif
