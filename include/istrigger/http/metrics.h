/*
 * metrics.h - the process-wide Prometheus metrics registry of istrigger.
 *
 * Every module registers its metrics here once (typically in its *_start function) and
 * updates them from any thread; `/metrics` renders them in the Prometheus text exposition
 * format 0.0.4 (`# HELP`, `# TYPE`, escaped label values, histograms as `_bucket{le=..}`
 * including `+Inf`, `_sum`, `_count`).
 *
 *     static const char *const labels[] = {"registry", "result", NULL};
 *     struct metric *polls = metrics_counter("istrigger_polls_total",
 *                                            "Registry digest checks, by registry and result.",
 *                                            labels);
 *     metrics_inc(polls, "docker.io", "success");
 *
 * Naming (DESIGN.md "HTTP surface"): every name starts with `istrigger_`, counters end in
 * `_total`, durations are in seconds and end in `_seconds`. A name or label set that breaks the
 * rules, or a second registration of a name with another type or other labels, is a
 * programming error (assert), as is passing the wrong number of label values.
 *
 * Label values are passed as `const char *` varargs, exactly one per label name, in the order
 * of registration; the macros below append the NULL terminator, so call sites pass only the
 * values, and a value must never be NULL (it would end the list). The `*_labels` variants take
 * an array instead (there a NULL value is rendered as "").
 *
 * Thread-safety: all functions may be called from any thread at any time. Metric pointers
 * stay valid until metrics_reset() (tests only); nothing here allocates on the caller's
 * behalf except metrics_render's output buffer. Updates on a NULL metric are ignored.
 */
#ifndef ISTRIGGER_HTTP_METRICS_H
#define ISTRIGGER_HTTP_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "istrigger/util/strbuf.h"

struct metric;

enum metric_type { METRIC_COUNTER = 0, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Register (or find, when already registered with the same type and labels) a metric.
 * `labels` is a NULL-terminated array of label names, or NULL for none; it is copied.
 * Returns a pointer owned by the registry (never free it). */
struct metric *metrics_counter(const char *name, const char *help, const char *const labels[]);
struct metric *metrics_gauge(const char *name, const char *help, const char *const labels[]);

/* `buckets` are the upper bounds, strictly increasing, without +Inf (added automatically);
 * copied. NULL/0 selects METRICS_DEFAULT_BUCKETS. */
struct metric *metrics_histogram(const char *name, const char *help, const char *const labels[],
                                 const double *buckets, size_t nbuckets);

/* Prometheus' default buckets (5ms .. 10s): for registry and API request latencies. */
extern const double METRICS_DEFAULT_BUCKETS[];
extern const size_t METRICS_DEFAULT_NBUCKETS;
/* 1s .. 6h: for detection-to-import latency, which includes the poll interval. */
extern const double METRICS_LATENCY_BUCKETS[];
extern const size_t METRICS_LATENCY_NBUCKETS;

/* Updates. Counters accept only metrics_inc/metrics_add with v >= 0 (a negative add is
 * ignored); gauges accept inc/add/set; histograms accept observe. Using the wrong operation
 * for the type is a programming error (assert). */
void metrics_add_v(struct metric *m, double v, ...);
void metrics_set_v(struct metric *m, double v, ...);
void metrics_observe_v(struct metric *m, double v, ...);
#define metrics_inc(m, ...)        metrics_add_v((m), 1.0, ##__VA_ARGS__, (const char *)NULL)
#define metrics_add(m, v, ...)     metrics_add_v((m), (v), ##__VA_ARGS__, (const char *)NULL)
#define metrics_set(m, v, ...)     metrics_set_v((m), (v), ##__VA_ARGS__, (const char *)NULL)
#define metrics_observe(m, v, ...) metrics_observe_v((m), (v), ##__VA_ARGS__, (const char *)NULL)

/* The same with label values as an array of exactly as many entries as label names. */
void metrics_add_labels(struct metric *m, double v, const char *const values[]);
void metrics_set_labels(struct metric *m, double v, const char *const values[]);
void metrics_observe_labels(struct metric *m, double v, const char *const values[]);

/* Drop one series (label values as varargs, NULL appended by the macro), or every series of
 * the metric (for gauges recomputed from scratch, e.g. per-namespace counts). */
void metrics_remove_v(struct metric *m, ...);
#define metrics_remove(m, ...) metrics_remove_v((m), ##__VA_ARGS__, (const char *)NULL)
void metrics_clear(struct metric *m);

/* Current value of a counter/gauge series, or a histogram series' count; 0 when the series
 * does not exist. For tests and for the status page. */
double metrics_value_v(struct metric *m, ...);
#define metrics_value(m, ...) metrics_value_v((m), ##__VA_ARGS__, (const char *)NULL)

/* Collectors run at the start of every metrics_render() (outside the registry lock), so a
 * module can set gauges from its current state only when scraped. `ctx` is not owned.
 * Returns 0 or -ENOMEM. */
int metrics_add_collector(void (*collect)(void *ctx), void *ctx);
void metrics_remove_collector(void (*collect)(void *ctx), void *ctx);

/* Append the whole registry in text format 0.0.4 to `out`, families sorted by name and series
 * by label values. Content type: METRICS_CONTENT_TYPE. 0 or -ENOMEM. */
int metrics_render(struct strbuf *out);
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Names of every registered metric (a NULL-terminated malloc'd array of borrowed names;
 * free() the array only). */
const char **metrics_names(void);

/* Forget every metric and collector (tests only: invalidates all metric pointers). */
void metrics_reset(void);

/* Changes after every metrics_reset(), never 0: lets holders of metric pointers (the
 * catalogue) notice that they must register again. */
unsigned metrics_generation(void);

#endif
