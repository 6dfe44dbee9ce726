/*
 * manifest.c - manifest digests, media types, index children and platform choice
 * (see registry/manifest.h).
 */
#include "istrigger/registry/manifest.h"

#include "istrigger/registry/client.h"
#include "istrigger/registry/ref.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int registry_digest_compute(const char *algo, const void *data, size_t len,
                            char out[REGISTRY_DIGEST_MAX])
{
    const EVP_MD *md;
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int rawlen = 0;
    size_t off;

    if (!algo || strcmp(algo, "sha256") == 0)
        md = EVP_sha256(), algo = "sha256";
    else if (strcmp(algo, "sha512") == 0)
        md = EVP_sha512();
    else
        return err_set(-EINVAL, "unsupported digest algorithm \"%s\"", algo);
    if (EVP_Digest(data, len, raw, &rawlen, md, NULL) != 1)
        return err_set(-ENOMEM, "computing %s digest failed", algo);
    off = (size_t)snprintf(out, REGISTRY_DIGEST_MAX, "%s:", algo);
    for (unsigned int i = 0; i < rawlen && off + 2 < REGISTRY_DIGEST_MAX; i++)
        off += (size_t)snprintf(out + off, REGISTRY_DIGEST_MAX - off, "%02x", raw[i]);
    return 0;
}

int registry_digest_verify(const char *expected, const void *data, size_t len)
{
    char algo[32], got[REGISTRY_DIGEST_MAX];
    const char *colon = expected ? strchr(expected, ':') : NULL;
    int r;

    if (!colon || (size_t)(colon - expected) >= sizeof(algo))
        return err_set(-EINVAL, "malformed digest \"%s\"", expected ? expected : "");
    memcpy(algo, expected, (size_t)(colon - expected));
    algo[colon - expected] = '\0';
    if ((r = registry_digest_compute(algo, data, len, got)) < 0)
        return r;
    if (strcmp(got, expected) != 0)
        return err_set(-EBADMSG, "content integrity error: manifest digest is %s, expected %s", got,
                       expected);
    return 0;
}

bool registry_media_type_is_index(const char *mt)
{
    return mt &&
           (strcmp(mt, REGISTRY_MT_OCI_INDEX) == 0 || strcmp(mt, REGISTRY_MT_DOCKER_LIST) == 0);
}

/* One index entry as a child object, or NULL with err set. NEW reference. */
static json_t *child_of(const json_t *m, size_t i)
{
    const char *digest = jsonx_str(m, "digest"), *mt = jsonx_str(m, "mediaType");
    const json_t *size = json_object_get(m, "size");
    json_t *c;

    if (!json_is_object(m) || !digest || !image_ref_digest_valid(digest)) {
        err_set(-EBADMSG, "index entry %zu has no valid digest", i);
        return NULL;
    }
    c = json_object();
    if (!c)
        return NULL;
    json_object_set_new(c, "digest", json_string(digest));
    if (mt)
        json_object_set_new(c, "mediaType", json_string(mt));
    if (json_is_integer(size))
        json_object_set_new(c, "size", json_integer(json_integer_value(size)));
    static const char *const plat[] = {"os", "architecture", "variant"};
    for (size_t k = 0; k < 3; k++) {
        const char *v = jsonx_str(m, "platform", plat[k]);
        if (v)
            json_object_set_new(c, plat[k], json_string(v));
    }
    return c;
}

int registry_manifest_parse(const char *body, size_t len, const char *content_type,
                            char **media_type_out, json_t **children_out)
{
    _cleanup_json_ json_t *doc = jsonx_loadb(body, len, "manifest");
    _cleanup_free_ char *ct = NULL;
    const char *mt;
    const json_t *manifests;
    json_t *children = NULL;

    if (media_type_out)
        *media_type_out = NULL;
    if (children_out)
        *children_out = NULL;
    if (!doc)
        return -EBADMSG;
    if (!json_is_object(doc))
        return err_set(-EBADMSG, "manifest is not a JSON object");
    manifests = json_object_get(doc, "manifests");
    mt = jsonx_str(doc, "mediaType");
    if (!mt && content_type && *content_type) {
        ct = strndup(content_type, strcspn(content_type, "; \t"));
        mt = ct;
    }
    if (!mt || !*mt || strcmp(mt, "application/json") == 0 || strcmp(mt, "text/plain") == 0 ||
        strcmp(mt, "application/octet-stream") == 0) {
        if (json_is_array(manifests))
            mt = REGISTRY_MT_OCI_INDEX;
        else if (json_object_get(doc, "config") || json_object_get(doc, "layers"))
            mt = REGISTRY_MT_OCI_MANIFEST;
        else
            return err_set(-EBADMSG, "reply is neither a manifest nor an index");
    }
    if (registry_media_type_is_index(mt)) {
        size_t i;
        json_t *m;

        if (!json_is_array(manifests))
            return err_set(-EBADMSG, "index has no \"manifests\" array");
        if (children_out) {
            children = json_array();
            if (!children)
                return err_set(-ENOMEM, "out of memory");
            json_array_foreach (manifests, i, m) {
                json_t *c = child_of(m, i);
                if (!c) {
                    json_decref(children);
                    return err_code() ? err_code() : -ENOMEM;
                }
                json_array_append_new(children, c);
            }
        }
    }
    if (media_type_out && !(*media_type_out = strdup(mt))) {
        json_decref(children);
        return err_set(-ENOMEM, "out of memory");
    }
    if (children_out)
        *children_out = children;
    return 0;
}

const json_t *registry_index_select(const json_t *children, const char *platform, int *err)
{
    char os[64], arch[64], variant[64] = "";
    const char *s1 = platform ? strchr(platform, '/') : NULL;
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    _cleanup_strbuf_ struct strbuf have = STRBUF_INIT;
    size_t i;
    json_t *c;
    int dummy;

    if (!err)
        err = &dummy;
    if (!s1 || s1 == platform || !s1[1] || s2 == s1 + 1 || (s2 && !s2[1]) ||
        (size_t)(s1 - platform) >= sizeof(os) || strlen(s1 + 1) >= sizeof(arch) ||
        (s2 && strchr(s2 + 1, '/'))) {
        *err = err_set(-EINVAL, "invalid platform \"%s\" (expected OS/ARCH[/VARIANT])",
                       platform ? platform : "");
        return NULL;
    }
    snprintf(os, sizeof(os), "%.*s", (int)(s1 - platform), platform);
    snprintf(arch, sizeof(arch), "%.*s", (int)(s2 ? s2 - s1 - 1 : (long)strlen(s1 + 1)), s1 + 1);
    if (s2)
        snprintf(variant, sizeof(variant), "%s", s2 + 1);
    json_array_foreach (children, i, c) {
        const char *cos = jsonx_str(c, "os"), *carch = jsonx_str(c, "architecture");
        const char *cvar = jsonx_str(c, "variant");

        if (cos && carch && strcmp(cos, os) == 0 && strcmp(carch, arch) == 0 &&
            (!*variant || (cvar && strcmp(cvar, variant) == 0)))
            return c;
        strbuf_printf(&have, "%s%s/%s%s%s", have.len ? ", " : "", cos ? cos : "?",
                      carch ? carch : "?", cvar ? "/" : "", cvar ? cvar : "");
    }
    *err = err_set(-ENOENT, "no manifest for platform %s in the index (it has: %s)", platform,
                   have.len ? strbuf_str(&have) : "none");
    return NULL;
}
