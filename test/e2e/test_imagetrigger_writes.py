"""How istrigger writes: merge patches only when something would change, and a 409 Conflict
(someone else wrote the workload in between) is retried on a fresh read."""
import json
import time

from imagetrigger_env import TRIGGERS, annotation, entry, image_trigger, tenv, wait_for, workload  # noqa: F401


def _requests(tenv, path, verb):
    return [r for r in tenv.sim.requests()["requests"]
            if r.get("path", "").split("?")[0] == path and r.get("verb") == verb]


def test_conflict_is_retried_on_a_fresh_read(tenv):
    ns = tenv.new_namespace("retry")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    path = "/apis/apps/v1/namespaces/%s/deployments/api" % ns
    tenv.sim.faults({"path": path, "method": "PATCH", "code": 409, "count": 2,
                     "reason": "Conflict",
                     "message": 'Operation cannot be fulfilled on deployments.apps "api": the '
                                'object has been modified; please apply your changes to the '
                                'latest version and try again'})
    tenv.sim.requests(reset=True)
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(entry("app:v1", "web")))
    assert len(_requests(tenv, path, "patch")) >= 3  # two refused, one written
    assert len(_requests(tenv, path, "get")) >= 2    # each refusal re-read the object
    tenv.wait_condition(ns, "api", "Ready", "True")


def test_nothing_is_written_when_nothing_changes(tenv):
    ns = tenv.new_namespace("idle")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    want = annotation(entry("app:v1", "web"))
    tenv.wait_annotation("Deployment", ns, "api", want)
    tenv.wait_condition(ns, "api", "Ready", "True")
    tenv.wait_observed(ns, "api")
    dep = "/apis/apps/v1/namespaces/%s/deployments/api" % ns
    it = "/apis/istrigger.io/v1alpha1/namespaces/%s/imagetriggers/api" % ns
    wait_for(lambda: tenv.get("Deployment", ns, "api")["spec"]["template"]["spec"]
             ["containers"][0]["image"] != "placeholder:1", 15, what="rollout")
    marker = 'object="%s/api" msg="reconciled: ' % ns

    def quiet():
        runs = [l for l in tenv.op.log().splitlines() if marker in l]
        return runs and "workload unchanged, status unchanged" in runs[-1]
    wait_for(quiet, 10, what="the reconciler to settle")
    before = tenv.op.log().count(marker)
    tenv.sim.requests(reset=True)

    # An unrelated change wakes the reconciler (the Deployment is watched): it writes nothing.
    tenv.kubectl("label", "deployment", "api", "-n", ns, "unrelated=yes", check=True)
    wait_for(lambda: tenv.op.log().count(marker) > before, 10, what="a reconcile of %s/api" % ns)
    runs = [l for l in tenv.op.log().splitlines() if marker in l][before:]
    assert runs and all("workload unchanged, status unchanged" in l for l in runs), runs
    assert len(_requests(tenv, dep, "patch")) == 1  # kubectl's own
    assert _requests(tenv, it, "patch") == []
    assert _requests(tenv, it + "/status", "patch") == []


def test_deleted_while_operator_down_is_cleaned_up_on_restart(tenv):
    ns = tenv.new_namespace("down")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(entry("app:v1", "web")))
    tenv.wait_observed(ns, "api")
    assert tenv.op.stop() == 0
    try:
        tenv.kubectl("delete", "imagetrigger", "api", "-n", ns, "--wait=false", check=True)
        # The finalizer holds it while nobody can clean up.
        it = tenv.get("ImageTrigger", ns, "api")
        assert it is not None and it["metadata"].get("deletionTimestamp")
    finally:
        tenv.op.start()
    tenv.wait_annotation("Deployment", ns, "api", None)
    wait_for(lambda: tenv.get("ImageTrigger", ns, "api") is None, 15, what="ImageTrigger gone")


def test_one_status_write_and_one_event_per_change_while_the_watch_lags(tenv):
    """Reconciles that run before the ImageTrigger watch delivers the operator's own status write
    (a slow watch cache) neither write the status again nor record its events twice."""
    ns = tenv.new_namespace("lag")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_condition(ns, "api", "ImagesResolved", "False", "StreamNotFound")
    tenv.wait_observed(ns, "api")
    it = "/apis/istrigger.io/v1alpha1/namespaces/%s/imagetriggers/api" % ns
    marker = 'object="%s/api" msg="reconciled: ' % ns
    lag = 20
    t0 = time.monotonic()
    tenv.sim.faults({"pathPrefix": "/apis/istrigger.io/", "watchLag": lag})
    try:
        pull_spec = tenv.imported_stream(ns, "app", "v1")
        # Through the API (not the operator's lagging cache): the change is written.
        tenv.wait_condition(ns, "api", "Ready", "True")
        tenv.sim.requests(reset=True)
        for i in range(3):  # the Deployment is watched without lag: each label wakes a reconcile
            before = tenv.op.log().count(marker)
            tenv.kubectl("label", "deployment", "api", "-n", ns, "--overwrite", "poke=%d" % i,
                         check=True)
            wait_for(lambda: tenv.op.log().count(marker) > before, 5,
                     what="a reconcile of %s/api" % ns)
        # Still inside the lag: those reconciles saw the old status in the cache.
        assert time.monotonic() - t0 < lag, "too slow to test inside the watch lag"
        assert _requests(tenv, it + "/status", "patch") == []
    finally:
        tenv.sim.request("DELETE", "/_okdsim/faults", token=None)
    tenv.wait_image("Deployment", ns, "api", "web", pull_spec)
    assert tenv.get("ImageTrigger", ns, "api")["status"]["triggers"][0]["image"] == pull_spec

    def mine():
        evs = json.loads(tenv.kubectl("get", "events", "-n", ns, "-o", "json",
                                      check=True).stdout)["items"]
        return [e for e in evs if e["involvedObject"].get("kind") == "ImageTrigger"
                and e["reason"] in ("Ready", "ImageResolved")]
    events = wait_for(lambda: len(mine()) >= 2 and mine(), 10, what="Ready and ImageResolved events")
    assert sorted(e["reason"] for e in events) == ["ImageResolved", "Ready"], events
    assert all(e.get("count", 1) == 1 for e in events), events
    assert pull_spec in [e for e in events if e["reason"] == "ImageResolved"][0]["message"]
