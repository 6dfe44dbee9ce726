"""Unit tests of okdsim's OpenShift logic that needs no server: reference parsing,
ResolveLatestTaggedImage, ImageStream defaulting and generation rules, tag-event history,
trigger annotation parsing and fieldPath rules, keyring matching, Legacy platform selection,
skopeo error mapping and image lookup."""
import base64
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sim.openshift import importer, keyring, lookup, refs, skopeo, streams, triggers  # noqa: E402

DIG1 = "sha256:" + "1" * 64
DIG2 = "sha256:" + "2" * 64


# ---------------------------------------------------------------- references

@pytest.mark.parametrize("spec,reg,ns,name,tag,id_", [
    ("nginx", "", "", "nginx", "", ""),
    ("nginx:1.25", "", "", "nginx", "1.25", ""),
    ("docker.io/library/nginx:1.25", "docker.io", "library", "nginx", "1.25", ""),
    ("127.0.0.1:15000/app:v1", "127.0.0.1:15000", "", "app", "v1", ""),
    ("quay.io/a/b/c:1", "quay.io", "a", "b/c", "1", ""),
    ("localhost/x", "localhost", "", "x", "", ""),
    ("a/b", "", "a", "b", "", ""),
    ("127.0.0.1:5000/app@" + DIG1, "127.0.0.1:5000", "", "app", "", DIG1),
    ("127.0.0.1:5000/app:v1@" + DIG1, "127.0.0.1:5000", "", "app", "v1", DIG1),
])
def test_parse_reference(spec, reg, ns, name, tag, id_):
    r = refs.parse(spec)
    assert (r.registry, r.namespace, r.name, r.tag, r.id) == (reg, ns, name, tag, id_)
    assert r.exact() == spec


@pytest.mark.parametrize("bad", ["", "UPPER/case", "app:", "app@sha256:zz", "a//b", ":tag"])
def test_parse_reference_rejects(bad):
    with pytest.raises(refs.RefError):
        refs.parse(bad)


def test_docker_client_defaults_and_most_specific():
    r = refs.parse("nginx").docker_client_defaults()
    assert r.exact() == "docker.io/library/nginx:latest"
    assert r.registry_host() == "registry-1.docker.io"
    r = refs.parse("127.0.0.1:5000/app:v1")
    r.id = DIG1
    assert r.most_specific().exact() == "127.0.0.1:5000/app@" + DIG1


def test_istag_names():
    assert refs.parse_istag_name("app:v1") == ("app", "v1")
    for bad in ("app", "app:v1:x", "app@" + DIG1, ":v1", "app:"):
        with pytest.raises(refs.RefError):
            refs.parse_istag_name(bad)
    assert refs.split_istag("app:v1") == ("app", "v1", True)
    assert refs.split_istag("app") == ("app", "latest", False)
    assert refs.split_istag("app:") == ("app", "latest", True)


def _stream(policy="Source", repo="", items=None, tag="v1"):
    return {"metadata": {"name": "app", "namespace": "ns"},
            "spec": {"tags": [{"name": tag, "referencePolicy": {"type": policy}}]},
            "status": {"dockerImageRepository": repo,
                       "tags": [{"tag": tag, "items": items}] if items is not None else []}}


def test_resolve_latest_tagged_image():
    ev = {"dockerImageReference": "127.0.0.1:5000/app@" + DIG1, "image": DIG1, "generation": 2}
    old = {"dockerImageReference": "127.0.0.1:5000/app@" + DIG2, "image": DIG2, "generation": 1}
    assert refs.resolve_latest_tagged_image(_stream(items=[ev, old]), "v1") == \
        ("127.0.0.1:5000/app@" + DIG1, True)
    # no history: not resolved
    assert refs.resolve_latest_tagged_image(_stream(items=[]), "v1") == ("", False)
    assert refs.resolve_latest_tagged_image(_stream(items=None), "v1") == ("", False)
    assert refs.resolve_latest_tagged_image(_stream(items=[ev]), "other") == ("", False)
    # Local: <status.dockerImageRepository>@<image>
    s = _stream("Local", "image-registry.svc:5000/ns/app", [ev])
    assert refs.resolve_latest_tagged_image(s, "v1") == \
        ("image-registry.svc:5000/ns/app@" + DIG1, True)
    # Local without a repository falls back to the source reference; with the configured
    # internal registry OCM substitutes it
    s = _stream("Local", "", [ev])
    assert refs.resolve_latest_tagged_image(s, "v1")[0] == "127.0.0.1:5000/app@" + DIG1
    assert refs.resolve_latest_tagged_image(s, "v1", "reg:5000")[0] == "reg:5000/ns/app@" + DIG1
    # a reference tag (no image ID) resolves verbatim even with Local
    rev = {"dockerImageReference": "quay.io/x/y:1", "image": "", "generation": 1}
    assert refs.resolve_latest_tagged_image(_stream("Local", "r/ns/app", [rev]), "v1")[0] == \
        "quay.io/x/y:1"


# ---------------------------------------------------------------- image streams

def test_normalize_sorts_dedupes_and_defaults():
    obj = {"metadata": {"name": "s"}, "spec": {"tags": [
        {"name": "b", "from": {"kind": "DockerImage", "name": "x/b:1"}},
        {"name": "a", "from": {"kind": "DockerImage", "name": "x/a:1"}},
        {"name": "b", "from": {"kind": "DockerImage", "name": "x/b:2"},
         "importPolicy": {"insecure": True, "scheduled": False}}]}}
    streams.normalize_stream(obj)
    tags = obj["spec"]["tags"]
    assert [t["name"] for t in tags] == ["a", "b"]
    assert tags[1]["from"]["name"] == "x/b:2"  # last wins
    assert tags[1] == {"name": "b", "annotations": None,
                       "from": {"kind": "DockerImage", "name": "x/b:2"}, "generation": None,
                       "importPolicy": {"insecure": True, "importMode": "Legacy"},
                       "referencePolicy": {"type": "Source"}}
    assert obj["spec"]["lookupPolicy"] == {"local": False}


def test_validation_import_mode_and_from():
    obj = streams.normalize_stream({"metadata": {"name": "s"}, "spec": {"tags": [
        {"name": "a", "from": {"kind": "DockerImage", "name": "x:1"},
         "importPolicy": {"importMode": "Bogus"}},
        {"name": "b", "from": {"kind": "Nope", "name": "x"}}]}})
    causes = streams.validate_stream(obj)
    fields = [c["field"] for c in causes]
    assert "spec.tags[a].importPolicy.importMode" in fields
    assert "spec.tags[b].from.kind" in fields


def _created(tags):
    obj = streams.normalize_stream({"metadata": {"name": "s", "namespace": "n"},
                                    "spec": {"tags": tags}})
    streams.prepare_for_create(obj)
    return obj


def _updated(old, mutate):
    new = json.loads(json.dumps(old))
    mutate(new)
    streams.normalize_stream(new)
    streams.prepare_for_update(new, old)
    return new


def test_generation_rules():
    t = {"name": "v1", "from": {"kind": "DockerImage", "name": "r:5000/app:v1"}}
    s1 = _created([t])
    assert s1["metadata"]["generation"] == 1 and s1["spec"]["tags"][0]["generation"] == 1
    # annotations only: no bump
    s2 = _updated(s1, lambda o: o["metadata"].setdefault("annotations", {}).update(a="b"))
    assert s2["metadata"]["generation"] == 1
    # lookupPolicy: metadata.generation bumps, tag generation does not
    s3 = _updated(s1, lambda o: o["spec"].update(lookupPolicy={"local": True}))
    assert s3["metadata"]["generation"] == 2 and s3["spec"]["tags"][0]["generation"] == 1
    # generation 0 means re-import now
    s4 = _updated(s3, lambda o: o["spec"]["tags"][0].update(generation=0))
    assert s4["metadata"]["generation"] == 3 and s4["spec"]["tags"][0]["generation"] == 3
    # clients cannot set another value
    s5 = _updated(s4, lambda o: o["spec"]["tags"][0].update(generation=42))
    assert s5["metadata"]["generation"] == 3 and s5["spec"]["tags"][0]["generation"] == 3
    # from change bumps the tag
    s6 = _updated(s5, lambda o: o["spec"]["tags"][0]["from"].update(name="r:5000/app:v2"))
    assert s6["metadata"]["generation"] == 4 and s6["spec"]["tags"][0]["generation"] == 4
    # importMode change counts as a tag change; scheduled alone does not
    s7 = _updated(s6, lambda o: o["spec"]["tags"][0]["importPolicy"].update(scheduled=True))
    assert s7["metadata"]["generation"] == 5 and s7["spec"]["tags"][0]["generation"] == 4
    s8 = _updated(s7, lambda o: o["spec"]["tags"][0]["importPolicy"].update(
        importMode="PreserveOriginal"))
    assert s8["spec"]["tags"][0]["generation"] == 6
    # a new tag gets the new generation, the others keep theirs
    s9 = _updated(s8, lambda o: o["spec"]["tags"].append(
        {"name": "v2", "from": {"kind": "DockerImage", "name": "r:5000/app:v2"}}))
    assert [t["generation"] for t in s9["spec"]["tags"]] == [6, 7]


def test_tag_event_history():
    s = {"metadata": {}, "spec": {}, "status": {}}
    e1 = {"created": "t1", "dockerImageReference": "r/app@" + DIG1, "image": DIG1,
          "generation": 2}
    assert streams.add_tag_event(s, "v1", dict(e1))
    assert not streams.add_tag_event(s, "v1", dict(e1))
    # same image, newer generation: head updated in place, created kept
    assert streams.add_tag_event(s, "v1", dict(e1, generation=6, created="t9"))
    items = s["status"]["tags"][0]["items"]
    assert len(items) == 1 and items[0]["generation"] == 6 and items[0]["created"] == "t1"
    # a new image is prepended: newest first
    streams.set_failure_condition(s, "v1", {"reason": "NotFound", "message": "m"}, 7, "t")
    assert s["status"]["tags"][0]["conditions"][0]["reason"] == "NotFound"
    e2 = {"created": "t2", "dockerImageReference": "r/app@" + DIG2, "image": DIG2,
          "generation": 8}
    assert streams.add_tag_event(s, "v1", e2)
    st = s["status"]["tags"][0]
    assert [i["image"] for i in st["items"]] == [DIG2, DIG1]
    assert "conditions" not in st  # success removes the condition


def test_failure_condition_written_once():
    s = {"metadata": {}, "spec": {}, "status": {}}
    f = {"reason": "InternalError", "message": "Internal error occurred: x"}
    assert streams.set_failure_condition(s, "t", f, 4, "now")
    assert not streams.set_failure_condition(s, "t", f, 5, "later")
    c = s["status"]["tags"][0]["conditions"][0]
    assert c == {"type": "ImportSuccess", "status": "False", "reason": "InternalError",
                 "message": "Internal error occurred: x", "generation": 4,
                 "lastTransitionTime": "now"}
    assert s["status"]["tags"][0]["items"] is None
    assert streams.set_failure_condition(s, "t", dict(f, message="other"), 6, "x")


def test_needs_import_and_scheduling():
    s = _created([{"name": "v1", "from": {"kind": "DockerImage", "name": "r:1/a:v1"},
                   "importPolicy": {"scheduled": True}},
                  {"name": "ref", "reference": True,
                   "from": {"kind": "DockerImage", "name": "r:1/a:v1"}},
                  {"name": "dig", "from": {"kind": "DockerImage", "name": "r:1/a@" + DIG1},
                   "importPolicy": {"scheduled": True}}])
    t = {x["name"]: x for x in s["spec"]["tags"]}
    assert streams.tag_needs_import(s, t["v1"]) and not streams.tag_needs_import(s, t["ref"])
    streams.add_tag_event(s, "v1", {"dockerImageReference": "r:1/a@" + DIG1, "image": DIG1,
                                    "generation": 1})
    assert not streams.tag_needs_import(s, t["v1"])
    assert streams.needs_scheduling(s, t["v1"]) and not streams.needs_scheduling(s, t["ref"])
    assert streams.needs_scheduling(s, t["dig"])
    streams.add_tag_event(s, "dig", {"dockerImageReference": "r:1/a@" + DIG1, "image": DIG1,
                                     "generation": 1})
    assert not streams.needs_scheduling(s, t["dig"])  # digests only until the first success
    # a failure condition at the tag's generation counts as observed
    s2 = _created([{"name": "x", "from": {"kind": "DockerImage", "name": "r:1/a:x"}}])
    streams.set_failure_condition(s2, "x", {"reason": "NotFound", "message": "m"}, 1, "n")
    assert not streams.tag_needs_import(s2, s2["spec"]["tags"][0])


def test_reference_and_tracking_tags():
    old = _created([{"name": "v1", "from": {"kind": "DockerImage", "name": "r:1/a:v1"}}])
    streams.add_tag_event(old, "v1", {"created": "c", "dockerImageReference": "r:1/a@" + DIG1,
                                      "image": DIG1, "generation": 1})

    def mutate(o):
        o["spec"]["tags"] += [
            {"name": "ref", "reference": True, "from": {"kind": "DockerImage",
                                                        "name": "quay.io/x/y:1"}},
            {"name": "latest", "from": {"kind": "ImageStreamTag", "name": "v1"}}]
    new = _updated(old, mutate)
    streams.apply_spec_driven_status(new, old, lambda ns, n: None, "now")
    st = {t["tag"]: t for t in new["status"]["tags"]}
    assert st["ref"]["items"][0] == {"created": "now", "dockerImageReference": "quay.io/x/y:1",
                                     "image": "", "generation": 2}
    assert st["latest"]["items"][0]["image"] == DIG1
    assert refs.resolve_latest_tagged_image(new, "ref") == ("quay.io/x/y:1", True)


# ---------------------------------------------------------------- triggers

FP = 'spec.template.spec.containers[?(@.name=="web")].image'


def _dep(trig, kind="Deployment", ns="ns"):
    spec = {"containers": [{"name": "web", "image": "placeholder:1"},
                           {"name": "side", "image": "side:1"}],
            "initContainers": [{"name": "init", "image": "placeholder:1"}]}
    if kind == "CronJob":
        body = {"jobTemplate": {"spec": {"template": {"spec": spec}}}}
    else:
        body = {"template": {"spec": spec}}
    return {"kind": kind, "metadata": {"name": "d", "namespace": ns, "annotations": {
        triggers.TRIGGER_ANNOTATION: trig if isinstance(trig, str) else json.dumps(trig)}},
        "spec": body}


def _resolver(table):
    def resolve(ns, name):
        v = table.get((ns, name))
        return (v, True) if v else ("", False)
    return resolve


R = _resolver({("ns", "app:v1"): "r:5000/app@" + DIG1, ("other", "app:v1"): "r:5000/o@" + DIG2})


def _images(obj, kind="Deployment"):
    spec, _ = triggers.pod_spec(obj, kind)
    return ([c["image"] for c in spec["containers"]],
            [c["image"] for c in spec["initContainers"]])


def _tr(fp=FP, name="app:v1", **kw):
    t = {"from": {"kind": "ImageStreamTag", "name": name}, "fieldPath": fp}
    t.update(kw)
    return t


def test_parse_annotation():
    ts = triggers.parse_annotation(json.dumps([_tr(paused=True)]))
    assert ts == [{"from": {"kind": "ImageStreamTag", "name": "app:v1", "namespace": "",
                            "apiVersion": ""}, "fieldPath": FP, "paused": True}]
    # Go's encoding/json matches keys case-insensitively
    ts = triggers.parse_annotation('[{"From":{"Kind":"ImageStreamTag","NAME":"a:b"},'
                                   '"FIELDPATH":"x"}]')
    assert ts[0]["from"]["name"] == "a:b" and ts[0]["fieldPath"] == "x"
    assert triggers.parse_annotation("null") == []
    for bad in ('[{"from":{"kind":"ImageStreamTag","name":"a:b"},"fieldPath":"x",'
                '"paused":"false"}]', "not json", '{"a":1}', '[{"from":{"name":5}}]',
                json.dumps([_tr(), _tr()])):
        with pytest.raises(triggers.TriggerError):
            triggers.parse_annotation(bad)


def test_apply_by_name_index_and_init():
    up, err = triggers.update_object_from_images(_dep([_tr()]), R)
    assert err is None and _images(up) == (["r:5000/app@" + DIG1, "side:1"], ["placeholder:1"])
    # a name selector finds init containers too, even with the containers[] prefix
    fp = 'spec.template.spec.containers[?(@.name=="init")].image'
    up, _ = triggers.update_object_from_images(_dep([_tr(fp)]), R)
    assert _images(up) == (["placeholder:1", "side:1"], ["r:5000/app@" + DIG1])
    up, _ = triggers.update_object_from_images(
        _dep([_tr("spec.template.spec.containers[1].image")]), R)
    assert _images(up)[0] == ["placeholder:1", "r:5000/app@" + DIG1]
    up, _ = triggers.update_object_from_images(
        _dep([_tr("spec.template.spec.initContainers[0].image")]), R)
    assert _images(up)[1] == ["r:5000/app@" + DIG1]
    # CronJob path
    fp = 'spec.jobTemplate.spec.template.spec.containers[?(@.name=="web")].image'
    up, _ = triggers.update_object_from_images(_dep([_tr(fp)], "CronJob"), R)
    assert _images(up, "CronJob")[0][0] == "r:5000/app@" + DIG1
    # cross-namespace
    up, _ = triggers.update_object_from_images(
        _dep([{"from": {"kind": "ImageStreamTag", "name": "app:v1", "namespace": "other"},
               "fieldPath": FP}]), R)
    assert _images(up)[0][0] == "r:5000/o@" + DIG2


@pytest.mark.parametrize("trig,error", [
    ([_tr(paused=True)], False),
    ('[{"from":{"kind":"ImageStreamTag","name":"app:v1"},"fieldPath":"%s","paused":"false"}]'
     % FP.replace('"', '\\"'), True),
    ([_tr("spec.template.spec.containers[@.name=web].image")], True),
    ([_tr('spec.template.spec.containers[?(@.name=="nope")].image')], True),
    ([_tr("spec.template.spec.containers[5].image")], True),
    ([_tr('spec.template.spec.containers[?(@.name=="web")]')], True),
    ([_tr("spec.template.spec.containers[0.image")], True),
    ([_tr(), _tr()], True),
    ([_tr(name="app:nope")], False),
    ([_tr(name="app")], False),
    ([dict(_tr(), **{"from": {"kind": "DockerImage", "name": "app:v1"}})], False),
    ([dict(_tr(), **{"from": {"kind": "ImageStreamTag", "name": "app:v1", "apiVersion": "v1"}})],
     False),
    ([_tr("spec.containers[0].image")], False),  # not under the pod template: skipped
])
def test_edge_cases_apply_nothing(trig, error):
    up, err = triggers.update_object_from_images(_dep(trig), R)
    assert up is None or _images(up) == (["placeholder:1", "side:1"], ["placeholder:1"])
    assert bool(err) == error


def test_bad_selector_blocks_other_triggers():
    up, err = triggers.update_object_from_images(
        _dep([_tr(), _tr('spec.template.spec.containers[?(@.name=="nope")].image')]), R)
    assert up is None and err


def test_triggered_streams():
    obj = _dep([_tr(), _tr("spec.template.spec.containers[1].image", name="b:x"),
                dict(_tr("spec.template.spec.initContainers[0].image"),
                     **{"from": {"kind": "ImageStreamTag", "name": "c:y", "namespace": "o"}})])
    assert triggers.triggered_streams(obj) == {("ns", "app"), ("ns", "b"), ("o", "c")}


# ---------------------------------------------------------------- credentials

def _secret(name, typ, doc, annotations=None):
    key = ".dockerconfigjson" if typ.endswith("json") else ".dockercfg"
    return {"metadata": {"name": name, "annotations": annotations or {}}, "type": typ,
            "data": {key: base64.b64encode(json.dumps(doc).encode()).decode()}}


def _auth(u, p):
    return base64.b64encode(("%s:%s" % (u, p)).encode()).decode()


def test_import_secrets_filter():
    s = [_secret("a", "kubernetes.io/dockerconfigjson", {"auths": {}}),
         _secret("b", "kubernetes.io/dockercfg", {}),
         _secret("c", "kubernetes.io/dockerconfigjson", {"auths": {}},
                 {keyring.EXCLUDE_ANNOTATION: "true"}),
         {"metadata": {"name": "d"}, "type": "Opaque", "data": {}}]
    assert [x["metadata"]["name"] for x in keyring.import_secrets(s)] == ["a", "b"]


def test_keyring_matching():
    ring = keyring.Keyring([
        _secret("a", "kubernetes.io/dockerconfigjson", {"auths": {
            "127.0.0.1:5000": {"auth": _auth("host", "p1")},
            "127.0.0.1:5000/team": {"username": "team", "password": "p2"},
            "https://index.docker.io/v1/": {"auth": _auth("hub", "p3")}}}),
        _secret("b", "kubernetes.io/dockercfg", {"127.0.0.1:6000": {"auth": _auth("cfg", "p4")}}),
        _secret("c", "kubernetes.io/dockerconfigjson", {"auths": {
            "127.0.0.1:5000": {"auth": _auth("second", "x")}}})])

    def look(s):
        return ring.lookup(refs.parse(s).docker_client_defaults())
    assert look("127.0.0.1:5000/app:v1") == ("host", "p1")  # first match wins
    assert look("127.0.0.1:5000/team/app:v1") == ("team", "p2")  # most specific path
    assert look("127.0.0.1:5000/teamx/app") == ("host", "p1")
    assert look("nginx") == ("hub", "p3")
    assert look("docker.io/library/nginx:1") == ("hub", "p3")
    assert look("127.0.0.1:6000/x") == ("cfg", "p4")
    assert look("127.0.0.1:7000/x") is None


# ---------------------------------------------------------------- importer pieces

INDEX = {"manifests": [
    {"digest": DIG1, "platform": {"architecture": "arm64", "os": "linux"}},
    {"digest": DIG2, "platform": {"architecture": "amd64", "os": "linux"}},
    {"digest": "sha256:" + "3" * 64, "platform": {"architecture": "s390x", "os": "linux"}}]}


def test_legacy_platform_selection():
    assert importer.select_child(INDEX, "amd64", "linux")["digest"] == DIG2
    assert importer.select_child(INDEX, "arm64", "linux")["digest"] == DIG1
    assert importer.select_child(INDEX, "ppc64le", "linux")["digest"] == DIG2  # amd64 fallback
    no_amd = {"manifests": [INDEX["manifests"][0], INDEX["manifests"][2]]}
    assert importer.select_child(no_amd, "ppc64le", "linux")["digest"] == DIG1  # first
    assert importer.select_child({"manifests": []}, "amd64", "linux") is None


def test_isi_spec_defaults_and_validation():
    spec, causes = importer.normalize_isi_spec({"import": True, "images": [
        {"from": {"kind": "DockerImage", "name": "r:5000/app:v1"},
         "importPolicy": {"insecure": True, "scheduled": False}}]}, "Legacy")
    assert not causes
    assert spec["images"][0] == {"from": {"kind": "DockerImage", "name": "r:5000/app:v1"},
                                 "to": {"name": "v1"},
                                 "importPolicy": {"insecure": True, "importMode": "Legacy"},
                                 "referencePolicy": {"type": "Source"}}
    _, causes = importer.normalize_isi_spec({"images": [
        {"from": {"kind": "ImageStreamTag", "name": "a:b"}},
        {"from": {"kind": "DockerImage", "name": "r/a:b"}, "to": {"name": ""}},
        {"from": {"kind": "DockerImage", "name": "r/a:b"},
         "importPolicy": {"importMode": "x"}}]}, "Legacy")
    assert [c["field"] for c in causes] == ["spec.images[0].from.kind", "spec.images[1].to.name",
                                            "spec.images[2].importPolicy.importMode"]
    _, causes = importer.normalize_isi_spec({"import": True}, "Legacy")
    assert causes[0]["field"] == "spec.images"


def test_skopeo_error_mapping():
    refused = ('time="x" level=fatal msg="Error parsing image name \\"docker://127.0.0.1:1/app:v1'
               '\\": pinging container registry 127.0.0.1:1: Get \\"http://127.0.0.1:1/v2/\\": '
               'dial tcp 127.0.0.1:1: connect: connection refused"')
    st = skopeo.classify(refused, "127.0.0.1:1/app:v1")
    assert st["reason"] == "InternalError" and st["code"] == 500
    assert st["message"] == ('Internal error occurred: 127.0.0.1:1/app:v1: Get '
                             '"http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: '
                             'connection refused')
    assert st["details"] == {"causes": [{"message": st["message"][len(
        "Internal error occurred: "):]}]}
    missing = ('msg="Error parsing image name \\"docker://h:1/app:missing\\": reading manifest '
               'missing in h:1/app: manifest unknown: manifest unknown"')
    st = skopeo.classify(missing, "h:1/app:missing")
    assert st == {"metadata": {}, "status": "Failure", "code": 404, "reason": "NotFound",
                  "message": 'dockerimage.image.openshift.io "h:1/app:missing" not found',
                  "details": {"name": "h:1/app:missing", "group": "image.openshift.io",
                              "kind": "dockerimage"}}
    auth = 'msg="reading manifest v1 in h:1/app: unauthorized: authentication required"'
    st = skopeo.classify(auth, "h:1/app:v1")
    assert (st["code"], st["reason"]) == (401, "Unauthorized")
    assert st["message"] == 'you may not have access to the container image "h:1/app:v1"'


def test_non_loopback_registries_are_never_contacted():
    c = skopeo.Client(insecure=True)
    with pytest.raises(skopeo.ImportFailure) as e:
        c.manifest("quay.io/a/b", "latest", "quay.io", "quay.io/a/b:latest")
    assert e.value.status["reason"] == "InternalError"
    assert "loopback" in e.value.status["message"]


# ---------------------------------------------------------------- lookup

def _lookup_env():
    local = {"metadata": {"name": "app", "namespace": "ns"},
             "spec": {"lookupPolicy": {"local": True}},
             "status": {"dockerImageRepository": "reg:5000/ns/app"}}
    nolocal = {"metadata": {"name": "nl", "namespace": "ns"},
               "spec": {"lookupPolicy": {"local": False}}, "status": {}}
    istags = {("ns", "app:v1"): {"lookupPolicy": {"local": True}, "image": {
        "metadata": {"name": DIG1}, "dockerImageReference": "127.0.0.1:5000/app@" + DIG1}},
        ("ns", "nl:v1"): {"lookupPolicy": {"local": False}, "image": {
            "metadata": {"name": DIG2}, "dockerImageReference": "127.0.0.1:5000/nl@" + DIG2}}}
    strs = {("ns", "app"): local, ("ns", "nl"): nolocal}
    return (lambda ns, n: istags.get((ns, n))), (lambda ns, n: strs.get((ns, n)))


def test_resolve_image_rules():
    gi, gs = _lookup_env()
    assert lookup.resolve_image("app:v1", "ns", False, gi, gs) == "127.0.0.1:5000/app@" + DIG1
    # no local lookup on the stream: left alone unless forced
    assert lookup.resolve_image("nl:v1", "ns", False, gi, gs) is None
    assert lookup.resolve_image("nl:v1", "ns", True, gi, gs) == "127.0.0.1:5000/nl@" + DIG2
    # qualified names only when forced (the namespace becomes the object's)
    assert lookup.resolve_image("quay.io/x/app:v1", "ns", False, gi, gs) is None
    assert lookup.resolve_image("quay.io/x/app:v1", "ns", True, gi, gs) == \
        "127.0.0.1:5000/app@" + DIG1
    # digests are never rewritten
    assert lookup.resolve_image("app@" + DIG2, "ns", True, gi, gs) is None
    # missing tag on a local stream: <status.dockerImageRepository>:TAG
    assert lookup.resolve_image("app:v9", "ns", False, gi, gs) == "reg:5000/ns/app:v9"
    assert lookup.resolve_image("app", "ns", False, gi, gs) == "reg:5000/ns/app:latest"
    assert lookup.resolve_image("unknown:1", "ns", False, gi, gs) is None


def test_admit_template_annotation_owner_and_update():
    gi, gs = _lookup_env()
    dep = {"kind": "Deployment", "metadata": {"namespace": "ns"}, "spec": {"template": {
        "metadata": {}, "spec": {"containers": [{"name": "a", "image": "app:v1"},
                                                {"name": "b", "image": "nl:v1"}]}}}}
    d = json.loads(json.dumps(dep))
    assert lookup.admit(d, None, "CREATE", "apps", gi, gs) == 1
    assert [c["image"] for c in d["spec"]["template"]["spec"]["containers"]] == [
        "127.0.0.1:5000/app@" + DIG1, "nl:v1"]
    d = json.loads(json.dumps(dep))
    d["spec"]["template"]["metadata"]["annotations"] = {lookup.RESOLVE_NAMES: "*"}
    assert lookup.admit(d, None, "CREATE", "apps", gi, gs) == 2
    d = json.loads(json.dumps(dep))
    d["metadata"]["ownerReferences"] = [{"controller": True, "kind": "X", "name": "y"}]
    assert lookup.admit(d, None, "CREATE", "apps", gi, gs) == 0
    # on update only changed images are processed
    d = json.loads(json.dumps(dep))
    assert lookup.admit(d, json.loads(json.dumps(dep)), "UPDATE", "apps", gi, gs) == 0
    job = {"kind": "Job", "metadata": {"namespace": "ns"}, "spec": {"template": {
        "spec": {"containers": [{"name": "a", "image": "app:v1"}]}}}}
    assert lookup.admit(json.loads(json.dumps(job)), {"spec": {}}, "UPDATE", "batch", gi, gs) == 0
    assert lookup.admit(json.loads(json.dumps(job)), None, "CREATE", "batch", gi, gs) == 1
    cj = {"kind": "CronJob", "metadata": {"namespace": "ns"}, "spec": {"jobTemplate": {"spec": {
        "template": {"metadata": {"annotations": {lookup.RESOLVE_NAMES: "*"}},
                     "spec": {"containers": [{"name": "a", "image": "nl:v1"}]}}}}}}
    assert lookup.admit(cj, None, "CREATE", "batch", gi, gs) == 1
