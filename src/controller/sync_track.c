/*
 * sync_track.c - which tags of an ImageStream istrigger polls, and how often.
 *
 * The contract is the one users see (DESIGN.md, "ImageStream annotations"):
 *   - only importable tags count: from.kind DockerImage and not reference: true (reference
 *     §1.1, OCM's tagImportable); tags pinned to a digest never move, so they are not polled;
 *   - `istrigger.io/poll-interval` on the stream applies to every importable tag, the same
 *     annotation on spec.tags[].annotations overrides it for that tag;
 *   - `istrigger.io/enabled: "false"` on the stream or the tag opts out (the tag wins, so a
 *     tag can opt back in with "true");
 *   - a tag with importPolicy.scheduled and no interval is adopted at the default interval
 *     when adoption is on;
 *   - intervals below the minimum are raised to it, invalid values are ignored; both produce a
 *     warning for a Warning event, and the rest of the stream is tracked as usual.
 */
#include "istrigger/controller/sync.h"

#include "istrigger/util/duration.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int add_warning(struct sync_stream_tracking *t, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_warning(struct sync_stream_tracking *t, const char *reason, const char *fmt, ...)
{
    struct sync_warning *w = realloc(t->warnings, (t->nwarnings + 1) * sizeof(*w));
    if (!w)
        return -ENOMEM;
    t->warnings = w;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    w[t->nwarnings].reason = strdup(reason);
    w[t->nwarnings].message = msg;
    if (!w[t->nwarnings].reason) {
        free(msg);
        return -ENOMEM;
    }
    t->nwarnings++;
    return 0;
}

/* "where" for messages: "on the stream" or "on tag X". */
static void describe_where(const char *tag, char *buf, size_t size)
{
    if (tag)
        snprintf(buf, size, "on tag %s", tag);
    else
        snprintf(buf, size, "on the stream");
}

/* Parse an `enabled` annotation: 1 true, 0 false, -1 absent or invalid (warned). */
static int parse_enabled(struct sync_stream_tracking *t, const json_t *annotations, const char *tag,
                         int *rc)
{
    const char *v = jsonx_str(annotations, SYNC_ANN_ENABLED);
    if (!v)
        return -1;
    if (strcmp(v, "true") == 0)
        return 1;
    if (strcmp(v, "false") == 0)
        return 0;
    char where[300];
    describe_where(tag, where, sizeof(where));
    *rc = add_warning(t, SYNC_REASON_INVALID_ANN,
                      "invalid value \"%s\" of annotation %s %s: expected \"true\" or \"false\"; "
                      "ignored",
                      v, SYNC_ANN_ENABLED, where);
    return -1;
}

/* Parse a poll-interval annotation: the interval in ns, 0 when absent or invalid (warned). */
static int64_t parse_interval(struct sync_stream_tracking *t, const json_t *annotations,
                              const char *tag, int *rc)
{
    const char *v = jsonx_str(annotations, SYNC_ANN_POLL_INTERVAL);
    if (!v)
        return 0;
    int64_t ns = 0;
    char where[300];
    describe_where(tag, where, sizeof(where));
    if (duration_parse(v, &ns) < 0 || ns <= 0) {
        *rc = add_warning(t, SYNC_REASON_INVALID_ANN,
                          "invalid value \"%s\" of annotation %s %s: expected a positive "
                          "duration such as 30s, 5m or 1h30m; ignored",
                          v, SYNC_ANN_POLL_INTERVAL, where);
        return 0;
    }
    return ns;
}

static bool from_is_digest(const char *from)
{
    return strchr(from, '@') != NULL;
}

/* status.tags[name==tag].items[0].image, or NULL. Borrowed. */
static const char *status_image(const json_t *is, const char *tag)
{
    json_t *st = jsonx_array_find(jsonx_get(is, "status", "tags"), "tag", tag, NULL);
    json_t *items = jsonx_get(st, "items");
    if (!json_is_array(items) || json_array_size(items) == 0)
        return NULL;
    const char *img = jsonx_str(json_array_get(items, 0), "image");
    return img && *img ? img : NULL;
}

static void tracked_tag_clear(struct sync_tracked_tag *tt)
{
    free(tt->tag);
    free(tt->from);
    free(tt->prefer_arch);
    free(tt->prefer_os);
    free(tt->current_image);
    memset(tt, 0, sizeof(*tt));
}

static int add_tracked(struct sync_stream_tracking *t, const json_t *is, const json_t *spec_tag,
                       const char *name, const char *from, int64_t interval,
                       enum sync_track_why why, bool stream_insecure)
{
    struct sync_tracked_tag *arr = realloc(t->tags, (t->ntags + 1) * sizeof(*arr));
    if (!arr)
        return -ENOMEM;
    t->tags = arr;
    struct sync_tracked_tag *tt = &arr[t->ntags];
    memset(tt, 0, sizeof(*tt));
    const json_t *ann = jsonx_get(spec_tag, "annotations");
    const char *mode = jsonx_str(spec_tag, "importPolicy", "importMode");
    tt->tag = strdup(name);
    tt->from = strdup(from);
    tt->interval_ns = interval;
    tt->why = why;
    tt->insecure = stream_insecure || jsonx_bool(spec_tag, false, "importPolicy", "insecure");
    tt->mode = (mode && strcmp(mode, "PreserveOriginal") == 0) ? SYNC_IMPORT_PRESERVE_ORIGINAL
                                                               : SYNC_IMPORT_LEGACY;
    tt->prefer_arch = dup_or_null(jsonx_str(ann, SYNC_ANN_PREFER_ARCH));
    tt->prefer_os = dup_or_null(jsonx_str(ann, SYNC_ANN_PREFER_OS));
    tt->current_image = dup_or_null(status_image(is, name));
    if (!tt->tag || !tt->from || (jsonx_str(ann, SYNC_ANN_PREFER_ARCH) && !tt->prefer_arch) ||
        (jsonx_str(ann, SYNC_ANN_PREFER_OS) && !tt->prefer_os)) {
        tracked_tag_clear(tt);
        return -ENOMEM;
    }
    t->ntags++;
    return 0;
}

static int track_tag(struct sync_stream_tracking *t, const json_t *is, const json_t *spec_tag,
                     const struct sync_settings *s, int stream_enabled, int64_t stream_interval,
                     bool stream_insecure)
{
    const char *name = jsonx_str(spec_tag, "name");
    const char *kind = jsonx_str(spec_tag, "from", "kind");
    const char *from = jsonx_str(spec_tag, "from", "name");
    if (!name || !kind || !from || strcmp(kind, "DockerImage") != 0 ||
        jsonx_bool(spec_tag, false, "reference") || from_is_digest(from))
        return 0;

    int rc = 0;
    const json_t *ann = jsonx_get(spec_tag, "annotations");
    int enabled = parse_enabled(t, ann, name, &rc);
    int64_t interval = parse_interval(t, ann, name, &rc);
    if (rc < 0)
        return rc;
    if (enabled < 0)
        enabled = stream_enabled;
    if (enabled == 0)
        return 0;

    enum sync_track_why why = SYNC_WHY_ANNOTATION;
    bool own_value = interval > 0;
    if (interval <= 0)
        interval = stream_interval;
    if (interval <= 0) {
        if (!s->adopt_scheduled || !jsonx_bool(spec_tag, false, "importPolicy", "scheduled"))
            return 0;
        why = SYNC_WHY_ADOPTED;
        interval = s->default_interval_ns;
    }
    if (interval < s->minimum_interval_ns) {
        /* Adopted tags use the configured default, which the config validation keeps above
         * the minimum; a user's own value is reported. Stream-level values are reported once
         * by the caller, not per tag. */
        if (why == SYNC_WHY_ANNOTATION && own_value) {
            char a[32], b[32];
            rc = add_warning(t, SYNC_REASON_INTERVAL_RAISED,
                             "%s=%s on tag %s is below the minimum interval %s; polling every %s",
                             SYNC_ANN_POLL_INTERVAL, jsonx_str(ann, SYNC_ANN_POLL_INTERVAL), name,
                             duration_format(s->minimum_interval_ns, a, sizeof(a)),
                             duration_format(s->minimum_interval_ns, b, sizeof(b)));
            if (rc < 0)
                return rc;
        }
        interval = s->minimum_interval_ns;
    }
    return add_tracked(t, is, spec_tag, name, from, interval, why, stream_insecure);
}

int sync_track_stream(const json_t *is, const struct sync_settings *s,
                      struct sync_stream_tracking *out)
{
    memset(out, 0, sizeof(*out));
    const char *ns = jsonx_str(is, "metadata", "namespace");
    const char *name = jsonx_str(is, "metadata", "name");
    if (!ns || !name)
        return err_set(-EINVAL, "ImageStream without metadata.name/namespace");
    out->ns = strdup(ns);
    out->name = strdup(name);
    out->uid = dup_or_null(jsonx_str(is, "metadata", "uid"));
    out->resource_version = dup_or_null(jsonx_str(is, "metadata", "resourceVersion"));
    if (!out->ns || !out->name)
        return -ENOMEM;

    int rc = 0;
    const json_t *ann = jsonx_get(is, "metadata", "annotations");
    int enabled = parse_enabled(out, ann, NULL, &rc);
    int64_t interval = parse_interval(out, ann, NULL, &rc);
    if (rc < 0)
        return rc;
    if (interval > 0 && interval < s->minimum_interval_ns) {
        char a[32];
        rc = add_warning(out, SYNC_REASON_INTERVAL_RAISED,
                         "%s=%s on the stream is below the minimum interval %s; polling every %s",
                         SYNC_ANN_POLL_INTERVAL, jsonx_str(ann, SYNC_ANN_POLL_INTERVAL),
                         duration_format(s->minimum_interval_ns, a, sizeof(a)), a);
        if (rc < 0)
            return rc;
    }
    const char *insecure_ann = jsonx_str(ann, SYNC_ANN_INSECURE_REPO);
    bool insecure = insecure_ann && strcmp(insecure_ann, "true") == 0;

    size_t i;
    json_t *spec_tag;
    json_array_foreach (jsonx_get(is, "spec", "tags"), i, spec_tag) {
        rc = track_tag(out, is, spec_tag, s, enabled < 0 ? 1 : enabled, interval, insecure);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void sync_stream_tracking_clear(struct sync_stream_tracking *t)
{
    for (size_t i = 0; i < t->ntags; i++)
        tracked_tag_clear(&t->tags[i]);
    for (size_t i = 0; i < t->nwarnings; i++) {
        free(t->warnings[i].reason);
        free(t->warnings[i].message);
    }
    free(t->tags);
    free(t->warnings);
    free(t->ns);
    free(t->name);
    free(t->uid);
    free(t->resource_version);
    memset(t, 0, sizeof(*t));
}

const struct sync_tracked_tag *sync_tracking_find(const struct sync_stream_tracking *t,
                                                  const char *tag)
{
    for (size_t i = 0; i < t->ntags; i++) {
        if (strcmp(t->tags[i].tag, tag) == 0)
            return &t->tags[i];
    }
    return NULL;
}
