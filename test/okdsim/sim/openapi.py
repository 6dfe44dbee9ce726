"""A minimal OpenAPI v3 discovery: enough for kubectl to see that the server validates fields itself
(a PATCH operation per kind carrying the fieldValidation query parameter). No schemas are published."""

import hashlib
import json

PARAMS = ["dryRun", "fieldManager", "fieldValidation", "force"]


def gv_path(group, version):
    return "api/%s" % version if not group else "apis/%s/%s" % (group, version)


def gv_doc(registry, group, version):
    paths = {}
    for rt in registry.in_group_version(group, version):
        if rt.hidden:
            continue
        prefix = "/" + gv_path(group, version)
        ns = "/namespaces/{namespace}" if rt.namespaced else ""
        gvk = {"group": group, "version": version, "kind": rt.kind}
        item_params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        if rt.namespaced:
            item_params.append({"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}})
        ops = {}
        if "patch" in rt.verbs:
            ops["patch"] = {"operationId": "patch%s" % rt.kind, "x-kubernetes-action": "patch",
                            "x-kubernetes-group-version-kind": gvk,
                            "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}} for p in PARAMS],
                            "responses": {"200": {"description": "OK"}}}
        if "get" in rt.verbs:
            ops["get"] = {"operationId": "read%s" % rt.kind, "x-kubernetes-action": "get",
                          "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}}
        if ops:
            ops["parameters"] = item_params
            paths["%s%s/%s/{name}" % (prefix, ns, rt.resource)] = ops
        coll = {}
        if "create" in rt.verbs:
            coll["post"] = {"operationId": "create%s" % rt.kind, "x-kubernetes-action": "post",
                            "x-kubernetes-group-version-kind": gvk,
                            "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}}
                                           for p in PARAMS if p != "force"],
                            "responses": {"201": {"description": "Created"}}}
        if coll:
            paths["%s%s/%s" % (prefix, ns, rt.resource)] = coll
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.26.4"}, "paths": paths,
            "components": {"schemas": {}}}


def root(registry):
    out = {}
    gvs = [("", "v1")] + [(g, v) for g in registry.groups() for v in registry.versions(g)]
    for g, v in gvs:
        doc = json.dumps(gv_doc(registry, g, v), sort_keys=True)
        h = hashlib.sha512(doc.encode()).hexdigest()[:64].upper()
        out[gv_path(g, v)] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (gv_path(g, v), h)}
    return {"paths": out}


# OpenAPI v2 (/openapi/v2): what kubectl before 1.23 fetches for client-side validation, as protobuf
# (gnostic openapi_v2.Document) or JSON. Like the v3 documents it publishes no schemas; kubectl then
# skips its own validation of every kind and the server validates (strict field validation).
V2_PROTO = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
V2_INFO = {"title": "Kubernetes", "version": "v1.26.4"}


def v2_json():
    return {"swagger": "2.0", "info": dict(V2_INFO), "paths": {}, "definitions": {}}


def _pb_field(num, payload):
    """A length-delimited protobuf field (wire type 2)."""
    key = (num << 3) | 2
    n = len(payload)
    out = bytearray([key])
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + payload


def v2_proto():
    """Document{swagger=1, info=2 {title=1, version=2}, paths=8 {}, definitions=9 {}}."""
    info = _pb_field(1, V2_INFO["title"].encode()) + _pb_field(2, V2_INFO["version"].encode())
    return _pb_field(1, b"2.0") + _pb_field(2, info) + _pb_field(8, b"") + _pb_field(9, b"")
