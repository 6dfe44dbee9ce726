#!/usr/bin/python3
"""gen-bundle.py - generate the OLM bundle and the file-based catalog from the single sources.

Sources (never edit the generated files by hand; edit these and run `make bundle`):
  VERSION                              the version (CSV name istrigger.vX.Y.Z, image tags)
  crds/*.yaml                          the CRDs, copied byte for byte into the bundle
  manifests/deployment.yaml            the operator Deployment -> CSV install.spec.deployments
  manifests/{cluster,}role*.yaml       RBAC bound to the operator's ServiceAccount
                                       -> CSV clusterPermissions / permissions
  manifests/*.yaml (others)            Service, ServiceMonitor, PrometheusRule, the Prometheus
                                       Role/RoleBinding -> extra bundle objects
  manifests/imagetriggerconfig.yaml,   alm-examples (and the console's initialization resource)
  manifests/samples/*.yaml
  olm-bundle/src/istrigger.csv-base.yaml   the user-facing CSV text (description, links, ...)
  olm-bundle/src/icon.svg              the icon

Outputs (under olm-bundle/): manifests/, metadata/annotations.yaml, bundle.Dockerfile,
catalog/istrigger/index.yaml, catalog.Dockerfile. It also keeps the image tag in
manifests/deployment.yaml equal to VERSION.

Usage: gen-bundle.py [--root DIR] [--out DIR] [--check]
  --out DIR   write the bundle and catalog there instead of ROOT/olm-bundle (the drift test
              generates into a temporary directory and compares)
  --check     write nothing; exit 1 and list the files whose content would change
Image repositories come from the environment: IMAGE_REPO, BUNDLE_IMAGE_REPO, CATALOG_IMAGE.
Runs on Debian's /usr/bin/python3 with PyYAML.
"""
import argparse
import base64
import copy
import datetime
import json
import os
import pathlib
import re
import sys

import yaml

PACKAGE = "istrigger"
CHANNEL = "stable"
OPENSHIFT_VERSIONS = "v4.12"
DEFAULT_IMAGE_REPO = "quay.io/istrigger/istrigger"
DEFAULT_BUNDLE_REPO = "quay.io/istrigger/istrigger-bundle"
DEFAULT_CATALOG_IMAGE = "quay.io/istrigger/istrigger-catalog:latest"
OPERATOR_SA = ("istrigger", "istrigger-system")

# Kinds the bundle may carry besides the CSV and CRDs (olm-okd.md §1.1).
BUNDLE_EXTRA_KINDS = {"Service", "ServiceMonitor", "PrometheusRule", "Role", "RoleBinding",
                      "ConfigMap", "Secret", "PodMonitor", "NetworkPolicy",
                      "PodDisruptionBudget", "ConsoleYAMLSample", "ConsoleQuickStart",
                      "ConsoleLink", "ConsolePlugin", "ClusterRole", "ClusterRoleBinding"}


# ---------------------------------------------------------------------------------------------
# YAML in and out


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks, lists indented under their key."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str_representer(dumper, value):
    if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)


def dump(obj):
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
                     allow_unicode=True)


def load(path):
    """The one object in a YAML file (every file here holds exactly one)."""
    docs = [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d is not None]
    if len(docs) != 1:
        raise SystemExit("gen-bundle: %s: expected one YAML document, found %d" % (path, len(docs)))
    return docs[0]


# ---------------------------------------------------------------------------------------------
# Sources


class Sources:
    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.version = (self.root / "VERSION").read_text().strip()
        if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", self.version):
            raise SystemExit("gen-bundle: VERSION %r is not semver" % self.version)
        self.image_repo = os.environ.get("IMAGE_REPO") or DEFAULT_IMAGE_REPO
        self.bundle_repo = os.environ.get("BUNDLE_IMAGE_REPO") or DEFAULT_BUNDLE_REPO
        self.catalog_image = os.environ.get("CATALOG_IMAGE") or DEFAULT_CATALOG_IMAGE
        self.crd_files = [p for p in sorted((self.root / "crds").glob("*.yaml"))
                          if p.name != "kustomization.yaml"]
        self.crds = [load(p) for p in self.crd_files]
        for p, c in zip(self.crd_files, self.crds):
            if c.get("kind") != "CustomResourceDefinition":
                raise SystemExit("gen-bundle: %s is not a CustomResourceDefinition" % p)
        self.base = load(self.root / "olm-bundle/src/istrigger.csv-base.yaml")
        self.icon = (self.root / "olm-bundle/src/icon.svg").read_bytes()
        self.manifests = {p.name: load(p) for p in sorted((self.root / "manifests").glob("*.yaml"))
                          if p.name != "kustomization.yaml"}
        self.samples = [load(p) for p in sorted((self.root / "manifests/samples").glob("*.yaml"))]

    @property
    def csv_name(self):
        return "%s.v%s" % (PACKAGE, self.version)

    @property
    def operator_image(self):
        return "%s:v%s" % (self.image_repo, self.version)

    @property
    def bundle_image(self):
        return "%s:v%s" % (self.bundle_repo, self.version)

    def created_at(self):
        """The CSV's createdAt: kept from the committed CSV while the version is the same (so
        regenerating gives identical output, with or without git history), else now
        (or SOURCE_DATE_EPOCH)."""
        committed = self.root / ("olm-bundle/manifests/%s.clusterserviceversion.yaml" % PACKAGE)
        if committed.exists():
            old = load(committed)
            if str(old.get("spec", {}).get("version")) == self.version:
                created = old.get("metadata", {}).get("annotations", {}).get("createdAt")
                if created:
                    return created
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        ts = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
              else datetime.datetime.now(datetime.timezone.utc))
        return ts.strftime("%Y-%m-%dT%H:%M:%SZ")

    def by_kind(self, kind):
        return [(n, o) for n, o in self.manifests.items() if o.get("kind") == kind]


def binds_operator(binding):
    return any(s.get("kind") == "ServiceAccount" and (s.get("name"), s.get("namespace")) == OPERATOR_SA
               for s in binding.get("subjects") or [])


def classify(src):
    """Split manifests/ into what goes into the CSV, the bundle's extra objects and what OLM
    cannot carry. Returns (deployment, cluster_rules, ns_rules, extras{filename: obj}, examples)."""
    deployments = src.by_kind("Deployment")
    if len(deployments) != 1:
        raise SystemExit("gen-bundle: expected one Deployment in manifests/, found %d" % len(deployments))
    op_role_names = set()
    for _, b in src.by_kind("ClusterRoleBinding") + src.by_kind("RoleBinding"):
        if binds_operator(b):
            op_role_names.add((b["roleRef"]["kind"], b["roleRef"]["name"]))
    cluster_rules, ns_rules, extras, examples = [], [], {}, []
    for name, obj in src.manifests.items():
        kind = obj.get("kind")
        meta = obj.get("metadata", {})
        if kind in ("Namespace", "Deployment"):
            continue  # OLM creates the namespace; the Deployment lives in the CSV
        if meta.get("namespace") == "openshift-config-managed":
            continue  # the console dashboard and its RBAC: OLM cannot install there (olm-okd.md §6)
        if kind == "ServiceAccount" and (meta.get("name"), meta.get("namespace")) == OPERATOR_SA:
            continue  # OLM creates the SA named in permissions (a bundled one is an error)
        if kind in ("ClusterRole", "Role") and (kind, meta.get("name")) in op_role_names:
            (cluster_rules if kind == "ClusterRole" else ns_rules).extend(obj.get("rules") or [])
            continue
        if kind in ("ClusterRoleBinding", "RoleBinding") and binds_operator(obj):
            continue  # OLM binds the permissions itself
        if obj.get("apiVersion", "").startswith("istrigger.io/"):
            examples.append(obj)
            continue
        if kind == "ConfigMap" and meta.get("namespace") not in (None, OPERATOR_SA[1]):
            continue
        if kind not in BUNDLE_EXTRA_KINDS:
            raise SystemExit("gen-bundle: manifests/%s: kind %s cannot go in a registry+v1 bundle; "
                             "decide where it belongs in gen-bundle.py" % (name, kind))
        extras[bundle_file_name(obj)] = strip_namespace(obj)
    return deployments[0][1], cluster_rules, ns_rules, extras, examples


def bundle_file_name(obj):
    group_version = obj["apiVersion"].replace("/", "_")
    return "%s_%s_%s.yaml" % (obj["metadata"]["name"], group_version, obj["kind"].lower())


def strip_namespace(obj):
    """OLM places namespaced bundle objects in the install namespace itself."""
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("namespace", None)
    return obj


# ---------------------------------------------------------------------------------------------
# Descriptors from the CRD schemas


def humanize(name):
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words)


def first_sentence(text):
    text = " ".join((text or "").split())
    m = re.match(r"(.+?\.)(\s|$)", text)
    return m.group(1) if m else text


def x_descriptors(path, schema, status):
    leaf = path.split(".")[-1]
    if status:
        if leaf == "conditions":
            return ["urn:alm:descriptor:io.kubernetes.conditions"]
        return ["urn:alm:descriptor:text"]
    t = schema.get("type")
    if t == "boolean":
        return ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"]
    if t in ("integer", "number"):
        return ["urn:alm:descriptor:com.tectonic.ui:number"]
    if t == "string" and schema.get("enum"):
        return ["urn:alm:descriptor:com.tectonic.ui:select:%s" % v for v in schema["enum"]]
    if t == "string":
        return ["urn:alm:descriptor:com.tectonic.ui:text"]
    return []


def descriptors(schema, status, prefix=""):
    """One descriptor per field: objects are walked into, arrays and scalars are leaves."""
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        path = prefix + name
        d = {"path": path, "displayName": humanize(name),
             "description": first_sentence(sub.get("description")) or humanize(name)}
        xd = x_descriptors(path, sub, status)
        if xd:
            d["x-descriptors"] = xd
        out.append(d)
        if sub.get("type") == "object" and sub.get("properties"):
            out.extend(descriptors(sub, status, path + "."))
    return out


def storage_version(crd):
    versions = crd["spec"]["versions"]
    stored = [v for v in versions if v.get("storage")]
    return (stored or versions)[0]


def owned_crds(src):
    base = {o["kind"]: o for o in src.base["spec"]["customresourcedefinitions"]["owned"]}
    owned = []
    for crd in src.crds:
        kind = crd["spec"]["names"]["kind"]
        ver = storage_version(crd)
        props = ver.get("schema", {}).get("openAPIV3Schema", {}).get("properties", {})
        b = base.get(kind, {})
        entry = {"name": crd["metadata"]["name"], "version": ver["name"], "kind": kind,
                 "displayName": b.get("displayName") or humanize(kind),
                 "description": b.get("description") or first_sentence(
                     ver.get("schema", {}).get("openAPIV3Schema", {}).get("description"))}
        if b.get("resources"):
            entry["resources"] = b["resources"]
        entry["specDescriptors"] = descriptors(props.get("spec", {}), False)
        entry["statusDescriptors"] = descriptors(props.get("status", {}), True)
        owned.append(entry)
    missing = set(base) - {o["kind"] for o in owned}
    if missing:
        print("gen-bundle: note: no CRD in crds/ yet for %s" % ", ".join(sorted(missing)),
              file=sys.stderr)
    return owned


# ---------------------------------------------------------------------------------------------
# The CSV


def example_of(obj):
    ex = copy.deepcopy(obj)
    meta = ex.setdefault("metadata", {})
    meta.pop("namespace", None)
    return ex


def build_csv(src):
    deployment, cluster_rules, ns_rules, extras, examples = classify(src)
    examples = examples + src.samples
    owned = owned_crds(src)
    owned_kinds = {(o["name"].split(".", 1)[1], o["kind"]) for o in owned}
    alm = [example_of(e) for e in examples
           if (e["apiVersion"].split("/")[0], e["kind"]) in owned_kinds]

    csv = copy.deepcopy(src.base)
    meta = csv["metadata"]
    meta["name"] = src.csv_name
    meta["namespace"] = "placeholder"
    ann = meta["annotations"]
    ann["alm-examples"] = json.dumps(alm, indent=2)
    ann["containerImage"] = src.operator_image
    ann["createdAt"] = src.created_at()
    init = [e for e in examples if e["kind"] == "ImageTriggerConfig"]
    if init:
        ann["operatorframework.io/initialization-resource"] = json.dumps(example_of(init[0]),
                                                                         separators=(",", ":"))
    tmpl = "operatorframework.io/suggested-namespace-template"
    if tmpl in ann:  # written folded for reading; shipped as compact JSON
        ann[tmpl] = json.dumps(json.loads(ann[tmpl]), separators=(",", ":"))
    ann = dict(sorted(ann.items()))
    meta["annotations"] = ann

    spec = csv["spec"]
    spec["version"] = src.version
    spec["icon"] = [{"base64data": base64.b64encode(src.icon).decode(),
                     "mediatype": "image/svg+xml"}]
    spec["customresourcedefinitions"] = {"owned": owned}
    spec["relatedImages"] = [{"name": "istrigger", "image": src.operator_image}]

    dep_spec = copy.deepcopy(deployment["spec"])
    for c in dep_spec["template"]["spec"]["containers"]:
        c["image"] = src.operator_image
    sa = dep_spec["template"]["spec"]["serviceAccountName"]
    install = {"strategy": "deployment", "spec": {}}
    if ns_rules:
        install["spec"]["permissions"] = [{"serviceAccountName": sa, "rules": ns_rules}]
    if cluster_rules:
        install["spec"]["clusterPermissions"] = [{"serviceAccountName": sa, "rules": cluster_rules}]
    install["spec"]["deployments"] = [{
        "name": deployment["metadata"]["name"],
        "label": deployment["metadata"].get("labels", {}),
        "spec": dep_spec,
    }]
    spec["install"] = install
    order = ["displayName", "description", "version", "maturity", "minKubeVersion", "keywords",
             "maintainers", "provider", "links", "icon", "installModes", "relatedImages",
             "customresourcedefinitions", "install"]
    csv["spec"] = {k: spec[k] for k in order if k in spec}
    csv["spec"].update({k: v for k, v in spec.items() if k not in order})
    return csv, extras, owned


# ---------------------------------------------------------------------------------------------
# Bundle metadata and catalog


def annotations():
    return {"annotations": {
        "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
        "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
        "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
        "operators.operatorframework.io.bundle.package.v1": PACKAGE,
        "operators.operatorframework.io.bundle.channels.v1": CHANNEL,
        "operators.operatorframework.io.bundle.channel.default.v1": CHANNEL,
        "com.redhat.openshift.versions": OPENSHIFT_VERSIONS,
    }}


def bundle_dockerfile():
    lines = ["# The bundle image (registry+v1). Generated by scripts/gen-bundle.py; build with",
             "#   podman build -f olm-bundle/bundle.Dockerfile -t BUNDLE_IMAGE olm-bundle",
             "FROM scratch", ""]
    for k, v in annotations()["annotations"].items():
        lines.append("LABEL %s=%s" % (k, json.dumps(v) if not re.fullmatch(r"[\w./+-]+", v) else v))
    lines += ["", "COPY manifests /manifests/", "COPY metadata /metadata/", ""]
    return "\n".join(lines)


def csv_metadata(csv):
    spec = csv["spec"]
    md = {"annotations": csv["metadata"]["annotations"],
          "crdDescriptions": spec["customresourcedefinitions"],
          "description": spec["description"], "displayName": spec["displayName"],
          "installModes": spec["installModes"], "keywords": spec["keywords"],
          "labels": csv["metadata"].get("labels", {}), "links": spec["links"],
          "maintainers": spec["maintainers"], "maturity": spec["maturity"],
          "minKubeVersion": spec["minKubeVersion"], "provider": spec["provider"]}
    return md


def catalog(src, csv, owned):
    pkg = {"schema": "olm.package", "name": PACKAGE, "defaultChannel": CHANNEL,
           "description": csv["spec"]["description"], "icon": csv["spec"]["icon"][0]}
    channel = {"schema": "olm.channel", "package": PACKAGE, "name": CHANNEL,
               "entries": [{"name": src.csv_name}]}
    props = [{"type": "olm.package", "value": {"packageName": PACKAGE, "version": src.version}}]
    for o in owned:
        props.append({"type": "olm.gvk", "value": {"group": o["name"].split(".", 1)[1],
                                                   "version": o["version"], "kind": o["kind"]}})
    props.append({"type": "olm.csv.metadata", "value": csv_metadata(csv)})
    bundle = {"schema": "olm.bundle", "package": PACKAGE, "name": src.csv_name,
              "image": src.bundle_image,
              "relatedImages": [{"name": "", "image": src.bundle_image}] + csv["spec"]["relatedImages"],
              "properties": props}
    return "".join("---\n" + dump(b) for b in (pkg, channel, bundle))


def catalog_dockerfile(src):
    return "\n".join([
        "# The catalog image: opm serves the file-based catalog in catalog/ (olm-okd.md §4.2).",
        "# Generated by scripts/gen-bundle.py; build from olm-bundle/ with",
        "#   podman build -f olm-bundle/catalog.Dockerfile -t %s olm-bundle" % src.catalog_image,
        "FROM quay.io/operator-framework/opm:latest",
        "ENTRYPOINT [\"/bin/opm\"]",
        "CMD [\"serve\", \"/configs\", \"--cache-dir=/tmp/cache\"]",
        "ADD catalog /configs",
        "RUN [\"/bin/opm\", \"serve\", \"/configs\", \"--cache-dir=/tmp/cache\", \"--cache-only\"]",
        "LABEL operators.operatorframework.io.index.configs.v1=/configs",
        ""])


# ---------------------------------------------------------------------------------------------


def outputs(src):
    """Every generated file: {path relative to the output dir: text}."""
    csv, extras, owned = build_csv(src)
    files = {"manifests/%s.clusterserviceversion.yaml" % PACKAGE: dump(csv)}
    for p in src.crd_files:
        files["manifests/" + p.name] = p.read_text()
    for name, obj in extras.items():
        files["manifests/" + name] = dump(obj)
    files["metadata/annotations.yaml"] = dump(annotations())
    files["bundle.Dockerfile"] = bundle_dockerfile()
    files["catalog/%s/index.yaml" % PACKAGE] = catalog(src, csv, owned)
    files["catalog.Dockerfile"] = catalog_dockerfile(src)
    return files


def deployment_with_image(src):
    """manifests/deployment.yaml text with its image set to IMAGE_REPO:vVERSION (a text edit,
    so the file's comments stay)."""
    path = src.root / "manifests/deployment.yaml"
    text = path.read_text()
    new = re.sub(r"(?m)^(\s+image: ).*$", r"\g<1>" + src.operator_image, text)
    return path, text, new


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent)
    ap.add_argument("--out")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    src = Sources(args.root)
    out = pathlib.Path(args.out) if args.out else src.root / "olm-bundle"
    files = outputs(src)
    dep_path, dep_old, dep_new = deployment_with_image(src)

    managed = {"manifests", "metadata", "catalog"}
    existing = {str(p.relative_to(out)) for d in managed if (out / d).exists()
                for p in (out / d).rglob("*") if p.is_file()}
    stale = sorted(existing - set(files))
    changed = sorted(n for n, t in files.items()
                     if not (out / n).exists() or (out / n).read_text() != t)
    if args.check:
        problems = changed + ["%s (not generated any more)" % s for s in stale]
        if dep_old != dep_new:
            problems.append("manifests/deployment.yaml (image is not %s)" % src.operator_image)
        for p in problems:
            print("gen-bundle: out of date: %s" % p)
        return 1 if problems else 0
    for s in stale:
        (out / s).unlink()
    for n in changed:
        (out / n).parent.mkdir(parents=True, exist_ok=True)
        (out / n).write_text(files[n])
    if dep_old != dep_new and not args.out:
        dep_path.write_text(dep_new)
    print("gen-bundle: %s: %d files, %d written, %d removed" % (src.csv_name, len(files),
                                                                len(changed), len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
