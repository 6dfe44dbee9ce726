"""The built-in Kubernetes kinds okdsim serves: defaults, validation, generation rules, printers."""

import datetime

from . import errors, metavalidation, selectors
from .store import DNS1123_LABEL, LABEL_MSG
from .resources import ResourceType, age, col, parse_ts, human_duration

APPS_STATUS_RESETS = ("labels",)   # apps status strategies only keep spec and labels from the old object


# ---------------------------------------------------------------- defaults
def image_pull_policy(image):
    ref = (image or "").split("@")[0]
    last = ref.rsplit("/", 1)[-1]
    if "@" in (image or ""):
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_container(c):
    if "image" in c:
        c.setdefault("imagePullPolicy", image_pull_policy(c.get("image")))
    c.setdefault("resources", {})
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for e in c.get("env") or []:
        vf = e.get("valueFrom") if isinstance(e, dict) else None
        if isinstance(vf, dict) and isinstance(vf.get("fieldRef"), dict):
            vf["fieldRef"].setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        p = c.get(probe)
        if isinstance(p, dict):
            p.setdefault("timeoutSeconds", 1)
            p.setdefault("periodSeconds", 10)
            p.setdefault("successThreshold", 1)
            p.setdefault("failureThreshold", 3)
            hg = p.get("httpGet")
            if isinstance(hg, dict):
                hg.setdefault("path", "/")
                hg.setdefault("scheme", "HTTP")


def default_pod_spec(spec, restart="Always"):
    if not isinstance(spec, dict):
        return
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                default_container(c)
    spec.setdefault("restartPolicy", restart)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("serviceAccountName") and "serviceAccount" not in spec:
        spec["serviceAccount"] = spec["serviceAccountName"]
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for src in ("configMap", "secret"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
        if "emptyDir" not in v and len([k for k in v if k != "name"]) == 0:
            v["emptyDir"] = {}


def default_template(tmpl, restart="Always"):
    if not isinstance(tmpl, dict):
        return
    md = tmpl.setdefault("metadata", {})
    if isinstance(md, dict):
        md.setdefault("creationTimestamp", None)
    default_pod_spec(tmpl.setdefault("spec", {}), restart)


def deployment_defaults(obj):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    st = spec.setdefault("strategy", {})
    if isinstance(st, dict):
        st.setdefault("type", "RollingUpdate")
        if st.get("type") == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_template(spec.get("template"))
    obj.setdefault("status", {})


def statefulset_defaults(obj):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    us = spec.setdefault("updateStrategy", {})
    us.setdefault("type", "RollingUpdate")
    if us.get("type") == "RollingUpdate":
        us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_template(spec.get("template"))
    for pvc in spec.get("volumeClaimTemplates") or []:
        if isinstance(pvc, dict):
            pvc.setdefault("apiVersion", "v1")
            pvc.setdefault("kind", "PersistentVolumeClaim")
            pvc.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            pvc.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
            pvc.setdefault("status", {"phase": "Pending"})
    obj.setdefault("status", {"replicas": 0, "availableReplicas": 0})


def daemonset_defaults(obj):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    us = spec.setdefault("updateStrategy", {})
    us.setdefault("type", "RollingUpdate")
    if us.get("type") == "RollingUpdate":
        ru = us.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_template(spec.get("template"))
    obj.setdefault("status", {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                              "desiredNumberScheduled": 0, "numberReady": 0})


def replicaset_defaults(obj):
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        default_template(spec.get("template"))
    obj.setdefault("status", {"replicas": 0})


def job_spec_defaults(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    default_template(spec.get("template"), restart=None)
    t = spec.get("template") or {}
    if isinstance(t.get("spec"), dict) and t["spec"].get("restartPolicy") is None:
        t["spec"].pop("restartPolicy", None)


def job_defaults(obj):
    job_spec_defaults(obj.setdefault("spec", {}))
    obj.setdefault("status", {})


def cronjob_defaults(obj):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    jt = spec.setdefault("jobTemplate", {})
    if isinstance(jt, dict):
        jt.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        js = jt.setdefault("spec", {})
        if isinstance(js, dict):
            default_template(js.get("template"), restart=None)
            t = js.get("template") or {}
            if isinstance(t.get("spec"), dict) and t["spec"].get("restartPolicy") is None:
                t["spec"].pop("restartPolicy", None)
    obj.setdefault("status", {})


def namespace_defaults(obj):
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"].get("name")
    spec = obj.setdefault("spec", {})
    spec.setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def secret_defaults(obj):
    obj.setdefault("type", "Opaque")


_next_ip = [0]


def service_defaults(obj):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        _next_ip[0] += 1
        n = _next_ip[0] + 10
        spec["clusterIP"] = "10.96.%d.%d" % (n // 250, n % 250 + 1)
    if spec.get("clusterIP") and spec["type"] != "ExternalName":
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("sessionAffinity", "None")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})


def pod_defaults(obj):
    default_pod_spec(obj.setdefault("spec", {}))
    st = obj.setdefault("status", {})
    if isinstance(st, dict):
        st.setdefault("phase", "Pending")
        st.setdefault("qosClass", "BestEffort")


# ---------------------------------------------------------------- validation
def _label_map_repr(m):
    return "map[string]string{%s}" % ", ".join('"%s":"%s"' % (k, v) for k, v in sorted(m.items()))


def selector_matches(sel, labels):
    return selectors.labels_match(selectors.from_label_selector(sel), labels)


def validate_pod_spec(spec, path, causes, job=False):
    if not isinstance(spec, dict):
        causes.append(errors.cause(path, "FieldValueRequired", "Required value"))
        return
    cs = spec.get("containers")
    if not cs:
        causes.append(errors.cause(path + ".containers", "FieldValueRequired", "Required value"))
    names = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            p = "%s.%s[%d]" % (path, key, i)
            if not c.get("name"):
                causes.append(errors.cause(p + ".name", "FieldValueRequired", "Required value"))
            elif not DNS1123_LABEL.match(c["name"]) or len(c["name"]) > 63:
                causes.append(errors.cause(p + ".name", "FieldValueInvalid", 'Invalid value: "%s": %s' % (
                    c["name"], LABEL_MSG if DNS1123_LABEL.match(c["name"]) is None else
                    "must be no more than 63 characters")))
            elif c["name"] in names:
                causes.append(errors.cause(p + ".name", "FieldValueDuplicate", 'Duplicate value: "%s"' % c["name"]))
            names.add(c.get("name"))
            if not c.get("image"):
                causes.append(errors.cause(p + ".image", "FieldValueRequired", "Required value"))
            for j, port in enumerate(c.get("ports") or []):
                cp = port.get("containerPort") if isinstance(port, dict) else None
                pp = "%s.ports[%d].containerPort" % (p, j)
                if not cp:
                    causes.append(errors.cause(pp, "FieldValueRequired", "Required value"))
                elif isinstance(cp, int) and not 1 <= cp <= 65535:
                    causes.append(errors.cause(pp, "FieldValueInvalid", "Invalid value: %d: must be between 1 and "
                                               "65535, inclusive" % cp))
            ipp = c.get("imagePullPolicy")
            if ipp is not None and ipp not in ("Always", "IfNotPresent", "Never"):
                causes.append(errors.cause(p + ".imagePullPolicy", "FieldValueNotSupported",
                                           'Unsupported value: "%s": supported values: "Always", "IfNotPresent", '
                                           '"Never"' % ipp))
    rp = spec.get("restartPolicy")
    if job and rp not in ("OnFailure", "Never"):
        if rp is None:
            causes.append(errors.cause(path + ".restartPolicy", "FieldValueRequired", "Required value"))
        else:
            causes.append(errors.cause(path + ".restartPolicy", "FieldValueNotSupported",
                                       'Unsupported value: "%s": supported values: "OnFailure", "Never"' % rp))


def validate_workload(rt, obj, old, **kw):
    causes = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [errors.cause("spec", "FieldValueRequired", "Required value")]
    sel = spec.get("selector")
    tmpl = spec.get("template") or {}
    if rt.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        if not sel:
            causes.append(errors.cause("spec.selector", "FieldValueRequired", "Required value"))
        elif not (sel.get("matchLabels") or sel.get("matchExpressions")):
            causes.append(errors.cause("spec.selector", "FieldValueInvalid",
                                       "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                                       "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is "
                                       "invalid for deployment" if rt.kind == "Deployment" else
                                       "Invalid value: \"\": empty selector is invalid"))
        elif not selector_matches(sel, (tmpl.get("metadata") or {}).get("labels")):
            causes.append(errors.cause("spec.template.metadata.labels", "FieldValueInvalid",
                                       "Invalid value: %s: `selector` does not match template `labels`"
                                       % _label_map_repr((tmpl.get("metadata") or {}).get("labels") or {})))
        if old is not None and old.get("spec", {}).get("selector") != sel and sel:
            causes.append(errors.cause("spec.selector", "FieldValueInvalid",
                                       "Invalid value: %s: field is immutable" % _selector_repr(sel)))
        r = spec.get("replicas")
        if isinstance(r, int) and r < 0:
            causes.append(errors.cause("spec.replicas", "FieldValueInvalid",
                                       "Invalid value: %d: must be greater than or equal to 0" % r))
        causes += metavalidation.validate_meta(tmpl.get("metadata"), "spec.template.metadata")
        validate_pod_spec(tmpl.get("spec"), "spec.template.spec", causes)
    elif rt.kind == "Job":
        validate_pod_spec(tmpl.get("spec"), "spec.template.spec", causes, job=True)
    elif rt.kind == "CronJob":
        if not spec.get("schedule"):
            causes.append(errors.cause("spec.schedule", "FieldValueRequired", "Required value"))
        jt = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        validate_pod_spec(jt.get("spec"), "spec.jobTemplate.spec.template.spec", causes, job=True)
    return causes


def _selector_repr(sel):
    ml = sel.get("matchLabels")
    mls = _label_map_repr(ml) if ml else "map[string]string(nil)"
    return "v1.LabelSelector{MatchLabels:%s, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}" % mls


def validate_configmap(rt, obj, old, **kw):
    causes = []
    for f in ("data", "binaryData"):
        v = obj.get(f)
        if v is not None and not isinstance(v, dict):
            causes.append(errors.cause(f, "FieldValueInvalid", "Invalid value: must be a map"))
    return causes


def deployment_generation(old, new):
    return old.get("spec") != new.get("spec") or \
        (old.get("metadata", {}).get("annotations") or {}) != (new.get("metadata", {}).get("annotations") or {})


TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def daemonset_update(sim, old, new):
    ann = new.setdefault("metadata", {}).setdefault("annotations", {})
    cur = int(((old.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION) or 1)
    bump = (old.get("spec") or {}).get("template") != (new.get("spec") or {}).get("template")
    ann[TEMPLATE_GENERATION] = str(cur + 1 if bump else cur)


def daemonset_create(sim, obj):
    obj.setdefault("metadata", {}).setdefault("annotations", {})[TEMPLATE_GENERATION] = "1"


# ---------------------------------------------------------------- events conversion
def event_to_core(o):
    """events.k8s.io/v1 Event -> stored (core/v1) form."""
    c = {"metadata": o.get("metadata", {}), "involvedObject": o.get("regarding") or {}}
    mapping = [("note", "message"), ("reason", "reason"), ("type", "type"), ("action", "action"),
               ("eventTime", "eventTime"), ("series", "series"), ("related", "related"),
               ("reportingController", "reportingComponent"), ("reportingInstance", "reportingInstance"),
               ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
               ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count")]
    for a, b in mapping:
        if o.get(a) is not None:
            c[b] = o[a]
    return core_event_shape(c)


def core_event_shape(c):
    c.setdefault("involvedObject", {})
    c.setdefault("source", {})
    c.setdefault("firstTimestamp", None)
    c.setdefault("lastTimestamp", None)
    c.setdefault("eventTime", None)
    c.setdefault("reportingComponent", "")
    c.setdefault("reportingInstance", "")
    if not c.get("count"):
        c.pop("count", None)
    return c


def core_event_in(o):
    o = dict(o)
    return core_event_shape(o)


def event_from_core(c):
    o = {"metadata": c.get("metadata", {}), "regarding": c.get("involvedObject") or {},
         "eventTime": c.get("eventTime"),
         "deprecatedSource": c.get("source") or {},
         "deprecatedFirstTimestamp": c.get("firstTimestamp"),
         "deprecatedLastTimestamp": c.get("lastTimestamp")}
    mapping = [("message", "note"), ("reason", "reason"), ("type", "type"), ("action", "action"),
               ("series", "series"), ("related", "related"), ("reportingComponent", "reportingController"),
               ("reportingInstance", "reportingInstance"), ("count", "deprecatedCount")]
    for a, b in mapping:
        if c.get(a):
            o[b] = c[a]
    return o


# ---------------------------------------------------------------- printers
def _ready(o, ready_key, total):
    st = o.get("status") or {}
    return "%d/%d" % (st.get(ready_key) or 0, total)


def _containers(o, tmpl_path):
    t = o
    for p in tmpl_path:
        t = (t or {}).get(p) or {}
    cs = (t.get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _selector_str(sel):
    if not sel:
        return "<none>"
    parts = ["%s=%s" % kv for kv in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        if op in ("In", "NotIn"):
            parts.append("%s %s (%s)" % (e["key"], op.lower(), ",".join(e.get("values") or [])))
        elif op == "Exists":
            parts.append(e["key"])
        else:
            parts.append("!" + e["key"])
    return ",".join(parts) or "<none>"


def deployment_row(o):
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    cn, im = _containers(spec, ["template"])
    return ["%d/%d" % (st.get("readyReplicas") or 0, spec.get("replicas") or 0), st.get("updatedReplicas") or 0,
            st.get("availableReplicas") or 0, age(o), cn, im, _selector_str(spec.get("selector"))]


def statefulset_row(o):
    spec = o.get("spec") or {}
    cn, im = _containers(spec, ["template"])
    return [_ready(o, "readyReplicas", spec.get("replicas") or 0), age(o), cn, im]


def daemonset_row(o):
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    ns = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    cn, im = _containers(spec, ["template"])
    return [st.get("desiredNumberScheduled") or 0, st.get("currentNumberScheduled") or 0,
            st.get("numberReady") or 0, st.get("updatedNumberScheduled") or 0, st.get("numberAvailable") or 0,
            ",".join("%s=%s" % kv for kv in sorted(ns.items())) or "<none>", age(o), cn, im,
            _selector_str(spec.get("selector"))]


def replicaset_row(o):
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    cn, im = _containers(spec, ["template"])
    return [spec.get("replicas") or 0, st.get("replicas") or 0, st.get("readyReplicas") or 0, age(o), cn, im,
            _selector_str(spec.get("selector"))]


def job_row(o):
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    dur = ""
    s, c = parse_ts(st.get("startTime") or ""), parse_ts(st.get("completionTime") or "")
    if s:
        end = c or datetime.datetime.now(datetime.timezone.utc)
        dur = human_duration((end - s).total_seconds())
    cn, im = _containers(spec, ["template"])
    return ["%d/%d" % (st.get("succeeded") or 0, spec.get("completions") or 1), dur, age(o), cn, im,
            _selector_str(spec.get("selector"))]


def cronjob_row(o):
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    last = parse_ts(st.get("lastScheduleTime") or "")
    ls = human_duration((datetime.datetime.now(datetime.timezone.utc) - last).total_seconds()) if last else "<none>"
    cn, im = _containers(spec, ["jobTemplate", "spec", "template"])
    return [spec.get("schedule", ""), "True" if spec.get("suspend") else "False", len(st.get("active") or []), ls,
            age(o), cn, im, "<none>"]


def event_row(o):
    last = o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp")
    ts = parse_ts(last or "")
    ls = human_duration((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds()) if ts else "<unknown>"
    io = o.get("involvedObject") or {}
    return [ls, o.get("type", ""), o.get("reason", ""), "%s/%s" % ((io.get("kind") or "").lower(), io.get("name", "")),
            o.get("message", "")]


def _cols(*names):
    return [col(n) if isinstance(n, str) else n for n in names]


WIDE = 1


def register_builtin(sim):
    reg = sim.register_type
    pod_tmpl_cols = [col("Containers", priority=WIDE), col("Images", priority=WIDE)]
    reg(ResourceType("", "v1", "namespaces", "Namespace", False, short_names=["ns"],
                     subresources=["finalize", "status"], defaults=namespace_defaults,
                     table=lambda o: [(o.get("status") or {}).get("phase", ""), age(o)],
                     table_columns=_cols("Status", "Age")))
    reg(ResourceType("", "v1", "configmaps", "ConfigMap", True, short_names=["cm"], validate=validate_configmap,
                     table=lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o)],
                     table_columns=_cols(col("Data", typ="integer"), "Age")))
    reg(ResourceType("", "v1", "secrets", "Secret", True, defaults=secret_defaults,
                     table=lambda o: [o.get("type", ""), len(o.get("data") or {}), age(o)],
                     table_columns=_cols("Type", col("Data", typ="integer"), "Age")))
    reg(ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, short_names=["sa"],
                     subresources=["token"],
                     table=lambda o: [len(o.get("secrets") or []), age(o)],
                     table_columns=_cols(col("Secrets", typ="integer"), "Age")))
    reg(ResourceType("", "v1", "events", "Event", True, short_names=["ev"], storage_key=("", "events"),
                     convert_in=core_event_in, table=event_row,
                     table_columns=_cols("Last Seen", "Type", "Reason", "Object", "Message")))
    reg(ResourceType("", "v1", "services", "Service", True, short_names=["svc"], categories=["all"],
                     subresources=["status"], defaults=service_defaults,
                     table=lambda o: [(o.get("spec") or {}).get("type", ""), (o.get("spec") or {}).get("clusterIP",
                                      "<none>"), "<none>", ",".join("%s/%s" % (p.get("port"), p.get("protocol"))
                                                                   for p in (o.get("spec") or {}).get("ports") or [])
                                      or "<none>", age(o)],
                     table_columns=_cols("Type", "Cluster-IP", "External-IP", "Port(s)", "Age")))
    reg(ResourceType("", "v1", "pods", "Pod", True, short_names=["po"], categories=["all"],
                     subresources=["status"], defaults=pod_defaults,
                     table=lambda o: ["0/%d" % len((o.get("spec") or {}).get("containers") or []),
                                      (o.get("status") or {}).get("phase", ""), 0, age(o)],
                     table_columns=_cols("Ready", "Status", col("Restarts", typ="string"), "Age")))
    apps = dict(has_generation=True, categories=["all"], subresources=["scale", "status"],
                status_resets_meta=APPS_STATUS_RESETS, validate=validate_workload)
    reg(ResourceType("apps", "v1", "deployments", "Deployment", True, short_names=["deploy"],
                     bumps_generation=deployment_generation, defaults=deployment_defaults, table=deployment_row,
                     table_columns=_cols("Ready", col("Up-to-date", typ="string"), col("Available", typ="string"),
                                         "Age", *pod_tmpl_cols, col("Selector", priority=WIDE)),
                     zero_object={"spec": {"replicas": 0, "selector": None, "strategy": {}, "template": {
                         "metadata": {"creationTimestamp": None}, "spec": {"containers": None}}}, "status": {}},
                     **apps))
    reg(ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, short_names=["sts"],
                     defaults=statefulset_defaults, table=statefulset_row,
                     table_columns=_cols("Ready", "Age", *pod_tmpl_cols), **apps))
    reg(ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, short_names=["ds"], defaults=daemonset_defaults,
                     on_create=daemonset_create, on_update=daemonset_update, table=daemonset_row,
                     table_columns=_cols(col("Desired", typ="integer"), col("Current", typ="integer"),
                                         col("Ready", typ="integer"), col("Up-to-date", typ="integer"),
                                         col("Available", typ="integer"), "Node Selector", "Age", *pod_tmpl_cols,
                                         col("Selector", priority=WIDE)),
                     **dict(apps, subresources=["status"])))
    reg(ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, short_names=["rs"],
                     defaults=replicaset_defaults, table=replicaset_row,
                     table_columns=_cols(col("Desired", typ="integer"), col("Current", typ="integer"),
                                         col("Ready", typ="integer"), "Age", *pod_tmpl_cols,
                                         col("Selector", priority=WIDE)), **apps))
    reg(ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision", True, has_generation=False,
                     table=lambda o: ["", o.get("revision", 0), age(o)],
                     table_columns=_cols("Controller", col("Revision", typ="integer"), "Age")))
    batch = dict(has_generation=True, categories=["all"], subresources=["status"], validate=validate_workload,
                 status_resets_meta=APPS_STATUS_RESETS)
    reg(ResourceType("batch", "v1", "jobs", "Job", True, defaults=job_defaults, table=job_row,
                     table_columns=_cols("Completions", "Duration", "Age", *pod_tmpl_cols,
                                         col("Selector", priority=WIDE)), **batch))
    reg(ResourceType("batch", "v1", "cronjobs", "CronJob", True, short_names=["cj"], defaults=cronjob_defaults,
                     table=cronjob_row,
                     table_columns=_cols("Schedule", "Suspend", col("Active", typ="integer"), "Last Schedule", "Age",
                                         *pod_tmpl_cols, col("Selector", priority=WIDE)), **batch))
    reg(ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True,
                     table=lambda o: [(o.get("spec") or {}).get("holderIdentity", ""), age(o)],
                     table_columns=_cols("Holder", "Age")))
    reg(ResourceType("events.k8s.io", "v1", "events", "Event", True, short_names=["ev"], storage_key=("", "events"),
                     convert_in=event_to_core, convert_out=event_from_core, table=event_row,
                     table_columns=_cols("Last Seen", "Type", "Reason", "Object", "Message")))
