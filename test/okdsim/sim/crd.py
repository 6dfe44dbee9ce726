"""CustomResourceDefinitions: serving custom resources, CRD defaults/validation, the establishing controller."""

import copy
import time

from . import errors
from .resources import ResourceType, col
from .store import now_ts
from .validation import validate_custom_resource

GROUP = "apiextensions.k8s.io"
CR_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


def cr_generation(old, new):
    strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "apiVersion", "kind")}  # noqa: E731
    return strip(old) != strip(new)


def crd_defaults(obj):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    names = spec.setdefault("names", {})
    if isinstance(names, dict) and names.get("kind"):
        names.setdefault("listKind", names["kind"] + "List")
        names.setdefault("singular", names["kind"].lower())
    spec.setdefault("conversion", {"strategy": "None"})
    for v in spec.get("versions") or []:
        if isinstance(v, dict):
            for c in v.get("additionalPrinterColumns") or []:
                if isinstance(c, dict):
                    pass
    st = obj.setdefault("status", {})
    st.setdefault("acceptedNames", {"kind": "", "plural": ""})
    st.setdefault("conditions", None)
    stored = [v["name"] for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")]
    prev = st.get("storedVersions") or []
    st["storedVersions"] = prev + [s for s in stored if s not in prev]


def structural_errors(schema, path, root=False):
    """The 'structural schema' rules a v1 CRD must follow: every node says its type (unless it is
    int-or-string or preserves unknown fields), the root is an object."""
    out = []
    if not isinstance(schema, dict):
        return out
    free = schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields")
    if root and not schema.get("type") and not free:
        out.append(errors.cause(path + ".type", "FieldValueRequired", "Required value: must not be empty at the root"))
    elif root and schema.get("type") and schema.get("type") != "object":
        out.append(errors.cause(path + ".type", "FieldValueInvalid", 'Invalid value: "%s": must be object at the '
                                "root" % schema["type"]))
    for name in sorted(schema.get("properties") or {}):
        sub = schema["properties"][name]
        p = "%s.properties[%s]" % (path, name)
        if isinstance(sub, dict) and not sub.get("type") and not (
                sub.get("x-kubernetes-int-or-string") or sub.get("x-kubernetes-preserve-unknown-fields")):
            out.append(errors.cause(p + ".type", "FieldValueRequired",
                                    "Required value: must not be empty for specified object fields"))
        out += structural_errors(sub, p)
    items = schema.get("items")
    if isinstance(items, dict):
        if not items.get("type") and not (items.get("x-kubernetes-int-or-string") or
                                          items.get("x-kubernetes-preserve-unknown-fields")):
            out.append(errors.cause(path + ".items.type", "FieldValueRequired",
                                    "Required value: must not be empty for specified array items"))
        out += structural_errors(items, path + ".items")
    addl = schema.get("additionalProperties")
    if isinstance(addl, dict):
        if not addl.get("type") and not (addl.get("x-kubernetes-int-or-string") or
                                         addl.get("x-kubernetes-preserve-unknown-fields")):
            out.append(errors.cause(path + ".additionalProperties.type", "FieldValueRequired",
                                    "Required value: must not be empty for specified object fields"))
        out += structural_errors(addl, path + ".additionalProperties")
    return out


def crd_validate(rt, obj, old, **kw):
    c = []
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    plural = names.get("plural") or ""
    name = obj["metadata"].get("name")
    if not group:
        c.append(errors.cause("spec.group", "FieldValueRequired", "Required value"))
    if not plural:
        c.append(errors.cause("spec.names.plural", "FieldValueRequired", "Required value"))
    if not names.get("kind"):
        c.append(errors.cause("spec.names.kind", "FieldValueRequired", "Required value"))
    if group and plural and name != "%s.%s" % (plural, group):
        c.append(errors.cause("metadata.name", "FieldValueInvalid",
                              'Invalid value: "%s": must be spec.names.plural+"."+spec.group' % name))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        c.append(errors.cause("spec.scope", "FieldValueNotSupported" if spec.get("scope") else "FieldValueRequired",
                              'Unsupported value: "%s": supported values: "Cluster", "Namespaced"' % spec.get("scope")
                              if spec.get("scope") else "Required value"))
    versions = spec.get("versions") or []
    if not versions:
        c.append(errors.cause("spec.versions", "FieldValueInvalid", "Invalid value: []apiextensions."
                              "CustomResourceDefinitionVersion(nil): must have exactly one version marked as storage "
                              "version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        c.append(errors.cause("spec.versions", "FieldValueInvalid", "Invalid value: []apiextensions."
                              "CustomResourceDefinitionVersion{...}: must have exactly one version marked as storage "
                              "version"))
    for i, v in enumerate(versions):
        sch = (v.get("schema") or {}).get("openAPIV3Schema")
        if not sch:
            c.append(errors.cause("spec.versions[%d].schema.openAPIV3Schema" % i, "FieldValueRequired",
                                  "Required value: schemas are required"))
        else:
            c += structural_errors(sch, "spec.versions[%d].schema.openAPIV3Schema" % i, root=True)
    if old is not None:
        if (old.get("spec") or {}).get("scope") != spec.get("scope"):
            c.append(errors.cause("spec.scope", "FieldValueInvalid", 'Invalid value: "%s": field is immutable'
                                  % spec.get("scope")))
        if (old.get("spec") or {}).get("group") != group:
            c.append(errors.cause("spec.group", "FieldValueInvalid", 'Invalid value: "%s": field is immutable'
                                  % group))
    return c


def serve_crd(sim, crd):
    """Register (or re-register) the custom resource types a CRD defines."""
    spec = crd.get("spec") or {}
    group = spec.get("group")
    names = spec.get("names") or {}
    plural = names.get("plural")
    served = set()
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = []
        sr = v.get("subresources") or {}
        if "status" in sr:
            subs.append("status")
        if "scale" in sr:
            subs.append("scale")
        rt = ResourceType(group, v["name"], plural, names.get("kind"), spec.get("scope") == "Namespaced",
                          singular=names.get("singular") or names.get("kind", "").lower(),
                          short_names=list(names.get("shortNames") or []),
                          categories=list(names.get("categories") or []), verbs=list(CR_VERBS), subresources=subs,
                          bumps_generation=cr_generation, has_generation=True,
                          list_kind=names.get("listKind") or names.get("kind", "") + "List", strategic_merge=False,
                          crd=copy.deepcopy(v), crd_name=crd["metadata"]["name"],
                          discovery_singular=names.get("singular") or names.get("kind", "").lower(),
                          printer_columns=list(v.get("additionalPrinterColumns") or []),
                          validate=validate_custom_resource)
        sim.register_type(rt)
        served.add(v["name"])
    for rt in sim.registry.all_types():
        if rt.crd_name == crd["metadata"]["name"] and rt.version not in served:
            sim.unregister_type(rt.group, rt.version, rt.resource)


def unserve_crd(sim, crd):
    for rt in sim.registry.all_types():
        if rt.crd_name == crd["metadata"]["name"]:
            sim.unregister_type(rt.group, rt.version, rt.resource)


def on_commit(sim, typ, rt, obj):
    """Called with the store lock held, so serving starts before the API answers."""
    if rt.key != (GROUP, "customresourcedefinitions"):
        return
    if typ == "DELETED":
        for r in sim.registry.all_types():
            if r.crd_name == obj["metadata"]["name"]:
                sim.store.drop_all(r)
                break
        unserve_crd(sim, obj)
    else:
        serve_crd(sim, obj)


def crd_controller(sim, stop):
    """Accept names and set Established (NamesAccepted, Established conditions), like apiextensions does;
    remove CRDs being deleted once their objects are gone."""
    rt = sim.registry.by_resource(GROUP, "customresourcedefinitions")
    pending = set()

    def on_event(typ, r, obj):
        if r.key == rt.key and typ != "DELETED":
            pending.add(obj["metadata"]["name"])
    sim.store.subscribe(on_event)
    while not stop.is_set():
        for name in list(pending):
            pending.discard(name)
            o = sim.store.get_or_none(rt, "", name)
            if o is None:
                continue
            if o["metadata"].get("deletionTimestamp"):
                fins = [f for f in o["metadata"].get("finalizers") or []
                        if f != "customresourcecleanup.apiextensions.k8s.io"]
                if fins != (o["metadata"].get("finalizers") or []):
                    for r in sim.registry.all_types():
                        if r.crd_name == name:
                            sim.store.drop_all(r)
                            break
                    o["metadata"]["finalizers"] = fins
                    try:
                        sim.store.update(rt, o)
                    except errors.ApiError:
                        pending.add(name)
                continue
            names = copy.deepcopy((o.get("spec") or {}).get("names") or {})
            st = copy.deepcopy(o.get("status") or {})
            ts = now_ts()
            conds = [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                      "message": "no conflicts found", "lastTransitionTime": ts},
                     {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                      "message": "the initial names have been accepted", "lastTransitionTime": ts}]
            old_conds = st.get("conditions") or []
            if st.get("acceptedNames") == names and [(c["type"], c["status"]) for c in old_conds] == \
                    [(c["type"], c["status"]) for c in conds]:
                continue
            for c in conds:
                for oc in old_conds:
                    if oc.get("type") == c["type"] and oc.get("status") == c["status"]:
                        c["lastTransitionTime"] = oc.get("lastTransitionTime", ts)
            st["acceptedNames"] = names
            st["conditions"] = conds
            o["status"] = st
            try:
                sim.store.update(rt, o, subresource="status")
            except errors.ApiError:
                pending.add(name)
        time.sleep(0.05)


def crd_create(sim, obj):
    fins = obj["metadata"].setdefault("finalizers", [])
    if "customresourcecleanup.apiextensions.k8s.io" not in fins:
        fins.append("customresourcecleanup.apiextensions.k8s.io")


def register(sim):
    rt = ResourceType(GROUP, "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                      short_names=["crd", "crds"], categories=["api-extensions"], subresources=["status"],
                      has_generation=True, defaults=crd_defaults, validate=crd_validate,
                      table=lambda o: [o["metadata"].get("creationTimestamp")],
                      table_columns=[col("Created At", typ="date")])
    sim.register_type(rt)
    sim.store.commit_hooks.append(lambda typ, r, obj: on_commit(sim, typ, r, obj))
