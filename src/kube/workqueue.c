/*
 * workqueue.c - rate-limited, deduplicating work queue with its own workers (workqueue.h).
 *
 * One mutex (`lock`) guards everything in the struct below it; one condition variable wakes
 * idle workers when a key becomes ready, a delayed key comes due, or shutdown begins. The
 * sets are jansson objects used as string-keyed hash tables (they are never serialised):
 *   dirty      keys queued or re-added while processing (value null)
 *   processing keys a worker holds right now
 *   failures   key -> consecutive failures (integer)
 *   waiting    key -> due time (integer, monotonic ns) of its earliest delayed add
 * plus a FIFO ring of ready keys and a binary min-heap of delayed entries. A heap entry whose
 * due time no longer matches `waiting` is stale (a sooner add replaced it) and is skipped.
 * Idle workers sleep until the heap's first due time, so delays need no extra thread.
 */
#include "istrigger/kube/workqueue.h"

#include "istrigger/util/err.h"
#include "istrigger/util/log.h"
#include "istrigger/util/timeutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct delayed {
    int64_t due;
    char *key;
};

struct workqueue {
    char *name;
    workqueue_reconcile_fn reconcile;
    void *ctx;
    int nworkers;
    pthread_t *threads;
    int started;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    char **fifo; /* ring buffer of owned keys */
    size_t head, len, cap;
    json_t *dirty, *processing, *failures, *waiting;
    struct delayed *heap;
    size_t nheap, heapcap;
    bool shutting_down;
    int64_t base_ns, max_ns;
    struct workqueue_stats stats;
};

int workqueue_new(const char *name, workqueue_reconcile_fn reconcile, void *ctx, int nworkers,
                  struct workqueue **out)
{
    struct workqueue *q = calloc(1, sizeof(*q));
    pthread_condattr_t ca;

    *out = NULL;
    if (!q)
        return err_set(-ENOMEM, "out of memory");
    q->name = strdup(name ? name : "queue");
    q->reconcile = reconcile;
    q->ctx = ctx;
    q->nworkers = nworkers > 0 ? nworkers : 1;
    q->base_ns = 5 * NS_PER_MS;
    q->max_ns = 1000 * NS_PER_SEC;
    q->dirty = json_object();
    q->processing = json_object();
    q->failures = json_object();
    q->waiting = json_object();
    q->threads = calloc((size_t)q->nworkers, sizeof(pthread_t));
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!q->name || !q->dirty || !q->processing || !q->failures || !q->waiting || !q->threads) {
        workqueue_free(q);
        return err_set(-ENOMEM, "out of memory");
    }
    *out = q;
    return 0;
}

void workqueue_set_backoff(struct workqueue *q, int64_t base_ns, int64_t max_ns)
{
    pthread_mutex_lock(&q->lock);
    if (base_ns > 0)
        q->base_ns = base_ns;
    if (max_ns > 0)
        q->max_ns = max_ns;
    pthread_mutex_unlock(&q->lock);
}

/* ---- FIFO and heap (lock held) ---- */

static int fifo_push(struct workqueue *q, const char *key)
{
    char *k = strdup(key);

    if (!k)
        return -ENOMEM;
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        char **n = malloc(ncap * sizeof(*n));
        if (!n) {
            free(k);
            return -ENOMEM;
        }
        for (size_t i = 0; i < q->len; i++)
            n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->fifo[(q->head + q->len) % q->cap] = k;
    q->len++;
    return 0;
}

static char *fifo_pop(struct workqueue *q)
{
    char *k = q->fifo[q->head];

    q->head = (q->head + 1) % q->cap;
    q->len--;
    return k;
}

static void heap_swap(struct workqueue *q, size_t a, size_t b)
{
    struct delayed t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
}

static int heap_push(struct workqueue *q, int64_t due, const char *key)
{
    char *k = strdup(key);

    if (!k)
        return -ENOMEM;
    if (q->nheap == q->heapcap) {
        size_t ncap = q->heapcap ? q->heapcap * 2 : 64;
        struct delayed *n = realloc(q->heap, ncap * sizeof(*n));
        if (!n) {
            free(k);
            return -ENOMEM;
        }
        q->heap = n;
        q->heapcap = ncap;
    }
    size_t i = q->nheap++;
    q->heap[i] = (struct delayed){due, k};
    while (i > 0 && q->heap[(i - 1) / 2].due > q->heap[i].due) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

static struct delayed heap_pop(struct workqueue *q)
{
    struct delayed top = q->heap[0];
    size_t i = 0;

    q->heap[0] = q->heap[--q->nheap];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l].due < q->heap[m].due)
            m = l;
        if (r < q->nheap && q->heap[r].due < q->heap[m].due)
            m = r;
        if (m == i)
            break;
        heap_swap(q, i, m);
        i = m;
    }
    return top;
}

/* ---- adds (lock held) ---- */

static int add_locked(struct workqueue *q, const char *key)
{
    if (q->shutting_down)
        return -ECANCELED;
    if (json_object_get(q->dirty, key))
        return 0;
    if (json_object_set_new(q->dirty, key, json_null()) < 0)
        return -ENOMEM;
    q->stats.adds++;
    if (json_object_get(q->processing, key))
        return 0; /* requeued by done() when the current run ends */
    if (fifo_push(q, key) < 0) {
        json_object_del(q->dirty, key);
        return -ENOMEM;
    }
    pthread_cond_signal(&q->cond);
    return 0;
}

static int add_after_locked(struct workqueue *q, const char *key, int64_t delay_ns)
{
    int64_t due;
    json_t *w;

    if (q->shutting_down)
        return -ECANCELED;
    if (delay_ns <= 0)
        return add_locked(q, key);
    due = time_mono_ns() + delay_ns;
    w = json_object_get(q->waiting, key);
    if (w && json_integer_value(w) <= due)
        return 0; /* an earlier add is already pending */
    if (json_object_set_new(q->waiting, key, json_integer(due)) < 0 || heap_push(q, due, key) < 0)
        return -ENOMEM;
    pthread_cond_broadcast(&q->cond); /* a worker may need a shorter sleep */
    return 0;
}

static int64_t backoff_locked(struct workqueue *q, const char *key, bool count)
{
    json_t *f = json_object_get(q->failures, key);
    long long n = f ? json_integer_value(f) : 0;
    int64_t d = q->base_ns;

    if (count) {
        n++;
        json_object_set_new(q->failures, key, json_integer(n));
    }
    for (long long i = 1; i < n && d < q->max_ns; i++)
        d *= 2;
    return d < q->max_ns ? d : q->max_ns;
}

/* Give a failed add its message. */
static int queue_error(struct workqueue *q, int r)
{
    if (r == -ENOMEM)
        return err_set(r, "workqueue %s: out of memory", q->name);
    if (r == -ECANCELED)
        return err_set(r, "workqueue %s: shutting down", q->name);
    return r;
}

int workqueue_add(struct workqueue *q, const char *key)
{
    int r;

    pthread_mutex_lock(&q->lock);
    r = add_locked(q, key);
    pthread_mutex_unlock(&q->lock);
    return queue_error(q, r);
}

int workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ns)
{
    int r;

    pthread_mutex_lock(&q->lock);
    r = add_after_locked(q, key, delay_ns);
    pthread_mutex_unlock(&q->lock);
    return queue_error(q, r);
}

int workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
    int r;

    pthread_mutex_lock(&q->lock);
    r = add_after_locked(q, key, backoff_locked(q, key, true));
    pthread_mutex_unlock(&q->lock);
    return queue_error(q, r);
}

void workqueue_forget(struct workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    json_object_del(q->failures, key);
    pthread_mutex_unlock(&q->lock);
}

int workqueue_num_requeues(struct workqueue *q, const char *key)
{
    json_t *f;
    int n;

    pthread_mutex_lock(&q->lock);
    f = json_object_get(q->failures, key);
    n = f ? (int)json_integer_value(f) : 0;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t workqueue_len(struct workqueue *q)
{
    size_t n;

    pthread_mutex_lock(&q->lock);
    n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t workqueue_delayed_len(struct workqueue *q)
{
    size_t n;

    pthread_mutex_lock(&q->lock);
    n = json_object_size(q->waiting);
    pthread_mutex_unlock(&q->lock);
    return n;
}

void workqueue_get_stats(struct workqueue *q, struct workqueue_stats *out)
{
    pthread_mutex_lock(&q->lock);
    *out = q->stats;
    out->depth = q->len;
    out->in_progress = json_object_size(q->processing);
    pthread_mutex_unlock(&q->lock);
}

/* ---- workers ---- */

/* Move delayed keys that came due into the FIFO. Returns the next due time, or 0. */
static int64_t promote_due_locked(struct workqueue *q)
{
    int64_t now = time_mono_ns();

    while (q->nheap > 0 && q->heap[0].due <= now) {
        struct delayed d = heap_pop(q);
        json_t *w = json_object_get(q->waiting, d.key);
        if (w && json_integer_value(w) == d.due) {
            json_object_del(q->waiting, d.key);
            add_locked(q, d.key);
        }
        free(d.key);
    }
    return q->nheap > 0 ? q->heap[0].due : 0;
}

static void wait_locked(struct workqueue *q, int64_t until)
{
    struct timespec ts;

    if (!until) {
        pthread_cond_wait(&q->cond, &q->lock);
        return;
    }
    ts.tv_sec = until / NS_PER_SEC;
    ts.tv_nsec = until % NS_PER_SEC;
    pthread_cond_timedwait(&q->cond, &q->lock, &ts);
}

static void finish_locked(struct workqueue *q, const char *key, int r)
{
    json_object_del(q->processing, key);
    q->stats.processed++;
    if (r < 0)
        q->stats.failures++;
    if (!q->shutting_down) {
        if (r == 0) {
            json_object_del(q->failures, key);
        } else if (r > 0) {
            json_object_del(q->failures, key);
            add_after_locked(q, key, (int64_t)r * NS_PER_MS);
        } else {
            add_after_locked(q, key, backoff_locked(q, key, true));
        }
    }
    /* Added again while we processed it: now it may run (on any worker). */
    if (json_object_get(q->dirty, key) && !q->shutting_down) {
        if (fifo_push(q, key) == 0)
            pthread_cond_signal(&q->cond);
        else
            json_object_del(q->dirty, key);
    }
}

static void *worker_main(void *arg)
{
    struct workqueue *q = arg;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        int64_t next = promote_due_locked(q);
        if (q->shutting_down)
            break;
        if (q->len == 0) {
            wait_locked(q, next);
            continue;
        }
        char *key = fifo_pop(q);
        json_object_del(q->dirty, key);
        json_object_set_new(q->processing, key, json_null());
        pthread_mutex_unlock(&q->lock);

        int r = q->reconcile(q->ctx, key);
        if (r < 0)
            log_debug(key, "%s: reconcile failed (%s), will retry", q->name, err_name(r));

        pthread_mutex_lock(&q->lock);
        finish_locked(q, key, r);
        free(key);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int workqueue_start(struct workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->started || q->shutting_down) {
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nworkers; i++) {
        int e = pthread_create(&q->threads[i], NULL, worker_main, q);
        if (e) {
            workqueue_shutdown(q);
            return err_set(-e, "workqueue %s: starting worker: %s", q->name, strerror(e));
        }
        q->started++;
    }
    return 0;
}

void workqueue_shutdown(struct workqueue *q)
{
    int n;

    pthread_mutex_lock(&q->lock);
    q->shutting_down = true;
    pthread_cond_broadcast(&q->cond);
    n = q->started;
    q->started = 0;
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < n; i++)
        pthread_join(q->threads[i], NULL);
}

void workqueue_free(struct workqueue *q)
{
    if (!q)
        return;
    workqueue_shutdown(q);
    while (q->len)
        free(fifo_pop(q));
    for (size_t i = 0; i < q->nheap; i++)
        free(q->heap[i].key);
    free(q->heap);
    free(q->fifo);
    json_decref(q->dirty);
    json_decref(q->processing);
    json_decref(q->failures);
    json_decref(q->waiting);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q->threads);
    free(q->name);
    free(q);
}
