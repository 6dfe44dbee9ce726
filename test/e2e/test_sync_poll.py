"""End-to-end: istrigger polls a real registry on the interval the user chose and OpenShift
(okdsim, whose own scheduled import is set to 15 minutes) imports the new image.

Scenarios 1 (annotate, push, see the new digest within the interval), 2 (scheduled tags adopted
at the default interval, opted-out tags left alone) and 5 (multi-arch tags, Legacy and
PreserveOriginal: not re-imported when unchanged, re-imported when the index changes) of issue 5.
"""
import time

import pytest

from conftest import e2e_env, isi_posts, reglib, stream_obj, wait_for

NS = "app"
INTERVAL = 2.0
MARGIN = 3.0  # a poll, the ImageStreamImport, okdsim's import and our watch of the stream


def polls_ok(op):
    """Successful digest checks so far (new digest or unchanged)."""
    return (op.metric_sum("istrigger_polls_total", result="changed")
            + op.metric_sum("istrigger_polls_total", result="unchanged"))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("poll")
    with e2e_env(tmp, reglib.Registry(tmp / "registry").start()) as e:
        e.namespace(NS)
        e.namespace("istrigger")
        e.op = e.operator("--minimum-interval", "1s", "--default-interval", "2s",
                          "--operator-namespace", "istrigger", "--max-backoff", "10s")
        yield e


def test_annotated_stream_follows_push_within_interval(env):
    reg = env.registry
    d1 = env.push("web", "1.0", "web v1")
    env.create(stream_obj("web", [("1.0", reg.ref("web", "1.0"))]), ns=NS)
    env.wait_image(NS, "web", "1.0", d1)  # okdsim's import controller imports the new tag

    env.kubectl("annotate", "is/web", "-n", NS, "istrigger.io/poll-interval=2s")
    wait_for(lambda: polls_ok(env.op) > 0,
             timeout=5, what="a first poll")
    d2 = env.push("web", "1.0", "web v2")
    pushed = time.monotonic()
    env.wait_image(NS, "web", "1.0", d2, timeout=INTERVAL + MARGIN)
    latency = time.monotonic() - pushed
    print("push-to-import latency: %.2fs (interval 2s)" % latency)
    ev = env.wait_event(NS, "Imported", "imported 1.0 = " + d2)
    assert "after the push was seen" in ev[0]["message"]
    assert ev[0]["involvedObject"]["kind"] == "ImageStream"
    assert ev[0]["involvedObject"]["name"] == "web"
    assert env.op.metric_sum("istrigger_imports_total", result="success") >= 1
    # The ImageStreamImport echoed the tag's policy: still insecure, not made scheduled.
    tag = [t for t in env.stream(NS, "web")["spec"]["tags"] if t["name"] == "1.0"][0]
    assert tag["importPolicy"].get("insecure") is True
    assert not tag["importPolicy"].get("scheduled")


def test_scheduled_tag_adopted_opted_out_left_alone(env):
    reg = env.registry
    a1 = env.push("sched", "v", "sched v1")
    o1 = env.push("optout", "v", "optout v1")
    env.create(stream_obj("adopted", [("v", reg.ref("sched", "v"),
                                       {"importPolicy": {"scheduled": True}})]), ns=NS)
    env.create(stream_obj("optedout", [("v", reg.ref("optout", "v"),
                                        {"importPolicy": {"scheduled": True}})],
                          annotations={"istrigger.io/enabled": "false"}), ns=NS)
    env.wait_image(NS, "adopted", "v", a1)
    env.wait_image(NS, "optedout", "v", o1)
    # Let the first poll of the adopted tag happen before pushing.
    wait_for(lambda: any(s["source"].endswith("/sched:v") and s.get("lastDigest")
                         for s in env.op.api("/api/v1/sources")["items"]),
             timeout=5, what="the adopted tag's source to be polled")
    a2 = env.push("sched", "v", "sched v2")
    o2 = env.push("optout", "v", "optout v2")
    env.wait_image(NS, "adopted", "v", a2, timeout=INTERVAL + MARGIN)
    time.sleep(INTERVAL * 2)
    assert env.image(NS, "optedout", "v") == o1 != o2
    sources = [s["source"] for s in env.op.api("/api/v1/sources")["items"]]
    assert not any(s.endswith("/optout:v") for s in sources)


def test_multiarch_legacy_and_preserve_original(env):
    reg = env.registry
    plats = [("arm64", "linux"), ("amd64", "linux")]
    idx = env.push_index("multi", "v", plats)
    env.create(stream_obj("multi", [
        ("legacy", reg.ref("multi", "v"), {"importPolicy": {"importMode": "Legacy"}}),
        ("preserve", reg.ref("multi", "v"), {"importPolicy": {"importMode": "PreserveOriginal"}}),
    ], annotations={"istrigger.io/poll-interval": "2s"}), ns=NS)
    amd = [c for c in idx["children"] if c["architecture"] == "amd64"][0]["digest"]
    env.wait_image(NS, "multi", "legacy", amd)
    env.wait_image(NS, "multi", "preserve", idx["digest"])

    # Unchanged: several polls, no ImageStreamImport for this stream.
    env.requests(reset=True)
    polls = polls_ok(env.op)
    time.sleep(INTERVAL * 3)
    assert polls_ok(env.op) >= polls + 2
    assert isi_posts(env.requests(), NS) == 0

    # The index changes: both tags are imported again, each the way OpenShift stores it.
    idx2 = env.push_index("multi", "v", plats)
    amd2 = [c for c in idx2["children"] if c["architecture"] == "amd64"][0]["digest"]
    env.wait_image(NS, "multi", "legacy", amd2, timeout=INTERVAL + MARGIN)
    env.wait_image(NS, "multi", "preserve", idx2["digest"], timeout=INTERVAL + MARGIN)
    # One ImageStreamImport for both tags of the stream.
    assert isi_posts(env.requests(), NS) == 1


def test_watched_namespaces_from_olm_environment(env):
    """OLM's olm.targetNamespaces reaches the container as an environment variable: only those
    namespaces are tracked (here a second replica, leader election off, tracking one)."""
    reg = env.registry
    env.push("nsapp", "v", "ns v1")
    for ns in ("team-a", "team-b"):
        env.namespace(ns)
        env.create(stream_obj("app", [("v", reg.ref("nsapp", "v"))],
                              annotations={"istrigger.io/poll-interval": "2s"}), ns=ns)
    scoped = env.operator("--leader-elect=false", "--minimum-interval", "1s", name="scoped",
                          env={"OLM_TARGET_NAMESPACES": "team-a"})

    def tracked():
        return {(t["namespace"], t["imageStream"]) for s in scoped.api("/api/v1/sources")["items"]
                for t in s["tags"]}
    wait_for(lambda: tracked() == {("team-a", "app")}, timeout=5, what="team-a only")
    time.sleep(1)
    assert tracked() == {("team-a", "app")}
    scoped.stop()
