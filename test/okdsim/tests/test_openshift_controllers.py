"""okdsim's image-import controller (new streams, changed `from`, generation reset, scheduled
imports), image trigger controller (per kind, paused, Local reference policy, annotations added
later, level-driven revert) and deployment rollout recording, against a real docker-registry."""
import json
import time

import pytest

pytest.register_assert_rewrite("openshift_env")
from openshift_env import IMAGE_API, settle, start_env, stop_env, wait_for  # noqa: E402

pytest_plugins = ("openshift_env",)  # the okd_env fixture

NS = "ctl"
FP = 'spec.template.spec.containers[?(@.name=="web")].image'


def head(stream, tag):
    for t in (stream.get("status") or {}).get("tags") or []:
        if t["tag"] == tag and t.get("items"):
            return t["items"][0]
    return None


def triggers(name="app:v1", fp=FP, **kw):
    t = {"from": {"kind": "ImageStreamTag", "name": name}, "fieldPath": fp}
    t.update(kw)
    return json.dumps([t])


def deployment(name, trig=None, image="placeholder:1"):
    md = {"name": name}
    if trig is not None:
        md["annotations"] = {"image.openshift.io/triggers": trig}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def get(env, path):
    code, _, body = env.request("GET", path)
    assert code == 200, body
    return body


def dep_path(name, ns=NS):
    return "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name)


def image_of(obj):
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def test_import_controller_generation_and_from_changes(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    s = env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                              "name": reg.ref("app", "v1")},
                                       "importPolicy": {"insecure": True}}])
    assert s["metadata"]["generation"] == 1 and s["status"] == {"dockerImageRepository": ""}
    s = settle(env, NS, "app")
    assert head(s, "v1")["image"] == d1 and s["metadata"]["generation"] == 2
    # a moved tag is not seen without an import ...
    d2 = env.push_image("app", "v1", "two")
    time.sleep(0.5)
    assert head(env.stream(NS, "app"), "v1")["image"] == d1
    # ... generation 0 asks for one (JSON patch of just that tag's generation)
    code, _, r = env.request("PATCH", "%s/namespaces/%s/imagestreams/app" % (IMAGE_API, NS),
                             [{"op": "replace", "path": "/spec/tags/0/generation", "value": 0}],
                             {"Content-Type": "application/json-patch+json"})
    assert code == 200, r
    assert r["spec"]["tags"][0]["generation"] == r["metadata"]["generation"] == 3
    s = wait_for(lambda: (lambda s: s if head(s, "v1")["image"] == d2 else None)(
        env.stream(NS, "app")), what="re-import")
    assert [i["image"] for i in s["status"]["tags"][0]["items"]] == [d2, d1]
    # changing `from` imports the new source
    d3 = env.push_image("other", "x", "three")
    s["spec"]["tags"][0]["from"]["name"] = reg.ref("other", "x")
    code, _, r = env.request("PUT", "%s/namespaces/%s/imagestreams/app" % (IMAGE_API, NS), s)
    assert code == 200, r
    s = settle(env, NS, "app")
    assert head(s, "v1")["image"] == d3
    assert head(s, "v1")["dockerImageReference"] == reg.ref("other", digest=d3)
    # a failed import is recorded once and not retried in a loop
    s["spec"]["tags"][0]["from"]["name"] = "127.0.0.1:1/nothing:here"
    code, _, r = env.request("PUT", "%s/namespaces/%s/imagestreams/app" % (IMAGE_API, NS), s)
    s = settle(env, NS, "app")
    t = s["status"]["tags"][0]
    assert t["conditions"][0]["reason"] == "InternalError"
    # the condition carries the import attempt's generation, so the tag counts as observed
    assert t["conditions"][0]["generation"] >= s["spec"]["tags"][0]["generation"]
    assert t["items"][0]["image"] == d3  # last known good stays
    rv = s["metadata"]["resourceVersion"]
    time.sleep(1.0)
    assert env.stream(NS, "app")["metadata"]["resourceVersion"] == rv


def test_scheduled_import(tmp_path):
    env = start_env(tmp_path, "--scheduled-import-interval", "1s")
    try:
        reg = env.registry
        env.create_namespace(NS)
        d1 = env.push_image("app", "v1", "one")
        env.create_stream(NS, "app", [
            {"name": "sched", "from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
             "importPolicy": {"insecure": True, "scheduled": True}},
            {"name": "manual", "from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
             "importPolicy": {"insecure": True}}])
        s = settle(env, NS, "app")
        assert head(s, "sched")["image"] == d1 == head(s, "manual")["image"]
        # nothing changed upstream: scheduled checks do not write
        rv = s["metadata"]["resourceVersion"]
        time.sleep(2.5)
        assert env.stream(NS, "app")["metadata"]["resourceVersion"] == rv
        d2 = env.push_image("app", "v1", "two")
        t0 = time.time()
        s = wait_for(lambda: (lambda s: s if head(s, "sched")["image"] == d2 else None)(
            env.stream(NS, "app")), timeout=8, what="scheduled import")
        assert time.time() - t0 < 5  # interval 1s (+ tick and import time)
        assert head(s, "manual")["image"] == d1  # not scheduled: untouched
        assert s["spec"]["tags"][1]["importPolicy"]["scheduled"] is True
    finally:
        stop_env(env)


def _create(env, path, body):
    code, _, r = env.request("POST", path, body)
    assert code == 201, r
    return r


def test_triggers_per_kind_paused_and_later_annotation(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                          "name": reg.ref("app", "v1")},
                                   "importPolicy": {"insecure": True}}])
    settle(env, NS, "app")
    want1 = reg.ref("app", digest=d1)
    tmpl = {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "web", "image": "placeholder:1"}]}}
    objs = {
        "deployments": deployment("dep", triggers()),
        "statefulsets": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                         "metadata": {"name": "sts", "annotations": {
                             "image.openshift.io/triggers": triggers()}},
                         "spec": {"selector": {"matchLabels": {"app": "x"}}, "serviceName": "s",
                                  "template": tmpl}},
        "daemonsets": {"apiVersion": "apps/v1", "kind": "DaemonSet",
                       "metadata": {"name": "ds", "annotations": {
                           "image.openshift.io/triggers": triggers()}},
                       "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": tmpl}},
    }
    for res, body in objs.items():
        _create(env, "/apis/apps/v1/namespaces/%s/%s" % (NS, res), body)
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj", "annotations": {
        "image.openshift.io/triggers": triggers(
            fp='spec.jobTemplate.spec.template.spec.containers[?(@.name=="web")].image')}},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "web", "image": "placeholder:1"}]}}}}}}
    _create(env, "/apis/batch/v1/namespaces/%s/cronjobs" % NS, cj)
    _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS,
            deployment("paused", triggers(paused=True)))
    # a Job is not handled by the trigger controller
    _create(env, "/apis/batch/v1/namespaces/%s/jobs" % NS, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job", "annotations": {
            "image.openshift.io/triggers": triggers()}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "web", "image": "placeholder:1"}]}}}})

    def applied():
        out = {}
        for res in objs:
            o = get(env, "/apis/apps/v1/namespaces/%s/%s/%s" % (NS, res, objs[res]["metadata"][
                "name"]))
            out[res] = (image_of(o), o["metadata"]["generation"])
        o = get(env, "/apis/batch/v1/namespaces/%s/cronjobs/cj" % NS)
        out["cronjobs"] = (o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
            "image"], o["metadata"]["generation"])
        return out
    want = {k: (want1, 2) for k in ("deployments", "statefulsets", "daemonsets", "cronjobs")}
    wait_for(lambda: applied() == want, what="triggers applied")
    time.sleep(1.2)  # two resyncs
    assert image_of(get(env, dep_path("paused"))) == "placeholder:1"
    job = get(env, "/apis/batch/v1/namespaces/%s/jobs/job" % NS)
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "placeholder:1"

    # the tag moves: every triggered object follows, the paused one does not
    d2 = env.push_image("app", "v1", "two")
    code, _, r = env.isi(NS, "app", [{"from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
                                      "to": {"name": "v1"}, "importPolicy": {"insecure": True}}])
    assert code == 201
    want2 = reg.ref("app", digest=d2)
    want = {k: (want2, 3) for k in want}
    wait_for(lambda: applied() == want, what="triggers follow the tag")
    assert image_of(get(env, dep_path("paused"))) == "placeholder:1"

    # unpausing (editing the annotation) applies it
    p = get(env, dep_path("paused"))
    p["metadata"]["annotations"]["image.openshift.io/triggers"] = triggers()
    code, _, r = env.request("PUT", dep_path("paused"), p)
    assert code == 200, r
    wait_for(lambda: image_of(get(env, dep_path("paused"))) == want2, what="unpaused trigger")

    # an annotation added later with kubectl is picked up
    _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("later"))
    res = env.kubectl("annotate", "-n", NS, "deployment/later",
                      "image.openshift.io/triggers=" + triggers(), check=True)
    assert "annotated" in res.stdout
    wait_for(lambda: image_of(get(env, dep_path("later"))) == want2, what="kubectl annotate")


def test_rollout_revision_revert_and_local_reference_policy(tmp_path):
    env = start_env(tmp_path, "--internal-registry-hostname", "image-registry.test:5000")
    try:
        reg = env.registry
        env.create_namespace(NS)
        d1 = env.push_image("app", "v1", "one")
        s = env.create_stream(NS, "app", [
            {"name": "v1", "from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
             "importPolicy": {"insecure": True}},
            {"name": "local", "from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
             "importPolicy": {"insecure": True}, "referencePolicy": {"type": "Local"}}])
        assert s["status"]["dockerImageRepository"] == "image-registry.test:5000/%s/app" % NS
        settle(env, NS, "app")
        _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("dep", triggers()))
        _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS,
                deployment("loc", triggers("app:local")))
        _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("plain"))

        def rev(name):
            o = get(env, dep_path(name))
            return (o["metadata"].get("annotations") or {}).get(
                "deployment.kubernetes.io/revision"), o["metadata"]["generation"], \
                (o.get("status") or {}).get("observedGeneration"), image_of(o)
        want1 = reg.ref("app", digest=d1)
        wait_for(lambda: rev("dep") == ("2", 2, 2, want1), what="first rollout")
        wait_for(lambda: rev("plain") == ("1", 1, 1, "placeholder:1"), what="plain revision 1")
        # Local: <status.dockerImageRepository>@<image>
        wait_for(lambda: rev("loc")[3] == "image-registry.test:5000/%s/app@%s" % (NS, d1),
                 what="local reference")
        code, _, ist = env.request("GET", "%s/namespaces/%s/imagestreamtags/app:local"
                                   % (IMAGE_API, NS))
        assert ist["image"]["dockerImageReference"] == \
            "image-registry.test:5000/%s/app@%s" % (NS, d1)
        # a manual edit is reverted (and both template changes are rollouts)
        res = env.kubectl("set", "image", "-n", NS, "deployment/dep", "web=manual:1", check=True)
        assert "image updated" in res.stdout
        wait_for(lambda: rev("dep") == ("4", 4, 4, want1), what="revert")
        # a status-only write is not a rollout
        time.sleep(0.6)
        assert rev("dep") == ("4", 4, 4, want1)
    finally:
        stop_env(env)


def test_image_lookup_admission(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                          "name": reg.ref("app", "v1")},
                                   "importPolicy": {"insecure": True}}])
    env.create_stream(NS, "nolocal", [{"name": "v1", "from": {"kind": "DockerImage",
                                                              "name": reg.ref("app", "v1")},
                                       "importPolicy": {"insecure": True}}])
    settle(env, NS, "app")
    settle(env, NS, "nolocal")
    want = reg.ref("app", digest=d1)
    # lookupPolicy.local off: nothing is rewritten
    r = _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("a", image="app:v1"))
    assert image_of(r) == "app:v1"
    res = env.kubectl("patch", "-n", NS, "imagestream/app", "--type=merge",
                      "-p", '{"spec":{"lookupPolicy":{"local":true}}}', check=True)
    assert "patched" in res.stdout
    r = _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("b", image="app:v1"))
    assert image_of(r) == want
    # not a local name: left alone
    r = _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS,
                deployment("c", image="quay.io/x/app:v1"))
    assert image_of(r) == "quay.io/x/app:v1"
    # an update that changes the image is resolved; the existing Deployment "a" is not touched
    # by unrelated updates
    a = get(env, dep_path("a"))
    a["metadata"].setdefault("labels", {})["x"] = "y"
    code, _, r = env.request("PUT", dep_path("a"), a)
    assert code == 200 and image_of(r) == "app:v1"
    res = env.kubectl("set", "image", "-n", NS, "deployment/c", "web=app:v1", check=True)
    assert image_of(get(env, dep_path("c"))) == want
    # the pod-template annotation forces resolution, also of a stream without local lookup
    d = deployment("d", image="nolocal:v1")
    d["spec"]["template"]["metadata"]["annotations"] = {
        "alpha.image.policy.openshift.io/resolve-names": "*"}
    r = _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, d)
    assert image_of(r) == want
    # StatefulSet, CronJob, Pod; a ReplicaSet owned by a controller is skipped
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "s", "template": {
               "metadata": {"labels": {"a": "b"}},
               "spec": {"containers": [{"name": "w", "image": "app:v1"}],
                        "initContainers": [{"name": "i", "image": "app"}]}}}}
    r = _create(env, "/apis/apps/v1/namespaces/%s/statefulsets" % NS, sts)
    assert r["spec"]["template"]["spec"]["containers"][0]["image"] == want
    # missing tag on a local stream: <status.dockerImageRepository>:TAG, which is empty here,
    # so the image stays as written
    assert r["spec"]["template"]["spec"]["initContainers"][0]["image"] == "app"
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
          "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
              "restartPolicy": "Never", "containers": [{"name": "w", "image": "app:v1"}]}}}}}}
    r = _create(env, "/apis/batch/v1/namespaces/%s/cronjobs" % NS, cj)
    assert r["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == want
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "w", "image": "app:v1"}]}}
    r = _create(env, "/api/v1/namespaces/%s/pods" % NS, pod)
    assert r["spec"]["containers"][0]["image"] == want
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
        "name": "rs", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                           "name": "b", "uid": "u", "controller": True}]},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "w", "image": "app:v1"}]}}}}
    r = _create(env, "/apis/apps/v1/namespaces/%s/replicasets" % NS, rs)
    assert r["spec"]["template"]["spec"]["containers"][0]["image"] == "app:v1"


def test_state_survives_restart(tmp_path):
    env = start_env(tmp_path, sim_kw={"state": tmp_path / "state.json"})
    try:
        reg = env.registry
        env.create_namespace(NS)
        d1 = env.push_image("app", "v1", "one")
        env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                              "name": reg.ref("app", "v1")},
                                       "importPolicy": {"insecure": True}}])
        settle(env, NS, "app")
        _create(env, "/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("dep", triggers()))
        wait_for(lambda: get(env, dep_path("dep"))["metadata"]["annotations"].get(
            "deployment.kubernetes.io/revision") == "2", what="rollout")
        time.sleep(0.5)  # the state file is written in the background
        env.sim.restart()
        code, _, ist = env.request("GET", "%s/namespaces/%s/imagestreamtags/app:v1"
                                   % (IMAGE_API, NS))
        assert code == 200 and ist["image"]["metadata"]["name"] == d1
        # after the restart the next template change is the next revision
        d2 = env.push_image("app", "v1", "two")
        code, _, r = env.isi(NS, "app", [{"from": {"kind": "DockerImage",
                                                   "name": reg.ref("app", "v1")},
                                          "to": {"name": "v1"}, "importPolicy": {"insecure": True}}])
        assert code == 201
        wait_for(lambda: (lambda o: (image_of(o), o["metadata"]["annotations"].get(
            "deployment.kubernetes.io/revision")))(get(env, dep_path("dep"))) ==
            (reg.ref("app", digest=d2), "3"), what="rollout after restart")
    finally:
        stop_env(env)
