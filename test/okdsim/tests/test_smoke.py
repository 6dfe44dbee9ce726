"""okdsim starts, answers discovery and serves objects to real kubectl."""


def test_ready_line_and_version(sim):
    assert sim.url.startswith("http://127.0.0.1:")
    st, _, body = sim.request("GET", "/version")
    assert st == 200 and body["major"] == "1"


def test_kubectl_lists_default_namespaces(sim):
    out = sim.kubectl("get", "ns", "-o", "name", check=True).stdout.split()
    for n in ("namespace/default", "namespace/kube-system", "namespace/kube-public"):
        assert n in out
