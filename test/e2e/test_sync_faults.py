"""End-to-end, scenario 6 of issue 5: the registry goes down, answers 429 storms or slowly, the
API server fails ImageStreamImports; istrigger backs off, recovers and never crashes. A restart
of the operator mid-way imports nothing that did not change."""
import time
import urllib.request

import pytest

from conftest import E2E, e2e_env, isi_posts, reglib, stream_obj, wait_for
from faultproxy import FaultProxy

NS = "faults"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    with e2e_env(tmp, reglib.Registry(tmp / "registry").start()) as e:
        e.namespace(NS)
        e.namespace("istrigger")
        e.proxy = FaultProxy(e.registry.port).start()
        try:
            e.op = e.operator("--minimum-interval", "1s", "--operator-namespace", "istrigger",
                              "--max-backoff", "4s")
            yield e
        finally:
            e.proxy.stop()


def polls(env, result):
    return env.op.metric_sum("istrigger_polls_total", result=result)


def test_429_storm_respects_retry_after_and_slow_registry_does_not_slow_others(env):
    reg, proxy = env.registry, env.proxy
    env.push("limited", "v", "limited v1")
    d_fast = env.push("fast", "v", "fast v1")
    env.create(stream_obj("limited", [("v", "%s/limited:v" % proxy.host)],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    env.create(stream_obj("fast", [("v", reg.ref("fast", "v"))],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    wait_for(lambda: env.image(NS, "limited", "v") and env.image(NS, "fast", "v") == d_fast,
             timeout=10, what="initial imports")
    # 429 with Retry-After: 3 for every HEAD: at most one HEAD per 3s, not one per second.
    proxy.set_rules([{"method": "HEAD", "status": 429, "retry_after": 3}])
    time.sleep(1.5)
    heads0 = proxy.count("HEAD")
    time.sleep(7)
    storm_heads = proxy.count("HEAD") - heads0
    assert 1 <= storm_heads <= 4, storm_heads
    env.wait_event(NS, "PollFailed", "TooManyRequests")
    assert env.op.metric_sum("istrigger_source_backoffs") >= 1

    # Slow answers (4s per HEAD) on one registry host; the other source keeps its interval.
    proxy.set_rules([{"method": "HEAD", "delay": 4}])
    d_fast2 = env.push("fast", "v", "fast v2")
    t0 = time.monotonic()
    env.wait_image(NS, "fast", "v", d_fast2, timeout=1 + 3)
    print("fast source imported %.2fs after the push while the other host was slow"
          % (time.monotonic() - t0))

    proxy.set_rules([])
    d2 = env.push("limited", "v", "limited v2")
    env.wait_image(NS, "limited", "v", d2, timeout=4 + 3 + 3)  # max backoff + interval + margin
    env.wait_event(NS, "PollRecovered")
    assert env.op.alive()


def test_registry_down_then_back(env):
    reg = env.registry
    env.push("downapp", "v", "down v1")
    env.create(stream_obj("down", [("v", reg.ref("downapp", "v"))],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    wait_for(lambda: env.image(NS, "down", "v"), timeout=10, what="initial import")
    port = reg.port
    reg.stop()
    env.wait_event(NS, "PollFailed", "ConnectionRefused", timeout=10)
    errors0 = polls(env, "error")
    time.sleep(6)
    # Backing off (1s doubling, capped at 4s), not hammering the dead host every second.
    assert polls(env, "error") - errors0 <= 3 * 4  # 4 sources at most here, ~3 polls each
    reg.port = port
    reg.start()
    d2 = env.push("downapp", "v", "down v2")
    env.wait_image(NS, "down", "v", d2, timeout=4 + 1 + 3)
    assert env.op.alive()


def test_api_server_faults_back_off_without_retry_storm(env):
    env.push("apifault", "v", "apifault v1")
    env.create(stream_obj("apifault", [("v", env.registry.ref("apifault", "v"))],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    wait_for(lambda: env.image(NS, "apifault", "v"), timeout=10, what="initial import")
    env.sim.faults({"pathPrefix": "/apis/image.openshift.io/v1/namespaces/%s/imagestreamimports"
                    % NS, "method": "POST", "code": 500, "count": -1})
    env.requests(reset=True)
    d2 = env.push("apifault", "v", "apifault v2")
    env.wait_event(NS, "ImportFailed", "apifault", timeout=20)
    time.sleep(6)
    attempts = isi_posts(env.requests(), NS)
    # The controller backs off per tag (capped at --max-backoff 4s here): a few POSTs in ~8s,
    # not one per 1s poll.
    assert 2 <= attempts <= 4, attempts
    # The status page and the API show the tag failing for the import's reason, although its
    # source answers polls fine; the tracked-tags metric counts it so.
    row = tag_row(env, "apifault", "v")
    assert row["state"] in ("Failing", "BackingOff"), row
    assert row["reason"] == "ImportRefused" and "500" in row["message"], row
    assert env.op.metric_sum("istrigger_tracked_tags", namespace=NS, state=row["state"]) >= 1
    # Watches cut by the server are resumed.
    env.sim.faults({"action": "close-watches"})
    env.sim.request("DELETE", "/_okdsim/faults", token=None)
    env.wait_image(NS, "apifault", "v", d2, timeout=4 + 1 + 3)
    wait_for(lambda: tag_row(env, "apifault", "v")["state"] == "UpToDate", timeout=5,
             what="the tag up to date again")
    assert env.op.alive()


def tag_row(env, stream, tag):
    rows = [r for r in env.op.api("/api/v1/status")["rows"]
            if (r["namespace"], r["imageStream"], r["tag"]) == (NS, stream, tag)]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_slow_import_shows_importing(env):
    proxy = env.proxy
    env.push("slowimp", "v", "slowimp v1")
    env.create(stream_obj("slowimp", [("v", "%s/slowimp:v" % proxy.host)],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    wait_for(lambda: env.image(NS, "slowimp", "v"), timeout=10, what="initial import")
    wait_for(lambda: tag_row(env, "slowimp", "v")["state"] == "UpToDate", timeout=5,
             what="slowimp up to date")
    # OpenShift fetches the manifest with GET while importing; istrigger polls with HEAD.
    proxy.set_rules([{"method": "GET", "delay": 4}])
    try:
        d2 = env.push("slowimp", "v", "slowimp v2")
        row = wait_for(lambda: (lambda r: r["state"] == "Importing" and r)(
            tag_row(env, "slowimp", "v")), timeout=10, what="the tag shown importing")
        assert row["importingSince"], row
        assert env.op.metric_sum("istrigger_tracked_tags", namespace=NS, state="Importing") == 1
        page = urllib.request.urlopen("http://127.0.0.1:%d/" % env.op.port, timeout=5).read()
        assert b'<span class="badge importing">Importing</span>' in page
    finally:
        proxy.set_rules([])
    env.wait_image(NS, "slowimp", "v", d2, timeout=15)
    wait_for(lambda: tag_row(env, "slowimp", "v")["state"] == "UpToDate", timeout=5,
             what="slowimp up to date after the import")


def test_restart_imports_nothing_unchanged(env):
    rc = env.op.stop()
    assert rc == 0, env.op.log()[-3000:]
    env.requests(reset=True)
    env.op.start()
    wait_for(lambda: env.op.metric_sum("istrigger_polls_total") >= 4, timeout=10,
             what="polls after the restart")
    time.sleep(3)
    assert isi_posts(env.requests()) == 0
    assert env.op.metric_sum("istrigger_imports_total") == 0


def test_not_ready_until_the_imagestream_cache_is_synced(tmp_path):
    """/readyz stays 503 and says why while the ImageStream list fails, and turns ok once it
    works (a replica that takes over must start from a full cache)."""
    import urllib.error
    e = E2E(tmp_path, None)
    try:
        e.sim.faults({"pathPrefix": "/apis/image.openshift.io/v1/imagestreams", "verb": "list",
                      "code": 503, "count": -1})
        op = e.operator()

        def readyz():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % op.port,
                                            timeout=2) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as err:
                return err.code, err.read().decode()
        code, body = wait_for(lambda: (lambda r: "imagestream-cache" in r[1] and r)(readyz()),
                              timeout=15, what="/readyz naming the ImageStream cache")
        assert code == 503 and "ImageStream cache not synced" in body, body
        time.sleep(2)
        assert readyz()[0] == 503
        e.sim.request("DELETE", "/_okdsim/faults", token=None)
        wait_for(lambda: readyz() == (200, "ok\n"), timeout=40, what="/readyz ok")
        assert op.alive()
    finally:
        e.close()
