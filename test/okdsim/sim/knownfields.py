"""Unknown-field detection for built-in kinds (fieldValidation Strict/Warn/Ignore), like the API server's
strict decoding: the field names of the Go structs, for the structures where typos are common. A struct
marked None is not looked into (any content is accepted); fields of newer Kubernetes versions are
included so that manifests written for them are not rejected."""

from . import errors

META = "ObjectMeta"

S = {
    "ObjectMeta": {k: None for k in (
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
        "ownerReferences", "finalizers", "managedFields")},
    "PodTemplateSpec": {"metadata": META, "spec": "PodSpec"},
    "PodSpec": {k: None for k in (
        "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
        "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork",
        "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
        "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority",
        "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead",
        "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims",
        "resources", "ephemeralContainers", "volumes")},
    "Container": {k: None for k in (
        "name", "image", "command", "args", "workingDir", "envFrom", "resources", "resizePolicy", "restartPolicy",
        "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
        "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty")},
    "ContainerPort": {k: None for k in ("name", "hostPort", "containerPort", "protocol", "hostIP")},
    "EnvVar": {k: None for k in ("name", "value", "valueFrom")},
    "VolumeMount": {k: None for k in ("name", "readOnly", "recursiveReadOnly", "mountPath", "subPath",
                                      "mountPropagation", "subPathExpr")},
    "DeploymentSpec": {k: None for k in ("replicas", "selector", "strategy", "minReadySeconds",
                                         "revisionHistoryLimit", "paused", "progressDeadlineSeconds")},
    "StatefulSetSpec": {k: None for k in ("replicas", "selector", "volumeClaimTemplates", "serviceName",
                                          "podManagementPolicy", "updateStrategy", "revisionHistoryLimit",
                                          "minReadySeconds", "persistentVolumeClaimRetentionPolicy", "ordinals")},
    "DaemonSetSpec": {k: None for k in ("selector", "updateStrategy", "minReadySeconds", "revisionHistoryLimit")},
    "ReplicaSetSpec": {k: None for k in ("replicas", "minReadySeconds", "selector")},
    "JobSpec": {k: None for k in ("parallelism", "completions", "activeDeadlineSeconds", "podFailurePolicy",
                                  "successPolicy", "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes",
                                  "selector", "manualSelector", "ttlSecondsAfterFinished", "completionMode",
                                  "suspend", "podReplacementPolicy", "managedBy")},
    "CronJobSpec": {k: None for k in ("schedule", "timeZone", "startingDeadlineSeconds", "concurrencyPolicy",
                                      "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")},
    "JobTemplateSpec": {"metadata": META, "spec": "JobSpec"},
    "PolicyRule": {k: None for k in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")},
    "Subject": {k: None for k in ("kind", "apiGroup", "name", "namespace")},
    "RoleRef": {k: None for k in ("apiGroup", "kind", "name")},
    "LeaseSpec": {k: None for k in ("holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime",
                                    "leaseTransitions", "strategy", "preferredHolder")},
}
for _c in ("containers", "initContainers"):
    S["PodSpec"][_c] = "Container"
S["Container"].update({"ports": "ContainerPort", "env": "EnvVar", "volumeMounts": "VolumeMount"})
for _spec in ("DeploymentSpec", "StatefulSetSpec", "DaemonSetSpec", "ReplicaSetSpec", "JobSpec"):
    S[_spec]["template"] = "PodTemplateSpec"
S["CronJobSpec"]["jobTemplate"] = "JobTemplateSpec"

TOP = {"apiVersion": None, "kind": None, "metadata": META}
KINDS = {
    ("apps", "Deployment"): {"spec": "DeploymentSpec", "status": None},
    ("apps", "StatefulSet"): {"spec": "StatefulSetSpec", "status": None},
    ("apps", "DaemonSet"): {"spec": "DaemonSetSpec", "status": None},
    ("apps", "ReplicaSet"): {"spec": "ReplicaSetSpec", "status": None},
    ("batch", "Job"): {"spec": "JobSpec", "status": None},
    ("batch", "CronJob"): {"spec": "CronJobSpec", "status": None},
    ("", "ConfigMap"): {"data": None, "binaryData": None, "immutable": None},
    ("", "Secret"): {"data": None, "stringData": None, "type": None, "immutable": None},
    ("", "ServiceAccount"): {"secrets": None, "imagePullSecrets": None, "automountServiceAccountToken": None},
    ("", "Namespace"): {"spec": None, "status": None},
    ("", "Service"): {"spec": None, "status": None},
    ("", "Pod"): {"spec": "PodSpec", "status": None},
    ("rbac.authorization.k8s.io", "Role"): {"rules": "PolicyRule"},
    ("rbac.authorization.k8s.io", "ClusterRole"): {"rules": "PolicyRule", "aggregationRule": None},
    ("rbac.authorization.k8s.io", "RoleBinding"): {"subjects": "Subject", "roleRef": "RoleRef"},
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): {"subjects": "Subject", "roleRef": "RoleRef"},
    ("coordination.k8s.io", "Lease"): {"spec": "LeaseSpec"},
    ("apiextensions.k8s.io", "CustomResourceDefinition"): {"spec": None, "status": None},
}


def _walk(obj, fields, path, unknown):
    if not isinstance(obj, dict):
        return
    for k in list(obj.keys()):
        p = k if not path else "%s.%s" % (path, k)
        if k not in fields:
            unknown.append(p)
            del obj[k]
            continue
        sub = fields[k]
        if sub is None:
            continue
        v = obj[k]
        if isinstance(v, list):
            for i, x in enumerate(v):
                _walk(x, S[sub], "%s[%d]" % (p, i), unknown)
        else:
            _walk(v, S[sub], p, unknown)


def unknown_metadata(obj):
    """Prune and return unknown fields of metadata (any kind, custom resources too)."""
    unknown = []
    if isinstance(obj.get("metadata"), dict):
        _walk(obj["metadata"], S["ObjectMeta"], "metadata", unknown)
    return unknown


def check(rt, obj, warnings, field_validation):
    """Prune unknown fields of a built-in kind; Strict raises 400, Warn adds warnings."""
    kf = KINDS.get((rt.group, rt.kind))
    if kf is None or rt.crd is not None:
        return
    unknown = []
    _walk(obj, dict(TOP, **kf), "", unknown)
    report(rt, unknown, warnings, field_validation)


def report(rt, unknown, warnings, field_validation):
    if not unknown:
        return
    if field_validation == "Strict":
        raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: strict decoding error: %s" % (
            rt.kind, rt.version, rt.kind, ", ".join('unknown field "%s"' % u for u in unknown)))
    if field_validation == "Warn" and warnings is not None:
        warnings.extend('unknown field "%s"' % u for u in unknown)
