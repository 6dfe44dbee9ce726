/*
 * keyring.c - registry credentials matched like the kubelet keyring that OpenShift's importer
 * uses (reference openshift-image-api.md §3.5; see registry/keyring.h for the rules).
 *
 * Entries are kept sorted by key in reverse lexical order (so "quay.io/org/app" comes before
 * "quay.io/org" before "quay.io"), ties in the order they were added; a lookup walks that order
 * and returns the first match, then falls back to an "index.docker.io" entry for Docker Hub.
 */
#include "istrigger/registry/keyring.h"

#include "istrigger/util/base64.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REGISTRY_KEY "index.docker.io"

struct keyring_entry {
    size_t seq; /* insertion order, for ties */
    struct registry_credential cred;
};

struct keyring {
    struct keyring_entry *v;
    size_t n, cap, next_seq;
};

struct keyring *keyring_new(void)
{
    return calloc(1, sizeof(struct keyring));
}

static void credential_free(struct registry_credential *c)
{
    /* Secrets are wiped before release so they do not linger in freed memory. */
    if (c->password)
        explicit_bzero(c->password, strlen(c->password));
    if (c->identity_token)
        explicit_bzero(c->identity_token, strlen(c->identity_token));
    free(c->username);
    free(c->password);
    free(c->identity_token);
    free(c->source);
    free(c->key);
}

void keyring_free(struct keyring *kr)
{
    if (!kr)
        return;
    for (size_t i = 0; i < kr->n; i++)
        credential_free(&kr->v[i].cred);
    free(kr->v);
    free(kr);
}

size_t keyring_size(const struct keyring *kr)
{
    return kr ? kr->n : 0;
}

/* The kubelet's key normalisation: drop the scheme, treat a "/v1/" or "/v2/" path prefix as
 * the host alone (so "https://index.docker.io/v1/" becomes "index.docker.io"). malloc'd. */
static char *normalise_key(const char *loc)
{
    const char *host = loc, *path;
    size_t hostlen;
    char *key = NULL;

    if (strncmp(host, "https://", 8) == 0)
        host += 8;
    else if (strncmp(host, "http://", 7) == 0)
        host += 7;
    path = strchr(host, '/');
    hostlen = path ? (size_t)(path - host) : strlen(host);
    if (path && (strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/v2/", 4) == 0))
        path += 3;
    if (!path || strcmp(path, "") == 0 || strcmp(path, "/") == 0)
        path = "";
    if (asprintf(&key, "%.*s%s", (int)hostlen, host, path) < 0)
        return NULL;
    return key;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct keyring_entry *a = pa, *b = pb;
    int c = strcmp(b->cred.key, a->cred.key); /* reverse lexical: most specific first */

    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static char *dup_str(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) ? strdup(json_string_value(v)) : NULL;
}

/* Fill `c` from one auths entry; 0 or -EINVAL/-ENOMEM with a message naming key and source. */
static int parse_entry(const char *key, const json_t *e, const char *source,
                       struct registry_credential *c)
{
    const char *auth = jsonx_str(e, "auth");

    c->username = dup_str(json_object_get(e, "username"));
    c->password = dup_str(json_object_get(e, "password"));
    c->identity_token = dup_str(json_object_get(e, "identitytoken"));
    if (auth && *auth) {
        size_t len = 0;
        _cleanup_free_ unsigned char *raw = base64_decode(auth, &len);
        char *colon;

        if (!raw)
            return err_set(-EINVAL, "%s: entry \"%s\": \"auth\" is not valid base64", source, key);
        colon = memchr(raw, ':', len);
        if (!colon || memchr(raw, '\0', len)) {
            explicit_bzero(raw, len);
            return err_set(-EINVAL, "%s: entry \"%s\": \"auth\" is not \"user:password\"", source,
                           key);
        }
        free(c->username);
        free(c->password);
        c->username = strndup((char *)raw, (size_t)(colon - (char *)raw));
        c->password = strndup(colon + 1, len - (size_t)(colon + 1 - (char *)raw));
        explicit_bzero(raw, len);
        if (!c->username || !c->password)
            return err_set(-ENOMEM, "%s: out of memory", source);
    }
    c->source = strdup(source);
    c->key = normalise_key(key);
    if (!c->source || !c->key)
        return err_set(-ENOMEM, "%s: out of memory", source);
    return 0;
}

int keyring_add_json(struct keyring *kr, const char *buf, size_t len, const char *source_name)
{
    _cleanup_json_ json_t *doc = jsonx_loadb(buf, len, source_name);
    const json_t *auths;
    const char *key;
    json_t *e;
    size_t added = 0, first = kr->n;
    int r;

    if (!doc) {
        char why[ERR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", err_msg()); /* err_set must not read its own buffer */
        return err_set(-EINVAL, "%s", why);
    }
    if (!json_is_object(doc))
        return err_set(-EINVAL, "%s: not a JSON object", source_name);
    /* dockerconfigjson / auth.json nest entries under "auths"; the older dockercfg does not. */
    auths = json_object_get(doc, "auths");
    if (!auths)
        auths = doc;
    else if (!json_is_object(auths))
        return err_set(-EINVAL, "%s: \"auths\" is not an object", source_name);

    json_object_foreach ((json_t *)auths, key, e) {
        struct keyring_entry *slot;

        if (!json_is_object(e) || !*key)
            continue;
        if (kr->n == kr->cap) {
            size_t ncap = kr->cap ? kr->cap * 2 : 8;
            struct keyring_entry *nv = realloc(kr->v, ncap * sizeof(*nv));
            if (!nv) {
                r = err_set(-ENOMEM, "%s: out of memory", source_name);
                goto fail;
            }
            kr->v = nv;
            kr->cap = ncap;
        }
        slot = &kr->v[kr->n];
        memset(slot, 0, sizeof(*slot));
        slot->seq = kr->next_seq + added;
        r = parse_entry(key, e, source_name, &slot->cred);
        if (r < 0) {
            credential_free(&slot->cred);
            goto fail;
        }
        kr->n++;
        added++;
    }
    kr->next_seq += added;
    if (kr->n > 1)
        qsort(kr->v, kr->n, sizeof(*kr->v), entry_cmp);
    return (int)added;

fail:
    /* Nothing of this document stays: the new entries are the tail [first, n). */
    for (size_t i = first; i < kr->n; i++)
        credential_free(&kr->v[i].cred);
    kr->n = first;
    return r;
}

int keyring_add_file(struct keyring *kr, const char *path)
{
    _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
    char chunk[4096];
    size_t got;
    FILE *f = fopen(path, "re");
    int r;

    if (!f)
        return err_set(-errno, "reading %s: %s", path, strerror(errno));
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (strbuf_append(&sb, chunk, got) < 0) {
            fclose(f);
            return err_set(-ENOMEM, "reading %s: out of memory", path);
        }
    }
    r = ferror(f) ? -EIO : 0;
    fclose(f);
    if (r < 0)
        return err_set(r, "reading %s: I/O error", path);
    r = keyring_add_json(kr, sb.buf ? sb.buf : "", sb.len, path);
    explicit_bzero(sb.buf, sb.len);
    return r;
}

/* Split "host[:port][/path]" into host name, port and path (all borrowed/pointers into s). */
struct split_url {
    const char *host; /* without port */
    size_t hostlen;
    const char *port; /* "" when none */
    size_t portlen;
    const char *path; /* "" or "/..." */
};

static void split_url(const char *s, struct split_url *u)
{
    const char *slash = strchr(s, '/');
    size_t hp = slash ? (size_t)(slash - s) : strlen(s);
    const char *colon = memrchr(s, ':', hp);

    /* "[::1]:5000": the port colon must follow the closing bracket. */
    if (colon && s[0] == '[' && !memchr(colon, ']', hp - (size_t)(colon - s)) &&
        (colon == s || colon[-1] != ']'))
        colon = NULL;
    u->host = s;
    u->hostlen = colon ? (size_t)(colon - s) : hp;
    u->port = colon ? colon + 1 : "";
    u->portlen = colon ? hp - (size_t)(colon + 1 - s) : 0;
    u->path = slash ? slash : "";
}

static size_t count_labels(const char *h, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += h[i] == '.';
    return n;
}

/* The kubelet's URLsMatch: same port, same number of host labels, each label matching the
 * key's label as a glob, and the key's path a prefix of the image's path. */
static bool key_matches(const char *key, const char *image)
{
    struct split_url k, t;
    const char *kp, *tp;

    split_url(key, &k);
    split_url(image, &t);
    if (k.portlen != t.portlen || strncmp(k.port, t.port, k.portlen) != 0)
        return false;
    if (count_labels(k.host, k.hostlen) != count_labels(t.host, t.hostlen))
        return false;
    if (strncmp(t.path, k.path, strlen(k.path)) != 0)
        return false;
    kp = k.host;
    tp = t.host;
    while (kp < k.host + k.hostlen) {
        const char *kd = memchr(kp, '.', (size_t)(k.host + k.hostlen - kp));
        const char *td = memchr(tp, '.', (size_t)(t.host + t.hostlen - tp));
        size_t kl = kd ? (size_t)(kd - kp) : (size_t)(k.host + k.hostlen - kp);
        size_t tl = td ? (size_t)(td - tp) : (size_t)(t.host + t.hostlen - tp);
        char kb[256], tb[256];

        if (kl >= sizeof(kb) || tl >= sizeof(tb))
            return false;
        memcpy(kb, kp, kl);
        kb[kl] = '\0';
        memcpy(tb, tp, tl);
        tb[tl] = '\0';
        if (fnmatch(kb, tb, FNM_NOESCAPE) != 0)
            return false;
        kp += kl + 1;
        tp += tl + 1;
    }
    return true;
}

const struct registry_credential *keyring_lookup(const struct keyring *kr,
                                                 const struct image_ref *ref)
{
    _cleanup_free_ char *image = NULL;

    if (!kr || !ref || !ref->registry || !ref->repository)
        return NULL;
    if (asprintf(&image, "%s/%s", ref->registry, ref->repository) < 0)
        return NULL;
    for (size_t i = 0; i < kr->n; i++) {
        if (key_matches(kr->v[i].cred.key, image))
            return &kr->v[i].cred;
    }
    /* isDefaultRegistryMatch: Docker Hub images use an "index.docker.io" entry. */
    if (image_ref_is_docker_hub(ref->registry)) {
        for (size_t i = 0; i < kr->n; i++) {
            if (strcmp(kr->v[i].cred.key, DEFAULT_REGISTRY_KEY) == 0)
                return &kr->v[i].cred;
        }
    }
    return NULL;
}
