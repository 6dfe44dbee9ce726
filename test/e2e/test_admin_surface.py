"""End-to-end: the cluster-admin surface of a running operator (issue 7).

okdsim (over HTTPS: kubectl sends tokens only over TLS) enforces RBAC and knows three tokens:
the operator's (cluster admin, in its kubeconfig), "reader-token" (alice: `get` on the URL
/metrics, as platform Prometheus has, and `get` on imagetriggerconfigs, which the operator asks
about for the page and the API, because every authenticated user may `get` /api/* URLs through
system:discovery) and "stranger-token" (bob: authenticated, granted nothing but discovery).
A real docker-registry serves one healthy image; a second ImageStream points at a repository
that does not exist, so its source fails. The operator runs with `--auth kubernetes`.

Checked: metrics move by exactly the right amounts for a real import; the JSON API lists what
okdsim holds; auth answers 401/403/200 and keeps the probes open; the status page in headless
Chromium shows the failing source first and the healthy one, works from the keyboard and
refreshes itself (screenshot in test/artifacts/status-page.png).
"""
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml

from conftest import REPO, OkdSim, Operator, reglib, stream_obj, wait_for
from imagetrigger_env import image_trigger, workload
from promql import metric_names, monitoring_exprs

NS = "shop"
FAILING = ("Failing", "BackingOff")  # a failing source waits (backs off) between retries
READER, STRANGER = "reader-token", "stranger-token"
ARTIFACTS = REPO / "test" / "artifacts"


def get(op, path, token=None):
    """(status, body text) of GET http://operator/PATH."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (op.port, path))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metrics(op):
    code, text = get(op, "/metrics", READER)
    assert code == 200, text
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, line
        labels = tuple(sorted(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(ms, name, **labels):
    """Sum of the series of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in ms.items()
               if n == name and all((k, str(x)) in ls for k, x in labels.items()))


def api(op, what):
    code, body = get(op, "/api/v1/" + what, READER)
    assert code == 200, body
    return json.loads(body)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admin")
    registry = reglib.Registry(tmp / "registry").start()
    sim = OkdSim(tmp / "okdsim", tls=True, token="admin-token", rbac=True,
                 extra_args=["--scheduled-import-interval", "15m", "--quiet",
                             "--user-token", READER + "=alice",
                             "--user-token", STRANGER + "=bob"]).start()
    ops = []
    try:
        def apply(obj):
            sim.kubectl("apply", "-f", "-", input=json.dumps(obj), check=True)

        for ns in (NS, "istrigger"):
            apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        # The shipped viewer role, bound to alice as an admin would.
        sim.kubectl("apply", "-f", str(REPO / "manifests/status-viewer-clusterrole.yaml"),
                    check=True)
        apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "istrigger-reader"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "istrigger-status-viewer"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                             "name": "alice"}]})
        for crd in ("istrigger.io_imagetriggers.yaml", "istrigger.io_imagetriggerconfigs.yaml"):
            sim.kubectl("apply", "-f", str(REPO / "crds" / crd), check=True)
        # The healthy tag triggers a Deployment through an ImageTrigger.
        apply(workload("Deployment", NS, "web", ["web"]))
        wait_for(lambda: sim.kubectl("get", "imagetriggers", "-n", NS).returncode == 0,
                 timeout=10, what="ImageTrigger CRD served")
        apply(image_trigger(NS, "web", "Deployment", "web",
                            [{"from": {"name": "web:latest"}, "containers": ["web"]}]))
        img = reglib.make_image(tmp / "v1", "web v1")
        digest = reglib.push(img, registry.ref("shop/web", "latest"), registry)
        poll = {"istrigger.io/poll-interval": "1s"}
        for obj in (stream_obj("web", [("latest", registry.ref("shop/web", "latest"))], poll),
                    stream_obj("broken", [("v1", registry.ref("shop/missing", "v1"))], poll)):
            sim.kubectl("create", "-n", NS, "-f", "-", input=json.dumps(obj), check=True)
        op = Operator(tmp, sim.kubeconfig, name="admin",
                      args=["--auth", "kubernetes", "--console-dashboard",
                            "--minimum-interval", "1s", "--operator-namespace", "istrigger",
                            "--max-backoff", "2s"])
        ops.append(op)
        op.start()

        class Env:
            pass
        e = Env()
        e.tmp, e.sim, e.registry, e.op, e.first_digest = tmp, sim, registry, op, digest
        yield e
    finally:
        for op in ops:
            op.stop()
        sim.stop()
        registry.stop()


def sources_by_name(op):
    """{ns/stream:tag: source}; empty until the sync controller has registered its provider."""
    out = {}
    code, body = get(op, "/api/v1/sources", READER)
    if code == 404:
        return out
    assert code == 200, body
    for s in json.loads(body)["items"]:
        for t in s["tags"]:
            out["%s/%s:%s" % (t["namespace"], t["imageStream"], t["tag"])] = s
    return out


def test_api_lists_what_okdsim_holds(env):
    srcs = wait_for(lambda: (lambda s: s if s.get(NS + "/broken:v1", {}).get("state") in FAILING
                             and s.get(NS + "/web:latest", {}).get("state") == "UpToDate"
                             else None)(sources_by_name(env.op)),
                    timeout=20, what="one failing and one up-to-date source")
    web, broken = srcs[NS + "/web:latest"], srcs[NS + "/broken:v1"]
    assert web["source"] == env.registry.ref("shop/web", "latest")
    assert web["lastDigest"] == env.first_digest
    assert web["interval"] == "1s"
    assert broken["source"] == env.registry.ref("shop/missing", "v1")
    assert broken["reason"] and broken["message"]
    # Exactly the streams okdsim holds with a poll interval, no more.
    out = json.loads(env.sim.kubectl("get", "is", "-n", NS, "-o", "json", check=True).stdout)
    held = {"%s/%s:%s" % (NS, i["metadata"]["name"], t["name"])
            for i in out["items"] for t in i["spec"]["tags"]}
    assert set(srcs) == held
    status = api(env.op, "status")
    assert [r["state"] in FAILING for r in status["rows"]] == [True, False]
    assert status["rows"][1]["state"] == "UpToDate"
    assert status["summary"]["Failing"] + status["summary"]["BackingOff"] == 1
    assert status["summary"]["UpToDate"] == 1
    index = api(env.op, "")
    assert {"sources", "imports", "imagetriggers", "status"} <= set(index["resources"])
    its = wait_for(lambda: [i for i in api(env.op, "imagetriggers")["items"] if i["ready"]],
                   timeout=15, what="the ImageTrigger ready")
    assert [(i["namespace"], i["name"], i["target"]) for i in its] == [
        (NS, "web", {"kind": "Deployment", "name": "web"})]
    assert its[0]["triggers"][0]["from"]["name"] == "web:latest"
    rows = api(env.op, "status")["rows"]
    assert [(w["kind"], w["name"]) for w in rows[1]["workloads"]] == [("Deployment", "web")]
    assert rows[0]["workloads"] == []


def test_metrics_reflect_a_real_import(env):
    op, reg = env.op, env.registry
    wait_for(lambda: value(metrics(op), "istrigger_tracked_tags", namespace=NS,
                           state="Failing") + value(metrics(op), "istrigger_tracked_tags",
                                                    namespace=NS, state="BackingOff") == 1,
             timeout=20, what="the failing tag counted")
    before = metrics(op)
    assert value(before, "istrigger_tracked_tags", namespace=NS, state="UpToDate") == 1
    assert value(before, "istrigger_leader") == 1
    host = reg.ref("x", "y").split("/")[0]
    img = reglib.make_image(env.tmp / "v2", "web v2")
    new = reglib.push(img, reg.ref("shop/web", "latest"), reg)
    wait_for(lambda: any(t.get("tag") == "latest" and t["items"][0]["image"] == new
                         for t in json.loads(env.sim.kubectl(
                             "get", "is/web", "-n", NS, "-o", "json", check=True).stdout)
                         ["status"].get("tags", [])),
             timeout=15, what="the new digest imported")
    after = wait_for(lambda: (lambda m: m if value(m, "istrigger_imports_total", namespace=NS,
                                                   result="success")
                              > value(before, "istrigger_imports_total", namespace=NS,
                                      result="success") else None)(metrics(op)),
                     timeout=10, what="the import counted")

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("istrigger_imports_total", namespace=NS, registry=host, result="success") == 1
    assert delta("istrigger_imports_total", namespace=NS, result="failure") == 0
    assert delta("istrigger_polls_total", registry=host, result="changed") == 1
    assert delta("istrigger_detection_to_import_seconds_count", registry=host) == 1
    assert delta("istrigger_detection_to_import_seconds_bucket", registry=host, le="+Inf") == 1
    assert value(after, "istrigger_polls_total", registry=host, result="error") > 0  # broken
    assert delta("istrigger_registry_requests_total", registry=host, kind="head", code="200") >= 1
    api_series = {k: v for k, v in after.items() if k[0] == "istrigger_api_requests_total"}
    assert delta("istrigger_api_requests_total", verb="POST", code="201") >= 1, api_series
    assert value(after, "istrigger_tracked_tags", namespace=NS, state="UpToDate") == 1
    assert value(after, "istrigger_imagetriggers", namespace=NS, ready="true") == 1


def test_auth_rejects_bad_tokens_and_keeps_probes_open(env):
    op = env.op
    for path in ("/metrics", "/", "/api/v1/sources", "/api/v1/status", "/no-such-page"):
        assert get(op, path) == (401, "Unauthorized\n"), path
        assert get(op, path, "not-a-token") == (401, "Unauthorized\n"), path
        assert get(op, path, STRANGER) == (403, "Forbidden\n"), path
    assert get(op, "/metrics", READER)[0] == 200
    assert get(op, "/", READER)[0] == 200
    assert get(op, "/api/v1/sources", READER)[0] == 200
    assert get(op, "/healthz") == (200, "ok\n")
    assert get(op, "/readyz") == (200, "ok\n")
    # The operator asked okdsim, and okdsim decided: the reviews are in its request report.
    keys = " ".join(env.sim.requests().get("byVerbResource", {}))
    assert "create tokenreviews" in keys and "create subjectaccessreviews" in keys, keys


def test_status_page_in_a_real_browser(env):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    wait_for(lambda: [r["state"] in FAILING for r in api(env.op, "status")["rows"]]
             == [True, False], timeout=20, what="both rows")
    res = subprocess.run(["node", str(REPO / "test/browser/status_page.mjs"),
                          "http://127.0.0.1:%d/" % env.op.port, READER, str(shot)],
                         capture_output=True, text=True, timeout=120,
                         cwd=str(REPO / "test/browser"))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "exception" not in out, out.get("exception")
    assert out["status"] == 200 and out["errors"] == []
    origin = "http://127.0.0.1:%d/" % env.op.port
    assert all(u.startswith(origin) for u in out["requests"]), out["requests"]
    rows = out["rows"]
    assert len(rows) == 2
    assert rows[0]["problem"] and "broken:v1" in rows[0]["text"]
    assert "Failing" in rows[0]["text"] and "404" in rows[0]["text"]
    assert "shop/missing:v1" in rows[0]["text"]
    assert not rows[1]["problem"] and "web:latest" in rows[1]["text"]
    assert "Up to date" in rows[1]["text"] and "Deployment/web" in rows[1]["text"]
    assert "1 failing" in out["summary"]
    assert out["overflowX"] <= 0, "horizontal scrolling at 1366px"
    assert out["firstTab"] == "Skip to the tables"
    assert out["slashFocus"] == "filter"
    assert len(out["filtered"]) == 1 and "broken:v1" in out["filtered"][0]
    assert out["afterEscape"] == 2
    assert len(out["onlyProblems"]) == 1 and "broken:v1" in out["onlyProblems"][0]
    assert out["refreshed"] and out["navigations"] == 1 and out["rowsAfterRefresh"] == 2
    assert shot.stat().st_size > 10000


def dashboard_configmap(env):
    res = env.sim.kubectl("get", "configmap", "istrigger-dashboard", "-n",
                          "openshift-config-managed", "-o", "json")
    return json.loads(res.stdout) if res.returncode == 0 else None


def test_operator_keeps_the_console_dashboard_configmap(env):
    """--console-dashboard: the ConfigMap the console reads appears, equal to the checked-in
    manifest, and an operator start puts back what someone changed."""
    shipped = yaml.safe_load((REPO / "manifests/console-dashboard.yaml").read_text())
    cm = wait_for(lambda: dashboard_configmap(env), timeout=10, what="the dashboard ConfigMap")
    assert cm["data"] == shipped["data"]
    assert cm["metadata"]["labels"]["console.openshift.io/dashboard"] == "true"
    env.sim.kubectl("patch", "configmap", "istrigger-dashboard", "-n", "openshift-config-managed",
                    "--type=merge", "-p", json.dumps({"data": {"istrigger.json": "{}"},
                                                      "metadata": {"labels": {"team": "ops"}}}),
                    check=True)
    assert dashboard_configmap(env)["data"]["istrigger.json"] == "{}"
    second = Operator(env.tmp, env.sim.kubeconfig, name="dashboard",
                      args=["--console-dashboard", "--operator-namespace", "istrigger"])
    second.start()
    try:
        cm = wait_for(lambda: (lambda c: c if c["data"] == shipped["data"] else None)(
            dashboard_configmap(env)), timeout=10, what="the dashboard restored")
        assert cm["metadata"]["labels"]["team"] == "ops"  # other labels are kept
    finally:
        second.stop()


def test_alerts_and_dashboard_only_use_metrics_the_running_operator_exports(env):
    code, text = get(env.op, "/metrics", READER)
    assert code == 200
    exported = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        exported.add(name)
        if kind == "histogram":
            exported |= {name + "_bucket", name + "_sum", name + "_count"}
    used = {(where, n) for where, expr in monitoring_exprs(REPO) for n in metric_names(expr)}
    assert len(used) > 15
    assert {(w, n) for w, n in used if n not in exported} == set()


def make_cert(directory, name):
    crt, key = directory / (name + ".crt"), directory / (name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                    "/CN=istrigger-metrics.istrigger-system.svc", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return crt, key


def https_get(port, path, ca):
    ctx = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen("https://127.0.0.1:%d%s" % (port, path), context=ctx,
                                timeout=5) as r:
        return r.status, r.read().decode()


def test_operator_serves_https_and_follows_a_rotated_certificate(env, tmp_path):
    """--tls-cert-file/--tls-key-file as mounted from the service-ca Secret: HTTPS only, and
    a rotated pair (kubelet swaps the files) is picked up without a restart."""
    a_crt, a_key = make_cert(tmp_path, "a")
    b_crt, b_key = make_cert(tmp_path, "b")
    mount = tmp_path / "mount"
    mount.mkdir()
    for src, dst in ((a_crt, "tls.crt"), (a_key, "tls.key")):
        shutil.copy(src, mount / dst)
    op = Operator(env.tmp, env.sim.kubeconfig, name="tls",
                  args=["--tls-cert-file", str(mount / "tls.crt"),
                        "--tls-key-file", str(mount / "tls.key"),
                        "--operator-namespace", "istrigger"])
    # Operator.start() probes over plain HTTP; start the process the same way, probe HTTPS.
    op._log = open(op.log_path, "ab")
    op.proc = subprocess.Popen(op.argv(), stdout=op._log, stderr=subprocess.STDOUT)
    try:
        def serves(ca):
            try:
                return https_get(op.port, "/healthz", ca) == (200, "ok\n")
            except OSError:
                return False
        wait_for(lambda: serves(a_crt), timeout=20, interval=0.2, what="HTTPS /healthz")
        status, text = https_get(op.port, "/metrics", a_crt)
        assert status == 200 and "# TYPE istrigger_tracked_tags gauge" in text
        with pytest.raises(OSError):
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % op.port, timeout=5).read()
        for src, dst in ((b_crt, "tls.crt"), (b_key, "tls.key")):
            shutil.copy(src, mount / (dst + ".new"))
            os.replace(mount / (dst + ".new"), mount / dst)
        wait_for(lambda: serves(b_crt), timeout=15, interval=0.5,
                 what="the rotated certificate served")
        with pytest.raises(OSError):
            https_get(op.port, "/healthz", a_crt)
    finally:
        op.stop()
