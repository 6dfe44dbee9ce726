/* libFuzzer target: what the HTTP auth reads from outside, the Authorization header (first
 * line of the input) and the API server's TokenReview/SubjectAccessReview replies (the rest,
 * as JSON). A token is never empty nor contains whitespace, and a reply that is not
 * "authenticated: true" with a user name and "allowed: true" never yields ALLOW. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/http/auth.h"
#include "istrigger/util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - (const char *)data) : size;
    char *header = malloc(hl + 1);
    size_t len = 0;

    if (!header)
        return 0;
    memcpy(header, data, hl);
    header[hl] = '\0';
    const char *tok = http_auth_bearer_token(header, &len);
    if (tok) {
        if (len == 0 || tok < header || tok + len > header + strlen(header))
            abort();
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
                abort();
        json_t *tr = http_auth_tokenreview_request(tok, len);
        if (!tr || strlen(jsonx_str(tr, "spec", "token")) != len)
            abort();
        json_decref(tr);
    }
    free(header);
    if (!nl)
        return 0;
    json_t *reply = jsonx_loadb(nl + 1, size - hl - 1, "fuzz reply");
    if (!reply)
        return 0;
    char user[64];
    enum http_auth_verdict v = http_auth_decide(0, reply, 0, reply, user, sizeof(user));
    if (v == HTTP_AUTH_ALLOW && !(jsonx_bool(reply, false, "status", "authenticated") &&
                                  jsonx_str(reply, "status", "user", "username") &&
                                  jsonx_bool(reply, false, "status", "allowed")))
        abort();
    json_t *sar = http_auth_sar_request(reply, "/metrics", NULL);
    if (sar && !jsonx_str(sar, "spec", "user"))
        abort();
    json_decref(sar);
    json_decref(reply);
    return 0;
}
