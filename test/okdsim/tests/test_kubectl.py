"""Real /usr/bin/kubectl against okdsim: apply, create, get (json, yaml, tables, -w), annotate, label, patch of
each type, set image, delete, wait, and the error messages kubectl prints (worded as against a real cluster)."""

import json
import time

import yaml

from okdsim_fixture import read_lines

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.kctl.example
spec:
  group: kctl.example
  names: {kind: Gadget, plural: gadgets, singular: gadget, shortNames: [gdg], categories: [all]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Mode, type: string, jsonPath: .spec.mode}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10}
              mode: {type: string, enum: [fast, slow], default: slow}
          status:
            type: object
            properties:
              phase: {type: string}
"""


def deployment(name, image="nginx:1", ns=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "main", "image": image},
                                                       {"name": "side", "image": "busybox:1"}]}}}}
    if ns:
        d["metadata"]["namespace"] = ns
    return d


def write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else yaml.safe_dump(obj))
    return p


def ok(res):
    assert res.returncode == 0, res.stderr + res.stdout
    return res.stdout


def test_apply_crd_and_custom_resources(sim, ns, tmp_path):
    crd = write(tmp_path, "crd.yaml", CRD)
    assert ok(sim.kubectl("apply", "-f", crd)).strip() == \
        "customresourcedefinition.apiextensions.k8s.io/gadgets.kctl.example created"
    ok(sim.kubectl("wait", "--for=condition=Established", "crd/gadgets.kctl.example", "--timeout=10s"))
    cr = write(tmp_path, "g1.yaml", {"apiVersion": "kctl.example/v1", "kind": "Gadget",
                                     "metadata": {"name": "g1", "namespace": ns}, "spec": {"size": 3}})
    assert ok(sim.kubectl("apply", "-f", cr)).strip() == "gadget.kctl.example/g1 created"
    assert ok(sim.kubectl("apply", "-f", cr)).strip() == "gadget.kctl.example/g1 unchanged"
    lines = ok(sim.kubectl("-n", ns, "get", "gdg")).splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "MODE"]
    assert lines[1].split() == ["g1", "3", "slow"]          # schema default applied
    assert "gadget.kctl.example/g1" in ok(sim.kubectl("-n", ns, "get", "all", "-o", "name"))
    g = json.loads(ok(sim.kubectl("-n", ns, "get", "gadget", "g1", "-o", "json")))
    assert g["spec"] == {"size": 3, "mode": "slow"} and g["metadata"]["generation"] == 1
    assert "kubectl.kubernetes.io/last-applied-configuration" in g["metadata"]["annotations"]
    cr.write_text(cr.read_text().replace("size: 3", "size: 4"))
    assert ok(sim.kubectl("apply", "-f", cr)).strip() == "gadget.kctl.example/g1 configured"
    g = json.loads(ok(sim.kubectl("-n", ns, "get", "gadgets.kctl.example", "g1", "-o", "json")))
    assert g["spec"]["size"] == 4 and g["metadata"]["generation"] == 2


def test_invalid_custom_resource_messages(sim, ns, tmp_path):
    ok(sim.kubectl("apply", "-f", write(tmp_path, "crd.yaml", CRD)))
    ok(sim.kubectl("wait", "--for=condition=Established", "crd/gadgets.kctl.example", "--timeout=10s"))
    bad = write(tmp_path, "bad.yaml", {"apiVersion": "kctl.example/v1", "kind": "Gadget",
                                       "metadata": {"name": "bad", "namespace": ns},
                                       "spec": {"size": 11, "mode": "warp"}})
    res = sim.kubectl("apply", "-f", bad)
    assert res.returncode == 1
    assert res.stderr == (
        'The Gadget "bad" is invalid: \n'
        '* spec.mode: Unsupported value: "warp": supported values: "fast", "slow"\n'
        '* spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10\n')
    junk = write(tmp_path, "junk.yaml", {"apiVersion": "kctl.example/v1", "kind": "Gadget",
                                         "metadata": {"name": "junk", "namespace": ns},
                                         "spec": {"size": 1, "junk": True}})
    res = sim.kubectl("create", "-f", junk)
    assert res.returncode == 1
    assert res.stderr == ('Error from server (BadRequest): error when creating "%s": Gadget in version "v1" cannot be '
                          'handled as a Gadget: strict decoding error: unknown field "spec.junk"\n' % junk)
    res = sim.kubectl("create", "-f", junk, "--validate=warn")
    assert res.returncode == 0, res.stderr
    assert 'Warning: unknown field "spec.junk"' in res.stderr
    req = write(tmp_path, "req.yaml", {"apiVersion": "kctl.example/v1", "kind": "Gadget",
                                       "metadata": {"name": "req", "namespace": ns}, "spec": {}})
    res = sim.kubectl("create", "-f", req)
    assert res.stderr == 'The Gadget "req" is invalid: spec.size: Required value\n'


def test_deployment_apply_get_json_yaml(sim, ns, tmp_path):
    f = write(tmp_path, "d.yaml", deployment("web", ns=ns))
    assert ok(sim.kubectl("apply", "-f", f)).strip() == "deployment.apps/web created"
    d = json.loads(ok(sim.kubectl("-n", ns, "get", "deploy", "web", "-o", "json")))
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                                "maxUnavailable": "25%"}}
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent" and c["terminationMessagePolicy"] == "File"
    y = yaml.safe_load(ok(sim.kubectl("-n", ns, "get", "deployment", "web", "-o", "yaml")))
    assert y["metadata"]["uid"] == d["metadata"]["uid"] and y["spec"]["progressDeadlineSeconds"] == 600
    table = ok(sim.kubectl("-n", ns, "get", "deploy", "-o", "wide")).splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES",
                                "SELECTOR"]
    assert table[1].split()[:2] == ["web", "0/1"] and table[1].split()[-3:] == ["main,side", "nginx:1,busybox:1",
                                                                                "app=web"]
    # apply of a changed manifest: a client-side three-way strategic merge patch
    f.write_text(yaml.safe_dump(deployment("web", image="nginx:2", ns=ns)))
    assert ok(sim.kubectl("apply", "-f", f)).strip() == "deployment.apps/web configured"
    d2 = json.loads(ok(sim.kubectl("-n", ns, "get", "deploy", "web", "-o", "json")))
    assert [c["image"] for c in d2["spec"]["template"]["spec"]["containers"]] == ["nginx:2", "busybox:1"]
    assert d2["metadata"]["generation"] == 2


def test_create_typed_and_errors(sim, ns, tmp_path):
    assert ok(sim.kubectl("-n", ns, "create", "deployment", "api", "--image", "nginx:1", "--replicas", "2")
              ).strip() == "deployment.apps/api created"
    res = sim.kubectl("-n", ns, "create", "deployment", "api", "--image", "nginx:1")
    assert res.returncode == 1
    assert res.stderr == 'error: failed to create deployment: deployments.apps "api" already exists\n'
    f = write(tmp_path, "api.json", json.dumps(deployment("api")))
    res = sim.kubectl("-n", ns, "create", "-f", f)
    assert res.stderr == 'Error from server (AlreadyExists): error when creating "%s": deployments.apps "api" ' \
                         'already exists\n' % f
    res = sim.kubectl("-n", ns, "get", "deploy", "nope")
    assert res.returncode == 1
    assert res.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    res = sim.kubectl("-n", ns, "delete", "deploy", "nope")
    assert res.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    res = sim.kubectl("-n", "no-such-ns", "create", "configmap", "x")
    assert res.stderr == 'error: failed to create configmap: namespaces "no-such-ns" not found\n'
    ok(sim.kubectl("-n", ns, "create", "configmap", "cfg", "--from-literal", "k=v"))
    ok(sim.kubectl("-n", ns, "create", "secret", "docker-registry", "pull", "--docker-server", "127.0.0.1:5000",
                   "--docker-username", "u", "--docker-password", "p"))
    s = json.loads(ok(sim.kubectl("-n", ns, "get", "secret", "pull", "-o", "json")))
    assert s["type"] == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" in s["data"]
    d = json.loads(ok(sim.kubectl("-n", ns, "get", "deploy", "api", "-o", "json")))
    assert d["spec"]["replicas"] == 2 and d["spec"]["template"]["spec"]["containers"][0]["name"] == "nginx"


def test_invalid_deployment_message(sim, ns, tmp_path):
    d = deployment("broken", ns=ns)
    del d["spec"]["template"]["spec"]["containers"][0]["image"]
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    res = sim.kubectl("create", "-f", write(tmp_path, "b.yaml", d))
    assert res.returncode == 1
    assert res.stderr == (
        'The Deployment "broken" is invalid: \n'
        '* spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not '
        'match template `labels`\n'
        '* spec.template.spec.containers[0].image: Required value\n')


def test_conflict_message_on_replace(sim, ns, tmp_path):
    ok(sim.kubectl("-n", ns, "create", "configmap", "cm1", "--from-literal", "a=1"))
    stale = json.loads(ok(sim.kubectl("-n", ns, "get", "cm", "cm1", "-o", "json")))
    ok(sim.kubectl("-n", ns, "label", "cm", "cm1", "x=1"))
    stale["data"]["a"] = "2"
    f = write(tmp_path, "cm1.json", json.dumps(stale))
    res = sim.kubectl("replace", "-f", f)
    assert res.returncode == 1
    assert res.stderr == ('Error from server (Conflict): error when replacing "%s": Operation cannot be fulfilled on '
                          'configmaps "cm1": the object has been modified; please apply your changes to the latest '
                          'version and try again\n' % f)


def test_annotate_label_patch_set_image_generation(sim, ns, tmp_path):
    ok(sim.kubectl("apply", "-f", write(tmp_path, "d.yaml", deployment("gen", ns=ns))))

    def gen():
        return json.loads(ok(sim.kubectl("-n", ns, "get", "deploy", "gen", "-o", "json")))

    assert gen()["metadata"]["generation"] == 1
    assert ok(sim.kubectl("-n", ns, "label", "deploy", "gen", "tier=web")).strip() == "deployment.apps/gen labeled"
    assert gen()["metadata"]["generation"] == 1                     # labels never bump generation
    assert ok(sim.kubectl("-n", ns, "annotate", "deploy", "gen", "note=x")).strip() == \
        "deployment.apps/gen annotated"
    assert gen()["metadata"]["generation"] == 2                     # Deployment annotations do
    assert ok(sim.kubectl("-n", ns, "set", "image", "deploy/gen", "main=nginx:3")).strip() == \
        "deployment.apps/gen image updated"
    d = gen()
    assert d["metadata"]["generation"] == 3
    assert [c["image"] for c in d["spec"]["template"]["spec"]["containers"]] == ["nginx:3", "busybox:1"]
    # strategic merge: containers merge by name, env by name
    ok(sim.kubectl("-n", ns, "patch", "deploy", "gen", "-p", json.dumps(
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "env": [{"name": "A", "value": "1"}]}]}}}})))
    d = gen()
    cs = d["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in cs] == ["main", "side"] and cs[1]["env"] == [{"name": "A", "value": "1"}]
    ok(sim.kubectl("-n", ns, "patch", "deploy", "gen", "--type=merge", "-p", '{"spec":{"replicas":3}}'))
    ok(sim.kubectl("-n", ns, "patch", "deploy", "gen", "--type=json", "-p",
                   '[{"op":"replace","path":"/spec/replicas","value":4}]'))
    d = gen()
    assert d["spec"]["replicas"] == 4 and d["metadata"]["generation"] == 6
    res = sim.kubectl("-n", ns, "patch", "deploy", "gen", "--type=json", "-p",
                      '[{"op":"test","path":"/spec/replicas","value":9}]')
    assert res.returncode == 1
    # a real server answers a failed test op with an Invalid Status without details; kubectl prints it so
    assert res.stderr == 'The request is invalid: the server rejected our request due to an error in our request\n'
    ok(sim.kubectl("-n", ns, "scale", "deploy", "gen", "--replicas", "1"))
    assert gen()["spec"]["replicas"] == 1


def test_get_watch_streams_changes(sim, ns):
    p = sim.kubectl_popen("-n", ns, "get", "configmaps", "-w", "--output-watch-events")
    try:
        time.sleep(1.0)
        ok(sim.kubectl("-n", ns, "create", "configmap", "w1"))
        ok(sim.kubectl("-n", ns, "label", "configmap", "w1", "a=b"))
        ok(sim.kubectl("-n", ns, "delete", "configmap", "w1"))
        seen = [line.split()[:3] for line in read_lines(p, 4)]
        assert seen == [["EVENT", "NAME", "DATA"], ["ADDED", "w1", "0"], ["MODIFIED", "w1", "0"],
                        ["DELETED", "w1", "0"]]
    finally:
        p.terminate()
        p.wait(5)


def test_get_watch_table_output(sim, ns):
    ok(sim.kubectl("-n", ns, "create", "configmap", "t1", "--from-literal", "a=b"))
    p = sim.kubectl_popen("-n", ns, "get", "configmaps", "t1", "-w")
    try:
        time.sleep(1.0)
        ok(sim.kubectl("-n", ns, "create", "configmap", "t2"))
        ok(sim.kubectl("-n", ns, "patch", "configmap", "t1", "-p", '{"data":{"b":"c"}}'))
        time.sleep(1.0)
    finally:
        p.terminate()
        out, _ = p.communicate(5)
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["NAME", "DATA", "AGE"]
    assert [x[:2] for x in lines[1:]] == [["t1", "1"], ["t1", "2"]]


def test_wait_for_jsonpath_and_delete(sim, ns, tmp_path):
    ok(sim.kubectl("apply", "-f", write(tmp_path, "d.yaml", deployment("waiter", ns=ns))))
    p = sim.kubectl_popen("-n", ns, "wait", "deploy/waiter", "--for=jsonpath={.status.readyReplicas}=1",
                          "--timeout=15s")
    time.sleep(0.5)
    st, _, _ = sim.request("PATCH", "/apis/apps/v1/namespaces/%s/deployments/waiter/status" % ns,
                           {"status": {"readyReplicas": 1, "replicas": 1}},
                           headers={"Content-Type": "application/merge-patch+json"})
    assert st == 200
    out, err = p.communicate(20)
    assert p.returncode == 0, err
    assert out.strip() == "deployment.apps/waiter condition met"
    assert ok(sim.kubectl("-n", ns, "delete", "deploy", "waiter")).strip() == 'deployment.apps "waiter" deleted'
    assert sim.kubectl("-n", ns, "get", "deploy", "waiter").returncode == 1


def test_delete_with_finalizer_and_wait(sim, ns):
    ok(sim.kubectl("-n", ns, "create", "configmap", "fin"))
    ok(sim.kubectl("-n", ns, "patch", "configmap", "fin", "--type=merge", "-p",
                   '{"metadata":{"finalizers":["example.com/keep"]}}'))
    assert ok(sim.kubectl("-n", ns, "delete", "configmap", "fin", "--wait=false")).strip() == \
        'configmap "fin" deleted'
    cm = json.loads(ok(sim.kubectl("-n", ns, "get", "configmap", "fin", "-o", "json")))
    assert cm["metadata"]["deletionTimestamp"] and cm["metadata"]["deletionGracePeriodSeconds"] == 0
    p = sim.kubectl_popen("-n", ns, "wait", "--for=delete", "configmap/fin", "--timeout=15s")
    time.sleep(0.5)
    ok(sim.kubectl("-n", ns, "patch", "configmap", "fin", "--type=json", "-p",
                   '[{"op":"remove","path":"/metadata/finalizers"}]'))
    out, err = p.communicate(20)
    assert p.returncode == 0, err
    res = sim.kubectl("-n", ns, "get", "configmap", "fin")
    assert res.stderr == 'Error from server (NotFound): configmaps "fin" not found\n'


def test_short_names_and_api_resources(sim):
    out = ok(sim.kubectl("api-resources", "--api-group=apps"))
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["deployments"][1] == "deploy" and rows["deployments"][-1] == "Deployment"
    assert ok(sim.kubectl("get", "ns", "default", "-o", "name")).strip() == "namespace/default"
    assert "lease" in ok(sim.kubectl("api-resources", "--api-group=coordination.k8s.io", "-o", "name"))


def test_events_via_kubectl(sim, ns):
    st, _, _ = sim.request("POST", "/apis/events.k8s.io/v1/namespaces/%s/events" % ns, {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "Imported", "note": "imported 1.25", "type": "Normal",
        "action": "Import", "reportingController": "istrigger.io/sync", "reportingInstance": "a",
        "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": ns}})
    assert st == 201
    out = ok(sim.kubectl("-n", ns, "get", "events"))
    assert "Imported" in out and "deployment/web" in out and "imported 1.25" in out


def test_unknown_fields_in_built_in_kinds(sim, ns, tmp_path):
    d = deployment("typo", ns=ns)
    d["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    d["metadata"]["label"] = {"a": "b"}
    f = write(tmp_path, "typo.yaml", d)
    res = sim.kubectl("apply", "-f", f)
    assert res.returncode == 1
    assert res.stderr == ('Error from server (BadRequest): error when creating "%s": Deployment in version "v1" cannot '
                          'be handled as a Deployment: strict decoding error: unknown field "metadata.label", unknown '
                          'field "spec.template.spec.containers[0].imagee"\n' % f)
    res = sim.kubectl("apply", "-f", f, "--validate=warn")
    assert res.returncode == 0
    assert res.stderr == ('Warning: unknown field "metadata.label"\n'
                          'Warning: unknown field "spec.template.spec.containers[0].imagee"\n')
    d = json.loads(ok(sim.kubectl("-n", ns, "get", "deploy", "typo", "-o", "json")))
    assert "imagee" not in d["spec"]["template"]["spec"]["containers"][0] and "label" not in d["metadata"]


def test_typed_create_commands_send_protobuf(sim, ns):
    """kubectl's typed commands send application/vnd.kubernetes.protobuf; each must arrive intact."""
    k = lambda *a: ok(sim.kubectl("-n", ns, *a))  # noqa: E731
    k("create", "serviceaccount", "robot")
    assert sim.kubectl("-n", ns, "create", "token", "robot").stdout.count(".") == 2
    k("create", "role", "reader", "--verb=get,list", "--resource=configmaps", "--resource-name=a")
    k("create", "rolebinding", "reader", "--role=reader", "--serviceaccount=%s:robot" % ns, "--group=g1")
    k("create", "job", "once", "--image=busybox:1", "--", "echo", "hi")
    k("create", "cronjob", "often", "--image=busybox:1", "--schedule=*/5 * * * *", "--", "date")
    k("create", "service", "clusterip", "svc", "--tcp=80:8080")
    k("run", "pod1", "--image=busybox:1", "--labels=a=b", "--env=X=1", "--port=8080", "--", "sleep", "9")
    k("create", "secret", "generic", "sec", "--from-literal=k=v", "--type=example.com/x")
    role = json.loads(k("get", "role", "reader", "-o", "json"))
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"],
                              "verbs": ["get", "list"]}]
    rb = json.loads(k("get", "rolebinding", "reader", "-o", "json"))
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert {(s["kind"], s["name"]) for s in rb["subjects"]} == {("ServiceAccount", "robot"), ("Group", "g1")}
    job = json.loads(k("get", "job", "once", "-o", "json"))
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["echo", "hi"] and job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    cj = json.loads(k("get", "cronjob", "often", "-o", "json"))
    assert cj["spec"]["schedule"] == "*/5 * * * *" and cj["spec"]["concurrencyPolicy"] == "Allow"
    svc = json.loads(k("get", "service", "svc", "-o", "json"))
    assert svc["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    pod = json.loads(k("get", "pod", "pod1", "-o", "json"))
    pc = pod["spec"]["containers"][0]
    assert pod["metadata"]["labels"] == {"a": "b"} and pc["args"] == ["sleep", "9"]
    assert pc["env"] == [{"name": "X", "value": "1"}] and pc["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    sec = json.loads(k("get", "secret", "sec", "-o", "json"))
    assert sec["type"] == "example.com/x" and sec["data"] == {"k": "dg=="}


CONDITIONS_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kctl.example
spec:
  group: kctl.example
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Reason, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].reason'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""


def test_printer_columns_with_condition_filters_and_ages(sim, ns, tmp_path):
    """The columns every operator's CRD has (a condition picked by type, an Age) print as
    kube-apiserver prints them: the condition's value, and an age such as 3s, not a timestamp."""
    ok(sim.kubectl("apply", "-f", write(tmp_path, "crd.yaml", CONDITIONS_CRD)))
    ok(sim.kubectl("wait", "--for=condition=Established", "crd/widgets.kctl.example", "--timeout=10s"))
    ok(sim.kubectl("-n", ns, "apply", "-f", write(tmp_path, "w.yaml", {
        "apiVersion": "kctl.example/v1", "kind": "Widget", "metadata": {"name": "w1"}})))
    st, _, _ = sim.request(
        "PATCH", "/apis/kctl.example/v1/namespaces/%s/widgets/w1/status" % ns,
        {"status": {"conditions": [{"type": "Synced", "status": "False", "reason": "Nope"},
                                   {"type": "Ready", "status": "True", "reason": "AllGood"}]}},
        headers={"Content-Type": "application/merge-patch+json"})
    assert st == 200
    lines = ok(sim.kubectl("-n", ns, "get", "widgets")).splitlines()
    assert lines[0].split() == ["NAME", "READY", "REASON", "AGE"]
    cells = lines[1].split()
    assert cells[:3] == ["w1", "True", "AllGood"]
    assert cells[3].endswith("s") and cells[3][:-1].isdigit(), cells
