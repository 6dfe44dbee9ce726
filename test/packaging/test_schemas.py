"""Every object we ship validates against the schema of its CRD: the CSV, ServiceMonitor,
PrometheusRule, CatalogSource, OperatorGroup and Subscription against the upstream CRDs copied
into test/schemas/ (origin in SOURCES.txt), and our own custom resources (the default
ImageTriggerConfig, the samples, every alm-example) against crds/. The validator is
test/lib/openapi.py; unknown fields count as errors."""
import json

import pytest

from pkgtest import ROOT, load_one, csv  # noqa: F401 (fixtures)
from openapi import crd_schema, validate

SCHEMAS = ROOT / "test/schemas"
UPSTREAM = {
    ("operators.coreos.com", "ClusterServiceVersion"): "operators.coreos.com_clusterserviceversions.yaml",
    ("operators.coreos.com", "CatalogSource"): "operators.coreos.com_catalogsources.yaml",
    ("operators.coreos.com", "OperatorGroup"): "operators.coreos.com_operatorgroups.yaml",
    ("operators.coreos.com", "Subscription"): "operators.coreos.com_subscriptions.yaml",
    ("monitoring.coreos.com", "ServiceMonitor"): "monitoring.coreos.com_servicemonitors.yaml",
    ("monitoring.coreos.com", "PrometheusRule"): "monitoring.coreos.com_prometheusrules.yaml",
}
_cache = {}


def schema_for(obj):
    group, _, version = obj["apiVersion"].rpartition("/")
    key = (group, obj["kind"])
    if key in UPSTREAM:
        path = SCHEMAS / UPSTREAM[key]
    else:
        matches = [p for p in (ROOT / "crds").glob("*.yaml") if p.name != "kustomization.yaml"
                   and load_one(p)["spec"]["group"] == group
                   and load_one(p)["spec"]["names"]["kind"] == obj["kind"]]
        if not matches:
            return None
        path = matches[0]
    if path not in _cache:
        _cache[path] = load_one(path)
    return crd_schema(_cache[path], version)


def shipped_objects():
    files = sorted((ROOT / "manifests").glob("*.yaml")) + sorted((ROOT / "manifests/samples").glob("*.yaml"))
    files += sorted((ROOT / "olm-bundle/manifests").glob("*.yaml"))
    files += sorted((ROOT / "olm-bundle/install").glob("*.yaml"))
    return [p for p in files if p.name != "kustomization.yaml"]


def custom_kinds():
    out = set()
    for p in shipped_objects():
        o = load_one(p)
        group = o["apiVersion"].rpartition("/")[0]
        if "." in group and not group.endswith("k8s.io"):
            out.add((str(p.relative_to(ROOT)), group, o["kind"]))
    return sorted(out)


@pytest.mark.parametrize("rel,group,kind", custom_kinds())
def test_custom_resource_matches_its_crd_schema(rel, group, kind):
    obj = load_one(ROOT / rel)
    schema = schema_for(obj)
    assert schema is not None, "%s: no schema for %s %s (CRD missing from crds/?)" % (rel, group, kind)
    errors = validate(obj, schema)
    assert errors == [], "%s:\n%s" % (rel, "\n".join(errors))


def test_the_kinds_the_issue_names_are_checked():
    kinds = {k for _, _, k in custom_kinds()}
    assert {"ClusterServiceVersion", "ServiceMonitor", "CatalogSource", "OperatorGroup",
            "Subscription", "ImageTriggerConfig", "ImageTrigger"} <= kinds
    if not any(o.get("kind") == "PrometheusRule" for o in map(load_one, (ROOT / "manifests").glob("*.yaml"))):
        pytest.skip("no PrometheusRule in manifests/ yet (it comes from the admin-surface issue)")
    assert "PrometheusRule" in kinds


def test_alm_examples_match_their_crd_schemas(csv):
    examples = json.loads(csv["metadata"]["annotations"]["alm-examples"])
    assert examples
    for ex in examples:
        schema = schema_for(ex)
        assert schema is not None, ex["kind"]
        assert validate(ex, schema) == [], ex["kind"]


def test_descriptor_paths_exist_in_the_crd_schemas(csv):
    """Spec/status descriptors name real fields, and every spec field an example sets has one
    (scorecard's olm-spec-descriptors rule)."""
    examples = json.loads(csv["metadata"]["annotations"]["alm-examples"])
    for owned in csv["spec"]["customresourcedefinitions"]["owned"]:
        crd = [c for c in map(load_one, (ROOT / "crds").glob("istrigger.io_*.yaml"))
               if c["metadata"]["name"] == owned["name"]][0]
        props = crd_schema(crd, owned["version"])["properties"]
        for section, key in (("spec", "specDescriptors"), ("status", "statusDescriptors")):
            for d in owned.get(key, []):
                node = props[section]
                for part in d["path"].split("."):
                    assert part in node.get("properties", {}), "%s %s: no field %s" % (owned["kind"], key, d["path"])
                    node = node["properties"][part]
        paths = {d["path"] for d in owned.get("specDescriptors", [])}
        for ex in examples:
            if ex["kind"] == owned["kind"]:
                for field in ex.get("spec", {}):
                    assert field in paths, "%s example field spec.%s has no specDescriptor" % (ex["kind"], field)


def test_validator_rejects_what_the_api_server_would():
    sm = load_one(ROOT / "manifests/servicemonitor.yaml")
    schema = schema_for(sm)
    sm["spec"]["endpoints"][0]["scheme"] = "ftp"
    sm["spec"]["endpoints"][0]["intervall"] = "30s"
    errors = validate(sm, schema)
    assert any("scheme" in e for e in errors) and any("intervall" in e for e in errors), errors
    sub = load_one(ROOT / "olm-bundle/install/03-subscription.yaml")
    del sub["spec"]["sourceNamespace"]
    assert any("sourceNamespace" in e for e in validate(sub, schema_for(sub)))
