"""The operator's RBAC is exactly what the C code uses, in both directions: every Kubernetes API
call in src/ (read by c_api_calls.py: kube_get/list/create/update/patch/delete, kube_watch,
kube_informer_new, kube_update_retry, with the resource worked out through helpers and
parameters) is granted by the ClusterRole or Role bound to the istrigger ServiceAccount, and
every verb granted is used by some call. When this fails after you add an API call: add the
verb to manifests/clusterrole.yaml (or role.yaml for the operator's own namespace) and run
`make bundle`; when you remove one, remove the grant."""
import shutil

from c_api_calls import api_uses
from pkgtest import ROOT, manifests  # noqa: F401 (fixtures)

SA = ("istrigger", "istrigger-system")


def granted(manifests):
    """{(group, resource, verb): "file"} for every rule bound to the operator's SA."""
    roles = {}
    for name, obj in manifests.items():
        if obj["kind"] in ("ClusterRoleBinding", "RoleBinding") and any(
                s.get("kind") == "ServiceAccount" and (s["name"], s.get("namespace")) == SA
                for s in obj["subjects"]):
            roles[(obj["roleRef"]["kind"], obj["roleRef"]["name"])] = name
    out = {}
    for name, obj in manifests.items():
        if (obj["kind"], obj["metadata"]["name"]) in roles:
            for rule in obj.get("rules", []):
                assert not rule.get("resourceNames") or obj["kind"] == "Role" or rule["verbs"] != ["create"]
                for g in rule.get("apiGroups", []):
                    for res in rule.get("resources", []):
                        for verb in rule["verbs"]:
                            out[(g, res, verb)] = name
    return out


def test_code_calls_are_resolvable():
    _, problems = api_uses(ROOT)
    assert problems == [], "\n".join(problems)


def test_every_api_call_is_granted(manifests):
    uses, _ = api_uses(ROOT)
    grants = granted(manifests)
    missing = ["%s %s/%s (used at %s)" % (v, g or "core", r, ", ".join(sorted(set(w))[:3]))
               for (g, r, v), w in sorted(uses.items()) if (g, r, v) not in grants]
    assert missing == [], "not granted to the operator:\n" + "\n".join(missing)


def test_every_grant_is_used(manifests):
    uses, _ = api_uses(ROOT)
    unused = ["%s %s/%s (%s)" % (v, g or "core", r, f)
              for (g, r, v), f in sorted(granted(manifests).items()) if (g, r, v) not in uses]
    assert unused == [], "granted but never used by src/ (least privilege):\n" + "\n".join(unused)


def test_analyzer_sees_new_calls(tmp_path):
    """The analyzer is not blind: calls added to a copy of src/ show up, through a helper
    parameter too, and an unresolvable resource is reported."""
    for d in ("src", "include"):
        shutil.copytree(ROOT / d, tmp_path / d)
    (tmp_path / "src/controller/zz_probe.c").write_text('''
#include "istrigger/kube/client.h"
static int drop(struct kube_client *c, const struct kube_resource *res, const char *sub)
{
    return kube_patch(c, res, "ns", "x", KUBE_PATCH_MERGE, NULL, sub, NULL);
}
int zz_probe(struct kube_client *c, const struct kube_resource *mystery);
int zz_probe(struct kube_client *c, const struct kube_resource *mystery)
{
    kube_delete(c, KUBE_RES_SECRETS, "ns", "x", NULL);
    drop(c, KUBE_RES_CONFIGMAPS, "status");
    return kube_get(c, mystery, "ns", "x", NULL, NULL);
}
''')
    uses, problems = api_uses(tmp_path)
    assert ("", "secrets", "delete") in uses
    assert ("", "configmaps/status", "patch") in uses
    assert any("mystery" in p for p in problems), problems
