/*
 * trigger_plan.h - the pure core of the ImageTrigger controller: from an ImageTrigger and the
 * objects it touches, compute what `oc set triggers` / `oc set image-lookup` would have
 * written, and the minimal JSON merge patches that get there. No I/O, no locks: the
 * reconciler (trigger_controller.c) reads its caches, calls these, and sends the patches.
 *
 * What is written (reference openshift-image-api.md §5.1, §5.3, §5.6, §6.1):
 *   metadata.annotations["image.openshift.io/triggers"] on the workload itself, one entry per
 *   container, encoded as Go's json.Marshal does:
 *   {"from":{"kind":"ImageStreamTag","name":"IS:TAG"[,"namespace":NS]},
 *    "fieldPath":"<podSpecPath>.containers[?(@.name==\"C\")].image"[,"paused":true]}
 *   and alpha.image.policy.openshift.io/resolve-names: "*" on the pod template, and
 *   spec.lookupPolicy.local on source ImageStreams.
 *
 * Ownership (istrigger manages only what it wrote):
 *   - on the workload, TRIGGER_MANAGED_ANNOTATION holds a JSON object keyed by ImageTrigger
 *     name: {"NAME":{"fieldPaths":[...],"resolveNames":true}}. An entry of the triggers
 *     annotation whose fieldPath no owner lists is foreign and is kept as is. "resolveNames"
 *     is recorded only when istrigger added the resolve-names annotation (or shares it with
 *     another ImageTrigger that did): one that was there before stays when switched off.
 *   - on an ImageStream, TRIGGER_LOOKUP_OWNERS_ANNOTATION holds a JSON array of "NS/NAME" of the
 *     ImageTriggers that need lookupPolicy.local; recorded only when istrigger set it to true.
 *     The last owner to let go sets it back to false.
 */
#ifndef ISTRIGGER_CONTROLLER_TRIGGER_PLAN_H
#define ISTRIGGER_CONTROLLER_TRIGGER_PLAN_H

#include <jansson.h>
#include <stdbool.h>

#define TRIGGER_ANNOTATION               "image.openshift.io/triggers"
#define TRIGGER_RESOLVE_NAMES_ANNOTATION "alpha.image.policy.openshift.io/resolve-names"
#define TRIGGER_MANAGED_ANNOTATION       "istrigger.io/managed-triggers"
#define TRIGGER_LOOKUP_OWNERS_ANNOTATION "istrigger.io/managed-lookup"
#define TRIGGER_FINALIZER                "istrigger.io/imagetrigger"

/* Path of the pod spec inside an object of `kind` (§5.3): "spec.template.spec" for
 * Deployment, StatefulSet and DaemonSet, "spec.jobTemplate.spec.template.spec" for CronJob.
 * Static string, or NULL when the kind is not one the trigger controller handles (§5.4). */
const char *trigger_pod_spec_path(const char *kind);

/* The fieldPath `oc set triggers -c NAME` writes for `kind` (always the containers[...] form,
 * also for init containers, §5.6). malloc'd; free(). NULL on ENOMEM or unsupported kind. */
char *trigger_field_path(const char *kind, const char *container);

/* The pod spec (borrowed) of `workload` of `kind`, or NULL. */
json_t *trigger_pod_spec(const json_t *workload, const char *kind);

/* Split "IS:TAG" (exactly one ':' with non-empty sides, §5.2 SplitImageStreamTag). On success
 * `*stream` and `*tag` are malloc'd (free both). -EINVAL with err_msg otherwise. */
int trigger_split_istag(const char *istag, char **stream, char **tag);

/* Outcome for one container claimed by an ImageTrigger. */
enum trigger_claim_state {
    TRIGGER_CLAIM_APPLIED = 0, /* our entry is in the annotation (desired) */
    TRIGGER_CLAIM_PAUSED,      /* applied with "paused": true */
    TRIGGER_CLAIM_NOT_FOUND,   /* no container or init container of that name */
    TRIGGER_CLAIM_CONFLICT,    /* claimed by an earlier ImageTrigger, or held by another */
    TRIGGER_CLAIM_FOREIGN,     /* an entry for the same fieldPath that istrigger does not own */
    TRIGGER_CLAIM_DUPLICATE,   /* the same container twice in this ImageTrigger */
};

/* Stable name of a state, used in status ("Applied", "Paused", "ContainerNotFound",
 * "Conflict", "ForeignTrigger", "DuplicateContainer"). Static string. */
const char *trigger_claim_state_name(enum trigger_claim_state s);

struct trigger_workload_input {
    const json_t *trigger;  /* the ImageTrigger object (metadata + spec) */
    bool release;           /* remove everything this ImageTrigger owns here (deletion,
                               retarget): no desired entries */
    const json_t *workload; /* the workload as read (its kind is the trigger's target kind
                               unless release is set; then `kind` below is used) */
    const char *kind;       /* the workload's kind; NULL = spec.target.kind */
    const json_t *peers;    /* array of ImageTriggers targeting this workload (may include
                               `trigger`), for conflicts and for dropping entries of owners
                               that no longer target it; NULL = unknown (no clean-up) */
};

struct trigger_workload_plan {
    json_t *patch;  /* NEW JSON merge patch for the workload (carries metadata.resourceVersion
                       for optimistic concurrency), or NULL when nothing would change */
    json_t *claims; /* NEW array, one object per (trigger, container) in spec order:
                       {"trigger":I,"container":C,"fieldPath":F,"state":S,"message":M} */
    int applied;    /* claims Applied or Paused */
    int problems;   /* claims in any other state */
};

/* Compute the plan for one ImageTrigger on one workload. 0, or -EBADMSG when the workload's
 * existing triggers annotation is not a JSON array (nothing is written then: it belongs to
 * someone else and would be lost), -EINVAL for an unsupported kind, -ENOMEM. On success the
 * caller owns plan->patch and plan->claims (trigger_workload_plan_clear). */
int trigger_plan_workload(const struct trigger_workload_input *in,
                          struct trigger_workload_plan *plan);
void trigger_workload_plan_clear(struct trigger_workload_plan *plan);

/* Image lookup on a source ImageStream for ImageTrigger `owner` ("NS/NAME"): `want` is true
 * when the trigger asks for imageLookup.imageStreams and still exists. Sets `*patch` to a NEW
 * merge patch (metadata.annotations and spec.lookupPolicy only, never spec.tags) or NULL when
 * nothing would change. 0 or -ENOMEM. */
int trigger_plan_stream_lookup(const char *owner, bool want, const json_t *stream, json_t **patch);

/* True when `stream` lists `owner` in TRIGGER_LOOKUP_OWNERS_ANNOTATION. */
bool trigger_stream_lookup_owned_by(const json_t *stream, const char *owner);

/* Emit each owner listed in TRIGGER_MANAGED_ANNOTATION of `workload` (for an informer index
 * "by owner"); with `ns` prefix "NS/NAME". Returns how many were emitted. */
int trigger_workload_owners(const json_t *workload, void (*emit)(void *ctx, const char *owner),
                            void *ctx);

/* The image the trigger controller writes for IS:TAG (§5.5 ResolveLatestTaggedImage):
 * with spec tag referencePolicy.type Local, a non-empty status.dockerImageRepository and
 * items[0].image: "<dockerImageRepository>@<image>"; otherwise items[0].dockerImageReference.
 * `*image` is malloc'd; `*created` (optional) is borrowed items[0].created or NULL.
 * -ENOENT with err_msg when the tag has no status items (not imported yet). */
int trigger_resolve_tag(const json_t *stream, const char *tag, char **image, const char **created);

#endif
