"""A small OpenAPI v3 (Kubernetes structural schema) validator for tests.

Validates an object against a CRD's `openAPIV3Schema` the way the API server would reject it,
plus one stricter rule: fields the schema does not declare are errors (the API server would
silently prune them, which hides typos), unless `x-kubernetes-preserve-unknown-fields` is set.

Supported: type, properties, additionalProperties (bool or schema), required, items, enum,
pattern, minimum/maximum (+exclusive), minLength/maxLength, minItems/maxItems,
minProperties/maxProperties, nullable, format (int32/int64/date-time/byte are checked loosely),
x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
allOf/anyOf/oneOf/not. Ignored on purpose: default, description, x-kubernetes-list-*, map-type,
and x-kubernetes-validations (CEL; no evaluator here).

    from openapi import crd_schema, validate
    errors = validate(obj, crd_schema(crd_dict, "v1"))   # [] when valid; else "path: message"
Standard library + PyYAML only.
"""
import base64
import re

import yaml

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def load_crd(path):
    with open(path) as f:
        return yaml.safe_load(f)


def crd_schema(crd, version=None):
    """The openAPIV3Schema of `version` of a CRD dict (the storage version when None)."""
    versions = crd["spec"]["versions"]
    for v in versions:
        if (version is None and v.get("storage")) or v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise KeyError("CRD %s has no version %s" % (crd["metadata"]["name"], version))


def _type_ok(value, t, schema):
    if value is None:
        return bool(schema.get("nullable"))
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _describe(value):
    return type(value).__name__ if value is not None else "null"


def validate(value, schema, path="", root=True):
    """Return a list of error strings ("path: message"); empty when `value` is valid."""
    errs = []
    where = path or "<root>"

    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            return ["%s: expected integer or string, got %s" % (where, _describe(value))]
    elif "type" in schema:
        if not _type_ok(value, schema["type"], schema):
            return ["%s: expected %s, got %s" % (where, schema["type"], _describe(value))]
    if value is None:
        return errs

    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %r not in %r" % (where, value, schema["enum"]))

    for sub in schema.get("allOf", []):
        errs += validate(value, sub, path, root=False)
    if "anyOf" in schema:
        if not any(not validate(value, s, path, root=False) for s in schema["anyOf"]):
            errs.append("%s: matches none of anyOf" % where)
    if "oneOf" in schema:
        n = sum(1 for s in schema["oneOf"] if not validate(value, s, path, root=False))
        if n != 1:
            errs.append("%s: matches %d of oneOf (need 1)" % (where, n))
    if "not" in schema and not validate(value, schema["not"], path, root=False):
        errs.append("%s: must not match the 'not' schema" % where)

    if isinstance(value, str):
        errs += _check_string(value, schema, where)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        errs += _check_number(value, schema, where)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errs.append("%s: fewer than %d items" % (where, schema["minItems"]))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append("%s: more than %d items" % (where, schema["maxItems"]))
        if "items" in schema:
            for i, item in enumerate(value):
                errs += validate(item, schema["items"], "%s[%d]" % (path, i), root=False)
    if isinstance(value, dict):
        errs += _check_object(value, schema, path, where, root)
    return errs


def _check_string(value, schema, where):
    errs = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        errs.append("%s: shorter than %d" % (where, schema["minLength"]))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errs.append("%s: longer than %d" % (where, schema["maxLength"]))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errs.append("%s: %r does not match %r" % (where, value, schema["pattern"]))
    fmt = schema.get("format")
    if fmt == "date-time" and not _DATE_TIME.match(value):
        errs.append("%s: %r is not an RFC 3339 date-time" % (where, value))
    if fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            errs.append("%s: not base64" % where)
    return errs


def _check_number(value, schema, where):
    errs = []
    if "minimum" in schema:
        lo = schema["minimum"]
        if value < lo or (schema.get("exclusiveMinimum") is True and value == lo):
            errs.append("%s: %s below minimum %s" % (where, value, lo))
    if "maximum" in schema:
        hi = schema["maximum"]
        if value > hi or (schema.get("exclusiveMaximum") is True and value == hi):
            errs.append("%s: %s above maximum %s" % (where, value, hi))
    return errs


def _check_object(value, schema, path, where, root):
    errs = []
    props = schema.get("properties", {})
    for req in schema.get("required", []):
        if req not in value:
            errs.append("%s: required field %r missing" % (where, req))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errs.append("%s: fewer than %d properties" % (where, schema["minProperties"]))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errs.append("%s: more than %d properties" % (where, schema["maxProperties"]))
    embedded = schema.get("x-kubernetes-embedded-resource")
    addl = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    for key, sub in value.items():
        child = "%s.%s" % (path, key) if path else key
        if key in props:
            if (root or embedded) and key == "metadata":
                # ObjectMeta is validated by the API server; a CRD may only narrow some fields
                # (e.g. an enum on the name), so undeclared ObjectMeta fields are fine.
                meta_schema = dict(props[key], **{"x-kubernetes-preserve-unknown-fields": True})
                errs += validate(sub, meta_schema, child, root=False)
                continue
            errs += validate(sub, props[key], child, root=False)
        elif isinstance(addl, dict):
            errs += validate(sub, addl, child, root=False)
        elif addl is True or preserve:
            continue
        elif (root or embedded) and key in ("apiVersion", "kind", "metadata"):
            continue
        else:
            errs.append("%s: unknown field %r" % (where, key))
    return errs
