/*
 * ref.c - image reference parsing and Docker Hub normalisation (see registry/ref.h).
 *
 * The grammar is Distribution's reference grammar:
 *
 *   reference      := name [ ":" tag ] [ "@" digest ]
 *   name           := [domain "/"] path-component ["/" path-component]*
 *   domain         := domain-component ["." domain-component]* [":" port] | "[" ipv6 "]" [":" port]
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := "." | "_" | "__" | "-"+
 *   tag            := [\w][\w.-]{0,127}
 *   digest         := algorithm ":" hex      (sha256: 64 lower-case hex digits)
 *
 * and the registry/Docker Hub decisions are OpenShift's (reference §8.1): the first component
 * is a registry only if it contains '.' or ':' or is "localhost".
 */
#include "istrigger/registry/ref.h"

#include "istrigger/util/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN  128

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static bool is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool image_ref_is_docker_hub(const char *registry)
{
    return registry &&
           (strcmp(registry, "docker.io") == 0 || strcmp(registry, "index.docker.io") == 0 ||
            strcmp(registry, "registry-1.docker.io") == 0);
}

bool image_ref_digest_valid(const char *d)
{
    const char *colon = d ? strchr(d, ':') : NULL;
    size_t hexlen, minlen = 32, exact = 0;

    if (!colon || colon == d)
        return false;
    /* algorithm := component ([+._-] component)*, component := [A-Za-z][A-Za-z0-9]* */
    for (const char *p = d; p < colon; p++) {
        bool start = p == d || strchr("+._-", p[-1]);
        if (strchr("+._-", *p)) {
            if (start || p + 1 == colon)
                return false;
        } else if (start ? !isalpha((unsigned char)*p) : !isalnum((unsigned char)*p)) {
            return false;
        }
    }
    if (strncmp(d, "sha256:", 7) == 0)
        exact = 64;
    else if (strncmp(d, "sha512:", 7) == 0)
        exact = 128;
    hexlen = strlen(colon + 1);
    if (exact ? hexlen != exact : hexlen < minlen)
        return false;
    for (const char *p = colon + 1; *p; p++) {
        if (exact ? !is_hex_lower(*p) : !isxdigit((unsigned char)*p))
            return false;
    }
    return true;
}

/* [\w][\w.-]{0,127} */
static const char *tag_problem(const char *t, size_t len)
{
    if (len == 0)
        return "empty tag";
    if (len > TAG_MAX_LEN)
        return "tag longer than 128 characters";
    if (!is_word(t[0]))
        return "tag must start with a letter, digit or '_'";
    for (size_t i = 1; i < len; i++) {
        if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
            return "tag may contain only letters, digits, '_', '.' and '-'";
    }
    return NULL;
}

static bool domain_component_ok(const char *s, size_t len)
{
    if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

static bool port_ok(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static const char *domain_problem(const char *d, size_t len)
{
    const char *end = d + len, *host_end, *p;

    if (d[0] == '[') {
        host_end = memchr(d, ']', len);
        if (!host_end || host_end == d + 1)
            return "malformed IPv6 registry address";
        for (p = d + 1; p < host_end; p++) {
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return "malformed IPv6 registry address";
        }
        p = host_end + 1;
        if (p == end)
            return NULL;
        if (*p != ':' || !port_ok(p + 1, (size_t)(end - p - 1)))
            return "malformed registry port";
        return NULL;
    }
    host_end = memchr(d, ':', len);
    if (host_end && !port_ok(host_end + 1, (size_t)(end - host_end - 1)))
        return "malformed registry port";
    if (!host_end)
        host_end = end;
    for (p = d; p <= host_end;) {
        const char *dot = memchr(p, '.', (size_t)(host_end - p));
        const char *cend = dot ? dot : host_end;
        if (!domain_component_ok(p, (size_t)(cend - p)))
            return "malformed registry host name";
        p = cend + 1;
    }
    return NULL;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := "." | "_" | "__" | "-"+ */
static const char *path_component_problem(const char *s, size_t len)
{
    size_t i = 0;

    if (len == 0)
        return "empty path component";
    for (size_t k = 0; k < len; k++) {
        if (isupper((unsigned char)s[k]))
            return "repository name must be lowercase";
    }
    while (i < len) {
        size_t run = 0;
        while (i < len && is_lower_alnum(s[i]))
            i++, run++;
        if (run == 0)
            return "repository path components must start and end with a letter or digit";
        if (i == len)
            return NULL;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < len && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < len && s[i] == '-')
                i++;
        } else {
            return "repository name may contain only a-z, 0-9, '.', '_', '__', '-' and '/'";
        }
        if (i == len)
            return "repository path components must start and end with a letter or digit";
    }
    return NULL;
}

static int fail(const char *s, const char *why)
{
    return err_set(-EINVAL, "invalid image reference \"%s\": %s", s, why);
}

int image_ref_parse(const char *s, struct image_ref *out)
{
    const char *at, *name_end, *slash, *colon, *first_end, *path;
    const char *tag = NULL, *why;
    size_t name_len, tag_len = 0;
    bool has_domain;
    struct image_ref r = {0};

    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return err_set(-EINVAL, "invalid image reference \"\": empty");

    at = strchr(s, '@');
    if (at && !image_ref_digest_valid(at + 1))
        return fail(s, "malformed digest (expected sha256:<64 lower-case hex digits>)");
    name_end = at ? at : s + strlen(s);

    /* The tag is after the last ':' that follows the last '/'. */
    slash = memrchr(s, '/', (size_t)(name_end - s));
    colon = memrchr(slash ? slash : s, ':', (size_t)(name_end - (slash ? slash : s)));
    if (colon) {
        tag = colon + 1;
        tag_len = (size_t)(name_end - tag);
        if ((why = tag_problem(tag, tag_len)))
            return fail(s, why);
        name_end = colon;
    }
    name_len = (size_t)(name_end - s);
    if (name_len == 0)
        return fail(s, "empty repository name");
    if (name_len > NAME_MAX_LEN)
        return fail(s, "repository name longer than 255 characters");

    first_end = memchr(s, '/', name_len);
    has_domain = first_end && (memchr(s, '.', (size_t)(first_end - s)) ||
                               memchr(s, ':', (size_t)(first_end - s)) ||
                               (first_end - s == 9 && strncmp(s, "localhost", 9) == 0));
    if (has_domain && (why = domain_problem(s, (size_t)(first_end - s))))
        return fail(s, why);
    path = has_domain ? first_end + 1 : s;
    for (const char *p = path; p <= name_end;) {
        const char *e = memchr(p, '/', (size_t)(name_end - p));
        if (!e)
            e = name_end;
        if ((why = path_component_problem(p, (size_t)(e - p))))
            return fail(s, why);
        p = e + 1;
    }

    if (!has_domain || image_ref_is_docker_hub(strndupa(s, (size_t)(first_end - s))))
        r.registry = strdup(IMAGE_REF_DOCKER_HUB);
    else
        r.registry = strndup(s, (size_t)(first_end - s));
    if (strcmp(r.registry ? r.registry : "", IMAGE_REF_DOCKER_HUB) == 0 &&
        !memchr(path, '/', (size_t)(name_end - path))) {
        if (asprintf(&r.repository, "library/%.*s", (int)(name_end - path), path) < 0)
            r.repository = NULL;
    } else {
        r.repository = strndup(path, (size_t)(name_end - path));
    }
    /* Distribution checks the limit on the normalised name ("docker.io/library/..."). */
    if (r.registry && r.repository &&
        strlen(r.registry) + 1 + strlen(r.repository) > NAME_MAX_LEN) {
        image_ref_free(&r);
        return fail(s, "repository name longer than 255 characters once normalised");
    }
    if (tag)
        r.tag = strndup(tag, tag_len);
    else if (!at)
        r.tag = strdup("latest");
    if (at)
        r.digest = strdup(at + 1);
    r.original = strdup(s);
    if (!r.registry || !r.repository || (!r.tag && !at) || (at && !r.digest) || !r.original) {
        image_ref_free(&r);
        return err_set(-ENOMEM, "parsing image reference: out of memory");
    }
    *out = r;
    return 0;
}

void image_ref_free(struct image_ref *ref)
{
    if (!ref)
        return;
    free(ref->registry);
    free(ref->repository);
    free(ref->tag);
    free(ref->digest);
    free(ref->original);
    memset(ref, 0, sizeof(*ref));
}

static int dup_or_null(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return src && !*dst ? -ENOMEM : 0;
}

int image_ref_copy(struct image_ref *dst, const struct image_ref *src)
{
    struct image_ref r = {0};

    if (dup_or_null(&r.registry, src->registry) < 0 ||
        dup_or_null(&r.repository, src->repository) < 0 || dup_or_null(&r.tag, src->tag) < 0 ||
        dup_or_null(&r.digest, src->digest) < 0 || dup_or_null(&r.original, src->original) < 0) {
        image_ref_free(&r);
        return err_set(-ENOMEM, "copying image reference: out of memory");
    }
    *dst = r;
    return 0;
}

char *image_ref_format(const struct image_ref *ref)
{
    char *s = NULL;

    if (asprintf(&s, "%s/%s%s%s%s%s", ref->registry, ref->repository, ref->tag ? ":" : "",
                 ref->tag ? ref->tag : "", ref->digest ? "@" : "",
                 ref->digest ? ref->digest : "") < 0)
        return NULL;
    return s;
}

char *image_ref_format_repo(const struct image_ref *ref)
{
    char *s = NULL;

    if (asprintf(&s, "%s/%s", ref->registry, ref->repository) < 0)
        return NULL;
    return s;
}

const char *image_ref_api_host(const struct image_ref *ref)
{
    return image_ref_is_docker_hub(ref->registry) ? IMAGE_REF_DOCKER_HUB_API : ref->registry;
}

const char *image_ref_manifest_ref(const struct image_ref *ref)
{
    return ref->digest ? ref->digest : ref->tag;
}
