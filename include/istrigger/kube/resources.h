/*
 * resources.h - API resources the client talks to, identified by group/version/resource.
 *
 * Every verb takes a `const struct kube_resource *`. The well-known ones are constants
 * (KUBE_RES_DEPLOYMENTS is a pointer to static storage); any other resource can be described
 * by a caller-owned struct with the same fields.
 */
#ifndef ISTRIGGER_KUBE_RESOURCES_H
#define ISTRIGGER_KUBE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

struct kube_resource {
    const char *group;    /* "" for the core group, "apps", "image.openshift.io", ... */
    const char *version;  /* "v1", "v1alpha1" */
    const char *resource; /* plural, lower case: "deployments" */
    const char *kind;     /* "Deployment" */
    bool namespaced;
};

extern const struct kube_resource kube_res_namespaces, kube_res_configmaps, kube_res_secrets,
    kube_res_events, kube_res_events_v1, kube_res_deployments, kube_res_statefulsets,
    kube_res_daemonsets, kube_res_cronjobs, kube_res_leases, kube_res_imagestreams,
    kube_res_imagestreamimports, kube_res_imagestreamtags, kube_res_imagetriggers,
    kube_res_imagetriggerconfigs, kube_res_tokenreviews, kube_res_subjectaccessreviews;

#define KUBE_RES_NAMESPACES           (&kube_res_namespaces)
#define KUBE_RES_CONFIGMAPS           (&kube_res_configmaps)
#define KUBE_RES_SECRETS              (&kube_res_secrets)
#define KUBE_RES_EVENTS               (&kube_res_events)    /* core/v1 Events */
#define KUBE_RES_EVENTS_V1            (&kube_res_events_v1) /* events.k8s.io/v1 */
#define KUBE_RES_DEPLOYMENTS          (&kube_res_deployments)
#define KUBE_RES_STATEFULSETS         (&kube_res_statefulsets)
#define KUBE_RES_DAEMONSETS           (&kube_res_daemonsets)
#define KUBE_RES_CRONJOBS             (&kube_res_cronjobs) /* batch/v1 */
#define KUBE_RES_LEASES               (&kube_res_leases)   /* coordination.k8s.io/v1 */
#define KUBE_RES_IMAGESTREAMS         (&kube_res_imagestreams)
#define KUBE_RES_IMAGESTREAMIMPORTS   (&kube_res_imagestreamimports)
#define KUBE_RES_IMAGESTREAMTAGS      (&kube_res_imagestreamtags)
#define KUBE_RES_IMAGETRIGGERS        (&kube_res_imagetriggers)       /* istrigger.io/v1alpha1 */
#define KUBE_RES_IMAGETRIGGERCONFIGS  (&kube_res_imagetriggerconfigs) /* cluster-scoped */
#define KUBE_RES_TOKENREVIEWS         (&kube_res_tokenreviews)
#define KUBE_RES_SUBJECTACCESSREVIEWS (&kube_res_subjectaccessreviews)

/* "apps/v1" or "v1" for the core group, into `buf` (size >= 128 is enough). Returns buf. */
const char *kube_resource_api_version(const struct kube_resource *res, char *buf, size_t size);

/* Name used in messages and metrics: "deployments.apps", "configmaps" (core). Into `buf`
 * (size >= 128 is enough). Returns buf. */
const char *kube_resource_name(const struct kube_resource *res, char *buf, size_t size);

/* A well-known resource by plural and optional group ("deployments", "apps") or
 * "deployments.apps" style name, for command-line tools. Static storage, or NULL. */
const struct kube_resource *kube_resource_lookup(const char *name);

#endif
