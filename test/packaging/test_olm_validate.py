"""The OLM bundle and the file-based catalog pass the checks of `operator-sdk bundle validate
--select-optional suite=operatorframework` and `opm validate` (olmcheck.py implements the rules
of reference olm-okd.md §3 and §4.4), with no error and no warning. Each rule is also shown to
fire on a bundle broken on purpose, so a passing run means something."""
import base64
import json
import shutil

import pytest
import yaml

import olmcheck
from pkgtest import ROOT, load_one, crd_files, csv  # noqa: F401 (fixtures)

BUNDLE = ROOT / "olm-bundle"
CSV_FILE = "manifests/istrigger.clusterserviceversion.yaml"


def fmt(findings):
    return "\n".join("%s %s: %s" % f for f in findings)


def test_bundle_passes_operatorframework_suite():
    findings = olmcheck.check_bundle(BUNDLE)
    assert findings == [], fmt(findings)


def test_catalog_passes_opm_validate():
    findings = olmcheck.check_fbc(BUNDLE / "catalog")
    assert findings == [], fmt(findings)


def test_every_crd_is_bundled_owned_and_has_an_example(crd_files, csv):
    kustomized = load_one(ROOT / "crds/kustomization.yaml")["resources"]
    assert sorted(p.name for p in crd_files) == sorted(kustomized), \
        "crds/kustomization.yaml must list exactly the CRD files"
    assert len(crd_files) == 2, "expected the ImageTrigger and ImageTriggerConfig CRDs in crds/"
    owned = {o["name"]: o for o in csv["spec"]["customresourcedefinitions"]["owned"]}
    examples = json.loads(csv["metadata"]["annotations"]["alm-examples"])
    for p in crd_files:
        crd = load_one(p)
        assert (BUNDLE / "manifests" / p.name).read_bytes() == p.read_bytes()
        assert crd["metadata"]["name"] in owned
        kind = crd["spec"]["names"]["kind"]
        assert [e for e in examples if e["kind"] == kind], "no alm-example for %s" % kind


def test_catalog_matches_bundle(csv):
    blobs = list(yaml.safe_load_all((BUNDLE / "catalog/istrigger/index.yaml").read_text()))
    bundle = [b for b in blobs if b["schema"] == "olm.bundle"][0]
    ann = load_one(BUNDLE / "metadata/annotations.yaml")["annotations"]
    pkg = [b for b in blobs if b["schema"] == "olm.package"][0]
    assert bundle["name"] == csv["metadata"]["name"]
    assert pkg["name"] == ann["operators.operatorframework.io.bundle.package.v1"]
    assert pkg["defaultChannel"] == ann["operators.operatorframework.io.bundle.channel.default.v1"]
    version = [p for p in bundle["properties"] if p["type"] == "olm.package"][0]["value"]["version"]
    assert version == csv["spec"]["version"] == (ROOT / "VERSION").read_text().strip()
    gvks = {(p["value"]["group"], p["value"]["version"], p["value"]["kind"])
            for p in bundle["properties"] if p["type"] == "olm.gvk"}
    owned = {(o["name"].split(".", 1)[1], o["version"], o["kind"])
             for o in csv["spec"]["customresourcedefinitions"]["owned"]}
    assert gvks == owned
    sub = load_one(BUNDLE / "install/03-subscription.yaml")
    cat = load_one(BUNDLE / "install/00-catalogsource.yaml")
    assert sub["spec"]["name"] == pkg["name"]
    assert sub["spec"]["channel"] in {b["name"] for b in blobs if b["schema"] == "olm.channel"}
    assert (sub["spec"]["source"], sub["spec"]["sourceNamespace"]) == \
        (cat["metadata"]["name"], cat["metadata"]["namespace"]) == \
        ("istrigger-catalog", "openshift-marketplace")
    og = load_one(BUNDLE / "install/02-operatorgroup.yaml")
    modes = {m["type"]: m["supported"] for m in csv["spec"]["installModes"]}
    assert og["metadata"]["namespace"] == sub["metadata"]["namespace"]
    assert modes["AllNamespaces"] and "targetNamespaces" not in (og.get("spec") or {})


def test_icon_is_the_svg_we_drew(csv):
    icon = csv["spec"]["icon"][0]
    assert icon["mediatype"] == "image/svg+xml"
    assert base64.b64decode(icon["base64data"]) == (ROOT / "olm-bundle/src/icon.svg").read_bytes()


# ---------------------------------------------------------------------------------------------
# Each rule fires on a broken copy


def _edit_yaml(path, fn):
    obj = load_one(path)
    fn(obj)
    path.write_text(yaml.safe_dump(obj, sort_keys=False))


def _edit_csv(fn):
    return lambda d: _edit_yaml(d / CSV_FILE, fn)


def _edit_ann(fn):
    def go(d):
        _edit_yaml(d / "metadata/annotations.yaml", lambda o: fn(o["annotations"]))
        (d / "bundle.Dockerfile").unlink()
    return go


def _set(path, value):
    def fn(obj):
        cur = obj
        for k in path[:-1]:
            cur = cur[k]
        cur[path[-1]] = value
    return fn


def _add_file(name, obj):
    def go(d):
        (d / "manifests" / name).write_text(yaml.safe_dump(obj) if isinstance(obj, dict) else obj)
    return go


def _deployment(csv):
    return csv["spec"]["install"]["spec"]["deployments"][0]


FAKE_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object"}}}]}}

BROKEN = {
    "hidden-file": ("F1", _add_file(".hidden.yaml", {"kind": "ConfigMap"})),
    "subdirectory": ("F1", lambda d: (d / "manifests/sub").mkdir()),
    "two-objects-in-a-file": ("F1", _add_file("two.yaml", "kind: Service\n---\nkind: Service\n")),
    "second-csv": ("F1", lambda d: shutil.copy(d / CSV_FILE, d / "manifests/other.clusterserviceversion.yaml")),
    "no-metadata-dir": ("F1", lambda d: shutil.rmtree(d / "metadata")),
    "annotation-missing": ("F2", _edit_ann(lambda a: a.pop("operators.operatorframework.io.bundle.package.v1"))),
    "mediatype-wrong": ("F2", _edit_ann(lambda a: a.update({"operators.operatorframework.io.bundle.mediatype.v1": "plain"}))),
    "channels-empty": ("F2", _edit_ann(lambda a: a.update({"operators.operatorframework.io.bundle.channels.v1": ""}))),
    "dockerfile-label-differs": ("F2", lambda d: (d / "bundle.Dockerfile").write_text(
        (d / "bundle.Dockerfile").read_text().replace("package.v1=istrigger", "package.v1=other"))),
    "bad-dependency": ("F3", lambda d: (d / "metadata/dependencies.yaml").write_text(
        "dependencies:\n- type: olm.bogus\n  value: {}\n")),
    "unsupported-kind": ("C1", _add_file("x.yaml", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "metadata": {"name": "x"}})),
    "bad-object-name": ("C2", _add_file("y.yaml", {"apiVersion": "v1", "kind": "Service",
                                                   "metadata": {"name": "Bad_Name"}})),
    "no-csv": ("C3", lambda d: (d / CSV_FILE).unlink()),
    "unowned-crd": ("C4", _add_file("example.com_widgets.yaml", FAKE_CRD)),
    "owned-crd-missing": ("C4", _edit_csv(lambda c: c["spec"]["customresourcedefinitions"]["owned"].append(
        {"name": "widgets.example.com", "version": "v1", "kind": "Widget", "description": "w"}))),
    "bundled-operator-sa": ("C4", _add_file("sa.yaml", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                        "metadata": {"name": "istrigger"}})),
    "related-image-invalid": ("C4", _edit_csv(_set(["spec", "relatedImages"], [{"name": "x", "image": "Not A Ref"}]))),
    "bundle-too-big": ("C4", _add_file("big_v1_configmap.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
        "data": {"x": base64.b64encode(__import__("os").urandom(1100000)).decode()}})),
    "csv-name-invalid": ("C5", _edit_csv(_set(["metadata", "name"], "Istrigger_v1"))),
    "alm-examples-not-json": ("C5", _edit_csv(_set(["metadata", "annotations", "alm-examples"], "[{"))),
    "alm-example-not-owned": ("C5", _edit_csv(_set(["metadata", "annotations", "alm-examples"],
                                                  '[{"apiVersion":"example.com/v1","kind":"Widget"}]'))),
    "no-install-mode-supported": ("C5", _edit_csv(lambda c: [m.update(supported=False) for m in c["spec"]["installModes"]])),
    "duplicate-install-mode": ("C5", _edit_csv(lambda c: c["spec"]["installModes"].append(c["spec"]["installModes"][0]))),
    "min-kube-not-semver": ("C5", _edit_csv(_set(["spec", "minKubeVersion"], "1.25"))),
    "wrong-case-annotation": ("C5", _edit_csv(_set(["metadata", "annotations", "olm.skiprange"], ">=0.0.1"))),
    "no-display-name": ("C5", _edit_csv(_set(["spec", "displayName"], ""))),
    "crd-two-storage-versions": ("C6", lambda d: (
        _add_file("example.com_widgets.yaml", dict(FAKE_CRD, spec=dict(FAKE_CRD["spec"], versions=[
            dict(FAKE_CRD["spec"]["versions"][0]), dict(FAKE_CRD["spec"]["versions"][0], name="v2")])))(d))),
    "no-provider": ("operatorhubv2", _edit_csv(_set(["spec", "provider"], {"url": "https://x.io"}))),
    "bad-maintainer-email": ("operatorhubv2", _edit_csv(_set(["spec", "maintainers"], [{"name": "a", "email": "nope"}]))),
    "bad-link": ("operatorhubv2", _edit_csv(_set(["spec", "links"], [{"name": "a", "url": "not a url"}]))),
    "two-icons": ("operatorhubv2", _edit_csv(lambda c: c["spec"]["icon"].append(c["spec"]["icon"][0]))),
    "icon-type": ("operatorhubv2", _edit_csv(lambda c: c["spec"]["icon"][0].update(mediatype="image/bmp"))),
    "capability-unknown": ("capabilities", _edit_csv(_set(["metadata", "annotations", "capabilities"], "Basic"))),
    "category-unknown": ("categories", _edit_csv(_set(["metadata", "annotations", "categories"], "Monitoring,Triggers"))),
    "removed-api": ("alpha-deprecated-apis", _add_file("r.yaml", {
        "apiVersion": "rbac.authorization.k8s.io/v1beta1", "kind": "Role", "metadata": {"name": "r"}})),
    "no-requests": ("good-practices", _edit_csv(
        lambda c: _deployment(c)["spec"]["template"]["spec"]["containers"][0].pop("resources"))),
    "no-crd-description": ("good-practices", _edit_csv(
        lambda c: [o.update(description="") for o in c["spec"]["customresourcedefinitions"]["owned"]]
        or c["spec"]["customresourcedefinitions"].setdefault("required", []).append(
            {"name": "widgets.example.com", "version": "v1", "kind": "Widget"}))),
    "channel-name": ("good-practices", _edit_ann(lambda a: a.update({
        "operators.operatorframework.io.bundle.channels.v1": "beta",
        "operators.operatorframework.io.bundle.channel.default.v1": "beta"}))),
    "crd-create-permission": ("good-practices", _edit_csv(
        lambda c: c["spec"]["install"]["spec"]["clusterPermissions"][0]["rules"].append(
            {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
             "verbs": ["create"]}))),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_rule_fires_on_broken_bundle(case, tmp_path):
    rule, breaker = BROKEN[case]
    d = tmp_path / "bundle"
    shutil.copytree(BUNDLE, d, ignore=shutil.ignore_patterns("catalog", "src", "install"))
    assert olmcheck.check_bundle(d) == []
    breaker(d)
    findings = olmcheck.check_bundle(d)
    assert any(f.rule == rule for f in findings), "rule %s did not fire:\n%s" % (rule, fmt(findings))


def _fbc(tmp_path, edit):
    d = tmp_path / "catalog"
    shutil.copytree(BUNDLE / "catalog", d)
    index = d / "istrigger/index.yaml"
    blobs = list(yaml.safe_load_all(index.read_text()))
    edit(blobs)
    index.write_text(yaml.safe_dump_all(blobs, sort_keys=False))
    return olmcheck.check_fbc(d)


def _bundle_blob(blobs, name):
    b = json.loads(json.dumps([x for x in blobs if x["schema"] == "olm.bundle"][0]))
    b["name"] = name
    for p in b["properties"]:
        if p["type"] == "olm.package":
            p["value"]["version"] = name.split(".v", 1)[1]
    return b


def _channel(blobs):
    return [x for x in blobs if x["schema"] == "olm.channel"][0]


FBC_BROKEN = {
    "default-channel-missing": lambda b: b[0].update(defaultChannel="fast"),
    "package-name-invalid": lambda b: [x.update(package="Is_Trigger") if x["schema"] != "olm.package"
                                       else x.update(name="Is_Trigger") for x in b],
    "two-heads": lambda b: (b.append(_bundle_blob(b, "istrigger.v0.0.9")),
                            _channel(b)["entries"].append({"name": "istrigger.v0.0.9"})),
    "stranded": lambda b: (b.append(_bundle_blob(b, "istrigger.v0.0.9")),
                           _channel(b)["entries"].append({"name": "istrigger.v0.0.9", "replaces": "istrigger.v0.0.8"}),
                           _channel(b)["entries"][0].update(replaces="istrigger.v0.0.8")),
    "entry-without-bundle": lambda b: _channel(b)["entries"].append(
        {"name": "istrigger.v0.0.9", "skips": []}) or _channel(b)["entries"][0].update(replaces="istrigger.v0.0.9"),
    "bundle-in-no-channel": lambda b: b.append(_bundle_blob(b, "istrigger.v0.0.9")),
    "no-package-property": lambda b: [x.update(properties=[p for p in x["properties"] if p["type"] != "olm.package"])
                                      for x in b if x["schema"] == "olm.bundle"],
    "duplicate-version": lambda b: (b.append(dict(_bundle_blob(b, "istrigger.v0.0.9"), properties=[
        p for x in b if x["schema"] == "olm.bundle" for p in x["properties"]][:1])),
        _channel(b)["entries"][0].update(replaces="istrigger.v0.0.9"),
        _channel(b)["entries"].append({"name": "istrigger.v0.0.9"})),
    "no-image": lambda b: [x.pop("image") for x in b if x["schema"] == "olm.bundle"],
}


@pytest.mark.parametrize("case", sorted(FBC_BROKEN))
def test_opm_rule_fires_on_broken_catalog(case, tmp_path):
    findings = _fbc(tmp_path, FBC_BROKEN[case])
    assert any(f.rule == "fbc" for f in findings), "%s: no finding" % case
