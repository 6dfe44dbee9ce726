"""The operator, started exactly as manifests/deployment.yaml describes, does its job in okdsim
with only the RBAC the manifests grant.

okdsim runs with --rbac (every request of the ServiceAccount is authorized against the Roles and
ClusterRoles we applied). The operator process gets what a pod would: the Deployment's args and
environment (fieldRefs filled in as the kubelet would), and in-cluster configuration, i.e.
KUBERNETES_SERVICE_HOST/PORT and a token, CA and namespace file at
/var/run/secrets/kubernetes.io/serviceaccount, mounted in a private mount namespace (unshare) so
nothing on the machine changes. The token is the ServiceAccount's, from a TokenRequest. Only the
listen address is moved to a free loopback port.

It then has to: win the leader Lease, write an ImageTrigger's triggers annotation on its
Deployment and the ImageTrigger's status, poll a real registry and import a pushed image through
an ImageStreamImport (so that okdsim's trigger controller rolls the Deployment out), report in
ImageTriggerConfig status, and answer /healthz and /readyz; and okdsim must not have refused
any of its requests. A second run with one verb taken out of the ClusterRole shows that a
missing verb is caught."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from conftest import ROOT, load_one

sys.path.insert(0, str(ROOT / "test/okdsim/tests"))
from okdsim_fixture import OkdSim  # noqa: E402
import registry as reglib  # noqa: E402
from istrigger_proc import free_port  # noqa: E402

NS = "app"
OP_NS = "istrigger-system"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IMAGE_API = "/apis/image.openshift.io/v1"
POD_NAME = "istrigger-5d8f7c9b6-x2x7q"


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def _kubectl(sim, *args, input=None):
    res = sim.kubectl(*args, input=input)
    assert res.returncode == 0, "kubectl %s: %s%s" % (" ".join(args), res.stdout, res.stderr)
    return res.stdout


def _apply(sim, objs):
    return _kubectl(sim, "apply", "-f", "-", input=yaml.safe_dump_all(objs))


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.registry = reglib.Registry(tmp / "registry").start()
        self.sim = OkdSim(tmp / "okdsim", tls=True, token="admin-token", rbac=True, extra_args=[
            "--scheduled-import-interval", "15m", "--verbose"]).start()
        self.n = 0

    def push(self, content):
        self.n += 1
        img = reglib.make_image(self.tmp / ("img%d" % self.n), content)
        return reglib.push(img, self.registry.ref("web", "v1"), self.registry)

    def get(self, path):
        code, _, body = self.sim.request("GET", path)
        return body if code == 200 else None

    def stop(self):
        self.sim.stop()
        self.registry.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(tmp_path_factory.mktemp("operator-rbac"))
    try:
        sim = e.sim
        _kubectl(sim, "apply", "-f", str(ROOT / "crds/istrigger.io_imagetriggers.yaml"),
                 "-f", str(ROOT / "crds/istrigger.io_imagetriggerconfigs.yaml"))
        _kubectl(sim, "wait", "--for=condition=Established", "--timeout=20s",
                 "crd/imagetriggers.istrigger.io", "crd/imagetriggerconfigs.istrigger.io")
        # OKD has these CRDs; the plain install applies a ServiceMonitor.
        _kubectl(sim, "create", "-f", str(ROOT / "test/schemas/monitoring.coreos.com_servicemonitors.yaml"))
        _kubectl(sim, "apply", "-k", str(ROOT / "manifests"))
        _kubectl(sim, "apply", "-f", str(ROOT / "manifests/imagetriggerconfig.yaml"))
        yield e
    finally:
        e.stop()


def _service_account_token(sim):
    code, _, body = sim.request("POST", "/api/v1/namespaces/%s/serviceaccounts/istrigger/token" % OP_NS,
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                 "spec": {"expirationSeconds": 3600}})
    assert code == 201, body
    return body["status"]["token"]


def pod_command(sim, sa_dir, port):
    """argv and environment of the operator container as the kubelet would start it."""
    dep = load_one(ROOT / "manifests/deployment.yaml")
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    binary = os.environ.get("ISTRIGGER_BIN") or str(ROOT / "build/istrigger")
    args = ["--listen=127.0.0.1:%d" % port if a.startswith("--listen=") else a for a in c["args"]]
    field = {"metadata.name": POD_NAME, "metadata.namespace": dep["metadata"]["namespace"]}
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LANG")}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            path = e["valueFrom"]["fieldRef"]["fieldPath"]
            m = re.fullmatch(r"metadata\.annotations\['(.+)'\]", path)
            env[e["name"]] = (pod["metadata"].get("annotations") or {}).get(m.group(1), "") if m else field[path]
    u = sim.url.split("//", 1)[1]
    env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = u.rsplit(":", 1)
    # A private mount namespace with its own /run, where the ServiceAccount volume is mounted
    # at the path the in-cluster configuration reads (/var/run is /run).
    script = ('mount -t tmpfs tmpfs /run && mkdir -p %s && mount --bind "$1" %s && shift && exec "$@"'
              % (SA_DIR, SA_DIR))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(sa_dir),
            binary] + args, env


class Pod:
    def __init__(self, env, name):
        self.env = env
        self.dir = env.tmp / name
        sa = self.dir / "serviceaccount"
        sa.mkdir(parents=True)
        (sa / "token").write_text(_service_account_token(env.sim))
        (sa / "ca.crt").write_text(pathlib.Path(env.sim.pki["ca"]).read_text())
        (sa / "namespace").write_text(OP_NS)
        self.port = free_port()
        argv, penv = pod_command(env.sim, sa, self.port)
        self.log_path = self.dir / "istrigger.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, env=penv, stdout=self.log_file, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def http(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


def forbidden_requests(sim, since=0):
    """Requests okdsim answered 403, from its request log (written with --verbose)."""
    lines = sim.log_path.read_text(errors="replace").splitlines()[since:]
    return [line for line in lines if re.search(r'" 403 ', line)]


def _log_len(sim):
    return len(sim.log_path.read_text(errors="replace").splitlines())


def _workload(name, image):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def _stream(name, ref, interval):
    return {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": name, "namespace": NS,
                         "annotations": {"istrigger.io/poll-interval": interval}},
            "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": ref},
                               "importPolicy": {"insecure": True}}]}}


def _trigger(name):
    sample = load_one(ROOT / "manifests/samples/imagetrigger.yaml")
    sample["metadata"] = {"name": name, "namespace": NS}
    sample["spec"]["target"]["name"] = name
    sample["spec"]["triggers"][0]["from"]["name"] = "%s:latest" % name
    sample["spec"]["triggers"][0]["containers"] = [name]
    return sample


def _tag_image(env, name):
    s = env.get("%s/namespaces/%s/imagestreams/%s" % (IMAGE_API, NS, name)) or {}
    for t in (s.get("status") or {}).get("tags") or []:
        if t.get("tag") == "latest" and t.get("items"):
            return t["items"][0]["image"]
    return None


def test_operator_does_its_job_with_only_the_manifests_rbac(env):
    sim = env.sim
    d1 = env.push("web v1")
    _apply(sim, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
    _apply(sim, [_stream("web", env.registry.ref("web", "v1"), "1s"), _workload("web", "web:placeholder"),
                 _trigger("web")])
    wait_for(lambda: _tag_image(env, "web") == d1, 15, "okdsim's first import of web:latest")
    start = _log_len(sim)
    pod = Pod(env, "pod1")
    try:
        wait_for(lambda: pod.http("/healthz") == 200, 30, "/healthz")
        wait_for(lambda: pod.http("/readyz") == 200, 30, "/readyz")
        lease = wait_for(lambda: env.get("/apis/coordination.k8s.io/v1/namespaces/%s/leases/istrigger-leader" % OP_NS),
                         30, "the leader Lease")
        assert lease["spec"]["holderIdentity"] == POD_NAME

        def annotated():
            d = env.get("/apis/apps/v1/namespaces/%s/deployments/web" % NS) or {}
            return (d.get("metadata", {}).get("annotations") or {}).get("image.openshift.io/triggers")
        triggers = json.loads(wait_for(annotated, 30, "the triggers annotation on deploy/web"))
        assert triggers[0]["from"] == {"kind": "ImageStreamTag", "name": "web:latest"}

        def ready():
            it = env.get("/apis/istrigger.io/v1alpha1/namespaces/%s/imagetriggers/web" % NS) or {}
            return [c for c in (it.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"]
        wait_for(ready, 30, "ImageTrigger status conditions")

        # A push: istrigger polls, imports; okdsim's trigger controller rolls out the Deployment.
        d2 = env.push("web v2")
        wait_for(lambda: _tag_image(env, "web") == d2, 30, "istrigger to import the pushed image")

        def rolled():
            d = env.get("/apis/apps/v1/namespaces/%s/deployments/web" % NS) or {}
            img = d["spec"]["template"]["spec"]["containers"][0]["image"]
            return img if img.endswith(d2) else None
        wait_for(rolled, 30, "deploy/web to run the new image")

        def config_status():
            return (env.get("/apis/istrigger.io/v1alpha1/imagetriggerconfigs/cluster") or {}).get("status")
        wait_for(config_status, 30, "ImageTriggerConfig status")
        assert pod.proc.poll() is None, "the operator exited:\n" + pod.log()[-3000:]
    finally:
        rc = pod.stop()
    assert forbidden_requests(sim, start) == [], "okdsim refused requests of the operator:\n%s\n%s" % (
        "\n".join(forbidden_requests(sim, start)), pod.log()[-3000:])
    assert rc == 0, pod.log()[-3000:]


def test_a_missing_verb_is_caught(env):
    """Take `create imagestreamimports` away: the import must not happen, okdsim refuses the
    request, and the check above would fail."""
    sim = env.sim
    role = load_one(ROOT / "manifests/clusterrole.yaml")
    rules = [r for r in role["rules"] if r["resources"] != ["imagestreamimports"]]
    assert len(rules) == len(role["rules"]) - 1
    _apply(sim, [dict(role, rules=rules)])
    try:
        d3 = env.push("web v3")  # a new digest for the stream's tag
        start = _log_len(sim)
        pod = Pod(env, "pod2")
        try:
            wait_for(lambda: forbidden_requests(sim, start), 40, "okdsim to refuse an ImageStreamImport")
            assert _tag_image(env, "web") != d3
        finally:
            pod.stop()
        assert any("imagestreamimports" in line for line in forbidden_requests(sim, start))
    finally:
        _apply(sim, [role])
