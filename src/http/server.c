/*
 * server.c - the HTTP(S) listener on libmicrohttpd: routing, auth, TLS with reload.
 *
 * We create and bind the listening socket ourselves and hand it to libmicrohttpd
 * (MHD_OPTION_LISTEN_SOCKET). That gives us the real port when asked for port 0, and makes TLS
 * reload possible without a gap: when the certificate files change, the running daemon is
 * quiesced (stops accepting, keeps serving its open connections), a new daemon with the new
 * certificate takes over the same socket, and the old one is stopped. New files are validated
 * (key matches certificate) before the swap, so a half-written Secret never takes the listener
 * down. A watcher thread compares the files' contents every few seconds: kubelet updates a
 * mounted Secret by swapping a symlink, which content comparison sees regardless of mtimes.
 *
 * Locking: `lock` guards the route table and the current daemon pointer. Handlers run on
 * libmicrohttpd's pool threads without it; route entries are never removed while serving, so
 * a looked-up entry stays valid.
 */
#include "istrigger/http/server.h"

#include "istrigger/http/metrics.h"
#include "istrigger/http/metrics_catalog.h"
#include "istrigger/http/status.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROUTES         32
#define TLS_CHECK_INTERVAL (5 * NS_PER_SEC)

struct route {
    char *prefix;
    http_handler_fn handler;
    void *ctx;
    bool public_;
};

struct http_server {
    pthread_mutex_t lock; /* guards routes/nroutes, daemon, cert_pem/key_pem */
    struct route routes[MAX_ROUTES];
    size_t nroutes;
    struct MHD_Daemon *daemon;
    int listen_fd;
    unsigned port;
    unsigned threads;
    char *tls_cert_file, *tls_key_file;
    char *cert_pem, *key_pem; /* contents in use */
    enum http_auth_mode auth;
    struct http_auth_backend backend;
    struct http_auth_resource page_resource;
    bool has_page_resource;
    char *page_resource_storage;
    struct http_auth_cache *auth_cache;
    pthread_t watcher;
    bool watcher_running;
    pthread_mutex_t stop_lock; /* guards stopping; with stop_cond wakes the watcher */
    pthread_cond_t stop_cond;
    bool stopping;
    struct metric *m_requests;
};

struct http_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *user;
};

const char *http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *http_request_path(const struct http_request *req)
{
    return req->path;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_request_user(const struct http_request *req)
{
    return req->user;
}

void http_server_opts_default(struct http_server_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->listen = ":8443";
    opts->auth = HTTP_AUTH_NONE;
    opts->threads = 4;
    opts->builtin_routes = true;
}

int http_parse_listen(const char *listen, char *host, size_t hostsz, unsigned *port)
{
    const char *colon, *h = listen;
    size_t hl;
    char *end;
    unsigned long p;

    if (!listen || !*listen)
        return err_set(-EINVAL, "listen address is empty");
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return err_set(-EINVAL, "listen address \"%s\": want [IPv6]:PORT", listen);
        h = listen + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return err_set(-EINVAL, "listen address \"%s\": want HOST:PORT or :PORT", listen);
        hl = (size_t)(colon - listen);
        if (memchr(listen, ':', hl))
            return err_set(-EINVAL, "listen address \"%s\": write IPv6 hosts as [ADDR]:PORT",
                           listen);
    }
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p > 65535)
        return err_set(-EINVAL, "listen address \"%s\": bad port", listen);
    if (hl >= hostsz)
        return err_set(-EINVAL, "listen address \"%s\": host too long", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (unsigned)p;
    return 0;
}

/* Bind a listening socket: "" = every address (IPv6 dual-stack, else IPv4). */
static int open_listener(const char *host, unsigned port, int *fd_out, unsigned *bound)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[8];
    int fd = -1, r, one = 1;
    const char *node = host;

    if (strcmp(host, "localhost") == 0)
        node = "127.0.0.1";
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_family = *node ? AF_UNSPEC : AF_INET6;
    snprintf(portstr, sizeof(portstr), "%u", port);
    r = getaddrinfo(*node ? node : NULL, portstr, &hints, &res);
    if (r != 0 && !*node) {
        hints.ai_family = AF_INET;
        r = getaddrinfo(NULL, portstr, &hints, &res);
    }
    if (r != 0)
        return err_set(-EINVAL, "listen address %s:%u: %s (a numeric address is needed)", host,
                       port, gai_strerror(r));
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && !*node && res->ai_family == AF_INET6) { /* no IPv6 in this pod */
        freeaddrinfo(res);
        hints.ai_family = AF_INET;
        if (getaddrinfo(NULL, portstr, &hints, &res) != 0)
            return err_set(-EINVAL, "listen address :%u: no usable address family", port);
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
        r = -errno;
        freeaddrinfo(res);
        return err_set(r, "socket: %s", strerror(-r));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (res->ai_family == AF_INET6 && !*node) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        r = -errno;
        freeaddrinfo(res);
        close(fd);
        return err_set(r, "listening on %s:%u: %s", *host ? host : "*", port, strerror(-r));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

/* ---- TLS files ---- */

static char *read_file(const char *path, int *err)
{
    FILE *f = fopen(path, "rb");
    struct strbuf sb = STRBUF_INIT;
    char buf[4096];
    size_t n;

    if (!f) {
        *err = -errno;
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_append(&sb, buf, n);
    fclose(f);
    *err = 0;
    return strbuf_detach(&sb);
}

/* Parse both PEMs and check the key belongs to the certificate. */
static int validate_tls(const char *cert_pem, const char *key_pem)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int r = 0;

    if (!x)
        r = err_set(-EPROTO, "no PEM certificate");
    else if (!k)
        r = err_set(-EPROTO, "no PEM private key");
    else if (X509_check_private_key(x, k) != 1)
        r = err_set(-EPROTO, "the private key does not match the certificate");
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    return r;
}

static int load_tls(const struct http_server *srv, char **cert, char **key)
{
    int r;
    *cert = read_file(srv->tls_cert_file, &r);
    if (!*cert)
        return err_set(r, "reading %s: %s", srv->tls_cert_file, strerror(-r));
    *key = read_file(srv->tls_key_file, &r);
    if (!*key) {
        free(*cert);
        *cert = NULL;
        return err_set(r, "reading %s: %s", srv->tls_key_file, strerror(-r));
    }
    if ((r = validate_tls(*cert, *key)) < 0) {
        free(*cert);
        free(*key);
        *cert = *key = NULL;
        return err_wrap(r, "TLS files %s, %s", srv->tls_cert_file, srv->tls_key_file);
    }
    return 0;
}

/* ---- request handling ---- */

static const struct route *find_route(struct http_server *srv, const char *path)
{
    const struct route *best = NULL;
    size_t best_len = 0;

    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->nroutes; i++) {
        const struct route *rt = &srv->routes[i];
        size_t n = strlen(rt->prefix);
        bool match = rt->prefix[n - 1] == '/' ? strncmp(path, rt->prefix, n) == 0
                                              : strcmp(path, rt->prefix) == 0;
        if (match && n > best_len) {
            best = rt;
            best_len = n;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return best;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_response *resp,
                                     bool is_html)
{
    size_t len = resp->body.len;
    char *body = strbuf_detach(&resp->body);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (is_html) {
        /* Everything is inline and same-origin: nothing else may load or frame the page. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "script-src 'unsafe-inline'; connect-src 'self'; "
                                "img-src data:; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    }
    if (resp->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"istrigger\"");
    if (resp->location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
}

static void response_free(struct http_response *resp)
{
    strbuf_free(&resp->body);
    free(resp->location);
}

static void set_plain(struct http_response *resp, int status, const char *text)
{
    strbuf_reset(&resp->body);
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    strbuf_puts(&resp->body, text);
}

static const char *route_label(const struct route *rt)
{
    return rt ? rt->prefix : "none";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    static int first_call_marker;
    struct http_server *srv = cls;
    struct http_response resp;
    struct http_request req = {conn, method, url, NULL};
    const struct route *rt;
    char user[256] = "", code[8];
    enum MHD_Result ret;
    (void)version;
    (void)upload_data;

    if (*con_cls == NULL) { /* headers only so far; wait for the (ignored) body */
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    response_init(&resp);
    rt = find_route(srv, url);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        set_plain(&resp, 405, "Method Not Allowed\n");
    } else if (!rt) {
        set_plain(&resp, 404, "Not Found\n");
    } else {
        enum http_auth_verdict v = HTTP_AUTH_ALLOW;
        if (!rt->public_ && srv->auth == HTTP_AUTH_KUBERNETES) {
            /* /metrics is always authorized as the non-resource URL Prometheus' role grants;
             * the page and the API may use the configured resource attribute instead. */
            bool metrics = strcmp(rt->prefix, "/metrics") == 0;
            const struct http_auth_resource *res =
                srv->has_page_resource && !metrics ? &srv->page_resource : NULL;
            v = http_auth_check(
                srv->auth_cache, &srv->backend,
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                url, res, user, sizeof(user));
            req.user = user;
        }
        if (v == HTTP_AUTH_UNAUTHENTICATED)
            set_plain(&resp, 401, "Unauthorized\n");
        else if (v == HTTP_AUTH_FORBIDDEN)
            set_plain(&resp, 403, "Forbidden\n");
        else if (v == HTTP_AUTH_UNAVAILABLE)
            set_plain(&resp, 503, "Service Unavailable\n");
        else if (rt->handler(rt->ctx, &req, &resp) < 0) {
            log_error(NULL, "http: %s %s: %s", method, url, err_msg());
            set_plain(&resp, 500, "Internal Server Error\n");
        }
    }
    snprintf(code, sizeof(code), "%d", resp.status);
    metrics_inc(srv->m_requests, route_label(rt), code);
    ret = send_response(conn, &resp,
                        resp.content_type && strncmp(resp.content_type, "text/html", 9) == 0);
    response_free(&resp);
    return ret;
}

/* ---- daemon lifecycle ---- */

static struct MHD_Daemon *start_daemon(struct http_server *srv, const char *cert, const char *key)
{
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
    if (cert)
        flags |= MHD_USE_TLS;
    /* The port argument is ignored with MHD_OPTION_LISTEN_SOCKET. */
    if (cert)
        return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET,
                                srv->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, srv->threads,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_HTTPS_MEM_CERT, cert,
                                MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET,
                            srv->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, srv->threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
}

int http_server_reload_tls(struct http_server *srv)
{
    char *cert = NULL, *key = NULL;
    struct MHD_Daemon *old, *fresh;
    int r;

    if (!srv->tls_cert_file)
        return 0;
    if ((r = load_tls(srv, &cert, &key)) < 0)
        return r;
    pthread_mutex_lock(&srv->lock);
    if (srv->cert_pem && strcmp(cert, srv->cert_pem) == 0 && strcmp(key, srv->key_pem) == 0) {
        pthread_mutex_unlock(&srv->lock);
        free(cert);
        free(key);
        return 0;
    }
    old = srv->daemon;
    /* Stop accepting on the old daemon (it keeps its open connections), start the new one on
     * the same socket; if that fails, go back to the old certificate. */
    MHD_quiesce_daemon(old);
    fresh = start_daemon(srv, cert, key);
    if (!fresh) {
        fresh = start_daemon(srv, srv->cert_pem, srv->key_pem);
        srv->daemon = fresh;
        pthread_mutex_unlock(&srv->lock);
        MHD_stop_daemon(old);
        free(cert);
        free(key);
        return err_set(-EPROTO, "reloading TLS: libmicrohttpd refused the new certificate");
    }
    srv->daemon = fresh;
    free(srv->cert_pem);
    free(srv->key_pem);
    srv->cert_pem = cert;
    srv->key_pem = key;
    pthread_mutex_unlock(&srv->lock);
    MHD_stop_daemon(old);
    log_info(NULL, "http: reloaded TLS certificate from %s", srv->tls_cert_file);
    return 1;
}

static void *tls_watcher(void *arg)
{
    struct http_server *srv = arg;

    pthread_mutex_lock(&srv->stop_lock);
    while (!srv->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += TLS_CHECK_INTERVAL / NS_PER_SEC;
        pthread_cond_timedwait(&srv->stop_cond, &srv->stop_lock, &ts);
        if (srv->stopping)
            break;
        pthread_mutex_unlock(&srv->stop_lock);
        if (http_server_reload_tls(srv) < 0)
            log_warn(NULL, "http: keeping the current TLS certificate: %s", err_msg());
        pthread_mutex_lock(&srv->stop_lock);
    }
    pthread_mutex_unlock(&srv->stop_lock);
    return NULL;
}

static int add_route(struct http_server *srv, const char *prefix, http_handler_fn handler,
                     void *ctx, bool public_)
{
    int r = 0;
    if (!prefix || prefix[0] != '/' || !handler)
        return err_set(-EINVAL, "route \"%s\": must start with /", prefix ? prefix : "");
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->nroutes; i++)
        if (strcmp(srv->routes[i].prefix, prefix) == 0)
            r = err_set(-EEXIST, "route %s: already registered", prefix);
    if (r == 0 && srv->nroutes == MAX_ROUTES)
        r = err_set(-ENOMEM, "route %s: more than %d routes", prefix, MAX_ROUTES);
    if (r == 0) {
        struct route *rt = &srv->routes[srv->nroutes];
        if (!(rt->prefix = strdup(prefix))) {
            r = err_set(-ENOMEM, "route %s: out of memory", prefix);
        } else {
            rt->handler = handler;
            rt->ctx = ctx;
            rt->public_ = public_;
            srv->nroutes++;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return r;
}

int http_server_add_route(struct http_server *srv, const char *prefix, http_handler_fn handler,
                          void *ctx)
{
    return add_route(srv, prefix, handler, ctx, false);
}

int http_server_add_public_route(struct http_server *srv, const char *prefix,
                                 http_handler_fn handler, void *ctx)
{
    return add_route(srv, prefix, handler, ctx, true);
}

unsigned http_server_port(const struct http_server *srv)
{
    return srv->port;
}

int http_server_start(const struct http_server_opts *opts, struct http_server **out)
{
    static const char *const req_labels[] = {"handler", "code", NULL};
    static const char *const build_labels[] = {"version", NULL};
    struct http_server *srv;
    char host[128];
    unsigned port;
    int r;

    if ((r = http_parse_listen(opts->listen, host, sizeof(host), &port)) < 0)
        return r;
    if (!opts->tls_cert_file != !opts->tls_key_file)
        return err_set(-EINVAL, "TLS needs both a certificate file and a key file");
    if (opts->auth == HTTP_AUTH_KUBERNETES && !opts->auth_backend.create)
        return err_set(-EINVAL, "auth kubernetes needs a Kubernetes client");
    if (!(srv = calloc(1, sizeof(*srv))))
        return err_set(-ENOMEM, "http server: out of memory");
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->stop_lock, NULL);
    pthread_cond_init(&srv->stop_cond, NULL);
    srv->listen_fd = -1;
    srv->threads = opts->threads ? opts->threads : 4;
    srv->auth = opts->auth;
    srv->backend = opts->auth_backend;
    srv->m_requests =
        metrics_counter("istrigger_http_requests_total",
                        "HTTP requests served, by handler and status code.", req_labels);
    metrics_set(metrics_gauge("istrigger_build_info",
                              "Always 1; the label carries the istrigger version.", build_labels),
                1, ISTRIGGER_VERSION);
    if (opts->page_resource) {
        /* Copy through the parser's storage format: one malloc'd block. */
        const struct http_auth_resource *p = opts->page_resource;
        struct strbuf sb = STRBUF_INIT;
        strbuf_printf(&sb, "%s %s%s%s%s%s", p->verb ? p->verb : "get", p->resource,
                      p->group && *p->group ? "." : "", p->group ? p->group : "",
                      p->subresource ? "/" : "", p->subresource ? p->subresource : "");
        r = http_auth_parse_resource(strbuf_str(&sb), &srv->page_resource,
                                     &srv->page_resource_storage);
        strbuf_free(&sb);
        if (r < 0)
            goto fail;
        srv->page_resource.namespace = p->namespace; /* borrowed: static config strings */
        srv->page_resource.name = p->name;
        srv->has_page_resource = true;
    }
    if (srv->auth == HTTP_AUTH_KUBERNETES &&
        (r = http_auth_cache_new(30 * NS_PER_SEC, 5 * NS_PER_SEC, 512, &srv->auth_cache)) < 0)
        goto fail;
    if (opts->tls_cert_file) {
        srv->tls_cert_file = strdup(opts->tls_cert_file);
        srv->tls_key_file = strdup(opts->tls_key_file);
        if (!srv->tls_cert_file || !srv->tls_key_file) {
            r = err_set(-ENOMEM, "http server: out of memory");
            goto fail;
        }
        if ((r = load_tls(srv, &srv->cert_pem, &srv->key_pem)) < 0)
            goto fail;
    }
    if (opts->builtin_routes && (r = http_server_add_builtin_routes(srv)) < 0)
        goto fail;
    if ((r = open_listener(host, port, &srv->listen_fd, &srv->port)) < 0)
        goto fail;
    srv->daemon = start_daemon(srv, srv->cert_pem, srv->key_pem);
    if (!srv->daemon) {
        r = err_set(-EIO, "starting libmicrohttpd on %s failed", opts->listen);
        goto fail;
    }
    if (srv->tls_cert_file) {
        if (pthread_create(&srv->watcher, NULL, tls_watcher, srv) == 0)
            srv->watcher_running = true;
    }
    log_info(NULL, "http: listening on %s:%u (%s, auth %s)", *host ? host : "*", srv->port,
             srv->cert_pem ? "https" : "http",
             srv->auth == HTTP_AUTH_KUBERNETES ? "kubernetes" : "none");
    *out = srv;
    return 0;
fail:
    http_server_stop(srv);
    return r;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    pthread_mutex_lock(&srv->stop_lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->stop_cond);
    pthread_mutex_unlock(&srv->stop_lock);
    if (srv->watcher_running)
        pthread_join(srv->watcher, NULL);
    if (srv->daemon) {
        MHD_quiesce_daemon(srv->daemon);
        MHD_stop_daemon(srv->daemon);
    }
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    for (size_t i = 0; i < srv->nroutes; i++)
        free(srv->routes[i].prefix);
    http_auth_cache_free(srv->auth_cache);
    free(srv->page_resource_storage);
    free(srv->tls_cert_file);
    free(srv->tls_key_file);
    free(srv->cert_pem);
    free(srv->key_pem);
    pthread_cond_destroy(&srv->stop_cond);
    pthread_mutex_destroy(&srv->stop_lock);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
