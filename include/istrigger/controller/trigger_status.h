/*
 * trigger_status.h - the status of an ImageTrigger, computed from what the reconciler saw.
 * Pure (no I/O) so the conditions and their reasons are unit-tested.
 *
 * Conditions (type, status, reason, message, observedGeneration, lastTransitionTime; the time
 * is kept while status and reason stay the same):
 *   TargetFound      True Found | False TargetNotFound
 *   TriggersApplied  True Applied | False TargetNotFound, ContainerNotFound, Conflict,
 *                    ForeignTrigger, DuplicateContainer, InvalidTriggerAnnotation, ApplyFailed
 *   ImagesResolved   True Resolved | False StreamNotFound, TagNotImported
 *   Ready            True Ready | False with the reason of the first of the above that is False
 * and per trigger: {"from","namespace","containers","paused","image","lastChangeTime",
 * "state","message"} where image is what the tag resolves to (§5.5) and lastChangeTime the
 * creation time of the tag event it came from (when the tag last moved).
 */
#ifndef ISTRIGGER_CONTROLLER_TRIGGER_STATUS_H
#define ISTRIGGER_CONTROLLER_TRIGGER_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct trigger_observation {
    bool target_found;
    int apply_err;              /* 0, or the error of planning/patching the workload */
    const char *apply_msg;      /* its message (err_msg) when apply_err != 0 */
    const json_t *claims;       /* trigger_workload_plan.claims, or NULL */
    const json_t *streams;      /* object "NS/NAME" -> ImageStream for every source stream that
                                   exists (borrowed) */
    const json_t *known_status; /* the status the API holds, to keep times from (borrowed);
                                   NULL: the ImageTrigger's own .status */
    const char *const *watched; /* namespaces the operator watches, NULL-terminated (borrowed);
                                   NULL: all. A source elsewhere cannot be seen. */
};

/* The new status object for ImageTrigger `it` (obs->known_status, else its .status, supplies
 * the times to keep). NEW reference, or NULL on ENOMEM. */
json_t *trigger_status_build(const json_t *it, const struct trigger_observation *obs,
                             int64_t now_real_ns);

/* The condition `type` in a status (borrowed), or NULL. */
const json_t *trigger_status_condition(const json_t *status, const char *type);

#endif
