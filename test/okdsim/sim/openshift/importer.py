"""ImageStreamImport (reference §3, §8): resolve each `from` against the registry with skopeo,
build Image objects (Legacy platform selection or PreserveOriginal for indexes), and update
the target stream's spec tags, tag history and ImportSuccess conditions exactly like
openshift-apiserver's imagestreamimport REST Create.

`backend` is the small storage interface from api.py: get_stream, write_stream, create_stream,
import_secrets, put_image, conflict/not_found/invalid errors, options."""
import copy
import json
import uuid

from . import keyring, refs, skopeo, streams

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LIST_TYPES = (OCI_INDEX, DOCKER_LIST)


def manifest_media_type(doc):
    mt = doc.get("mediaType")
    if mt:
        return mt
    if "manifests" in doc:
        return OCI_INDEX
    cfg = (doc.get("config") or {}).get("mediaType")
    if cfg == "application/vnd.docker.container.image.v1+json":
        return DOCKER_V2
    return OCI_MANIFEST


def select_child(index_doc, prefer_arch, prefer_os):
    """Legacy mode: the preferred platform, then amd64/linux, then the first entry."""
    manifests = index_doc.get("manifests") or []
    if not manifests:
        return None
    fallback = None
    for m in manifests:
        p = m.get("platform") or {}
        if p.get("architecture") == prefer_arch and p.get("os") == prefer_os:
            return m
        if fallback is None and p.get("architecture") == "amd64" and p.get("os") == "linux":
            fallback = m
    return fallback or manifests[0]


def image_from_manifest(repo_ref, digest, raw, doc, config_raw):
    """An image.openshift.io/v1 Image for a single-platform manifest."""
    cfg = {}
    if config_raw:
        try:
            cfg = json.loads(config_raw)
        except ValueError:
            cfg = {}
    layers = [{"name": l.get("digest", ""), "size": l.get("size", 0),
               "mediaType": l.get("mediaType", "")} for l in doc.get("layers") or []]
    cdesc = doc.get("config") or {}
    meta = {"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0",
            "Id": cdesc.get("digest", ""), "Created": cfg.get("created") or None,
            "ContainerConfig": cfg.get("container_config") or {},
            "Config": cfg.get("config") or {},
            "Architecture": cfg.get("architecture", ""),
            "Size": sum(l["size"] for l in layers) + int(cdesc.get("size") or 0)}
    for src, dst in (("author", "Author"), ("comment", "Comment"),
                     ("docker_version", "DockerVersion"), ("container", "Container"),
                     ("parent", "Parent")):
        if cfg.get(src):
            meta[dst] = cfg[src]
    ref = repo_ref.copy()
    ref.tag, ref.id = "", digest
    return {"metadata": {"name": digest,
                         "annotations": {"image.openshift.io/dockerLayersOrder": "ascending"}},
            "dockerImageReference": ref.exact(),
            "dockerImageMetadata": meta,
            "dockerImageMetadataVersion": "1.0",
            "dockerImageLayers": layers,
            "dockerImageManifestMediaType": manifest_media_type(doc),
            "_manifest": raw, "_config": config_raw}


def image_from_index(repo_ref, digest, raw, doc):
    """PreserveOriginal: the index itself, with dockerImageManifests and no layers."""
    ref = repo_ref.copy()
    ref.tag, ref.id = "", digest
    manifests = []
    for m in doc.get("manifests") or []:
        p = m.get("platform") or {}
        manifests.append({"digest": m.get("digest", ""), "mediaType": m.get("mediaType", ""),
                          "manifestSize": m.get("size", 0),
                          "architecture": p.get("architecture", ""), "os": p.get("os", ""),
                          "variant": p.get("variant", "")})
    return {"metadata": {"name": digest},
            "dockerImageReference": ref.exact(),
            "dockerImageMetadata": {"kind": "DockerImage",
                                    "apiVersion": "image.openshift.io/1.0",
                                    "Created": None, "ContainerConfig": {}},
            "dockerImageMetadataVersion": "1.0",
            "dockerImageManifestMediaType": manifest_media_type(doc),
            "dockerImageManifests": manifests,
            "_manifest": raw, "_config": None}


class Importer:
    """Fetches and converts one `from` reference; caches per request like the real importer
    (the key includes importMode and platform preference)."""

    def __init__(self, backend, namespace, secrets):
        self.backend = backend
        self.namespace = namespace
        self.keyring = keyring.Keyring(secrets)
        self.cache = {}

    def _client(self, insecure, use_creds, defaulted):
        creds = self.keyring.lookup(defaulted) if use_creds else None
        opts = self.backend.options
        return skopeo.Client(insecure=insecure, creds=creds,
                             cert_dir=getattr(opts, "_registry_cert_dir", None),
                             log=self.backend.log)

    def import_one(self, from_name, insecure, mode, prefer, use_creds=True):
        """Returns (image, child_images) or raises skopeo.ImportFailure."""
        key = (from_name, insecure, mode, prefer, use_creds)
        if key in self.cache:
            res = self.cache[key]
            if isinstance(res, skopeo.ImportFailure):
                raise res
            return copy.deepcopy(res)
        try:
            res = self._import(from_name, insecure, mode, prefer, use_creds)
        except skopeo.ImportFailure as e:
            self.cache[key] = e
            raise
        self.cache[key] = res
        return copy.deepcopy(res)

    def _import(self, from_name, insecure, mode, prefer, use_creds):
        ref = refs.parse(from_name)
        exact = ref.exact()
        defaulted = ref.docker_client_defaults()
        host = defaulted.registry_host()
        repo_conn = host + "/" + "/".join(p for p in (defaulted.namespace, defaulted.name) if p)
        client = self._client(insecure, use_creds, defaulted)
        want = ref.id or defaulted.tag
        raw = client.manifest(repo_conn, want, host, exact)
        digest = skopeo.digest_of(raw)
        if ref.id and digest != ref.id:
            raise skopeo.ImportFailure(skopeo.internal_error(
                exact, "content integrity error: the manifest retrieved with digest %s does "
                       "not match the digest calculated from the content %s" % (ref.id, digest)))
        try:
            doc = json.loads(raw)
        except ValueError:
            raise skopeo.ImportFailure(skopeo.internal_error(exact, "invalid manifest"))
        mt = manifest_media_type(doc)
        repo_ref = ref.copy()
        if mt in LIST_TYPES:
            if mode == "PreserveOriginal":
                children = []
                for m in doc.get("manifests") or []:
                    craw = client.manifest(repo_conn, m["digest"], host, exact)
                    cdoc = json.loads(craw)
                    cfg = client.config(repo_conn, m["digest"], host, exact)
                    children.append(image_from_manifest(repo_ref, m["digest"], craw, cdoc, cfg))
                return image_from_index(repo_ref, digest, raw, doc), children
            child = select_child(doc, prefer[0], prefer[1])
            if child is None:
                raise skopeo.ImportFailure(skopeo.internal_error(
                    exact, "the manifest list is empty"))
            craw = client.manifest(repo_conn, child["digest"], host, exact)
            cdigest = skopeo.digest_of(craw)
            if cdigest != child["digest"]:
                raise skopeo.ImportFailure(skopeo.internal_error(
                    exact, "content integrity error"))
            cdoc = json.loads(craw)
            cfg = client.config(repo_conn, cdigest, host, exact)
            return image_from_manifest(repo_ref, cdigest, craw, cdoc, cfg), []
        if doc.get("schemaVersion") == 1:
            raise skopeo.ImportFailure(skopeo.internal_error(
                exact, "schema 1 manifests are not supported by okdsim"))
        cfg = client.config(repo_conn, digest, host, exact)
        return image_from_manifest(repo_ref, digest, raw, doc, cfg), []


# ------------------------------------------------------------------------------------------


def public_image(img, include_manifest=False):
    """Strip private fields; with includeManifest keep the manifest and config as strings."""
    out = {k: v for k, v in img.items() if not k.startswith("_")}
    if include_manifest:
        if img.get("_manifest"):
            out["dockerImageManifest"] = img["_manifest"].decode(errors="replace") \
                if isinstance(img["_manifest"], bytes) else img["_manifest"]
        if img.get("_config"):
            out["dockerImageConfig"] = img["_config"].decode(errors="replace") \
                if isinstance(img["_config"], bytes) else img["_config"]
    return out


def normalize_isi_spec(spec, default_mode):
    """Defaults of the request (SetDefaults_ImageImportSpec, TagImportPolicy, reference policy)
    and validation causes."""
    spec = copy.deepcopy(spec) if isinstance(spec, dict) else {}
    causes = []
    images = []
    for i, im in enumerate(spec.get("images") or []):
        im = dict(im or {})
        frm = dict(im.get("from") or {})
        path = "spec.images[%d]" % i
        parsed = None
        if frm.get("kind") != "DockerImage":
            causes.append({"reason": "FieldValueInvalid", "field": path + ".from.kind",
                           "message": 'Invalid value: "%s": only DockerImage is supported'
                                      % frm.get("kind", "")})
        elif not frm.get("name"):
            causes.append({"reason": "FieldValueRequired", "field": path + ".from.name",
                           "message": "Required value"})
        else:
            try:
                parsed = refs.parse(frm["name"])
            except refs.RefError as e:
                causes.append({"reason": "FieldValueInvalid", "field": path + ".from.name",
                               "message": 'Invalid value: "%s": %s' % (frm["name"], e)})
        out = {"from": {k: v for k, v in frm.items() if v not in ("", None)}}
        to = im.get("to")
        if to is None and parsed is not None and parsed.tag:
            to = {"name": parsed.tag}
        if to is not None:
            to = dict(to)
            if not to.get("name"):
                causes.append({"reason": "FieldValueRequired", "field": path + ".to.name",
                               "message": "Required value"})
            out["to"] = to
        out["importPolicy"] = streams.normalize_import_policy(im.get("importPolicy"),
                                                              default_mode)
        causes += streams.validate_import_policy(out["importPolicy"], path + ".importPolicy")
        out["referencePolicy"] = streams.normalize_reference_policy(im.get("referencePolicy"))
        if im.get("includeManifest"):
            out["includeManifest"] = True
        images.append(out)
    spec["images"] = images
    if not images:
        spec.pop("images")
    if spec.get("repository"):
        causes.append({"reason": "FieldValueInvalid", "field": "spec.repository",
                       "message": "Invalid value: repository imports are not supported by "
                                  "okdsim"})
    if not images and not spec.get("repository"):
        causes.append({"reason": "FieldValueRequired", "field": "spec.images",
                       "message": "Required value: you must specify at least one image or a "
                                  "repository import"})
    spec["import"] = bool(spec.get("import"))
    return spec, causes


def ensure_spec_tag(stream, tag, from_name, import_policy, reference_policy, reset):
    """ensureSpecTag: create the spec tag, or with reset point it at from_name with
    generation 0 (so the write gives it the new generation)."""
    spec = stream.setdefault("spec", {})
    tags = spec.setdefault("tags", [])
    existing = None
    for t in tags:
        if t.get("name") == tag:
            existing = t
    if existing is not None and not reset:
        return existing
    if existing is None:
        existing = streams.normalize_tag({"name": tag})
        tags.append(existing)
        tags.sort(key=lambda t: t.get("name", ""))
    existing["from"] = {"kind": "DockerImage", "name": from_name}
    existing["generation"] = 0
    existing["importPolicy"] = dict(import_policy)
    if not (existing.get("referencePolicy") or {}).get("type"):
        existing["referencePolicy"] = dict(reference_policy)
    return existing


def _embedded(obj):
    """An object embedded in another carries no kind/apiVersion."""
    obj = copy.deepcopy(obj)
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    return obj


def run_import(backend, namespace, isi, user="system:admin"):
    """Execute an ImageStreamImport; returns the response object (HTTP 201).
    Raises the backend's ApiError for 404/409/422."""
    opts = backend.options
    default_mode = getattr(opts, "image_stream_import_mode", "Legacy") or "Legacy"
    md = dict(isi.get("metadata") or {})
    name = md.get("name", "")
    spec, causes = normalize_isi_spec(isi.get("spec"), default_mode)
    if not name:
        causes.insert(0, {"reason": "FieldValueRequired", "field": "metadata.name",
                          "message": "Required value: name or generateName is required"})
    if causes:
        raise backend.invalid_isi(name, causes)

    stream = backend.get_stream(namespace, name)
    rv, uid = md.get("resourceVersion") or "", md.get("uid") or ""
    create = False
    if stream is None:
        if rv or uid:
            raise backend.stream_not_found(name)
        if spec["import"]:
            create = True
            stream = streams.normalize_stream({
                "apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": name, "namespace": namespace}, "spec": {}, "status": {}},
                default_mode)
    else:
        if uid and uid != stream["metadata"].get("uid"):
            raise backend.stream_not_found(name)
        if rv and rv != stream["metadata"].get("resourceVersion"):
            raise backend.stream_conflict(name, rv, stream["metadata"].get("resourceVersion"))

    secrets = backend.import_secrets(namespace)
    imp = Importer(backend, namespace, secrets)
    now = streams.now_rfc3339()
    old = copy.deepcopy(stream) if stream is not None else None
    work = copy.deepcopy(stream) if stream is not None else None
    next_gen = ((work or {}).get("metadata", {}).get("generation") or 0) + 1
    insecure_stream = ((work or {}).get("metadata", {}).get("annotations") or {}).get(
        streams.INSECURE_ANNOTATION) == "true"
    statuses = []
    changed = False
    results = []

    def do_imports(use_creds):
        out = []
        for im in spec.get("images") or []:
            to = (im.get("to") or {}).get("name")
            prefer = (getattr(opts, "prefer_arch", "amd64"), getattr(opts, "prefer_os", "linux"))
            if work is not None and to:
                st = refs.find_spec_tag(work, to)
                ann = (st or {}).get("annotations") or {}
                prefer = (ann.get(streams.PREFER_ARCH) or prefer[0],
                          ann.get(streams.PREFER_OS) or prefer[1])
            insecure = bool(im["importPolicy"].get("insecure")) or insecure_stream
            try:
                out.append(imp.import_one(im["from"]["name"], insecure,
                                          im["importPolicy"]["importMode"], prefer, use_creds))
            except skopeo.ImportFailure as e:
                out.append(e)
        return out

    results = do_imports(True)
    # PR #18012: a 401 that names username or password retries everything without credentials
    if any(isinstance(r, skopeo.ImportFailure) and r.status.get("code") == 401 and
           "username or password" in r.status.get("message", "") for r in results):
        results = do_imports(False)

    for i, im in enumerate(spec.get("images") or []):
        res = results[i]
        to = (im.get("to") or {}).get("name")
        from_name = im["from"]["name"]
        if isinstance(res, skopeo.ImportFailure):
            try:
                tag = refs.parse(from_name).tag
            except refs.RefError:
                tag = ""
            entry = {"status": res.status}
            if tag or to:
                entry["tag"] = tag or to
            statuses.append(entry)
            if spec["import"] and to:
                if refs.find_spec_tag(work, to) is None:
                    ensure_spec_tag(work, to, from_name, im["importPolicy"],
                                    im["referencePolicy"], False)
                    changed = True
                if streams.set_failure_condition(work, to, res.status, next_gen, now):
                    changed = True
            continue
        image, children = res
        if spec["import"]:
            stored = backend.put_image(public_image(image))
            image_md = stored.get("metadata", {})
        else:
            image_md = dict(image["metadata"])
            image_md["creationTimestamp"] = None
        shown = public_image(image, include_manifest=im.get("includeManifest") and
                             not spec["import"])
        shown["metadata"] = dict(image_md)
        entry = {"status": {"metadata": {}, "status": "Success"}, "image": shown}
        if children:
            kids = []
            for c in children:
                if spec["import"]:
                    s = backend.put_image(public_image(c))
                    c2 = public_image(c)
                    c2["metadata"] = s.get("metadata", {})
                else:
                    c2 = public_image(c)
                kids.append(c2)
            entry["manifests"] = kids
        if to:
            entry["tag"] = to
        statuses.append(entry)
        if not spec["import"] or not to:
            continue
        event = {"created": now, "dockerImageReference": image["dockerImageReference"],
                 "image": image["metadata"]["name"], "generation": next_gen}
        spec_tag = refs.find_spec_tag(work, to)
        tag_changed = (streams.different_tag_event(work, to, event) or
                       streams.different_tag_generation(work, to))
        if tag_changed or spec_tag is None:
            spec_tag = ensure_spec_tag(work, to, from_name, im["importPolicy"],
                                       im["referencePolicy"], True)
            streams.add_tag_event(work, to, event)
            changed = True
        if spec_tag.get("importPolicy") != im["importPolicy"]:
            spec_tag["importPolicy"] = dict(im["importPolicy"])
            changed = True

    response = {"kind": "ImageStreamImport", "apiVersion": "image.openshift.io/v1",
                "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                             "creationTimestamp": now},
                "spec": spec, "status": {"images": statuses}}
    if not spec["import"]:
        return response
    has_check = streams.CHECK_ANNOTATION in ((work.get("metadata") or {}).get("annotations")
                                             or {})
    if not changed and has_check and not create:
        response["status"]["import"] = _embedded(old)
        return response
    work["metadata"].setdefault("annotations", {})
    if work["metadata"]["annotations"] is None:
        work["metadata"]["annotations"] = {}
    work["metadata"]["annotations"][streams.CHECK_ANNOTATION] = now
    if create:
        stored = backend.create_stream(work, user)
    else:
        stored = backend.write_stream(work, old)
    response["status"]["import"] = _embedded(stored)
    return response
