"""image.openshift.io/v1 served by okdsim: the ImageStream type and its hooks, the virtual
resources (imagestreamtags, imagetags, imagestreamimports, images), the imagestreams/secrets
subresource, and the Backend the importer and the controllers write through.

Writes go through sim.store so they get resourceVersions and watch events like API writes.
An ImageStream write that must change spec and status together (an import) passes the wanted
status through a thread-local that the update hook applies, so one import is one
MODIFIED event, as on a real server."""
import copy
import json
import os
import threading
import uuid

from .. import errors, patch
from ..resources import ResourceType, age, table_for
from . import importer, keyring, refs, streams

GROUP = "image.openshift.io"
VERSION = "v1"
API_VERSION = GROUP + "/" + VERSION

_tls = threading.local()


def _opts(sim):
    return sim.options


def default_mode(sim):
    return getattr(sim.options, "image_stream_import_mode", "Legacy") or "Legacy"


def internal_registry(sim):
    return getattr(sim.options, "internal_registry_hostname", "") or ""


def public_registry(sim):
    return getattr(sim.options, "external_registry_hostname", "") or ""


# ------------------------------------------------------------------------------------------
# ImageStream hooks


def _invalid_stream(name, causes):
    parts = ["%s: %s" % (c["field"], c["message"]) for c in causes]
    agg = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return errors.ApiError(422, "Invalid", 'ImageStream.image.openshift.io "%s" is invalid: %s'
                           % (name, agg), {"name": name, "group": GROUP, "kind": "ImageStream",
                                           "causes": causes})


def _lookup_stream_fn(sim):
    rt = stream_type(sim)

    def lookup(ns, name):
        return sim.store.get_or_none(rt, ns, name)
    return lookup


def stream_on_create(sim, obj):
    forced = getattr(_tls, "status", None)
    streams.normalize_stream(obj, default_mode(sim))
    causes = streams.validate_stream(obj)
    if causes:
        raise _invalid_stream(obj.get("metadata", {}).get("name", ""), causes)
    streams.prepare_for_create(obj)
    obj["status"] = copy.deepcopy(forced) if forced is not None else {}
    streams.normalize_stream(obj, default_mode(sim))
    if forced is None:
        streams.apply_spec_driven_status(obj, None, _lookup_stream_fn(sim),
                                         streams.now_rfc3339())
    streams.decorate(obj, internal_registry(sim), public_registry(sim))


def stream_on_update(sim, old, new):
    forced = getattr(_tls, "status", None)
    streams.normalize_stream(new, default_mode(sim))
    causes = streams.validate_stream(new)
    if causes:
        raise _invalid_stream(new.get("metadata", {}).get("name", ""), causes)
    oldn = streams.normalize_stream(copy.deepcopy(old), default_mode(sim))
    streams.prepare_for_update(new, oldn)
    if forced is not None:
        new["status"] = copy.deepcopy(forced)
        streams.normalize_stream(new, default_mode(sim))
    streams.apply_spec_driven_status(new, oldn, _lookup_stream_fn(sim), streams.now_rfc3339())
    streams.decorate(new, internal_registry(sim), public_registry(sim))


def stream_bumps_generation(old, new):
    return (new.get("metadata") or {}).get("generation", 0) > \
        (old.get("metadata") or {}).get("generation", 0)


def stream_row(o):
    tags = [t.get("tag") for t in (o.get("status") or {}).get("tags") or [] if t.get("items")]
    updated = ""
    latest = None
    for t in (o.get("status") or {}).get("tags") or []:
        for it in (t.get("items") or [])[:1]:
            if it.get("created") and (latest is None or it["created"] > latest):
                latest = it["created"]
    if latest:
        updated = age({"metadata": {"creationTimestamp": latest}})
    return [(o.get("status") or {}).get("dockerImageRepository", ""), ",".join(tags), updated]


def _col(name, desc=""):
    return {"name": name, "type": "string", "format": "", "description": desc, "priority": 0}


_TYPES = {}


def stream_type(sim):
    return _TYPES["imagestreams"]


def make_stream_type():
    rt = ResourceType(
        group=GROUP, version=VERSION, resource="imagestreams", kind="ImageStream",
        namespaced=True, short_names=["is"], categories=["all"], subresources=["status"],
        has_generation=True, bumps_generation=stream_bumps_generation,
        on_create=stream_on_create, on_update=stream_on_update, strategic_merge=True,
        table=stream_row,
        table_columns=[_col("Image Repository"), _col("Tags"), _col("Updated")])
    # imageStreamFieldSelectorKeyConversionFunc (reference §1)
    rt.field_selectors = ("spec.dockerImageRepository", "status.dockerImageRepository")
    return rt


# ------------------------------------------------------------------------------------------
# Images (cluster-scoped, kept in memory and next to the --state file)


class ImageStore:
    def __init__(self, sim):
        self.sim = sim
        self.lock = threading.Lock()
        self.images = {}
        self.path = None
        state = getattr(sim.options, "state", None)
        if state:
            self.path = state + ".images.json"
            try:
                with open(self.path) as f:
                    self.images = json.load(f)
            except (OSError, ValueError):
                self.images = {}

    def _save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.images, f)
        os.replace(tmp, self.path)

    def put(self, image):
        name = image["metadata"]["name"]
        with self.lock:
            cur = self.images.get(name)
            if cur is not None:
                # like the real imagecreater on AlreadyExists: the existing identity, no rv
                out = copy.deepcopy(cur)
                out["metadata"].pop("resourceVersion", None)
                return out
            img = copy.deepcopy(image)
            img["kind"] = "Image"
            img["apiVersion"] = API_VERSION
            md = img.setdefault("metadata", {})
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = streams.now_rfc3339()
            md["resourceVersion"] = str(self.sim.store.resource_version())
            self.images[name] = img
            self._save()
            return copy.deepcopy(img)

    def get(self, name):
        with self.lock:
            img = self.images.get(name)
            return copy.deepcopy(img) if img is not None else None

    def list(self):
        with self.lock:
            return [copy.deepcopy(self.images[k]) for k in sorted(self.images)]


# ------------------------------------------------------------------------------------------
# Backend used by the importer and controllers


class Backend:
    def __init__(self, sim, images):
        self.sim = sim
        self.images = images
        self.options = sim.options

    def log(self, fmt, *args):
        if getattr(self.sim.options, "verbose", False):
            self.sim.log(fmt, *args)

    @property
    def rt(self):
        return stream_type(self.sim)

    def get_stream(self, ns, name):
        return self.sim.store.get_or_none(self.rt, ns, name)

    def list_streams(self, ns=None):
        return self.sim.store.list(self.rt, ns)

    def write_stream(self, new, old):
        """One update carrying spec and status; the rv in new must still be current."""
        _tls.status = copy.deepcopy(new.get("status") or {})
        try:
            return self.sim.store.update(self.rt, new)
        finally:
            _tls.status = None

    def create_stream(self, new, user="system:admin"):
        _tls.status = copy.deepcopy(new.get("status") or {})
        try:
            return self.sim.store.create(self.rt, new, user=user)
        finally:
            _tls.status = None

    def import_secrets(self, ns):
        srt = self.sim.registry.by_resource("", "secrets")
        return keyring.import_secrets(self.sim.store.list(srt, ns))

    def put_image(self, image):
        return self.images.put(image)

    def stream_not_found(self, name):
        return errors.not_found(self.rt, name)

    def stream_conflict(self, name, want, have):
        return errors.ApiError(
            409, "Conflict", 'Operation cannot be fulfilled on imagestream.image.openshift.io '
            '"%s": the image stream was updated from "%s" to "%s"' % (name, want, have),
            {"name": name, "group": GROUP, "kind": "imagestream"})

    def invalid_isi(self, name, causes):
        parts = ["%s: %s" % (c["field"], c["message"]) for c in causes]
        agg = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        return errors.ApiError(422, "Invalid", 'ImageStreamImport.image.openshift.io "%s" is '
                               'invalid: %s' % (name, agg),
                               {"name": name, "group": GROUP, "kind": "ImageStreamImport",
                                "causes": causes})

    def run_import(self, ns, isi, user="system:admin"):
        return importer.run_import(self, ns, isi, user)

    # ---- ImageStreamTag / ImageTag views
    def istag(self, stream, tag, allow_empty=False):
        """newISTag: None when there is no image (unless allow_empty)."""
        ev = refs.latest_tag_event(stream, tag)
        image = None
        if ev is not None and ev.get("image"):
            image = self.images.get(ev["image"])
        if image is None and not allow_empty:
            return None
        md = stream["metadata"]
        spec_tag = refs.find_spec_tag(stream, tag)
        out = {"kind": "ImageStreamTag", "apiVersion": API_VERSION,
               "metadata": {"name": "%s:%s" % (md["name"], tag), "namespace": md.get("namespace"),
                            "uid": md.get("uid"), "resourceVersion": md.get("resourceVersion"),
                            "creationTimestamp": (ev or {}).get("created") or
                            md.get("creationTimestamp")},
               "tag": copy.deepcopy(spec_tag) if spec_tag is not None else None,
               "generation": (ev or {}).get("generation") or 0,
               "lookupPolicy": copy.deepcopy((stream.get("spec") or {}).get("lookupPolicy") or
                                             {"local": False})}
        if md.get("labels"):
            out["metadata"]["labels"] = dict(md["labels"])
        if spec_tag is not None and spec_tag.get("annotations"):
            out["metadata"]["annotations"] = dict(spec_tag["annotations"])
        st = refs.find_status_tag(stream, tag)
        if st and st.get("conditions"):
            out["conditions"] = copy.deepcopy(st["conditions"])
        if image is not None:
            img = copy.deepcopy(image)
            img.pop("kind", None)
            img.pop("apiVersion", None)
            img.pop("dockerImageManifest", None)
            img.pop("dockerImageConfig", None)
            img["dockerImageReference"] = refs.resolve_reference_for_tag_event(
                stream, tag, ev, internal_registry(self.sim))
            if spec_tag is not None and spec_tag.get("annotations"):
                img["metadata"].setdefault("annotations", {}).update(spec_tag["annotations"])
            out["image"] = img
        else:
            out["image"] = None
        return out


# ------------------------------------------------------------------------------------------
# HTTP handlers for the virtual resources. handler(sim, req) -> (code, body)


def _istag_rt(sim):
    return _TYPES["imagestreamtags"]


def _split_istag_or_400(name, what="ImageStreamTags"):
    try:
        return refs.parse_istag_name(name)
    except refs.RefError:
        raise errors.bad_request("%s must be retrieved with <name>:<tag>" % what)


def _wants_table(req):
    return any("as=Table" in part for part in (req.headers.get("Accept") or "").split(","))


def _maybe_table(req, rt, items, rv):
    """Server-side printing (kubectl get asks for a Table) for the virtual resources."""
    if not _wants_table(req):
        return None
    return table_for(rt, items, {"resourceVersion": rv},
                     (req.query or {}).get("includeObject", "PartialObjectMetadata"))


def istag_row(o):
    img = o.get("image") or {}
    return [img.get("dockerImageReference", ""), age(o),
            (img.get("metadata") or {}).get("name", "")]


def image_row(o):
    return [o.get("dockerImageReference", "")]


def make_handlers(sim, backend):
    def istag_get(sim_, req):
        name, tag = _split_istag_or_400(req.name)
        stream = sim.store.get(stream_type(sim), req.namespace, name)
        out = backend.istag(stream, tag)
        if out is None:
            raise errors.not_found(_istag_rt(sim), req.name)
        t = _maybe_table(req, _istag_rt(sim), [out], out["metadata"]["resourceVersion"])
        return 200, t or out

    def istag_list(sim_, req):
        items = []
        for s in backend.list_streams(req.namespace or None):
            for st in (s.get("status") or {}).get("tags") or []:
                it = backend.istag(s, st.get("tag"))
                if it is not None:
                    it.pop("kind", None)
                    it.pop("apiVersion", None)
                    items.append(it)
        rv = str(sim.store.resource_version())
        t = _maybe_table(req, _istag_rt(sim), items, rv)
        return 200, t or {"kind": "ImageStreamTagList", "apiVersion": API_VERSION,
                          "metadata": {"resourceVersion": rv}, "items": items}

    def istag_put(sim_, req):
        return put_istag(req, req.body if isinstance(req.body, dict) else {})

    def istag_patch(sim_, req):
        """PATCH = GET (with or without an image), apply the patch, PUT."""
        name, tag = _split_istag_or_400(req.name)
        stream = sim.store.get(stream_type(sim), req.namespace, name)
        if refs.find_spec_tag(stream, tag) is None and refs.find_status_tag(stream, tag) is None:
            raise errors.not_found(_istag_rt(sim), req.name)
        cur = backend.istag(stream, tag, allow_empty=True)
        new = patch.apply_patch(_istag_rt(sim), cur, req.headers.get("Content-Type") or "",
                                req.raw)
        if not isinstance(new, dict):
            raise errors.bad_request("patch produced a non-object")
        return put_istag(req, new)

    def put_istag(req, body):
        name, tag = _split_istag_or_400(req.name)
        if (body.get("metadata") or {}).get("name") not in (None, "", req.name):
            raise errors.bad_request("the name of the object (%s) does not match the name on the"
                                     " URL (%s)" % (body["metadata"]["name"], req.name))
        rt = stream_type(sim)
        stream = sim.store.get_or_none(rt, req.namespace, name)
        create = stream is None
        if create:
            stream = {"apiVersion": API_VERSION, "kind": "ImageStream",
                      "metadata": {"name": name, "namespace": req.namespace}, "spec": {}}
        want_rv = (body.get("metadata") or {}).get("resourceVersion")
        if want_rv:
            if create:
                raise errors.not_found(_istag_rt(sim), req.name)
            if want_rv != stream["metadata"].get("resourceVersion"):
                raise errors.conflict(_istag_rt(sim), req.name,
                                      "another caller has updated the resource version to %s"
                                      % stream["metadata"].get("resourceVersion"))
        tags = (stream.setdefault("spec", {}).get("tags")) or []
        existing = None
        for t in tags:
            if t.get("name") == tag:
                existing = t
        if body.get("tag") is not None:
            ref = copy.deepcopy(body["tag"])
            ref["name"] = tag
            tags = [t for t in tags if t.get("name") != tag] + [ref]
        elif existing is None:
            tags = tags + [{"name": tag}]
        ann = (body.get("metadata") or {}).get("annotations")
        for t in tags:
            if t.get("name") == tag:
                t["annotations"] = ann or None
        stream["spec"]["tags"] = tags
        stream["spec"]["lookupPolicy"] = body.get("lookupPolicy") or {"local": False}
        if create:
            new = sim.store.create(rt, stream, user=req.user or "system:admin")
        else:
            new = sim.store.update(rt, stream)
        out = backend.istag(new, tag, allow_empty=True)
        return (201 if existing is None else 200), out

    def istag_delete(sim_, req):
        name, tag = _split_istag_or_400(req.name)
        rt = stream_type(sim)
        stream = sim.store.get(rt, req.namespace, name)
        spec_tags = (stream.get("spec") or {}).get("tags") or []
        st_tags = (stream.get("status") or {}).get("tags") or []
        if not any(t.get("name") == tag for t in spec_tags) and \
                not any(t.get("tag") == tag for t in st_tags):
            raise errors.not_found(_istag_rt(sim), req.name)
        stream["spec"]["tags"] = [t for t in spec_tags if t.get("name") != tag]
        status = copy.deepcopy(stream.get("status") or {})
        status["tags"] = [t for t in st_tags if t.get("tag") != tag]
        stream["status"] = status
        backend.write_stream(stream, None)
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": {"name": req.name, "group": GROUP, "kind": "imagestreamtags"}}

    def itag(stream, tag, with_image):
        spec_tag = refs.find_spec_tag(stream, tag)
        st = refs.find_status_tag(stream, tag)
        if spec_tag is None and st is None:
            return None
        md = copy.deepcopy(stream["metadata"])
        md["name"] = "%s:%s" % (md["name"], tag)
        md.pop("managedFields", None)
        out = {"kind": "ImageTag", "apiVersion": API_VERSION, "metadata": md,
               "spec": copy.deepcopy(spec_tag), "status": copy.deepcopy(st)}
        if with_image:
            ist = backend.istag(stream, tag)
            out["image"] = ist["image"] if ist else None
        return out

    def itag_get(sim_, req):
        name, tag = _split_istag_or_400(req.name, "ImageTags")
        stream = sim.store.get(stream_type(sim), req.namespace, name)
        out = itag(stream, tag, True)
        if out is None:
            raise errors.not_found(_TYPES["imagetags"], req.name)
        return 200, out

    def itag_list(sim_, req):
        items = []
        for s in backend.list_streams(req.namespace or None):
            names = sorted({t.get("name") for t in (s.get("spec") or {}).get("tags") or []} |
                           {t.get("tag") for t in (s.get("status") or {}).get("tags") or []})
            for n in names:
                it = itag(s, n, False)
                if it is not None:
                    it.pop("kind", None)
                    it.pop("apiVersion", None)
                    items.append(it)
        return 200, {"kind": "ImageTagList", "apiVersion": API_VERSION,
                     "metadata": {"resourceVersion": str(sim.store.resource_version())},
                     "items": items}

    def isi_create(sim_, req):
        body = req.body if isinstance(req.body, dict) else {}
        md = body.setdefault("metadata", {})
        if md.get("namespace") and md["namespace"] != req.namespace:
            raise errors.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        if (getattr(req, "query", None) or {}).get("dryRun") == "All":
            body.setdefault("spec", {})["import"] = False
        return 201, backend.run_import(req.namespace, body, req.user or "system:admin")

    def image_get(sim_, req):
        img = backend.images.get(req.name)
        if img is None:
            raise errors.not_found(_TYPES["images"], req.name)
        t = _maybe_table(req, _TYPES["images"], [img], img["metadata"].get("resourceVersion", ""))
        return 200, t or img

    def image_list(sim_, req):
        rv = str(sim.store.resource_version())
        items = backend.images.list()
        t = _maybe_table(req, _TYPES["images"], items, rv)
        return 200, t or {"kind": "ImageList", "apiVersion": API_VERSION,
                          "metadata": {"resourceVersion": rv}, "items": items}

    def secrets_get(sim_, req):
        if req.method != "GET":
            raise errors.ApiError(405, "MethodNotAllowed", "%s is not supported on resources of "
                                  "kind \"imagestreams/secrets\"" % req.method, {})
        # like imagesecret REST Get: the stream itself is not looked up
        items = []
        for s in backend.import_secrets(req.namespace):
            s.pop("kind", None)
            s.pop("apiVersion", None)
            items.append(s)
        return 200, {"kind": "SecretList", "apiVersion": API_VERSION,
                     "metadata": {"resourceVersion": str(sim.store.resource_version())},
                     "items": items}
    secrets_get.kind = "SecretList"
    secrets_get.verbs = ["get"]

    return {"istag": {"get": istag_get, "list": istag_list, "update": istag_put,
                      "patch": istag_patch, "delete": istag_delete},
            "itag": {"get": itag_get, "list": itag_list},
            "isi": {"create": isi_create},
            "images": {"get": image_get, "list": image_list},
            "secrets": secrets_get}


def register(sim, backend):
    # spec.tags carries patchMergeKey=name,patchStrategy=merge (reference §1.1)
    patch.MERGE_KEYS.setdefault("tags", "name")
    h = make_handlers(sim, backend)
    _TYPES["imagestreams"] = make_stream_type()
    _TYPES["imagestreamtags"] = ResourceType(
        group=GROUP, version=VERSION, resource="imagestreamtags", kind="ImageStreamTag",
        namespaced=True, short_names=["istag"], verbs=["create", "delete", "get", "list",
                                                        "patch", "update"],
        handlers=h["istag"], storage=False, strategic_merge=True, table=istag_row,
        table_columns=[_col("Image Reference"), _col("Updated"),
                       dict(_col("Image Name"), priority=1)])
    _TYPES["imagetags"] = ResourceType(
        group=GROUP, version=VERSION, resource="imagetags", kind="ImageTag", namespaced=True,
        short_names=["itag"], verbs=["create", "delete", "get", "list", "patch", "update"],
        handlers=h["itag"], storage=False, strategic_merge=False)
    _TYPES["imagestreamimports"] = ResourceType(
        group=GROUP, version=VERSION, resource="imagestreamimports", kind="ImageStreamImport",
        namespaced=True, verbs=["create"], handlers=h["isi"], storage=False,
        strategic_merge=False)
    _TYPES["images"] = ResourceType(
        group=GROUP, version=VERSION, resource="images", kind="Image", namespaced=False,
        verbs=["get", "list"], handlers=h["images"], storage=False, strategic_merge=False,
        table=image_row, table_columns=[_col("Image Reference")])
    for rt in _TYPES.values():
        sim.register_type(rt)
    sim.register_subresource(GROUP, "imagestreams", "secrets", h["secrets"])
    return _TYPES
