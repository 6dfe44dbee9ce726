"""Shared pieces of the operator's end-to-end tests: okdsim (with OpenShift's own scheduled
import pushed out to 15 minutes, so an import seen within seconds came from istrigger), a real
Debian docker-registry, skopeo pushes, real kubectl, and the operator binary.

    env = E2E(tmp, registry=Registry(...).start())
    env.kubectl("annotate", "is/web", "-n", "app", "istrigger.io/poll-interval=2s")
    env.push("app", "v1", "content")          # -> digest
    env.wait_image("app", "web", "v1", digest)
"""
import contextlib
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "test" / "lib"))
sys.path.insert(0, str(REPO / "test" / "okdsim" / "tests"))

import registry as reglib  # noqa: E402
from istrigger_proc import Operator  # noqa: E402,F401
from okdsim_fixture import OkdSim  # noqa: E402

IMAGE_API = "/apis/image.openshift.io/v1"
CRD = REPO / "crds" / "istrigger.io_imagetriggerconfigs.yaml"


def wait_for(fn, timeout=10.0, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


@contextlib.contextmanager
def e2e_env(tmp, registry, sim_args=()):
    """An E2E on `registry` (started, may be None) that stops okdsim, every operator and the
    registry however the block ends: a fixture whose setup fails leaves no server behind."""
    e = None
    try:
        e = E2E(tmp, registry, sim_args)
        yield e
    finally:
        if e is not None:
            e.close()
        if registry is not None:
            registry.stop()


class E2E:
    def __init__(self, tmp, registry, sim_args=()):
        self.tmp = pathlib.Path(tmp)
        self.registry = registry
        self.sim = OkdSim(self.tmp / "okdsim",
                          extra_args=["--scheduled-import-interval", "15m", "--quiet"]
                          + list(sim_args)).start()
        self._n = 0
        self.operators = []

    def close(self):
        for op in self.operators:
            op.stop()
        self.sim.stop()

    # ---- kubectl and the API
    def kubectl(self, *args, input=None, check=True):
        return self.sim.kubectl(*args, input=input, check=check)

    def create(self, obj, ns=None):
        args = ["create", "-f", "-"] + (["-n", ns] if ns else [])
        return self.kubectl(*args, input=json.dumps(obj))

    def namespace(self, ns):
        self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def stream(self, ns, name):
        code, _, body = self.sim.request("GET", "%s/namespaces/%s/imagestreams/%s"
                                         % (IMAGE_API, ns, name))
        assert code == 200, body
        return body

    def image(self, ns, name, tag):
        """status.tags[tag].items[0].image, or None."""
        for t in (self.stream(ns, name).get("status") or {}).get("tags") or []:
            if t.get("tag") == tag and t.get("items"):
                return t["items"][0].get("image")
        return None

    def wait_image(self, ns, name, tag, digest, timeout=10.0):
        return wait_for(lambda: self.image(ns, name, tag) == digest, timeout,
                        interval=0.05, what="%s/%s:%s = %s" % (ns, name, tag, digest))

    def events(self, ns, reason=None):
        out = json.loads(self.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
        return [e for e in out if reason is None or e.get("reason") == reason]

    def wait_event(self, ns, reason, contains="", timeout=15.0):
        def find():
            return [e for e in self.events(ns, reason) if contains in e.get("message", "")]
        return wait_for(find, timeout, interval=0.3, what="event %s %r in %s" % (reason, contains,
                                                                                ns))

    def requests(self, reset=False):
        return self.sim.requests(reset=reset)

    # ---- images
    def push(self, repo, tag, content, registry=None, **kw):
        reg = registry or self.registry
        self._n += 1
        img = reglib.make_image(self.tmp / ("img%d" % self._n), content, **kw)
        return reglib.push(img, reg.ref(repo, tag), reg)

    def push_index(self, repo, tag, platforms, registry=None):
        reg = registry or self.registry
        self._n += 1
        idx = reglib.make_index(self.tmp / ("idx%d" % self._n), platforms,
                                content="%s %d" % (repo, self._n))
        reglib.push(idx, reg.ref(repo, tag), reg)
        return idx

    # ---- the operator
    def operator(self, *args, name="op", env=None):
        op = Operator(self.tmp, self.sim.kubeconfig, args=list(args), name=name, env=env)
        self.operators.append(op)
        return op.start()


def stream_obj(name, tags, annotations=None):
    """An ImageStream with DockerImage tags: tags = [(tag, from, extra-dict)]."""
    spec_tags = []
    for t in tags:
        tag, src = t[0], t[1]
        extra = t[2] if len(t) > 2 else {}
        st = {"name": tag, "from": {"kind": "DockerImage", "name": src},
              "importPolicy": {"insecure": True}}
        for k, v in extra.items():
            if k == "importPolicy":
                st["importPolicy"].update(v)
            else:
                st[k] = v
        spec_tags.append(st)
    return {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"tags": spec_tags}}


def isi_posts(report, ns=None):
    """ImageStreamImport POSTs in an okdsim request report (optionally in one namespace)."""
    return sum(1 for r in report.get("requests", [])
               if r.get("verb") == "create"
               and (r.get("resource") or "").split(".")[0] == "imagestreamimports"
               and (ns is None or "/namespaces/%s/" % ns in r.get("path", "")))


def writes(report, exclude=("leases",)):
    """{"VERB RESOURCE": count} of the writes in an okdsim request report (lease renewals of
    leader election excluded by default)."""
    out = {}
    for k, v in report.get("byVerbResource", {}).items():
        verb, _, res = k.partition(" ")
        if verb in ("create", "update", "patch", "delete") and res.split(".")[0] not in exclude:
            out[k] = v
    return out
