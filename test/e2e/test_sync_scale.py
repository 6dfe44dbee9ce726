"""End-to-end, scenario 4 of issue 5: 200 ImageStreams over 20 unique sources cost one HEAD per
source per interval, and when nothing changes there is no import and no API write."""
import time

import pytest

from conftest import e2e_env, isi_posts, reglib, stream_obj, wait_for, writes

NS = "scale"
STREAMS, SOURCES, INTERVAL = 200, 20, 2.0


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    with e2e_env(tmp, reglib.Registry(tmp / "registry").start()) as e:
        e.namespace(NS)
        e.namespace("istrigger")
        yield e


def test_streams_sharing_sources_cost_one_head_per_source_per_interval(env):
    reg = env.registry
    for s in range(SOURCES):
        env.push("app%d" % s, "v", "app %d" % s)
    items = [stream_obj("s%03d" % i, [("v", reg.ref("app%d" % (i % SOURCES), "v"))],
                        annotations={"istrigger.io/poll-interval": "2s"})
             for i in range(STREAMS)]
    for obj in items:  # through the API: 200 kubectl processes would take most of the budget
        code, _, body = env.sim.request("POST", "/apis/image.openshift.io/v1/namespaces/%s/"
                                        "imagestreams" % NS, obj)
        assert code == 201, body
    # okdsim's import controller imports every new tag once.
    def all_imported():
        code, _, body = env.sim.request("GET", "/apis/image.openshift.io/v1/namespaces/%s/"
                                        "imagestreams" % NS)
        return code == 200 and len(body["items"]) == STREAMS and all(
            any(t.get("items") for t in (s.get("status") or {}).get("tags") or [])
            for s in body["items"])
    wait_for(all_imported, timeout=60, interval=0.5, what="okdsim to import the new streams")

    op = env.operator("--minimum-interval", "1s", "--operator-namespace", "istrigger",
                      name="scale")

    def sources():
        items = op.api("/api/v1/sources")["items"]
        tags = sum(len(s["tags"]) for s in items)
        return items if len(items) == SOURCES and tags == STREAMS and all(
            s.get("lastDigest") for s in items) else None
    wait_for(sources, timeout=30, interval=0.5, what="200 tags over 20 polled sources")
    assert op.metric_sum("istrigger_unique_sources") == SOURCES

    env.requests(reset=True)
    heads0 = op.metric_sum("istrigger_registry_requests_total", kind="head")
    polls0 = op.metric_sum("istrigger_polls_total")
    window = 10.0
    time.sleep(window)
    heads = op.metric_sum("istrigger_registry_requests_total", kind="head") - heads0
    polls = op.metric_sum("istrigger_polls_total") - polls0
    report = env.requests()
    print("HEADs in %.0fs: %d for %d sources at %.0fs (%.2f per source per interval); "
          "okdsim requests: %s" % (window, heads, SOURCES, INTERVAL,
                                   heads / SOURCES / (window / INTERVAL),
                                   report.get("byVerbResource")))
    # One HEAD per source per interval; jitter may take up to 10% off an interval.
    per_interval = heads / SOURCES / (window / INTERVAL)
    assert 0.8 <= per_interval <= 1.25, heads
    assert polls == heads  # every poll is one HEAD: no ping, token or GET when nothing changed
    assert op.metric_sum("istrigger_polls_total", result="changed") == SOURCES  # first polls only
    assert isi_posts(report) == 0
    assert writes(report) == {}, writes(report)
