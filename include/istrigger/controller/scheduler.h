/*
 * scheduler.h - when to poll which external image, at the lowest cost to the registries.
 *
 * Tracked tags SUBSCRIBE to a SOURCE: one external reference polled with one set of
 * credentials and one TLS setting (DESIGN.md, "How an import happens", step 1). Two hundred
 * tags following the same twenty images cost twenty polls per interval, not two hundred. A
 * source is polled at the shortest interval of its subscribers.
 *
 * Sources wait in ONE timer heap ordered by due time (no timer per tag). scheduler_take_due()
 * hands out the sources that are due, bounded by:
 *   - a global limit of polls in flight;
 *   - per registry host: a limit of polls in flight and a token bucket (requests per second),
 *     so one slow or limited registry only delays its own sources;
 * and scheduler_complete() puts a source back: after a success at interval minus a random
 * jitter (up to `jitter` of the interval, so the interval is a promise and load is spread);
 * after a failure with exponential backoff per source (interval * 2^failures, capped at
 * max(interval, max_backoff)), never earlier than the registry's Retry-After.
 *
 * The last observation of each source (digest, index children, error) is kept for the sync
 * controller's level-based decisions and for the status page.
 *
 * Thread-safe: one mutex guards everything (the poller thread takes and completes, reconcile
 * workers set subscriptions, the HTTP threads read snapshots). Times are CLOCK_MONOTONIC ns
 * passed by the caller, so tests drive a virtual clock.
 */
#ifndef ISTRIGGER_CONTROLLER_SCHEDULER_H
#define ISTRIGGER_CONTROLLER_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scheduler;

struct scheduler_opts {
    int max_in_flight;              /* all registries together; 0: 32 */
    int max_in_flight_per_registry; /* 0: 8 */
    double requests_per_second;     /* default per registry; 0: unlimited */
    int64_t max_backoff_ns;         /* cap of the error backoff; 0: 5 minutes */
    double jitter;                  /* fraction of the interval; 0: 0.1; < 0: none */
    unsigned seed;                  /* jitter PRNG seed; 0: from the clock */
};

/* One subscription of a stream's tag. Strings borrowed for the call. */
struct scheduler_sub {
    const char *tag;
    const char *source_key; /* identity of the poll: reference + credentials + TLS settings */
    const char *ref;        /* the reference to poll ("host/repo:tag") */
    const char *registry;   /* registry host, for the per-registry limits */
    bool insecure;
    int64_t interval_ns;
};

/* A poll handed out by scheduler_take_due. Strings owned (scheduler_poll_clear). */
struct scheduler_poll {
    char *source_key;
    char *ref;
    char *registry;
    char *ns; /* namespace of a subscriber, whose pull secrets give the credentials */
    bool insecure;
};
void scheduler_poll_clear(struct scheduler_poll *p);

/* The result of a poll, given back with scheduler_complete. Borrowed for the call. */
struct scheduler_result {
    bool ok;
    const char *digest;     /* ok: digest of what the registry serves (index or manifest) */
    const json_t *children; /* ok: index entries or NULL */
    const char *reason;     /* !ok: short reason ("Unauthorized", "TooManyRequests", ...) */
    const char *message;    /* !ok: the registry client's message */
    int64_t retry_after_ns; /* !ok: the registry's Retry-After, 0 when none */
};

int scheduler_new(const struct scheduler_opts *opts, struct scheduler **out);
void scheduler_free(struct scheduler *s);

/* Per-registry limits overriding the defaults (rps 0: unlimited; max_in_flight 0: default).
 * Applies at once. 0 or -ENOMEM. */
int scheduler_set_registry_limits(struct scheduler *s, const char *registry, double rps,
                                  int max_in_flight);
/* Change the global in-flight limit and the per-registry defaults (values <= 0 keep the
 * current one; rps < 0 keeps, 0 means unlimited). Applies at once. */
void scheduler_set_defaults(struct scheduler *s, int max_in_flight, int max_in_flight_per_registry,
                            double rps);

/* Forget every per-registry override (before re-applying a new configuration). */
void scheduler_clear_registry_limits(struct scheduler *s);

/* Replace all subscriptions of stream `stream_key` ("ns/name") by `subs` (n may be 0 to drop
 * the stream). New sources are first due within the jitter window from `now`; a source whose
 * interval shrank is brought forward. Sources left without subscribers are dropped. 0 or
 * -ENOMEM. */
int scheduler_set_stream(struct scheduler *s, const char *stream_key,
                         const struct scheduler_sub *subs, size_t n, int64_t now);

/* Hand out up to `max` due sources (marked in flight) into `out`; returns how many. */
size_t scheduler_take_due(struct scheduler *s, int64_t now, struct scheduler_poll *out, size_t max);

/* Flags returned by scheduler_complete. */
#define SCHEDULER_CHANGED       1 /* new digest (or first observation): re-examine subscribers */
#define SCHEDULER_FIRST_FAILURE 2 /* first failure after success, or a different reason */
#define SCHEDULER_RECOVERED     4 /* success after failures */

/* A poll handed out by take_due finished. Reschedules the source (see above) and records the
 * observation. Returns SCHEDULER_* flags (0 when nothing noteworthy). */
int scheduler_complete(struct scheduler *s, const char *source_key, int64_t now,
                       const struct scheduler_result *r);

/* Spread every waiting source over its jitter window from `now` (after a leader takeover,
 * so the new leader does not poll everything at once). */
void scheduler_spread(struct scheduler *s, int64_t now);

/* Monotonic time of the next due source (INT64_MAX when none waits). */
int64_t scheduler_next_due(struct scheduler *s);

/* Last successful observation of the source: digest (malloc'd), children (NEW ref or NULL)
 * and the monotonic time that digest was first seen (may be NULL). 0, or -ENOENT when the
 * source is unknown or not yet polled successfully. */
int scheduler_observation(struct scheduler *s, const char *source_key, char **digest,
                          json_t **children, int64_t *seen_at);

/* The streams subscribed to a source, as a NEW JSON array of unique "ns/name" strings. */
json_t *scheduler_subscribers(struct scheduler *s, const char *source_key);

struct scheduler_stats {
    size_t tags;      /* subscriptions */
    size_t sources;   /* unique sources */
    size_t in_flight; /* polls in flight */
    size_t backoffs;  /* sources whose last poll failed */
};
void scheduler_get_stats(struct scheduler *s, struct scheduler_stats *out);

/* Per-source view in the shape of the status page's "sources" provider (http/status.h): a NEW
 * array of {source, registry, interval, state, reason, message, lastPoll, lastDigest,
 * lastChange, nextDue, backoffUntil, consecutiveFailures, tags[{namespace, imageStream, tag}]}.
 * `now` monotonic and `now_real` wall-clock, to show due times as RFC 3339. */
json_t *scheduler_snapshot(struct scheduler *s, int64_t now, int64_t now_real);

#endif
