"""ImageStream semantics (reference §1): defaulting, tag sorting and last-wins dedupe, the
spec-tag generation rules of PrepareForCreate/prepareForUpdate, validation, the tag-event
history rules (AddTagEventToImageStream), ImportSuccess conditions, reference tags and tags
that track another ImageStreamTag. Pure functions on dicts; no I/O."""
import copy
import datetime

from . import refs

CHECK_ANNOTATION = "openshift.io/image.dockerRepositoryCheck"
INSECURE_ANNOTATION = "openshift.io/image.insecureRepository"
PREFER_ARCH = "importer.image.openshift.io/prefer-arch"
PREFER_OS = "importer.image.openshift.io/prefer-os"
IMPORT_MODES = ("Legacy", "PreserveOriginal")
FROM_KINDS = ("DockerImage", "ImageStreamTag", "ImageStreamImage")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------
# Defaulting and canonical shape


def normalize_import_policy(p, default_mode="Legacy"):
    p = dict(p or {})
    out = {}
    if p.get("insecure"):
        out["insecure"] = True
    if p.get("scheduled"):
        out["scheduled"] = True
    out["importMode"] = p.get("importMode") or default_mode
    return out


def normalize_reference_policy(p):
    p = dict(p or {})
    return {"type": p.get("type") or "Source"}


def normalize_tag(t, default_mode="Legacy"):
    """A spec TagReference in the shape the server returns."""
    t = copy.deepcopy(t) if isinstance(t, dict) else {}
    out = {"name": t.get("name", "")}
    out["annotations"] = t.get("annotations") or None
    if t.get("from") is not None:
        out["from"] = {k: v for k, v in t["from"].items() if v not in ("", None)}
    if t.get("reference"):
        out["reference"] = True
    out["generation"] = t.get("generation")
    out["importPolicy"] = normalize_import_policy(t.get("importPolicy"), default_mode)
    out["referencePolicy"] = normalize_reference_policy(t.get("referencePolicy"))
    return out


def dedupe_sort(items, key):
    """Server stores tags in a map keyed by name: the last duplicate wins; output sorted."""
    by = {}
    for it in items or []:
        if isinstance(it, dict):
            by[it.get(key, "")] = it
    return [by[k] for k in sorted(by)]


def normalize_status_tags(tags):
    out = []
    for t in dedupe_sort(tags, "tag"):
        n = {"tag": t.get("tag", ""), "items": t.get("items") or None}
        if t.get("conditions"):
            n["conditions"] = t["conditions"]
        out.append(n)
    return out


def normalize_stream(obj, default_mode="Legacy"):
    """Apply server defaults in place and return obj."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    lp = spec.get("lookupPolicy") or {}
    spec["lookupPolicy"] = {"local": bool(lp.get("local", False))}
    if not spec.get("dockerImageRepository"):
        spec.pop("dockerImageRepository", None)
    tags = [normalize_tag(t, default_mode) for t in (spec.get("tags") or [])]
    tags = dedupe_sort(tags, "name")
    if tags:
        spec["tags"] = tags
    else:
        spec.pop("tags", None)
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    st = normalize_status_tags(status.get("tags"))
    if st:
        status["tags"] = st
    else:
        status.pop("tags", None)
    return obj


def docker_image_repository(obj, internal_registry=""):
    """status.dockerImageRepository: <internal registry>/<ns>/<name>, else the spec field."""
    md = obj.get("metadata") or {}
    if internal_registry:
        return "%s/%s/%s" % (internal_registry, md.get("namespace", ""), md.get("name", ""))
    return (obj.get("spec") or {}).get("dockerImageRepository") or ""


def decorate(obj, internal_registry="", public_registry=""):
    status = obj.setdefault("status", {})
    status["dockerImageRepository"] = docker_image_repository(obj, internal_registry)
    if public_registry:
        md = obj.get("metadata") or {}
        status["publicDockerImageRepository"] = "%s/%s/%s" % (
            public_registry, md.get("namespace", ""), md.get("name", ""))
    else:
        status.pop("publicDockerImageRepository", None)
    # keep key order of the real server: dockerImageRepository first
    obj["status"] = dict(sorted(status.items(), key=lambda kv: kv[0] != "dockerImageRepository"))
    return obj


# ------------------------------------------------------------------------------------------
# Validation


def validate_import_policy(p, path):
    mode = (p or {}).get("importMode")
    if mode and mode not in IMPORT_MODES:
        return [{"reason": "FieldValueNotSupported", "field": path + ".importMode",
                 "message": 'Unsupported value: "%s": supported values: "Legacy", '
                            '"PreserveOriginal"' % mode}]
    return []


def validate_stream(obj):
    """Returns a list of causes (empty when valid)."""
    causes = []
    spec = obj.get("spec") or {}
    for t in spec.get("tags") or []:
        name = t.get("name", "")
        path = "spec.tags[%s]" % name
        if not name:
            causes.append({"reason": "FieldValueRequired", "field": "spec.tags",
                           "message": "Required value: tag name is required"})
            continue
        if ":" in name or "/" in name or "@" in name:
            causes.append({"reason": "FieldValueInvalid", "field": path,
                           "message": 'Invalid value: "%s": tag names must not contain ":", '
                                      '"/" or "@"' % name})
        frm = t.get("from")
        if frm is not None:
            kind = frm.get("kind", "")
            fname = frm.get("name", "")
            if kind not in FROM_KINDS:
                causes.append({"reason": "FieldValueInvalid", "field": path + ".from.kind",
                               "message": 'Invalid value: "%s": valid values are "DockerImage",'
                                          ' "ImageStreamImage", "ImageStreamTag"' % kind})
            elif not fname:
                causes.append({"reason": "FieldValueRequired", "field": path + ".from.name",
                               "message": "Required value"})
            elif kind == "DockerImage":
                try:
                    refs.parse(fname)
                except refs.RefError as e:
                    causes.append({"reason": "FieldValueInvalid", "field": path + ".from.name",
                                   "message": 'Invalid value: "%s": %s' % (fname, e)})
        causes += validate_import_policy(t.get("importPolicy"), path + ".importPolicy")
        rp = (t.get("referencePolicy") or {}).get("type")
        if rp and rp not in ("Source", "Local"):
            causes.append({"reason": "FieldValueNotSupported",
                           "field": path + ".referencePolicy.type",
                           "message": 'Unsupported value: "%s": supported values: "Local", '
                                      '"Source"' % rp})
    return causes


# ------------------------------------------------------------------------------------------
# Generation rules (oas imagestream strategy)


def prepare_for_create(obj):
    md = obj.setdefault("metadata", {})
    md["generation"] = 1
    for t in (obj.get("spec") or {}).get("tags") or []:
        t["generation"] = 1


def _from_key(t, namespace):
    f = dict(t.get("from") or {})
    if not f.get("namespace"):
        f["namespace"] = namespace
    return (f.get("kind", ""), f.get("name", ""), f.get("namespace", ""))


def tag_ref_changed(old, new, namespace):
    """tagRefChanged: from (kind/name/namespace), reference or importMode changed."""
    if new.get("from") is None:
        return False
    if old is None or old.get("from") is None:
        return True
    if _from_key(old, namespace) != _from_key(new, namespace):
        return True
    if (old.get("importPolicy") or {}).get("importMode") != \
            (new.get("importPolicy") or {}).get("importMode"):
        return True
    return bool(old.get("reference")) != bool(new.get("reference"))


def prepare_for_update(new, old):
    """Called with normalized new/old. Sets metadata.generation and spec tag generations:
    clients may only set a tag generation to 0 ("re-import now"); any spec change bumps
    metadata.generation; a tag that changed, or whose generation is nil/0, gets it."""
    old_gen = (old.get("metadata") or {}).get("generation") or 0
    new.setdefault("metadata", {})["generation"] = old_gen
    ns = (new.get("metadata") or {}).get("namespace", "")
    old_tags = {t["name"]: t for t in (old.get("spec") or {}).get("tags") or []}
    for t in (new.get("spec") or {}).get("tags") or []:
        if t.get("generation") == 0:
            continue
        if t["name"] in old_tags:
            t["generation"] = old_tags[t["name"]].get("generation")
    if (new.get("spec") or {}) != (old.get("spec") or {}) or old_gen == 0:
        new["metadata"]["generation"] = old_gen + 1
    gen = new["metadata"]["generation"]
    for t in (new.get("spec") or {}).get("tags") or []:
        if not t.get("generation") or tag_ref_changed(old_tags.get(t["name"]), t, ns):
            t["generation"] = gen


# ------------------------------------------------------------------------------------------
# Status: tag events and conditions


def _status_tags(stream):
    return stream.setdefault("status", {}).setdefault("tags", [])


def ensure_status_tag(stream, tag):
    tags = _status_tags(stream)
    for t in tags:
        if t.get("tag") == tag:
            return t
    t = {"tag": tag, "items": None}
    tags.append(t)
    tags.sort(key=lambda x: x.get("tag", ""))
    return t


def add_tag_event(stream, tag, event):
    """AddTagEventToImageStream: prepend only when both the image and the reference differ;
    otherwise update the head in place. Any change clears the conditions. Returns changed."""
    st = ensure_status_tag(stream, tag)
    items = st.get("items") or []
    if not items:
        st["items"] = [event]
        st.pop("conditions", None)
        return True
    head = items[0]
    same_ref = head.get("dockerImageReference") == event.get("dockerImageReference")
    same_image = (head.get("image") or "") == (event.get("image") or "")
    same_gen = head.get("generation") == event.get("generation")
    if same_ref and same_image and same_gen:
        return False
    if same_ref and same_image:
        head["generation"] = event.get("generation")
    elif same_image or same_ref:
        created = head.get("created")
        items[0] = dict(event)
        if same_image and created:
            items[0]["created"] = created
    else:
        items.insert(0, event)
    st["items"] = items
    st.pop("conditions", None)
    return True


def different_tag_event(stream, tag, event):
    head = refs.latest_tag_event(stream, tag)
    if head is None:
        return True
    return (head.get("dockerImageReference") != event.get("dockerImageReference")
            or (head.get("image") or "") != (event.get("image") or ""))


def different_tag_generation(stream, tag):
    spec = refs.find_spec_tag(stream, tag)
    if spec is None or spec.get("generation") is None:
        return True
    head = refs.latest_tag_event(stream, tag)
    if head is None:
        return True
    return spec["generation"] > (head.get("generation") or 0)


def set_failure_condition(stream, tag, status, generation, now):
    """ImportSuccess=False with the failure's reason and message; written only when type,
    status, reason or message differ from the existing one. Returns changed."""
    st = ensure_status_tag(stream, tag)
    cond = {"type": "ImportSuccess", "status": "False",
            "reason": status.get("reason", ""), "message": status.get("message", ""),
            "generation": generation, "lastTransitionTime": now}
    for c in st.get("conditions") or []:
        if (c.get("type"), c.get("status"), c.get("reason"), c.get("message")) == \
                (cond["type"], cond["status"], cond["reason"], cond["message"]):
            return False
    others = [c for c in st.get("conditions") or [] if c.get("type") != "ImportSuccess"]
    st["conditions"] = others + [cond]
    return True


def latest_observed_generation(stream, tag):
    """max(items[0].generation, ImportSuccess condition generation)"""
    gen = 0
    head = refs.latest_tag_event(stream, tag)
    if head is not None:
        gen = head.get("generation") or 0
    st = refs.find_status_tag(stream, tag)
    for c in (st or {}).get("conditions") or []:
        if c.get("type") == "ImportSuccess":
            gen = max(gen, c.get("generation") or 0)
    return gen


def tag_importable(t):
    return (t.get("from") or {}).get("kind") == "DockerImage" and not t.get("reference")


def tag_needs_import(stream, t):
    return tag_importable(t) and (t.get("generation") or 0) > \
        latest_observed_generation(stream, t.get("name"))


def needs_scheduling(stream, t):
    """A scheduled DockerImage tag; digest references only until their first success."""
    if not (tag_importable(t) and (t.get("importPolicy") or {}).get("scheduled")):
        return False
    name = (t.get("from") or {}).get("name", "")
    if "@" in name and refs.latest_tag_event(stream, t["name"]) is not None:
        return False
    return True


def apply_spec_driven_status(new, old, lookup_stream, now):
    """tagsChanged: for tags whose generation moved (new or changed), write the status of
    `reference: true` DockerImage tags directly from from.name, and resolve ImageStreamTag
    sources; then make same-stream ImageStreamTag tags track their source's head.
    `lookup_stream(namespace, name)` returns a stream dict or None."""
    old_tags = {t["name"]: t for t in ((old or {}).get("spec") or {}).get("tags") or []}
    for t in (new.get("spec") or {}).get("tags") or []:
        o = old_tags.get(t["name"])
        if o is not None and o.get("generation") == t.get("generation"):
            continue
        frm = t.get("from") or {}
        if frm.get("kind") == "DockerImage" and t.get("reference"):
            add_tag_event(new, t["name"], {"created": now,
                                           "dockerImageReference": frm.get("name", ""),
                                           "image": "", "generation": t.get("generation")})
    track_tags(new, lookup_stream, now, only_changed_from=old_tags)


def track_tags(stream, lookup_stream, now, only_changed_from=None):
    """ImageStreamTag-kind spec tags copy the head event of their source tag."""
    md = stream.get("metadata") or {}
    ns, name = md.get("namespace", ""), md.get("name", "")
    changed = False
    for _ in range(4):  # chains of tracking tags inside one stream settle in a few rounds
        round_changed = False
        for t in (stream.get("spec") or {}).get("tags") or []:
            frm = t.get("from") or {}
            if frm.get("kind") != "ImageStreamTag" or t.get("reference"):
                continue
            src_name, src_tag, _ok = refs.split_istag(frm.get("name", ""))
            if ":" not in frm.get("name", ""):
                src_name, src_tag = name, frm.get("name", "")
            src_ns = frm.get("namespace") or ns
            if src_ns == ns and src_name == name:
                src = stream
            else:
                # cross-stream sources are resolved when the tag changes
                o = (only_changed_from or {}).get(t["name"])
                if only_changed_from is None or (o is not None and
                                                 o.get("generation") == t.get("generation")):
                    continue
                src = lookup_stream(src_ns, src_name)
                if src is None:
                    continue
            head = refs.latest_tag_event(src, src_tag)
            if head is None:
                continue
            ev = {"created": head.get("created") or now,
                  "dockerImageReference": head.get("dockerImageReference", ""),
                  "image": head.get("image", ""), "generation": t.get("generation")}
            if different_tag_event(stream, t["name"], ev):
                add_tag_event(stream, t["name"], ev)
                round_changed = changed = True
        if not round_changed:
            break
    return changed
