"""ImageTrigger end to end: what istrigger writes on each kind of workload, byte for byte as
`oc set triggers` / `oc set image-lookup` would, and OpenShift's trigger controller (okdsim's)
acting on it."""
from imagetrigger_env import (LOOKUP_OWNERS, MANAGED, RESOLVE_NAMES, annotation, entry,
                              image_trigger, tenv, wait_for, workload)  # noqa: F401

SEED = ('[{"from":{"kind":"ImageStreamTag","name":"theses-api-diffusion:develop-api-diffusion"},'
        '"fieldPath":"spec.template.spec.containers[?(@.name==\\"theses-api-diffusion\\")].image"}]')


def test_seed_scenario_writes_oc_annotation_and_deployment_gets_digest(tenv):
    ns = tenv.new_namespace("theses")
    pull_spec = tenv.imported_stream(ns, "theses-api-diffusion", "develop-api-diffusion")
    tenv.apply(workload("Deployment", ns, "theses-api-diffusion", ["theses-api-diffusion"]))
    tenv.apply(image_trigger(ns, "theses-api-diffusion", "Deployment", "theses-api-diffusion", [
        {"from": {"kind": "ImageStreamTag", "name": "theses-api-diffusion:develop-api-diffusion"},
         "containers": ["theses-api-diffusion"], "paused": False}]))

    tenv.wait_annotation("Deployment", ns, "theses-api-diffusion", SEED)
    assert "@sha256:" in pull_spec
    tenv.wait_image("Deployment", ns, "theses-api-diffusion", "theses-api-diffusion", pull_spec)

    ready = tenv.wait_condition(ns, "theses-api-diffusion", "Ready", "True", "Ready")
    it = tenv.get("ImageTrigger", ns, "theses-api-diffusion")
    st = it["status"]
    assert st["observedGeneration"] == it["metadata"]["generation"]
    assert ready["observedGeneration"] == it["metadata"]["generation"]
    assert st["triggers"][0]["image"] == pull_spec
    assert st["triggers"][0]["lastChangeTime"]
    assert st["sources"] == "theses-api-diffusion:develop-api-diffusion"
    assert "istrigger.io/imagetrigger" in it["metadata"]["finalizers"]
    for ctype in ("TargetFound", "TriggersApplied", "ImagesResolved"):
        assert tenv.condition(ns, "theses-api-diffusion", ctype)["status"] == "True"

    # Printer columns through kubectl (server-side table). okdsim does not evaluate the filter
    # expression of the Ready column ([?(@.type=="Ready")]), so Ready is checked client-side.
    out = tenv.kubectl("get", "itrig", "-n", ns, check=True).stdout.splitlines()
    assert out[0].split() == ["NAME", "TARGET", "SOURCES", "READY", "AGE"], out
    assert out[1].split()[:3] == ["theses-api-diffusion", "theses-api-diffusion",
                                  "theses-api-diffusion:develop-api-diffusion"], out
    ready_col = tenv.kubectl("get", "itrig", "-n", ns, "-o",
                             'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}',
                             check=True).stdout
    assert ready_col == "True"

    # The admin API / status page provider.
    items = tenv.op.api("/api/v1/imagetriggers")["items"]
    mine = [i for i in items if i["namespace"] == ns]
    assert len(mine) == 1 and mine[0]["ready"] is True, items
    assert mine[0]["target"] == {"kind": "Deployment", "name": "theses-api-diffusion"}
    assert mine[0]["triggers"][0]["resolvedImage"] == pull_spec
    assert mine[0]["triggers"][0]["from"] == {
        "namespace": ns, "name": "theses-api-diffusion:develop-api-diffusion"}

    # Events on the ImageTrigger.
    ev = tenv.kubectl("get", "events", "-n", ns, "-o", "json", check=True).stdout
    assert "TriggersUpdated" in ev, ev


def test_each_workload_kind_gets_its_field_path(tenv):
    ns = tenv.new_namespace("kinds")
    pull_spec = tenv.imported_stream(ns, "app", "v1")
    for kind in ("StatefulSet", "DaemonSet", "CronJob"):
        name = kind.lower()
        tenv.apply(workload(kind, ns, name, ["web"]))
        tenv.apply(image_trigger(ns, name, kind, name,
                                 [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
    for kind in ("StatefulSet", "DaemonSet", "CronJob"):
        name = kind.lower()
        tenv.wait_annotation(kind, ns, name,
                             annotation(entry("app:v1", "web", cronjob=kind == "CronJob")))
        tenv.wait_image(kind, ns, name, "web", pull_spec)


def test_init_containers_several_triggers_and_paused(tenv):
    ns = tenv.new_namespace("multi")
    app = tenv.imported_stream(ns, "app", "v1")
    tools = tenv.imported_stream(ns, "tools", "1.0")
    tenv.apply(workload("Deployment", ns, "api", ["web", "side", "held"], init=["migrate"]))
    tenv.apply(image_trigger(ns, "api", "Deployment", "api", [
        {"from": {"name": "app:v1"}, "containers": ["web", "migrate"]},
        {"from": {"name": "tools:1.0"}, "containers": ["side"]},
        {"from": {"name": "tools:1.0"}, "containers": ["held"], "paused": True}]))
    tenv.wait_annotation("Deployment", ns, "api", annotation(
        entry("app:v1", "web"), entry("app:v1", "migrate"), entry("tools:1.0", "side"),
        entry("tools:1.0", "held", paused=True)))
    tenv.wait_image("Deployment", ns, "api", "web", app)
    tenv.wait_image("Deployment", ns, "api", "migrate", app)  # init container, by name
    tenv.wait_image("Deployment", ns, "api", "side", tools)
    # The paused trigger is not applied by the trigger controller.
    assert tenv.images("Deployment", ns, "api")["held"] == "placeholder:1"
    tenv.wait_condition(ns, "api", "Ready", "True")
    states = [t["state"] for t in tenv.get("ImageTrigger", ns, "api")["status"]["triggers"]]
    assert states == ["Applied", "Applied", "Paused"]


def test_cross_namespace_source(tenv):
    src = tenv.new_namespace("images")
    ns = tenv.new_namespace("web")
    pull_spec = tenv.imported_stream(src, "shared", "stable")
    tenv.apply(workload("Deployment", ns, "front", ["web"]))
    tenv.apply(image_trigger(ns, "front", "Deployment", "front", [
        {"from": {"name": "shared:stable", "namespace": src}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "front",
                         annotation(entry("shared:stable", "web", ns=src)))
    tenv.wait_image("Deployment", ns, "front", "web", pull_spec)
    tenv.wait_condition(ns, "front", "ImagesResolved", "True")
    it = tenv.get("ImageTrigger", ns, "front")
    assert it["status"]["sources"] == "%s/shared:stable" % src
    assert it["status"]["triggers"][0]["image"] == pull_spec

    # The namespace of the workload itself is dropped, as oc does.
    tenv.apply(image_trigger(ns, "front", "Deployment", "front", [
        {"from": {"name": "shared:stable", "namespace": ns}, "containers": ["web"]}]))
    tenv.wait_annotation("Deployment", ns, "front", annotation(entry("shared:stable", "web")))


def test_image_lookup_switches_add_and_remove_only_their_own(tenv):
    ns = tenv.new_namespace("lookup")
    tenv.imported_stream(ns, "app", "v1")
    tenv.imported_stream(ns, "pre", "v1")
    # "pre" already had local lookup before istrigger: it must stay on.
    tenv.kubectl("patch", "imagestream", "pre", "-n", ns, "--type=merge",
                 "-p", '{"spec":{"lookupPolicy":{"local":true}}}', check=True)
    tenv.apply(workload("Deployment", ns, "api", ["web", "side"]))
    tenv.apply(workload("Deployment", ns, "own", ["web"], template_annotations={RESOLVE_NAMES: "*"}))
    trig = [{"from": {"name": "app:v1"}, "containers": ["web"]},
            {"from": {"name": "pre:v1"}, "containers": ["side"]}]
    tenv.apply(image_trigger(ns, "api", "Deployment", "api", trig,
                             {"workload": True, "imageStreams": True}))
    tenv.apply(image_trigger(ns, "own", "Deployment", "own",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}],
                             {"workload": True}))

    def tmpl_ann(name):
        return tenv.get("Deployment", ns, name)["spec"]["template"]["metadata"].get(
            "annotations") or {}
    wait_for(lambda: tmpl_ann("api").get(RESOLVE_NAMES) == "*", 15, what="resolve-names on api")
    wait_for(lambda: (tenv.get("ImageStream", ns, "app")["spec"].get("lookupPolicy") or {})
             .get("local") is True, 15, what="lookupPolicy.local on app")
    assert tenv.annotations("ImageStream", ns, "app")[LOOKUP_OWNERS] == '["%s/api"]' % ns
    assert LOOKUP_OWNERS not in tenv.annotations("ImageStream", ns, "pre")
    tenv.wait_condition(ns, "own", "Ready", "True")
    assert '"resolveNames":true' not in tenv.annotations("Deployment", ns, "own").get(MANAGED, "")
    spec_tags = tenv.get("ImageStream", ns, "app")["spec"]["tags"]
    assert [t["name"] for t in spec_tags] == ["v1"]  # spec.tags untouched

    # Switch both off.
    tenv.apply(image_trigger(ns, "api", "Deployment", "api", trig,
                             {"workload": False, "imageStreams": False}))
    tenv.apply(image_trigger(ns, "own", "Deployment", "own",
                             [{"from": {"name": "app:v1"}, "containers": ["web"]}],
                             {"workload": False}))
    tenv.wait_observed(ns, "own")
    wait_for(lambda: RESOLVE_NAMES not in tmpl_ann("api"), 15, what="resolve-names removed")
    wait_for(lambda: (tenv.get("ImageStream", ns, "app")["spec"].get("lookupPolicy") or {})
             .get("local") is False, 15, what="lookupPolicy.local back to false")
    assert LOOKUP_OWNERS not in tenv.annotations("ImageStream", ns, "app")
    assert tmpl_ann("own").get(RESOLVE_NAMES) == "*"  # set by the user: kept
    assert tenv.get("ImageStream", ns, "pre")["spec"]["lookupPolicy"]["local"] is True
