"""HTTP(S) server: routing like kube-apiserver's RequestInfo, authn/authz, verbs, watch streams, control API."""

import base64
import copy
import json
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import auth, errors, openapi, patch, protobuf, rbac, selectors
from .faults import MESSAGES, REASONS
from .resources import api_group_list, group_entry, resource_list, table_for

VERSION = {"major": "1", "minor": "26", "gitVersion": "v1.26.4-okdsim",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.19.8", "compiler": "gc",
           "platform": "linux/amd64"}
NAMESPACE_SUBRESOURCES = ("status", "finalize")


class Request:
    """What handlers see: .method .path .namespace .name .query (dict of single values) .body .user .groups
    .headers .verb .rt .subresource .group .version .resource .warnings"""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Watch:
    def __init__(self):
        self.closed = False


def _first(q):
    return {k: v[0] for k, v in q.items()}


def _truthy(v):
    return v in ("1", "true", "True", "yes")


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "okdsim/1.26"
    sys_version = ""

    def setup(self):
        ctx = self.server.ssl_ctx
        if ctx is not None:
            self.request.settimeout(10)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                self.request.close()
                raise
            self.request.settimeout(None)
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    def log_message(self, fmt, *args):
        if self.server.sim.options.verbose:
            self.server.sim.log("%s %s", self.address_string(), fmt % args)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self.dispatch()

    # ------------------------------------------------------------ plumbing
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return b""

    def send_json(self, code, body, headers=None, ctype="application/json"):
        data = (json.dumps(body) + "\n").encode() if not isinstance(body, (bytes, str)) else \
            (body.encode() if isinstance(body, str) else body)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", self.audit_id)
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            if isinstance(v, list):
                for x in v:
                    self.send_header(k, x)
            else:
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_status(self, err, extra_headers=None):
        h = dict(err.headers)
        h.update(extra_headers or {})
        self.send_json(err.code, err.status(), h)

    # ------------------------------------------------------------ entry
    def dispatch(self):
        self.audit_id = "%08x" % (id(self) & 0xffffffff)
        sim = self.server.sim
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            if path.startswith("/_okdsim/"):
                return self.control(path, query, raw)
            peer = None
            if self.server.ssl_ctx is not None:
                try:
                    peer = self.request.getpeercert()
                except (ValueError, AttributeError):
                    peer = None
            user = sim.auth.authenticate(self.headers, peer)
            user = auth.impersonate(sim, self.headers, user)
            req = self.request_info(path, query, raw, user)
            sim.faults.record(req.verb, req.counted_resource, path, user.name)
            fail, delay = sim.faults.match(self.command, path, req.verb)
            if delay:
                time.sleep(delay)
            if fail:
                return self.send_fault(fail)
            if sim.options.rbac:
                self.authorize(req)
            if req.rt is None and not req.resource_request:
                return self.nonresource(req)
            return self.resource(req)
        except errors.ApiError as e:
            return self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # report, don't hang the client
            import traceback
            sim.log("internal error on %s %s: %s", self.command, self.path, traceback.format_exc())
            try:
                self.send_error_status(errors.internal(repr(e)))
            except OSError:
                self.close_connection = True

    def send_fault(self, rule):
        code = int(rule["code"])
        ra = rule.get("retryAfter")
        msg = rule.get("message") or MESSAGES.get(code) or "injected fault"
        details = {"retryAfterSeconds": int(ra)} if ra else None
        if code == 500 and not rule.get("message"):
            details = dict(details or {}, causes=[{"message": "injected fault"}])
        err = errors.ApiError(code, rule.get("reason") or REASONS.get(code, ""), msg, details)
        self.send_error_status(err, {"Retry-After": str(int(ra))} if ra else None)

    def authorize(self, req):
        a = rbac.Attributes(req.user, req.groups, req.verb, req.group, req.resource, req.subresource,
                            req.namespace, req.name or req.selector_name, self.path.split("?")[0],
                            req.resource_request, req.version)
        ok, reason = rbac.authorize(self.server.sim, a)
        if not ok:
            msg = rbac.forbidden_message(a)
            if reason:
                msg += ": " + reason
            raise errors.forbidden(req.group if req.resource_request else "",
                                   req.resource if req.resource_request else "", req.name, msg)

    # ------------------------------------------------------------ request info
    def request_info(self, path, query, raw, user):
        sim = self.server.sim
        q = _first(query)
        parts = [p for p in path.split("/") if p]
        info = dict(method=self.command, path=path, query=q, query_multi=query, raw=raw, user=user.name,
                    groups=user.groups, uid=user.uid, headers=self.headers, rt=None, subresource="", group="",
                    version="", resource="", namespace="", name="", verb=self.command.lower(),
                    resource_request=False, body=None, warnings=[], counted_resource="", selector_name="")
        if not parts or parts[0] not in ("api", "apis"):
            return Request(**info)
        if parts[0] == "api":
            if len(parts) < 3:
                return Request(**info)
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) < 4:
                return Request(**info)
            group, version, rest = parts[1], parts[2], parts[3:]
        verb_watch = False
        if rest and rest[0] == "watch":
            verb_watch = True
            rest = rest[1:]
        namespace = ""
        if rest and rest[0] == "namespaces" and len(rest) > 1:
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
        resource = rest[0] if rest else ""
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3:
            raise errors.page_not_found()
        m = self.command
        if verb_watch or (m == "GET" and _truthy(q.get("watch", ""))):
            verb = "watch"
        elif m == "GET":
            verb = "get" if name else "list"
        elif m == "POST":
            verb = "create"
        elif m == "PUT":
            verb = "update"
        elif m == "PATCH":
            verb = "patch"
        elif m == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = m.lower()
        sel_name = ""
        if verb in ("list", "watch") and not name:
            for f in (q.get("fieldSelector") or "").split(","):
                if f.startswith("metadata.name="):
                    sel_name = f[len("metadata.name="):]
        rt = sim.registry.get(group, version, resource)
        info.update(group=group, version=version, resource=resource, namespace=namespace, name=name,
                    subresource=sub, verb=verb, resource_request=True, rt=rt, selector_name=sel_name,
                    counted_resource=("%s.%s" % (resource, group) if group else resource) + ("/" + sub if sub else ""))
        return Request(**info)

    # ------------------------------------------------------------ non-resource
    def nonresource(self, req):
        sim = self.server.sim
        p = req.path.rstrip("/") or "/"
        reg = sim.registry
        if p == "/version":
            return self.send_json(200, VERSION)
        if p in ("/healthz", "/livez", "/readyz"):
            return self.send_json(200, "ok", ctype="text/plain; charset=utf-8")
        if p == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.address}]})
        if p == "/api/v1":
            return self.send_json(200, resource_list(reg, "", "v1"))
        if p == "/apis":
            return self.send_json(200, api_group_list(reg))
        parts = p.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2 and parts[1] in reg.groups():
            e = group_entry(reg, parts[1])
            e.update({"kind": "APIGroup", "apiVersion": "v1"})
            return self.send_json(200, e)
        if parts[0] == "apis" and len(parts) == 3 and parts[2] in reg.versions(parts[1]):
            return self.send_json(200, resource_list(reg, parts[1], parts[2]))
        if p == "/openapi/v2":
            if openapi.V2_PROTO in (self.headers.get("Accept") or ""):
                return self.send_json(200, openapi.v2_proto(), ctype="application/octet-stream")
            return self.send_json(200, openapi.v2_json())
        if p == "/openapi/v3":
            return self.send_json(200, openapi.root(reg))
        if p.startswith("/openapi/v3/"):
            gvp = p[len("/openapi/v3/"):].split("/")
            if gvp[0] == "api" and len(gvp) == 2 and gvp[1] == "v1":
                return self.send_json(200, openapi.gv_doc(reg, "", "v1"))
            if gvp[0] == "apis" and len(gvp) == 3 and gvp[2] in reg.versions(gvp[1]):
                return self.send_json(200, openapi.gv_doc(reg, gvp[1], gvp[2]))
        if p == "/":
            return self.send_json(200, {"paths": sorted(["/api", "/api/v1", "/apis", "/version", "/healthz"] +
                                                        ["/apis/" + g for g in reg.groups()])})
        self.send_json(404, errors.page_not_found().status())

    # ------------------------------------------------------------ resources
    def resource(self, req):
        sim = self.server.sim
        rt = req.rt
        if rt is None:
            raise errors.page_not_found()
        if rt.namespaced and not req.namespace and (req.name or req.verb == "create"):
            raise errors.page_not_found()
        if not rt.namespaced and req.namespace and rt.resource != "namespaces":
            raise errors.page_not_found()
        if req.raw and req.method in ("POST", "PUT") and req.verb != "patch":
            req.body = self.decode_body(req)
        elif req.raw and req.method == "DELETE":
            req.body = self.decode_body(req)
        if req.subresource:
            h = sim.registry.subresources.get((rt.group, rt.resource, req.subresource))
            if h is not None:
                if req.method == "PATCH":
                    req.body = req.raw
                code, body = h(sim, req)
                return self.send_json(code, body, self.warn_headers(req))
            if req.subresource not in rt.subresources or req.subresource not in ("status", "scale", "finalize"):
                raise errors.page_not_found()
        if not rt.storage:
            h = (rt.handlers or {}).get(req.verb)
            if h is None:
                raise errors.method_not_supported(rt, req.verb)
            code, body = h(sim, req)
            return self.send_json(code, body, self.warn_headers(req))
        if rt.handlers and req.verb in rt.handlers:
            code, body = rt.handlers[req.verb](sim, req)
            return self.send_json(code, body, self.warn_headers(req))
        if req.verb not in rt.verbs and not req.subresource:
            raise errors.method_not_supported(rt, req.verb)
        fn = getattr(self, "verb_" + req.verb, None)
        if fn is None:
            raise errors.method_not_supported(rt, req.verb)
        return fn(req)

    def decode_body(self, req):
        ctype = (req.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ctype in ("application/yaml", "application/apply-patch+yaml"):
            import yaml
            try:
                return yaml.safe_load(req.raw)
            except Exception as e:
                raise errors.bad_request("error decoding YAML: %s" % e)
        if ctype == "application/vnd.kubernetes.protobuf":
            return protobuf.decode(req.raw)
        if ctype not in ("application/json", "*/*", ""):
            raise errors.unsupported_media_type(["application/json", "application/yaml",
                                                 "application/vnd.kubernetes.protobuf"])
        try:
            return json.loads(req.raw)
        except ValueError:
            kind = req.rt.kind if req.rt else "object"
            raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: %s" % (
                kind, req.version, kind, patch.go_json_error(req.raw.decode("utf-8", "replace"))))

    def warn_headers(self, req):
        if not req.warnings:
            return None
        return {"Warning": ['299 - "%s"' % w.replace("\\", "\\\\").replace('"', '\\"') for w in req.warnings]}

    def accept(self, req):
        a = req.headers.get("Accept") or ""
        for part in a.split(","):
            if "as=Table" in part:
                return "Table"
            if "as=PartialObjectMetadataList" in part or "as=PartialObjectMetadata" in part:
                return "Partial"
            if part.split(";")[0].strip() in ("application/json", "*/*", ""):
                return "json"
        return "json"

    def field_validation(self, req):
        fv = req.query.get("fieldValidation", "")
        if fv == "":
            return "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request('fieldValidation must be one of "Ignore", "Warn", or "Strict", got "%s"' % fv)
        return fv

    def check_body(self, req, body):
        rt = req.rt
        if not isinstance(body, dict):
            raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: json: cannot unmarshal %s "
                                     "into Go value of type map[string]interface {}"
                                     % (rt.kind, rt.version, rt.kind, type(body).__name__))
        av, kind = body.get("apiVersion"), body.get("kind")
        if kind and kind != rt.kind and not (rt.resource == "events" and kind == "Event"):
            raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: no kind \"%s\" is registered "
                                     "for version \"%s\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
                                     % (kind, rt.version, rt.kind, kind, av or rt.api_version))
        if av and av != rt.api_version:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                                     % (av, rt.api_version))
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: json: cannot unmarshal %s into "
                                     "Go struct field %s.metadata of type v1.ObjectMeta"
                                     % (rt.kind, rt.version, rt.kind, type(meta).__name__, rt.kind))
        body.setdefault("metadata", {})
        if rt.namespaced:
            ns = body["metadata"].get("namespace")
            if ns and ns != req.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            body["metadata"]["namespace"] = req.namespace
        return body

    def out(self, req, code, obj):
        mode = self.accept(req)
        if mode == "Table" and req.rt.storage:
            t = table_for(req.rt, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                          req.query.get("includeObject", "PartialObjectMetadata"))
            return self.send_json(code, t, self.warn_headers(req))
        if mode == "Partial":
            obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        return self.send_json(code, obj, self.warn_headers(req))

    def dry_run(self, req):
        d = req.query_multi.get("dryRun") or []
        for v in d:
            if v != "All":
                raise errors.bad_request('Invalid dry run value: "%s"' % v)
        return bool(d)

    # ---- get
    def verb_get(self, req):
        store = self.server.sim.store
        obj = store.get(req.rt, req.namespace, req.name)
        if req.subresource == "scale":
            return self.send_json(200, self.scale_of(req.rt, obj))
        return self.out(req, 200, obj)

    def scale_of(self, rt, obj):
        sel = (obj.get("spec") or {}).get("selector") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: obj["metadata"].get(k) for k in
                             ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": ",".join("%s=%s" % kv for kv in sorted((sel.get("matchLabels") or {}).items()))}}

    # ---- list
    def verb_list(self, req):
        rt = req.rt
        store = self.server.sim.store
        q = req.query
        lsel = selectors.parse_label_selector(q.get("labelSelector", ""))
        fsel = selectors.parse_field_selector(q.get("fieldSelector", ""), rt)
        limit = int(q.get("limit") or 0) if (q.get("limit") or "0").isdigit() else 0
        cont = q.get("continue", "")
        rv_param = q.get("resourceVersion", "")
        match = q.get("resourceVersionMatch", "")
        at_rv = None
        start = None
        if cont:
            if rv_param:
                raise errors.bad_request("specifying resource version is not allowed when using continue")
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)))
                at_rv, start = int(tok["rv"]), tok["start"]
            except Exception:
                raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                         "(version meta.k8s.io/v1)")
            try:
                items, rv = store.snapshot(rt, req.namespace, at_rv)
            except errors.ApiError:
                raise errors.ApiError(410, "Expired", "The provided continue parameter is too old to display a "
                                      "consistent list result. You can start a new list without the continue "
                                      "parameter, or use the continue token in this response to retrieve the "
                                      "remainder of the results. Continuing with the provided token results in an "
                                      "inconsistent list - objects that were created, modified, or deleted between "
                                      "the time the first chunk was returned and now may show up in the list.")
        else:
            if match and not rv_param:
                raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
            if rv_param and rv_param != "0" and match == "Exact":
                items, rv = store.snapshot(rt, req.namespace, int(rv_param))
            else:
                if rv_param and rv_param != "0" and rv_param.isdigit() and int(rv_param) > store.resource_version():
                    deadline = time.time() + 3
                    while time.time() < deadline and int(rv_param) > store.resource_version():
                        time.sleep(0.05)
                    if int(rv_param) > store.resource_version():
                        raise errors.ApiError(504, "Timeout", "Too large resource version: %s, current: %d" % (
                            rv_param, store.resource_version()), {"causes": [
                                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                                "retryAfterSeconds": 1})
                items, rv = store.snapshot(rt, req.namespace)

        def key(o):
            m = o["metadata"]
            return m["name"] if (req.namespace or not rt.namespaced) else "%s/%s" % (m.get("namespace"), m["name"])
        items = [o for o in items if selectors.labels_match(lsel, o["metadata"].get("labels"))
                 and selectors.fields_match(fsel, o)]
        if start is not None:
            items = [o for o in items if key(o) >= start]
        meta = {"resourceVersion": str(rv)}
        if rv_param == "0" and not cont:
            limit = 0          # served from the watch cache: the real server ignores limit then
        if limit and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            tok = {"v": "meta.k8s.io/v1", "rv": rv, "start": key(items[-1]) + "\x00"}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(tok, separators=(",", ":")).encode()) \
                .decode().rstrip("=")
            if not lsel and not fsel:
                meta["remainingItemCount"] = rest
        mode = self.accept(req)
        if mode == "Table":
            return self.send_json(200, table_for(rt, items, meta, q.get("includeObject", "PartialObjectMetadata")))
        if mode == "Partial":
            return self.send_json(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                        "metadata": meta, "items": [
                                            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                             "metadata": o["metadata"]} for o in items]})
        if rt.crd is None:
            for o in items:
                o.pop("apiVersion", None)
                o.pop("kind", None)
        return self.send_json(200, {"apiVersion": rt.api_version, "items": items, "kind": rt.list_kind,
                                    "metadata": meta})

    # ---- create
    def verb_create(self, req):
        sim = self.server.sim
        if req.name and not req.subresource:
            raise errors.method_not_supported(req.rt, "create")
        body = self.check_body(req, req.body)
        fv = self.field_validation(req)
        obj = sim.store.create(req.rt, body, user=req.user, warnings=req.warnings, field_validation=fv,
                               dry_run=self.dry_run(req))
        return self.out(req, 201, obj)

    # ---- update
    def verb_update(self, req):
        sim = self.server.sim
        body = self.check_body(req, req.body)
        meta = body["metadata"]
        if req.subresource == "scale":
            return self.update_scale(req, body)
        if meta.get("name") and meta["name"] != req.name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (meta["name"], req.name))
        meta["name"] = req.name
        if req.subresource == "finalize":
            cur = sim.store.get(req.rt, "", req.name)
            cur["spec"] = body.get("spec") or {}
            cur["metadata"]["resourceVersion"] = meta.get("resourceVersion") or cur["metadata"]["resourceVersion"]
            obj = sim.store.update(req.rt, cur, subresource=None)
            return self.out(req, 200, obj)
        obj = sim.store.update(req.rt, body, subresource=req.subresource or None, warnings=req.warnings,
                               field_validation=self.field_validation(req), dry_run=self.dry_run(req),
                               user=req.user)
        return self.out(req, 200, obj)

    def update_scale(self, req, body):
        sim = self.server.sim
        cur = sim.store.get(req.rt, req.namespace, req.name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != cur["metadata"]["resourceVersion"]:
            raise errors.conflict(req.rt, req.name)
        cur.setdefault("spec", {})["replicas"] = (body.get("spec") or {}).get("replicas", 0)
        obj = sim.store.update(req.rt, cur)
        return self.send_json(200, self.scale_of(req.rt, obj))

    # ---- patch
    def verb_patch(self, req):
        sim = self.server.sim
        rt = req.rt
        ctype = req.headers.get("Content-Type") or ""
        if req.subresource == "scale":
            cur = self.scale_of(rt, sim.store.get(rt, req.namespace, req.name))
            new = patch.apply_patch(rt, cur, ctype, req.raw)
            obj = sim.store.get(rt, req.namespace, req.name)
            obj.setdefault("spec", {})["replicas"] = (new.get("spec") or {}).get("replicas", 0)
            return self.send_json(200, self.scale_of(rt, sim.store.update(rt, obj)))
        try:
            cur = sim.store.get(rt, req.namespace, req.name)
        except errors.ApiError:
            if ctype.startswith("application/apply-patch+yaml"):
                body = patch.apply_yaml({}, req.raw)
                body.setdefault("metadata", {})["name"] = req.name
                body = self.check_body(req, body)
                obj = sim.store.create(rt, body, user=req.user, warnings=req.warnings,
                                       field_validation=self.field_validation(req), dry_run=self.dry_run(req))
                return self.out(req, 201, obj)
            raise
        new = patch.apply_patch(rt, cur, ctype, req.raw)
        if not isinstance(new, dict):
            raise errors.bad_request("patch produced a non-object")
        new.setdefault("metadata", {})
        if new["metadata"].get("name") != req.name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (new["metadata"].get("name"), req.name))
        if rt.namespaced and new["metadata"].get("namespace") != req.namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        if new.get("kind") != rt.kind or new.get("apiVersion") != rt.api_version:
            new["kind"], new["apiVersion"] = rt.kind, rt.api_version
        obj = sim.store.update(rt, new, subresource=req.subresource or None, warnings=req.warnings,
                               field_validation=self.field_validation(req), dry_run=self.dry_run(req),
                               user=req.user)
        return self.out(req, 200, obj)

    # ---- delete
    def verb_delete(self, req):
        sim = self.server.sim
        rt = req.rt
        opts = req.body if isinstance(req.body, dict) else {}
        pre = opts.get("preconditions") or {}
        dry = self.dry_run(req) or "All" in (opts.get("dryRun") or [])
        obj, gone = sim.store.delete_ex(rt, req.namespace, req.name, pre, dry)
        if gone and not (rt.group == "" and rt.resource in ("pods",)):
            d = {"name": obj["metadata"]["name"], "kind": rt.resource, "uid": obj["metadata"].get("uid")}
            if rt.group:
                d["group"] = rt.group
            return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "details": d})
        return self.out(req, 200 if not (not gone and False) else 202, obj)

    def verb_deletecollection(self, req):
        sim = self.server.sim
        rt = req.rt
        lsel = selectors.parse_label_selector(req.query.get("labelSelector", ""))
        fsel = selectors.parse_field_selector(req.query.get("fieldSelector", ""), rt)
        items = [o for o in sim.store.list(rt, req.namespace)
                 if selectors.labels_match(lsel, o["metadata"].get("labels")) and selectors.fields_match(fsel, o)]
        out = []
        for o in items:
            try:
                d, _ = sim.store.delete_ex(rt, o["metadata"].get("namespace"), o["metadata"]["name"],
                                           None, self.dry_run(req))
                out.append(d)
            except errors.ApiError:
                pass
        if rt.crd is None:
            for o in out:
                o.pop("apiVersion", None)
                o.pop("kind", None)
        return self.send_json(200, {"apiVersion": rt.api_version, "kind": rt.list_kind, "items": out,
                                    "metadata": {"resourceVersion": str(sim.store.resource_version())}})

    # ---- watch
    def verb_watch(self, req):
        sim = self.server.sim
        rt = req.rt
        store = sim.store
        q = req.query
        lsel = selectors.parse_label_selector(q.get("labelSelector", ""))
        fsel = selectors.parse_field_selector(q.get("fieldSelector", ""), rt)
        if req.name:
            fsel.append(("metadata.name", "=", req.name))
        timeout = q.get("timeoutSeconds")
        timeout = float(timeout) if timeout and timeout.replace(".", "", 1).isdigit() and float(timeout) > 0 \
            else float(sim.options.watch_timeout)
        deadline = time.time() + timeout
        bookmarks = _truthy(q.get("allowWatchBookmarks", ""))
        table = self.accept(req) == "Table"
        rv_param = q.get("resourceVersion", "")
        w = Watch()
        self.server.add_watch(w)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", self.audit_id)
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        first_table = [True]

        def matches(o):
            if o is None:
                return False
            if req.namespace and rt.namespaced and o["metadata"].get("namespace") != req.namespace:
                return False
            return selectors.labels_match(lsel, o["metadata"].get("labels")) and selectors.fields_match(fsel, o)

        def send(typ, obj):
            if table and typ not in ("ERROR", "BOOKMARK"):
                t = table_for(rt, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                              q.get("includeObject", "PartialObjectMetadata"))
                if not first_table[0]:
                    t["columnDefinitions"] = []
                first_table[0] = False
                obj = t
            line = (json.dumps({"type": typ, "object": obj}) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        def out_obj(o):
            return store._out(rt, o)

        def bookmark(rv):
            o = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(rv)}}
            if rt.crd is None:
                o["metadata"]["creationTimestamp"] = None
                if rt.zero_object:
                    o.update(copy.deepcopy(rt.zero_object))
            send("BOOKMARK", o)

        try:
            if rv_param in ("", "0"):
                items, last = store.snapshot(rt, req.namespace)
                for o in items:
                    if matches(o):
                        send("ADDED", o)
            else:
                try:
                    last = int(rv_param)
                except ValueError:
                    raise errors.bad_request('invalid resource version "%s"' % rv_param)
            next_bookmark = min(deadline - 2, time.time() + sim.options.bookmark_interval)
            epoch = 0
            seen_at = {}  # rv -> when this watch first saw the event (for watchLag faults)
            held = 0.0
            while not w.closed and not self.server.stopping:
                try:
                    evs, cur = store.events_since(rt, last)
                except errors.ApiError as e:
                    send("ERROR", {k: v for k, v in e.status().items() if k != "details"})
                    break
                lag, held = sim.faults.watch_lag(req.path), 0.0
                if lag > 0:
                    now = time.time()
                    for i, ev in enumerate(evs):
                        age = now - seen_at.setdefault(ev.rv, now)
                        if age < lag:
                            held = lag - age
                            evs = evs[:i]
                            break
                    else:
                        seen_at.clear()
                    cur = evs[-1].rv if evs else last
                for ev in evs:
                    old_m, new_m = matches(ev.prev), matches(ev.obj)
                    if ev.type == "ADDED" and new_m:
                        send("ADDED", out_obj(ev.obj))
                    elif ev.type == "MODIFIED":
                        if old_m and new_m:
                            send("MODIFIED", out_obj(ev.obj))
                        elif new_m:
                            send("ADDED", out_obj(ev.obj))
                        elif old_m:
                            send("DELETED", out_obj(ev.obj))
                    elif ev.type == "DELETED" and (old_m or new_m):
                        send("DELETED", out_obj(ev.obj))
                    last = ev.rv
                now = time.time()
                if now >= deadline:
                    break
                if bookmarks and now >= next_bookmark:
                    bookmark(max(last, cur) if not evs else last)
                    last = max(last, cur)
                    next_bookmark = min(now + sim.options.bookmark_interval,
                                        deadline - 2 if deadline - 2 > now + 0.5 else deadline + 10)
                epoch += 1
                if self.client_gone():
                    self.close_connection = True
                    return
                with store.cond:
                    if (store.rv == cur or held) and not w.closed:
                        store.cond.wait(min(held or 0.5, 0.5, max(0.01, deadline - time.time())))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except errors.ApiError as e:
            try:
                send("ERROR", e.status())
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
        finally:
            self.server.remove_watch(w)

    def client_gone(self):
        """True when the peer has closed its end (a watch client that went away without a word)."""
        import select
        conn = self.connection
        try:
            r, _, _ = select.select([conn], [], [], 0)
            if not r:
                return False
            if not isinstance(conn, ssl.SSLSocket):
                return conn.recv(1, socket.MSG_PEEK) == b""
            conn.settimeout(0)
            try:
                return conn.recv(1) == b""
            except (ssl.SSLWantReadError, BlockingIOError):
                return False
            finally:
                conn.settimeout(None)
        except (OSError, ValueError):
            return True

    # ------------------------------------------------------------ control API
    def control(self, path, query, raw):
        sim = self.server.sim
        body = json.loads(raw) if raw.strip() else {}
        if path == "/_okdsim/requests":
            if self.command == "GET":
                return self.send_json(200, sim.faults.report())
            if self.command in ("DELETE", "POST"):
                sim.faults.reset_counts()
                return self.send_json(200, {"reset": True})
        if path == "/_okdsim/requests/reset":
            sim.faults.reset_counts()
            return self.send_json(200, {"reset": True})
        if path == "/_okdsim/faults":
            if self.command == "GET":
                return self.send_json(200, {"faults": sim.faults.report()["faults"]})
            if self.command == "DELETE":
                sim.faults.clear()
                return self.send_json(200, {"cleared": True})
            if self.command == "POST":
                rules = body if isinstance(body, list) else [body]
                done = []
                for r in rules:
                    act = r.get("action")
                    if act in ("close-watches", "restart-watches"):
                        done.append({"action": act, "closed": self.server.close_watches()})
                    elif act == "compact":
                        done.append({"action": act, "resourceVersion": sim.store.compact()})
                    elif act:
                        raise errors.bad_request("unknown action %s" % act)
                    else:
                        done.append(sim.faults.add(r))
                return self.send_json(200, {"applied": done})
        if path == "/_okdsim/state" and self.command == "GET":
            return self.send_json(200, {"resourceVersion": sim.store.resource_version(),
                                        "windowStart": sim.store.window_start,
                                        "watches": len(self.server.watches)})
        self.send_json(404, errors.page_not_found().status())


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, sim, host, port, ssl_ctx=None):
        self.sim = sim
        self.ssl_ctx = ssl_ctx
        self.watches = set()
        self.wlock = threading.Lock()
        self.stopping = False
        super().__init__((host, port), ApiHandler)
        self.address = "%s:%d" % self.server_address[:2]

    def add_watch(self, w):
        with self.wlock:
            self.watches.add(w)

    def remove_watch(self, w):
        with self.wlock:
            self.watches.discard(w)

    def close_watches(self):
        with self.wlock:
            n = len(self.watches)
            for w in self.watches:
                w.closed = True
        with self.sim.store.cond:
            self.sim.store.cond.notify_all()
        return n


def make_ssl_context(cert, key, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
