"""The whole story with the sync controller (issue 5): a new image pushed to the registry is
noticed on istrigger's poll interval, imported into the ImageStream, and OpenShift's trigger
controller (okdsim's) rolls the Deployment out to it through the annotation an ImageTrigger
wrote. Measures push -> Deployment image latency."""
import time

import pytest

from imagetrigger_env import TriggerEnv, annotation, entry, image_trigger, wait_for, workload

POLL = 2.0  # seconds, istrigger.io/poll-interval on the stream


@pytest.fixture(scope="module")
def senv(tmp_path_factory):
    env = TriggerEnv(tmp_path_factory.mktemp("imagetrigger-sync"),
                     operator_args=["--minimum-interval=1s"])
    try:
        yield env
    finally:
        env.close()


def test_push_import_rollout_within_poll_interval(senv, record_property):
    ns = senv.new_namespace("story")
    first = senv.imported_stream(ns, "app", "latest", repo="story/app", content="v1")
    senv.kubectl("annotate", "imagestream", "app", "-n", ns,
                 "istrigger.io/poll-interval=%ds" % POLL, check=True)
    senv.apply(workload("Deployment", ns, "app", ["app"]))
    senv.apply(image_trigger(ns, "app", "Deployment", "app",
                             [{"from": {"name": "app:latest"}, "containers": ["app"]}]))
    senv.wait_annotation("Deployment", ns, "app", annotation(entry("app:latest", "app")))
    senv.wait_image("Deployment", ns, "app", "app", first)

    latencies = []
    for i in range(3):
        revision_before = senv.get("Deployment", ns, "app")["metadata"].get(
            "annotations", {}).get("deployment.kubernetes.io/revision")
        t0 = time.monotonic()
        digest = senv.env.push_image("story/app", "latest", "v%d" % (i + 2))
        want = senv.registry.ref("story/app", digest=digest)
        wait_for(lambda: senv.images("Deployment", ns, "app")["app"] == want,
                 timeout=POLL + 15, interval=0.05, what="Deployment rolled out to %s" % want)
        latencies.append(time.monotonic() - t0)
        # A new rollout in okdsim (its rollout controller bumps the revision just after).
        wait_for(lambda: senv.get("Deployment", ns, "app")["metadata"].get(
            "annotations", {}).get("deployment.kubernetes.io/revision") != revision_before,
            5, what="a new Deployment revision")
        senv.wait_condition(ns, "app", "Ready", "True")
        wait_for(lambda: senv.get("ImageTrigger", ns, "app")["status"]["triggers"][0]["image"]
                 == want, 10, what="status follows the tag")
    record_property("push_to_rollout_seconds", ",".join("%.2f" % x for x in latencies))
    print("push -> Deployment image latencies (poll %.0fs): %s" % (
        POLL, ", ".join("%.2fs" % x for x in latencies)))
    # Within the poll interval plus a small margin (push itself takes part of it).
    assert max(latencies) < POLL + 5, latencies
