/*
 * scheduler.c - the source table and its timer heap (see scheduler.h for the contract).
 *
 * Data: `sources` maps a source key to its state (subscribers, interval, backoff, last
 * observation); `registries` maps a registry host to its limits (token bucket, polls in
 * flight); `heap` is a binary min-heap of the sources that wait (a source in flight is not in
 * the heap; each source knows its heap index so a reschedule is O(log n)).
 *
 * Jitter takes time off the interval, never adds it: the user's interval is a promise ("the
 * tag is at most this old"), and spreading sources that were added together (200 streams
 * created at once) keeps their polls from staying in lockstep.
 */
#include "istrigger/controller/scheduler.h"

#include "istrigger/util/err.h"
#include "istrigger/util/strmap.h"
#include "istrigger/util/timeutil.h"
#include "istrigger/util/duration.h"
#include "istrigger/util/jsonx.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BUSY_NS (100 * NS_PER_MS) /* registry at its in-flight limit: look again */

struct sub {
    char *stream; /* "ns/name" */
    char *tag;
    int64_t interval_ns;
};

struct source {
    char *key;
    char *ref;
    char *registry;
    bool insecure;
    struct sub *subs;
    size_t nsubs;
    int64_t interval_ns; /* min of the subscribers' */
    int64_t due;         /* monotonic; meaningful while in the heap */
    size_t heap_index;   /* SIZE_MAX when not in the heap */
    bool in_flight;
    int failures;
    int64_t backoff_until;
    /* observation */
    char *digest;
    json_t *children;
    char *reason;
    char *message;
    int64_t last_poll_real;
    int64_t last_change_real;
    int64_t last_change_mono;
};

struct registry_limits {
    double rps; /* 0: unlimited */
    int max_in_flight;
    bool overridden;
    double tokens;
    int64_t refilled_at;
    int in_flight;
};

struct scheduler {
    pthread_mutex_t lock; /* guards everything below */
    struct scheduler_opts opts;
    struct strmap *sources;    /* key -> struct source */
    struct strmap *registries; /* host -> struct registry_limits */
    struct strmap *streams;    /* stream key -> NULL-terminated array of its source keys */
    struct source **heap;
    size_t heap_len, heap_cap;
    size_t nsubs;
    int in_flight;
    unsigned rng;
};

/* ---- heap ---- */

static void heap_swap(struct scheduler *s, size_t a, size_t b)
{
    struct source *t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    s->heap[a]->heap_index = a;
    s->heap[b]->heap_index = b;
}

static void heap_up(struct scheduler *s, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s->heap[p]->due <= s->heap[i]->due)
            break;
        heap_swap(s, p, i);
        i = p;
    }
}

static void heap_down(struct scheduler *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->heap_len && s->heap[l]->due < s->heap[m]->due)
            m = l;
        if (r < s->heap_len && s->heap[r]->due < s->heap[m]->due)
            m = r;
        if (m == i)
            return;
        heap_swap(s, i, m);
        i = m;
    }
}

static int heap_push(struct scheduler *s, struct source *src)
{
    if (s->heap_len == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
        struct source **h = realloc(s->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        s->heap = h;
        s->heap_cap = cap;
    }
    src->heap_index = s->heap_len;
    s->heap[s->heap_len++] = src;
    heap_up(s, src->heap_index);
    return 0;
}

static void heap_remove(struct scheduler *s, struct source *src)
{
    size_t i = src->heap_index;
    if (i == SIZE_MAX)
        return;
    s->heap_len--;
    if (i != s->heap_len) {
        s->heap[i] = s->heap[s->heap_len];
        s->heap[i]->heap_index = i;
        heap_down(s, i);
        heap_up(s, i);
    }
    src->heap_index = SIZE_MAX;
}

/* Change a waiting source's due time. */
static void reschedule(struct scheduler *s, struct source *src, int64_t due)
{
    src->due = due;
    if (src->heap_index == SIZE_MAX)
        return;
    heap_down(s, src->heap_index);
    heap_up(s, src->heap_index);
}

/* ---- helpers ---- */

static double rand_unit(struct scheduler *s)
{
    return (double)rand_r(&s->rng) / ((double)RAND_MAX + 1.0);
}

static int64_t jitter_of(struct scheduler *s, int64_t interval)
{
    if (s->opts.jitter <= 0)
        return 0;
    return (int64_t)((double)interval * s->opts.jitter * rand_unit(s));
}

static void source_free(void *p)
{
    struct source *src = p;
    if (!src)
        return;
    for (size_t i = 0; i < src->nsubs; i++) {
        free(src->subs[i].stream);
        free(src->subs[i].tag);
    }
    free(src->subs);
    free(src->key);
    free(src->ref);
    free(src->registry);
    free(src->digest);
    json_decref(src->children);
    free(src->reason);
    free(src->message);
    free(src);
}

static struct registry_limits *registry_get(struct scheduler *s, const char *host)
{
    struct registry_limits *r = strmap_get(s->registries, host);
    if (r)
        return r;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->rps = s->opts.requests_per_second;
    r->max_in_flight = s->opts.max_in_flight_per_registry;
    r->tokens = r->rps > 0 ? (r->rps < 1 ? 1 : r->rps) : 0;
    r->refilled_at = 0; /* first refill starts the clock */
    if (strmap_set(s->registries, host, r) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

static double registry_burst(const struct registry_limits *r)
{
    return r->rps < 1 ? 1 : r->rps;
}

static void registry_refill(struct registry_limits *r, int64_t now)
{
    if (r->refilled_at == 0)
        r->refilled_at = now;
    if (r->rps <= 0 || now <= r->refilled_at)
        return;
    r->tokens += (double)(now - r->refilled_at) / (double)NS_PER_SEC * r->rps;
    if (r->tokens > registry_burst(r))
        r->tokens = registry_burst(r);
    r->refilled_at = now;
}

static int64_t min_interval(const struct source *src)
{
    int64_t m = INT64_MAX;
    for (size_t i = 0; i < src->nsubs; i++) {
        if (src->subs[i].interval_ns < m)
            m = src->subs[i].interval_ns;
    }
    return m;
}

/* The keys of the sources a stream subscribes to: a NULL-terminated malloc'd array. */
static void strv_free(void *p)
{
    char **v = p;
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* ---- lifecycle ---- */

int scheduler_new(const struct scheduler_opts *opts, struct scheduler **out)
{
    struct scheduler *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (opts)
        s->opts = *opts;
    if (s->opts.max_in_flight <= 0)
        s->opts.max_in_flight = 32;
    if (s->opts.max_in_flight_per_registry <= 0)
        s->opts.max_in_flight_per_registry = 8;
    if (s->opts.max_backoff_ns <= 0)
        s->opts.max_backoff_ns = 300 * NS_PER_SEC;
    if (s->opts.jitter == 0)
        s->opts.jitter = 0.1;
    s->rng = s->opts.seed ? s->opts.seed : (unsigned)time_mono_ns();
    s->sources = strmap_new(source_free);
    s->registries = strmap_new(free);
    s->streams = strmap_new(strv_free);
    if (!s->sources || !s->registries || !s->streams) {
        scheduler_free(s);
        return -ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

void scheduler_free(struct scheduler *s)
{
    if (!s)
        return;
    strmap_free(s->sources);
    strmap_free(s->registries);
    strmap_free(s->streams);
    free(s->heap);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int scheduler_set_registry_limits(struct scheduler *s, const char *registry, double rps,
                                  int max_in_flight)
{
    pthread_mutex_lock(&s->lock);
    struct registry_limits *r = registry_get(s, registry);
    if (r) {
        double new_rps = rps > 0 ? rps : 0;
        if (new_rps != r->rps)
            r->tokens = new_rps > 0 ? (new_rps < 1 ? 1 : new_rps) : 0; /* a full bucket */
        r->rps = new_rps;
        r->max_in_flight = max_in_flight > 0 ? max_in_flight : s->opts.max_in_flight_per_registry;
        r->overridden = true;
        if (r->tokens > registry_burst(r))
            r->tokens = registry_burst(r);
    }
    pthread_mutex_unlock(&s->lock);
    return r ? 0 : -ENOMEM;
}

void scheduler_set_defaults(struct scheduler *s, int max_in_flight, int max_in_flight_per_registry,
                            double rps)
{
    pthread_mutex_lock(&s->lock);
    if (max_in_flight > 0)
        s->opts.max_in_flight = max_in_flight;
    if (max_in_flight_per_registry > 0)
        s->opts.max_in_flight_per_registry = max_in_flight_per_registry;
    if (rps >= 0)
        s->opts.requests_per_second = rps;
    struct strmap_iter it = {0};
    void *v;
    while (strmap_next(s->registries, &it, NULL, &v)) {
        struct registry_limits *r = v;
        if (r->overridden)
            continue;
        r->max_in_flight = s->opts.max_in_flight_per_registry;
        if (r->rps != s->opts.requests_per_second)
            r->tokens = registry_burst(r);
        r->rps = s->opts.requests_per_second;
    }
    pthread_mutex_unlock(&s->lock);
}

void scheduler_clear_registry_limits(struct scheduler *s)
{
    pthread_mutex_lock(&s->lock);
    struct strmap_iter it = {0};
    void *v;
    while (strmap_next(s->registries, &it, NULL, &v)) {
        struct registry_limits *r = v;
        if (!r->overridden)
            continue;
        r->rps = s->opts.requests_per_second;
        r->max_in_flight = s->opts.max_in_flight_per_registry;
        r->overridden = false;
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- subscriptions ---- */

/* Remove every subscription of `stream` from `src`. */
static size_t source_drop_stream(struct source *src, const char *stream)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < src->nsubs; i++) {
        if (strcmp(src->subs[i].stream, stream) == 0) {
            free(src->subs[i].stream);
            free(src->subs[i].tag);
            dropped++;
        } else {
            src->subs[kept++] = src->subs[i];
        }
    }
    src->nsubs = kept;
    return dropped;
}

/* Drop a source that has no subscribers left (kept while in flight: complete frees it). */
static void source_drop_if_empty(struct scheduler *s, const char *key)
{
    struct source *src = strmap_get(s->sources, key);
    if (!src || src->nsubs > 0)
        return;
    heap_remove(s, src);
    if (!src->in_flight)
        strmap_remove(s->sources, key);
}
static struct source *source_get_or_create(struct scheduler *s, const struct scheduler_sub *sub,
                                           int64_t now, bool *created)
{
    struct source *src = strmap_get(s->sources, sub->source_key);
    *created = false;
    if (src)
        return src;
    src = calloc(1, sizeof(*src));
    if (!src)
        return NULL;
    src->key = strdup(sub->source_key);
    src->ref = strdup(sub->ref);
    src->registry = strdup(sub->registry ? sub->registry : "");
    src->insecure = sub->insecure;
    src->heap_index = SIZE_MAX;
    src->interval_ns = sub->interval_ns;
    src->due = now + jitter_of(s, sub->interval_ns);
    if (!src->key || !src->ref || !src->registry || strmap_set(s->sources, src->key, src) < 0) {
        source_free(src);
        return NULL;
    }
    *created = true;
    return src;
}

static int add_sub(struct scheduler *s, const char *stream, const struct scheduler_sub *sub,
                   int64_t now)
{
    bool created;
    struct source *src = source_get_or_create(s, sub, now, &created);
    if (!src)
        return -ENOMEM;
    struct sub *arr = realloc(src->subs, (src->nsubs + 1) * sizeof(*arr));
    if (!arr)
        return -ENOMEM;
    src->subs = arr;
    arr[src->nsubs].stream = strdup(stream);
    arr[src->nsubs].tag = strdup(sub->tag);
    arr[src->nsubs].interval_ns = sub->interval_ns;
    if (!arr[src->nsubs].stream || !arr[src->nsubs].tag) {
        free(arr[src->nsubs].stream);
        free(arr[src->nsubs].tag);
        return -ENOMEM;
    }
    src->nsubs++;
    s->nsubs++;
    if (created)
        return heap_push(s, src);
    return 0;
}

int scheduler_set_stream(struct scheduler *s, const char *stream_key,
                         const struct scheduler_sub *subs, size_t n, int64_t now)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    /* Remove the stream's old subscriptions but keep their sources until the new ones are in:
     * a source the stream still uses keeps its schedule and its last observation. */
    char **old = strmap_take(s->streams, stream_key);
    for (size_t i = 0; old && old[i]; i++) {
        struct source *src = strmap_get(s->sources, old[i]);
        if (src)
            s->nsubs -= source_drop_stream(src, stream_key);
    }
    char **keys = n ? calloc(n + 1, sizeof(char *)) : NULL;
    if (n && !keys)
        rc = -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = add_sub(s, stream_key, &subs[i], now);
        if (rc == 0 && !(keys[i] = strdup(subs[i].source_key)))
            rc = -ENOMEM;
    }
    if (keys && strmap_set(s->streams, stream_key, keys) < 0) {
        strv_free(keys);
        rc = -ENOMEM;
    }
    /* Sources whose fastest subscriber changed: bring a faster one forward; a slower one
     * keeps its due time and uses the new interval from its next completion. */
    for (size_t i = 0; i < n; i++) {
        struct source *src = strmap_get(s->sources, subs[i].source_key);
        if (!src)
            continue;
        int64_t iv = min_interval(src);
        if (iv < src->interval_ns && !src->in_flight && src->failures == 0 && src->due > now + iv)
            reschedule(s, src, now + iv - jitter_of(s, iv));
        src->interval_ns = iv;
    }
    for (size_t i = 0; old && old[i]; i++) {
        struct source *src = strmap_get(s->sources, old[i]);
        if (src && src->nsubs > 0)
            src->interval_ns = min_interval(src);
        source_drop_if_empty(s, old[i]);
    }
    strv_free(old);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- polling ---- */

void scheduler_poll_clear(struct scheduler_poll *p)
{
    free(p->source_key);
    free(p->ref);
    free(p->registry);
    free(p->ns);
    memset(p, 0, sizeof(*p));
}

static char *namespace_of(const char *stream)
{
    const char *slash = strchr(stream, '/');
    return slash ? strndup(stream, (size_t)(slash - stream)) : strdup(stream);
}

size_t scheduler_take_due(struct scheduler *s, int64_t now, struct scheduler_poll *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    while (n < max && s->heap_len > 0 && s->heap[0]->due <= now &&
           s->in_flight < s->opts.max_in_flight) {
        struct source *src = s->heap[0];
        struct registry_limits *r = registry_get(s, src->registry);
        if (!r)
            break;
        if (r->in_flight >= r->max_in_flight) {
            reschedule(s, src, now + RETRY_BUSY_NS);
            continue;
        }
        registry_refill(r, now);
        if (r->rps > 0 && r->tokens < 1) {
            int64_t wait = (int64_t)((1 - r->tokens) / r->rps * (double)NS_PER_SEC) + 1;
            reschedule(s, src, now + wait);
            continue;
        }
        struct scheduler_poll *p = &out[n];
        p->source_key = strdup(src->key);
        p->ref = strdup(src->ref);
        p->registry = strdup(src->registry);
        p->ns = src->nsubs ? namespace_of(src->subs[0].stream) : strdup("");
        p->insecure = src->insecure;
        if (!p->source_key || !p->ref || !p->registry || !p->ns) {
            scheduler_poll_clear(p);
            break;
        }
        if (r->rps > 0)
            r->tokens -= 1;
        r->in_flight++;
        s->in_flight++;
        src->in_flight = true;
        heap_remove(s, src);
        n++;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int64_t backoff_delay(const struct scheduler *s, const struct source *src)
{
    int64_t cap =
        src->interval_ns > s->opts.max_backoff_ns ? src->interval_ns : s->opts.max_backoff_ns;
    int64_t d = src->interval_ns;
    for (int i = 0; i < src->failures && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
}

int scheduler_complete(struct scheduler *s, const char *source_key, int64_t now,
                       const struct scheduler_result *res)
{
    int flags = 0;
    pthread_mutex_lock(&s->lock);
    struct source *src = strmap_get(s->sources, source_key);
    if (!src || !src->in_flight) {
        pthread_mutex_unlock(&s->lock);
        return 0; /* not handed out by take_due: a caller bug, ignored */
    }
    s->in_flight--;
    struct registry_limits *r = registry_get(s, src->registry);
    if (r && r->in_flight > 0)
        r->in_flight--;
    src->in_flight = false;
    if (src->nsubs == 0) {
        strmap_remove(s->sources, source_key); /* lost its subscribers while in flight */
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    src->last_poll_real = time_real_ns();
    if (res->ok) {
        bool changed = !src->digest || !res->digest || strcmp(src->digest, res->digest) != 0;
        if (changed) {
            src->last_change_real = src->last_poll_real;
            src->last_change_mono = now;
            flags |= SCHEDULER_CHANGED;
        }
        if (src->failures > 0)
            flags |= SCHEDULER_RECOVERED;
        set_str(&src->digest, res->digest);
        json_decref(src->children);
        src->children = res->children ? jsonx_dup(res->children) : NULL;
        set_str(&src->reason, NULL);
        set_str(&src->message, NULL);
        src->failures = 0;
        src->backoff_until = 0;
        src->due = now + src->interval_ns - jitter_of(s, src->interval_ns);
    } else {
        if (src->failures == 0 || !src->reason || !res->reason ||
            strcmp(src->reason, res->reason) != 0)
            flags |= SCHEDULER_FIRST_FAILURE;
        src->failures++;
        set_str(&src->reason, res->reason);
        set_str(&src->message, res->message);
        int64_t d = backoff_delay(s, src);
        if (res->retry_after_ns > d)
            d = res->retry_after_ns;
        src->backoff_until = now + d;
        src->due = now + d;
    }
    heap_push(s, src);
    pthread_mutex_unlock(&s->lock);
    return flags;
}

void scheduler_spread(struct scheduler *s, int64_t now)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->heap_len; i++) {
        struct source *src = s->heap[i];
        int64_t due = now + jitter_of(s, src->interval_ns);
        if (src->failures == 0 || due > src->due)
            src->due = due;
    }
    /* Rebuild the heap order after changing many keys. */
    for (size_t i = s->heap_len / 2 + 1; i-- > 0;)
        heap_down(s, i);
    pthread_mutex_unlock(&s->lock);
}

int64_t scheduler_next_due(struct scheduler *s)
{
    pthread_mutex_lock(&s->lock);
    int64_t due = s->heap_len ? s->heap[0]->due : INT64_MAX;
    pthread_mutex_unlock(&s->lock);
    return due;
}

int scheduler_observation(struct scheduler *s, const char *source_key, char **digest,
                          json_t **children, int64_t *seen_at)
{
    int rc = -ENOENT;
    *digest = NULL;
    *children = NULL;
    pthread_mutex_lock(&s->lock);
    struct source *src = strmap_get(s->sources, source_key);
    if (src && src->digest) {
        *digest = strdup(src->digest);
        *children = json_incref(src->children); /* never modified once stored */
        if (seen_at)
            *seen_at = src->last_change_mono;
        rc = *digest ? 0 : -ENOMEM;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static bool array_has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

json_t *scheduler_subscribers(struct scheduler *s, const char *source_key)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&s->lock);
    struct source *src = strmap_get(s->sources, source_key);
    for (size_t i = 0; arr && src && i < src->nsubs; i++) {
        if (!array_has_string(arr, src->subs[i].stream))
            json_array_append_new(arr, json_string(src->subs[i].stream));
    }
    pthread_mutex_unlock(&s->lock);
    return arr;
}

void scheduler_get_stats(struct scheduler *s, struct scheduler_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    struct strmap_iter it = {0};
    void *v;
    while (strmap_next(s->sources, &it, NULL, &v)) {
        struct source *src = v;
        if (src->nsubs == 0)
            continue;
        out->sources++;
        if (src->failures > 0)
            out->backoffs++;
    }
    out->tags = s->nsubs;
    out->in_flight = (size_t)s->in_flight;
    pthread_mutex_unlock(&s->lock);
}

static json_t *time_or_null(int64_t real_ns)
{
    return real_ns <= 0 ? json_null() : jsonx_time(real_ns);
}

static json_t *opt_string(const char *v)
{
    return v ? json_string(v) : json_null();
}

static const char *source_state(const struct source *src, int64_t now)
{
    if (src->in_flight && !src->digest && !src->failures)
        return "Pending";
    if (src->failures > 0)
        return src->backoff_until > now ? "BackingOff" : "Failing";
    return src->digest ? "UpToDate" : "Pending";
}

static json_t *source_json(const struct source *src, int64_t now, int64_t now_real)
{
    char iv[32];
    json_t *tags = json_array();
    for (size_t i = 0; tags && i < src->nsubs; i++) {
        const char *stream = src->subs[i].stream, *slash = strchr(stream, '/');
        if (!slash)
            continue;
        json_array_append_new(tags, json_pack("{s:s%,s:s,s:s}", "namespace", stream,
                                              (size_t)(slash - stream), "imageStream", slash + 1,
                                              "tag", src->subs[i].tag));
    }
    int64_t due = src->in_flight ? now : src->due;
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:o}", "source", src->ref, "registry",
        src->registry, "interval", duration_format(src->interval_ns, iv, sizeof(iv)), "state",
        source_state(src, now), "reason", opt_string(src->reason), "message",
        opt_string(src->message), "lastPoll", time_or_null(src->last_poll_real), "lastDigest",
        opt_string(src->digest), "lastChange", time_or_null(src->last_change_real), "nextDue",
        time_or_null(now_real + (due - now)), "backoffUntil",
        time_or_null(src->backoff_until > now ? now_real + (src->backoff_until - now) : 0),
        "consecutiveFailures", src->failures, "tags", tags);
}

json_t *scheduler_snapshot(struct scheduler *s, int64_t now, int64_t now_real)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&s->lock);
    struct strmap_iter it = {0};
    void *v;
    while (arr && strmap_next(s->sources, &it, NULL, &v)) {
        struct source *src = v;
        if (src->nsubs > 0)
            json_array_append_new(arr, source_json(src, now, now_real));
    }
    pthread_mutex_unlock(&s->lock);
    return arr;
}
