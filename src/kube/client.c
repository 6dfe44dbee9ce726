/*
 * client.c - the Kubernetes REST client (see client.h): handle pool, TLS and auth, rate
 * limiter, retries, Status errors, and the verbs.
 *
 * Threads: any thread may call the verbs. Shared state and its locks:
 *   - pool_lock guards the free list of curl easy handles (each keeps its own keep-alive
 *     connection, so connections are reused without sharing a connection cache);
 *   - the curl share (DNS cache, TLS sessions; util/curlshare.h) has one lock per curl data kind;
 *   - rl_lock guards the token bucket; token_lock the cached bearer token;
 *   - cancel_lock/cancel_cond wake sleepers when kube_client_cancel is called.
 * No lock is held across network I/O.
 */
#include "istrigger/kube/client.h"

#include "kube_internal.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/curlshare.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"
#include "istrigger/version.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define POOL_MAX      32
#define MAX_BODY      (256u << 20)
#define TOKEN_RECHECK (1 * NS_PER_SEC)

struct kube_client {
    struct kube_config *cfg;
    struct kube_client_opts opts;
    char *user_agent;
    /* The URL requests go to: the server, or with tls-server-name, that name as host while
     * `connect_to` sends the connection to the real address (SNI and verification use it). */
    char *base_url;
    struct curl_slist *connect_to;

    struct curlshare *share; /* DNS cache and TLS sessions (util/curlshare.h) */

    pthread_mutex_t pool_lock; /* guards pool[] and npool */
    CURL *pool[POOL_MAX];
    int npool;

    pthread_mutex_t rl_lock; /* guards tokens, rl_last */
    double tokens;
    int64_t rl_last;

    pthread_mutex_t token_lock; /* guards token, token_* (token file cache) */
    char *token;
    struct timespec token_mtime;
    off_t token_size;
    ino_t token_ino;
    int64_t token_checked;

    atomic_ulong st_requests, st_connections, st_retries;

    atomic_int cancelled;
    pthread_mutex_t cancel_lock;
    pthread_cond_t cancel_cond;
};

static _Thread_local struct kube_status last_status;
/* Set by long-running threads (reflectors, the leader elector) so their requests end when
 * they are asked to stop; see kube_client_set_thread_stop. */
static _Thread_local const atomic_int *thread_stop;

void kube_client_set_thread_stop(const atomic_int *stop)
{
    thread_stop = stop;
}

/* The stop flag that applies to a request: its own, else the calling thread's. */
static const atomic_int *request_stop(const struct kube_http_req *rq)
{
    return rq->stop ? rq->stop : thread_stop;
}

const struct kube_status *kube_last_status(void)
{
    return &last_status;
}

void kube_status_clear(void)
{
    memset(&last_status, 0, sizeof(last_status));
}

const struct kube_config *kube_client_config(const struct kube_client *c)
{
    return c->cfg;
}

/* ---- small helpers shared with watch.c ---- */

double kube_rand01(void)
{
    static _Thread_local unsigned int seed;
    if (!seed)
        seed = (unsigned int)time_mono_ns() ^ (unsigned int)(uintptr_t)&seed;
    return (double)rand_r(&seed) / ((double)RAND_MAX + 1.0);
}

int64_t kube_backoff_ns(int64_t base, int64_t max, int attempt)
{
    int64_t d = base;

    for (int i = 0; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    return d / 2 + (int64_t)((double)(d / 2) * kube_rand01());
}

int kube_query_add(struct strbuf *sb, const char *k, const char *v)
{
    char *esc;
    int r;

    if (!v || !*v)
        return 0;
    esc = curl_easy_escape(NULL, v, 0);
    if (!esc)
        return -ENOMEM;
    r = strbuf_printf(sb, "%c%s=%s", strchr(strbuf_str(sb), '?') ? '&' : '?', k, esc);
    curl_free(esc);
    return r;
}

bool kube_client_cancelled(const struct kube_client *c)
{
    return atomic_load(&c->cancelled) != 0;
}

int kube_client_sleep(struct kube_client *c, int64_t ns, const atomic_int *stop)
{
    int64_t deadline = time_mono_ns() + ns;

    /* Wake at least every 100ms to see an external stop flag. */
    pthread_mutex_lock(&c->cancel_lock);
    for (;;) {
        int64_t now = time_mono_ns(), step;
        if (atomic_load(&c->cancelled) || (stop && atomic_load(stop))) {
            pthread_mutex_unlock(&c->cancel_lock);
            return -ECANCELED;
        }
        if (now >= deadline)
            break;
        step = deadline - now;
        if (stop && step > 100 * NS_PER_MS)
            step = 100 * NS_PER_MS;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t abs_ns = (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec + step;
        ts.tv_sec = abs_ns / NS_PER_SEC;
        ts.tv_nsec = abs_ns % NS_PER_SEC;
        pthread_cond_timedwait(&c->cancel_cond, &c->cancel_lock, &ts);
    }
    pthread_mutex_unlock(&c->cancel_lock);
    return 0;
}

void kube_client_get_stats(struct kube_client *c, struct kube_client_stats *out)
{
    out->requests = atomic_load(&c->st_requests);
    out->connections = atomic_load(&c->st_connections);
    out->retries = atomic_load(&c->st_retries);
}

void kube_client_cancel(struct kube_client *c)
{
    pthread_mutex_lock(&c->cancel_lock);
    atomic_store(&c->cancelled, 1);
    pthread_cond_broadcast(&c->cancel_cond);
    pthread_mutex_unlock(&c->cancel_lock);
}

/* ---- construction ---- */

/* base_url and connect_to from the config's server and tls-server-name. */
static int setup_server_url(struct kube_client *c)
{
    const char *tsn = c->cfg->tls_server_name;
    char *host = NULL, *port = NULL, *url = NULL, *line = NULL;
    CURLU *u;
    int r = 0;

    if (!tsn || !*tsn) {
        c->base_url = strdup(c->cfg->server);
        return c->base_url ? 0 : err_set(-ENOMEM, "out of memory");
    }
    if (!(u = curl_url()))
        return err_set(-ENOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, c->cfg->server, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_HOST, tsn, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
        r = err_set(-EINVAL, "%s: server \"%s\" with tls-server-name \"%s\": not a valid URL",
                    c->cfg->source ? c->cfg->source : "config", c->cfg->server, tsn);
        goto out;
    }
    /* curl_url_get(URL) adds a "/" path; the API paths bring their own. */
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    if (asprintf(&line, "%s:%s:%s:%s", tsn, port, host, port) < 0 || !(c->base_url = strdup(url)) ||
        !(c->connect_to = curl_slist_append(NULL, line)))
        r = err_set(-ENOMEM, "out of memory");
out:
    free(line);
    curl_free(host);
    curl_free(port);
    curl_free(url);
    curl_url_cleanup(u);
    return r;
}

int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
                    struct kube_client **out)
{
    struct kube_client *c;
    struct strbuf ua = STRBUF_INIT;
    int r;

    *out = NULL;
    if (!cfg || !cfg->server)
        return err_set(-EINVAL, "kube client: configuration has no server");
    if ((r = curlshare_global_init()) < 0)
        return err_wrap(r, "kube client");
    if (!(c = calloc(1, sizeof(*c))))
        return err_set(-ENOMEM, "out of memory");
    if (opts)
        c->opts = *opts;
    if (c->opts.qps <= 0)
        c->opts.qps = 5;
    if (c->opts.burst <= 0)
        c->opts.burst = 10;
    if (c->opts.max_retries == 0)
        c->opts.max_retries = 5;
    else if (c->opts.max_retries < 0)
        c->opts.max_retries = 0;
    if (c->opts.retry_base_ns <= 0)
        c->opts.retry_base_ns = 200 * NS_PER_MS;
    if (c->opts.retry_max_ns <= 0)
        c->opts.retry_max_ns = 30 * NS_PER_SEC;
    if (c->opts.timeout_ns <= 0)
        c->opts.timeout_ns = 30 * NS_PER_SEC;
    if (c->opts.connect_timeout_ns <= 0)
        c->opts.connect_timeout_ns = 10 * NS_PER_SEC;
    strbuf_puts(&ua, opts && opts->user_agent ? opts->user_agent : "istrigger/" ISTRIGGER_VERSION);
    c->user_agent = strbuf_detach(&ua);
    c->opts.user_agent = c->user_agent;
    c->tokens = c->opts.burst;
    c->rl_last = time_mono_ns();
    pthread_mutex_init(&c->pool_lock, NULL);
    pthread_mutex_init(&c->rl_lock, NULL);
    pthread_mutex_init(&c->token_lock, NULL);
    pthread_mutex_init(&c->cancel_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cancel_cond, &ca);
    pthread_condattr_destroy(&ca);
    if ((r = kube_config_dup(cfg, &c->cfg)) < 0) {
        kube_client_free(c);
        return r;
    }
    if ((r = setup_server_url(c)) < 0) {
        kube_client_free(c);
        return r;
    }
    if ((r = curlshare_new(false, &c->share)) < 0) { /* DNS and TLS sessions */
        kube_client_free(c);
        return r;
    }
    *out = c;
    return 0;
}

void kube_client_free(struct kube_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    curlshare_free(c->share);
    pthread_mutex_destroy(&c->pool_lock);
    pthread_mutex_destroy(&c->rl_lock);
    pthread_mutex_destroy(&c->token_lock);
    pthread_mutex_destroy(&c->cancel_lock);
    pthread_cond_destroy(&c->cancel_cond);
    kube_config_free(c->cfg);
    free(c->base_url);
    curl_slist_free_all(c->connect_to);
    free(c->token);
    free(c->user_agent);
    free(c);
}

/* ---- handle pool ---- */

static CURL *pool_get(struct kube_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->pool_lock);
    if (c->npool > 0)
        h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_reset(h); /* keeps the live connection and caches */
    else
        h = curl_easy_init();
    return h;
}

static void pool_put(struct kube_client *c, CURL *h)
{
    pthread_mutex_lock(&c->pool_lock);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- rate limiter (token bucket with reservations) ---- */

static int rate_limit_wait(struct kube_client *c, const atomic_int *stop)
{
    int64_t now, wait = 0;

    pthread_mutex_lock(&c->rl_lock);
    now = time_mono_ns();
    c->tokens += (double)(now - c->rl_last) * c->opts.qps / (double)NS_PER_SEC;
    if (c->tokens > c->opts.burst)
        c->tokens = c->opts.burst;
    c->rl_last = now;
    c->tokens -= 1.0;
    if (c->tokens < 0)
        wait = (int64_t)(-c->tokens / c->opts.qps * (double)NS_PER_SEC);
    pthread_mutex_unlock(&c->rl_lock);
    return wait > 0 ? kube_client_sleep(c, wait, stop) : 0;
}

/* ---- bearer token (static, or a file re-read when it changes) ---- */

static int read_token_file(struct kube_client *c, bool force)
{
    struct stat st;
    int64_t now = time_mono_ns();
    char buf[16384];
    size_t n;
    FILE *f;

    if (!force && c->token && now - c->token_checked < TOKEN_RECHECK)
        return 0;
    c->token_checked = now;
    if (stat(c->cfg->token_file, &st) != 0)
        return c->token ? 0
                        : err_set(-errno, "token file %s: %s", c->cfg->token_file, strerror(errno));
    if (!force && c->token && st.st_ino == c->token_ino && st.st_size == c->token_size &&
        st.st_mtim.tv_sec == c->token_mtime.tv_sec && st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
        return 0;
    if (!(f = fopen(c->cfg->token_file, "re")))
        return c->token ? 0
                        : err_set(-errno, "token file %s: %s", c->cfg->token_file, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0)
        return c->token ? 0 : err_set(-EACCES, "token file %s is empty", c->cfg->token_file);
    char *t = strdup(buf);
    if (!t)
        return err_set(-ENOMEM, "out of memory");
    free(c->token);
    c->token = t;
    c->token_ino = st.st_ino;
    c->token_size = st.st_size;
    c->token_mtime = st.st_mtim;
    return 0;
}

/* The Authorization header line, malloc'd, or NULL in *out when there is no token. */
static int auth_header(struct kube_client *c, bool force_reread, char **out)
{
    struct strbuf sb = STRBUF_INIT;
    int r = 0;

    *out = NULL;
    if (c->cfg->token_file) {
        pthread_mutex_lock(&c->token_lock);
        r = read_token_file(c, force_reread);
        if (r == 0 && c->token)
            r = strbuf_printf(&sb, "Authorization: Bearer %s", c->token);
        pthread_mutex_unlock(&c->token_lock);
    } else if (c->cfg->token) {
        r = strbuf_printf(&sb, "Authorization: Bearer %s", c->cfg->token);
    }
    if (r < 0) {
        strbuf_free(&sb);
        return r;
    }
    if (sb.len)
        *out = strbuf_detach(&sb);
    return 0;
}

/* ---- status mapping ---- */

static const char *reason_for_code(int code)
{
    switch (code) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 500:
        return "InternalError";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return "";
    }
}

int kube_status_error(int http_code, const json_t *body, const char *raw, size_t raw_len)
{
    const char *reason = NULL, *message = NULL;
    int64_t keep_retry = last_status.retry_after_ns;
    int code = http_code, e;

    if (body && json_is_object(body) && jsonx_str(body, "kind") &&
        strcmp(jsonx_str(body, "kind"), "Status") == 0) {
        reason = jsonx_str(body, "reason");
        message = jsonx_str(body, "message");
        if (jsonx_int(body, 0, "code") > 0)
            code = (int)jsonx_int(body, 0, "code");
    }
    memset(&last_status, 0, sizeof(last_status));
    last_status.http_code = code;
    last_status.retry_after_ns = keep_retry;
    snprintf(last_status.reason, sizeof(last_status.reason), "%s",
             reason && *reason ? reason : reason_for_code(code));
    if (message)
        snprintf(last_status.message, sizeof(last_status.message), "%s", message);
    else if (raw && raw_len)
        snprintf(last_status.message, sizeof(last_status.message), "%.*s",
                 (int)(raw_len > 200 ? 200 : raw_len), raw);
    switch (code) {
    case 400:
    case 422:
        e = -EINVAL;
        break;
    case 401:
        e = -EACCES;
        break;
    case 403:
        e = -EPERM;
        break;
    case 404:
        e = -ENOENT;
        break;
    case 405:
        e = -ENOTSUP;
        break;
    case 409:
        e = strcmp(last_status.reason, "AlreadyExists") == 0 ? -EEXIST : -ESTALE;
        break;
    case 410:
        e = -ENODATA;
        break;
    case 429:
    case 503:
        e = -EAGAIN;
        break;
    case 504:
        e = -ETIMEDOUT;
        break;
    default:
        e = -EIO;
    }
    return err_set(e, "%d %s: %s", code, last_status.reason,
                   last_status.message[0] ? last_status.message : "(no message)");
}

static int transport_error(CURLcode cc, const char *detail)
{
    int e;

    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        e = -ECONNREFUSED;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        e = -ETIMEDOUT;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
        e = -EPROTO;
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        e = -ECANCELED;
        break;
    case CURLE_OUT_OF_MEMORY:
        e = -ENOMEM;
        break;
    default:
        e = -EIO;
    }
    memset(&last_status, 0, sizeof(last_status));
    snprintf(last_status.message, sizeof(last_status.message), "%s",
             detail && *detail ? detail : curl_easy_strerror(cc));
    return err_set(e, "%s", last_status.message);
}

/* ---- one exchange ---- */

struct xfer {
    struct kube_client *c;
    const struct kube_http_req *rq;
    CURL *h;
    struct strbuf body;
    int64_t retry_after_ns;
    int stream_err; /* the streaming callback's error */
    long code;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;

    if (x->rq->on_data) {
        if (!x->code)
            curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->code);
        if (x->code >= 200 && x->code < 300) {
            int r = x->rq->on_data(x->rq->on_data_ctx, data, n);
            if (r < 0) {
                x->stream_err = r;
                return 0;
            }
            return n;
        }
    }
    if (x->body.len + n > MAX_BODY || strbuf_append(&x->body, data, n) < 0)
        return 0;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char v[128];
        size_t len = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;
        char *end;
        memcpy(v, data + 12, len);
        v[len] = '\0';
        long secs = strtol(v, &end, 10);
        if (end != v && secs >= 0) {
            x->retry_after_ns = (int64_t)secs * NS_PER_SEC;
        } else {
            time_t when = curl_getdate(v + strspn(v, " \t"), NULL);
            if (when > 0) {
                int64_t d = ((int64_t)when * NS_PER_SEC) - time_real_ns();
                x->retry_after_ns = d > 0 ? d : 0;
            }
        }
    }
    return n;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = userp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const atomic_int *stop = request_stop(x->rq);
    if (kube_client_cancelled(x->c) || (stop && atomic_load(stop)))
        return 1;
    return 0;
}

/* A PEM given inline (kubeconfig *-data) or as a file path. */
static void set_pem(CURL *h, const char *pem, size_t len, const char *file, CURLoption blob_opt,
                    CURLoption file_opt, CURLoption type_opt)
{
    if (pem) {
        struct curl_blob blob = {(void *)pem, len, CURL_BLOB_COPY};
        curl_easy_setopt(h, blob_opt, &blob);
    } else if (file) {
        curl_easy_setopt(h, file_opt, file);
    }
    if ((pem || file) && type_opt)
        curl_easy_setopt(h, type_opt, "PEM");
}

static int setup_tls(struct kube_client *c, CURL *h)
{
    const struct kube_config *cfg = c->cfg;

    if (cfg->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        set_pem(h, cfg->ca_pem, cfg->ca_pem_len, cfg->ca_file, CURLOPT_CAINFO_BLOB, CURLOPT_CAINFO,
                0);
    }
    set_pem(h, cfg->client_cert_pem, cfg->client_cert_pem_len, cfg->client_cert_file,
            CURLOPT_SSLCERT_BLOB, CURLOPT_SSLCERT, CURLOPT_SSLCERTTYPE);
    set_pem(h, cfg->client_key_pem, cfg->client_key_pem_len, cfg->client_key_file,
            CURLOPT_SSLKEY_BLOB, CURLOPT_SSLKEY, CURLOPT_SSLKEYTYPE);
    if (c->connect_to)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
    if (cfg->username && !cfg->token && !cfg->token_file) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
    }
    return 0;
}

/* One attempt. Returns the HTTP code (>0) with x->body filled, or a negative errno for a
 * transport failure (sent_nothing tells whether the request may be retried safely). */
static int perform_once(struct kube_client *c, const struct kube_http_req *rq, struct xfer *x,
                        bool force_token, bool *sent_nothing)
{
    _cleanup_strbuf_ struct strbuf url = STRBUF_INIT;
    _cleanup_strbuf_ struct strbuf ct = STRBUF_INIT;
    _cleanup_free_ char *auth = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    CURLcode cc;
    int r;

    *sent_nothing = false;
    if ((r = auth_header(c, force_token, &auth)) < 0)
        return r;
    if (strbuf_puts(&url, c->base_url) < 0 || strbuf_puts(&url, rq->url_path) < 0 ||
        strbuf_printf(&ct, "Content-Type: %s",
                      rq->content_type ? rq->content_type : "application/json") < 0)
        return err_set(-ENOMEM, "out of memory");
    x->h = pool_get(c);
    if (!x->h)
        return err_set(-ENOMEM, "out of memory");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (rq->body)
        hdrs = curl_slist_append(hdrs, strbuf_str(&ct));
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Expect:");
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_URL, strbuf_str(&url));
    curl_easy_setopt(h, CURLOPT_SHARE, curlshare_handle(c->share));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    if (strcmp(rq->method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->opts.connect_timeout_ns / NS_PER_MS));
    int64_t tmo = rq->timeout_ns ? rq->timeout_ns : c->opts.timeout_ns;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo > 0 ? (long)(tmo / NS_PER_MS) : 0L);
    setup_tls(c, h);
    strbuf_reset(&x->body);
    x->retry_after_ns = 0;
    x->code = 0;
    x->stream_err = 0;
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->code);
    long new_conns = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_conns);
    atomic_fetch_add(&c->st_requests, 1);
    atomic_fetch_add(&c->st_connections, (unsigned long)new_conns);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (cc == CURLE_OK) {
        pool_put(c, h);
        x->h = NULL;
        return (int)x->code;
    }
    *sent_nothing = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
    /* A failed handle may hold a broken connection: drop it rather than pool it. */
    curl_easy_cleanup(h);
    x->h = NULL;
    if (x->stream_err)
        return x->stream_err;
    return transport_error(cc, errbuf);
}

static bool retryable_code(long code)
{
    return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

/* Wait before retry number *attempt (backoff, at least `retry_after_ns`, capped) and count
 * it. 0, or -ECANCELED with err_msg set. */
static int retry_wait(struct kube_client *c, const struct kube_http_req *rq, int64_t retry_after_ns,
                      int *attempt)
{
    int64_t d = kube_backoff_ns(c->opts.retry_base_ns, c->opts.retry_max_ns, (*attempt)++);

    if (retry_after_ns > d)
        d = retry_after_ns < c->opts.retry_max_ns ? retry_after_ns : c->opts.retry_max_ns;
    atomic_fetch_add(&c->st_retries, 1);
    if (kube_client_sleep(c, d, request_stop(rq)) < 0)
        return err_set(-ECANCELED, "cancelled");
    return 0;
}

int kube_http_do(struct kube_client *c, const struct kube_http_req *rq, bool no_retry, json_t **out)
{
    struct xfer x = {.c = c, .rq = rq, .body = STRBUF_INIT};
    bool token_retried = false;
    int attempt = 0, r;

    if (out)
        *out = NULL;
    for (;;) {
        bool sent_nothing;

        if (kube_client_cancelled(c)) {
            r = err_set(-ECANCELED, "client is shutting down");
            break;
        }
        if ((r = rate_limit_wait(c, request_stop(rq))) < 0) {
            err_set(r, "cancelled");
            break;
        }
        r = perform_once(c, rq, &x, token_retried, &sent_nothing);
        if (c->opts.on_request)
            c->opts.on_request(rq->verb, rq->what, r > 0 ? r : 0);
        if (r < 0) {
            if (r != -ECANCELED && sent_nothing && !no_retry && attempt < c->opts.max_retries) {
                log_debug(rq->url_path, "%s failed (%s), retrying", rq->method, err_msg());
                if ((r = retry_wait(c, rq, 0, &attempt)) < 0)
                    break;
                continue;
            }
            break;
        }
        if (r >= 200 && r < 300) {
            if (out && x.body.len) {
                *out = jsonx_loadb(x.body.buf, x.body.len, "API reply");
                if (!*out) {
                    r = err_code() ? err_code() : -EBADMSG;
                    if (r != -ENOMEM)
                        r = -EBADMSG;
                    break;
                }
            }
            kube_status_clear();
            r = 0;
            break;
        }
        if (r == 401 && c->cfg->token_file && !token_retried) {
            token_retried = true; /* the token may have rotated */
            continue;
        }
        bool can_retry = retryable_code(r) && !no_retry && attempt < c->opts.max_retries &&
                         (strcmp(rq->method, "POST") != 0 || r == 429 || x.retry_after_ns > 0);
        if (can_retry) {
            log_debug(rq->url_path, "%s answered %d, retrying", rq->method, r);
            if ((r = retry_wait(c, rq, x.retry_after_ns, &attempt)) < 0)
                break;
            continue;
        }
        json_t *st = x.body.len ? json_loadb(x.body.buf, x.body.len, 0, NULL) : NULL;
        last_status.retry_after_ns = x.retry_after_ns;
        r = kube_status_error(r, st, x.body.buf, x.body.len);
        json_decref(st);
        break;
    }
    strbuf_free(&x.body);
    return r;
}

/* ---- paths and verbs ---- */

static int append_escaped(struct strbuf *sb, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    int r;

    if (!e)
        return -ENOMEM;
    r = strbuf_puts(sb, e);
    curl_free(e);
    return r;
}

int kube_resource_path(struct strbuf *sb, const struct kube_resource *res, const char *ns,
                       const char *name, const char *subresource)
{
    int r;

    if (res->group && res->group[0])
        r = strbuf_printf(sb, "/apis/%s/%s", res->group, res->version);
    else
        r = strbuf_printf(sb, "/api/%s", res->version);
    if (r == 0 && res->namespaced && ns && *ns) {
        r = strbuf_puts(sb, "/namespaces/");
        r = r ? r : append_escaped(sb, ns);
    }
    r = r ? r : strbuf_printf(sb, "/%s", res->resource);
    if (r == 0 && name && *name) {
        r = strbuf_putc(sb, '/');
        r = r ? r : append_escaped(sb, name);
    }
    if (r == 0 && subresource && *subresource)
        r = strbuf_printf(sb, "/%s", subresource);
    return r;
}

/* "get deployments.apps web/app" for messages. */
static void describe(char *buf, size_t size, const char *action, const struct kube_resource *res,
                     const char *ns, const char *name, const char *sub)
{
    char rn[128];

    kube_resource_name(res, rn, sizeof(rn));
    snprintf(buf, size, "%s %s%s%s %s%s%s%s", action, rn, sub ? "/" : "", sub ? sub : "",
             res->namespaced && ns ? ns : "", res->namespaced && ns && name ? "/" : "",
             name ? name : "", !name && !(res->namespaced && ns) ? "(all)" : "");
}

static int verb(struct kube_client *c, const char *method, const char *verb_label,
                const char *action, const struct kube_resource *res, const char *ns,
                const char *name, const char *sub, const char *query_src, const json_t *body,
                const char *content_type, json_t **out)
{
    _cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
    _cleanup_free_ char *payload = NULL;
    char rn[128], what[512];
    int r;

    if (res->namespaced && !ns && name)
        return err_set(-EINVAL, "%s %s: namespace required", action, res->resource);
    if (kube_resource_path(&path, res, ns, name, sub) < 0 ||
        (query_src && strbuf_puts(&path, query_src) < 0))
        return err_set(-ENOMEM, "out of memory");
    if (body && !(payload = jsonx_dump(body)))
        return err_set(-ENOMEM, "out of memory");
    struct kube_http_req rq = {
        .method = method,
        .verb = verb_label,
        .what = kube_resource_name(res, rn, sizeof(rn)),
        .url_path = strbuf_str(&path),
        .body = payload,
        .body_len = payload ? strlen(payload) : 0,
        .content_type = content_type,
    };
    r = kube_http_do(c, &rq, false, out);
    if (r < 0) {
        describe(what, sizeof(what), action, res, ns, name, sub);
        return err_wrap(r, "%s", what);
    }
    return 0;
}

int kube_get(struct kube_client *c, const struct kube_resource *res, const char *ns,
             const char *name, const char *subresource, json_t **out)
{
    return verb(c, "GET", "GET", "get", res, ns, name, subresource, NULL, NULL, NULL, out);
}

int kube_list(struct kube_client *c, const struct kube_resource *res, const char *ns,
              const struct kube_list_opts *opts, json_t **out)
{
    _cleanup_strbuf_ struct strbuf q = STRBUF_INIT;
    char lim[32];

    if (opts) {
        snprintf(lim, sizeof(lim), "%ld", opts->limit);
        if (kube_query_add(&q, "labelSelector", opts->label_selector) < 0 ||
            kube_query_add(&q, "fieldSelector", opts->field_selector) < 0 ||
            kube_query_add(&q, "limit", opts->limit > 0 ? lim : NULL) < 0 ||
            kube_query_add(&q, "continue", opts->continue_token) < 0 ||
            kube_query_add(&q, "resourceVersion", opts->resource_version) < 0)
            return err_set(-ENOMEM, "out of memory");
    }
    return verb(c, "GET", "LIST", "list", res, ns, NULL, NULL, strbuf_str(&q), NULL, NULL, out);
}

int kube_create(struct kube_client *c, const struct kube_resource *res, const char *ns,
                const json_t *obj, const char *subresource, json_t **out)
{
    const char *name = subresource ? jsonx_str(obj, "metadata", "name") : NULL;

    if (subresource && !name)
        return err_set(-EINVAL, "create %s/%s: object has no metadata.name", res->resource,
                       subresource);
    return verb(c, "POST", "POST", "create", res, ns, name, subresource, NULL, obj, NULL, out);
}

int kube_update(struct kube_client *c, const struct kube_resource *res, const char *ns,
                const json_t *obj, const char *subresource, json_t **out)
{
    const char *name = jsonx_str(obj, "metadata", "name");

    if (!name)
        return err_set(-EINVAL, "update %s: object has no metadata.name", res->resource);
    return verb(c, "PUT", "PUT", "update", res, ns, name, subresource, NULL, obj, NULL, out);
}

int kube_patch(struct kube_client *c, const struct kube_resource *res, const char *ns,
               const char *name, enum kube_patch_type type, const json_t *patch,
               const char *subresource, json_t **out)
{
    static const char *const types[] = {
        [KUBE_PATCH_MERGE] = "application/merge-patch+json",
        [KUBE_PATCH_JSON] = "application/json-patch+json",
        [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
    };

    if ((unsigned)type > KUBE_PATCH_STRATEGIC || !name)
        return err_set(-EINVAL, "patch %s: bad patch type or no name", res->resource);
    return verb(c, "PATCH", "PATCH", "patch", res, ns, name, subresource, NULL, patch, types[type],
                out);
}

int kube_delete(struct kube_client *c, const struct kube_resource *res, const char *ns,
                const char *name, json_t **out)
{
    if (!name)
        return err_set(-EINVAL, "delete %s: no name", res->resource);
    return verb(c, "DELETE", "DELETE", "delete", res, ns, name, NULL, NULL, NULL, NULL, out);
}

int kube_update_retry(struct kube_client *c, const struct kube_resource *res, const char *ns,
                      const char *name, const char *subresource,
                      int (*mutate)(void *ctx, json_t *obj), void *ctx, int attempts, json_t **out)
{
    int r = -ESTALE;

    if (out)
        *out = NULL;
    if (attempts <= 0)
        attempts = 5;
    for (int i = 0; i < attempts; i++) {
        _cleanup_json_ json_t *cur = NULL;
        if ((r = kube_get(c, res, ns, name, NULL, &cur)) < 0)
            return r;
        r = mutate(ctx, cur);
        if (r < 0)
            return r;
        if (r > 0) {
            if (out)
                *out = TAKE_PTR(cur);
            return 0;
        }
        r = kube_update(c, res, ns, cur, subresource, out);
        if (r != -ESTALE)
            return r;
        log_debug(name, "update conflict on %s, re-reading (attempt %d)", res->resource, i + 1);
    }
    return r;
}

int kube_request(struct kube_client *c, const char *method, const char *path, const json_t *body,
                 const char *content_type, json_t **out)
{
    _cleanup_free_ char *payload = NULL;
    int r;

    if (body && !(payload = jsonx_dump(body)))
        return err_set(-ENOMEM, "out of memory");
    struct kube_http_req rq = {
        .method = method,
        .verb = method,
        .what = path,
        .url_path = path,
        .body = payload,
        .body_len = payload ? strlen(payload) : 0,
        .content_type = content_type,
    };
    r = kube_http_do(c, &rq, false, out);
    if (r < 0)
        return err_wrap(r, "%s %s", method, path);
    return 0;
}
