/*
 * resources.c - the well-known API resources (resources.h) and their names and paths.
 */
#include "istrigger/kube/resources.h"

#include <stdio.h>
#include <string.h>

const struct kube_resource kube_res_namespaces = {"", "v1", "namespaces", "Namespace", false};
const struct kube_resource kube_res_configmaps = {"", "v1", "configmaps", "ConfigMap", true};
const struct kube_resource kube_res_secrets = {"", "v1", "secrets", "Secret", true};
const struct kube_resource kube_res_events = {"", "v1", "events", "Event", true};
const struct kube_resource kube_res_events_v1 = {"events.k8s.io", "v1", "events", "Event", true};
const struct kube_resource kube_res_deployments = {"apps", "v1", "deployments", "Deployment", true};
const struct kube_resource kube_res_statefulsets = {"apps", "v1", "statefulsets", "StatefulSet",
                                                    true};
const struct kube_resource kube_res_daemonsets = {"apps", "v1", "daemonsets", "DaemonSet", true};
const struct kube_resource kube_res_cronjobs = {"batch", "v1", "cronjobs", "CronJob", true};
const struct kube_resource kube_res_leases = {"coordination.k8s.io", "v1", "leases", "Lease", true};
const struct kube_resource kube_res_imagestreams = {"image.openshift.io", "v1", "imagestreams",
                                                    "ImageStream", true};
const struct kube_resource kube_res_imagestreamimports = {
    "image.openshift.io", "v1", "imagestreamimports", "ImageStreamImport", true};
const struct kube_resource kube_res_imagestreamtags = {"image.openshift.io", "v1",
                                                       "imagestreamtags", "ImageStreamTag", true};
const struct kube_resource kube_res_imagetriggers = {"istrigger.io", "v1alpha1", "imagetriggers",
                                                     "ImageTrigger", true};
const struct kube_resource kube_res_imagetriggerconfigs = {
    "istrigger.io", "v1alpha1", "imagetriggerconfigs", "ImageTriggerConfig", false};
const struct kube_resource kube_res_tokenreviews = {"authentication.k8s.io", "v1", "tokenreviews",
                                                    "TokenReview", false};
const struct kube_resource kube_res_subjectaccessreviews = {
    "authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false};

static const struct kube_resource *const well_known[] = {
    &kube_res_namespaces,
    &kube_res_configmaps,
    &kube_res_secrets,
    &kube_res_events,
    &kube_res_deployments,
    &kube_res_statefulsets,
    &kube_res_daemonsets,
    &kube_res_cronjobs,
    &kube_res_leases,
    &kube_res_imagestreams,
    &kube_res_imagestreamimports,
    &kube_res_imagestreamtags,
    &kube_res_imagetriggers,
    &kube_res_imagetriggerconfigs,
    &kube_res_tokenreviews,
    &kube_res_subjectaccessreviews,
    &kube_res_events_v1,
};

const char *kube_resource_api_version(const struct kube_resource *res, char *buf, size_t size)
{
    if (res->group && res->group[0])
        snprintf(buf, size, "%s/%s", res->group, res->version);
    else
        snprintf(buf, size, "%s", res->version);
    return buf;
}

const char *kube_resource_name(const struct kube_resource *res, char *buf, size_t size)
{
    if (res->group && res->group[0])
        snprintf(buf, size, "%s.%s", res->resource, res->group);
    else
        snprintf(buf, size, "%s", res->resource);
    return buf;
}

const struct kube_resource *kube_resource_lookup(const char *name)
{
    const char *dot = strchr(name, '.');
    size_t plural_len = dot ? (size_t)(dot - name) : strlen(name);

    for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++) {
        const struct kube_resource *r = well_known[i];
        if (strlen(r->resource) != plural_len || strncmp(r->resource, name, plural_len) != 0)
            continue;
        if (!dot || strcmp(dot + 1, r->group) == 0)
            return r;
    }
    return NULL;
}
