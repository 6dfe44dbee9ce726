"""Leader election (src/kube/leader.c) between kubetool processes against okdsim: a killed
leader is replaced once its lease expires, a stopped leader releases the lease at once, and a
paused leader that lost the lease does not write after it resumes."""

import pathlib
import signal
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from kubetool import KubeTool, start_tls_token_sim  # noqa: E402

TIMING = ["--lease", "3", "--renew", "2", "--retry", "0.5"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = start_tls_token_sim(tmp_path_factory.mktemp("kube-leader"))
    yield s
    s.stop()


_n = [0]


@pytest.fixture
def env(sim):
    _n[0] += 1
    ns = "le%d" % _n[0]
    kt = KubeTool(sim.kubeconfig)
    kt.run("create", "namespaces", "-", input={"metadata": {"name": ns}})
    kt.run("create", "configmaps", ns, input={"metadata": {"name": "work"}, "data": {}})
    return kt, ns


def start(kt, ns, ident):
    return kt.start("leader", ns, "lock", ident, "--write-cm", "work", *TIMING)


def leading(ident, yes=True):
    return lambda l: l.get("id") == ident and l.get("leading") is yes


def lease(kt, ns):
    return kt.run("get", "leases.coordination.k8s.io", ns, "lock")["spec"]


def test_killed_leader_is_replaced_after_lease_expiry(env):
    kt, ns = env
    a = start(kt, ns, "A")
    a.wait_for(leading("A"), what="A leads")
    b = start(kt, ns, "B")
    time.sleep(2)
    assert not [l for l in b.events() if l.get("leading")], "B must not lead while A renews"
    assert lease(kt, ns)["holderIdentity"] == "A"
    a.kill()
    t_kill = time.time()
    b.wait_for(leading("B"), timeout=15, what="B takes over")
    took = time.time() - t_kill
    assert 1.5 <= took <= 8, took  # not before the lease (3s) ran out on B's clock, minus A's last renew age
    spec = lease(kt, ns)
    assert spec["holderIdentity"] == "B"
    assert spec["leaseTransitions"] >= 1
    b.wait_for(lambda l: l.get("wrote") == "B", what="B writes")
    b.stop()


def test_stopped_leader_releases_the_lease_at_once(env):
    kt, ns = env
    a = start(kt, ns, "A")
    a.wait_for(leading("A"), what="A leads")
    b = start(kt, ns, "B")
    time.sleep(1)
    t0 = time.time()
    lines = a.stop()
    assert any(l.get("leading") is False for l in lines)  # on_stopped_leading ran
    b.wait_for(leading("B"), timeout=10, what="B takes over")
    assert time.time() - t0 < 2.5  # released, not expired
    b.stop()
    assert lease(kt, ns)["holderIdentity"] == ""


def test_paused_leader_that_lost_the_lease_stops_writing(env):
    kt, ns = env
    a = start(kt, ns, "A")
    a.wait_for(leading("A"), what="A leads")
    a.wait_for(lambda l: l.get("wrote") == "A", what="A writes")
    b = start(kt, ns, "B")
    time.sleep(1)
    a.proc.send_signal(signal.SIGSTOP)
    try:
        b.wait_for(leading("B"), timeout=15, what="B takes over from the paused A")
        b.wait_for(lambda l: l.get("wrote") == "B", what="B writes")
    finally:
        resumed_ms = int(time.time() * 1000)
        a.proc.send_signal(signal.SIGCONT)
    a.wait_for(leading("A", False), timeout=10, what="A steps down after resuming")
    time.sleep(2)
    late = [l for l in a.events() if l.get("wrote") == "A" and l["at_ms"] >= resumed_ms]
    assert late == [], "A wrote after it resumed without the lease: %s" % late
    assert kt.run("get", "configmaps", ns, "work")["data"]["holder"] == "B"
    assert lease(kt, ns)["holderIdentity"] == "B"
    a.stop()
    b.stop()
