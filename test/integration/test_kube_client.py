"""The C Kubernetes client (src/kube/) against okdsim over HTTPS: REST verbs, patches, Status
errors, pagination, conflict retry, 429/500 with Retry-After, bearer tokens and client
certificates. Driven through build/kubetool (test/kubeclient/kubetool.c)."""

import pathlib
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from kubetool import KubeTool, start_tls_cert_sim, start_tls_token_sim  # noqa: E402


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = start_tls_token_sim(tmp_path_factory.mktemp("kube-client"))
    yield s
    s.stop()


@pytest.fixture
def kt(sim):
    return KubeTool(sim.kubeconfig)


_n = [0]


@pytest.fixture
def ns(sim, kt):
    _n[0] += 1
    name = "kc%d" % _n[0]
    kt.run("create", "namespaces", "-", input={"metadata": {"name": name}})
    return name


def test_crud_and_patches_over_https_with_bearer_token(kt, ns):
    created = kt.run("create", "configmaps", ns, input={"metadata": {"name": "app"}, "data": {"a": "1"}})
    assert created["metadata"]["resourceVersion"]
    got = kt.run("get", "configmaps", ns, "app")
    assert got["data"] == {"a": "1"}

    merged = kt.run("patch", "configmaps", ns, "app", "merge", input={"data": {"b": "2", "a": None}})
    assert merged["data"] == {"b": "2"}
    jp = kt.run("patch", "configmaps", ns, "app", "json",
                input=[{"op": "add", "path": "/data/c", "value": "3"}])
    assert jp["data"] == {"b": "2", "c": "3"}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1"},
                                                         {"name": "side", "image": "busybox"}]}}}}
    kt.run("create", "deployments.apps", ns, input=dep)
    sm = kt.run("patch", "deployments.apps", ns, "web", "strategic",
                input={"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})
    images = {c["name"]: c["image"] for c in sm["spec"]["template"]["spec"]["containers"]}
    assert images == {"web": "nginx:2", "side": "busybox"}

    got["data"] = {"replaced": "yes"}
    got["metadata"].pop("resourceVersion")
    upd = kt.run("update", "configmaps", ns, input=got)
    assert upd["data"] == {"replaced": "yes"}

    st = kt.run("delete", "configmaps", ns, "app")
    assert st["kind"] == "Status" and st["status"] == "Success"
    err = kt.run("get", "configmaps", ns, "app", expect_ok=False)
    assert err == {"error": "ENOENT", "code": 404, "reason": "NotFound",
                   "message": 'get configmaps %s/app: 404 NotFound: configmaps "app" not found' % ns}


def test_status_errors_carry_code_reason_message(kt, ns):
    kt.run("create", "configmaps", ns, input={"metadata": {"name": "dup"}})
    err = kt.run("create", "configmaps", ns, input={"metadata": {"name": "dup"}}, expect_ok=False)
    assert (err["error"], err["code"], err["reason"]) == ("EEXIST", 409, "AlreadyExists")
    assert 'configmaps "dup" already exists' in err["message"]

    cur = kt.run("get", "configmaps", ns, "dup")
    kt.run("patch", "configmaps", ns, "dup", "merge", input={"data": {"x": "1"}})
    cur["data"] = {"stale": "write"}
    err = kt.run("update", "configmaps", ns, input=cur, expect_ok=False)
    assert (err["error"], err["code"], err["reason"]) == ("ESTALE", 409, "Conflict")
    assert "the object has been modified" in err["message"]

    err = kt.run("patch", "configmaps", ns, "dup", "json",
                 input=[{"op": "test", "path": "/data/x", "value": "nope"}], expect_ok=False)
    assert err["code"] == 422 and err["error"] == "EINVAL"


def test_bad_token_is_eacces(sim, tmp_path):
    kc = tmp_path / "bad-kubeconfig"
    kc.write_text(pathlib.Path(sim.kubeconfig).read_text().replace("kube-client-test-token", "wrong"))
    err = KubeTool(kc).run("get", "namespaces", "-", "default", expect_ok=False)
    assert (err["error"], err["code"], err["reason"]) == ("EACCES", 401, "Unauthorized")


def test_list_pagination_returns_every_item_once(kt, ns):
    for i in range(23):
        kt.run("create", "configmaps", ns, input={"metadata": {"name": "cm-%02d" % i, "labels": {"odd": str(i % 2)}}})
    res = kt.run("list", "configmaps", ns, "--limit", "5")
    assert res["pages"] == 5
    assert sorted(res["names"]) == ["cm-%02d" % i for i in range(23)]
    odd = kt.run("list", "configmaps", ns, "--limit", "4", "--selector", "odd=1")
    assert sorted(odd["names"]) == ["cm-%02d" % i for i in range(1, 23, 2)]


def test_conflict_is_retried_by_rereading(sim, kt, ns):
    kt.run("create", "configmaps", ns, input={"metadata": {"name": "c"}, "data": {"v": "0"}})
    path = "/api/v1/namespaces/%s/configmaps/c" % ns
    sim.faults({"path": path, "method": "PUT", "code": 409, "reason": "Conflict", "count": 2,
                "message": 'Operation cannot be fulfilled on configmaps "c": the object has been modified'})
    res = kt.run("set-data", "configmaps", ns, "c", "v", "1")
    assert res["attempts"] == 3  # two conflicts, then the write
    assert kt.run("get", "configmaps", ns, "c")["data"]["v"] == "1"
    # A real concurrent writer between read and write (no injected fault): still converges.
    res = kt.run("set-data", "configmaps", ns, "c", "v", "1")
    assert res["attempts"] == 1  # nothing to change: no write at all


def _count(sim, verb_resource):
    return sim.requests()["byVerbResource"].get(verb_resource, 0)


def test_429_and_500_with_retry_after_are_honoured(sim, kt, ns):
    kt.run("create", "configmaps", ns, input={"metadata": {"name": "r"}})
    path = "/api/v1/namespaces/%s/configmaps/r" % ns
    sim.requests(reset=True)
    sim.faults({"path": path, "method": "GET", "code": 429, "retryAfter": 1, "count": 2})
    t0 = time.time()
    kt.run("get", "configmaps", ns, "r")
    took = time.time() - t0
    assert took >= 2.0, took  # waited Retry-After (1s) twice
    assert _count(sim, "get configmaps") == 3

    sim.requests(reset=True)
    sim.faults({"path": path, "method": "GET", "code": 500, "retryAfter": 1, "count": 1})
    t0 = time.time()
    kt.run("get", "configmaps", ns, "r")
    assert time.time() - t0 >= 1.0
    assert _count(sim, "get configmaps") == 2

    # A create answered 500 without Retry-After is not retried (it may have happened).
    sim.requests(reset=True)
    sim.faults({"path": "/api/v1/namespaces/%s/configmaps" % ns, "method": "POST", "code": 500, "count": 1})
    err = kt.run("create", "configmaps", ns, input={"metadata": {"name": "once"}}, expect_ok=False)
    assert (err["error"], err["code"]) == ("EIO", 500)
    assert _count(sim, "create configmaps") == 1

    # Retries exhausted: -EAGAIN with the server's reason.
    sim.faults({"path": path, "method": "GET", "code": 429, "retryAfter": 1, "count": -1})
    try:
        err = KubeTool(sim.kubeconfig, ["--retries", "1"]).run("get", "configmaps", ns, "r", expect_ok=False)
    finally:
        sim.request("DELETE", "/_okdsim/faults", token=None)
    assert (err["error"], err["code"], err["reason"]) == ("EAGAIN", 429, "TooManyRequests")


def test_rate_limiter_spaces_requests(sim, ns):
    # QPS 2, burst 1: the set-data's GET takes the one token, its PUT waits ~0.5s for the next.
    slow = KubeTool(sim.kubeconfig, ["--qps", "2", "--burst", "1"])
    slow.run("create", "configmaps", ns, input={"metadata": {"name": "a"}})
    t0 = time.time()
    slow.run("set-data", "configmaps", ns, "a", "k", "v")
    assert time.time() - t0 >= 0.45


def test_client_certificate_authentication(tmp_path):
    sim, kc = start_tls_cert_sim(tmp_path)
    try:
        kt = KubeTool(kc)
        kt.run("create", "namespaces", "-", input={"metadata": {"name": "certns"}})
        kt.run("create", "configmaps", "certns", input={"metadata": {"name": "c"}, "data": {"k": "v"}})
        assert kt.run("get", "configmaps", "certns", "c")["data"] == {"k": "v"}
        who = [r["user"] for r in sim.requests()["requests"] if r["path"].endswith("/configmaps/c")]
        assert who and set(who) == {"admin"}
    finally:
        sim.stop()


def test_broken_kubeconfig_names_file_and_field(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                  "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                  "users: [{name: u, user: {client-key-data: 'a2V5Cg=='}}]\n")
    err = KubeTool(kc).run("get", "namespaces", "-", "x", expect_ok=False)
    assert err["error"] == "EINVAL"
    assert err["message"] == 'kubeconfig %s: users[0] "u": client-key without client-certificate' % kc


def test_tls_server_name_is_verified_instead_of_the_address(sim, tmp_path):
    text = pathlib.Path(sim.kubeconfig).read_text()
    # okdsim's certificate names 127.0.0.1 and localhost; connect to 127.0.0.1 but verify
    # "localhost", then a name the certificate does not carry.
    import json as _json
    kc = _json.loads(text)  # okdsim writes its kubeconfig as JSON (valid YAML)
    kc["clusters"][0]["cluster"]["tls-server-name"] = "localhost"
    good = tmp_path / "kc-good"
    good.write_text(_json.dumps(kc))
    KubeTool(good).run("get", "namespaces", "-", "default")
    kc["clusters"][0]["cluster"]["tls-server-name"] = "not-in-the-cert.invalid"
    bad = tmp_path / "kc-bad"
    bad.write_text(_json.dumps(kc))
    err = KubeTool(bad).run("get", "namespaces", "-", "default", expect_ok=False)
    assert err["error"] == "EPROTO", err


def test_token_file_is_reread_when_it_rotates(tmp_path):
    from kubetool import OkdSim
    import json as _json
    sim = OkdSim(tmp_path / "sim", tls=True, token="first-token",
                 extra_args=["--user-token", "second-token=rotated-user:system:masters"]).start()
    try:
        tok = tmp_path / "token"
        tok.write_text("first-token\n")
        kc = _json.loads(pathlib.Path(sim.kubeconfig).read_text())
        kc["users"][0]["user"] = {"tokenFile": str(tok)}
        kcp = tmp_path / "kc-tokenfile"
        kcp.write_text(_json.dumps(kc))
        kt = KubeTool(kcp)
        kt.run("create", "namespaces", "-", input={"metadata": {"name": "rot"}})
        kt.run("create", "configmaps", "rot", input={"metadata": {"name": "work"}})
        leader = kt.start("leader", "rot", "lock", "me", "--lease", "3", "--renew", "2", "--retry", "0.3")
        leader.wait_for(lambda l: l.get("leading") is True, what="leading")
        tok.write_text("second-token\n")  # the kubelet rotates the projected token
        deadline = time.time() + 10
        users = set()
        while time.time() < deadline and "rotated-user" not in users:
            time.sleep(0.3)
            users = {r["user"] for r in sim.requests()["requests"] if "/leases/" in r["path"]}
        leader.stop()
        assert "rotated-user" in users, users
    finally:
        sim.stop()


def test_in_cluster_configuration_from_service_account_files(tmp_path):
    """No kubeconfig anywhere: KUBERNETES_SERVICE_HOST/PORT plus the service-account token, CA
    bundle and namespace files, as in a pod."""
    sim = start_tls_token_sim(tmp_path / "sim")
    try:
        sa = tmp_path / "serviceaccount"
        sa.mkdir()
        (sa / "token").write_text(sim.token)
        (sa / "ca.crt").write_bytes(pathlib.Path(sim.pki["ca"]).read_bytes())
        (sa / "namespace").write_text("operators\n")
        home = tmp_path / "home"
        home.mkdir()
        env = {"HOME": str(home), "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(sim.port), "KUBE_SA_DIR": str(sa)}
        kt = KubeTool(None, env=env)
        kt.run("create", "namespaces", "-", input={"metadata": {"name": "operators"}})
        assert kt.run("get", "namespaces", "-", "operators")["metadata"]["name"] == "operators"
        # Without the CA bundle the server's certificate is not trusted.
        (sa / "ca.crt").unlink()
        err = kt.run("get", "namespaces", "-", "operators", expect_ok=False)
        assert err["error"] == "EPROTO", err
    finally:
        sim.stop()


def test_one_client_is_thread_safe_and_keeps_connections_alive(kt, ns):
    kt.run("create", "configmaps", ns, input={"metadata": {"name": "hot"}, "data": {"k": "v"}})
    res = KubeTool(kt.kubeconfig, ["--qps", "1000", "--burst", "1000"]).run(
        "get-many", "configmaps", ns, "hot", 50, 8)
    assert res["ok"] == 400 and res["requests"] == 400
    # HTTP/1.1 keep-alive: about one connection per thread, not one per request.
    assert res["connections"] <= 12, res


def test_status_subresource_update_and_cluster_scoped_objects(kt, ns):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "st"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "st"}},
                    "template": {"metadata": {"labels": {"app": "st"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}
    created = kt.run("create", "deployments.apps", ns, input=dep)
    gen = created["metadata"]["generation"]
    # okdsim's rollout controller writes status.observedGeneration once; wait for it so our
    # conditional status write does not race it.
    for _ in range(50):
        cur = kt.run("get", "deployments.apps", ns, "st")
        if (cur.get("status") or {}).get("observedGeneration") == gen:
            break
        time.sleep(0.1)
    cur["status"]["replicas"] = 7
    cur["spec"]["replicas"] = 5  # ignored by the status subresource
    out = kt.run("update", "deployments.apps", ns, "status", input=cur)
    assert out["status"]["replicas"] == 7
    got = kt.run("get", "deployments.apps", ns, "st")
    assert got["spec"]["replicas"] == 1 and got["status"]["replicas"] == 7
    st = kt.run("get", "deployments.apps", ns, "st", "status")
    assert st["status"]["observedGeneration"] == gen
    # A cluster-scoped resource ignores the namespace argument.
    assert kt.run("get", "namespaces", "ignored", ns)["metadata"]["name"] == ns
