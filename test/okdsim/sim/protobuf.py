"""Decode the Kubernetes protobuf encoding of request bodies into JSON-shaped objects.

kubectl's typed commands (create namespace/deployment/configmap/secret/serviceaccount/token/role/...,
auth can-i) send `application/vnd.kubernetes.protobuf`. Only decoding of the kinds those commands send is
supported; field numbers follow k8s.io/api's generated.proto. Answers are always JSON (kubectl accepts it)."""

import base64
import datetime

from . import errors

MAGIC = b"k8s\x00"

# Field spec: number -> (json name, type, flags). Types: s string, b bool, i varint int, y bytes,
# t Time, q Quantity, ios IntOrString, "m:Msg" message, "map:s" / "map:y" / "map:q" maps.
# Flags: r repeated, o pointer (a zero value is kept), n inline (embedded struct).
F = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"), 4: ("selfLink", "s"),
                   5: ("uid", "s"), 6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   8: ("creationTimestamp", "t"), 9: ("deletionTimestamp", "t"),
                   10: ("deletionGracePeriodSeconds", "i", "o"), 11: ("labels", "map:s"),
                   12: ("annotations", "map:s"), 13: ("ownerReferences", "m:OwnerReference", "r"),
                   14: ("finalizers", "s", "r")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
                       6: ("controller", "b", "o"), 7: ("blockOwnerDeletion", "b", "o")},
    "Namespace": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:NamespaceSpec"), 3: ("status", "m:NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "s", "r")},
    "NamespaceStatus": {1: ("phase", "s")},
    "ConfigMap": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "map:s"), 3: ("binaryData", "map:y"),
                  4: ("immutable", "b", "o")},
    "Secret": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "map:y"), 3: ("type", "s"), 4: ("stringData", "map:s"),
               5: ("immutable", "b", "o")},
    "ServiceAccount": {1: ("metadata", "m:ObjectMeta"), 2: ("secrets", "m:ObjectReference", "r"),
                       3: ("imagePullSecrets", "m:LocalObjectReference", "r"),
                       4: ("automountServiceAccountToken", "b", "o")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                        5: ("apiVersion", "s"), 6: ("resourceVersion", "s"), 7: ("fieldPath", "s")},
    "LocalObjectReference": {1: ("name", "s")},
    "PodTemplateSpec": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:PodSpec")},
    "PodSpec": {1: ("volumes", "m:Volume", "r"), 2: ("containers", "m:Container", "r"), 3: ("restartPolicy", "s"),
                4: ("terminationGracePeriodSeconds", "i", "o"), 5: ("activeDeadlineSeconds", "i", "o"),
                6: ("dnsPolicy", "s"), 7: ("nodeSelector", "map:s"), 8: ("serviceAccountName", "s"),
                9: ("serviceAccount", "s"), 10: ("nodeName", "s"), 11: ("hostNetwork", "b"), 12: ("hostPID", "b"),
                13: ("hostIPC", "b"), 14: ("securityContext", "m:PodSecurityContext"),
                15: ("imagePullSecrets", "m:LocalObjectReference", "r"), 16: ("hostname", "s"),
                17: ("subdomain", "s"), 19: ("schedulerName", "s"), 20: ("initContainers", "m:Container", "r"),
                21: ("automountServiceAccountToken", "b", "o"), 24: ("priorityClassName", "s")},
    "PodSecurityContext": {2: ("runAsUser", "i", "o"), 3: ("runAsNonRoot", "b", "o"), 5: ("fsGroup", "i", "o"),
                           6: ("runAsGroup", "i", "o")},
    "Container": {1: ("name", "s"), 2: ("image", "s"), 3: ("command", "s", "r"), 4: ("args", "s", "r"),
                  5: ("workingDir", "s"), 6: ("ports", "m:ContainerPort", "r"), 7: ("env", "m:EnvVar", "r"),
                  8: ("resources", "m:ResourceRequirements", "k"), 9: ("volumeMounts", "m:VolumeMount", "r"),
                  13: ("terminationMessagePath", "s"), 14: ("imagePullPolicy", "s"), 16: ("stdin", "b"),
                  17: ("stdinOnce", "b"), 18: ("tty", "b"), 20: ("terminationMessagePolicy", "s")},
    "ContainerPort": {1: ("name", "s"), 2: ("hostPort", "i"), 3: ("containerPort", "i"), 4: ("protocol", "s"),
                      5: ("hostIP", "s")},
    "EnvVar": {1: ("name", "s"), 2: ("value", "s"), 3: ("valueFrom", "m:EnvVarSource")},
    "EnvVarSource": {1: ("fieldRef", "m:ObjectFieldSelector"), 3: ("configMapKeyRef", "m:KeySelector"),
                     4: ("secretKeyRef", "m:KeySelector")},
    "ObjectFieldSelector": {1: ("apiVersion", "s"), 2: ("fieldPath", "s")},
    "KeySelector": {1: ("", "m:LocalObjectReference", "n"), 2: ("key", "s"), 3: ("optional", "b", "o")},
    "ResourceRequirements": {1: ("limits", "map:q"), 2: ("requests", "map:q")},
    "VolumeMount": {1: ("name", "s"), 2: ("readOnly", "b"), 3: ("mountPath", "s"), 4: ("subPath", "s")},
    "Volume": {1: ("name", "s"), 2: ("", "m:VolumeSource", "n")},
    "VolumeSource": {2: ("emptyDir", "m:EmptyDir", "k"), 6: ("secret", "m:SecretVolume"),
                     19: ("configMap", "m:ConfigMapVolume")},
    "EmptyDir": {1: ("medium", "s"), 2: ("sizeLimit", "q")},
    "SecretVolume": {1: ("secretName", "s"), 3: ("defaultMode", "i", "o"), 4: ("optional", "b", "o")},
    "ConfigMapVolume": {1: ("", "m:LocalObjectReference", "n"), 3: ("defaultMode", "i", "o"),
                        4: ("optional", "b", "o")},
    "LabelSelector": {1: ("matchLabels", "map:s"), 2: ("matchExpressions", "m:LabelSelectorRequirement", "r")},
    "LabelSelectorRequirement": {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", "s", "r")},
    "Deployment": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:DeploymentSpec"), 3: ("status", "m:Empty")},
    "DeploymentSpec": {1: ("replicas", "i", "o"), 2: ("selector", "m:LabelSelector"),
                       3: ("template", "m:PodTemplateSpec"), 4: ("strategy", "m:DeploymentStrategy"),
                       5: ("minReadySeconds", "i"), 6: ("revisionHistoryLimit", "i", "o"), 7: ("paused", "b"),
                       9: ("progressDeadlineSeconds", "i", "o")},
    "DeploymentStrategy": {1: ("type", "s"), 2: ("rollingUpdate", "m:RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "ios"), 2: ("maxSurge", "ios")},
    "Empty": {},
    "Job": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:JobSpec"), 3: ("status", "m:Empty")},
    "JobSpec": {1: ("parallelism", "i", "o"), 2: ("completions", "i", "o"), 3: ("activeDeadlineSeconds", "i", "o"),
                4: ("selector", "m:LabelSelector"), 5: ("manualSelector", "b", "o"),
                6: ("template", "m:PodTemplateSpec"), 7: ("backoffLimit", "i", "o"),
                8: ("ttlSecondsAfterFinished", "i", "o"), 9: ("completionMode", "s", "o"), 10: ("suspend", "b", "o")},
    "CronJob": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:CronJobSpec"), 3: ("status", "m:Empty")},
    "CronJobSpec": {1: ("schedule", "s"), 2: ("startingDeadlineSeconds", "i", "o"), 3: ("concurrencyPolicy", "s"),
                    4: ("suspend", "b", "o"), 5: ("jobTemplate", "m:JobTemplateSpec"),
                    6: ("successfulJobsHistoryLimit", "i", "o"), 7: ("failedJobsHistoryLimit", "i", "o"),
                    8: ("timeZone", "s", "o")},
    "JobTemplateSpec": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:JobSpec")},
    "Role": {1: ("metadata", "m:ObjectMeta"), 2: ("rules", "m:PolicyRule", "r")},
    "ClusterRole": {1: ("metadata", "m:ObjectMeta"), 2: ("rules", "m:PolicyRule", "r"),
                    3: ("aggregationRule", "m:AggregationRule")},
    "AggregationRule": {1: ("clusterRoleSelectors", "m:LabelSelector", "r")},
    "PolicyRule": {1: ("verbs", "s", "r"), 2: ("apiGroups", "s", "r"), 3: ("resources", "s", "r"),
                   4: ("resourceNames", "s", "r"), 5: ("nonResourceURLs", "s", "r")},
    "RoleBinding": {1: ("metadata", "m:ObjectMeta"), 2: ("subjects", "m:Subject", "r"), 3: ("roleRef", "m:RoleRef")},
    "Subject": {1: ("kind", "s"), 2: ("apiGroup", "s"), 3: ("name", "s"), 4: ("namespace", "s")},
    "RoleRef": {1: ("apiGroup", "s"), 2: ("kind", "s"), 3: ("name", "s")},
    "TokenRequest": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "s", "r"), 3: ("boundObjectRef", "m:BoundObjectReference"),
                         4: ("expirationSeconds", "i", "o")},
    "BoundObjectReference": {1: ("kind", "s"), 2: ("apiVersion", "s"), 3: ("name", "s"), 4: ("uid", "s")},
    "SelfSubjectAccessReview": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "m:ResourceAttributes"),
                                    2: ("nonResourceAttributes", "m:NonResourceAttributes")},
    "SubjectAccessReview": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {1: ("resourceAttributes", "m:ResourceAttributes"),
                                2: ("nonResourceAttributes", "m:NonResourceAttributes"), 3: ("user", "s"),
                                4: ("groups", "s", "r"), 6: ("uid", "s")},
    "ResourceAttributes": {1: ("namespace", "s"), 2: ("verb", "s"), 3: ("group", "s"), 4: ("version", "s"),
                           5: ("resource", "s"), 6: ("subresource", "s"), 7: ("name", "s")},
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "Pod": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:PodSpec"), 3: ("status", "m:Empty")},
    "Service": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:ServiceSpec"), 3: ("status", "m:Empty")},
    "ServiceSpec": {1: ("ports", "m:ServicePort", "r"), 2: ("selector", "map:s"), 3: ("clusterIP", "s"),
                    4: ("type", "s"), 5: ("externalIPs", "s", "r"), 7: ("sessionAffinity", "s"),
                    10: ("externalName", "s")},
    "ServicePort": {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i"), 4: ("targetPort", "ios"),
                    5: ("nodePort", "i"), 6: ("appProtocol", "s", "o")},
    "SelfSubjectReview": {1: ("metadata", "m:ObjectMeta")},
    "SelfSubjectRulesReview": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "s")},
    "TokenReview": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:TokenReviewSpec")},
    "TokenReviewSpec": {1: ("token", "s"), 2: ("audiences", "s", "r")},
    "Lease": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:LeaseSpec")},
    "LeaseSpec": {1: ("holderIdentity", "s", "o"), 2: ("leaseDurationSeconds", "i", "o"),
                  3: ("acquireTime", "mt", "o"), 4: ("renewTime", "mt", "o"), 5: ("leaseTransitions", "i", "o")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "i", "o"), 2: ("preconditions", "m:Preconditions"),
                      3: ("orphanDependents", "b", "o"), 4: ("propagationPolicy", "s", "o"), 5: ("dryRun", "s", "r")},
    "Preconditions": {1: ("uid", "s", "o"), 2: ("resourceVersion", "s", "o")},
}
KINDS = {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "Deployment", "Job", "CronJob", "Role", "ClusterRole",
         "RoleBinding", "TokenRequest", "SelfSubjectReview", "SelfSubjectRulesReview", "Pod", "Service", "SelfSubjectAccessReview", "SubjectAccessReview", "TokenReview", "Lease",
         "DeleteOptions"}
ALIASES = {"ClusterRoleBinding": "RoleBinding"}


def _varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def _signed(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def _time(b, micro=False):
    secs = nanos = 0
    for num, _, v in _fields(b):
        if num == 1:
            secs = _signed(v)
        elif num == 2:
            nanos = v
    t = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (nanos // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if secs or nanos else None


def _scalar(typ, v):
    if typ == "s":
        return v.decode("utf-8")
    if typ == "b":
        return bool(v)
    if typ == "i":
        return _signed(v)
    if typ == "y":
        return base64.b64encode(v).decode()
    if typ == "t":
        return _time(v)
    if typ == "mt":
        return _time(v, micro=True)
    if typ == "q":
        for num, _, x in _fields(v):
            if num == 1:
                return x.decode()
        return "0"
    if typ == "ios":
        t, iv, sv = 0, 0, ""
        for num, _, x in _fields(v):
            if num == 1:
                t = x
            elif num == 2:
                iv = _signed(x)
            elif num == 3:
                sv = x.decode()
        return sv if t == 1 else iv
    raise ValueError(typ)


def _is_zero(v):
    return v in ("", 0, False, None) or v == {} or v == []


def decode_message(name, b):
    spec = F[name]
    out = {}
    for num, wt, v in _fields(b):
        if num not in spec:
            continue
        fs = spec[num]
        key, typ, flags = fs[0], fs[1], (fs[2] if len(fs) > 2 else "")
        if typ.startswith("map:"):
            k, val = "", None
            for n2, _, x in _fields(v):
                if n2 == 1:
                    k = x.decode()
                elif n2 == 2:
                    val = x
            vt = typ[4:]
            out.setdefault(key, {})[k] = _scalar(vt, val if val is not None else b"")
            continue
        if typ.startswith("m:"):
            val = decode_message(typ[2:], v)
        else:
            val = _scalar(typ, v)
        if "n" in flags:
            out.update(val)
        elif "r" in flags:
            out.setdefault(key, []).append(val)
        else:
            out[key] = val
    for num, fs in spec.items():
        key, flags = fs[0], (fs[2] if len(fs) > 2 else "")
        if key in out and _is_zero(out[key]) and "o" not in flags and "k" not in flags:
            del out[key]
    return out


def decode(raw):
    """Decode a protobuf request body; raises 415 for kinds it does not know."""
    if not raw.startswith(MAGIC):
        raise errors.bad_request("provided data does not appear to be a protobuf message, expected prefix "
                                 "[107 56 115 0]")
    api_version = kind = ""
    payload = b""
    for num, _, v in _fields(raw[4:]):
        if num == 1:
            for n2, _, x in _fields(v):
                if n2 == 1:
                    api_version = x.decode()
                elif n2 == 2:
                    kind = x.decode()
        elif num == 2:
            payload = v
    msg = ALIASES.get(kind, kind)
    if msg not in KINDS:
        raise errors.unsupported_media_type(["application/json", "application/yaml"])
    obj = {"kind": kind, "apiVersion": api_version} if kind != "DeleteOptions" else {}
    obj.update(decode_message(msg, payload))
    return obj
