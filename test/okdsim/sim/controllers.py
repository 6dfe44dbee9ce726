"""Core controllers: namespace lifecycle (default service account, deletion of contents) and bootstrap."""

import time

from . import errors

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def bootstrap_namespaces(sim):
    ns_rt = sim.registry.by_resource("", "namespaces")
    for ns in DEFAULT_NAMESPACES:
        if sim.store.get_or_none(ns_rt, "", ns) is None:
            sim.store.create(ns_rt, {"metadata": {"name": ns}})
        ensure_default_sa(sim, ns)


def ensure_default_sa(sim, ns):
    sa_rt = sim.registry.by_resource("", "serviceaccounts")
    if sim.store.get_or_none(sa_rt, ns, "default") is None:
        try:
            sim.store.create(sa_rt, {"metadata": {"name": "default", "namespace": ns}})
        except errors.ApiError:
            pass


def namespace_controller(sim, stop):
    """Creates the default ServiceAccount in new namespaces; empties and removes terminating ones."""
    ns_rt = sim.registry.by_resource("", "namespaces")
    pending = set()

    def on_event(typ, rt, obj):
        if rt.group == "" and rt.resource == "namespaces" and typ == "ADDED":
            pending.add(("new", obj["metadata"]["name"]))
        if rt.group == "" and rt.resource == "namespaces" and typ == "MODIFIED" and \
                obj["metadata"].get("deletionTimestamp"):
            pending.add(("del", obj["metadata"]["name"]))
    sim.store.subscribe(on_event)
    while not stop.is_set():
        for kind, name in list(pending):
            try:
                if kind == "new":
                    pending.discard((kind, name))
                    ns = sim.store.get_or_none(ns_rt, "", name)
                    if ns is not None and not ns["metadata"].get("deletionTimestamp"):
                        ensure_default_sa(sim, name)
                    continue
                if empty_namespace(sim, name):
                    ns = sim.store.get_or_none(ns_rt, "", name)
                    if ns is not None:
                        ns["spec"]["finalizers"] = []
                        sim.store.update(ns_rt, ns)
                    pending.discard((kind, name))
            except errors.ApiError as e:
                sim.log("namespace controller: %s", e.message)
        time.sleep(0.1)


def empty_namespace(sim, ns):
    """Delete everything in ns; True once nothing is left."""
    left = 0
    seen = set()
    for rt in sim.registry.all_types():
        if not rt.namespaced or not rt.storage or rt.key in seen:
            continue
        seen.add(rt.key)
        for o in sim.store.list(rt, ns):
            left += 1
            if not o["metadata"].get("deletionTimestamp"):
                try:
                    sim.store.delete(rt, ns, o["metadata"]["name"])
                except errors.ApiError:
                    pass
    return left == 0 or all_gone(sim, ns)


def all_gone(sim, ns):
    seen = set()
    for rt in sim.registry.all_types():
        if rt.namespaced and rt.storage and rt.key not in seen:
            seen.add(rt.key)
            if sim.store.list(rt, ns):
                return False
    return True
