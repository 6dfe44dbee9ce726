"""The bundle and catalog in olm-bundle/ are exactly what `make bundle` generates from the single
sources (crds/, manifests/, VERSION, olm-bundle/src/): the generator is run into a temporary
directory and every file compared, and the CSV's deployment and permissions are compared with
manifests/ object by object."""
import filecmp
import os
import subprocess

from pkgtest import ROOT, load_one, csv, manifests  # noqa: F401 (fixtures)

GEN = ROOT / "scripts/gen-bundle.py"


def _generate(out, **env):
    e = dict(os.environ, **env)
    res = subprocess.run(["/usr/bin/python3", str(GEN), "--out", str(out)], env=e,
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res


def test_bundle_is_what_the_generator_makes(tmp_path):
    _generate(tmp_path)
    generated = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(str(p.relative_to(ROOT / "olm-bundle")) for d in ("manifests", "metadata", "catalog")
                       for p in (ROOT / "olm-bundle" / d).rglob("*") if p.is_file())
    committed += [f for f in ("bundle.Dockerfile", "catalog.Dockerfile") if (ROOT / "olm-bundle" / f).exists()]
    assert sorted(committed) == generated, "run `make bundle`"
    differ = [f for f in generated if not filecmp.cmp(tmp_path / f, ROOT / "olm-bundle" / f, shallow=False)]
    assert differ == [], "out of date, run `make bundle`: %s" % differ


def test_check_mode_reports_drift(tmp_path):
    res = subprocess.run(["/usr/bin/python3", str(GEN), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    import shutil
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("build*", ".git", "node_modules"),
                    symlinks=True)
    (copy / "VERSION").write_text("0.2.0\n")
    res = subprocess.run(["/usr/bin/python3", str(GEN), "--root", str(copy), "--check"],
                         capture_output=True, text=True, cwd=copy,
                         env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
    assert res.returncode == 1
    assert "istrigger.clusterserviceversion.yaml" in res.stdout and "deployment.yaml" in res.stdout


def test_csv_install_spec_equals_manifests(csv, manifests):
    install = csv["spec"]["install"]["spec"]
    dep = manifests["deployment.yaml"]
    assert install["deployments"] == [{"name": dep["metadata"]["name"], "label": dep["metadata"]["labels"],
                                       "spec": dep["spec"]}]
    bound = {(o["roleRef"]["kind"], o["roleRef"]["name"]) for o in manifests.values()
             if o["kind"].endswith("RoleBinding") and {"kind": "ServiceAccount", "name": "istrigger",
                                                       "namespace": "istrigger-system"} in o["subjects"]}
    for kind, key in (("ClusterRole", "clusterPermissions"), ("Role", "permissions")):
        # OLM turns permissions into Roles in the operator's namespace only
        rules = [r for o in manifests.values() if (o["kind"], o["metadata"]["name"]) in bound
                 and o["kind"] == kind and o["metadata"].get("namespace") in (None, "istrigger-system")
                 for r in o["rules"]]
        want = [{"serviceAccountName": "istrigger", "rules": rules}] if rules else None
        assert install.get(key) == want, key
    version = (ROOT / "VERSION").read_text().strip()
    assert csv["metadata"]["name"] == "istrigger.v" + version
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":v" + version)
    assert csv["metadata"]["annotations"]["containerImage"] == image
    assert {"name": "istrigger", "image": image} in csv["spec"]["relatedImages"]


def test_bundle_extras_equal_manifests(manifests):
    """Service, ServiceMonitor, PrometheusRule and the Prometheus RBAC ship in the bundle
    unchanged but for the namespace, which OLM sets."""
    shipped = 0
    for name, obj in manifests.items():
        if obj["kind"] not in ("Service", "ServiceMonitor", "PrometheusRule") and \
                not obj["metadata"]["name"].endswith("-prometheus"):
            continue
        f = ROOT / "olm-bundle/manifests" / ("%s_%s_%s.yaml" % (
            obj["metadata"]["name"], obj["apiVersion"].replace("/", "_"), obj["kind"].lower()))
        b = load_one(f)
        obj = dict(obj, metadata={k: v for k, v in obj["metadata"].items() if k != "namespace"})
        assert b == obj, name
        shipped += 1
    assert shipped >= 4
