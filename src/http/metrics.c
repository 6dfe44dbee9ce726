/*
 * metrics.c - the process-wide metrics registry and its Prometheus text rendering (0.0.4).
 *
 * Layout: a registry (array of metrics kept sorted by name, guarded by `registry_lock`), each
 * metric owning its series (array kept sorted by label values, guarded by the metric's own
 * `lock`). Updates take only the metric's lock, so modules updating different metrics never
 * contend; rendering takes each metric's lock in turn. Metric structs are never freed except by
 * metrics_reset(), so callers may keep the pointers returned at registration.
 *
 * Histograms store per-bucket (non-cumulative) counts plus one overflow slot for +Inf, and
 * render them cumulatively, as the format requires.
 */
#include "istrigger/http/metrics.h"

#include "istrigger/util/err.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double METRICS_DEFAULT_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t METRICS_DEFAULT_NBUCKETS = sizeof(METRICS_DEFAULT_BUCKETS) / sizeof(double);
const double METRICS_LATENCY_BUCKETS[] = {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600};
const size_t METRICS_LATENCY_NBUCKETS = sizeof(METRICS_LATENCY_BUCKETS) / sizeof(double);

#define MAX_LABELS 16

struct series {
    char **values; /* nlabels strings */
    double value;  /* counter / gauge */
    double sum;    /* histogram */
    uint64_t count;
    uint64_t *buckets; /* nbuckets + 1 (last = above every bound) */
};

struct metric {
    char *name;
    char *help;
    enum metric_type type;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    pthread_mutex_t lock; /* guards series, nseries, cap */
    struct series **series;
    size_t nseries, cap;
};

struct collector {
    void (*collect)(void *ctx);
    void *ctx;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the four below */
static struct metric **registry;
static size_t nregistry, registry_cap;
static struct collector *collectors;
static size_t ncollectors;
static unsigned generation = 1; /* bumped by metrics_reset */

/* ---- validation (names are compile-time constants: violations are programming errors) ---- */

static bool name_char_ok(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (colon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!name_char_ok(s[i], i == 0, colon))
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static size_t count_labels(const char *const labels[])
{
    size_t n = 0;
    while (labels && labels[n])
        n++;
    return n;
}

static bool valid_definition(const char *name, enum metric_type type, const char *const labels[])
{
    size_t n = count_labels(labels);

    if (!valid_name(name, true) || strncmp(name, "istrigger_", 10) != 0)
        return false;
    if (type == METRIC_COUNTER && !ends_with(name, "_total"))
        return false;
    if (n > MAX_LABELS)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0)
            return false;
        if (type == METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return false;
    }
    return true;
}

/* ---- registration ---- */

static bool same_definition(const struct metric *m, enum metric_type type,
                            const char *const labels[], const double *bounds, size_t nbounds)
{
    if (m->type != type || m->nlabels != count_labels(labels))
        return false;
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(m->labels[i], labels[i]) != 0)
            return false;
    if (type != METRIC_HISTOGRAM)
        return true;
    if (m->nbounds != nbounds)
        return false;
    return memcmp(m->bounds, bounds, nbounds * sizeof(double)) == 0;
}

static void metric_free(struct metric *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nseries; i++) {
        struct series *s = m->series[i];
        for (size_t j = 0; j < m->nlabels; j++)
            free(s->values[j]);
        free(s->values);
        free(s->buckets);
        free(s);
    }
    free(m->series);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->bounds);
    free(m->name);
    free(m->help);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct metric *metric_new(const char *name, const char *help, enum metric_type type,
                                 const char *const labels[], const double *bounds, size_t nbounds)
{
    struct metric *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    m->nlabels = count_labels(labels);
    m->labels = calloc(m->nlabels + 1, sizeof(char *));
    if (!m->name || !m->help || !m->labels)
        goto oom;
    for (size_t i = 0; i < m->nlabels; i++)
        if (!(m->labels[i] = strdup(labels[i])))
            goto oom;
    if (type == METRIC_HISTOGRAM) {
        m->nbounds = nbounds;
        m->bounds = malloc(nbounds * sizeof(double));
        if (!m->bounds)
            goto oom;
        memcpy(m->bounds, bounds, nbounds * sizeof(double));
    }
    return m;
oom:
    metric_free(m);
    return NULL;
}

/* Binary search of `n` sorted items: the index where the item comparing equal to `key` is
 * (*found) or would be inserted. `cmp(i, key)` compares item i with the key like strcmp. */
static size_t sorted_search(size_t n, int (*cmp)(const void *ctx, size_t i, const void *key),
                            const void *ctx, const void *key, bool *found)
{
    size_t lo = 0, hi = n;
    *found = false;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp(ctx, mid, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int registry_cmp(const void *ctx, size_t i, const void *name)
{
    (void)ctx;
    return strcmp(registry[i]->name, name);
}

/* Index where `name` is or would be inserted in the sorted registry. Caller holds the lock. */
static size_t registry_search(const char *name, bool *found)
{
    return sorted_search(nregistry, registry_cmp, NULL, name, found);
}

static struct metric *metrics_register(const char *name, const char *help, enum metric_type type,
                                       const char *const labels[], const double *bounds,
                                       size_t nbounds)
{
    struct metric *m = NULL;
    bool found;
    size_t at;

    assert(valid_definition(name, type, labels));
    if (type == METRIC_HISTOGRAM) {
        if (!bounds || nbounds == 0) {
            bounds = METRICS_DEFAULT_BUCKETS;
            nbounds = METRICS_DEFAULT_NBUCKETS;
        }
        for (size_t i = 0; i < nbounds; i++)
            assert(isfinite(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]));
    }
    pthread_mutex_lock(&registry_lock);
    at = registry_search(name, &found);
    if (found) {
        m = registry[at];
        assert(same_definition(m, type, labels, bounds, nbounds));
        goto out;
    }
    if (nregistry == registry_cap) {
        size_t ncap = registry_cap ? registry_cap * 2 : 32;
        struct metric **n = realloc(registry, ncap * sizeof(*n));
        if (!n) {
            err_set(-ENOMEM, "registering metric %s: out of memory", name);
            goto out;
        }
        registry = n;
        registry_cap = ncap;
    }
    m = metric_new(name, help, type, labels, bounds, nbounds);
    if (!m) {
        err_set(-ENOMEM, "registering metric %s: out of memory", name);
        goto out;
    }
    memmove(registry + at + 1, registry + at, (nregistry - at) * sizeof(*registry));
    registry[at] = m;
    nregistry++;
out:
    pthread_mutex_unlock(&registry_lock);
    return m;
}

struct metric *metrics_counter(const char *name, const char *help, const char *const labels[])
{
    return metrics_register(name, help, METRIC_COUNTER, labels, NULL, 0);
}

struct metric *metrics_gauge(const char *name, const char *help, const char *const labels[])
{
    return metrics_register(name, help, METRIC_GAUGE, labels, NULL, 0);
}

struct metric *metrics_histogram(const char *name, const char *help, const char *const labels[],
                                 const double *buckets, size_t nbuckets)
{
    return metrics_register(name, help, METRIC_HISTOGRAM, labels, buckets, nbuckets);
}

/* ---- series ---- */

static int compare_values(char *const *a, const char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a[i], b[i] ? b[i] : "");
        if (c)
            return c;
    }
    return 0;
}

static int series_cmp(const void *ctx, size_t i, const void *values)
{
    const struct metric *m = ctx;
    return compare_values(m->series[i]->values, values, m->nlabels);
}

/* Caller holds m->lock. */
static size_t series_search(const struct metric *m, const char *const *values, bool *found)
{
    return sorted_search(m->nseries, series_cmp, m, values, found);
}

static void series_free(const struct metric *m, struct series *s)
{
    if (!s)
        return;
    for (size_t j = 0; s->values && j < m->nlabels; j++)
        free(s->values[j]);
    free(s->values);
    free(s->buckets);
    free(s);
}

/* Find or create the series; NULL on out-of-memory (the update is dropped). Caller holds
 * m->lock. */
static struct series *series_get(struct metric *m, const char *const *values)
{
    bool found;
    size_t at = series_search(m, values, &found);
    struct series *s;

    if (found)
        return m->series[at];
    if (m->nseries == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 8;
        struct series **n = realloc(m->series, ncap * sizeof(*n));
        if (!n)
            return NULL;
        m->series = n;
        m->cap = ncap;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->values = calloc(m->nlabels + 1, sizeof(char *));
    if (!s->values)
        goto oom;
    for (size_t i = 0; i < m->nlabels; i++)
        if (!(s->values[i] = strdup(values[i] ? values[i] : "")))
            goto oom;
    if (m->type == METRIC_HISTOGRAM && !(s->buckets = calloc(m->nbounds + 1, sizeof(uint64_t))))
        goto oom;
    memmove(m->series + at + 1, m->series + at, (m->nseries - at) * sizeof(*m->series));
    m->series[at] = s;
    m->nseries++;
    return s;
oom:
    series_free(m, s);
    return NULL;
}

/* Collect the NULL-terminated varargs into `values` (the macros append the NULL), checking
 * that there is exactly one value per label name. */
static void collect_values(const struct metric *m, va_list ap, const char **values)
{
    size_t n = 0;
    const char *v;

    while ((v = va_arg(ap, const char *)) != NULL) {
        assert(n < m->nlabels && "more label values than label names");
        if (n < MAX_LABELS)
            values[n++] = v;
    }
    assert(n == m->nlabels && "fewer label values than label names");
    while (n < m->nlabels)
        values[n++] = "";
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void apply(struct metric *m, enum op op, double v, const char *const *values)
{
    struct series *s;

    if (op == OP_OBSERVE)
        assert(m->type == METRIC_HISTOGRAM);
    else
        assert(m->type != METRIC_HISTOGRAM && (op == OP_ADD || m->type == METRIC_GAUGE));
    if (m->type == METRIC_COUNTER && !(v >= 0))
        return; /* counters only go up; NaN is refused too */
    pthread_mutex_lock(&m->lock);
    s = series_get(m, values);
    if (s) {
        switch (op) {
        case OP_ADD:
            s->value += v;
            break;
        case OP_SET:
            s->value = v;
            break;
        case OP_OBSERVE: {
            size_t i = 0;
            while (i < m->nbounds && !(v <= m->bounds[i]))
                i++;
            s->buckets[i]++;
            s->count++;
            s->sum += v;
            break;
        }
        }
    }
    pthread_mutex_unlock(&m->lock);
}

#define VARARG_APPLY(m, op, v)               \
    do {                                     \
        const char *values_[MAX_LABELS + 1]; \
        va_list ap_;                         \
        if (!(m))                            \
            return;                          \
        va_start(ap_, v);                    \
        collect_values((m), ap_, values_);   \
        va_end(ap_);                         \
        apply((m), (op), (v), values_);      \
    } while (0)

void metrics_add_v(struct metric *m, double v, ...)
{
    VARARG_APPLY(m, OP_ADD, v);
}

void metrics_set_v(struct metric *m, double v, ...)
{
    VARARG_APPLY(m, OP_SET, v);
}

void metrics_observe_v(struct metric *m, double v, ...)
{
    VARARG_APPLY(m, OP_OBSERVE, v);
}

void metrics_add_labels(struct metric *m, double v, const char *const values[])
{
    if (m)
        apply(m, OP_ADD, v, values);
}

void metrics_set_labels(struct metric *m, double v, const char *const values[])
{
    if (m)
        apply(m, OP_SET, v, values);
}

void metrics_observe_labels(struct metric *m, double v, const char *const values[])
{
    if (m)
        apply(m, OP_OBSERVE, v, values);
}

void metrics_remove_v(struct metric *m, ...)
{
    const char *values[MAX_LABELS + 1];
    va_list ap;
    bool found;
    size_t at;

    if (!m)
        return;
    va_start(ap, m);
    collect_values(m, ap, values);
    va_end(ap);
    pthread_mutex_lock(&m->lock);
    at = series_search(m, values, &found);
    if (found) {
        series_free(m, m->series[at]);
        memmove(m->series + at, m->series + at + 1, (m->nseries - at - 1) * sizeof(*m->series));
        m->nseries--;
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_clear(struct metric *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nseries; i++)
        series_free(m, m->series[i]);
    m->nseries = 0;
    pthread_mutex_unlock(&m->lock);
}

double metrics_value_v(struct metric *m, ...)
{
    const char *values[MAX_LABELS + 1];
    va_list ap;
    bool found;
    size_t at;
    double v = 0;

    if (!m)
        return 0;
    va_start(ap, m);
    collect_values(m, ap, values);
    va_end(ap);
    pthread_mutex_lock(&m->lock);
    at = series_search(m, values, &found);
    if (found)
        v = m->type == METRIC_HISTOGRAM ? (double)m->series[at]->count : m->series[at]->value;
    pthread_mutex_unlock(&m->lock);
    return v;
}

/* ---- collectors ---- */

int metrics_add_collector(void (*collect)(void *ctx), void *ctx)
{
    struct collector *n;
    pthread_mutex_lock(&registry_lock);
    n = realloc(collectors, (ncollectors + 1) * sizeof(*n));
    if (!n) {
        pthread_mutex_unlock(&registry_lock);
        return err_set(-ENOMEM, "adding a metrics collector: out of memory");
    }
    collectors = n;
    collectors[ncollectors++] = (struct collector){collect, ctx};
    pthread_mutex_unlock(&registry_lock);
    return 0;
}

void metrics_remove_collector(void (*collect)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < ncollectors; i++) {
        if (collectors[i].collect == collect && collectors[i].ctx == ctx) {
            memmove(collectors + i, collectors + i + 1,
                    (ncollectors - i - 1) * sizeof(*collectors));
            ncollectors--;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

static void run_collectors(void)
{
    struct collector *copy = NULL;
    size_t n;

    pthread_mutex_lock(&registry_lock);
    n = ncollectors;
    if (n && (copy = malloc(n * sizeof(*copy))))
        memcpy(copy, collectors, n * sizeof(*copy));
    pthread_mutex_unlock(&registry_lock);
    for (size_t i = 0; copy && i < n; i++)
        copy[i].collect(copy[i].ctx);
    free(copy);
}

/* ---- rendering ---- */

/* Shortest text that parses back to the same double; Prometheus' spellings of the specials. */
static void format_value(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
    } else {
        snprintf(buf, size, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, size, "%.17g", v);
    }
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static int put_escaped(struct strbuf *out, const char *s, bool quote)
{
    int r = 0;

    if (!s) /* only reachable with extra_name set, which always comes with a value */
        return -EINVAL;
    for (; *s && r == 0; s++) {
        if (*s == '\\')
            r = strbuf_puts(out, "\\\\");
        else if (*s == '\n')
            r = strbuf_puts(out, "\\n");
        else if (quote && *s == '"')
            r = strbuf_puts(out, "\\\"");
        else
            r = strbuf_putc(out, *s);
    }
    return r;
}

/* `name{l1="v1",...,extra_name="extra_value"} value\n` */
static int put_sample(struct strbuf *out, const struct metric *m, const char *suffix,
                      char *const *values, const char *extra_name, const char *extra_value,
                      double v)
{
    char num[64];
    int r;
    bool any = m->nlabels > 0 || extra_name;

    if ((r = strbuf_printf(out, "%s%s%s", m->name, suffix, any ? "{" : "")) < 0)
        return r;
    for (size_t i = 0; i < m->nlabels; i++) {
        if ((r = strbuf_printf(out, "%s%s=\"", i ? "," : "", m->labels[i])) < 0 ||
            (r = put_escaped(out, values[i], true)) < 0 || (r = strbuf_putc(out, '"')) < 0)
            return r;
    }
    if (extra_name) {
        if ((r = strbuf_printf(out, "%s%s=\"", m->nlabels ? "," : "", extra_name)) < 0 ||
            (r = put_escaped(out, extra_value, true)) < 0 || (r = strbuf_putc(out, '"')) < 0)
            return r;
    }
    format_value(v, num, sizeof(num));
    return strbuf_printf(out, "%s %s\n", any ? "}" : "", num);
}

static int render_series(struct strbuf *out, const struct metric *m, const struct series *s)
{
    char le[64];
    uint64_t cumulative = 0;
    int r;

    if (m->type != METRIC_HISTOGRAM)
        return put_sample(out, m, "", s->values, NULL, NULL, s->value);
    for (size_t i = 0; i <= m->nbounds; i++) {
        cumulative += s->buckets[i];
        format_value(i < m->nbounds ? m->bounds[i] : INFINITY, le, sizeof(le));
        if ((r = put_sample(out, m, "_bucket", s->values, "le", le, (double)cumulative)) < 0)
            return r;
    }
    if ((r = put_sample(out, m, "_sum", s->values, NULL, NULL, s->sum)) < 0)
        return r;
    return put_sample(out, m, "_count", s->values, NULL, NULL, (double)s->count);
}

static const char *type_name(enum metric_type t)
{
    return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

static int render_metric(struct strbuf *out, struct metric *m)
{
    int r;

    if ((r = strbuf_printf(out, "# HELP %s ", m->name)) < 0 ||
        (r = put_escaped(out, m->help, false)) < 0 ||
        (r = strbuf_printf(out, "\n# TYPE %s %s\n", m->name, type_name(m->type))) < 0)
        return r;
    pthread_mutex_lock(&m->lock);
    /* A metric without labels always has its one series (0 before the first update), as
     * Prometheus client libraries do, so rate() works from the first scrape. */
    if (m->nlabels == 0 && m->nseries == 0)
        series_get(m, NULL);
    for (size_t i = 0; i < m->nseries && r >= 0; i++)
        r = render_series(out, m, m->series[i]);
    pthread_mutex_unlock(&m->lock);
    return r;
}

int metrics_render(struct strbuf *out)
{
    struct metric **copy = NULL;
    size_t n;
    int r = 0;

    run_collectors();
    pthread_mutex_lock(&registry_lock);
    n = nregistry;
    if (n && !(copy = malloc(n * sizeof(*copy)))) {
        pthread_mutex_unlock(&registry_lock);
        return err_set(-ENOMEM, "rendering metrics: out of memory");
    }
    if (n)
        memcpy(copy, registry, n * sizeof(*copy));
    pthread_mutex_unlock(&registry_lock);
    for (size_t i = 0; i < n && r >= 0; i++)
        r = render_metric(out, copy[i]);
    free(copy);
    if (r < 0)
        return err_set(r, "rendering metrics: out of memory");
    return 0;
}

const char **metrics_names(void)
{
    const char **names;
    pthread_mutex_lock(&registry_lock);
    names = calloc(nregistry + 1, sizeof(*names));
    for (size_t i = 0; names && i < nregistry; i++)
        names[i] = registry[i]->name;
    pthread_mutex_unlock(&registry_lock);
    return names;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < nregistry; i++)
        metric_free(registry[i]);
    free(registry);
    registry = NULL;
    nregistry = registry_cap = 0;
    free(collectors);
    collectors = NULL;
    ncollectors = 0;
    generation++;
    pthread_mutex_unlock(&registry_lock);
}

unsigned metrics_generation(void)
{
    unsigned g;
    pthread_mutex_lock(&registry_lock);
    g = generation;
    pthread_mutex_unlock(&registry_lock);
    return g;
}
