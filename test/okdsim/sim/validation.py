"""CRD structural-schema handling: unknown fields (Strict/Warn/Ignore), pruning, defaulting, validation.

Error wording follows kube-apiserver 1.26 (apiextensions validation over kube-openapi)."""

import copy
import json
import re

from . import errors, knownfields

ROOT_META = ("apiVersion", "kind", "metadata")


def go_repr(v):
    """How field.Error prints a bad value."""
    if v is None:
        return '"null"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return ("%g" % v) if v != int(v) or abs(v) >= 1e21 else str(int(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "map[string]interface {}{%s}" % ", ".join(
            "%s:%s" % (json.dumps(k), _go_inner(x)) for k, x in sorted(v.items()))
    if isinstance(v, list):
        return "[]interface {}{%s}" % ", ".join(_go_inner(x) for x in v)
    return str(v)


def _go_inner(v):
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%d" % v
    if v is None:
        return "interface {}(nil)"
    return go_repr(v)


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _num(v):
    return ("%g" % v) if isinstance(v, float) and v != int(v) else str(int(v)) if isinstance(v, (int, float)) else v


def _child(path, key):
    return key if not path else "%s.%s" % (path, key)


# ---------------------------------------------------------------- unknown fields and pruning
def prune(obj, schema, path="", root=True, unknown=None):
    """Remove fields the schema does not know; record their paths in unknown."""
    if unknown is None:
        unknown = []
    if not isinstance(schema, dict):
        return unknown
    if isinstance(obj, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties") and \
                not schema.get("additionalProperties"):
            return unknown
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        embedded = schema.get("x-kubernetes-embedded-resource")
        for k in list(obj.keys()):
            if (root or embedded) and k in ROOT_META:
                continue
            if props is not None and k in props:
                prune(obj[k], props[k], _child(path, k), False, unknown)
            elif isinstance(addl, dict):
                prune(obj[k], addl, _child(path, k), False, unknown)
            elif addl is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            elif props is None and addl is None and schema.get("type") != "object" and not root:
                continue
            else:
                unknown.append(_child(path, k))
                del obj[k]
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, x in enumerate(obj):
                prune(x, items, "%s[%d]" % (path, i), False, unknown)
    return unknown


def apply_defaults(obj, schema):
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        for k, ps in (schema.get("properties") or {}).items():
            if k not in obj and isinstance(ps, dict) and "default" in ps:
                obj[k] = copy.deepcopy(ps["default"])
            if k in obj:
                apply_defaults(obj[k], ps)
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for k in obj:
                if k not in (schema.get("properties") or {}):
                    apply_defaults(obj[k], addl)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for x in obj:
            apply_defaults(x, schema["items"])


# ---------------------------------------------------------------- validation
def validate(v, schema, path, causes, root=False):
    if not isinstance(schema, dict):
        return
    ios = schema.get("x-kubernetes-int-or-string")
    t = schema.get("type")
    if v is None:
        if schema.get("nullable"):
            return
        if t or ios:
            causes.append(errors.cause(path, "FieldValueTypeInvalid", 'Invalid value: "null": %s in body must be of '
                                       'type %s: "null"' % (path, t or "integer,string")))
        return
    if ios:
        if not (isinstance(v, (int, str)) and not isinstance(v, bool)):
            causes.append(errors.cause(path, "FieldValueTypeInvalid", "Invalid value: %s: %s in body must be of "
                                       "type integer,string: %s" % (go_repr(v), path, json.dumps(json_type(v)))))
            return
    elif t:
        jt = json_type(v)
        ok = jt == t or (t == "number" and jt == "integer")
        if not ok:
            causes.append(errors.cause(path, "FieldValueTypeInvalid", "Invalid value: %s: %s in body must be of "
                                       "type %s: %s" % (go_repr(v), path, t, json.dumps(jt))))
            return
    if "enum" in schema and v not in schema["enum"]:
        vals = ", ".join(json.dumps(x if isinstance(x, str) else json.dumps(x)) for x in schema["enum"])
        causes.append(errors.cause(path, "FieldValueNotSupported", "Unsupported value: %s: supported values: %s"
                                   % (go_repr(v), vals)))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        mn, mx = schema.get("minimum"), schema.get("maximum")
        if mn is not None:
            if schema.get("exclusiveMinimum") and not v > mn:
                causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should be "
                                           "greater than %s" % (go_repr(v), path, _num(mn))))
            elif v < mn:
                causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should be "
                                           "greater than or equal to %s" % (go_repr(v), path, _num(mn))))
        if mx is not None:
            if schema.get("exclusiveMaximum") and not v < mx:
                causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should be "
                                           "less than %s" % (go_repr(v), path, _num(mx))))
            elif v > mx:
                causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should be "
                                           "less than or equal to %s" % (go_repr(v), path, _num(mx))))
        mo = schema.get("multipleOf")
        if mo and (v / mo) != int(v / mo):
            causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should be a "
                                       "multiple of %s" % (go_repr(v), path, _num(mo))))
    if isinstance(v, str):
        if schema.get("maxLength") is not None and len(v) > schema["maxLength"]:
            causes.append(errors.cause(path, "FieldValueTooLong", "Too long: may not be longer than %d"
                                       % schema["maxLength"]))
        if schema.get("minLength") is not None and len(v) < schema["minLength"]:
            causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should be at "
                                       "least %d chars long" % (go_repr(v), path, schema["minLength"])))
        pat = schema.get("pattern")
        if pat:
            try:
                ok = re.search(pat, v) is not None
            except re.error:
                ok = True
            if not ok:
                causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body should match "
                                           "'%s'" % (go_repr(v), path, pat)))
    if isinstance(v, list):
        if schema.get("maxItems") is not None and len(v) > schema["maxItems"]:
            causes.append(errors.cause(path, "FieldValueTooMany", "Too many: %d: must have at most %d items"
                                       % (len(v), schema["maxItems"])))
        if schema.get("minItems") is not None and len(v) < schema["minItems"]:
            causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %d: %s in body should have at "
                                       "least %d items" % (len(v), path, schema["minItems"])))
        if schema.get("uniqueItems"):
            seen = []
            for x in v:
                if x in seen:
                    causes.append(errors.cause(path, "FieldValueDuplicate", "Duplicate value: %s" % go_repr(x)))
                    break
                seen.append(x)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, x in enumerate(v):
                validate(x, items, "%s[%d]" % (path, i), causes)
    if isinstance(v, dict):
        for r in schema.get("required") or []:
            if r not in v:
                causes.append(errors.cause(_child(path, r), "FieldValueRequired", "Required value"))
        if schema.get("maxProperties") is not None and len(v) > schema["maxProperties"]:
            causes.append(errors.cause(path, "FieldValueTooMany", "Too many: %d: must have at most %d items"
                                       % (len(v), schema["maxProperties"])))
        if schema.get("minProperties") is not None and len(v) < schema["minProperties"]:
            causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %d: %s in body should have at "
                                       "least %d properties" % (len(v), path, schema["minProperties"])))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for k in sorted(v.keys()):
            if root and k in ROOT_META:
                continue
            if k in props:
                validate(v[k], props[k], _child(path, k), causes)
            elif isinstance(addl, dict):
                validate(v[k], addl, _child(path, k), causes)
    for sub in schema.get("allOf") or []:
        validate(v, sub, path, causes)
    if schema.get("anyOf"):
        if all(_fails(v, s, path) for s in schema["anyOf"]):
            causes.extend(_fails(v, schema["anyOf"][0], path))
    if schema.get("oneOf"):
        n = sum(1 for s in schema["oneOf"] if not _fails(v, s, path))
        if n != 1:
            causes.append(errors.cause(path, "FieldValueInvalid", "Invalid value: %s: %s in body must validate one "
                                       "and only one schema (oneOf)" % (go_repr(v), path)))


def _fails(v, schema, path):
    c = []
    validate(v, schema, path, c)
    return c


def validate_custom_resource(rt, obj, old, warnings=None, field_validation="Ignore"):
    schema = ((rt.crd or {}).get("schema") or {}).get("openAPIV3Schema")
    causes = []
    if not schema:
        return causes
    unknown = sorted(prune(obj, schema) + knownfields.unknown_metadata(obj))
    knownfields.report(rt, unknown, warnings, field_validation)
    apply_defaults(obj, schema)
    validate(obj, schema, "", causes, root=True)
    return causes
