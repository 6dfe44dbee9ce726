"""ImageTrigger end to end over time: foreign entries, container removal, deletion (finalizer),
a stripped annotation, a target deleted and recreated, conflicting ImageTriggers, a tag imported
later, and what the schema refuses."""
import json

from imagetrigger_env import (MANAGED, TRIGGERS, annotation, entry, image_trigger, tenv,  # noqa: F401
                              wait_for, workload)

FOREIGN = entry("other:1", "side")  # as `oc set triggers deploy/api --from-image=other:1 -c side`


def test_foreign_entries_kept_container_removal_and_deletion(tenv):
    ns = tenv.new_namespace("owner")
    pull_spec = tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web", "side", "extra"],
                        annotations={TRIGGERS: annotation(FOREIGN)}))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web", "extra"]}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(
        FOREIGN, entry("app:v1", "web"), entry("app:v1", "extra")))
    tenv.wait_image("Deployment", ns, "api", "web", pull_spec)

    # Drop "extra": exactly its entry goes.
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(FOREIGN, entry("app:v1", "web")))

    # Delete the ImageTrigger: its entries and its ownership record go, the foreign one stays,
    # and the finalizer lets the object go.
    tenv.kubectl("delete", "imagetrigger", "api", "-n", ns, "--wait=false", check=True)
    tenv.wait_annotation("Deployment", ns, "api", annotation(FOREIGN))
    wait_for(lambda: tenv.get("ImageTrigger", ns, "api") is None, 15, what="ImageTrigger gone")
    assert MANAGED not in tenv.annotations("Deployment", ns, "api")


def test_last_entry_removed_deletes_the_annotation(tenv):
    ns = tenv.new_namespace("last")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(entry("app:v1", "web")))
    tenv.kubectl("delete", "imagetrigger", "api", "-n", ns, check=True, timeout=30)
    ann = tenv.annotations("Deployment", ns, "api")
    assert TRIGGERS not in ann and MANAGED not in ann, ann


def test_stripped_annotation_is_put_back(tenv):
    ns = tenv.new_namespace("strip")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    want = annotation(entry("app:v1", "web"))
    tenv.wait_annotation("Deployment", ns, "api", want)
    tenv.kubectl("annotate", "deployment", "api", "-n", ns, TRIGGERS + "-", check=True)
    tenv.wait_annotation("Deployment", ns, "api", want)
    tenv.kubectl("annotate", "deployment", "api", "-n", ns, TRIGGERS + "-", MANAGED + "-",
                 check=True)
    tenv.wait_annotation("Deployment", ns, "api", want)


def test_target_created_later_deleted_and_recreated(tenv):
    ns = tenv.new_namespace("later")
    pull_spec = tenv.imported_stream(ns, "app", "v1")
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    c = tenv.wait_condition(ns, "api", "Ready", "False", "TargetNotFound")
    assert "does not exist" in c["message"]
    assert tenv.condition(ns, "api", "TargetFound")["status"] == "False"

    want = annotation(entry("app:v1", "web"))
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.wait_annotation("Deployment", ns, "api", want)
    tenv.wait_image("Deployment", ns, "api", "web", pull_spec)
    tenv.wait_condition(ns, "api", "Ready", "True")

    tenv.kubectl("delete", "deployment", "api", "-n", ns, check=True)
    tenv.wait_condition(ns, "api", "TargetFound", "False", "TargetNotFound")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.wait_annotation("Deployment", ns, "api", want)
    tenv.wait_image("Deployment", ns, "api", "web", pull_spec)
    tenv.wait_condition(ns, "api", "Ready", "True")


def test_missing_container_is_reported(tenv):
    ns = tenv.new_namespace("nocont")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web", "nope"]}]))
    c = tenv.wait_condition(ns, "api", "TriggersApplied", "False", "ContainerNotFound")
    assert "nope" in c["message"]
    assert tenv.condition(ns, "api", "Ready")["reason"] == "ContainerNotFound"
    # The existing container still gets its trigger; no entry for the missing one (it would make
    # the trigger controller reject the whole annotation).
    tenv.wait_annotation("Deployment", ns, "api", annotation(entry("app:v1", "web")))


def test_conflicting_image_triggers_later_one_reports_and_writes_nothing(tenv):
    ns = tenv.new_namespace("conflict")
    tenv.imported_stream(ns, "app", "v1")
    tenv.imported_stream(ns, "other", "v2")
    tenv.apply(workload("Deployment", ns, "api", ["web", "side"]))
    tenv.apply(image_trigger(ns, "first", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(entry("app:v1", "web")))
    tenv.apply(image_trigger(ns, "second", "Deployment", "api",
                             [{"from": {"name": "other:v2"}, "containers": ["web", "side"]}]))
    c = tenv.wait_condition(ns, "second", "Ready", "False", "Conflict")
    assert "first" in c["message"] and "web" in c["message"]
    events = wait_for(lambda: [e for e in json.loads(tenv.kubectl(
        "get", "events", "-n", ns, "-o", "json", check=True).stdout)["items"]
        if e["reason"] == "Conflict" and e["involvedObject"]["name"] == "second"], 10,
        what="a Conflict event on ImageTrigger second")
    assert events[0]["type"] == "Warning" and events[0]["involvedObject"]["kind"] == "ImageTrigger"
    tenv.wait_annotation("Deployment", ns, "api",
                         annotation(entry("app:v1", "web"), entry("other:v2", "side")))
    tenv.wait_condition(ns, "first", "Ready", "True")

    # When the first one lets go, the second one takes the container.
    tenv.kubectl("delete", "imagetrigger", "first", "-n", ns, check=True, timeout=30)
    tenv.wait_annotation("Deployment", ns, "api",
                         annotation(entry("other:v2", "side"), entry("other:v2", "web")))
    tenv.wait_condition(ns, "second", "Ready", "True")


def test_tag_imported_later_resolves(tenv):
    ns = tenv.new_namespace("notyet")
    tenv.apply(workload("Deployment", ns, "api", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_condition(ns, "api", "ImagesResolved", "False", "StreamNotFound")
    # The annotation is written anyway: OpenShift's controller applies it once the tag exists.
    tenv.wait_annotation("Deployment", ns, "api", annotation(entry("app:v1", "web")))
    pull_spec = tenv.imported_stream(ns, "app", "v1")
    tenv.wait_condition(ns, "api", "Ready", "True")
    assert tenv.get("ImageTrigger", ns, "api")["status"]["triggers"][0]["image"] == pull_spec
    tenv.wait_image("Deployment", ns, "api", "web", pull_spec)


def test_invalid_image_triggers_are_rejected_by_the_schema(tenv):
    ns = tenv.new_namespace("invalid")
    cases = [
        (image_trigger(ns, "job", "Job", "x", [{"from": {"name": "app:v1"}, "containers": ["c"]}]),
         'spec.target.kind: Unsupported value: "Job"'),
        (image_trigger(ns, "notag", "Deployment", "x",
                       [{"from": {"name": "app"}, "containers": ["c"]}]),
         "spec.triggers[0].from.name"),
        (image_trigger(ns, "nocont", "Deployment", "x",
                       [{"from": {"name": "app:v1"}, "containers": []}]),
         "spec.triggers[0].containers"),
        (image_trigger(ns, "notrig", "Deployment", "x", []), "spec.triggers"),
        (image_trigger(ns, "kind", "Deployment", "x",
                       [{"from": {"kind": "DockerImage", "name": "app:v1"}, "containers": ["c"]}]),
         'spec.triggers[0].from.kind: Unsupported value: "DockerImage"'),
    ]
    for obj, needle in cases:
        res = tenv.apply(obj, check=False)
        assert res.returncode != 0, obj
        assert 'The ImageTrigger "%s" is invalid' % obj["metadata"]["name"] in res.stderr, res.stderr
        assert needle in res.stderr, res.stderr
    bad_paused = image_trigger(ns, "paused", "Deployment", "x",
                               [{"from": {"name": "app:v1"}, "containers": ["c"],
                                 "paused": "false"}])
    res = tenv.apply(bad_paused, check=False)
    assert res.returncode != 0 and "paused" in res.stderr, res.stderr


def test_retarget_moves_the_triggers(tenv):
    ns = tenv.new_namespace("retarget")
    tenv.imported_stream(ns, "app", "v1")
    tenv.apply(workload("Deployment", ns, "old", ["web"], annotations={TRIGGERS: annotation(FOREIGN)}))
    tenv.apply(workload("StatefulSet", ns, "new", ["web"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "old",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "old", annotation(FOREIGN, entry("app:v1", "web")))
    tenv.apply(image_trigger(ns, "api", "StatefulSet", "new",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    tenv.wait_annotation("StatefulSet", ns, "new", annotation(entry("app:v1", "web")))
    tenv.wait_annotation("Deployment", ns, "old", annotation(FOREIGN))
    assert MANAGED not in tenv.annotations("Deployment", ns, "old")
