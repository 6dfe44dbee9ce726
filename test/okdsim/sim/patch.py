"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch for built-in kinds."""

import copy
import json

from . import errors

# field name -> merge key for lists merged by key in strategic merge patch (built-in kinds).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "volumes": "name", "imagePullSecrets": "name", "hostAliases": "ip", "ownerReferences": "uid",
    "conditions": "type", "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
    "secrets": "name", "readinessGates": "conditionType",
}
# primitive lists merged as sets
MERGE_PRIMITIVE = {"finalizers"}


def go_json_error(raw):
    """A json decoding error message worded like Go's encoding/json."""
    try:
        json.loads(raw)
        return None
    except json.JSONDecodeError as e:
        s = raw
        pos = e.pos
        if pos >= len(s):
            return "unexpected end of JSON input"
        ch = s[pos]
        msg = e.msg
        if "property name" in msg:
            return "invalid character '%s' looking for beginning of object key string" % ch
        if "Expecting value" in msg:
            return "invalid character '%s' looking for beginning of value" % ch
        if "delimiter" in msg:
            if "','" in msg and "':'" not in msg:
                ctx = "after object key:value pair" if "object" in msg or s.lstrip().startswith("{") \
                    else "after array element"
                return "invalid character '%s' %s" % (ch, ctx)
            if "':'" in msg:
                return "invalid character '%s' after object key" % ch
        if "Extra data" in msg:
            return "invalid character '%s' after top-level value" % ch
        return "invalid character '%s' looking for beginning of value" % ch


def parse_json_body(raw, what="patch"):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.bad_request("error decoding %s: %s" % (what, go_json_error(raw if isinstance(raw, str)
                                                                               else raw.decode("utf-8", "replace"))))


# ---------------------------------------------------------------- merge patch
def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = copy.deepcopy(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------------------------------------------------------------- JSON patch
class PatchTestFailed(Exception):
    pass


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise KeyError(p)
            cur = cur[p]
        elif isinstance(cur, list):
            i = int(p)
            cur = cur[i]
        else:
            raise KeyError(p)
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        try:
            parts = _ptr(op.get("path", ""))
            if kind in ("add", "replace", "test"):
                if "value" not in op:
                    raise errors.bad_request("the server rejected our request due to an error in our request")
            if kind == "test":
                try:
                    cur = _walk(doc, parts)
                except (KeyError, IndexError, ValueError):
                    raise PatchTestFailed()
                if cur != op["value"]:
                    raise PatchTestFailed()
                continue
            if kind in ("move", "copy"):
                src = _ptr(op.get("from", ""))
                val = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    doc = _remove(doc, src)
                doc = _add(doc, parts, val)
                continue
            if kind == "add":
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                doc = _remove(doc, parts)
            elif kind == "replace":
                doc = _remove(doc, parts)
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            else:
                raise errors.bad_request("Unexpected kind: %s" % kind)
        except PatchTestFailed:
            raise errors.invalid_patch("the server rejected our request due to an error in our request")
        except (KeyError, IndexError, ValueError, TypeError):
            if kind == "remove" or kind == "replace":
                raise errors.invalid_patch("the server rejected our request due to an error in our request")
            raise errors.invalid_patch("the server rejected our request due to an error in our request")
    return doc


def _add(doc, parts, val):
    if not parts:
        return val
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = val
    elif isinstance(parent, list):
        if last == "-":
            parent.append(val)
        else:
            i = int(last)
            if i < 0 or i > len(parent):
                raise IndexError(i)
            parent.insert(i, val)
    else:
        raise KeyError(last)
    return doc


def _remove(doc, parts):
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        del parent[last]
    elif isinstance(parent, list):
        i = int(last)
        if i < 0:
            raise IndexError(i)
        del parent[i]
    else:
        raise KeyError(last)
    return doc


# ---------------------------------------------------------------- strategic merge patch
def strategic_merge(target, patch, field_name=None):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = copy.deepcopy(target)
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k[len("$setElementOrder/"):]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k[len("$deleteFromPrimitiveList/"):]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
            continue
        if isinstance(v, list):
            out[k] = merge_list(out.get(k), v, k)
            if out[k] is None:
                out.pop(k)
        elif isinstance(v, dict):
            r = strategic_merge(out.get(k), v, k)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    for f, order in orders.items():
        if isinstance(out.get(f), list):
            out[f] = apply_order(out[f], order, MERGE_KEYS.get(f))
    if isinstance(retain, list):
        for k in list(out.keys()):
            if k not in retain and k in target and k not in patch:
                out.pop(k)
    return out


def apply_order(items, order, key):
    def ident(x):
        return x.get(key) if key and isinstance(x, dict) else x
    wanted = [ident(o) for o in order]
    pos = {w: i for i, w in enumerate(wanted)}
    ordered = sorted([x for x in items if ident(x) in pos], key=lambda x: pos[ident(x)])
    rest = [x for x in items if ident(x) not in pos]
    return ordered + rest


def merge_list(target, patch, field_name):
    key = MERGE_KEYS.get(field_name)
    if key is None and field_name not in MERGE_PRIMITIVE:
        # atomic list, but honour a {"$patch": "replace"} element
        return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and x.get("$patch"))]
    target = copy.deepcopy(target) if isinstance(target, list) else []
    if key is None:
        for x in patch:
            if x not in target:
                target.append(copy.deepcopy(x))
        return target
    for item in patch:
        if not isinstance(item, dict):
            continue
        if item.get("$patch") == "replace":
            return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and x.get("$patch"))]
        kv = item.get(key)
        idx = next((i for i, t in enumerate(target) if isinstance(t, dict) and t.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del target[idx]
            continue
        if idx is None:
            target.append(strategic_merge({}, item, None))
        else:
            target[idx] = strategic_merge(target[idx], item, None)
    return target


PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")


def apply_patch(rt, current, ctype, raw):
    ctype = (ctype or "").split(";")[0].strip()
    if ctype == "application/strategic-merge-patch+json" and not rt.strategic_merge:
        raise errors.unsupported_media_type(["application/json-patch+json", "application/merge-patch+json",
                                             "application/apply-patch+yaml"])
    if ctype not in PATCH_TYPES:
        acc = list(PATCH_TYPES) if rt.strategic_merge else [
            "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        raise errors.unsupported_media_type(acc)
    if ctype == "application/apply-patch+yaml":
        return apply_yaml(current, raw)
    body = parse_json_body(raw)
    if ctype == "application/json-patch+json":
        return json_patch(current, body)
    if not isinstance(body, dict):
        raise errors.bad_request("error decoding patch: json: cannot unmarshal %s into Go value of type "
                                 "map[string]interface {}" % ("array" if isinstance(body, list) else "string"))
    if ctype == "application/merge-patch+json":
        return merge_patch(current, body)
    return strategic_merge(current, body)


def apply_yaml(current, raw):
    """Server-side apply, simplified: the applied configuration is merged in (no field ownership)."""
    try:
        import yaml
        body = yaml.safe_load(raw)
    except Exception as e:
        raise errors.bad_request("error decoding YAML: %s" % e)
    if not isinstance(body, dict):
        raise errors.bad_request("error decoding YAML: not an object")
    return strategic_merge(current or {}, body)
