"""Everything we ship applies to okdsim (the project's stand-in OKD API server, with CRD schema
validation and RBAC on) with real kubectl, in the order an admin would: the CRDs first, then the
samples from the CSV's alm-examples, then the plain install (manifests/), the OLM bundle's
objects with the CSV, the Deployment the CSV describes, and the OLM install objects. A second
round of the same applies changes nothing."""
import json
import sys

import pytest
import yaml

from pkgtest import ROOT, load_one

sys.path.insert(0, str(ROOT / "test/okdsim/tests"))
from okdsim_fixture import OkdSim  # noqa: E402

OLM_NS = "istrigger-olm"  # where the bundle's objects go, as OLM would put them


def _kubectl(sim, *args):
    res = sim.kubectl(*args)
    assert res.returncode == 0, "kubectl %s:\n%s%s" % (" ".join(args), res.stdout, res.stderr)
    return res.stdout


def _write(path, objs):
    path.write_text(yaml.safe_dump_all(objs, sort_keys=False))
    return str(path)


def _steps(tmp):
    """The applies, in order: (label, kubectl args)."""
    csv = load_one(ROOT / "olm-bundle/manifests/istrigger.clusterserviceversion.yaml")
    examples = json.loads(csv["metadata"]["annotations"]["alm-examples"])
    dep = csv["spec"]["install"]["spec"]["deployments"][0]
    csv_deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": dep["name"], "namespace": OLM_NS, "labels": dep["label"]},
                      "spec": dep["spec"]}
    return [
        ("crds", ["apply", "-f", str(ROOT / "crds/istrigger.io_imagetriggers.yaml"),
                  "-f", str(ROOT / "crds/istrigger.io_imagetriggerconfigs.yaml")]),
        ("alm-examples", ["apply", "-n", OLM_NS, "-f", _write(tmp / "examples.yaml", examples)]),
        ("manifests", ["apply", "-k", str(ROOT / "manifests")]),
        ("config", ["apply", "-f", str(ROOT / "manifests/imagetriggerconfig.yaml")]),
        ("samples", ["apply", "-f", str(ROOT / "manifests/samples")]),
        ("bundle", ["apply", "-n", OLM_NS] + [
            a for p in sorted((ROOT / "olm-bundle/manifests").glob("*.yaml"))
            if not p.name.endswith(".clusterserviceversion.yaml") for a in ("-f", str(p))]),
        # OLM puts the CSV in the install namespace (its metadata.namespace is a placeholder)
        ("csv", ["apply", "-f", _write(tmp / "csv.yaml", [dict(csv, metadata=dict(
            csv["metadata"], namespace=OLM_NS))])]),
        ("csv-deployment", ["apply", "-f", _write(tmp / "csv-deployment.yaml", [csv_deployment])]),
        ("olm-install", ["apply", "-k", str(ROOT / "olm-bundle/install")]),
    ]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("okdsim-apply")
    sim = OkdSim(tmp / "sim", tls=True, token="admin-token", rbac=True).start()
    try:
        # What OKD has before we come: OLM's and the monitoring stack's CRDs, the marketplace.
        _kubectl(sim, "create", "-f", str(ROOT / "test/schemas"))
        _kubectl(sim, "create", "-f", _write(tmp / "ns.yaml", [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
            for n in ("openshift-marketplace", OLM_NS)]))
        steps = _steps(tmp)
        first, second = {}, {}
        for label, args in steps:
            first[label] = _kubectl(sim, *args)
            if label == "crds":
                _kubectl(sim, "wait", "--for=condition=Established", "--timeout=20s",
                         "crd/imagetriggers.istrigger.io", "crd/imagetriggerconfigs.istrigger.io")
        rv_before = _store_version(sim)
        for label, args in steps:
            second[label] = _kubectl(sim, *args)
        second["_rv"] = (rv_before, _store_version(sim))
        yield sim, first, second
    finally:
        sim.stop()


def _store_version(sim):
    """okdsim's current resourceVersion: it moves with every write to any object."""
    status, _, body = sim.request("GET", "/api/v1/namespaces")
    assert status == 200, body
    return body["metadata"]["resourceVersion"]


def _lines(out):
    return [line for line in out.splitlines() if line.strip()]


def test_first_round_creates_everything(applied):
    _, first, _ = applied
    created = [line for out in first.values() for line in _lines(out) if line.endswith(" created")]
    kinds = {line.split("/")[0].split(".")[0] for line in created}
    assert {"customresourcedefinition", "namespace", "serviceaccount", "clusterrole",
            "clusterrolebinding", "deployment", "service", "servicemonitor", "role", "rolebinding",
            "imagetriggerconfig", "imagetrigger", "clusterserviceversion", "catalogsource",
            "operatorgroup", "subscription"} <= kinds, first
    assert "deployment.apps/istrigger created" in first["csv-deployment"]


def test_second_round_changes_nothing(applied):
    _, _, second = applied
    rv_before, rv_after = second.pop("_rv")
    assert rv_before == rv_after, "the second round wrote to the API server"
    # kubectl says "configured" when its patch is not empty even if the server then changes
    # nothing, e.g. when the server defaults a field inside a list item the file leaves out:
    # write such fields in the file.
    changed = [line for out in second.values() for line in _lines(out) if not line.endswith(" unchanged")]
    assert changed == []
    assert sum(len(_lines(out)) for out in second.values()) >= 20


def test_stored_objects_are_what_we_wrote(applied):
    sim, _, _ = applied
    dep = json.loads(_kubectl(sim, "get", "deployment", "istrigger", "-n", "istrigger-system", "-o", "json"))
    want = load_one(ROOT / "manifests/deployment.yaml")
    c, w = dep["spec"]["template"]["spec"]["containers"][0], want["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == w["args"] and c["securityContext"] == w["securityContext"]
    assert dep["spec"]["template"]["spec"]["securityContext"] == want["spec"]["template"]["spec"]["securityContext"]
    csv = json.loads(_kubectl(sim, "get", "csv", "istrigger.v" + (ROOT / "VERSION").read_text().strip(),
                              "-n", OLM_NS, "-o", "json"))
    assert csv["spec"]["install"]["spec"]["deployments"][0]["spec"]["template"]["spec"]["containers"][0]["args"] == w["args"]
    cfg = json.loads(_kubectl(sim, "get", "imagetriggerconfig", "cluster", "-o", "json"))
    written = load_one(ROOT / "manifests/imagetriggerconfig.yaml")["spec"]
    assert {k: cfg["spec"][k] for k in written} == written


def test_okdsim_really_validates(applied, tmp_path):
    """The applies above mean something: okdsim rejects a config its CRD schema forbids."""
    sim, _, _ = applied
    bad = load_one(ROOT / "manifests/imagetriggerconfig.yaml")
    bad["spec"]["minimumInterval"] = "ten seconds"
    res = sim.kubectl("apply", "-f", _write(tmp_path / "bad.yaml", [bad]))
    assert res.returncode != 0 and "minimumInterval" in res.stderr, res.stdout + res.stderr
