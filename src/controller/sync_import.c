/*
 * sync_import.c - deciding whether a tracked tag moved, and the ImageStreamImport that asks
 * OpenShift to import it.
 *
 * Deciding must agree with what the importer would store, or every poll of a multi-arch tag
 * would look like a change (an import storm) or no change would ever be seen. Reference §8.2:
 * in Legacy mode the importer keeps ONE child of a manifest list or OCI index (the spec tag's
 * prefer-arch/prefer-os annotations, each defaulting to the apiserver's own platform, then
 * linux/amd64, then the first entry) and the tag's image is that child's digest; in
 * PreserveOriginal mode the image is the index itself.
 *
 * The ISI echoes each tag's importPolicy and referencePolicy because the importer copies the
 * policy onto the spec tag on every successful import (§3.1): leaving out scheduled or
 * importMode would silently change the user's tag. A 201 reply can contain failed images, so
 * every status.images[i] is checked, paired by index with spec.images[i] (§3.2).
 */
#include "istrigger/controller/sync.h"

#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* A platform field of an index entry: flat as the registry client reports children
 * ({"os","architecture"}), or nested as in the index itself ({"platform":{...}}). */
static const char *child_platform(const json_t *c, const char *field)
{
    const char *v = jsonx_str(c, field);
    return v ? v : jsonx_str(c, "platform", field);
}

/* First child whose platform is os/arch; NULL if none. */
static const char *child_for(const json_t *children, const char *os, const char *arch)
{
    size_t i;
    json_t *c;
    json_array_foreach (children, i, c) {
        if (str_eq(child_platform(c, "os"), os) && str_eq(child_platform(c, "architecture"), arch))
            return jsonx_str(c, "digest");
    }
    return NULL;
}

const char *sync_expected_image(const struct sync_tracked_tag *t, const char *digest,
                                const json_t *children, const struct sync_platform *cp)
{
    if (!json_is_array(children) || t->mode == SYNC_IMPORT_PRESERVE_ORIGINAL)
        return digest;
    if (json_array_size(children) == 0) {
        err_set(-EINVAL, "manifest list %s of tag %s has no entries", digest ? digest : "?",
                t->tag);
        return NULL;
    }
    const char *os = t->prefer_os ? t->prefer_os : (cp && cp->os ? cp->os : "linux");
    const char *arch = t->prefer_arch ? t->prefer_arch : (cp && cp->arch ? cp->arch : "amd64");
    const char *d = child_for(children, os, arch);
    if (!d)
        d = child_for(children, "linux", "amd64");
    if (!d)
        d = jsonx_str(json_array_get(children, 0), "digest");
    if (!d)
        err_set(-EBADMSG, "manifest list %s of tag %s: entry without digest", digest, t->tag);
    return d;
}

bool sync_tag_changed(const struct sync_tracked_tag *t, const char *expected)
{
    if (!expected)
        return false;
    return !str_eq(t->current_image, expected);
}

static json_t *isi_image(const json_t *spec_tag)
{
    const char *tag = jsonx_str(spec_tag, "name");
    json_t *policy = jsonx_get(spec_tag, "importPolicy");
    json_t *refpol = jsonx_get(spec_tag, "referencePolicy");
    json_t *img =
        json_pack("{s:{s:s,s:s},s:{s:s},s:o,s:b}", "from", "kind", "DockerImage", "name",
                  jsonx_str(spec_tag, "from", "name"), "to", "name", tag, "importPolicy",
                  json_is_object(policy) ? jsonx_dup(policy) : json_object(), "includeManifest", 0);
    if (img && json_is_object(refpol))
        json_object_set_new(img, "referencePolicy", jsonx_dup(refpol));
    return img;
}

json_t *sync_build_isi(const json_t *is, const char *const *tags, size_t ntags)
{
    const char *ns = jsonx_str(is, "metadata", "namespace");
    const char *name = jsonx_str(is, "metadata", "name");
    if (!ns || !name) {
        err_set(-EINVAL, "ImageStream without metadata.name/namespace");
        return NULL;
    }
    json_t *images = json_array();
    json_t *isi =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:b,s:o},s:{}}", "apiVersion", "image.openshift.io/v1",
                  "kind", "ImageStreamImport", "metadata", "name", name, "namespace", ns, "spec",
                  "import", 1, "images", images, "status");
    if (!isi) {
        err_set(-ENOMEM, "building ImageStreamImport");
        return NULL;
    }
    /* The stream's rv and uid make the import fail (409/404) rather than act on a stream that
     * changed or was recreated since we decided (§3.1); OCM sends both too. */
    const char *rv = jsonx_str(is, "metadata", "resourceVersion");
    const char *uid = jsonx_str(is, "metadata", "uid");
    if (rv)
        jsonx_set(isi, json_string(rv), "metadata", "resourceVersion");
    if (uid)
        jsonx_set(isi, json_string(uid), "metadata", "uid");

    const json_t *spec_tags = jsonx_get(is, "spec", "tags");
    for (size_t i = 0; i < ntags; i++) {
        json_t *st = jsonx_array_find(spec_tags, "name", tags[i], NULL);
        if (!st || !str_eq(jsonx_str(st, "from", "kind"), "DockerImage") ||
            !jsonx_str(st, "from", "name")) {
            err_set(-EINVAL, "imagestream %s/%s: tag %s is not an importable spec tag", ns, name,
                    tags[i]);
            json_decref(isi);
            return NULL;
        }
        json_t *img = isi_image(st);
        if (!img || json_array_append_new(images, img) < 0) {
            err_set(-ENOMEM, "building ImageStreamImport");
            json_decref(isi);
            return NULL;
        }
    }
    return isi;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int sync_parse_isi_result(const json_t *request, const json_t *reply, struct sync_isi_result **out,
                          size_t *n)
{
    *out = NULL;
    *n = 0;
    const json_t *req = jsonx_get(request, "spec", "images");
    const json_t *st = jsonx_get(reply, "status", "images");
    if (!json_is_array(st))
        return err_set(-EBADMSG, "ImageStreamImport reply without status.images");
    size_t count = json_array_size(req);
    struct sync_isi_result *r = calloc(count ? count : 1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        const json_t *s = json_array_get(st, i);
        const json_t *status = jsonx_get(s, "status");
        r[i].tag = dup_or_null(jsonx_str(json_array_get(req, i), "to", "name"));
        r[i].success = str_eq(jsonx_str(status, "status"), "Success");
        if (r[i].success) {
            r[i].image = dup_or_null(jsonx_str(s, "image", "metadata", "name"));
        } else if (!s) {
            r[i].reason = strdup("NoStatus");
            r[i].message = strdup("the reply has no status for this image");
        } else {
            r[i].code = (int)jsonx_int(status, 0, "code");
            r[i].reason = dup_or_null(jsonx_str(status, "reason"));
            r[i].message = dup_or_null(jsonx_str(status, "message"));
            if (!r[i].reason)
                r[i].reason = strdup("Failure");
            if (!r[i].message)
                r[i].message = strdup("");
        }
    }
    *out = r;
    *n = count;
    return 0;
}

void sync_isi_results_free(struct sync_isi_result *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++) {
        free(r[i].tag);
        free(r[i].image);
        free(r[i].reason);
        free(r[i].message);
    }
    free(r);
}
