"""The C informer (src/kube/informer.c) against okdsim over HTTPS: paginated list then watch,
watch resume after dropped connections, 410 Gone -> relist without losing or duplicating a
change, multiple namespaces, secondary indexes, resync, and no busy loop while the API server
is down. Driven through `kubetool informer`."""

import collections
import pathlib
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from kubetool import KubeTool, start_tls_token_sim  # noqa: E402


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = start_tls_token_sim(tmp_path_factory.mktemp("kube-informer"))
    yield s
    s.stop()


@pytest.fixture
def kt(sim):
    sim.request("DELETE", "/_okdsim/faults", token=None)
    return KubeTool(sim.kubeconfig)


_n = [0]


def new_ns(kt):
    _n[0] += 1
    name = "inf%d" % _n[0]
    kt.run("create", "namespaces", "-", input={"metadata": {"name": name}})
    return name


def server_state(sim, ns):
    st, _, body = sim.request("GET", "/api/v1/namespaces/%s/configmaps" % ns)
    assert st == 200
    return {"%s/%s" % (ns, o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in body["items"]}


def cm(sim, ns, name, data=None, labels=None):
    st, _, body = sim.request("POST", "/api/v1/namespaces/%s/configmaps" % ns,
                              {"metadata": {"name": name, "labels": labels or {}}, "data": data or {}})
    assert st == 201, body
    return body


def cm_update(sim, ns, name, data):
    st, _, body = sim.request("PATCH", "/api/v1/namespaces/%s/configmaps/%s" % (ns, name), {"data": data},
                              headers={"Content-Type": "application/merge-patch+json"})
    assert st == 200, body
    return body


def cm_delete(sim, ns, name):
    st, _, body = sim.request("DELETE", "/api/v1/namespaces/%s/configmaps/%s" % (ns, name))
    assert st == 200, body


def finish(inf):
    lines = inf.stop()
    final = [l for l in lines if "final" in l]
    assert final, lines[-5:]
    return lines, final[-1]


def events_for(lines, key):
    return [l["event"] for l in lines if l.get("key") == key and "event" in l]


def test_lists_in_pages_then_watches_changes(sim, kt):
    ns = new_ns(kt)
    for i in range(30):
        cm(sim, ns, "c%02d" % i)
    inf = kt.start("informer", "configmaps", "--ns", ns, "--page-size", "7")
    synced = inf.wait_for(lambda l: l.get("synced"), what="sync")
    assert synced["count"] == 30
    cm(sim, ns, "new")
    cm_update(sim, ns, "c01", {"k": "v"})
    cm_delete(sim, ns, "c02")
    inf.wait_for(lambda l: l.get("key") == "%s/c02" % ns and l["event"] == "delete", what="delete")
    lines, final = finish(inf)
    assert final["final"] == server_state(sim, ns)
    assert events_for(lines, "%s/new" % ns) == ["add"]
    assert events_for(lines, "%s/c01" % ns) == ["add", "update"]
    assert final["stats"]["lists"] == 1
    # The list came in pages of 7.
    reqs = [r for r in sim.requests()["requests"] if r["verb"] == "list" and ns in r["path"]]
    assert len(reqs) >= 5


def test_watch_resumes_after_dropped_connections_without_relist(sim, kt):
    ns = new_ns(kt)
    inf = kt.start("informer", "configmaps", "--ns", ns)
    inf.wait_for(lambda l: l.get("synced"), what="sync")
    for i in range(12):
        cm(sim, ns, "d%02d" % i)
        if i % 3 == 2:
            sim.faults({"action": "close-watches"})
            time.sleep(0.3)
    inf.wait_for(lambda l: l.get("key") == "%s/d11" % ns, what="last add")
    lines, final = finish(inf)
    for i in range(12):
        assert events_for(lines, "%s/d%02d" % (ns, i)) == ["add"]
    assert final["final"] == server_state(sim, ns)
    assert final["stats"]["lists"] == 1  # resumed from the resourceVersion, no relist
    assert final["stats"]["watches"] >= 5


def test_410_gone_relists_without_losing_or_duplicating(sim, kt):
    ns = new_ns(kt)
    for name in ("keep", "mod", "gone"):
        cm(sim, ns, name)
    inf = kt.start("informer", "configmaps", "--ns", ns, "--backoff-max", "1")
    inf.wait_for(lambda l: l.get("synced"), what="sync")
    # Make re-watching fail, drop the watch, change things, then forget the history: the
    # informer's next watch from its old resourceVersion must get 410 and relist.
    sim.faults({"verb": "watch", "pathPrefix": "/api/v1/namespaces/%s/" % ns, "code": 500, "count": -1})
    sim.faults({"action": "close-watches"})
    time.sleep(0.5)
    n0 = len(inf.events())
    cm(sim, ns, "added")
    cm_update(sim, ns, "mod", {"v": "2"})
    cm_delete(sim, ns, "gone")
    sim.faults({"action": "compact"})
    sim.request("DELETE", "/_okdsim/faults", token=None)
    inf.wait_for(lambda l: l.get("key") == "%s/gone" % ns and l["event"] == "delete", what="relist delete")
    cm(sim, ns, "after")  # the watch works again after the relist
    inf.wait_for(lambda l: l.get("key") == "%s/after" % ns, what="add after relist")
    lines, final = finish(inf)
    later = lines[n0:]
    assert events_for(later, "%s/added" % ns) == ["add"]
    assert events_for(later, "%s/mod" % ns) == ["update"]
    assert events_for(later, "%s/gone" % ns) == ["delete"]
    assert events_for(later, "%s/keep" % ns) == []  # unchanged: no spurious event
    assert events_for(later, "%s/after" % ns) == ["add"]
    assert final["final"] == server_state(sim, ns)
    assert final["stats"]["relists410"] >= 1
    assert final["stats"]["lists"] >= 2


def test_several_namespaces_and_a_label_index(sim, kt):
    a, b, c = new_ns(kt), new_ns(kt), new_ns(kt)
    for ns in (a, b, c):
        cm(sim, ns, "x", labels={"app": "web"})
        cm(sim, ns, "y", labels={"app": "db"})
    inf = kt.start("informer", "configmaps", "--namespaces", "%s,%s" % (a, b), "--index-label", "app")
    synced = inf.wait_for(lambda l: l.get("synced"), what="sync")
    assert synced["count"] == 4
    cm(sim, b, "z", labels={"app": "web"})
    cm(sim, c, "z", labels={"app": "web"})  # not watched
    inf.wait_for(lambda l: l.get("key") == "%s/z" % b, what="add in b")
    time.sleep(0.5)
    lines, final = finish(inf)
    want = dict(server_state(sim, a), **server_state(sim, b))
    assert final["final"] == want
    assert final["index"] == {"web": 3, "db": 2}
    assert not [l for l in lines if l.get("key", "").startswith(c + "/")]


def test_periodic_resync_replays_the_cache(sim, kt):
    ns = new_ns(kt)
    cm(sim, ns, "r1")
    inf = kt.start("informer", "configmaps", "--ns", ns, "--resync", "0.5")
    inf.wait_for(lambda l: l.get("synced"), what="sync")
    time.sleep(1.8)
    lines, _ = finish(inf)
    assert events_for(lines, "%s/r1" % ns).count("resync") >= 2


def _cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / float(__import__("os").sysconf("SC_CLK_TCK"))


def test_no_busy_loop_while_server_is_down_then_recovers(tmp_path):
    sim = start_tls_token_sim(tmp_path, state=tmp_path / "state.json")
    try:
        kt = KubeTool(sim.kubeconfig)
        ns = new_ns(kt)
        cm(sim, ns, "before")
        inf = kt.start("informer", "configmaps", "--ns", ns, "--backoff-max", "2")
        inf.wait_for(lambda l: l.get("synced"), what="sync")
        sim.stop()
        cpu0 = _cpu_seconds(inf.proc.pid)
        time.sleep(6)
        used = _cpu_seconds(inf.proc.pid) - cpu0
        assert used < 0.5, "informer used %.2fs CPU in 6s while the server was down" % used
        sim.start()
        cm(sim, ns, "after-restart")
        inf.wait_for(lambda l: l.get("key") == "%s/after-restart" % ns, timeout=30, what="recovery")
        lines, final = finish(inf)
        assert final["final"] == server_state(sim, ns)
        assert final["stats"]["failures"] >= 2
    finally:
        sim.stop()


def test_bookmarks_keep_the_resource_version_fresh(tmp_path):
    """Changes elsewhere advance the server's resourceVersion; bookmarks carry it to the
    informer, so after history is compacted and the watch dropped, the informer resumes
    from the bookmark without a 410 and without relisting."""
    sim = start_tls_token_sim(tmp_path, extra_args=["--bookmark-interval", "0.5"])
    try:
        kt = KubeTool(sim.kubeconfig)
        watched, other = new_ns(kt), new_ns(kt)
        cm(sim, watched, "a")
        inf = kt.start("informer", "configmaps", "--ns", watched)
        inf.wait_for(lambda l: l.get("synced"), what="sync")
        for i in range(20):
            cm(sim, other, "o%d" % i)
        time.sleep(2)  # a few bookmark intervals
        sim.faults({"action": "compact"})
        sim.faults({"action": "close-watches"})
        cm(sim, watched, "b")
        inf.wait_for(lambda l: l.get("key") == "%s/b" % watched, what="add after resume")
        t0 = time.time()
        lines, final = finish(inf)
        assert time.time() - t0 < 3, "stopping the informer took too long"
        assert final["stats"]["lists"] == 1 and final["stats"]["relists410"] == 0, final["stats"]
        assert final["final"] == server_state(sim, watched)
    finally:
        sim.stop()


def test_a_server_answering_410_forever_does_not_cause_a_relist_storm(sim, kt):
    ns = new_ns(kt)
    cm(sim, ns, "a")
    inf = kt.start("informer", "configmaps", "--ns", ns, "--backoff-max", "2")
    inf.wait_for(lambda l: l.get("synced"), what="sync")
    sim.faults({"verb": "watch", "pathPrefix": "/api/v1/namespaces/%s/" % ns, "code": 410, "reason": "Expired",
                "message": "too old resource version", "count": -1})
    sim.requests(reset=True)
    sim.faults({"action": "close-watches"})
    time.sleep(4)
    lists = sim.requests()["byVerbResource"].get("list configmaps", 0)
    sim.request("DELETE", "/_okdsim/faults", token=None)
    assert 1 <= lists <= 8, "%d lists in 4s while every watch answered 410" % lists
    cm(sim, ns, "b")
    inf.wait_for(lambda l: l.get("key") == "%s/b" % ns, timeout=15, what="recovery")
    lines, final = finish(inf)
    assert final["final"] == server_state(sim, ns)


def test_stop_is_prompt_while_a_list_waits_on_retry_after(sim, kt):
    ns = new_ns(kt)
    sim.faults({"verb": "list", "pathPrefix": "/api/v1/namespaces/%s/" % ns, "code": 503, "retryAfter": 30,
                "count": -1})
    try:
        inf = kt.start("informer", "configmaps", "--ns", ns)
        time.sleep(1.5)  # the list was answered 503 and now waits 30s before retrying
        assert not [l for l in inf.events() if l.get("synced")]
        t0 = time.time()
        inf.stop(timeout=20)
        assert time.time() - t0 < 3, "stop took %.1fs" % (time.time() - t0)
    finally:
        sim.request("DELETE", "/_okdsim/faults", token=None)
