"""Kubernetes API semantics over raw HTTP: resourceVersion and watch (resume, bookmarks, timeout, 410),
conflicts, generation rules, status subresource, finalizers, CRD schema validation and field validation,
patch types, list selectors and pagination, Table output, events, leases, namespaces."""

import json
import threading
import time

import pytest

MP = {"Content-Type": "application/merge-patch+json"}
JP = {"Content-Type": "application/json-patch+json"}
SMP = {"Content-Type": "application/strategic-merge-patch+json"}


def cm_path(ns, name=""):
    return "/api/v1/namespaces/%s/configmaps%s" % (ns, "/" + name if name else "")


def dep_path(ns, name=""):
    return "/apis/apps/v1/namespaces/%s/deployments%s" % (ns, "/" + name if name else "")


def deployment(name, containers=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": containers or [{"name": "main", "image": "nginx:1"}]}}}}


def create(sim, path, obj, code=201):
    st, _, body = sim.request("POST", path, obj)
    assert st == code, body
    return body


def rv(o):
    return int(o["metadata"]["resourceVersion"])


# ---------------------------------------------------------------- resourceVersion and watch
def test_resource_versions_are_global_and_monotonic(sim, ns):
    a = create(sim, cm_path(ns), {"metadata": {"name": "a"}})
    b = create(sim, dep_path(ns), deployment("b"))
    c = create(sim, cm_path(ns), {"metadata": {"name": "c"}})
    assert rv(a) < rv(b) < rv(c)
    st, _, same = sim.request("PUT", cm_path(ns, "a"), a)      # no change: no new resourceVersion
    assert st == 200 and rv(same) == rv(a)
    lst = sim.request("GET", cm_path(ns))[2]
    assert int(lst["metadata"]["resourceVersion"]) >= rv(c)
    assert lst["kind"] == "ConfigMapList" and "kind" not in lst["items"][0]


def test_watch_resume_from_resource_version(sim, ns):
    create(sim, cm_path(ns), {"metadata": {"name": "w"}, "data": {"v": "0"}})
    marks = []
    for i in range(1, 4):
        st, _, o = sim.request("PATCH", cm_path(ns, "w"), {"data": {"v": str(i)}}, MP)
        marks.append(rv(o))
    sim.request("DELETE", cm_path(ns, "w"))
    evs = list(sim.watch(cm_path(ns) + "?watch=1&timeoutSeconds=1&resourceVersion=%d" % marks[0]))
    assert [(e["type"], e["object"].get("data", {}).get("v")) for e in evs] == \
        [("MODIFIED", "2"), ("MODIFIED", "3"), ("DELETED", "3")]
    assert rv(evs[-1]["object"]) > marks[-1]
    # resourceVersion=0 / unset: synthetic ADDED for what exists now
    create(sim, cm_path(ns), {"metadata": {"name": "x"}})
    evs = list(sim.watch(cm_path(ns) + "?watch=true&timeoutSeconds=1"))
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "x")]


def test_watch_is_chunked_and_times_out(sim, ns):
    t0 = time.time()
    hdrs = {}
    evs = list(sim.watch(cm_path(ns) + "?watch=1&timeoutSeconds=1", on_open=lambda r: hdrs.update(r.headers)))
    assert evs == [] and 0.9 < time.time() - t0 < 3
    assert hdrs["Transfer-Encoding"] == "chunked" and hdrs["Content-Type"] == "application/json"


def test_watch_bookmarks_and_label_selector(sim, ns):
    events = []
    t = threading.Thread(target=lambda: events.extend(sim.watch(
        cm_path(ns) + "?watch=1&timeoutSeconds=3&allowWatchBookmarks=true&labelSelector=app%3Dx")))
    t.start()
    time.sleep(0.3)
    create(sim, cm_path(ns), {"metadata": {"name": "in", "labels": {"app": "x"}}})
    create(sim, cm_path(ns), {"metadata": {"name": "out"}})
    sim.request("PATCH", cm_path(ns, "out"), {"metadata": {"labels": {"app": "x"}}}, MP)   # enters the selection
    sim.request("PATCH", cm_path(ns, "in"), {"metadata": {"labels": {"app": "y"}}}, MP)    # leaves it
    t.join(10)
    kinds = [(e["type"], e["object"]["metadata"].get("name")) for e in events]
    assert kinds[:3] == [("ADDED", "in"), ("ADDED", "out"), ("DELETED", "in")]
    bm = [e for e in events if e["type"] == "BOOKMARK"]
    assert bm and bm[-1]["object"] == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
        "resourceVersion": bm[-1]["object"]["metadata"]["resourceVersion"], "creationTimestamp": None}}


def test_watch_too_old_gives_410_error_event(sim, ns):
    o = create(sim, cm_path(ns), {"metadata": {"name": "old"}})
    sim.faults({"action": "compact"})
    evs = list(sim.watch(cm_path(ns) + "?watch=1&timeoutSeconds=2&resourceVersion=%d" % (rv(o) - 1)))
    now = sim.request("GET", "/_okdsim/state", token=None)[2]["windowStart"]
    assert evs == [{"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "too old resource version: %d (%d)" % (rv(o) - 1, now), "reason": "Expired", "code": 410}}]
    st, _, body = sim.request("GET", cm_path(ns) + "?resourceVersion=%d&resourceVersionMatch=Exact" % (rv(o) - 1))
    assert st == 410 and body["message"] == "The resourceVersion for the provided list is too old."
    # a watch from the current resourceVersion still works after compaction
    evs = list(sim.watch(cm_path(ns) + "?watch=1&timeoutSeconds=1&resourceVersion=%d" % now))
    assert evs == []


def test_list_exact_resource_version_is_a_snapshot(sim, ns):
    a = create(sim, cm_path(ns), {"metadata": {"name": "s1"}})
    create(sim, cm_path(ns), {"metadata": {"name": "s2"}})
    sim.request("DELETE", cm_path(ns, "s1"))
    st, _, lst = sim.request("GET", cm_path(ns) + "?resourceVersion=%d&resourceVersionMatch=Exact" % rv(a))
    assert st == 200 and [i["metadata"]["name"] for i in lst["items"]] == ["s1"]
    assert lst["metadata"]["resourceVersion"] == str(rv(a))


# ---------------------------------------------------------------- errors, conflicts
def test_status_errors(sim, ns):
    st, _, body = sim.request("GET", dep_path(ns, "missing"))
    assert (st, body) == (404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": 'deployments.apps "missing" not found', "reason": "NotFound",
                                "details": {"name": "missing", "group": "apps", "kind": "deployments"},
                                "code": 404})
    create(sim, cm_path(ns), {"metadata": {"name": "dup"}})
    st, _, body = sim.request("POST", cm_path(ns), {"metadata": {"name": "dup"}})
    assert st == 409 and body["reason"] == "AlreadyExists" and body["message"] == 'configmaps "dup" already exists'
    st, _, body = sim.request("POST", cm_path("nope"), {"metadata": {"name": "x"}})
    assert st == 404 and body["message"] == 'namespaces "nope" not found'
    st, _, body = sim.request("GET", "/apis/apps/v1/namespaces/%s/widgets" % ns)
    assert st == 404 and body["message"] == "the server could not find the requested resource"
    st, _, body = sim.request("POST", cm_path(ns), {"metadata": {"name": "Bad_Name"}})
    assert st == 422 and body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: '
                                                    '"Bad_Name": a lowercase RFC 1123 subdomain must consist of')
    st, _, body = sim.request("POST", cm_path(ns), b"{not json")
    assert st == 400 and body["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: invalid '
                                             "character 'n' looking for beginning of object key string")


def test_optimistic_concurrency(sim, ns):
    d = create(sim, dep_path(ns), deployment("occ"))
    st, _, d2 = sim.request("PATCH", dep_path(ns, "occ"), {"metadata": {"labels": {"a": "b"}}}, MP)
    d["spec"]["replicas"] = 5
    st, _, body = sim.request("PUT", dep_path(ns, "occ"), d)
    assert st == 409 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on deployments.apps "occ": the object has been modified; please '
                   'apply your changes to the latest version and try again',
        "reason": "Conflict", "details": {"name": "occ", "group": "apps", "kind": "deployments"}, "code": 409}
    d2["spec"]["replicas"] = 5
    st, _, d3 = sim.request("PUT", dep_path(ns, "occ"), d2)
    assert st == 200 and d3["spec"]["replicas"] == 5
    # a patch carrying a stale resourceVersion conflicts too
    st, _, body = sim.request("PATCH", dep_path(ns, "occ"), {"metadata": {"resourceVersion": d2["metadata"][
        "resourceVersion"]}, "spec": {"replicas": 1}}, MP)
    assert st == 409
    # an update without resourceVersion is unconditional
    del d3["metadata"]["resourceVersion"]
    d3["spec"]["replicas"] = 2
    assert sim.request("PUT", dep_path(ns, "occ"), d3)[0] == 200


# ---------------------------------------------------------------- generation, status, defaults
def test_deployment_generation_and_defaults(sim, ns):
    d = create(sim, dep_path(ns), deployment("g"))
    assert d["metadata"]["generation"] == 1 and d["status"] == {}
    assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    assert d["spec"]["template"]["metadata"]["creationTimestamp"] is None

    def patch(path, body):
        st, _, o = sim.request("PATCH", path, body, MP)
        assert st == 200, o
        return o
    assert patch(dep_path(ns, "g"), {"metadata": {"labels": {"l": "1"}}})["metadata"]["generation"] == 1
    assert patch(dep_path(ns, "g"), {"metadata": {"annotations": {"a": "1"}}})["metadata"]["generation"] == 2
    assert patch(dep_path(ns, "g"), {"spec": {"replicas": 3}})["metadata"]["generation"] == 3
    o = patch(dep_path(ns, "g"), {"status": {"replicas": 3}})              # main resource ignores status
    assert o["metadata"]["generation"] == 3 and o["status"] == {}
    o = patch(dep_path(ns, "g") + "/status", {"status": {"observedGeneration": 3}, "spec": {"replicas": 9},
                                              "metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"},
                                                           "labels": {"l": "2"}}})
    assert o["status"] == {"observedGeneration": 3} and o["spec"]["replicas"] == 3
    assert o["metadata"]["generation"] == 3 and o["metadata"]["labels"] == {"l": "1"}
    assert o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"   # apps status keeps annotations
    # an update that omits defaulted fields gets them again
    o["spec"]["template"]["spec"]["containers"][0].pop("imagePullPolicy")
    st, _, o2 = sim.request("PUT", dep_path(ns, "g"), o)
    assert st == 200 and o2["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert o2["metadata"]["generation"] == 3


def test_scale_subresource(sim, ns):
    create(sim, dep_path(ns), deployment("sc"))
    st, _, s = sim.request("GET", dep_path(ns, "sc") + "/scale")
    assert st == 200 and s["kind"] == "Scale" and s["spec"] == {"replicas": 1} and s["status"]["selector"] == "app=sc"
    st, _, s = sim.request("PATCH", dep_path(ns, "sc") + "/scale", {"spec": {"replicas": 4}}, MP)
    assert st == 200 and s["spec"]["replicas"] == 4
    assert sim.request("GET", dep_path(ns, "sc"))[2]["spec"]["replicas"] == 4


# ---------------------------------------------------------------- CRDs
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.api.example"},
    "spec": {"group": "api.example", "scope": "Namespaced",
             "names": {"kind": "Thing", "plural": "things", "shortNames": ["th"], "categories": ["stuff"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "required": ["name"], "properties": {
                                   "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
                                   "port": {"x-kubernetes-int-or-string": True},
                                   "count": {"type": "integer", "minimum": 0, "default": 1},
                                   "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                                   "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                   "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                               "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}}
CLUSTER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "globals.api.example"},
    "spec": {"group": "api.example", "scope": "Cluster", "names": {"kind": "Global", "plural": "globals"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.fixture(scope="module")
def things(sim):
    for crd in (CRD, CLUSTER_CRD):
        st, _, body = sim.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        assert st in (201, 409), body
    return "/apis/api.example/v1/namespaces/%s/things"


def test_crd_serving_and_discovery(sim, things):
    st, _, rl = sim.request("GET", "/apis/api.example/v1")
    names = {r["name"]: r for r in rl["resources"]}
    assert names["things"]["shortNames"] == ["th"] and names["things"]["categories"] == ["stuff"]
    assert names["things"]["singularName"] == "thing" and names["things"]["namespaced"] is True
    assert names["globals"]["namespaced"] is False and "things/status" in names
    groups = [g["name"] for g in sim.request("GET", "/apis")[2]["groups"]]
    assert "api.example" in groups
    for _ in range(50):
        crd = sim.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.api.example")[2]
        if crd["status"].get("conditions"):
            break
        time.sleep(0.05)
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {"NamesAccepted": "True",
                                                                            "Established": "True"}
    assert crd["status"]["acceptedNames"]["kind"] == "Thing"
    st, _, g = sim.request("POST", "/apis/api.example/v1/globals", {"apiVersion": "api.example/v1",
                                                                    "kind": "Global", "metadata": {"name": "g1"},
                                                                    "anything": {"goes": 1}})
    assert st in (201, 409) and sim.request("GET", "/apis/api.example/v1/globals/g1")[2]["anything"] == {"goes": 1}


def _pb_fields(data):
    """Length-delimited fields of a protobuf message: {number: [payload, ...]} (the reader fails on any
    other wire type, which the document must not use)."""
    out, i = {}, 0
    while i < len(data):
        key = data[i]
        i += 1
        assert key & 7 == 2, "wire type %d" % (key & 7)
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.setdefault(key >> 3, []).append(data[i:i + n])
        i += n
    assert i == len(data)
    return out


def test_openapi_v2_for_old_kubectl(sim):
    """kubectl before 1.23 fetches /openapi/v2 as protobuf before every apply/create and gives up on a 404."""
    st, h, doc = sim.request("GET", "/openapi/v2")
    assert st == 200 and doc["swagger"] == "2.0" and doc["definitions"] == {} and doc["info"]["title"] == "Kubernetes"
    st, h, raw = sim.request("GET", "/openapi/v2",
                             headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
                             raw=True)
    assert st == 200 and h["Content-Type"] == "application/octet-stream"
    f = _pb_fields(raw.encode())
    assert f[1] == [b"2.0"] and f[8] == [b""] and f[9] == [b""]
    assert _pb_fields(f[2][0]) == {1: [b"Kubernetes"], 2: [b"v1.26.4"]}


def test_crd_schema_validation_names_every_field(sim, ns, things):
    st, _, body = sim.request("POST", things % ns, {
        "apiVersion": "api.example/v1", "kind": "Thing", "metadata": {"name": "t1"},
        "spec": {"name": "ABCDEFGHIJ", "port": 1.5, "count": -1, "tags": ["a", "b", "c"], "labels": {"x": 1}}})
    assert st == 422 and body["reason"] == "Invalid"
    causes = {(c["field"], c["reason"]): c["message"] for c in body["details"]["causes"]}
    assert causes == {
        ("spec.count", "FieldValueInvalid"): "Invalid value: -1: spec.count in body should be greater than or "
                                             "equal to 0",
        ("spec.labels.x", "FieldValueTypeInvalid"): 'Invalid value: 1: spec.labels.x in body must be of type '
                                                    'string: "integer"',
        ("spec.name", "FieldValueTooLong"): "Too long: may not be longer than 8",
        ("spec.name", "FieldValueInvalid"): 'Invalid value: "ABCDEFGHIJ": spec.name in body should match '
                                            "'^[a-z]+$'",
        ("spec.port", "FieldValueTypeInvalid"): 'Invalid value: 1.5: spec.port in body must be of type '
                                                'integer,string: "number"',
        ("spec.tags", "FieldValueTooMany"): "Too many: 3: must have at most 2 items"}
    assert body["message"].startswith('Thing.api.example "t1" is invalid: [')
    assert body["details"]["kind"] == "Thing" and body["details"]["group"] == "api.example"
    st, _, body = sim.request("POST", things % ns, {"apiVersion": "api.example/v1", "kind": "Thing",
                                                    "metadata": {"name": "t2"}, "spec": {}})
    assert st == 422 and body["message"] == 'Thing.api.example "t2" is invalid: spec.name: Required value'


def test_crd_field_validation_modes_and_defaults(sim, ns, things):
    obj = {"apiVersion": "api.example/v1", "kind": "Thing", "metadata": {"name": "fv"},
           "spec": {"name": "ok", "port": "http", "junk": 1, "free": {"any": {"thing": True}}}, "extra": 1}
    st, _, body = sim.request("POST", things % ns + "?fieldValidation=Strict", obj)
    assert st == 400 and body["message"] == ('Thing in version "v1" cannot be handled as a Thing: strict decoding '
                                             'error: unknown field "extra", unknown field "spec.junk"')
    st, h, body = sim.request("POST", things % ns + "?fieldValidation=Warn", obj)
    assert st == 201 and h.get_all("Warning") == ['299 - "unknown field \\"extra\\""',
                                                  '299 - "unknown field \\"spec.junk\\""']
    assert body["spec"] == {"name": "ok", "port": "http", "count": 1, "free": {"any": {"thing": True}}}
    assert "extra" not in body
    obj["metadata"]["name"] = "fv2"
    st, h, body = sim.request("POST", things % ns + "?fieldValidation=Ignore", obj)
    assert st == 201 and h.get("Warning") is None and "junk" not in body["spec"]


def test_crd_generation_status_and_patch_types(sim, ns, things):
    t = create(sim, things % ns, {"apiVersion": "api.example/v1", "kind": "Thing", "metadata": {"name": "gen"},
                                  "spec": {"name": "a"}, "status": {"ready": True}})
    assert "status" not in t and t["metadata"]["generation"] == 1
    path = (things % ns) + "/gen"
    st, _, t = sim.request("PATCH", path, {"metadata": {"labels": {"x": "1"}}, "status": {"ready": True}}, MP)
    assert t["metadata"]["generation"] == 1 and "status" not in t
    st, _, t = sim.request("PATCH", path + "/status", {"status": {"ready": True}, "spec": {"name": "zzz"}}, MP)
    assert t["status"] == {"ready": True} and t["spec"]["name"] == "a" and t["metadata"]["generation"] == 1
    st, _, t = sim.request("PATCH", path, [{"op": "replace", "path": "/spec/name", "value": "b"}], JP)
    assert st == 200 and t["metadata"]["generation"] == 2
    st, _, body = sim.request("PATCH", path, {"spec": {"name": "c"}}, SMP)
    assert st == 415 and body["reason"] == "UnsupportedMediaType"
    st, _, t = sim.request("PUT", path + "/status", dict(t, status={"ready": False}))
    assert st == 200 and t["status"] == {"ready": False}


def test_crd_deletion_removes_objects(sim, ns):
    crd = json.loads(json.dumps(CRD).replace("things", "doomeds").replace("Thing", "Doomed"))
    create(sim, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    path = "/apis/api.example/v1/namespaces/%s/doomeds" % ns
    create(sim, path, {"apiVersion": "api.example/v1", "kind": "Doomed", "metadata": {"name": "d"},
                       "spec": {"name": "a"}})
    st, _, _ = sim.request("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/doomeds.api.example")
    assert st == 200
    assert sim.request("GET", path)[0] == 404
    assert "doomeds" not in [r["name"] for r in sim.request("GET", "/apis/api.example/v1")[2]["resources"]]


# ---------------------------------------------------------------- finalizers and namespaces
def test_finalizers(sim, ns):
    create(sim, dep_path(ns), dict(deployment("fin"), metadata={"name": "fin", "finalizers": ["x.io/keep"]}))
    st, _, o = sim.request("DELETE", dep_path(ns, "fin"))
    assert st == 200 and o["kind"] == "Deployment" and o["metadata"]["deletionGracePeriodSeconds"] == 0
    assert o["metadata"]["generation"] == 2 and o["metadata"]["deletionTimestamp"]
    st, _, again = sim.request("DELETE", dep_path(ns, "fin"))
    assert st == 200 and again["metadata"]["resourceVersion"] == o["metadata"]["resourceVersion"]
    st, _, body = sim.request("PATCH", dep_path(ns, "fin"), {"metadata": {"finalizers": ["x.io/keep", "y.io/new"]}},
                              MP)
    assert st == 422 and "no new finalizers can be added if the object is being deleted" in body["message"]
    st, _, o = sim.request("PATCH", dep_path(ns, "fin"), {"metadata": {"finalizers": None}}, MP)
    assert st == 200
    assert sim.request("GET", dep_path(ns, "fin"))[0] == 404


def test_namespace_deletion_empties_it(sim):
    create(sim, "/api/v1/namespaces", {"metadata": {"name": "doomed-ns"}})
    create(sim, cm_path("doomed-ns"), {"metadata": {"name": "c"}})
    st, _, o = sim.request("DELETE", "/api/v1/namespaces/doomed-ns")
    assert st == 200 and o["status"]["phase"] == "Terminating"
    st, _, body = sim.request("POST", cm_path("doomed-ns"), {"metadata": {"name": "late"}})
    assert st == 403 and body["message"] == ("configmaps is forbidden: unable to create new content in namespace "
                                             "doomed-ns because it is being terminated")
    for _ in range(100):
        if sim.request("GET", "/api/v1/namespaces/doomed-ns")[0] == 404:
            break
        time.sleep(0.05)
    assert sim.request("GET", "/api/v1/namespaces/doomed-ns")[0] == 404
    assert sim.request("GET", cm_path("doomed-ns", "c"))[0] == 404


def test_new_namespace_gets_default_service_account(sim, ns):
    for _ in range(50):
        if sim.request("GET", "/api/v1/namespaces/%s/serviceaccounts/default" % ns)[0] == 200:
            return
        time.sleep(0.05)
    raise AssertionError("no default service account")


# ---------------------------------------------------------------- patches
def test_strategic_merge_patch_lists(sim, ns):
    create(sim, dep_path(ns), deployment("smp", containers=[
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
         "ports": [{"containerPort": 80}], "volumeMounts": [{"name": "v", "mountPath": "/v"}]},
        {"name": "b", "image": "b:1"}]))
    st, _, o = sim.request("PATCH", dep_path(ns, "smp"), {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"},
                                             {"name": "X", "$patch": "delete"}],
                        "ports": [{"containerPort": 8080}]},
                       {"name": "c", "image": "c:1"}],
        "volumes": [{"name": "v", "emptyDir": {}}]}}}}, SMP)
    assert st == 200, o
    cs = o["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in cs] == ["a", "b", "c"]
    assert cs[0]["env"] == [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]
    assert [p["containerPort"] for p in cs[0]["ports"]] == [80, 8080]
    assert cs[0]["volumeMounts"] == [{"name": "v", "mountPath": "/v"}] and cs[2]["imagePullPolicy"] == "IfNotPresent"
    assert o["spec"]["template"]["spec"]["volumes"] == [{"name": "v", "emptyDir": {}}]
    st, _, o = sim.request("PATCH", dep_path(ns, "smp"), {"spec": {"template": {"spec": {
        "containers": [{"name": "b", "$patch": "delete"}]}}}}, SMP)
    assert [c["name"] for c in o["spec"]["template"]["spec"]["containers"]] == ["a", "c"]
    st, _, body = sim.request("PATCH", dep_path(ns, "smp"), b"{not json", MP)
    assert st == 400 and body["message"] == ("error decoding patch: invalid character 'n' looking for beginning of "
                                             "object key string")
    st, _, body = sim.request("PATCH", dep_path(ns, "smp"), {"a": 1}, {"Content-Type": "text/plain"})
    assert st == 415


def test_json_patch_ops(sim, ns):
    create(sim, cm_path(ns), {"metadata": {"name": "jp"}, "data": {"a": "1"}})
    st, _, o = sim.request("PATCH", cm_path(ns, "jp"), [
        {"op": "add", "path": "/data/b", "value": "2"}, {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "copy", "from": "/data/a", "path": "/data/c"}, {"op": "move", "from": "/data/b", "path": "/data/d"},
        {"op": "remove", "path": "/data/a"}, {"op": "add", "path": "/metadata/labels", "value": {}},
        {"op": "add", "path": "/metadata/labels/example.com~1x", "value": "1"}], JP)
    assert st == 200 and o["data"] == {"c": "1", "d": "2"} and o["metadata"]["labels"] == {"example.com/x": "1"}
    st, _, body = sim.request("PATCH", cm_path(ns, "jp"), [{"op": "remove", "path": "/data/zzz"}], JP)
    assert st == 422


# ---------------------------------------------------------------- lists
def test_selectors_and_pagination(sim, ns):
    for i, labels in enumerate([{"env": "prod", "tier": "web"}, {"env": "dev"}, {"env": "qa", "tier": "db"}, {}]):
        create(sim, cm_path(ns), {"metadata": {"name": "p%d" % i, "labels": labels}})

    def names(q):
        st, _, body = sim.request("GET", cm_path(ns) + "?" + q)
        assert st == 200, body
        return [i["metadata"]["name"] for i in body["items"]]
    assert names("labelSelector=env%3Dprod") == ["p0"]
    assert names("labelSelector=env%3D%3Dprod") == ["p0"]
    assert names("labelSelector=env!%3Dprod") == ["p1", "p2", "p3"]
    assert names("labelSelector=env%20in%20(dev,qa)") == ["p1", "p2"]
    assert names("labelSelector=env%20notin%20(dev,qa)") == ["p0", "p3"]
    assert names("labelSelector=tier") == ["p0", "p2"]
    assert names("labelSelector=!tier") == ["p1", "p3"]
    assert names("labelSelector=env,tier%3Ddb") == ["p2"]
    assert names("fieldSelector=metadata.name%3Dp3") == ["p3"]
    assert names("fieldSelector=metadata.name!%3Dp3,metadata.namespace%3D" + ns) == ["p0", "p1", "p2"]
    st, _, body = sim.request("GET", cm_path(ns) + "?fieldSelector=spec.foo%3Dx")
    assert st == 400
    got, cont = [], ""
    pages = 0
    while True:
        st, _, body = sim.request("GET", cm_path(ns) + "?limit=3" + ("&continue=" + cont if cont else ""))
        pages += 1
        got += [i["metadata"]["name"] for i in body["items"]]
        cont = body["metadata"].get("continue")
        if pages == 1:
            assert body["metadata"]["remainingItemCount"] == 1
        if not cont:
            break
    assert got == ["p0", "p1", "p2", "p3"] and pages == 2
    st, _, all_ns = sim.request("GET", "/api/v1/configmaps?labelSelector=env%3Dprod")
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in all_ns["items"]] == [(ns, "p0")]


def test_table_output(sim, ns):
    create(sim, dep_path(ns), deployment("tbl"))
    st, _, t = sim.request("GET", dep_path(ns), headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                  "application/json"})
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in t["columnDefinitions"]][:5] == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    row = t["rows"][0]
    assert row["cells"][:4] == ["tbl", "0/1", 0, 0] and row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "tbl"


# ---------------------------------------------------------------- events and leases
def test_events_both_apis(sim, ns):
    create(sim, "/api/v1/namespaces/%s/events" % ns, {
        "metadata": {"name": "core1"}, "involvedObject": {"kind": "Deployment", "name": "web", "namespace": ns},
        "reason": "Started", "message": "hello", "type": "Normal", "count": 1, "source": {"component": "me"},
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"})
    st, _, lst = sim.request("GET", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns)
    e = lst["items"][0]
    assert e["note"] == "hello" and e["regarding"]["name"] == "web" and e["deprecatedCount"] == 1
    assert e["deprecatedSource"] == {"component": "me"} and lst["kind"] == "EventList"
    st, _, body = sim.request("GET", "/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3Dweb" % ns)
    assert [i["metadata"]["name"] for i in body["items"]] == ["core1"]


def test_lease_leader_election_flow(sim, ns):
    path = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns
    lease = create(sim, path, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                               "metadata": {"name": "leader"},
                               "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                                        "renewTime": "2026-01-01T00:00:00.000000Z"}})
    assert sim.request("POST", path, lease)[0] == 409
    b = json.loads(json.dumps(lease))
    lease["spec"]["renewTime"] = "2026-01-01T00:00:05.000000Z"
    assert sim.request("PUT", path + "/leader", lease)[0] == 200
    b["spec"]["holderIdentity"] = "b"
    st, _, body = sim.request("PUT", path + "/leader", b)       # b lost the race
    assert st == 409 and body["details"]["group"] == "coordination.k8s.io"
    assert sim.request("GET", path + "/leader")[2]["spec"]["holderIdentity"] == "a"


def test_deletecollection_and_dry_run(sim, ns):
    for n in ("dc1", "dc2", "keep"):
        create(sim, cm_path(ns), {"metadata": {"name": n, "labels": {"del": "yes" if n != "keep" else "no"}}})
    st, _, body = sim.request("POST", cm_path(ns) + "?dryRun=All", {"metadata": {"name": "dry"}})
    assert st == 201 and sim.request("GET", cm_path(ns, "dry"))[0] == 404
    st, _, body = sim.request("DELETE", cm_path(ns) + "?labelSelector=del%3Dyes")
    assert st == 200
    assert [i["metadata"]["name"] for i in sim.request("GET", cm_path(ns))[2]["items"]] == ["keep"]


def test_keep_alive_across_requests_and_a_watch(sim, ns):
    c = sim.connection()
    try:
        c.request("GET", cm_path(ns))
        r = c.getresponse()
        assert r.status == 200 and r.getheader("Content-Length")
        r.read()
        sock = c.sock
        c.request("GET", cm_path(ns) + "?watch=1&timeoutSeconds=1")
        r = c.getresponse()
        assert r.getheader("Transfer-Encoding") == "chunked"
        assert r.read() == b""                       # the stream ended with the zero-length chunk
        c.request("POST", cm_path(ns), json.dumps({"metadata": {"name": "ka"}}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 201
        r.read()
        assert c.sock is sock                        # all on one connection
    finally:
        c.close()


def test_custom_resource_default_columns(sim, things, ns):
    create(sim, things % ns, {"apiVersion": "api.example/v1", "kind": "Thing", "metadata": {"name": "col"},
                              "spec": {"name": "a"}})
    st, _, t = sim.request("GET", (things % ns) + "/col", headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Age"]
    assert t["rows"][0]["cells"][0] == "col" and t["rows"][0]["cells"][1].endswith("s")


def test_list_from_cache_ignores_limit(sim, ns):
    for i in range(3):
        create(sim, cm_path(ns), {"metadata": {"name": "l%d" % i}})
    st, _, body = sim.request("GET", cm_path(ns) + "?limit=2&resourceVersion=0")
    assert len(body["items"]) == 3 and "continue" not in body["metadata"]
    st, _, body = sim.request("GET", cm_path(ns) + "?limit=2")
    assert len(body["items"]) == 2 and body["metadata"]["continue"]


def test_crd_schema_must_be_structural(sim):
    crd = json.loads(json.dumps(CRD).replace("things", "loose").replace("Thing", "Loose"))
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    props["spec"]["properties"]["untyped"] = {"description": "no type"}
    props["spec"]["properties"]["list"] = {"type": "array", "items": {"properties": {"a": {"type": "string"}}}}
    st, _, body = sim.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert st == 422
    assert body["message"] == (
        'CustomResourceDefinition.apiextensions.k8s.io "loose.api.example" is invalid: ['
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items.type: Required value: "
        "must not be empty for specified array items, "
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[untyped].type: Required value: "
        "must not be empty for specified object fields]")


def test_generate_name_preconditions_partial_metadata_and_watch_paths(sim, ns):
    o = create(sim, cm_path(ns), {"metadata": {"generateName": "gen-"}})
    name = o["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == 9
    st, _, body = sim.request("DELETE", cm_path(ns, name), {"preconditions": {"uid": "not-the-uid"}})
    assert st == 409 and body["message"] == (
        'Operation cannot be fulfilled on configmaps "%s": Precondition failed: UID in precondition: not-the-uid, '
        'UID in object meta: %s' % (name, o["metadata"]["uid"]))
    st, _, pm = sim.request("GET", cm_path(ns), headers={
        "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"})
    assert pm["kind"] == "PartialObjectMetadataList" and pm["items"][0]["metadata"]["name"] == name
    assert "data" not in pm["items"][0]
    evs = list(sim.watch("/api/v1/watch/namespaces/%s/configmaps?timeoutSeconds=1" % ns))
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", name)]
    st, _, body = sim.request("DELETE", cm_path(ns, name), {"preconditions": {"uid": o["metadata"]["uid"]}})
    assert st == 200 and body["status"] == "Success" and body["details"]["uid"] == o["metadata"]["uid"]


def test_label_annotation_and_container_validation(sim, ns):
    st, _, body = sim.request("POST", cm_path(ns), {"metadata": {"name": "lbl", "labels": {"ok": "bad value!",
                                                                                         "bad key!": "x"},
                                                               "annotations": {"UPPER/ok": "1"}}})
    assert st == 422
    assert [(c["field"], c["message"]) for c in body["details"]["causes"]] == [
        ("metadata.labels", 'Invalid value: "bad key!": name part must consist of alphanumeric characters, \'-\', '
                            "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                            "'my.name',  or '123-abc', regex used for validation is "
                            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
        ("metadata.labels", 'Invalid value: "bad value!": a valid label must be an empty string or consist of '
                            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                            "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")]
    create(sim, cm_path(ns), {"metadata": {"name": "lbl2", "labels": {"example.com/a": ""}}})
    st, _, body = sim.request("PATCH", cm_path(ns, "lbl2"), {"metadata": {"labels": {"v": "x" * 64}}}, MP)
    assert st == 422 and body["details"]["causes"][0]["message"].endswith(": must be no more than 63 characters")
    d = deployment("val", containers=[{"name": "Web", "image": "i", "ports": [{"containerPort": 70000}]}])
    st, _, body = sim.request("POST", dep_path(ns), d)
    assert st == 422
    msgs = {c["field"]: c["message"] for c in body["details"]["causes"]}
    assert msgs["spec.template.spec.containers[0].name"].startswith(
        'Invalid value: "Web": a lowercase RFC 1123 label must consist of')
    assert msgs["spec.template.spec.containers[0].ports[0].containerPort"] == \
        "Invalid value: 70000: must be between 1 and 65535, inclusive"
