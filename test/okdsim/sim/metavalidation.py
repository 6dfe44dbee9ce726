"""ObjectMeta validation shared by every kind: label keys and values, annotation keys and size, with
kube-apiserver's messages (apimachinery's validation.IsQualifiedName / IsValidLabelValue)."""

import json
import re

from . import errors

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
             "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
PREFIX_MSG = ("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
              "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
ANNOTATIONS_MAX = 256 * 1024


def qualified_name_errors(key):
    parts = key.split("/")
    if len(parts) == 1:
        prefix, name = "", parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ["prefix part must be non-empty"]
    else:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"]
    out = []
    if prefix:
        if len(prefix) > 253:
            out.append("prefix part must be no more than 253 characters")
        elif not _SUBDOMAIN.match(prefix):
            out.append(PREFIX_MSG)
    if not name:
        out.append("name part must be non-empty")
    elif len(name) > 63:
        out.append("name part must be no more than 63 characters")
    elif not _NAME.match(name):
        out.append(NAME_MSG)
    return out


def validate_meta(meta, path="metadata"):
    causes = []
    if not isinstance(meta, dict):
        return causes
    labels = meta.get("labels") or {}
    if isinstance(labels, dict):
        for k in sorted(labels):
            for msg in qualified_name_errors(k):
                causes.append(errors.cause(path + ".labels", "FieldValueInvalid",
                                           "Invalid value: %s: %s" % (json.dumps(k), msg)))
            v = labels[k]
            if not isinstance(v, str):
                continue
            if len(v) > 63:
                causes.append(errors.cause(path + ".labels", "FieldValueInvalid",
                                           "Invalid value: %s: must be no more than 63 characters" % json.dumps(v)))
            elif not _VALUE.match(v):
                causes.append(errors.cause(path + ".labels", "FieldValueInvalid",
                                           "Invalid value: %s: %s" % (json.dumps(v), VALUE_MSG)))
    ann = meta.get("annotations") or {}
    if isinstance(ann, dict):
        total = 0
        for k in sorted(ann):
            for msg in qualified_name_errors(k.lower()):
                causes.append(errors.cause(path + ".annotations", "FieldValueInvalid",
                                           "Invalid value: %s: %s" % (json.dumps(k), msg)))
            total += len(k) + len(ann[k] if isinstance(ann[k], str) else "")
        if total > ANNOTATIONS_MAX:
            causes.append(errors.cause(path + ".annotations", "FieldValueTooLong",
                                       "Too long: must have at most %d bytes" % ANNOTATIONS_MAX))
    return causes
