/*
 * auth.c - WWW-Authenticate challenges and bearer token replies (see registry/auth.h).
 *
 * Challenge syntax (RFC 7235): challenges are `scheme [param=value *("," param=value)]`,
 * separated by commas too, so a token followed by something other than '=' starts the next
 * challenge. Values are tokens or quoted strings where '\' escapes the next character and
 * commas are plain text (scope="repository:a:pull,push").
 */
#include "istrigger/registry/auth.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CHALLENGES 8

static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

void registry_challenge_free(struct registry_challenge *c)
{
    if (!c)
        return;
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof(*c));
}

/* Read a token or quoted string at *pp into a malloc'd string; advance *pp. NULL + err. */
static char *read_value(const char **pp)
{
    const char *p = *pp;
    _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (strbuf_putc(&sb, *p) < 0)
                return NULL;
        }
        if (*p != '"') {
            err_set(-EBADMSG, "unterminated quoted string");
            return NULL;
        }
        p++;
    } else {
        const char *start = p;
        /* token68 (base64-like) values may end in '='. */
        while (is_tchar(*p) || *p == '/' || *p == '=' || *p == ':')
            p++;
        if (p == start) {
            err_set(-EBADMSG, "missing parameter value");
            return NULL;
        }
        if (strbuf_append(&sb, start, (size_t)(p - start)) < 0)
            return NULL;
    }
    *pp = p;
    return strbuf_detach(&sb);
}

static enum registry_auth_scheme scheme_of(const char *s, size_t len)
{
    if (len == 6 && strncasecmp(s, "bearer", 6) == 0)
        return REGISTRY_AUTH_BEARER;
    if (len == 5 && strncasecmp(s, "basic", 5) == 0)
        return REGISTRY_AUTH_BASIC;
    return REGISTRY_AUTH_OTHER;
}

static void set_param(struct registry_challenge *c, const char *name, size_t len, char *value)
{
    char **slot = NULL;

    if (len == 5 && strncasecmp(name, "realm", 5) == 0)
        slot = &c->realm;
    else if (len == 7 && strncasecmp(name, "service", 7) == 0)
        slot = &c->service;
    else if (len == 5 && strncasecmp(name, "scope", 5) == 0)
        slot = &c->scope;
    else if (len == 5 && strncasecmp(name, "error", 5) == 0)
        slot = &c->error;
    if (!slot) {
        free(value);
        return;
    }
    free(*slot);
    *slot = value;
}

/* Parse the parameters of one challenge starting at *pp; stops at the next challenge. */
static int parse_params(const char **pp, struct registry_challenge *c)
{
    const char *p = *pp;

    for (;;) {
        const char *name, *save;
        size_t nlen;
        char *value;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        save = p;
        name = p;
        while (is_tchar(*p))
            p++;
        nlen = (size_t)(p - name);
        if (nlen == 0)
            return err_set(-EBADMSG, "unexpected character '%c'", *p);
        p = skip_ws(p);
        if (*p != '=') {
            p = save; /* a new challenge begins here */
            break;
        }
        p = skip_ws(p + 1);
        value = read_value(&p);
        if (!value)
            return err_code() ? err_code() : -ENOMEM;
        set_param(c, name, nlen, value);
        p = skip_ws(p);
        if (*p && *p != ',')
            return err_set(-EBADMSG, "expected ',' after parameter %.*s", (int)nlen, name);
    }
    *pp = p;
    return 0;
}

int registry_challenge_parse(const char *header, struct registry_challenge *out)
{
    struct registry_challenge all[MAX_CHALLENGES];
    size_t n = 0, pick = 0;
    const char *p = header ? header : "";
    int r = 0;

    memset(out, 0, sizeof(*out));
    memset(all, 0, sizeof(all));
    err_clear();
    for (;;) {
        const char *s;
        struct registry_challenge tmp = {0};

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        s = p;
        while (is_tchar(*p))
            p++;
        if (p == s) {
            r = err_set(-EBADMSG, "unexpected character '%c'", *p);
            break;
        }
        tmp.scheme = scheme_of(s, (size_t)(p - s));
        if (*p && *p != ' ' && *p != '\t' && *p != ',') {
            r = err_set(-EBADMSG, "malformed scheme");
            break;
        }
        r = parse_params(&p, &tmp);
        if (r < 0 || n == MAX_CHALLENGES) {
            registry_challenge_free(&tmp);
            if (r < 0)
                break;
            continue;
        }
        all[n++] = tmp;
    }
    if (r == 0 && n == 0)
        r = err_set(-EBADMSG, "no challenge");
    if (r == 0) {
        for (size_t i = 0; i < n; i++) {
            if (all[i].scheme == REGISTRY_AUTH_BEARER) {
                pick = i;
                break;
            }
            if (all[i].scheme == REGISTRY_AUTH_BASIC && all[pick].scheme != REGISTRY_AUTH_BASIC)
                pick = i;
        }
        *out = all[pick];
        memset(&all[pick], 0, sizeof(all[pick]));
    }
    for (size_t i = 0; i < n; i++)
        registry_challenge_free(&all[i]);
    if (r < 0)
        return err_wrap(r, "parsing WWW-Authenticate");
    return 0;
}

int registry_token_parse(const char *body, size_t len, int64_t now_real_ns, char **token,
                         int64_t *lifetime_ns)
{
    _cleanup_json_ json_t *doc = jsonx_loadb(body, len, "token server reply");
    const char *tok, *issued;
    json_t *jexp;
    int64_t expires_s = REGISTRY_TOKEN_DEFAULT_LIFETIME_S, life, margin, issued_ns;

    *token = NULL;
    *lifetime_ns = 0;
    if (!doc)
        return -EBADMSG;
    tok = jsonx_str(doc, "token");
    if (!tok || !*tok)
        tok = jsonx_str(doc, "access_token");
    if (!tok || !*tok)
        return err_set(-EBADMSG, "token server reply has no token");
    jexp = json_object_get(doc, "expires_in");
    if (json_is_integer(jexp) && json_integer_value(jexp) > 0)
        expires_s = json_integer_value(jexp);
    else if (json_is_real(jexp) && json_real_value(jexp) >= 1 && json_real_value(jexp) < 1e12)
        expires_s = (int64_t)json_real_value(jexp);
    if (expires_s > INT64_MAX / NS_PER_SEC / 2)
        expires_s = INT64_MAX / NS_PER_SEC / 2;
    life = expires_s * NS_PER_SEC;
    issued = jsonx_str(doc, "issued_at");
    if (issued && time_parse_rfc3339(issued, &issued_ns) == 0) {
        /* Lifetime counts from issue; a clock ahead of ours must not make it longer. */
        int64_t age;
        if (issued_ns < now_real_ns) {
            /* centuries in the past overflow the subtraction: long expired either way */
            if (__builtin_sub_overflow(now_real_ns, issued_ns, &age))
                age = INT64_MAX;
            life = age >= life ? 0 : life - age;
        }
    }
    margin = life / 10;
    if (margin > 10 * NS_PER_SEC)
        margin = 10 * NS_PER_SEC;
    *lifetime_ns = life - margin;
    *token = strdup(tok);
    if (!*token)
        return err_set(-ENOMEM, "token: out of memory");
    return 0;
}
