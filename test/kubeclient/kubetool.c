/*
 * kubetool.c - a small command-line driver of the Kubernetes client library, for the
 * integration tests (test/integration/test_kube_*.py) and the benchmark. Not installed.
 *
 *   kubetool [--kubeconfig F] [--context C] [--qps Q] [--burst B] [--retries N] [-v] CMD ...
 *     get RES NS NAME                 print the object
 *     create RES NS                   object from stdin
 *     update RES NS                   object from stdin (conditional if it has a resourceVersion)
 *     patch RES NS NAME merge|json|strategic   patch from stdin
 *     delete RES NS NAME
 *     list RES NS [--limit N] [--selector S]   all pages; prints names, pages, resourceVersion
 *     set-data RES NS NAME KEY VALUE  read-modify-write with conflict retry (kube_update_retry)
 *     informer RES [--ns NS | --namespaces a,b] [--page-size N] [--watch-timeout S]
 *              [--resync S] [--index-label KEY] [--quiet]
 *                                     runs until SIGTERM; prints events, then the final cache
 *     leader NS NAME ID [--lease S] [--renew S] [--retry S] [--write-cm CM]
 *                                     runs until SIGTERM; while leading writes CM every 100ms
 *     events NS CM N                  N identical events and one other about ConfigMap CM
 *     get-many RES NS NAME COUNT THREADS  COUNT GETs in each of THREADS threads on one client;
 *                                     prints successes, requests and TCP connections opened
 *
 * RES is a well-known plural ("configmaps", "deployments.apps", "leases.coordination.k8s.io").
 * Results are JSON lines on stdout; failures print {"error": ERRNAME, "code": HTTP,
 * "reason": ..., "message": ...} and exit 1.
 */
#include "istrigger/kube/client.h"
#include "istrigger/kube/config.h"
#include "istrigger/kube/events.h"
#include "istrigger/kube/informer.h"
#include "istrigger/kube/leader.h"
#include "istrigger/kube/shutdown.h"
#include "istrigger/kube/watch.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* Print a JSON value as one line (steals `v`). */
static void emit(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    pthread_mutex_lock(&out_lock);
    if (s)
        printf("%s\n", s);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    free(s);
    json_decref(v);
}

static int fail(int r)
{
    const struct kube_status *st = kube_last_status();
    emit(json_pack("{s:s, s:i, s:s, s:s}", "error", err_name(r), "code", st->http_code, "reason",
                   st->reason, "message", err_msg()));
    return 1;
}

static json_t *read_stdin_json(void)
{
    struct strbuf sb = STRBUF_INIT;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        strbuf_append(&sb, buf, n);
    json_t *v = jsonx_loadb(sb.buf ? sb.buf : "", sb.len, "stdin");
    strbuf_free(&sb);
    return v;
}

static const struct kube_resource *resource(const char *name)
{
    const struct kube_resource *r = kube_resource_lookup(name);
    if (!r) {
        fprintf(stderr, "kubetool: unknown resource %s\n", name);
        exit(2);
    }
    return r;
}

static const char *opt_value(int *i, int argc, char **argv)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "kubetool: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return argv[++*i];
}

/* ---- simple verbs ---- */

static int cmd_verb(struct kube_client *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    _cleanup_json_ json_t *out = NULL, *in = NULL;
    int r;

    if (argc < 3)
        return fprintf(stderr, "kubetool: %s RES NS ...\n", cmd), 2;
    const struct kube_resource *res = resource(argv[1]);
    const char *ns = argv[2];
    if (strcmp(cmd, "get") == 0 && argc >= 4) {
        r = kube_get(c, res, ns, argv[3], argc > 4 ? argv[4] : NULL, &out);
    } else if (strcmp(cmd, "delete") == 0 && argc >= 4) {
        r = kube_delete(c, res, ns, argv[3], &out);
    } else if (strcmp(cmd, "create") == 0 || strcmp(cmd, "update") == 0) {
        if (!(in = read_stdin_json()))
            return fail(-EINVAL);
        r = cmd[0] == 'c' ? kube_create(c, res, ns, in, NULL, &out)
                          : kube_update(c, res, ns, in, argc > 3 ? argv[3] : NULL, &out);
    } else if (strcmp(cmd, "patch") == 0 && argc >= 5) {
        enum kube_patch_type t = strcmp(argv[4], "json") == 0        ? KUBE_PATCH_JSON
                                 : strcmp(argv[4], "strategic") == 0 ? KUBE_PATCH_STRATEGIC
                                                                     : KUBE_PATCH_MERGE;
        if (!(in = read_stdin_json()))
            return fail(-EINVAL);
        r = kube_patch(c, res, ns, argv[3], t, in, argc > 5 ? argv[5] : NULL, &out);
    } else {
        return fprintf(stderr, "kubetool: bad arguments for %s\n", cmd), 2;
    }
    if (r < 0)
        return fail(r);
    emit(json_incref(out));
    return 0;
}

static int cmd_list(struct kube_client *c, int argc, char **argv)
{
    struct kube_list_opts lo = {0};
    _cleanup_json_ json_t *names = json_array();
    _cleanup_free_ char *cont = NULL, *rv = NULL;
    int pages = 0, r;

    if (argc < 3)
        return 2;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0)
            lo.limit = atol(opt_value(&i, argc, argv));
        else if (strcmp(argv[i], "--selector") == 0)
            lo.label_selector = opt_value(&i, argc, argv);
    }
    do {
        _cleanup_json_ json_t *page = NULL;
        json_t *it;
        size_t i;
        lo.continue_token = cont;
        if ((r = kube_list(c, resource(argv[1]), strcmp(argv[2], "-") ? argv[2] : NULL, &lo,
                           &page)) < 0)
            return fail(r);
        pages++;
        json_array_foreach (json_object_get(page, "items"), i, it)
            json_array_append_new(names, json_string(jsonx_str(it, "metadata", "name")));
        if (!rv && jsonx_str(page, "metadata", "resourceVersion"))
            rv = strdup(jsonx_str(page, "metadata", "resourceVersion"));
        const char *next = jsonx_str(page, "metadata", "continue");
        free(cont);
        cont = next && *next ? strdup(next) : NULL;
    } while (cont);
    emit(json_pack("{s:O, s:i, s:s}", "names", names, "pages", pages, "resourceVersion",
                   rv ? rv : ""));
    return 0;
}

struct set_data {
    const char *key, *value;
    int attempts;
};

static int set_data_mutate(void *ctx, json_t *obj)
{
    struct set_data *sd = ctx;
    sd->attempts++;
    const char *cur = jsonx_str(obj, "data", sd->key);
    if (cur && strcmp(cur, sd->value) == 0)
        return 1; /* nothing to change */
    return jsonx_set(obj, json_string(sd->value), "data", sd->key);
}

static int cmd_set_data(struct kube_client *c, int argc, char **argv)
{
    struct set_data sd = {0};
    _cleanup_json_ json_t *out = NULL;
    int r;

    if (argc < 6)
        return 2;
    sd.key = argv[4];
    sd.value = argv[5];
    r = kube_update_retry(c, resource(argv[1]), argv[2], argv[3], NULL, set_data_mutate, &sd, 5,
                          &out);
    if (r < 0)
        return fail(r);
    emit(json_pack("{s:i, s:s}", "attempts", sd.attempts, "resourceVersion",
                   jsonx_str(out, "metadata", "resourceVersion")));
    return 0;
}

/* ---- many concurrent GETs on one client (thread safety, keep-alive) ---- */

struct get_many {
    struct kube_client *c;
    const struct kube_resource *res;
    const char *ns, *name;
    int count;
    atomic_int ok;
};

static void *get_many_thread(void *arg)
{
    struct get_many *g = arg;
    for (int i = 0; i < g->count; i++) {
        json_t *obj = NULL;
        if (kube_get(g->c, g->res, g->ns, g->name, NULL, &obj) == 0 && obj)
            atomic_fetch_add(&g->ok, 1);
        json_decref(obj);
    }
    return NULL;
}

static int cmd_get_many(struct kube_client *c, int argc, char **argv)
{
    struct get_many g = {.c = c};
    struct kube_client_stats st;
    pthread_t th[64];
    int nthreads;

    if (argc < 6)
        return 2;
    g.res = resource(argv[1]);
    g.ns = argv[2];
    g.name = argv[3];
    g.count = atoi(argv[4]);
    nthreads = atoi(argv[5]);
    if (nthreads < 1 || nthreads > 64)
        return 2;
    int64_t t0 = time_mono_ns();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, get_many_thread, &g);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    kube_client_get_stats(c, &st);
    emit(json_pack("{s:i, s:I, s:I, s:f}", "ok", atomic_load(&g.ok), "requests",
                   (json_int_t)st.requests, "connections", (json_int_t)st.connections, "seconds",
                   (double)(time_mono_ns() - t0) / NS_PER_SEC));
    return 0;
}

/* ---- informer ---- */

static bool quiet_events;
static const char *report_key;
static struct kube_informer *the_informer;

/* Resident set size in KiB (for the benchmark's memory per cached object). */
static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f;

    malloc_trim(0); /* count what is in use, not what malloc keeps around */
    f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void print_event(const char *what, const json_t *obj)
{
    _cleanup_free_ char *key = kube_object_key(obj);
    if (report_key && key && strcmp(key, report_key) == 0) {
        struct kube_informer_stats st;
        kube_informer_get_stats(the_informer, &st);
        emit(json_pack("{s:s, s:s, s:I, s:f}", "report", key, "event", what, "events",
                       (json_int_t)st.events, "mono", (double)time_mono_ns() / NS_PER_SEC));
    }
    if (quiet_events)
        return;
    emit(json_pack("{s:s, s:s, s:s}", "event", what, "key", key ? key : "", "rv",
                   jsonx_str(obj, "metadata", "resourceVersion")
                       ? jsonx_str(obj, "metadata", "resourceVersion")
                       : ""));
}

static void on_add(void *ctx, const json_t *old, const json_t *obj)
{
    (void)ctx;
    (void)old;
    print_event("add", obj);
}

static void on_update(void *ctx, const json_t *old, const json_t *obj)
{
    (void)ctx;
    print_event(old == obj ? "resync" : "update", obj);
}

static void on_delete(void *ctx, const json_t *old, const json_t *obj)
{
    (void)ctx;
    (void)old;
    print_event("delete", obj);
}

static const char *index_label;

static int label_index(const json_t *obj, void (*e)(void *, const char *), void *ectx)
{
    const char *v = jsonx_str(obj, "metadata", "labels", index_label);
    if (v)
        e(ectx, v);
    return 0;
}

static int cmd_informer(struct kube_client *c, int argc, char **argv)
{
    struct kube_informer_opts o = {0};
    struct kube_informer *inf;
    const char *ns = NULL;
    char *nslist[64] = {0};
    int r;

    if (argc < 2)
        return 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--ns") == 0) {
            ns = opt_value(&i, argc, argv);
        } else if (strcmp(argv[i], "--namespaces") == 0) {
            char *s = strdup(opt_value(&i, argc, argv)), *save = NULL;
            int n = 0;
            for (char *p = strtok_r(s, ",", &save); p && n < 63; p = strtok_r(NULL, ",", &save))
                nslist[n++] = strdup(p);
            free(s);
            o.namespaces = (const char *const *)nslist;
        } else if (strcmp(argv[i], "--page-size") == 0) {
            o.page_size = atol(opt_value(&i, argc, argv));
        } else if (strcmp(argv[i], "--watch-timeout") == 0) {
            o.watch_timeout_s = atoi(opt_value(&i, argc, argv));
        } else if (strcmp(argv[i], "--resync") == 0) {
            o.resync_ns = (int64_t)(atof(opt_value(&i, argc, argv)) * NS_PER_SEC);
        } else if (strcmp(argv[i], "--backoff-max") == 0) {
            o.backoff_max_ns = (int64_t)(atof(opt_value(&i, argc, argv)) * NS_PER_SEC);
        } else if (strcmp(argv[i], "--index-label") == 0) {
            index_label = opt_value(&i, argc, argv);
        } else if (strcmp(argv[i], "--report-key") == 0) {
            report_key = opt_value(&i, argc, argv);
        } else if (strcmp(argv[i], "--quiet") == 0) {
            quiet_events = true;
        }
    }
    if ((r = kube_informer_new(c, resource(argv[1]), ns, &o, &inf)) < 0)
        return fail(r);
    for (int i = 0; nslist[i]; i++)
        free(nslist[i]);
    the_informer = inf;
    struct kube_event_handlers h = {on_add, on_update, on_delete, NULL};
    kube_informer_add_handlers(inf, &h);
    if (index_label)
        kube_informer_add_index(inf, "label", label_index);
    int64_t t0 = time_mono_ns();
    if ((r = kube_informer_start(inf)) < 0)
        return fail(r);
    for (;;) {
        if (kube_informer_wait_synced(inf, 200 * NS_PER_MS) == 0)
            break;
        if (kube_shutdown_wait(0)) {
            kube_informer_free(inf);
            return 0;
        }
    }
    emit(json_pack("{s:b, s:I, s:f, s:I}", "synced", 1, "count", (json_int_t)kube_cache_len(inf),
                   "seconds", (double)(time_mono_ns() - t0) / NS_PER_SEC, "rss_kb",
                   (json_int_t)rss_kb()));
    kube_shutdown_wait(-1);
    kube_informer_stop(inf);

    /* The final cache: key -> resourceVersion, plus index contents and statistics. */
    _cleanup_json_ json_t *all = NULL, *final = json_object(), *idx = json_object();
    json_t *obj;
    size_t i;
    kube_cache_list(inf, NULL, &all);
    json_array_foreach (all, i, obj) {
        _cleanup_free_ char *key = kube_object_key(obj);
        json_object_set_new(final, key, json_string(jsonx_str(obj, "metadata", "resourceVersion")));
        const char *lv = index_label ? jsonx_str(obj, "metadata", "labels", index_label) : NULL;
        if (lv && !json_object_get(idx, lv)) {
            json_t *arr = NULL;
            kube_cache_by_index(inf, "label", lv, &arr);
            json_object_set_new(idx, lv, json_integer((json_int_t)json_array_size(arr)));
            json_decref(arr);
        }
    }
    struct kube_informer_stats st;
    kube_informer_get_stats(inf, &st);
    emit(json_pack("{s:O, s:O, s:{s:I, s:I, s:I, s:I, s:I}}", "final", final, "index", idx, "stats",
                   "lists", (json_int_t)st.lists, "watches", (json_int_t)st.watches, "events",
                   (json_int_t)st.events, "relists410", (json_int_t)st.relists_410, "failures",
                   (json_int_t)st.failures));
    kube_informer_free(inf);
    return 0;
}

/* ---- leader ---- */

static void on_started(void *ctx)
{
    emit(json_pack("{s:b, s:s}", "leading", 1, "id", (const char *)ctx));
}

static void on_stopped(void *ctx)
{
    emit(json_pack("{s:b, s:s}", "leading", 0, "id", (const char *)ctx));
}

static int cmd_leader(struct kube_client *c, int argc, char **argv)
{
    struct kube_leader_opts o = {.on_started_leading = on_started,
                                 .on_stopped_leading = on_stopped};
    struct kube_leader *le;
    const char *cm = NULL;
    long seq = 0;
    int r;

    if (argc < 4)
        return 2;
    o.ctx = argv[3];
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--lease") == 0)
            o.lease_duration_ns = (int64_t)(atof(opt_value(&i, argc, argv)) * NS_PER_SEC);
        else if (strcmp(argv[i], "--renew") == 0)
            o.renew_deadline_ns = (int64_t)(atof(opt_value(&i, argc, argv)) * NS_PER_SEC);
        else if (strcmp(argv[i], "--retry") == 0)
            o.retry_period_ns = (int64_t)(atof(opt_value(&i, argc, argv)) * NS_PER_SEC);
        else if (strcmp(argv[i], "--write-cm") == 0)
            cm = opt_value(&i, argc, argv);
    }
    if ((r = kube_leader_new(c, argv[1], argv[2], argv[3], &o, &le)) < 0 ||
        (r = kube_leader_start(le)) < 0)
        return fail(r);
    while (!kube_shutdown_wait(100 * NS_PER_MS)) {
        /* The time of the decision to write: a write decided before a pause (SIGSTOP) may
         * still land after it, as with any client; one decided after must not happen. */
        int64_t decided = time_real_ns() / NS_PER_MS;
        if (!cm || !kube_leader_is_leader(le))
            continue;
        char n[32];
        snprintf(n, sizeof(n), "%ld", ++seq);
        _cleanup_json_ json_t *patch =
            json_pack("{s:{s:s, s:s}}", "data", "holder", argv[3], "seq", n);
        r = kube_patch(c, KUBE_RES_CONFIGMAPS, argv[1], cm, KUBE_PATCH_MERGE, patch, NULL, NULL);
        emit(json_pack("{s:s, s:i, s:I}", "wrote", argv[3], "ok", r == 0, "at_ms",
                       (json_int_t)decided));
    }
    kube_leader_free(le);
    emit(json_pack("{s:b}", "exited", 1));
    return 0;
}

/* ---- events ---- */

static int cmd_events(struct kube_client *c, int argc, char **argv)
{
    struct kube_recorder *rec;
    struct kube_recorder_stats st;
    _cleanup_json_ json_t *obj = NULL;
    int r, n;

    if (argc < 4)
        return 2;
    n = atoi(argv[3]);
    if ((r = kube_get(c, KUBE_RES_CONFIGMAPS, argv[1], argv[2], NULL, &obj)) < 0)
        return fail(r);
    json_object_set_new(obj, "kind", json_string("ConfigMap"));
    json_object_set_new(obj, "apiVersion", json_string("v1"));
    struct kube_recorder_opts ro = {.instance = "kubetool", .burst = 10};
    if ((r = kube_recorder_new_opts(c, "kubetool", &ro, &rec)) < 0)
        return fail(r);
    int queued = 0;
    for (int i = 0; i < n; i++)
        queued +=
            kube_event(rec, obj, "Warning", "Flapping", "object %s keeps failing", argv[2]) == 0;
    queued += kube_event(rec, obj, "Normal", "Other", "a different event") == 0;
    r = kube_recorder_flush(rec, 10 * NS_PER_SEC);
    kube_recorder_get_stats(rec, &st);
    kube_recorder_free(rec);
    emit(json_pack("{s:i, s:I, s:I, s:I, s:I, s:i}", "queued", queued, "created",
                   (json_int_t)st.created, "aggregated", (json_int_t)st.aggregated, "rate_limited",
                   (json_int_t)st.rate_limited, "failed", (json_int_t)st.failed, "flushed",
                   r == 0));
    return 0;
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *context = NULL;
    struct kube_client_opts co = {0};
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    int i, r;

    kube_shutdown_install();
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--kubeconfig") == 0)
            kubeconfig = opt_value(&i, argc, argv);
        else if (strcmp(argv[i], "--context") == 0)
            context = opt_value(&i, argc, argv);
        else if (strcmp(argv[i], "--qps") == 0)
            co.qps = atof(opt_value(&i, argc, argv));
        else if (strcmp(argv[i], "--burst") == 0)
            co.burst = atoi(opt_value(&i, argc, argv));
        else if (strcmp(argv[i], "--retries") == 0)
            co.max_retries = atoi(opt_value(&i, argc, argv));
        else if (strcmp(argv[i], "-v") == 0)
            log_configure(LOG_LEVEL_DEBUG, LOG_FORMAT_LOGFMT);
        else
            return fprintf(stderr, "kubetool: unknown option %s\n", argv[i]), 2;
    }
    if (i >= argc)
        return fprintf(stderr, "kubetool: no command\n"), 2;
    if ((r = kube_config_load(kubeconfig, context, &cfg)) < 0)
        return fail(r);
    r = kube_client_new(cfg, &co, &c);
    kube_config_free(cfg);
    if (r < 0)
        return fail(r);
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub = argv + i;
    if (strcmp(cmd, "list") == 0)
        r = cmd_list(c, sub_argc, sub);
    else if (strcmp(cmd, "set-data") == 0)
        r = cmd_set_data(c, sub_argc, sub);
    else if (strcmp(cmd, "informer") == 0)
        r = cmd_informer(c, sub_argc, sub);
    else if (strcmp(cmd, "leader") == 0)
        r = cmd_leader(c, sub_argc, sub);
    else if (strcmp(cmd, "events") == 0)
        r = cmd_events(c, sub_argc, sub);
    else if (strcmp(cmd, "get-many") == 0)
        r = cmd_get_many(c, sub_argc, sub);
    else
        r = cmd_verb(c, sub_argc, sub);
    kube_client_free(c);
    return r;
}
