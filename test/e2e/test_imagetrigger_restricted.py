"""ImageTrigger with the operator restricted to some namespaces (`--namespaces`, or OLM's
OwnNamespace/MultiNamespace install modes): a source in a namespace istrigger does not watch
is still written into the annotation (OpenShift's trigger controller resolves it on its own),
and the status says why istrigger cannot report it instead of claiming the stream is missing.
ImageTriggers in unwatched namespaces are left alone."""
import time

from imagetrigger_env import TriggerEnv, annotation, entry, image_trigger, workload

WATCHED, OTHER = "web-r", "images-r"


def test_source_in_an_unwatched_namespace(tmp_path):
    env = TriggerEnv(tmp_path, operator_args=("--namespaces", WATCHED))
    try:
        env.env.create_namespace(WATCHED)
        env.env.create_namespace(OTHER)
        pull_spec = env.imported_stream(OTHER, "shared", "stable")
        env.apply(workload("Deployment", WATCHED, "front", ["web"]))
        env.apply(image_trigger(WATCHED, "front", "Deployment", "front", [
            {"from": {"name": "shared:stable", "namespace": OTHER}, "containers": ["web"]}]))
        env.wait_annotation("Deployment", WATCHED, "front",
                            annotation(entry("shared:stable", "web", ns=OTHER)))
        # OpenShift's trigger controller (okdsim's) resolves it although istrigger cannot see it.
        env.wait_image("Deployment", WATCHED, "front", "web", pull_spec)
        c = env.wait_condition(WATCHED, "front", "ImagesResolved", "False", "StreamNotFound")
        assert "which istrigger does not watch (--namespaces)" in c["message"], c
        assert "%s/shared" % OTHER in c["message"], c
        env.wait_condition(WATCHED, "front", "TriggersApplied", "True")

        # An ImageTrigger in a namespace istrigger does not watch is not touched at all.
        env.apply(workload("Deployment", OTHER, "api", ["api"]))
        env.apply(image_trigger(OTHER, "api", "Deployment", "api",
                                [{"from": {"name": "shared:stable"}, "containers": ["api"]}]))
        time.sleep(3)
        it = env.get("ImageTrigger", OTHER, "api")
        assert not it.get("status") and not it["metadata"].get("finalizers"), it
        assert "image.openshift.io/triggers" not in env.annotations("Deployment", OTHER, "api")
    finally:
        env.close()
