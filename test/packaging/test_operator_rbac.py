"""The operator, started exactly as manifests/deployment.yaml describes, does its job in okdsim
with only the RBAC the manifests grant.

okdsim runs with --rbac (every request of the ServiceAccount is authorized against the Roles and
ClusterRoles we applied). The operator process gets what a pod under restricted-v2 would: the
Deployment's args and environment (fieldRefs filled in as the kubelet would), in-cluster
configuration (KUBERNETES_SERVICE_HOST/PORT, and the ServiceAccount's token, CA and namespace at
/var/run/secrets/kubernetes.io/serviceaccount), its volumes (the serving-cert Secret, which the
test creates as OpenShift's service-ca would, read from the API like the kubelet does; the
emptyDir), a read-only root filesystem, an arbitrary non-root UID with GID 0, no capabilities
and no_new_privs. All of that in a private mount namespace (unshare), so nothing on the machine
changes. Only the listen address is moved to a free loopback port.

It then has to: win the leader Lease, write an ImageTrigger's triggers annotation on its
Deployment and the ImageTrigger's status, poll a real registry and import a pushed image through
an ImageStreamImport (so that okdsim's trigger controller rolls the Deployment out), report in
ImageTriggerConfig status, answer the probes over HTTPS, and serve /metrics to the platform
Prometheus's token (TokenReview + SubjectAccessReview) over TLS for the ServiceMonitor's server
name while refusing an anonymous scrape; and okdsim must not have refused any of its requests.
The same again with only what OLM makes of the CSV (its permissions, clusterPermissions and
deployment, in another namespace). A last run with one verb taken out of the ClusterRole shows
that a missing verb is caught."""
import base64
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from pkgtest import ROOT, load_one

sys.path.insert(0, str(ROOT / "test/okdsim/tests"))
from okdsim_fixture import OkdSim  # noqa: E402
import registry as reglib  # noqa: E402
from istrigger_proc import free_port  # noqa: E402

NS = "app"
OP_NS = "istrigger-system"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IMAGE_API = "/apis/image.openshift.io/v1"
POD_NAME = "istrigger-5d8f7c9b6-x2x7q"
POD_UID = 1000650000  # from the namespace's range, as restricted-v2 assigns


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

    def push(self, content, repo="web"):
        self.n += 1
        img = reglib.make_image(self.tmp / ("img%d" % self.n), content)
        return reglib.push(img, self.registry.ref(repo, "v1"), self.registry)

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
        # OKD has these CRDs; the plain install applies a ServiceMonitor and a PrometheusRule.
        _kubectl(sim, "create", "-f", str(ROOT / "test/schemas/monitoring.coreos.com_servicemonitors.yaml"),
                 "-f", str(ROOT / "test/schemas/monitoring.coreos.com_prometheusrules.yaml"))
        _kubectl(sim, "apply", "-k", str(ROOT / "manifests"))
        _kubectl(sim, "apply", "-f", str(ROOT / "manifests/imagetriggerconfig.yaml"))
        e.service_ca, e.server_name = _service_ca(e, load_one(ROOT / "manifests/service.yaml"), OP_NS)
        _platform_prometheus(e)
        yield e
    finally:
        e.stop()


def _service_ca(env, svc, namespace):
    """What OpenShift's service-ca does for a Service's serving-cert annotation: a Secret with a
    certificate for <service>.<namespace>.svc signed by the service CA."""
    secret = svc["metadata"]["annotations"]["service.beta.openshift.io/serving-cert-secret-name"]
    host = "%s.%s.svc" % (svc["metadata"]["name"], namespace)
    d = env.tmp / ("service-ca-" + namespace)
    ca, key = reglib.make_ca(d, cn="openshift-service-serving-signer")
    crt, skey = reglib.make_cert(d, ca, key, name="serving", cn=host,
                                 sans=("DNS:" + host, "DNS:%s.cluster.local" % host))
    _apply(env.sim, [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                      "metadata": {"name": secret, "namespace": namespace},
                      "data": {"tls.crt": base64.b64encode(crt.read_bytes()).decode(),
                               "tls.key": base64.b64encode(skey.read_bytes()).decode()}}])
    return ca, host


def _platform_prometheus(env):
    """openshift-monitoring/prometheus-k8s with what the cluster-monitoring operator grants it
    (get on /metrics), and its token."""
    _apply(env.sim, [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-monitoring"}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "prometheus-k8s", "namespace": "openshift-monitoring"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "prometheus-k8s"},
         "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "prometheus-k8s"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus-k8s"},
         "subjects": [{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "openshift-monitoring"}]}])
    env.prometheus_token = _service_account_token(env.sim, "openshift-monitoring", "prometheus-k8s")


def _service_account_token(sim, ns, name):
    code, _, body = sim.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (ns, name),
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                 "spec": {"expirationSeconds": 3600}})
    assert code == 201, body
    return body["status"]["token"]


def _kubelet_volume(env, vol, target, namespace):
    """Materialize a pod volume in `target` the way the kubelet would (Secret from the API)."""
    target.mkdir(parents=True)
    if "secret" in vol:
        code, _, sec = env.sim.request("GET", "/api/v1/namespaces/%s/secrets/%s" % (
            namespace, vol["secret"]["secretName"]))
        assert code == 200, "the pod would not start: %s" % sec
        for key, val in sec["data"].items():
            (target / key).write_bytes(base64.b64decode(val))
            (target / key).chmod(0o644)
        target.chmod(0o755)
    elif "emptyDir" in vol:
        target.chmod(0o1777)
    else:
        raise AssertionError("no emulation for volume %s" % vol)


def pod_command(env, workdir, port, dep, annotations=None, pod_name=POD_NAME):
    """argv and environment of the operator container of Deployment `dep` as the kubelet would
    start it."""
    ns = dep["metadata"]["namespace"]
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    c = spec["containers"][0]
    assert spec["securityContext"]["runAsNonRoot"] and "runAsUser" not in c.get("securityContext", {})
    binary = os.environ.get("ISTRIGGER_BIN") or str(ROOT / "build/istrigger")
    args = ["--listen=127.0.0.1:%d" % port if a.startswith("--listen=") else a for a in c["args"]]
    field = {"metadata.name": pod_name, "metadata.namespace": ns}
    penv = {k: v for k, v in os.environ.items() if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LANG")}
    for e in c.get("env", []):
        if "value" in e:
            penv[e["name"]] = e["value"]
        else:
            path = e["valueFrom"]["fieldRef"]["fieldPath"]
            m = re.fullmatch(r"metadata\.annotations\['(.+)'\]", path)
            ann = dict(pod["metadata"].get("annotations") or {}, **(annotations or {}))
            penv[e["name"]] = ann.get(m.group(1), "") if m else field[path]
    u = env.sim.url.split("//", 1)[1]
    penv["KUBERNETES_SERVICE_HOST"], penv["KUBERNETES_SERVICE_PORT"] = u.rsplit(":", 1)

    # The ServiceAccount volume, then the pod's own volumes; /tmp last, since the sources live
    # under /tmp. /var/run is /run, which gets a fresh tmpfs.
    sa = workdir / "serviceaccount"
    sa.mkdir(parents=True)
    (sa / "token").write_text(_service_account_token(env.sim, ns, spec["serviceAccountName"]))
    (sa / "ca.crt").write_text(pathlib.Path(env.sim.pki["ca"]).read_text())
    (sa / "namespace").write_text(ns)
    for f in sa.iterdir():
        f.chmod(0o644)
    sa.chmod(0o755)
    mounts = [(str(sa), SA_DIR)]
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        src = workdir / ("vol-" + m["name"])
        _kubelet_volume(env, vols[m["name"]], src, ns)
        mounts.append((str(src), m["mountPath"]))
    mounts.sort(key=lambda m: m[1] == "/tmp")
    script = ["set -e", "mount -t tmpfs tmpfs /run"]
    # The binary through a mount under /run: a checkout under /tmp would be hidden by the /tmp
    # emptyDir below ("failed to execute /tmp/.../istrigger: No such file or directory").
    bindir = "/run/istrigger-bin"
    script += ["mkdir -p %s" % bindir, "mount --bind %s %s" % (os.path.dirname(binary), bindir)]
    for src, dst in mounts:
        assert dst == "/tmp" or dst.startswith("/var/run/"), "cannot emulate a mount at %s" % dst
        script += ["mkdir -p %s" % dst if dst != "/tmp" else "true", "mount --bind %s %s" % (src, dst)]
    csc = c["securityContext"]
    if csc.get("readOnlyRootFilesystem"):
        script.append("mount -o remount,bind,ro /")
    drop = csc["capabilities"]["drop"] == ["ALL"]
    nnp = csc.get("allowPrivilegeEscalation") is False
    setpriv = ["setpriv", "--reuid=%d" % POD_UID, "--regid=0", "--clear-groups"]
    setpriv += ["--inh-caps=-all", "--bounding-set=-all"] if drop else []
    setpriv += ["--no-new-privs"] if nnp else []
    script.append('exec %s "$@"' % " ".join(setpriv))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "; ".join(script), "sh",
            os.path.join(bindir, os.path.basename(binary))] + args, penv


class Pod:
    def __init__(self, env, name, deployment=None, annotations=None):
        """`annotations`: added to the pod's, as OLM adds olm.targetNamespaces."""
        self.env = env
        self.dir = env.tmp / name
        self.dir.mkdir()
        self.port = free_port()
        dep = deployment or load_one(ROOT / "manifests/deployment.yaml")
        self.pod_name = "%s-%s" % (POD_NAME, name.replace("pod", "").strip("-") or "0")
        argv, penv = pod_command(env, self.dir, self.port, dep, annotations, self.pod_name)
        self.log_path = self.dir / "istrigger.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, env=penv, stdout=self.log_file, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def probe(self, path):
        """What the kubelet's HTTPS probe sees (it does not verify the certificate)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen("https://127.0.0.1:%d%s" % (self.port, path), timeout=2,
                                        context=ctx) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def scrape(self, token, ca, server_name):
        """A scrape as Prometheus does it with the ServiceMonitor's tlsConfig: verify the
        certificate against the service CA for serverName, send the bearer token."""
        ctx = ssl.create_default_context(cafile=str(ca))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5, context=ctx)
        conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.port), timeout=5),
                                    server_hostname=server_name)
        headers = {"Authorization": "Bearer " + token} if token else {}
        conn.request("GET", "/metrics", headers=headers)
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        conn.close()
        return r.status, body

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


def _workload(name, image, ns):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def _stream(name, ref, interval, ns):
    return {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": name, "namespace": ns,
                         "annotations": {"istrigger.io/poll-interval": interval}},
            "spec": {"tags": [{"name": "latest", "from": {"kind": "DockerImage", "name": ref},
                               "importPolicy": {"insecure": True}}]}}


def _trigger(name, ns):
    sample = load_one(ROOT / "manifests/samples/imagetrigger.yaml")
    sample["metadata"] = {"name": name, "namespace": ns}
    sample["spec"]["target"]["name"] = name
    sample["spec"]["triggers"][0]["from"]["name"] = "%s:latest" % name
    sample["spec"]["triggers"][0]["containers"] = [name]
    return sample


def _tag_image(env, name, ns=NS):
    s = env.get("%s/namespaces/%s/imagestreams/%s" % (IMAGE_API, ns, name)) or {}
    for t in (s.get("status") or {}).get("tags") or []:
        if t.get("tag") == "latest" and t.get("items"):
            return t["items"][0]["image"]
    return None


def _setup_app(env, ns, repo):
    """A namespace with an ImageStream (polled every second) whose tag comes from the registry,
    a Deployment, and the sample ImageTrigger between them; okdsim imports the first image."""
    d1 = env.push("%s v1" % repo, repo)
    _apply(env.sim, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
    _apply(env.sim, [_stream("web", env.registry.ref(repo, "v1"), "1s", ns),
                     _workload("web", "web:placeholder", ns), _trigger("web", ns)])
    wait_for(lambda: _tag_image(env, "web", ns) == d1, 15, "okdsim's first import of web:latest")


def _check_pod_like_restricted_v2(pod):
    """The process really runs as the pod would: arbitrary UID, GID 0, no capabilities,
    no_new_privs, read-only root filesystem."""
    status = pathlib.Path("/proc/%d/status" % pod.proc.pid).read_text()
    assert re.search(r"^Uid:\s+%d\s" % POD_UID, status, re.M) and re.search(r"^Gid:\s+0\s", status, re.M)
    assert re.search(r"^CapEff:\s+0+$", status, re.M) and re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    root = [line.split() for line in pathlib.Path("/proc/%d/mountinfo" % pod.proc.pid).read_text().splitlines()
            if line.split()[4] == "/"]
    assert root and root[-1][5].split(",")[0] == "ro", root


def _check_does_its_job(env, pod, ns, repo, lease_ns):
    """Leader Lease, triggers annotation, ImageTrigger status, an import after a push and the
    rollout okdsim's trigger controller makes of it, ImageTriggerConfig status."""
    wait_for(lambda: env.get("/apis/coordination.k8s.io/v1/namespaces/%s/leases/istrigger-leader" % lease_ns),
                     30, "the leader Lease")
    wait_for(lambda: (env.get("/apis/coordination.k8s.io/v1/namespaces/%s/leases/istrigger-leader" % lease_ns)
                      or {}).get("spec", {}).get("holderIdentity") == pod.pod_name, 60, "%s to hold the Lease" % pod.pod_name)

    def annotated():
        d = env.get("/apis/apps/v1/namespaces/%s/deployments/web" % ns) or {}
        return (d.get("metadata", {}).get("annotations") or {}).get("image.openshift.io/triggers")
    triggers = json.loads(wait_for(annotated, 30, "the triggers annotation on deploy/web"))
    assert triggers[0]["from"] == {"kind": "ImageStreamTag", "name": "web:latest"}

    def ready():
        it = env.get("/apis/istrigger.io/v1alpha1/namespaces/%s/imagetriggers/web" % ns) or {}
        return [c for c in (it.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"]
    wait_for(ready, 30, "ImageTrigger status conditions")

    # A push: istrigger polls, imports; okdsim's trigger controller rolls out the Deployment.
    d2 = env.push("%s v2" % repo, repo)
    wait_for(lambda: _tag_image(env, "web", ns) == d2, 30, "istrigger to import the pushed image")

    def rolled():
        d = env.get("/apis/apps/v1/namespaces/%s/deployments/web" % ns) or {}
        img = d["spec"]["template"]["spec"]["containers"][0]["image"]
        return img if img.endswith(d2) else None
    wait_for(rolled, 30, "deploy/web to run the new image")

    def config_status():
        return (env.get("/apis/istrigger.io/v1alpha1/imagetriggerconfigs/cluster") or {}).get("status")
    wait_for(config_status, 30, "ImageTriggerConfig status")
    assert pod.proc.poll() is None, "the operator exited:\n" + pod.log()[-3000:]


def _check_no_refusals(env, pod, start, rc):
    refused = forbidden_requests(env.sim, start)
    assert refused == [], "okdsim refused requests of the operator:\n%s\n%s" % (
        "\n".join(refused), pod.log()[-3000:])
    assert rc == 0, pod.log()[-3000:]


def test_operator_does_its_job_with_only_the_manifests_rbac(env):
    _setup_app(env, NS, "web")
    start = _log_len(env.sim)
    pod = Pod(env, "pod1")
    try:
        wait_for(lambda: pod.probe("/healthz") == 200, 30, "/healthz")
        _check_pod_like_restricted_v2(pod)
        wait_for(lambda: pod.probe("/readyz") == 200, 30, "/readyz")
        sm = load_one(ROOT / "manifests/servicemonitor.yaml")["spec"]["endpoints"][0]
        assert sm["tlsConfig"]["serverName"] == env.server_name
        code, body = pod.scrape(env.prometheus_token, env.service_ca, sm["tlsConfig"]["serverName"])
        assert code == 200 and "istrigger_" in body, (code, body[:300])
        assert pod.scrape(None, env.service_ca, sm["tlsConfig"]["serverName"])[0] in (401, 403)
        _check_does_its_job(env, pod, NS, "web", OP_NS)
    finally:
        rc = pod.stop()
    _check_no_refusals(env, pod, start, rc)


def test_operator_does_its_job_as_olm_installs_the_csv(env):
    """What OLM does with the CSV, in another namespace: a ServiceAccount, a Role from
    `permissions`, a ClusterRole from `clusterPermissions`, the bundle's Service (for the
    serving certificate) and the Deployment from `install.spec.deployments`; nothing from
    manifests/ is bound to this ServiceAccount."""
    olm_ns, app_ns = "istrigger-olm", "app-olm"
    csv = load_one(ROOT / "olm-bundle/manifests/istrigger.clusterserviceversion.yaml")
    install = csv["spec"]["install"]["spec"]
    sa = install["deployments"][0]["spec"]["template"]["spec"]["serviceAccountName"]
    subject = [{"kind": "ServiceAccount", "name": sa, "namespace": olm_ns}]
    rbac = "rbac.authorization.k8s.io/v1"
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": olm_ns}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": olm_ns}}]
    for i, perm in enumerate(install.get("permissions", [])):
        name = "%s-%d" % (csv["metadata"]["name"], i)
        objs += [{"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": olm_ns},
                  "rules": perm["rules"]},
                 {"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": olm_ns},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                  "subjects": subject}]
    for i, perm in enumerate(install.get("clusterPermissions", [])):
        name = "%s-cluster-%d" % (csv["metadata"]["name"], i)
        objs += [{"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name}, "rules": perm["rules"]},
                 {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                  "subjects": subject}]
    _apply(env.sim, objs)
    svc = load_one(ROOT / "olm-bundle/manifests/istrigger-metrics_v1_service.yaml")
    _service_ca(env, svc, olm_ns)
    d = install["deployments"][0]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": d["name"], "namespace": olm_ns, "labels": d["label"]}, "spec": d["spec"]}
    _apply(env.sim, [deployment])
    _setup_app(env, app_ns, "olm")
    start = _log_len(env.sim)
    pod = Pod(env, "pod-olm", deployment)
    try:
        wait_for(lambda: pod.probe("/readyz") == 200, 30, "/readyz")
        _check_does_its_job(env, pod, app_ns, "olm", olm_ns)
    finally:
        rc = pod.stop()
    _check_no_refusals(env, pod, start, rc)


def test_single_namespace_install_mode_watches_only_the_target(env):
    """OwnNamespace/SingleNamespace: OLM sets olm.targetNamespaces on the pod; the operator
    (manifests' Deployment and RBAC) then acts in that namespace and leaves others alone."""
    _setup_app(env, "app-target", "target")
    _setup_app(env, "app-other", "other")
    start = _log_len(env.sim)
    pod = Pod(env, "pod-single", annotations={"olm.targetNamespaces": "app-target"})
    try:
        wait_for(lambda: pod.probe("/readyz") == 200, 30, "/readyz")
        _check_does_its_job(env, pod, "app-target", "target", OP_NS)
        other = env.get("/apis/apps/v1/namespaces/app-other/deployments/web")
        assert "image.openshift.io/triggers" not in (other["metadata"].get("annotations") or {})
        it = env.get("/apis/istrigger.io/v1alpha1/namespaces/app-other/imagetriggers/web")
        assert not (it.get("status") or {}).get("conditions"), it.get("status")
    finally:
        rc = pod.stop()
    _check_no_refusals(env, pod, start, rc)


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
