"""Authentication and authorization: TLS + bearer token, client certificates (CN is the user, O the groups),
service-account tokens (TokenRequest and token secrets), TokenReview/SubjectAccessReview, and --rbac
enforcement with the API server's 403 wording, through raw HTTP and real kubectl."""

import json

import pytest

from okdsim_fixture import CORE, OkdSim, make_pki

ADMIN = "admin-secret-token"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), client_cns=("alice/devs", "mallory"))


@pytest.fixture(scope="module")
def rsim(tmp_path_factory, pki):
    """TLS, an admin token, client certificates and RBAC."""
    s = OkdSim(tmp_path_factory.mktemp("rbac"), tls=True, token=ADMIN, client_ca=pki["ca"], rbac=True, pki=pki,
               extra_args=CORE).start()
    yield s
    s.stop()


def kubeconfig(sim, path, token=None, cert=None):
    user = {}
    if token:
        user["token"] = token
    if cert:
        user["client-certificate"], user["client-key"] = str(cert[0]), str(cert[1])
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "c", "cluster": {"server": sim.url, "certificate-authority": str(sim.pki["ca"])}}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}]}
    path.write_text(json.dumps(cfg))
    return str(path)


def setup_sa(sim, ns, name="op"):
    assert sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})[0] == 201
    assert sim.request("POST", "/api/v1/namespaces/%s/serviceaccounts" % ns, {"metadata": {"name": name}})[0] == 201
    st, _, tr = sim.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (ns, name),
                            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {"expirationSeconds": 600}})
    assert st == 201 and tr["kind"] == "TokenRequest" and tr["status"]["expirationTimestamp"]
    return tr["status"]["token"]


def test_tls_and_token(rsim, tmp_path):
    assert rsim.url.startswith("https://127.0.0.1:")
    out = rsim.kubectl("get", "ns", "default", "-o", "name")
    assert out.returncode == 0 and out.stdout.strip() == "namespace/default"
    st, _, body = rsim.request("GET", "/api/v1/namespaces", token=None)
    assert st == 401 and body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    res = rsim.kubectl("get", "ns", kubeconfig=kubeconfig(rsim, tmp_path / "bad", token="wrong"))
    assert res.returncode == 1 and res.stderr == "error: You must be logged in to the server (Unauthorized)\n"
    who = rsim.kubectl("auth", "whoami", "-o", "json")
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "system:admin"


def test_client_certificate_user_and_groups(rsim, tmp_path):
    alice = kubeconfig(rsim, tmp_path / "alice", cert=rsim.pki["clients"]["alice/devs"])
    who = json.loads(rsim.kubectl("auth", "whoami", "-o", "json", kubeconfig=alice).stdout)["status"]["userInfo"]
    assert who["username"] == "alice" and "devs" in who["groups"] and "system:authenticated" in who["groups"]
    res = rsim.kubectl("get", "configmaps", "-n", "kube-system", kubeconfig=alice)
    assert res.stderr == ('Error from server (Forbidden): configmaps is forbidden: User "alice" cannot list resource '
                          '"configmaps" in API group "" in the namespace "kube-system"\n')
    # grant the group, not the user
    assert rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "metadata": {"name": "devs-view"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                       "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"}]})[0] == 201
    assert rsim.kubectl("get", "configmaps", "-n", "kube-system", kubeconfig=alice).returncode == 0
    mallory = kubeconfig(rsim, tmp_path / "mallory", cert=rsim.pki["clients"]["mallory"])
    assert rsim.kubectl("get", "configmaps", "-n", "kube-system", kubeconfig=mallory).returncode == 1
    assert rsim.kubectl("auth", "can-i", "list", "configmaps", "-n", "kube-system",
                        kubeconfig=alice).stdout.strip() == "yes"
    assert rsim.kubectl("auth", "can-i", "delete", "configmaps", "-n", "kube-system",
                        kubeconfig=alice).stdout.strip() == "no"


def test_rbac_roles_bindings_and_messages(rsim, tmp_path):
    tok = setup_sa(rsim, "rb1")
    rsim.request("POST", "/api/v1/namespaces", {"metadata": {"name": "rb1-other"}})
    user = "system:serviceaccount:rb1:op"

    def as_op(method, path, body=None):
        return rsim.request(method, path, body, token=tok)
    st, _, body = as_op("GET", "/apis/apps/v1/namespaces/rb1/deployments")
    assert st == 403 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'deployments.apps is forbidden: User "%s" cannot list resource "deployments" in API group "apps" '
                   'in the namespace "rb1"' % user,
        "reason": "Forbidden", "details": {"group": "apps", "kind": "deployments"}, "code": 403}
    assert as_op("GET", "/apis/apps/v1")[0] == 200               # discovery is open to authenticated users
    assert rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/rb1/roles", {
        "metadata": {"name": "deployer"},
        "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "patch"]},
                  {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["only-this"],
                   "verbs": ["get"]}]})[0] == 201
    assert rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/rb1/rolebindings", {
        "metadata": {"name": "deployer"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                      "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "rb1"}]})[0] == 201
    assert as_op("GET", "/apis/apps/v1/namespaces/rb1/deployments")[0] == 200
    st, _, body = as_op("GET", "/apis/apps/v1/namespaces/rb1-other/deployments")
    assert st == 403 and body["message"].endswith('in the namespace "rb1-other"')
    st, _, body = as_op("POST", "/apis/apps/v1/namespaces/rb1/deployments", {"metadata": {"name": "x"}})
    assert st == 403 and body["message"] == ('deployments.apps is forbidden: User "%s" cannot create resource '
                                             '"deployments" in API group "apps" in the namespace "rb1"' % user)
    st, _, body = as_op("PATCH", "/apis/apps/v1/namespaces/rb1/deployments/web/status", {})
    assert st == 403 and body["message"] == ('deployments.apps "web" is forbidden: User "%s" cannot patch resource '
                                             '"deployments/status" in API group "apps" in the namespace "rb1"' % user)
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    st, _, body = as_op("GET", "/api/v1/namespaces/rb1/configmaps/other")
    assert st == 403 and body["message"] == ('configmaps "other" is forbidden: User "%s" cannot get resource '
                                             '"configmaps" in API group "" in the namespace "rb1"' % user)
    assert as_op("GET", "/api/v1/namespaces/rb1/configmaps/only-this")[0] == 404   # allowed, just absent
    st, _, body = as_op("GET", "/api/v1/namespaces")
    assert st == 403 and body["message"] == ('namespaces is forbidden: User "%s" cannot list resource "namespaces" in '
                                             'API group "" at the cluster scope' % user)
    st, _, body = as_op("GET", "/metrics")
    assert st == 403 and body["message"] == 'forbidden: User "%s" cannot get path "/metrics"' % user
    # kubectl prints the same wording
    kc = kubeconfig(rsim, tmp_path / "op", token=tok)
    res = rsim.kubectl("-n", "rb1", "get", "secrets", kubeconfig=kc)
    assert res.stderr == ('Error from server (Forbidden): secrets is forbidden: User "%s" cannot list resource '
                          '"secrets" in API group "" in the namespace "rb1"\n' % user)
    assert rsim.kubectl("-n", "rb1", "get", "deployments", kubeconfig=kc).returncode == 0
    assert rsim.kubectl("-n", "rb1", "auth", "can-i", "patch", "deployments", kubeconfig=kc).stdout.strip() == "yes"
    assert rsim.kubectl("-n", "rb1", "auth", "can-i", "delete", "deployments",
                        kubeconfig=kc).stdout.strip() == "no"


def test_reviews_and_token_secrets(rsim):
    tok = setup_sa(rsim, "rv1")
    st, _, tr = rsim.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": tok}})
    assert st == 201 and tr["status"]["authenticated"] is True
    assert tr["status"]["user"]["username"] == "system:serviceaccount:rv1:op"
    assert tr["status"]["user"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:rv1",
                                              "system:authenticated"]
    st, _, tr = rsim.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": "garbage"}})
    assert st == 201 and "authenticated" not in tr["status"] and tr["status"]["error"]
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
           "spec": {"user": "system:serviceaccount:rv1:op", "groups": ["system:serviceaccounts"],
                    "nonResourceAttributes": {"path": "/metrics", "verb": "get"}}}
    st, _, r = rsim.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", sar)
    assert st == 201 and r["status"] == {"allowed": False}
    rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "metadata": {"name": "metrics-reader"}, "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
    rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "metadata": {"name": "metrics-reader-op"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "metrics-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "rv1"}]})
    st, _, r = rsim.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", sar)
    assert r["status"]["allowed"] is True and "metrics-reader-op" in r["status"]["reason"]
    # a legacy token secret is filled in by the token controller and stops working once deleted
    st, _, sec = rsim.request("POST", "/api/v1/namespaces/rv1/secrets", {
        "metadata": {"name": "op-token", "annotations": {"kubernetes.io/service-account.name": "op"}},
        "type": "kubernetes.io/service-account-token"})
    assert st == 201 and sec["data"]["token"] and sec["data"]["ca.crt"]
    import base64
    legacy = base64.b64decode(sec["data"]["token"]).decode()
    assert rsim.request("GET", "/apis/apps/v1", token=legacy)[0] == 200
    rsim.request("DELETE", "/api/v1/namespaces/rv1/secrets/op-token")
    assert rsim.request("GET", "/apis/apps/v1", token=legacy)[0] == 401
    # deleting the service account invalidates its tokens
    rsim.request("DELETE", "/api/v1/namespaces/rv1/serviceaccounts/op")
    assert rsim.request("GET", "/apis/apps/v1", token=tok)[0] == 401


def test_static_user_tokens(make_sim):
    s = make_sim(token=ADMIN, rbac=True, extra_args=["--user-token", "bobtoken=bob:devs,qa"])
    st, _, body = s.request("GET", "/api/v1/namespaces/default/configmaps", token="bobtoken")
    assert st == 403 and 'User "bob" cannot list' in body["message"]
    st, _, r = s.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                         {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, token="bobtoken")
    assert r["status"]["userInfo"] == {"username": "bob", "groups": ["devs", "qa", "system:authenticated"]}


def test_no_auth_configured_means_admin(sim):
    st, _, r = sim.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert st == 201 and r["status"]["userInfo"]["username"] == "system:admin"


def test_impersonation(rsim, tmp_path):
    setup_sa(rsim, "imp1")
    # an admin may impersonate: kubectl --as answers for the service account
    res = rsim.kubectl("-n", "imp1", "get", "configmaps", "--as", "system:serviceaccount:imp1:op")
    assert res.stderr == ('Error from server (Forbidden): configmaps is forbidden: User '
                          '"system:serviceaccount:imp1:op" cannot list resource "configmaps" in API group "" in the '
                          'namespace "imp1"\n')
    assert rsim.kubectl("-n", "imp1", "auth", "can-i", "list", "configmaps", "--as",
                        "system:serviceaccount:imp1:op").stdout.strip() == "no"
    who = json.loads(rsim.kubectl("auth", "whoami", "-o", "json", "--as", "carol", "--as-group", "ops").stdout)
    assert who["status"]["userInfo"] == {"username": "carol", "groups": ["ops", "system:authenticated"]}
    # an ordinary user may not
    alice = kubeconfig(rsim, tmp_path / "alice", cert=rsim.pki["clients"]["alice/devs"])
    res = rsim.kubectl("get", "ns", "--as", "bob", kubeconfig=alice)
    assert res.stderr == ('Error from server (Forbidden): users "bob" is forbidden: User "alice" cannot impersonate '
                          'resource "users" in API group "" at the cluster scope\n')


def test_can_i_list_shows_the_rules(rsim):
    setup_sa(rsim, "list1")
    assert rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/list1/roles", {
        "metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                              "verbs": ["get", "list"]}]})[0] == 201
    assert rsim.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/list1/rolebindings", {
        "metadata": {"name": "r"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "list1"}]})[0] == 201
    out = rsim.kubectl("-n", "list1", "auth", "can-i", "--list", "--as", "system:serviceaccount:list1:op").stdout
    rows = [line.split() for line in out.splitlines()]
    assert ["configmaps", "[]", "[]", "[get", "list]"] in rows
    assert not any(r[0] == "secrets" for r in rows if r)
