"""ImageStreamImport against real docker-registry instances (plain HTTP, and TLS with htpasswd
auth) with images built by hand and pushed by skopeo: history, no-op imports, credentials from
dockerconfigjson/dockercfg secrets, insecure vs a trusted CA, multi-arch modes, failures and
their reasons, request validation, dry run, conflicts, importPolicy copying, and the
imagestreamtags/imagetags/images views."""
import base64
import json
import pytest

pytest.register_assert_rewrite("openshift_env")
from openshift_env import IMAGE_API, reglib, settle, start_env, stop_env  # noqa: E402

pytest_plugins = ("openshift_env",)  # the okd_env fixture

NS = "imp"


def isi_image(frm, to=None, **policy):
    im = {"from": {"kind": "DockerImage", "name": frm}, "importPolicy": policy}
    if to:
        im["to"] = {"name": to}
    return im


def tag_of(stream, tag):
    for t in (stream.get("status") or {}).get("tags") or []:
        if t["tag"] == tag:
            return t
    return None


def spec_tag(stream, tag):
    for t in (stream.get("spec") or {}).get("tags") or []:
        if t["name"] == tag:
            return t
    return None


def test_import_history_noop_and_views(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)])
    assert code == 201, r
    st = r["status"]["images"][0]
    assert st["status"] == {"metadata": {}, "status": "Success"} and st["tag"] == "v1"
    assert st["image"]["metadata"]["name"] == d1
    assert st["image"]["dockerImageReference"] == reg.ref("app", digest=d1)
    assert st["image"]["dockerImageMetadata"]["Architecture"] == "amd64"
    assert st["image"]["dockerImageMetadata"]["Config"] == {"Cmd": ["/stamp"]}
    stream = r["status"]["import"]
    assert stream["metadata"]["generation"] == 1
    assert [i["image"] for i in tag_of(stream, "v1")["items"]] == [d1]
    assert "openshift.io/image.dockerRepositoryCheck" in stream["metadata"]["annotations"]
    rv1 = stream["metadata"]["resourceVersion"]

    # the same image again: 201, and the stream is not written
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)])
    assert code == 201 and r["status"]["import"]["metadata"]["resourceVersion"] == rv1
    assert env.stream(NS, "app")["metadata"]["resourceVersion"] == rv1

    # a new image under the tag: newest first
    d2 = env.push_image("app", "v1", "two")
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)])
    s = r["status"]["import"]
    assert [i["image"] for i in tag_of(s, "v1")["items"]] == [d2, d1]
    assert [i["generation"] for i in tag_of(s, "v1")["items"]] == [2, 1]
    assert s["metadata"]["generation"] == 2 and spec_tag(s, "v1")["generation"] == 2

    # imagestreamtags / imagetags / images
    code, _, ist = env.request("GET", "%s/namespaces/%s/imagestreamtags/app:v1" % (IMAGE_API, NS))
    assert code == 200
    assert ist["metadata"]["uid"] == s["metadata"]["uid"]
    assert ist["metadata"]["resourceVersion"] == s["metadata"]["resourceVersion"]
    assert ist["image"]["metadata"]["name"] == d2 and ist["generation"] == 2
    assert ist["tag"]["name"] == "v1" and ist["lookupPolicy"] == {"local": False}
    code, _, lst = env.request("GET", "%s/namespaces/%s/imagestreamtags" % (IMAGE_API, NS))
    assert [i["metadata"]["name"] for i in lst["items"]] == ["app:v1"]
    code, _, it = env.request("GET", "%s/namespaces/%s/imagetags/app:v1" % (IMAGE_API, NS))
    assert code == 200 and it["spec"]["name"] == "v1" and it["image"]["metadata"]["name"] == d2
    assert [i["image"] for i in it["status"]["items"]] == [d2, d1]
    code, _, img = env.request("GET", "%s/images/%s" % (IMAGE_API, d1))
    assert code == 200 and img["kind"] == "Image" and img["metadata"]["name"] == d1
    code, _, w = env.request("GET", "%s/namespaces/%s/imagestreamtags?watch=1" % (IMAGE_API, NS))
    assert code == 405, w

    # dry run: nothing is written, the manifest can be included
    d3 = env.push_image("app", "v1", "three")
    code, _, r = env.isi(NS, "app", [dict(isi_image(reg.ref("app", "v1"), "v1", insecure=True),
                                          includeManifest=True)], do_import=False)
    assert code == 201 and "import" not in r["status"]
    img = r["status"]["images"][0]["image"]
    assert img["metadata"]["name"] == d3
    assert json.loads(img["dockerImageManifest"])["layers"][0]["mediaType"].startswith(
        "application/vnd.oci.image.layer")
    assert "architecture" in json.loads(img["dockerImageConfig"])
    assert [i["image"] for i in tag_of(env.stream(NS, "app"), "v1")["items"]] == [d2, d1]
    code, _, r = env.isi(NS, "nostream", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)],
                         do_import=False)
    assert code == 201
    assert env.request("GET", "%s/namespaces/%s/imagestreams/nostream" % (IMAGE_API, NS))[0] == 404


def test_import_failures_conflicts_and_validation(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    code, _, r = env.isi(NS, "app", [
        isi_image(reg.ref("app", "missing"), "missing", insecure=True),
        isi_image("127.0.0.1:1/app:v1", "down", insecure=True),
        isi_image(reg.ref("app", "v1"), "v1", insecure=True)])
    assert code == 201
    miss, down, ok = r["status"]["images"]
    assert miss["status"]["reason"] == "NotFound" and miss["status"]["code"] == 404
    assert miss["status"]["message"] == \
        'dockerimage.image.openshift.io "%s" not found' % reg.ref("app", "missing")
    assert down["status"]["reason"] == "InternalError" and down["tag"] == "v1"
    assert down["status"]["message"] == ('Internal error occurred: 127.0.0.1:1/app:v1: Get '
                                         '"http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: '
                                         'connect: connection refused')
    assert ok["image"]["metadata"]["name"] == d1
    s = r["status"]["import"]
    assert tag_of(s, "missing")["items"] is None
    assert tag_of(s, "missing")["conditions"][0]["reason"] == "NotFound"
    assert spec_tag(s, "down")["from"]["name"] == "127.0.0.1:1/app:v1"
    rv = s["metadata"]["resourceVersion"]

    # an unchanged failure is not written again
    code, _, r = env.isi(NS, "app", [isi_image("127.0.0.1:1/app:v1", "down", insecure=True)])
    assert r["status"]["import"]["metadata"]["resourceVersion"] == rv
    # success removes the condition
    env.push_image("app", "missing", "now here")
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "missing"), "missing",
                                               insecure=True)])
    assert "conditions" not in tag_of(r["status"]["import"], "missing")

    # optimistic concurrency and identity
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)],
                         resourceVersion="1")
    assert code == 409 and r["reason"] == "Conflict"
    cur = env.stream(NS, "app")["metadata"]["resourceVersion"]
    assert r["message"] == ('Operation cannot be fulfilled on imagestream.image.openshift.io "app"'
                            ': the image stream was updated from "1" to "%s"' % cur)
    assert r["details"] == {"name": "app", "group": "image.openshift.io", "kind": "imagestream"}
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)],
                         uid="00000000-0000-0000-0000-000000000000")
    assert code == 404 and r["message"] == 'imagestreams.image.openshift.io "app" not found'
    code, _, r = env.isi(NS, "gone", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)],
                         resourceVersion="5")
    assert code == 404

    # validation
    code, _, r = env.isi(NS, "app", [{"from": {"kind": "ImageStreamTag", "name": "a:b"}},
                                     isi_image(reg.ref("app", "v1"), "v1",
                                               importMode="Sideways")])
    assert code == 422 and r["reason"] == "Invalid"
    assert [c["field"] for c in r["details"]["causes"]] == [
        "spec.images[0].from.kind", "spec.images[1].importPolicy.importMode"]
    code, _, r = env.isi(NS, "app", [])
    assert code == 422
    code, _, r = env.isi("nons", "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)])
    assert code == 404 and r["message"] == 'namespaces "nons" not found'


def test_import_policy_copied_reference_policy_kept(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    env.push_image("app", "v1", "one")
    env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                          "name": reg.ref("app", "v1")},
                                   "importPolicy": {"insecure": True, "scheduled": True},
                                   "referencePolicy": {"type": "Local"}}])
    s = settle(env, NS, "app")
    assert spec_tag(s, "v1")["importPolicy"] == {"insecure": True, "scheduled": True,
                                                 "importMode": "Legacy"}
    env.push_image("app", "v1", "two")
    code, _, r = env.isi(NS, "app", [dict(isi_image(reg.ref("app", "v1"), "v1", insecure=True),
                                          referencePolicy={"type": "Source"})])
    t = spec_tag(r["status"]["import"], "v1")
    # importPolicy is copied as sent (scheduled is lost), referencePolicy only if unset
    assert t["importPolicy"] == {"insecure": True, "importMode": "Legacy"}
    assert t["referencePolicy"] == {"type": "Local"}


def test_multiarch_legacy_prefer_arch_and_preserve_original(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    idx = env.push_index("multi", "v1", [("arm64", "linux"), ("amd64", "linux"),
                                         ("s390x", "linux")])
    arm, amd = idx["children"][0]["digest"], idx["children"][1]["digest"]
    ref = reg.ref("multi", "v1")
    env.create_stream(NS, "multi", [
        {"name": "legacy", "from": {"kind": "DockerImage", "name": ref},
         "importPolicy": {"insecure": True}},
        {"name": "arm", "from": {"kind": "DockerImage", "name": ref},
         "annotations": {"importer.image.openshift.io/prefer-arch": "arm64"},
         "importPolicy": {"insecure": True}},
        {"name": "s390x", "from": {"kind": "DockerImage", "name": ref},
         "annotations": {"importer.image.openshift.io/prefer-arch": "s390x",
                         "importer.image.openshift.io/prefer-os": "linux"},
         "importPolicy": {"insecure": True}}])
    s = settle(env, NS, "multi")
    heads = {t["tag"]: t["items"][0]["image"] for t in s["status"]["tags"]}
    assert heads == {"legacy": amd, "arm": arm, "s390x": idx["children"][2]["digest"]}
    assert tag_of(s, "legacy")["items"][0]["dockerImageReference"] == reg.ref("multi",
                                                                            digest=amd)

    code, _, r = env.isi(NS, "multi", [isi_image(ref, "po", insecure=True,
                                                 importMode="PreserveOriginal")])
    st = r["status"]["images"][0]
    assert st["image"]["metadata"]["name"] == idx["digest"]
    assert st["image"]["dockerImageManifestMediaType"] == \
        "application/vnd.oci.image.index.v1+json"
    assert [m["architecture"] for m in st["image"]["dockerImageManifests"]] == \
        ["arm64", "amd64", "s390x"]
    assert [m["metadata"]["name"] for m in st["manifests"]] == [c["digest"] for c in
                                                                 idx["children"]]
    s = r["status"]["import"]
    assert tag_of(s, "po")["items"][0]["image"] == idx["digest"]
    assert spec_tag(s, "po")["importPolicy"]["importMode"] == "PreserveOriginal"
    # switching a tag's importMode counts as a change and re-imports
    code, _, cur = env.request("GET", "%s/namespaces/%s/imagestreams/multi" % (IMAGE_API, NS))
    for t in cur["spec"]["tags"]:
        if t["name"] == "legacy":
            t["importPolicy"]["importMode"] = "PreserveOriginal"
    code, _, upd = env.request("PUT", "%s/namespaces/%s/imagestreams/multi" % (IMAGE_API, NS),
                               cur)
    assert code == 200, upd
    assert spec_tag(upd, "legacy")["generation"] == upd["metadata"]["generation"]
    s = settle(env, NS, "multi")
    assert tag_of(s, "legacy")["items"][0]["image"] == idx["digest"]
    assert [i["image"] for i in tag_of(s, "legacy")["items"]] == [idx["digest"], amd]


def _secret(env, name, typ, doc, annotations=None):
    key = ".dockerconfigjson" if typ == "kubernetes.io/dockerconfigjson" else ".dockercfg"
    md = {"name": name}
    if annotations:
        md["annotations"] = annotations
    code, _, b = env.request("POST", "/api/v1/namespaces/%s/secrets" % NS, {
        "apiVersion": "v1", "kind": "Secret", "type": typ, "metadata": md,
        "data": {key: base64.b64encode(json.dumps(doc).encode()).decode()}})
    assert code == 201, b


def test_tls_registry_with_htpasswd_and_pull_secrets(tmp_path):
    # okdsim trusts the registry's CA (like images.config additionalTrustedCA)
    reg = reglib.Registry(tmp_path / "reg", tls=True, auth=("puller", "s3cret")).start()
    try:
        env = start_env(tmp_path / "a", "--registry-ca", str(reg.ca_cert), registry=reg)
        try:
            env.create_namespace(NS)
            dig = env.push_image("private/app", "v1", "secret stuff")
            ref = reg.ref("private/app", "v1")
            code, _, r = env.isi(NS, "app", [isi_image(ref, "v1")])
            st = r["status"]["images"][0]["status"]
            assert (st["code"], st["reason"]) == (401, "Unauthorized")
            assert st["message"] == 'you may not have access to the container image "%s"' % ref
            cond = tag_of(r["status"]["import"], "v1")["conditions"][0]
            assert (cond["type"], cond["status"], cond["reason"]) == ("ImportSuccess", "False",
                                                                      "Unauthorized")
            # an excluded secret is not used
            _secret(env, "excluded", "kubernetes.io/dockerconfigjson",
                    reg.dockerconfigjson(), {"openshift.io/image.excludeSecret": "true"})
            code, _, r = env.isi(NS, "app", [isi_image(ref, "v1")])
            assert r["status"]["images"][0]["status"]["reason"] == "Unauthorized"
            # a dockerconfigjson secret in the namespace is used, no linking needed
            _secret(env, "pull", "kubernetes.io/dockerconfigjson", reg.dockerconfigjson())
            code, _, r = env.isi(NS, "app", [isi_image(ref, "v1")])
            assert r["status"]["images"][0]["status"]["status"] == "Success"
            assert r["status"]["images"][0]["image"]["metadata"]["name"] == dig
            assert "conditions" not in tag_of(r["status"]["import"], "v1")
            code, _, sl = env.request("GET", "%s/namespaces/%s/imagestreams/app/secrets"
                                      % (IMAGE_API, NS))
            assert code == 200 and [i["metadata"]["name"] for i in sl["items"]] == ["pull"]
            # the old dockercfg format works too (in another namespace)
            code, _, _b = env.request("POST", "/api/v1/namespaces", {"metadata": {"name": "cfg"}})
            auth = reg.dockerconfigjson()["auths"]
            code, _, b = env.request("POST", "/api/v1/namespaces/cfg/secrets", {
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockercfg",
                "metadata": {"name": "old"},
                "data": {".dockercfg": base64.b64encode(json.dumps(
                    {"https://" + reg.host: auth[reg.host]}).encode()).decode()}})
            assert code == 201, b
            code, _, r = env.isi("cfg", "app", [isi_image(ref, "v1")])
            assert r["status"]["images"][0]["status"]["status"] == "Success"
        finally:
            stop_env(env)
        # without the CA: a secure import fails on the certificate, insecure skips verification
        env = start_env(tmp_path / "b", registry=reg)
        try:
            env.create_namespace(NS)
            _secret(env, "pull", "kubernetes.io/dockerconfigjson", reg.dockerconfigjson())
            code, _, r = env.isi(NS, "app", [isi_image(ref, "v1")])
            st = r["status"]["images"][0]["status"]
            assert st["reason"] == "InternalError"
            assert st["message"].startswith('Internal error occurred: %s: Get "https://%s/v2/": '
                                            'x509: ' % (ref, reg.host))
            code, _, r = env.isi(NS, "app", [isi_image(ref, "v1", insecure=True)])
            assert r["status"]["images"][0]["status"]["status"] == "Success"
            # the stream annotation openshift.io/image.insecureRepository does the same
            code, _, r = env.request("POST", "%s/namespaces/%s/imagestreams" % (IMAGE_API, NS), {
                "metadata": {"name": "ann", "annotations": {
                    "openshift.io/image.insecureRepository": "true"}}, "spec": {}})
            assert code == 201, r
            code, _, r = env.isi(NS, "ann", [isi_image(ref, "v1")])
            assert r["status"]["images"][0]["status"]["status"] == "Success"
        finally:
            stop_env(env)
    finally:
        reg.stop()


def test_istag_put_creates_and_imports_delete_removes(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    # like `oc tag --scheduled SRC app:v1`: PUT imagestreamtags with generation 0
    body = {"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamTag",
            "metadata": {"name": "app:v1"},
            "tag": {"name": "v1", "from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
                    "importPolicy": {"insecure": True, "scheduled": True},
                    "referencePolicy": {"type": "Source"}, "generation": 0}}
    code, _, r = env.request("PUT", "%s/namespaces/%s/imagestreamtags/app:v1" % (IMAGE_API, NS),
                             body)
    assert code == 201, r
    assert r["image"] is None and r["tag"]["importPolicy"]["scheduled"] is True
    s = settle(env, NS, "app")
    assert tag_of(s, "v1")["items"][0]["image"] == d1
    code, _, r = env.request("GET", "%s/namespaces/%s/imagestreamtags/app:v1" % (IMAGE_API, NS))
    assert code == 200 and r["image"]["metadata"]["name"] == d1
    # stale resourceVersion
    body["metadata"]["resourceVersion"] = "1"
    code, _, r = env.request("PUT", "%s/namespaces/%s/imagestreamtags/app:v1" % (IMAGE_API, NS),
                             body)
    assert code == 409 and r["reason"] == "Conflict"
    code, _, r = env.request("DELETE", "%s/namespaces/%s/imagestreamtags/app:v1"
                             % (IMAGE_API, NS))
    assert code == 200, r
    s = env.stream(NS, "app")
    assert not (s["spec"].get("tags") or []) and not (s["status"].get("tags") or [])
    code, _, r = env.request("DELETE", "%s/namespaces/%s/imagestreamtags/app:v1"
                             % (IMAGE_API, NS))
    assert code == 404


def test_field_selectors_and_kubectl(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    env.push_image("app", "v1", "one")
    env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                          "name": reg.ref("app", "v1")},
                                   "importPolicy": {"insecure": True}}])
    env.create_stream(NS, "other", [], dockerImageRepository="example.invalid/x/y")
    settle(env, NS, "app")
    code, _, r = env.request("GET", "%s/namespaces/%s/imagestreams?fieldSelector="
                             "spec.dockerImageRepository%%3Dexample.invalid/x/y"
                             % (IMAGE_API, NS))
    assert code == 200 and [i["metadata"]["name"] for i in r["items"]] == ["other"]
    assert r["items"][0]["status"]["dockerImageRepository"] == "example.invalid/x/y"
    res = env.kubectl("get", "is", "-n", NS, check=True)
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "REPOSITORY", "TAGS", "UPDATED"]
    assert lines[1].split()[:2] == ["app", "v1"]
    res = env.kubectl("get", "istag", "-n", NS, "app:v1", "-o",
                      "jsonpath={.image.dockerImageReference}", check=True)
    assert res.stdout.startswith(reg.ref("app") + "@sha256:")
    res = env.kubectl("get", "istag", "-n", NS, check=True)
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "REFERENCE", "UPDATED"]
    assert lines[1].split()[:2] == ["app:v1", reg.ref("app", digest=settle(env, NS, "app")["status"]["tags"][0]["items"][0]["image"])]
    res = env.kubectl("get", "istag", "-n", NS, "app:nope")
    assert res.returncode != 0
    assert 'imagestreamtags.image.openshift.io "app:nope" not found' in res.stderr
    res = env.kubectl("api-resources", "--api-group=image.openshift.io", check=True)
    names = {l.split()[0]: l.split() for l in res.stdout.splitlines()[1:]}
    assert names["imagestreams"][1] == "is" and names["imagestreamtags"][1] == "istag"
    assert "imagestreamimports" in names and "imagetags" in names


def test_patches_on_streams_and_istags(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    env.push_image("app", "v1", "one")
    env.push_image("app", "v2", "two")
    env.create_stream(NS, "app", [{"name": "v1", "from": {"kind": "DockerImage",
                                                          "name": reg.ref("app", "v1")},
                                   "importPolicy": {"insecure": True}}])
    settle(env, NS, "app")
    # strategic merge patch merges spec.tags by name (a merge patch would replace the list)
    res = env.kubectl("patch", "-n", NS, "is/app", "--type=strategic", "-p", json.dumps(
        {"spec": {"tags": [{"name": "v2", "from": {"kind": "DockerImage",
                                                   "name": reg.ref("app", "v2")},
                            "importPolicy": {"insecure": True}}]}}), check=True)
    assert "patched" in res.stdout
    s = settle(env, NS, "app")
    assert [t["name"] for t in s["spec"]["tags"]] == ["v1", "v2"]
    # kubectl patch of an imagestreamtag (GET, patch, PUT)
    res = env.kubectl("patch", "-n", NS, "istag/app:v1", "--type=merge", "-p",
                      '{"tag":{"importPolicy":{"scheduled":true}}}', check=True)
    assert "patched" in res.stdout
    s = env.stream(NS, "app")
    assert spec_tag(s, "v1")["importPolicy"]["scheduled"] is True
    res = env.kubectl("patch", "-n", NS, "istag/app:nope", "--type=merge", "-p", '{"tag":{}}')
    assert 'imagestreamtags.image.openshift.io "app:nope" not found' in res.stderr


def test_rbac_create_imagestreamimports_is_enough(tmp_path):
    """Under --rbac an ISI needs only `create imagestreamimports`: the importer reads the pull
    secrets and writes the stream with the server's own rights (reference §3.5, §3.6)."""
    env = start_env(tmp_path, "--user-token", "op-token=operator",
                    "--user-token", "nobody-token=nobody",
                    sim_kw={"rbac": True, "token": "admin-token"})
    try:
        reg = env.registry
        env.create_namespace(NS)
        env.push_image("app", "v1", "one")
        for kind, body in (("roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                      "metadata": {"name": "importer"}, "rules": [
                                          {"apiGroups": ["image.openshift.io"],
                                           "resources": ["imagestreamimports"],
                                           "verbs": ["create"]}]}),
                           ("rolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1",
                                             "kind": "RoleBinding",
                                             "metadata": {"name": "importer"},
                                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                         "kind": "Role", "name": "importer"},
                                             "subjects": [{"kind": "User", "name": "operator",
                                                           "apiGroup": "rbac.authorization.k8s.io"}]})):
            code, _, b = env.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/%s"
                                     % (NS, kind), body)
            assert code == 201, b
        isi = {"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
               "metadata": {"name": "app"}, "spec": {"import": True, "images": [
                   {"from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
                    "to": {"name": "v1"}, "importPolicy": {"insecure": True}}]}}
        path = "%s/namespaces/%s/imagestreamimports" % (IMAGE_API, NS)
        code, _, r = env.sim.request("POST", path, isi, token="op-token")
        assert code == 201, r
        assert r["status"]["images"][0]["status"]["status"] == "Success"
        code, _, r = env.sim.request("GET", "%s/namespaces/%s/imagestreams/app" % (IMAGE_API, NS),
                                     token="op-token")
        assert code == 403
        code, _, r = env.sim.request("POST", path, isi, token="nobody-token")
        assert code == 403 and r["reason"] == "Forbidden"
        assert r["message"] == ('imagestreamimports.image.openshift.io is forbidden: User "nobody" '
                                'cannot create resource "imagestreamimports" in API group '
                                '"image.openshift.io" in the namespace "%s"' % NS)
    finally:
        stop_env(env)


def test_reference_and_tracking_tags(okd_env):
    env, reg = okd_env, okd_env.registry
    env.create_namespace(NS)
    d1 = env.push_image("app", "v1", "one")
    s = env.create_stream(NS, "app", [
        {"name": "v1", "from": {"kind": "DockerImage", "name": reg.ref("app", "v1")},
         "importPolicy": {"insecure": True}},
        {"name": "latest", "from": {"kind": "ImageStreamTag", "name": "v1"}},
        {"name": "ext", "reference": True, "from": {"kind": "DockerImage",
                                                    "name": "quay.example/x/y:1"}}])
    # a reference tag is written from from.name at once, with no image ID, and never imported
    assert tag_of(s, "ext")["items"][0]["dockerImageReference"] == "quay.example/x/y:1"
    assert tag_of(s, "ext")["items"][0]["image"] == ""
    s = settle(env, NS, "app")
    # the ImageStreamTag tag follows its source in the same write as the import
    assert tag_of(s, "latest")["items"][0]["image"] == d1
    d2 = env.push_image("app", "v1", "two")
    code, _, r = env.isi(NS, "app", [isi_image(reg.ref("app", "v1"), "v1", insecure=True)])
    s = r["status"]["import"]
    assert tag_of(s, "latest")["items"][0]["image"] == d2
    assert [i["image"] for i in tag_of(s, "latest")["items"]] == [d2, d1]
    # an istag for a reference tag has no image: 404
    code, _, r = env.request("GET", "%s/namespaces/%s/imagestreamtags/app:ext" % (IMAGE_API, NS))
    assert code == 404
