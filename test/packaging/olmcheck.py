"""olmcheck - the checks of `operator-sdk bundle validate --select-optional suite=operatorframework`
and of `opm validate`, re-implemented from the rules listed in the reference (olm-okd.md §3, §4.4;
the rule ids F1.., C1.. are the reference's). Neither tool can be installed here.

    findings = check_bundle(pathlib.Path("olm-bundle"))      # [Finding(level, rule, message)]
    findings = check_fbc(pathlib.Path("olm-bundle/catalog"))
Each finding has level "error" or "warning" (the tools exit 1 on errors only; our tests allow
neither). Used by test_olm_validate.py, which also breaks bundles on purpose to show that each
rule fires.
"""
import base64
import collections
import gzip
import io
import json
import pathlib
import re
import tarfile
import urllib.parse

import yaml

Finding = collections.namedtuple("Finding", "level rule message")

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                            r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?"
                    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
# An image reference as docker/distribution's reference grammar accepts it (simplified).
IMAGE_REF = re.compile(r"^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::\d+)?/)?"
                       r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                       r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

SUPPORTED_KINDS = {"ClusterServiceVersion", "CustomResourceDefinition", "Secret", "ConfigMap",
                   "ServiceAccount", "Service", "Role", "RoleBinding", "ClusterRole",
                   "ClusterRoleBinding", "PrometheusRule", "ServiceMonitor", "PodMonitor",
                   "PodDisruptionBudget", "PriorityClass", "VerticalPodAutoscaler",
                   "NetworkPolicy", "ConsoleYAMLSample", "ConsoleQuickStart",
                   "ConsoleCLIDownload", "ConsoleLink", "ConsolePlugin"}
CAPABILITIES = {"Basic Install", "Seamless Upgrades", "Full Lifecycle", "Deep Insights", "Auto Pilot"}
CATEGORIES = {"AI/Machine Learning", "Application Runtime", "Big Data", "Cloud Provider",
              "Developer Tools", "Database", "Integration & Delivery", "Logging & Tracing",
              "Monitoring", "Modernization & Migration", "Networking", "OpenShift Optional",
              "Security", "Storage", "Streaming & Messaging", "Observability"}
ICON_TYPES = {"image/gif", "image/jpeg", "image/png", "image/svg+xml"}
INSTALL_MODES = {"OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces"}
CASE_SENSITIVE_ANNOTATIONS = ["olm.operatorGroup", "olm.operatorNamespace", "olm.targetNamespaces",
                              "olm.providedAPIs", "olm.skipRange"]
REQUIRED_ANNOTATIONS = ["operators.operatorframework.io.bundle.mediatype.v1",
                        "operators.operatorframework.io.bundle.manifests.v1",
                        "operators.operatorframework.io.bundle.metadata.v1",
                        "operators.operatorframework.io.bundle.package.v1",
                        "operators.operatorframework.io.bundle.channels.v1"]
# group/version -> (kinds or None for all, Kubernetes minor release that removed it)
REMOVED_APIS = {
    "apiextensions.k8s.io/v1beta1": (None, 22), "rbac.authorization.k8s.io/v1beta1": (None, 22),
    "apiregistration.k8s.io/v1beta1": (None, 22), "authentication.k8s.io/v1beta1": (None, 22),
    "authorization.k8s.io/v1beta1": (None, 22), "admissionregistration.k8s.io/v1beta1": (None, 22),
    "coordination.k8s.io/v1beta1": (None, 22), "extensions/v1beta1": ({"Ingress"}, 22),
    "networking.k8s.io/v1beta1": ({"Ingress", "IngressClass"}, 22),
    "storage.k8s.io/v1beta1": ({"CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"}, 22),
    "certificates.k8s.io/v1beta1": (None, 22), "scheduling.k8s.io/v1beta1": (None, 22),
    "batch/v1beta1": ({"CronJob"}, 25), "discovery.k8s.io/v1beta1": (None, 25),
    "events.k8s.io/v1beta1": (None, 25), "autoscaling/v2beta1": (None, 25),
    "policy/v1beta1": ({"PodDisruptionBudget", "PodSecurityPolicy"}, 25),
    "node.k8s.io/v1beta1": (None, 25), "autoscaling/v2beta2": (None, 26),
}
DEPENDENCY_TYPES = {"olm.gvk", "olm.package", "olm.label", "olm.constraint"}
MAX_BUNDLE_GZIP = 1 << 20


class Report:
    def __init__(self):
        self.findings = []

    def error(self, rule, msg, *a):
        self.findings.append(Finding("error", rule, msg % a if a else msg))

    def warn(self, rule, msg, *a):
        self.findings.append(Finding("warning", rule, msg % a if a else msg))


def _load_docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


# ---------------------------------------------------------------------------------------------
# Bundle


def check_bundle(bundle_dir):
    """All bundle checks on a bundle directory (manifests/, metadata/)."""
    r = Report()
    bundle_dir = pathlib.Path(bundle_dir)
    objects = _check_layout(bundle_dir, r)
    if objects is None:
        return r.findings
    csvs = [o for _, o in objects if o.get("kind") == "ClusterServiceVersion"]
    crds = [o for _, o in objects if o.get("kind") == "CustomResourceDefinition"]
    others = [o for _, o in objects if o.get("kind") not in ("ClusterServiceVersion",
                                                             "CustomResourceDefinition")]
    annotations = _check_annotations(bundle_dir, r, bool(csvs))
    _check_dependencies(bundle_dir, r)
    for o in others:
        if o.get("kind") not in SUPPORTED_KINDS:
            r.error("C1", "%s is not supported type for registryV1 bundle", o.get("kind"))
    for fname, o in objects:
        _check_object_meta(fname, o, r)
    if not csvs:
        r.error("C3", "no ClusterServiceVersion in bundle")
        return r.findings
    csv = csvs[0]
    _check_bundle_level(bundle_dir, csv, crds, others, r)
    _check_csv(csv, crds, r)
    for crd in crds:
        _check_crd(crd, r)
    _check_operatorhubv2(csv, r)
    _check_capabilities_categories(csv, r)
    _check_deprecated_apis(csv, [o for _, o in objects], r)
    _check_good_practices(csv, crds, annotations, r)
    return r.findings


def _check_layout(bundle_dir, r):
    man, meta = bundle_dir / "manifests", bundle_dir / "metadata"
    if not man.is_dir() or not meta.is_dir():
        r.error("F1", "bundle needs manifests/ and metadata/ directories")
        return None
    objects = []
    for p in sorted(man.iterdir()):
        if p.name.startswith("."):
            r.error("F1", "bundle manifests dir has hidden file %s", p.name)
            continue
        if p.is_dir():
            r.error("F1", "bundle manifests dir contains directory %s", p.name)
            continue
        try:
            docs = _load_docs(p)
        except yaml.YAMLError as e:
            r.error("F1", "%s: not YAML: %s", p.name, e)
            continue
        if len(docs) != 1:
            r.error("F1", "%s holds %d objects; only the first would be read", p.name, len(docs))
        if docs:
            objects.append((p.name, docs[0]))
    if sum(1 for _, o in objects if o.get("kind") == "ClusterServiceVersion") > 1:
        r.error("F1", "bundle manifests dir contains multiple CSVs")
    return objects


def _check_annotations(bundle_dir, r, has_csv):
    files = sorted((bundle_dir / "metadata").glob("annotations*"))
    ann = None
    for p in files:
        doc = yaml.safe_load(p.read_text()) or {}
        if isinstance(doc.get("annotations"), dict):
            ann = doc["annotations"]
    if ann is None:
        r.error("F2", "no metadata/annotations.yaml with an annotations map")
        return {}
    for key in REQUIRED_ANNOTATIONS:
        if key not in ann:
            r.error("F2", "annotations.yaml lacks %s", key)
    detected = "registry+v1" if has_csv else "plain"
    mt = ann.get("operators.operatorframework.io.bundle.mediatype.v1")
    if mt is not None and mt != detected:
        r.error("F2", "mediatype %r differs from the detected %r", mt, detected)
    if not str(ann.get("operators.operatorframework.io.bundle.channels.v1") or "").strip():
        r.error("F2", "channels annotation is empty")
    key = "operators.operatorframework.io.bundle.channel.default.v1"
    if key in ann and not str(ann[key] or "").strip():
        r.error("F2", "default channel annotation present but empty")
    dockerfile = bundle_dir / "bundle.Dockerfile"
    if dockerfile.exists():
        labels = dict(re.findall(r"(?m)^LABEL\s+(\S+?)=\"?([^\"\n]*)\"?\s*$", dockerfile.read_text()))
        for k, v in ann.items():
            if labels.get(k) != str(v):
                r.error("F2", "bundle.Dockerfile LABEL %s=%r differs from annotations.yaml %r",
                        k, labels.get(k), v)
    return ann


def _check_dependencies(bundle_dir, r):
    p = bundle_dir / "metadata" / "dependencies.yaml"
    if not p.exists():
        return
    doc = yaml.safe_load(p.read_text()) or {}
    for dep in doc.get("dependencies") or []:
        t, v = dep.get("type"), dep.get("value") or {}
        if t not in DEPENDENCY_TYPES:
            r.error("F3", "dependency type %r unknown", t)
        elif t == "olm.package" and not (v.get("packageName") and v.get("version")):
            r.error("F3", "olm.package dependency needs packageName and version")
        elif t == "olm.gvk" and not all(v.get(k) for k in ("group", "version", "kind")):
            r.error("F3", "olm.gvk dependency needs group, version and kind")


def _check_object_meta(fname, obj, r):
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if not obj.get("apiVersion") or not obj.get("kind"):
        r.error("C2", "%s: apiVersion and kind must be set", fname)
    if not name or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        r.error("C2", "%s: metadata.name %r is not a DNS-1123 subdomain", fname, name)
    for k, v in (meta.get("labels") or {}).items():
        if not QUALIFIED_NAME.match(k) or len(str(v)) > 63 or not LABEL_VALUE.match(str(v)):
            r.error("C2", "%s: label %s=%r is invalid", fname, k, v)
    for k in (meta.get("annotations") or {}):
        if not QUALIFIED_NAME.match(k):
            r.error("C2", "%s: annotation key %r is invalid", fname, k)


def _crd_gvks(crd):
    spec = crd.get("spec", {})
    return {(spec.get("group"), v.get("name"), spec.get("names", {}).get("kind"))
            for v in spec.get("versions", [])}


def _bundle_gzip_size(bundle_dir):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tar:
            for sub in ("manifests", "metadata"):
                for p in sorted((bundle_dir / sub).rglob("*")):
                    if p.is_file():
                        tar.add(p, arcname=str(p.relative_to(bundle_dir)))
    return len(buf.getvalue())


def _check_bundle_level(bundle_dir, csv, crds, others, r):
    owned = csv.get("spec", {}).get("customresourcedefinitions", {}).get("owned") or []
    bundled = collections.Counter()
    for crd in crds:
        for gvk in _crd_gvks(crd):
            bundled[gvk] += 1
    for gvk, n in bundled.items():
        if n > 1:
            r.error("C4", "duplicate CRD %s in bundle", "/".join(gvk))
    for o in owned:
        group = o.get("name", "").split(".", 1)[1] if "." in o.get("name", "") else ""
        if (group, o.get("version"), o.get("kind")) not in bundled:
            r.error("C4", "owned CRD %s/%s %s not found in bundle", group, o.get("version"), o.get("kind"))
    owned_gk = {(o.get("name", "").split(".", 1)[-1], o.get("kind")) for o in owned}
    for g, _, k in bundled:
        if (g, k) not in owned_gk:
            r.error("C4", "CRD %s %s is in the bundle but not owned by the CSV", g, k)
    sa_names = {d.get("spec", {}).get("template", {}).get("spec", {}).get("serviceAccountName")
                for d in _deployments(csv)}
    for o in others:
        if o.get("kind") == "ServiceAccount" and o.get("metadata", {}).get("name") in sa_names:
            r.error("C4", "ServiceAccount %s is created by OLM from the CSV; do not bundle it",
                    o["metadata"]["name"])
    size = _bundle_gzip_size(bundle_dir)
    if size > MAX_BUNDLE_GZIP:
        r.error("C4", "bundle compressed size %d exceeds %d", size, MAX_BUNDLE_GZIP)
    elif size > 0.85 * MAX_BUNDLE_GZIP:
        r.warn("C4", "bundle compressed size %d is over 85%% of the limit", size)
    for ri in csv.get("spec", {}).get("relatedImages") or []:
        img = ri.get("image", "")
        if not img or not IMAGE_REF.match(img):
            r.error("C4", "relatedImages entry %r has an invalid image %r", ri.get("name"), img)
    release = csv.get("spec", {}).get("release")
    if release:
        pkg = csv["metadata"]["name"].split(".v")[0]
        want = "%s-v%s-%s" % (pkg, csv["spec"].get("version"), release)
        if csv["metadata"]["name"] != want:
            r.error("C4", "with spec.release the CSV must be named %s", want)


def _deployments(csv):
    return csv.get("spec", {}).get("install", {}).get("spec", {}).get("deployments") or []


def _check_csv(csv, crds, r):
    meta, spec = csv.get("metadata", {}), csv.get("spec", {})
    for field, val in (("metadata.name", meta.get("name")), ("spec.replaces", spec.get("replaces"))):
        if val is None and field == "spec.replaces":
            continue
        if not val or not DNS1123_SUBDOMAIN.match(val) or len(val) > 63 or not LABEL_VALUE.match(val):
            r.error("C5", "%s %r is not a DNS-1123 subdomain and label value", field, val)
    ann = meta.get("annotations")
    if not ann:
        r.warn("C5", "CSV has no annotations")
        ann = {}
    owned = spec.get("customresourcedefinitions", {}).get("owned") or []
    owned_gvk = {(o["name"].split(".", 1)[-1], o.get("version"), o.get("kind")) for o in owned}
    owned_gvk |= {(a.get("group"), a.get("version"), a.get("kind"))
                  for a in spec.get("apiservicedefinitions", {}).get("owned") or []}
    examples_raw = ann.get("alm-examples") or ann.get("olm.examples")
    if not examples_raw:
        r.warn("C5", "no alm-examples annotation")
    else:
        try:
            examples = json.loads(examples_raw)
        except ValueError as e:
            r.error("C5", "alm-examples is not valid JSON: %s", e)
            examples = []
        if not isinstance(examples, list):
            r.error("C5", "alm-examples must be a JSON array")
            examples = []
        seen = set()
        for ex in examples:
            gv = ex.get("apiVersion", "")
            group, _, version = gv.rpartition("/")
            gvk = (group, version, ex.get("kind"))
            if gvk not in owned_gvk:
                r.error("C5", "alm-examples: %s %s is not an owned API", gv, ex.get("kind"))
            seen.add(gvk)
        for gvk in owned_gvk - seen:
            r.warn("C5", "owned API %s has no example in alm-examples", "/".join(gvk))
    modes = spec.get("installModes") or []
    if not modes:
        r.error("C5", "installModes is empty")
    types = [m.get("type") for m in modes]
    if len(types) != len(set(types)):
        r.error("C5", "installModes has duplicates")
    for t in types:
        if t not in INSTALL_MODES:
            r.error("C5", "installMode %r unknown", t)
    if modes and not any(m.get("supported") for m in modes):
        r.error("C5", "no installMode is supported")
    has_conversion = any(c.get("spec", {}).get("conversion", {}).get("strategy") == "Webhook" for c in crds)
    if has_conversion and any(m.get("supported") and m.get("type") != "AllNamespaces" for m in modes):
        r.error("C5", "CRDs with conversion webhooks require AllNamespaces only")
    mkv = spec.get("minKubeVersion")
    if not mkv:
        r.warn("C5", "minKubeVersion is empty")
    elif not SEMVER.match(str(mkv)):
        r.error("C5", "minKubeVersion %r is not semver", mkv)
    if not spec.get("displayName"):
        r.error("C5", "spec.displayName is empty")
    if not spec.get("install", {}).get("strategy"):
        r.error("C5", "spec.install.strategy is empty")
    if csv.get("apiVersion") != "operators.coreos.com/v1alpha1" or csv.get("kind") != "ClusterServiceVersion":
        r.error("C5", "CSV apiVersion/kind wrong")
    for key in ann:
        for good in CASE_SENSITIVE_ANNOTATIONS:
            if key.lower() == good.lower() and key != good:
                r.error("C5", "annotation %r must be spelled %r", key, good)
    if "olm.properties" in ann:
        r.warn("C5", "olm.properties annotation: define these properties in metadata/properties.yaml")


def _check_crd(crd, r):
    name = crd.get("metadata", {}).get("name", "")
    spec = crd.get("spec", {})
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1":
        r.error("C6", "CRD %s must be apiextensions.k8s.io/v1", name)
    names = spec.get("names", {})
    if name != "%s.%s" % (names.get("plural"), spec.get("group")):
        r.error("C6", "CRD name %r must be <plural>.<group>", name)
    for f in ("plural", "kind"):
        if not names.get(f):
            r.error("C6", "CRD %s: names.%s missing", name, f)
    for f in ("plural", "singular"):
        if names.get(f) and not DNS1123_LABEL.match(names[f]):
            r.error("C6", "CRD %s: names.%s %r is not a DNS-1123 label", name, f, names[f])
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        r.error("C6", "CRD %s: scope must be Namespaced or Cluster", name)
    versions = spec.get("versions") or []
    if not versions:
        r.error("C6", "CRD %s has no versions", name)
    if sum(1 for v in versions if v.get("storage")) != 1:
        r.error("C6", "CRD %s must have exactly one storage version", name)
    if versions and not any(v.get("served") for v in versions):
        r.error("C6", "CRD %s serves no version", name)
    for v in versions:
        schema = v.get("schema", {}).get("openAPIV3Schema")
        if not schema or schema.get("type") != "object":
            r.error("C6", "CRD %s %s: openAPIV3Schema must be a structural object schema", name, v.get("name"))


def _check_operatorhubv2(csv, r):
    spec = csv.get("spec", {})
    if not (spec.get("provider") or {}).get("name"):
        r.error("operatorhubv2", "spec.provider.name is empty")
    for m in spec.get("maintainers") or []:
        if not m.get("name") or not m.get("email"):
            r.error("operatorhubv2", "maintainer %r needs name and email", m)
        elif not EMAIL.match(m["email"]):
            r.error("operatorhubv2", "maintainer email %r is invalid", m["email"])
    for link in spec.get("links") or []:
        url = urllib.parse.urlparse(link.get("url") or "")
        if not link.get("name") or not url.scheme or not url.netloc:
            r.error("operatorhubv2", "link %r needs a name and a URL", link)
    if not spec.get("version"):
        r.error("operatorhubv2", "spec.version is empty")
    elif not SEMVER.match(str(spec["version"])):
        r.error("operatorhubv2", "spec.version %r is not semver", spec["version"])
    icons = spec.get("icon")
    if not icons:
        r.warn("operatorhubv2", "no icon")
    elif len(icons) != 1:
        r.error("operatorhubv2", "icon must have exactly one element")
    else:
        icon = icons[0]
        if icon.get("mediatype") not in ICON_TYPES:
            r.error("operatorhubv2", "icon mediatype %r not allowed", icon.get("mediatype"))
        try:
            data = base64.b64decode(icon.get("base64data") or "", validate=True)
            if not data:
                raise ValueError("empty")
        except ValueError:
            r.error("operatorhubv2", "icon base64data is empty or not base64")


def _check_capabilities_categories(csv, r):
    ann = csv.get("metadata", {}).get("annotations") or {}
    if ann.get("capabilities") not in CAPABILITIES:
        r.error("capabilities", "capabilities %r is not one of %s", ann.get("capabilities"),
                sorted(CAPABILITIES))
    for cat in (ann.get("categories") or "").split(","):
        if cat.strip() and cat.strip() not in CATEGORIES:
            r.error("categories", "category %r is not a standard category", cat.strip())


def _check_deprecated_apis(csv, objects, r):
    mkv = csv.get("spec", {}).get("minKubeVersion") or "0.0.0"
    m = re.match(r"(\d+)\.(\d+)", mkv)
    minor = int(m.group(2)) if m and m.group(1) == "1" else 0
    for obj in objects:
        removed = REMOVED_APIS.get(obj.get("apiVersion", ""))
        if removed and (removed[0] is None or obj.get("kind") in removed[0]):
            (r.error if minor >= removed[1] else r.warn)(
                "alpha-deprecated-apis", "%s %s uses an API removed in 1.%d",
                obj.get("apiVersion"), obj.get("kind"), removed[1])
    owned = csv.get("spec", {}).get("customresourcedefinitions", {}).get("owned") or []
    for o in owned:
        for res in o.get("resources") or []:
            if res.get("kind") == "CronJob" and res.get("version") == "v1beta1":
                (r.error if minor >= 25 else r.warn)("alpha-deprecated-apis",
                                                     "owned resources use batch/v1beta1 CronJob")
    for rule in _all_rules(csv):
        if "policy" in rule.get("apiGroups", []) and "podsecuritypolicies" in rule.get("resources", []):
            r.warn("alpha-deprecated-apis", "RBAC on policy/podsecuritypolicies (removed in 1.25)")


def _all_rules(csv):
    spec = csv.get("spec", {}).get("install", {}).get("spec", {})
    for perm in (spec.get("permissions") or []) + (spec.get("clusterPermissions") or []):
        yield from perm.get("rules") or []


def _check_good_practices(csv, crds, annotations, r):
    deps = _deployments(csv)
    if not deps:
        r.error("good-practices", "CSV has no deployments")
    for d in deps:
        for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
            req = (c.get("resources") or {}).get("requests") or {}
            if "cpu" not in req or "memory" not in req:
                r.warn("good-practices", "container %s has no cpu and memory requests", c.get("name"))
    crd_section = csv.get("spec", {}).get("customresourcedefinitions", {})
    for o in (crd_section.get("owned") or []) + (crd_section.get("required") or []):
        if not (o.get("description") or "").strip():
            r.warn("good-practices", "CRD %s has no description", o.get("name"))
    channels = [c.strip() for c in str(annotations.get(
        "operators.operatorframework.io.bundle.channels.v1", "")).split(",") if c.strip()]
    default = annotations.get("operators.operatorframework.io.bundle.channel.default.v1")
    for ch in channels + ([default] if default else []):
        if not ch.startswith(("candidate", "stable", "fast")):
            r.warn("good-practices", "channel %r does not start with candidate, stable or fast", ch)
    for rule in _all_rules(csv):
        if "apiextensions.k8s.io" in rule.get("apiGroups", []) and \
                {"customresourcedefinitions", "*"} & set(rule.get("resources", [])) and \
                {"create", "patch", "*"} & set(rule.get("verbs", [])):
            r.warn("good-practices", "permissions allow create/patch on CustomResourceDefinitions")
    name = csv.get("metadata", {}).get("name", "")
    m = re.match(r"^[a-z0-9-]+\.v(.+)$", name)
    if not m or not SEMVER.match(m.group(1)):
        r.warn("good-practices", "CSV name %r is not <name>.v<semver>", name)


# ---------------------------------------------------------------------------------------------
# File-based catalog (opm validate)


def check_fbc(catalog_dir):
    r = Report()
    blobs = []
    for p in sorted(pathlib.Path(catalog_dir).rglob("*")):
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json"):
            try:
                docs = _load_docs(p) if p.suffix != ".json" else [json.loads(p.read_text())]
            except (yaml.YAMLError, ValueError) as e:
                r.error("fbc", "%s: %s", p, e)
                continue
            blobs += docs
    seen = set()
    for b in blobs:
        if not b.get("schema"):
            r.error("fbc", "blob without schema: %r", str(b)[:80])
        key = (b.get("schema"), b.get("package"), b.get("name"))
        if key in seen:
            r.error("fbc", "duplicate blob %r", key)
        seen.add(key)
    pkgs = {b.get("name"): b for b in blobs if b.get("schema") == "olm.package"}
    channels = [b for b in blobs if b.get("schema") == "olm.channel"]
    bundles = {b.get("name"): b for b in blobs if b.get("schema") == "olm.bundle"}
    if not pkgs:
        r.error("fbc", "no olm.package")
    for name, pkg in pkgs.items():
        if not name or not DNS1123_LABEL.match(name):
            r.error("fbc", "package name %r is not a DNS-1123 label", name)
        pchans = [c for c in channels if c.get("package") == name]
        if not pchans:
            r.error("fbc", "package %s has no channel", name)
        if not pkg.get("defaultChannel") or pkg["defaultChannel"] not in {c.get("name") for c in pchans}:
            r.error("fbc", "package %s default channel %r does not exist", name, pkg.get("defaultChannel"))
        versions = collections.Counter()
        for b in bundles.values():
            if b.get("package") == name:
                for prop in b.get("properties") or []:
                    if prop.get("type") == "olm.package":
                        versions[str(prop.get("value", {}).get("version"))] += 1
        for v, n in versions.items():
            if n > 1:
                r.error("fbc", "package %s has %d bundles with version %s", name, n, v)
        if not any(b.get("package") == name for b in bundles.values()):
            r.error("fbc", "package %s has no bundle", name)
    chan_names = collections.Counter((c.get("package"), c.get("name")) for c in channels)
    for key, n in chan_names.items():
        if n > 1:
            r.error("fbc", "duplicate channel %r", key)
    in_channel = set()
    for c in channels:
        _check_channel(c, pkgs, bundles, r)
        in_channel |= {e.get("name") for e in c.get("entries") or []}
    for name, b in bundles.items():
        _check_fbc_bundle(name, b, pkgs, in_channel, r)
    for d in [b for b in blobs if b.get("schema") == "olm.deprecations"]:
        if d.get("package") not in pkgs:
            r.error("fbc", "deprecations for unknown package %r", d.get("package"))
        for e in d.get("entries") or []:
            if not e.get("message"):
                r.error("fbc", "deprecation entry without message")
    return r.findings


def _check_channel(c, pkgs, bundles, r):
    cname = "%s/%s" % (c.get("package"), c.get("name"))
    if c.get("package") not in pkgs:
        r.error("fbc", "channel %s: unknown package", cname)
    entries = c.get("entries") or []
    if not entries:
        r.error("fbc", "channel %s has no entries", cname)
        return
    names = [e.get("name") for e in entries]
    if len(names) != len(set(names)):
        r.error("fbc", "channel %s has duplicate entries", cname)
    for e in entries:
        b = bundles.get(e.get("name"))
        if b is None or b.get("package") != c.get("package"):
            r.error("fbc", "channel %s entry %s has no olm.bundle", cname, e.get("name"))
    replaced = {e.get("replaces") for e in entries if e.get("replaces")}
    skipped = {s for e in entries for s in (e.get("skips") or [])}
    heads = [n for n in names if n not in replaced and n not in skipped]
    if len(heads) != 1:
        r.error("fbc", "channel %s has %d heads %s (need exactly one)", cname, len(heads), heads)
        return
    by_name = {e.get("name"): e for e in entries}
    reach, cur, guard = set(), heads[0], 0
    while cur in by_name and cur not in reach and guard <= len(entries):
        reach.add(cur)
        reach |= set(by_name[cur].get("skips") or [])
        cur = by_name[cur].get("replaces")
        guard += 1
    if cur in reach:
        r.error("fbc", "channel %s has a replaces cycle at %s", cname, cur)
    stranded = set(names) - reach
    if stranded:
        r.error("fbc", "channel %s has stranded bundles %s", cname, sorted(stranded))


def _check_fbc_bundle(name, b, pkgs, in_channel, r):
    if b.get("package") not in pkgs:
        r.error("fbc", "bundle %s: unknown package %r", name, b.get("package"))
    if name not in in_channel:
        r.error("fbc", "bundle %s is in no channel", name)
    pkg_props = [p for p in b.get("properties") or [] if p.get("type") == "olm.package"]
    if len(pkg_props) != 1:
        r.error("fbc", "bundle %s must have exactly one olm.package property", name)
    else:
        v = pkg_props[0].get("value") or {}
        if v.get("packageName") != b.get("package"):
            r.error("fbc", "bundle %s olm.package packageName %r != package %r", name,
                    v.get("packageName"), b.get("package"))
        if not SEMVER.match(str(v.get("version", ""))):
            r.error("fbc", "bundle %s version %r is not semver", name, v.get("version"))
    for p in b.get("properties") or []:
        if p.get("type") == "olm.gvk" and not all((p.get("value") or {}).get(k) for k in ("group", "version", "kind")):
            r.error("fbc", "bundle %s has an incomplete olm.gvk property", name)
    if not b.get("image"):
        r.error("fbc", "bundle %s has no image", name)
