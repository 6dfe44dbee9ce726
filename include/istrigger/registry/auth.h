/*
 * auth.h - the parsers of what registries and token servers send about authentication:
 * `WWW-Authenticate` challenges (RFC 7235 syntax: Bearer realm/service/scope, Basic, quoted
 * strings with commas and escapes, several challenges in one header) and bearer token replies
 * ({"token"|"access_token", "expires_in", "issued_at"}), plus the token lifetime rule.
 * Used by the registry client; public for its unit tests and fuzzers.
 */
#ifndef ISTRIGGER_REGISTRY_AUTH_H
#define ISTRIGGER_REGISTRY_AUTH_H

#include <stddef.h>
#include <stdint.h>

enum registry_auth_scheme {
    REGISTRY_AUTH_NONE = 0,
    REGISTRY_AUTH_BASIC,
    REGISTRY_AUTH_BEARER,
    REGISTRY_AUTH_OTHER,
};

/* One challenge. Strings owned (registry_challenge_free); absent parameters are NULL. */
struct registry_challenge {
    enum registry_auth_scheme scheme;
    char *realm;
    char *service;
    char *scope;
    char *error; /* Bearer error="insufficient_scope" etc. */
};

/* Parse a WWW-Authenticate header value. When it holds several challenges the Bearer one is
 * chosen, else Basic, else the first. 0, or -EBADMSG (malformed) / -ENOMEM with err_msg set.
 * `*out` is zeroed first and needs registry_challenge_free in every case. */
int registry_challenge_parse(const char *header, struct registry_challenge *out);
void registry_challenge_free(struct registry_challenge *c);

/* Default and bounds for token lifetimes (distribution token spec: 60 s when not given). */
#define REGISTRY_TOKEN_DEFAULT_LIFETIME_S 60

/* Parse a token server's JSON reply of `len` bytes. On success *token is malloc'd (free(),
 * it is a secret: never log it) and *lifetime_ns is how long from `now_real_ns` it may be
 * used: expires_in (default 60 s) counted from issued_at when given (never longer than
 * expires_in from now, never negative), minus a safety margin of a tenth, at most 10 s.
 * 0, or -EBADMSG (no token, not JSON) / -ENOMEM with err_msg set. */
int registry_token_parse(const char *body, size_t len, int64_t now_real_ns, char **token,
                         int64_t *lifetime_ns);

#endif
