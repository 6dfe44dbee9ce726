"""The `image.openshift.io/triggers` annotation (reference §5): parsing with Go encoding/json
semantics (a type mismatch anywhere rejects the whole annotation), duplicate fieldPaths,
indexing rules, fieldPath selectors by index and by name, and UpdateObjectFromImages."""
import json
import re

from . import refs

TRIGGER_ANNOTATION = "image.openshift.io/triggers"

# podSpecPath per kind (referencemutator GetPodSpecV1)
POD_SPEC_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "DeploymentConfig": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


class TriggerError(ValueError):
    pass


def _field(d, key):
    """encoding/json matches keys case-insensitively (exact match preferred)."""
    if key in d:
        return d[key], True
    low = key.lower()
    for k, v in d.items():
        if k.lower() == low:
            return v, True
    return None, False


def _string(v, what):
    if v is None:
        return ""
    if not isinstance(v, str):
        raise TriggerError("json: cannot unmarshal %s into Go struct field %s of type string"
                           % (_json_type(v), what))
    return v


def _json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def parse_annotation(value):
    """Parse the annotation value into a list of triggers
    [{"from": {"kind","name","namespace","apiVersion"}, "fieldPath", "paused"}].
    Raises TriggerError when the JSON is invalid or any field has the wrong type, or when two
    entries share a fieldPath ("duplicate triggers are not allowed")."""
    try:
        data = json.loads(value)
    except ValueError as e:
        raise TriggerError("invalid character in trigger annotation: %s" % e)
    if data is None:
        return []
    if not isinstance(data, list):
        raise TriggerError("json: cannot unmarshal %s into Go value of type "
                           "[]trigger.ObjectFieldTrigger" % _json_type(data))
    out = []
    for item in data:
        if item is None:
            item = {}
        if not isinstance(item, dict):
            raise TriggerError("json: cannot unmarshal %s into Go value of type "
                               "trigger.ObjectFieldTrigger" % _json_type(item))
        frm, _ = _field(item, "from")
        if frm is None:
            frm = {}
        if not isinstance(frm, dict):
            raise TriggerError("json: cannot unmarshal %s into Go struct field "
                               "ObjectFieldTrigger.from" % _json_type(frm))
        t = {"from": {
            "kind": _string(_field(frm, "kind")[0], "ObjectReference.from.kind"),
            "name": _string(_field(frm, "name")[0], "ObjectReference.from.name"),
            "namespace": _string(_field(frm, "namespace")[0], "ObjectReference.from.namespace"),
            "apiVersion": _string(_field(frm, "apiVersion")[0],
                                  "ObjectReference.from.apiVersion"),
        }}
        t["fieldPath"] = _string(_field(item, "fieldPath")[0], "ObjectFieldTrigger.fieldPath")
        paused, _ = _field(item, "paused")
        if paused is None:
            paused = False
        if not isinstance(paused, bool):
            raise TriggerError("json: cannot unmarshal %s into Go struct field "
                               "ObjectFieldTrigger.paused of type bool" % _json_type(paused))
        t["paused"] = paused
        out.append(t)
    seen = set()
    for t in out:
        if t["fieldPath"] in seen:
            raise TriggerError("duplicate triggers are not allowed")
        seen.add(t["fieldPath"])
    return out


def object_triggers(obj):
    """(triggers, present): the parsed annotation of the object's own metadata."""
    ann = ((obj.get("metadata") or {}).get("annotations") or {})
    if TRIGGER_ANNOTATION not in ann:
        return [], False
    return parse_annotation(ann[TRIGGER_ANNOTATION]), True


def indexable(t):
    """triggerCacheIndexer: ImageStreamTag, no apiVersion, not paused, name has ':'."""
    f = t["from"]
    return (f["kind"] == "ImageStreamTag" and not f["apiVersion"] and not t["paused"]
            and ":" in f["name"])


def pod_spec(obj, kind=None):
    """(podspec dict or None, dotted path)"""
    kind = kind or obj.get("kind")
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return None, ""
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return None, ".".join(path)
        cur = cur.get(p)
    return (cur if isinstance(cur, dict) else None), ".".join(path)


_INT_RE = re.compile(r"^[+-]?[0-9]+$")


def parse_container_reference(path):
    """(init, selector, remainder) or None when the path is not containers[...]/initContainers[...]."""
    if path.startswith("containers["):
        init, rest = False, path[len("containers["):]
    elif path.startswith("initContainers["):
        init, rest = True, path[len("initContainers["):]
    else:
        return None
    end = rest.find("]")
    if end == -1:
        return None
    selector, remainder = rest[:end], rest[end + 1:]
    if remainder.startswith("."):
        remainder = remainder[1:]
    return init, selector, remainder


def find_container(spec, init, selector):
    """By index (respecting the containers/initContainers prefix) or by ?(@.name=="X"), which
    searches initContainers first, then containers."""
    if _INT_RE.match(selector):
        i = int(selector)
        lst = spec.get("initContainers" if init else "containers") or []
        if 0 <= i < len(lst):
            return lst[i]
        return None
    prefix, suffix = '?(@.name=="', '")'
    name = selector
    if name.startswith(prefix):
        name = name[len(prefix):]
    if name.endswith(suffix):
        name = name[:-len(suffix)]
    if name == selector:
        return None
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict) and c.get("name") == name:
                return c
    return None


def update_object_from_images(obj, resolve):
    """UpdateObjectFromImages. `resolve(namespace, "IS:TAG")` returns (ref, ok).
    Returns (updated_obj_or_None, error_or_None). The object is not modified; a copy is made
    on the first resolved trigger. A bad selector or unknown container for a resolved trigger
    is an error and nothing is applied."""
    try:
        triggers, present = object_triggers(obj)
    except TriggerError as e:
        return None, str(e)
    if not present:
        return None, None
    kind = obj.get("kind")
    spec, base = pod_spec(obj, kind)
    if spec is None:
        return None, None
    base += "."
    ns = (obj.get("metadata") or {}).get("namespace", "")
    updated = None
    uspec = None
    for t in triggers:
        if not indexable(t):
            continue
        fp = t["fieldPath"]
        if not fp.startswith(base):
            continue
        rest = fp[len(base):]
        ref, ok = resolve(t["from"]["namespace"] or ns, t["from"]["name"])
        if not ok:
            continue
        if updated is None:
            updated = json.loads(json.dumps(obj))
            uspec, _ = pod_spec(updated, kind)
        parsed = parse_container_reference(rest)
        if parsed is None:
            return None, "invalid trigger path %r" % fp
        init, selector, remainder = parsed
        c = find_container(uspec, init, selector)
        if c is None:
            return None, "unable to find container %r" % selector
        if remainder != "image":
            return None, "unable to find container image by selector %r" % fp
        if c.get("image") != ref:
            c["image"] = ref
    return updated, None


def triggered_streams(obj):
    """Set of (namespace, stream name) the object's valid triggers reference."""
    try:
        triggers, _ = object_triggers(obj)
    except TriggerError:
        return set()
    ns = (obj.get("metadata") or {}).get("namespace", "")
    out = set()
    for t in triggers:
        if indexable(t):
            name, _tag, _ok = refs.split_istag(t["from"]["name"])
            out.add((t["from"]["namespace"] or ns, name))
    return out
