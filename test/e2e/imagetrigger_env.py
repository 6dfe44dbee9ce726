"""Shared pieces of the ImageTrigger end-to-end tests: one docker-registry, one okdsim (with
OpenShift's import and trigger controllers) and one `istrigger run` per test module; every test
works in its own namespace. Objects are created with real kubectl, as a user would."""
import itertools
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "test" / "lib"))
sys.path.insert(0, str(REPO / "test" / "okdsim" / "tests"))

from istrigger_cli import SANITIZER_MARKS  # noqa: E402
from istrigger_proc import Operator  # noqa: E402
from openshift_env import settle, start_env, stop_env, wait_for  # noqa: E402

TRIGGERS = "image.openshift.io/triggers"
MANAGED = "istrigger.io/managed-triggers"
RESOLVE_NAMES = "alpha.image.policy.openshift.io/resolve-names"
LOOKUP_OWNERS = "istrigger.io/managed-lookup"
CRDS = [REPO / "crds" / "istrigger.io_imagetriggers.yaml",
        REPO / "crds" / "istrigger.io_imagetriggerconfigs.yaml"]
STARTED = "ImageTrigger controller started"

_ns_counter = itertools.count(1)

KIND_PATH = {"Deployment": ("apps/v1", "deployments"), "StatefulSet": ("apps/v1", "statefulsets"),
             "DaemonSet": ("apps/v1", "daemonsets"), "CronJob": ("batch/v1", "cronjobs")}


class TriggerEnv:
    def __init__(self, tmp, operator_args=(), start_operator=True):
        self.tmp = pathlib.Path(tmp)
        self.env = start_env(self.tmp)
        self.sim = self.env.sim
        self.registry = self.env.registry
        self.op = None
        try:
            for crd in CRDS:
                if crd.exists():
                    self.kubectl("apply", "-f", str(crd), check=True)
            wait_for(lambda: self.sim.request(
                "GET", "/apis/istrigger.io/v1alpha1/imagetriggers")[0] == 200,
                timeout=10, what="ImageTrigger CRD served")
            if start_operator:
                self.op = Operator(self.tmp / "operator", self.sim.kubeconfig, name="trigger",
                                   args=["--leader-elect=false"] + list(operator_args)).start()
                wait_for(lambda: STARTED in self.op.log(), 30, what="the ImageTrigger controller")
        except Exception:
            self.close()
            raise

    def close(self):
        try:
            if self.op is not None:
                rc = self.op.stop()
                log = self.op.log()
                for mark in SANITIZER_MARKS:
                    assert mark not in log, "sanitizer report from istrigger:\n" + log[-8000:]
                assert rc == 0, "istrigger exited with %s:\n%s" % (rc, log[-4000:])
        finally:
            stop_env(self.env)

    # ---- kubectl and raw reads
    def kubectl(self, *args, **kw):
        return self.sim.kubectl(*args, **kw)

    def apply(self, obj, check=True):
        return self.kubectl("apply", "-f", "-", input=json.dumps(obj), check=check)

    def new_namespace(self, prefix="it"):
        ns = "%s-%d" % (prefix, next(_ns_counter))
        self.env.create_namespace(ns)
        return ns

    def get(self, kind, ns, name):
        """The object, or None when it does not exist."""
        if kind == "ImageTrigger":
            path = "/apis/istrigger.io/v1alpha1/namespaces/%s/imagetriggers/%s" % (ns, name)
        elif kind == "ImageStream":
            path = "/apis/image.openshift.io/v1/namespaces/%s/imagestreams/%s" % (ns, name)
        else:
            gv, res = KIND_PATH[kind]
            path = "/apis/%s/namespaces/%s/%s/%s" % (gv, ns, res, name)
        code, _, body = self.sim.request("GET", path)
        if code == 404:
            return None
        assert code == 200, body
        return body

    def annotations(self, kind, ns, name):
        obj = self.get(kind, ns, name)
        return ((obj or {}).get("metadata") or {}).get("annotations") or {}

    def wait_annotation(self, kind, ns, name, value, key=TRIGGERS, timeout=15):
        """Wait until annotation `key` equals `value` (None: absent)."""
        def check():
            ann = self.annotations(kind, ns, name)
            return ann.get(key) == value and (ann or True)
        try:
            return wait_for(check, timeout, what="%s on %s %s/%s" % (key, kind, ns, name))
        except AssertionError:
            raise AssertionError("%s on %s %s/%s is %r, want %r\noperator log:\n%s" % (
                key, kind, ns, name, self.annotations(kind, ns, name).get(key), value,
                self.op.log()[-3000:] if self.op else ""))

    def images(self, kind, ns, name):
        """{container name: image} for containers and init containers."""
        obj = self.get(kind, ns, name)
        spec = obj["spec"]
        if kind == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        pod = spec["template"]["spec"]
        return {c["name"]: c["image"] for c in (pod.get("initContainers") or []) + pod["containers"]}

    def wait_image(self, kind, ns, name, container, image, timeout=15):
        return wait_for(lambda: self.images(kind, ns, name).get(container) == image, timeout,
                        what="%s of %s %s/%s to be %s (is %s)" % (
                            container, kind, ns, name, image,
                            self.images(kind, ns, name).get(container)))

    def condition(self, ns, name, ctype):
        it = self.get("ImageTrigger", ns, name) or {}
        for c in (it.get("status") or {}).get("conditions") or []:
            if c.get("type") == ctype:
                return c
        return {}

    def wait_condition(self, ns, name, ctype, status, reason=None, timeout=15):
        def check():
            c = self.condition(ns, name, ctype)
            return c.get("status") == status and (reason is None or c.get("reason") == reason) and c
        try:
            return wait_for(check, timeout, what="%s %s=%s" % (name, ctype, status))
        except AssertionError:
            raise AssertionError("condition %s of %s/%s is %r, want %s/%s\noperator log:\n%s" % (
                ctype, ns, name, self.condition(ns, name, ctype), status, reason,
                self.op.log()[-3000:] if self.op else ""))

    def wait_observed(self, ns, name, timeout=15):
        """Wait until the operator has reconciled the ImageTrigger's current generation."""
        def check():
            it = self.get("ImageTrigger", ns, name) or {}
            st = it.get("status") or {}
            return st.get("observedGeneration") == it["metadata"].get("generation") and it
        return wait_for(check, timeout, what="status of %s/%s observed" % (ns, name))

    # ---- images and streams
    def imported_stream(self, ns, name, tag, repo=None, content=None):
        """Push an image to the registry, create ImageStream name with `tag` importing it, wait
        for the import. Returns the digest pull spec the tag resolves to."""
        repo = repo or "%s/%s" % (ns, name)
        digest = self.env.push_image(repo, tag, content or "%s %s %s" % (ns, name, tag))
        self.env.create_stream(ns, name, [{
            "name": tag, "from": {"kind": "DockerImage", "name": self.registry.ref(repo, tag)},
            "importPolicy": {"insecure": True}}])
        settle(self.env, ns, name)
        return self.registry.ref(repo, digest=digest)


def pod_template(containers, init=None, labels=None):
    spec = {"containers": [{"name": c, "image": "placeholder:1"} for c in containers]}
    if init:
        spec["initContainers"] = [{"name": c, "image": "placeholder:1"} for c in init]
    return {"metadata": {"labels": labels or {"app": "x"}}, "spec": spec}


def workload(kind, ns, name, containers, init=None, annotations=None, template_annotations=None):
    tmpl = pod_template(containers, init, {"app": name})
    if template_annotations:
        tmpl["metadata"]["annotations"] = dict(template_annotations)
    gv, _ = KIND_PATH[kind]
    md = {"name": name, "namespace": ns}
    if annotations:
        md["annotations"] = dict(annotations)
    if kind == "CronJob":
        tmpl["spec"]["restartPolicy"] = "OnFailure"
        spec = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": tmpl}}}
    else:
        spec = {"selector": {"matchLabels": {"app": name}}, "template": tmpl}
        if kind == "StatefulSet":
            spec["serviceName"] = name
    return {"apiVersion": gv, "kind": kind, "metadata": md, "spec": spec}


def image_trigger(ns, name, kind, target, triggers, lookup=None):
    spec = {"target": {"kind": kind, "name": target}, "triggers": triggers}
    if lookup is not None:
        spec["imageLookup"] = lookup
    return {"apiVersion": "istrigger.io/v1alpha1", "kind": "ImageTrigger",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def entry(istag, container, ns=None, paused=False, cronjob=False):
    """One annotation entry exactly as `oc set triggers` writes it."""
    base = "spec.jobTemplate.spec.template.spec" if cronjob else "spec.template.spec"
    frm = '{"kind":"ImageStreamTag","name":"%s"%s}' % (
        istag, ',"namespace":"%s"' % ns if ns else "")
    return '{"from":%s,"fieldPath":"%s.containers[?(@.name==\\"%s\\")].image"%s}' % (
        frm, base, container, ',"paused":true' if paused else "")


def annotation(*entries):
    return "[" + ",".join(entries) + "]"


try:
    import pytest

    @pytest.fixture(scope="module")
    def tenv(tmp_path_factory):
        """Registry + okdsim + istrigger run, shared by the tests of one module."""
        env = TriggerEnv(tmp_path_factory.mktemp("imagetrigger"))
        try:
            yield env
        finally:
            env.close()
except ImportError:  # imported outside pytest
    pass
