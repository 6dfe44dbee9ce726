/*
 * sync.h - the ImageStream sync controller: which tags istrigger tracks, whether a tag moved,
 * and the ImageStreamImport that tells OpenShift to import it.
 *
 * The pure parts (no network, no threads) are exported so they can be unit-tested:
 *
 *   sync_track_stream()    ImageStream JSON -> tracked tags + warnings (DESIGN.md, "ImageStream
 *                          annotations"): importable tags (from.kind DockerImage, not
 *                          reference, reference §1.1) annotated `istrigger.io/poll-interval` on
 *                          the stream or the tag (the tag wins), plus `importPolicy.scheduled`
 *                          tags at the default interval when adoption is on;
 *                          `istrigger.io/enabled: "false"` opts out.
 *   sync_expected_image()  the digest OpenShift would store for what the registry serves now
 *                          (reference §8.2: Legacy keeps one child of a manifest list,
 *                          PreserveOriginal keeps the index).
 *   sync_build_isi()       one ImageStreamImport for all changed tags of a stream (§3.1).
 *   sync_parse_isi_result() per-tag outcome of the reply; a 201 can carry failures (§3.2).
 *
 * The controller itself (sync_controller_start) lives in src/controller/sync_controller.c and is
 * started by the operator (operator.h).
 */
#ifndef ISTRIGGER_CONTROLLER_SYNC_H
#define ISTRIGGER_CONTROLLER_SYNC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_ANN_POLL_INTERVAL "istrigger.io/poll-interval"
#define SYNC_ANN_ENABLED       "istrigger.io/enabled"
#define SYNC_ANN_PREFER_ARCH   "importer.image.openshift.io/prefer-arch"
#define SYNC_ANN_PREFER_OS     "importer.image.openshift.io/prefer-os"
#define SYNC_ANN_INSECURE_REPO "openshift.io/image.insecureRepository"

/* Event reasons of the warnings sync_track_stream() reports. */
#define SYNC_REASON_INTERVAL_RAISED "PollIntervalRaised"
#define SYNC_REASON_INVALID_ANN     "InvalidAnnotation"

struct operator;

/* What tracking needs from the configuration (flags/env, or ImageTriggerConfig). */
struct sync_settings {
    int64_t default_interval_ns; /* adopted scheduled tags; 1m */
    int64_t minimum_interval_ns; /* anything lower is raised to it; 10s */
    bool adopt_scheduled;        /* adopt importPolicy.scheduled tags; true */
};

enum sync_import_mode { SYNC_IMPORT_LEGACY = 0, SYNC_IMPORT_PRESERVE_ORIGINAL };

/* The platform OpenShift's importer prefers in Legacy mode when the tag has no prefer-*
 * annotation: the apiserver's own GOOS/GOARCH, i.e. the control plane's (reference §8.2). */
struct sync_platform {
    const char *os;   /* "linux" */
    const char *arch; /* "amd64" */
};

/* Why a tag is tracked. */
enum sync_track_why { SYNC_WHY_ANNOTATION = 0, SYNC_WHY_ADOPTED };

/* One tracked spec tag. All strings owned by the enclosing struct sync_stream_tracking. */
struct sync_tracked_tag {
    char *tag;           /* spec.tags[].name */
    char *from;          /* from.name exactly as written (what the ISI sends back) */
    int64_t interval_ns; /* effective interval, after raising to the minimum */
    enum sync_track_why why;
    bool insecure; /* importPolicy.insecure or the stream's insecureRepository annotation */
    enum sync_import_mode mode;
    char *prefer_arch;   /* tag annotation, or NULL */
    char *prefer_os;     /* tag annotation, or NULL */
    char *current_image; /* status.tags[tag].items[0].image, or NULL when never imported */
};

/* A problem with the user's annotations, to be reported as a Warning event on the stream. */
struct sync_warning {
    char *reason;  /* SYNC_REASON_* */
    char *message; /* names the annotation, the tag (if any) and the value */
};

struct sync_stream_tracking {
    char *ns;
    char *name;
    char *uid;
    char *resource_version;
    struct sync_tracked_tag *tags;
    size_t ntags;
    struct sync_warning *warnings;
    size_t nwarnings;
};

/* Compute the tracked tags of ImageStream `is`. Fills `out` (which the caller clears with
 * sync_stream_tracking_clear, also after failure). Invalid annotation values are not errors:
 * they become warnings and the rest of the stream keeps working. Returns 0, -EINVAL when `is`
 * is not an ImageStream with a name and namespace, -ENOMEM. */
int sync_track_stream(const json_t *is, const struct sync_settings *settings,
                      struct sync_stream_tracking *out);
void sync_stream_tracking_clear(struct sync_stream_tracking *t);

/* The tracked tag named `tag`, or NULL. Borrowed. */
const struct sync_tracked_tag *sync_tracking_find(const struct sync_stream_tracking *t,
                                                  const char *tag);

/* The digest OpenShift would store for tag `t` if it imported now, given what the registry
 * serves: `digest` (of the manifest or of the index) and `children` (NULL for a single
 * manifest; for an index, its entries as the registry client reports them {digest, os,
 * architecture, variant}, or as the index's own descriptors with a nested "platform"). Legacy: the
 * child matching the tag's prefer-arch / prefer-os (each defaulting to `cp`), else linux/amd64,
 * else the first; PreserveOriginal: the index digest. Returns a BORROWED string (from `digest` or
 * `children`), or NULL with err_msg set when the index is empty. */
const char *sync_expected_image(const struct sync_tracked_tag *t, const char *digest,
                                const json_t *children, const struct sync_platform *cp);

/* Whether tag `t` needs an import: the expected image differs from status (or the tag was
 * never imported). `expected` from sync_expected_image(). */
bool sync_tag_changed(const struct sync_tracked_tag *t, const char *expected);

/* Build the ImageStreamImport POST body for `ntags` spec tags of stream `is` (reference §3.1):
 * metadata name/namespace/resourceVersion/uid of the stream, spec.import true, one images[]
 * entry per tag with from{DockerImage, from.name as written}, to{name}, the tag's importPolicy
 * (insecure, scheduled, importMode: echoed so the import does not reset them) and
 * referencePolicy copied from the spec tag, includeManifest false. NEW reference, or NULL with
 * err_msg set (-EINVAL: a tag is not an importable spec tag of the stream). */
json_t *sync_build_isi(const json_t *is, const char *const *tags, size_t ntags);

/* Outcome of one image of an ISI reply. Strings owned by the array (sync_isi_results_free). */
struct sync_isi_result {
    char *tag;     /* spec.images[i].to.name (the reply's status.images[i].tag can differ) */
    bool success;  /* status.images[i].status.status == "Success" */
    char *image;   /* status.images[i].image.metadata.name on success, else NULL */
    int code;      /* HTTP-like code of a failure (0 on success) */
    char *reason;  /* failure reason (Unauthorized, NotFound, InternalError...), else NULL */
    char *message; /* failure message, else NULL */
};

/* Pair each spec.images[i] of `request` with status.images[i] of `reply` (same index, §3.2).
 * A missing status entry is a failure with reason "NoStatus". On success *out is a NEW array of
 * *n entries (free with sync_isi_results_free). -EBADMSG when the reply has no status.images
 * array. */
int sync_parse_isi_result(const json_t *request, const json_t *reply, struct sync_isi_result **out,
                          size_t *n);
void sync_isi_results_free(struct sync_isi_result *r, size_t n);

/* Start the sync controller of `op` (informer handlers, work queue, poller thread). 0 or neg
 * errno. Stopped by sync_controller_stop(). */
int sync_controller_start(struct operator* op);
void sync_controller_stop(struct operator* op);

#endif
