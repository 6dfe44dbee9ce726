/*
 * transport.c - one HTTP exchange of a registry check: the curl easy handle's setup (the
 * client's share, user agent, timeouts, redirects limited to http/https), the request headers
 * (Accept, Authorization), TLS (insecure, an extra CA on top of the system store, client
 * certificates), the response's body (size-capped) and the headers the state machine reads
 * (Docker-Content-Digest, Content-Type, WWW-Authenticate, Link, Retry-After), and the mapping
 * of transport failures to error codes and messages.
 *
 * registry_http_start() adds the handle to the batch's curl multi; the batch (batch.c) hands
 * the completion to check.c. Nothing secret (Authorization headers) is logged or copied into
 * a message.
 */
#include "registry_internal.h"

#include "istrigger/util/curlshare.h"
#include "istrigger/util/strbuf.h"
#include "istrigger/util/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MANIFEST_MAX_BYTES (4u << 20)
#define TAGS_MAX_BYTES     (16u << 20)
#define OTHER_MAX_BYTES    (1u << 20)
#define SYSTEM_CA_DIR      "/etc/ssl/certs"

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct check *k = userp;
    size_t len = size * n;

    if (k->body.len + len > k->body_max || strbuf_append(&k->body, data, len) < 0)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    return len;
}

static void set_header_value(char **slot, const char *v, size_t len)
{
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    free(*slot);
    *slot = strndup(v, len);
}

static int64_t parse_retry_after(const char *v, size_t len)
{
    char buf[64];
    time_t t;
    int64_t secs;
    char *end;

    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), v);
    buf[strcspn(buf, "\r\n")] = '\0';
    secs = strtoll(buf, &end, 10);
    if (end != buf && *end == '\0')
        return secs < 0 ? 0 : (secs > 86400 ? 86400 : secs) * NS_PER_SEC;
    t = curl_getdate(buf, NULL);
    if (t < 0)
        return 0;
    secs = (int64_t)t - time_real_ns() / NS_PER_SEC;
    return secs <= 0 ? 0 : (secs > 86400 ? 86400 : secs) * NS_PER_SEC;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct check *k = userp;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    size_t nlen, vlen;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or 100 Continue): forget the previous headers */
        free(k->h_digest), k->h_digest = NULL;
        free(k->h_ctype), k->h_ctype = NULL;
        free(k->h_wwwauth), k->h_wwwauth = NULL;
        free(k->h_link), k->h_link = NULL;
        k->h_retry_after_ns = 0;
        return len;
    }
    if (!colon)
        return len;
    nlen = (size_t)(colon - data);
    vlen = len - nlen - 1;
#define HDR_IS(s) (nlen == sizeof(s) - 1 && strncasecmp(data, s, nlen) == 0)
    if (HDR_IS("docker-content-digest"))
        set_header_value(&k->h_digest, colon + 1, vlen);
    else if (HDR_IS("content-type"))
        set_header_value(&k->h_ctype, colon + 1, vlen);
    else if (HDR_IS("www-authenticate") && !k->h_wwwauth)
        set_header_value(&k->h_wwwauth, colon + 1, vlen);
    else if (HDR_IS("link"))
        set_header_value(&k->h_link, colon + 1, vlen);
    else if (HDR_IS("retry-after"))
        k->h_retry_after_ns = parse_retry_after(colon + 1, vlen);
#undef HDR_IS
    return len;
}

static void apply_tls(struct check *k)
{
    CURL *e = k->easy;

    if (k->o.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* An extra CA adds to the system store: CAINFO is the extra bundle, CAPATH the system's
     * hashed directory (OpenSSL consults both). */
    if (k->o.ca_file || k->o.ca_pem) {
        if (k->o.ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, k->o.ca_file);
        if (k->o.ca_pem) {
            struct curl_blob blob = {(void *)k->o.ca_pem, strlen(k->o.ca_pem), CURL_BLOB_COPY};
            curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (access(SYSTEM_CA_DIR, R_OK) == 0)
            curl_easy_setopt(e, CURLOPT_CAPATH, SYSTEM_CA_DIR);
    }
    if (k->o.client_cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, k->o.client_cert_file);
    if (k->o.client_key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, k->o.client_key_file);
}

void registry_http_start(struct check *k, enum check_step step, const char *method, const char *url,
                         const char *accept, bool with_authz)
{
    struct registry_client *c = k->b->c;
    CURL *e;

    if (!k->easy && !(k->easy = curl_easy_init())) {
        registry_check_fail(k, -ENOMEM, "out of memory");
        return;
    }
    e = k->easy;
    curl_easy_reset(e);
    curl_slist_free_all(k->headers);
    k->headers = NULL;
    strbuf_reset(&k->body);
    free(k->h_digest), k->h_digest = NULL;
    free(k->h_ctype), k->h_ctype = NULL;
    free(k->h_wwwauth), k->h_wwwauth = NULL;
    free(k->h_link), k->h_link = NULL;
    k->h_retry_after_ns = 0;
    k->errbuf[0] = '\0';
    k->step = step;
    k->body_max = step == STEP_GET    ? MANIFEST_MAX_BYTES
                  : step == STEP_TAGS ? TAGS_MAX_BYTES
                                      : OTHER_MAX_BYTES;

    if (accept)
        k->headers = curl_slist_append(k->headers, accept);
    if (with_authz && k->authz)
        k->headers = curl_slist_append(k->headers, k->authz);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_SHARE, curlshare_handle(c->share));
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->opts.timeout_ns / NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->opts.connect_timeout_ns / NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->post ? k->post : "");
    apply_tls(k);
    if (curl_multi_add_handle(k->b->multi, e) != CURLM_OK)
        registry_check_fail(k, -EIO, "starting HTTP request failed");
}

int registry_transport_error(struct check *k, CURLcode cc, const char *what, char *msg, size_t size)
{
    const char *why = k->errbuf[0] ? k->errbuf : curl_easy_strerror(cc);
    const char *host = registry_check_host(k);

    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        snprintf(msg, size, "%s: cannot connect to %s (%s)", what, host, why);
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(msg, size, "%s: %s did not answer in time (%s)", what, host, why);
        return -ETIMEDOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        snprintf(msg, size, "%s: TLS with %s failed: %s", what, host, why);
        return -EPROTO;
    case CURLE_WRITE_ERROR:
        snprintf(msg, size, "%s: reply from %s larger than %zu bytes", what, host, k->body_max);
        return -EBADMSG;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        /* TLS 1.3 reports a refused client certificate as an alert after the handshake. */
        if (strstr(why, "SSL") || strstr(why, "alert")) {
            snprintf(msg, size, "%s: TLS with %s failed: %s", what, host, why);
            return -EPROTO;
        }
        /* fall through */
    default:
        snprintf(msg, size, "%s: talking to %s failed: %s", what, host, why);
        return -EIO;
    }
}
