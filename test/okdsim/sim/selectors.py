"""Label selectors (=, ==, !=, in, notin, exists, !key) and field selectors, parsed like kube-apiserver."""

import re

from . import errors

_REQ = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = _REQ.match(part)
        if not m:
            raise errors.bad_request("unable to parse requirement: <nil>: Invalid value: \"%s\": found '%s', "
                                     "expected: identifier" % (part.strip(), part.strip()[:1] or "EOF"))
        neg, key, op, val, setop, setvals = m.groups()
        if neg:
            if op or setop:
                raise errors.bad_request("unable to parse requirement: %s" % part)
            reqs.append((key, "!", None))
        elif op:
            reqs.append((key, "!=" if op == "!=" else "=", val))
        elif setop:
            reqs.append((key, setop, [v.strip() for v in setvals.split(",") if v.strip() or True]))
        else:
            reqs.append((key, "exists", None))
    return reqs


def from_label_selector(sel):
    """A metav1.LabelSelector as parsed requirements."""
    reqs = [(k, "=", v) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for e in sel.get("matchExpressions") or []:
        reqs.append((e.get("key"), ops.get(e.get("operator"), e.get("operator")), e.get("values") or []))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        if op == "=" and labels.get(key) != val:
            return False
        if op == "!=" and key in labels and labels[key] == val:
            return False
        if op == "in" and labels.get(key) not in val:
            return False
        if op == "notin" and key in labels and labels[key] in val:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
    return True


def parse_field_selector(s, rt):
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z0-9_.\[\]-]+)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise errors.bad_request("invalid selector: '%s'; can't understand '%s'" % (s, part))
        field, op, val = m.groups()
        if field not in supported_fields(rt):
            raise errors.bad_request('"%s" is not a known field selector: only "metadata.name", '
                                     '"metadata.namespace"' % field)
        reqs.append((field, "!=" if op == "!=" else "=", val))
    return reqs


def supported_fields(rt):
    f = {"metadata.name", "metadata.namespace"}
    if rt.resource == "events":
        f |= {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid",
              "reason", "type", "source", "reportingComponent", "regarding.kind", "regarding.name",
              "regarding.namespace", "reportingController"}
    if rt.resource == "secrets":
        f.add("type")
    if rt.resource == "namespaces":
        f.add("status.phase")
    if rt.resource == "pods":
        f |= {"spec.nodeName", "status.phase", "spec.serviceAccountName"}
    f |= set(getattr(rt, "field_selectors", None) or ())  # plugin types (e.g. imagestreams)
    return f


def field_value(obj, field):
    cur = obj
    for p in field.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, dict) and field == "source":
        return cur.get("component", "")
    return str(cur)


def fields_match(reqs, obj):
    for field, op, val in reqs:
        v = field_value(obj, field)
        if op == "=" and v != val:
            return False
        if op == "!=" and v == val:
            return False
    return True
