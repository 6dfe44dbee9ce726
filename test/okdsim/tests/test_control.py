"""The test-control API (/_okdsim/faults, /_okdsim/requests), restarts with --state, and the command line
(port 0, ready line, --write-kubeconfig)."""

import json
import subprocess
import threading
import time

from okdsim_fixture import OKDSIM, PYTHON


def cm_path(ns, name=""):
    return "/api/v1/namespaces/%s/configmaps%s" % (ns, "/" + name if name else "")


def test_injected_failures_with_retry_after(sim, ns):
    path = cm_path(ns)
    out = sim.faults({"path": path, "count": 2, "code": 503, "retryAfter": 1})
    assert out["applied"][0]["count"] == 2
    for _ in range(2):
        st, h, body = sim.request("GET", path)
        assert st == 503 and h["Retry-After"] == "1"
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "the server is currently unable to handle the request",
                        "reason": "ServiceUnavailable", "details": {"retryAfterSeconds": 1}, "code": 503}
    assert sim.request("GET", path)[0] == 200
    sim.faults({"path": path, "method": "POST", "count": 1, "code": 429, "retryAfter": 2})
    assert sim.request("GET", path)[0] == 200                          # only POSTs match
    st, h, body = sim.request("POST", path, {"metadata": {"name": "x"}})
    assert st == 429 and body["reason"] == "TooManyRequests" and h["Retry-After"] == "2"
    sim.faults({"path": path, "count": 1, "code": 500, "message": "etcdserver: request timed out"})
    st, _, body = sim.request("GET", path)
    assert st == 500 and body["message"] == "etcdserver: request timed out" and body["reason"] == "InternalError"


def test_kubectl_retries_on_retry_after(sim, ns):
    sim.requests(reset=True)
    sim.faults({"path": cm_path(ns), "count": 2, "code": 429, "retryAfter": 1})
    t0 = time.time()
    res = sim.kubectl("-n", ns, "get", "configmaps", "-o", "name")
    assert res.returncode == 0, res.stderr
    assert time.time() - t0 >= 1.5                       # client-go honoured Retry-After twice
    assert sim.requests()["byVerbResource"]["list configmaps"] == 3


def test_delay_and_faults_listing(sim, ns):
    sim.faults({"pathPrefix": cm_path(ns), "delay": 0.6, "count": 1})
    t0 = time.time()
    assert sim.request("GET", cm_path(ns))[0] == 200
    assert time.time() - t0 >= 0.6
    sim.faults({"path": "/never", "code": 500, "count": -1})
    assert sim.request("GET", "/_okdsim/faults", token=None)[2]["faults"][0]["path"] == "/never"
    sim.request("DELETE", "/_okdsim/faults", token=None)
    assert sim.request("GET", "/_okdsim/faults", token=None)[2]["faults"] == []


def test_close_watches(sim, ns):
    events, done = [], threading.Event()

    def run():
        events.extend(sim.watch(cm_path(ns) + "?watch=1"))          # no timeout: would stay open for 30 min
        done.set()
    threading.Thread(target=run, daemon=True).start()
    time.sleep(0.5)
    sim.request("POST", cm_path(ns), {"metadata": {"name": "before"}})
    time.sleep(0.3)
    r = sim.faults({"action": "close-watches"})
    assert r["applied"][0]["closed"] >= 1
    assert done.wait(5)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "before")]


def test_request_counts(sim, ns):
    sim.requests(reset=True)
    sim.request("GET", cm_path(ns))
    sim.request("GET", cm_path(ns))
    sim.request("POST", cm_path(ns), {"metadata": {"name": "counted"}})
    sim.request("PATCH", cm_path(ns, "counted"), {"data": {"a": "b"}},
                headers={"Content-Type": "application/merge-patch+json"})
    sim.request("GET", "/apis/apps/v1/namespaces/%s/deployments/x/status" % ns)
    sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns + "-counted"}})
    time.sleep(0.5)   # the namespace controller creates the default ServiceAccount: not an API request
    r = sim.requests()
    assert r["byVerbResource"] == {"list configmaps": 2, "create configmaps": 1, "patch configmaps": 1,
                                   "get deployments.apps/status": 1, "create namespaces": 1}
    assert r["byVerb"] == {"list": 2, "create": 2, "patch": 1, "get": 1} and r["total"] == 6
    assert r["requests"][0] == {"verb": "list", "resource": "configmaps", "path": cm_path(ns),
                                "user": "system:admin"}
    sim.requests(reset=True)
    assert sim.requests()["total"] == 0


def test_restart_with_state(make_sim, tmp_path):
    state = tmp_path / "state.json"
    s = make_sim(state=state)
    s.request("POST", "/api/v1/namespaces", {"metadata": {"name": "keep"}})
    st, _, cm = s.request("POST", cm_path("keep"), {"metadata": {"name": "c"}, "data": {"a": "1"}})
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "persists.st.example"},
           "spec": {"group": "st.example", "scope": "Namespaced", "names": {"kind": "Persist", "plural": "persists"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "properties": {"spec": {"type": "object", "properties": {
                            "n": {"type": "integer"}}}}}}}]}}
    assert s.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0] == 201
    st, _, cr = s.request("POST", "/apis/st.example/v1/namespaces/keep/persists",
                          {"apiVersion": "st.example/v1", "kind": "Persist", "metadata": {"name": "p"},
                           "spec": {"n": 1}})
    assert st == 201
    s.request("POST", "/api/v1/namespaces/keep/serviceaccounts", {"metadata": {"name": "sa"}})
    tok = s.request("POST", "/api/v1/namespaces/keep/serviceaccounts/sa/token", {"spec": {}})[2]["status"]["token"]
    before = int(s.request("GET", cm_path("keep"))[2]["metadata"]["resourceVersion"])
    s.restart()
    st, _, cm2 = s.request("GET", cm_path("keep", "c"))
    assert st == 200 and cm2 == cm
    st, _, cr2 = s.request("GET", "/apis/st.example/v1/namespaces/keep/persists/p")
    assert st == 200 and cr2["metadata"]["uid"] == cr["metadata"]["uid"]
    assert s.request("GET", "/apis/st.example/v1/namespaces/keep/persists/p", token=tok)[0] == 200
    st, _, cm3 = s.request("PATCH", cm_path("keep", "c"), {"data": {"a": "2"}},
                           headers={"Content-Type": "application/merge-patch+json"})
    assert int(cm3["metadata"]["resourceVersion"]) > before
    assert "persists" in s.kubectl("api-resources", "--api-group=st.example", "-o", "name").stdout
    # the history did not survive: a watch from before the restart is too old
    evs = list(s.watch(cm_path("keep") + "?watch=1&timeoutSeconds=1&resourceVersion=%d" % (before - 1)))
    assert evs[0]["type"] == "ERROR" and evs[0]["object"]["code"] == 410


def test_command_line_port_zero_and_kubeconfig(tmp_path):
    kc = tmp_path / "kc.json"
    p = subprocess.Popen([PYTHON, str(OKDSIM), "--listen", "127.0.0.1:0", "--write-kubeconfig", str(kc),
                          "--no-openshift-controllers"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("okdsim ready on http://127.0.0.1:")
        port = int(line.strip().rsplit(":", 1)[1])
        assert port > 0
        cfg = json.loads(kc.read_text())
        assert cfg["clusters"][0]["cluster"]["server"] == "http://127.0.0.1:%d" % port
        res = subprocess.run(["/usr/bin/kubectl", "--kubeconfig", str(kc), "get", "ns", "kube-system", "-o", "name"],
                             capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert res.stdout.strip() == "namespace/kube-system", res.stderr
    finally:
        p.terminate()
        assert p.wait(10) == 0
