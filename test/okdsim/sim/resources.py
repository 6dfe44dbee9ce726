"""ResourceType registry, discovery documents and server-side Table printing."""

import base64
import datetime
import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Callable

from . import errors

FULL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def default_rule(old, new):
    """Generation goes up when spec changes (most built-in kinds)."""
    return old.get("spec") != new.get("spec")


@dataclass
class ResourceType:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    verbs: list = field(default_factory=lambda: list(FULL_VERBS))
    subresources: list = field(default_factory=list)
    bumps_generation: Callable = default_rule
    on_create: Callable = None
    on_update: Callable = None
    handlers: dict = None
    storage: bool = True
    printer_columns: list = field(default_factory=list)
    # --- extensions used by the core ---
    has_generation: bool = False          # does the kind carry metadata.generation at all
    list_kind: str = ""
    # metadata fields a /status write may not change (kube resets them from the old object)
    status_resets_meta: tuple = ("labels", "annotations", "finalizers", "ownerReferences")
    strategic_merge: bool = True          # built-in kinds accept strategic-merge-patch
    crd: dict = None                      # the CRD version entry for custom resources
    crd_name: str = ""
    table: Callable = None                # fn(obj) -> list of cells (built-in printers)
    table_columns: list = None            # column definitions for `table`
    discovery_singular: str = ""          # singularName shown in discovery ("" for built-ins)
    storage_version_hash: str = ""
    hidden: bool = False                  # served but not listed in discovery
    zero_object: dict = None              # what a BOOKMARK carries besides metadata.resourceVersion
    defaults: Callable = None             # fn(obj) applied on create and update (built-in defaulting)
    validate: Callable = None             # fn(rt, obj, old, warnings=, field_validation=) -> causes
    name_rule: str = "subdomain"          # "subdomain", "label" or "path" (RBAC objects)
    storage_key: tuple = None             # share storage with another type (core/v1 and events.k8s.io events)
    convert_in: Callable = None           # fn(obj) -> obj in storage form
    convert_out: Callable = None          # fn(obj) -> obj in this version's form

    def __post_init__(self):
        if not self.list_kind:
            self.list_kind = self.kind + "List"
        if not self.singular:
            self.singular = self.kind.lower()
        if not self.storage_version_hash and self.storage:
            h = hashlib.sha256(("%s/%s/%s" % (self.group, self.version, self.kind)).encode()).digest()
            self.storage_version_hash = base64.b64encode(h[:8]).decode()

    @property
    def key(self):
        return self.storage_key or (self.group, self.resource)

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def group_version(self):
        return self.api_version


class Registry:
    """All served types, keyed by group/version/resource, in registration order."""

    def __init__(self):
        self.lock = threading.RLock()
        self.types = {}            # (group, version, resource) -> rt
        self.subresources = {}     # (group, resource, sub) -> handler
        self.group_order = []      # group names in discovery order
        self.version_order = {}    # group -> [versions]

    def register(self, rt):
        with self.lock:
            self.types[(rt.group, rt.version, rt.resource)] = rt
            if rt.group not in self.group_order:
                self.group_order.append(rt.group)
            vs = self.version_order.setdefault(rt.group, [])
            if rt.version not in vs:
                vs.append(rt.version)

    def unregister(self, group, version, resource):
        with self.lock:
            self.types.pop((group, version, resource), None)
            if not any(k[0] == group and k[1] == version for k in self.types):
                vs = self.version_order.get(group, [])
                if version in vs:
                    vs.remove(version)
                if not vs and group in self.group_order:
                    self.group_order.remove(group)
                    self.version_order.pop(group, None)

    def get(self, group, version, resource):
        with self.lock:
            return self.types.get((group, version, resource))

    def by_resource(self, group, resource):
        """Any served version of group/resource (the preferred one first)."""
        with self.lock:
            for v in self.version_order.get(group, []):
                rt = self.types.get((group, v, resource))
                if rt:
                    return rt
        return None

    def by_kind(self, group, kind):
        with self.lock:
            for (g, v, r), rt in self.types.items():
                if g == group and rt.kind == kind:
                    return rt
        return None

    def versions(self, group):
        with self.lock:
            return list(self.version_order.get(group, []))

    def groups(self):
        with self.lock:
            return [g for g in self.group_order if g]

    def in_group_version(self, group, version):
        with self.lock:
            return [rt for (g, v, r), rt in self.types.items() if g == group and v == version]

    def all_types(self):
        with self.lock:
            return list(self.types.values())


def lookup_type(sim, group, resource):
    rt = sim.registry.by_resource(group, resource)
    if rt is None:
        raise errors.page_not_found()
    return rt


# ---------------------------------------------------------------- discovery

def resource_list(registry, group, version):
    rts = registry.in_group_version(group, version)
    out = []
    for rt in rts:
        if rt.hidden:
            continue
        e = {"name": rt.resource, "singularName": rt.discovery_singular, "namespaced": rt.namespaced,
             "kind": rt.kind, "verbs": list(rt.verbs)}
        if rt.short_names:
            e["shortNames"] = list(rt.short_names)
        if rt.categories:
            e["categories"] = list(rt.categories)
        if rt.storage and rt.storage_version_hash:
            e["storageVersionHash"] = rt.storage_version_hash
        out.append(e)
        for sub in rt.subresources:
            se = {"name": "%s/%s" % (rt.resource, sub), "singularName": "", "namespaced": rt.namespaced,
                  "kind": rt.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                se.update({"group": "autoscaling", "version": "v1", "kind": "Scale"})
            elif sub == "token":
                se.update({"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
                           "verbs": ["create"]})
            elif sub == "finalize":
                se["verbs"] = ["update"]
            elif sub == "secrets":
                se.update({"kind": "SecretList", "verbs": ["get"]})
            out.append(se)
        for (g, r, sub), h in registry.subresources.items():
            if g == group and r == rt.resource and sub not in rt.subresources:
                out.append({"name": "%s/%s" % (r, sub), "singularName": "", "namespaced": rt.namespaced,
                            "kind": getattr(h, "kind", rt.kind),
                            "verbs": list(getattr(h, "verbs", ["get", "patch", "update"]))})
    out.sort(key=lambda e: e["name"])
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion":
            version if not group else "%s/%s" % (group, version), "resources": out}


def group_entry(registry, group):
    vs = registry.versions(group)
    gvs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in vs]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(registry):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group_entry(registry, g) for g in registry.groups()]}


# ---------------------------------------------------------------- tables

def parse_ts(s):
    try:
        return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    except Exception:
        return None


def human_duration(seconds):
    """Like k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    seconds = int(seconds)
    if seconds < 0:
        return "<invalid>"
    if seconds < 60 * 2:
        return "%ds" % seconds
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return "%dm" % minutes if s == 0 else "%dm%ds" % (minutes, s)
    if minutes < 60 * 3:
        return "%dm" % minutes
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return "%dh" % hours if m == 0 else "%dh%dm" % (hours, m)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        h = hours % 24
        return "%dd" % (hours // 24) if h == 0 else "%dd%dh" % (hours // 24, h)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        d = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if d == 0 else "%dy%dd" % (hours // 24 // 365, d)
    return "%dy" % (hours // 24 // 365)


def age(obj):
    ts = parse_ts((obj.get("metadata") or {}).get("creationTimestamp") or "")
    if ts is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds())


def col(name, typ="string", desc="", priority=0, fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


NAME_COL = col("Name", fmt="name", desc="Name must be unique within a namespace. Is required when creating "
               "resources, although some resources may allow a client to request the generation of an "
               "appropriate name automatically. Name is primarily intended for creation idempotence and "
               "configuration definition. Cannot be updated. More info: "
               "http://kubernetes.io/docs/user-guide/identifiers#names")
AGE_COL = col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was "
              "created. It is not guaranteed to be set in happens-before order across separate operations. "
              "Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated "
              "by the system. Read-only. Null for lists. More info: "
              "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")


def jsonpath_simple(obj, path):
    """Evaluate the simple JSONPath subset CRD printer columns use (.a.b, .a[0].b, .a[*].b)."""
    cur = [obj]
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1]
    if p.startswith("$"):
        p = p[1:]
    tokens = []
    i = 0
    while i < len(p):
        if p[i] == ".":
            j = i + 1
            while j < len(p) and p[j] not in ".[":
                j += 1
            tokens.append(("key", p[i + 1:j]))
            i = j
        elif p[i] == "[":
            j = p.index("]", i)
            if p.startswith("[?(", i):  # filter: [?(@.key=="value")], as in conditions columns
                j = p.index(")]", i) + 1
                m = re.fullmatch(r"""\[\?\(@\.([\w.]+)\s*==\s*(["'])(.*)\2\)\]""", p[i:j + 1])
                if not m:
                    raise ValueError("unsupported JSONPath filter %r" % p[i:j + 1])
                tokens.append(("filter", (m.group(1), m.group(3))))
                i = j + 1
                continue
            inner = p[i + 1:j].strip("'\"")
            if inner == "*":
                tokens.append(("all", None))
            elif inner.lstrip("-").isdigit():
                tokens.append(("idx", int(inner)))
            else:
                tokens.append(("key", inner))
            i = j + 1
        else:
            j = i
            while j < len(p) and p[j] not in ".[":
                j += 1
            tokens.append(("key", p[i:j]))
            i = j
    for kind, arg in tokens:
        nxt = []
        for c in cur:
            if kind == "key" and isinstance(c, dict) and arg in c:
                nxt.append(c[arg])
            elif kind == "idx" and isinstance(c, list) and -len(c) <= arg < len(c):
                nxt.append(c[arg])
            elif kind == "filter" and isinstance(c, list):
                key, want = arg
                for el in c:
                    v = el
                    for part in key.split("."):
                        v = v.get(part) if isinstance(v, dict) else None
                    if isinstance(v, bool):
                        v = "true" if v else "false"
                    if v is not None and str(v) == want:
                        nxt.append(el)
            elif kind == "all":
                if isinstance(c, list):
                    nxt.extend(c)
                elif isinstance(c, dict):
                    nxt.extend(c.values())
        cur = nxt
    return cur


def _since(ts):
    """CR columns of type date are shown as an age, like apiextensions' table convertor does."""
    t = parse_ts(ts or "")
    if t is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


def crd_cells(rt, obj):
    cells = [obj["metadata"].get("name")]
    cols = (rt.crd or {}).get("additionalPrinterColumns")
    if not cols:
        cells.append(_since(obj["metadata"].get("creationTimestamp")))
        return cells
    for c in cols:
        vals = jsonpath_simple(obj, c.get("jsonPath", ""))
        if not vals:
            cells.append(None)
            continue
        v = vals[0]
        t = c.get("type")
        if t == "integer" and isinstance(v, (int, float)) and not isinstance(v, bool):
            cells.append(int(v))
        elif t == "number" and isinstance(v, (int, float)):
            cells.append(v)
        elif t == "boolean" and isinstance(v, bool):
            cells.append(v)
        elif t == "date" and isinstance(v, str) and parse_ts(v):
            cells.append(_since(v))
        elif t in ("string", "date"):
            if isinstance(v, str):
                cells.append(v)
            else:
                import json
                cells.append(json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else
                             (str(v).lower() if isinstance(v, bool) else str(v)))
        else:
            cells.append(v)
    return cells


def crd_columns(rt):
    cols = (rt.crd or {}).get("additionalPrinterColumns")
    out = [NAME_COL]
    if not cols:
        out.append(col("Age", typ="date", desc=AGE_COL["description"]))
        return out
    for c in cols:
        out.append({"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""),
                    "description": c.get("description", ""), "priority": c.get("priority", 0)})
    return out


def table_for(rt, objs, list_meta, include_object="PartialObjectMetadata"):
    if rt.crd is not None:
        cols = crd_columns(rt)
        rows_cells = [crd_cells(rt, o) for o in objs]
    elif rt.table is not None:
        cols = [NAME_COL] + (rt.table_columns or [])
        rows_cells = [[o["metadata"].get("name")] + rt.table(o) for o in objs]
    else:
        cols = [NAME_COL, col("Created At", typ="date", desc=AGE_COL["description"])]
        rows_cells = [[o["metadata"].get("name"), o["metadata"].get("creationTimestamp")] for o in objs]
    rows = []
    for o, cells in zip(objs, rows_cells):
        row = {"cells": cells}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o.get("metadata", {})}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": cols, "rows": rows}
