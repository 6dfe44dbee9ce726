"""The object store: one lock, a global resourceVersion, bounded history for watches and snapshots."""

import bisect
import copy
import datetime
import json
import os
import queue
import random
import re
import threading
import uuid

from . import errors, knownfields, metavalidation
from .resources import lookup_type  # noqa: F401  (part of the plugin API: sim.store.lookup_type)

SYSTEM_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds",
               "resourceVersion", "selfLink", "managedFields")

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                 "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
                 "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def gen_suffix():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


class Event:
    __slots__ = ("rv", "type", "key", "ns", "name", "obj", "prev")

    def __init__(self, rv, typ, key, ns, name, obj, prev):
        self.rv, self.type, self.key, self.ns, self.name, self.obj, self.prev = rv, typ, key, ns, name, obj, prev


class Store:
    def __init__(self, sim, history_size=2000, start_rv=1000):
        self.sim = sim
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.objects = {}        # (group, resource) -> {(ns, name): obj}   stored dicts are never mutated
        self.rv = start_rv
        self.history = []        # list of Event, ascending rv
        self.history_rvs = []
        self.history_size = history_size
        self.window_start = start_rv   # events with rv > window_start are in history
        self.generation_epoch = 0      # bumped by close-watches faults
        self._subs = []
        self._q = queue.Queue()
        self._dirty = threading.Event()
        self.state_file = None
        self.meta = {}           # persisted server data (signing key)
        self._save_lock = threading.Lock()
        self.commit_hooks = []   # fn(type, rt, obj) called with the lock held (CRD serving)
        threading.Thread(target=self._dispatch, name="store-dispatch", daemon=True).start()

    # ------------------------------------------------------------ helpers
    def resource_version(self):
        with self.lock:
            return self.rv

    def _bucket(self, rt):
        return self.objects.setdefault(rt.key, {})

    def _out(self, rt, obj):
        o = copy.deepcopy(obj)
        if rt.convert_out:
            o = rt.convert_out(o)
        o["apiVersion"] = rt.api_version
        o["kind"] = rt.kind
        return o

    def _commit(self, rt, typ, ns, name, obj, prev):
        """Record a change (lock held): bump rv, store, history, wake watchers."""
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        b = self._bucket(rt)
        if typ == "DELETED":
            b.pop((ns, name), None)
        else:
            b[(ns, name)] = obj
        ev = Event(self.rv, typ, rt.key, ns, name, obj, prev)
        self.history.append(ev)
        self.history_rvs.append(self.rv)
        if len(self.history) > self.history_size:
            drop = len(self.history) - self.history_size
            self.window_start = self.history[drop - 1].rv
            del self.history[:drop]
            del self.history_rvs[:drop]
        for hook in self.commit_hooks:
            hook(typ, rt, obj)
        self.cond.notify_all()
        self._q.put((typ, rt, obj))
        self._dirty.set()
        return obj

    def _dispatch(self):
        while True:
            typ, rt, obj = self._q.get()
            for cb in list(self._subs):
                try:
                    cb(typ, rt, self._out(rt, obj))
                except Exception as e:  # a broken subscriber must not stop the others
                    self.sim.log("subscriber error: %r", e)

    def subscribe(self, callback):
        self._subs.append(callback)

        def unsubscribe():
            if callback in self._subs:
                self._subs.remove(callback)
        return unsubscribe

    # ------------------------------------------------------------ reads
    def get(self, rt, namespace, name):
        with self.lock:
            o = self._bucket(rt).get((namespace or "" if rt.namespaced else "", name))
            if o is None:
                raise errors.not_found(rt, name)
            return self._out(rt, o)

    def get_or_none(self, rt, namespace, name):
        try:
            return self.get(rt, namespace, name)
        except errors.ApiError:
            return None

    def list(self, rt, namespace=None):
        with self.lock:
            return [self._out(rt, o) for (ns, n), o in sorted(self._bucket(rt).items())
                    if not namespace or ns == namespace]

    def snapshot(self, rt, namespace=None, at_rv=None):
        """(items, rv) at at_rv (None: now). Raises 410 when at_rv is older than the kept history."""
        with self.lock:
            cur = dict(self._bucket(rt))
            if at_rv is not None and at_rv < self.rv:
                if at_rv < self.window_start:
                    raise errors.expired("The resourceVersion for the provided list is too old.")
                i = bisect.bisect_right(self.history_rvs, at_rv)
                for ev in reversed(self.history[i:]):
                    if ev.key != rt.key:
                        continue
                    if ev.prev is None:
                        cur.pop((ev.ns, ev.name), None)
                    else:
                        cur[(ev.ns, ev.name)] = ev.prev
                rv = at_rv
            else:
                rv = self.rv
            items = [self._out(rt, o) for (ns, n), o in sorted(cur.items()) if not namespace or ns == namespace]
            return items, rv

    def events_since(self, rt, since_rv):
        """Events for rt's storage after since_rv. Raises 410 Expired if that is before the window."""
        with self.lock:
            if since_rv < self.window_start:
                raise errors.expired("too old resource version: %d (%d)" % (since_rv, self.window_start))
            i = bisect.bisect_right(self.history_rvs, since_rv)
            return [ev for ev in self.history[i:] if ev.key == rt.key], self.rv

    def compact(self):
        """Forget all history (the next watch from an older resourceVersion gets 410)."""
        with self.lock:
            self.window_start = self.rv
            self.history = []
            self.history_rvs = []
            self.cond.notify_all()
            return self.rv

    # ------------------------------------------------------------ writes
    def _check_namespace(self, rt, ns, creating):
        if not rt.namespaced:
            return
        nsrt = self.sim.registry.by_resource("", "namespaces")
        nso = self._bucket(nsrt).get(("", ns))
        if nso is None:
            raise errors.ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                                  {"name": ns, "kind": "namespaces"})
        if creating and nso["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(rt.group, rt.resource, "",
                                   "unable to create new content in namespace %s because it is being terminated"
                                   % ns)

    def _validate_name(self, rt, obj):
        name = obj["metadata"].get("name") or ""
        causes = []
        rule = "label" if (rt.group == "" and rt.resource == "namespaces") else rt.name_rule
        if rule == "path":
            for bad in ("/", "%"):
                if bad in name:
                    causes.append(errors.cause("metadata.name", "FieldValueInvalid", 'Invalid value: "%s": may not '
                                               "contain '%s'" % (name, bad)))
            if name in (".", ".."):
                causes.append(errors.cause("metadata.name", "FieldValueInvalid", 'Invalid value: "%s": may not be '
                                           "'%s'" % (name, name)))
            return causes + metavalidation.validate_meta(obj.get("metadata"))
        pattern, msg, mx = (DNS1123_LABEL, LABEL_MSG, 63) if rule == "label" else (DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253)
        if not pattern.match(name):
            causes.append(errors.cause("metadata.name", "FieldValueInvalid", 'Invalid value: "%s": %s' % (name, msg)))
        elif len(name) > mx:
            causes.append(errors.cause("metadata.name", "FieldValueInvalid", 'Invalid value: "%s": must be no more '
                                       "than %d characters" % (name, mx)))
        return causes + metavalidation.validate_meta(obj.get("metadata"))

    def _run_hooks(self, rt, op, obj, old, warnings, field_validation):
        knownfields.check(rt, obj, warnings, field_validation)
        if rt.defaults:
            rt.defaults(obj)
        if op == "CREATE" and rt.on_create:
            rt.on_create(self.sim, obj)
        if op == "UPDATE" and rt.on_update:
            rt.on_update(self.sim, old, obj)
        for fn in list(self.sim.admission):
            fn(self.sim, rt, op, obj, old)
        causes = []
        if rt.validate:
            causes.extend(rt.validate(rt, obj, old, warnings=warnings, field_validation=field_validation) or [])
        return causes

    def create(self, rt, obj, user="system:admin", warnings=None, field_validation="Ignore", dry_run=False):
        obj = copy.deepcopy(obj)
        if rt.convert_in:
            obj = rt.convert_in(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        for k in SYSTEM_META:
            meta.pop(k, None)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        with self.lock:
            if rt.namespaced:
                ns = meta.get("namespace") or "default"
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
                ns = ""
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + gen_suffix()
                else:
                    raise errors.invalid(rt, "", [errors.cause(
                        "metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
            name = meta["name"]
            if rt.storage and (ns, name) in self._bucket(rt):
                raise errors.already_exists(rt, name)
            self._check_namespace(rt, ns, True)
            if "status" in rt.subresources and rt.crd is not None:
                obj.pop("status", None)
            causes = self._validate_name(rt, obj)
            causes += self._run_hooks(rt, "CREATE", obj, None, warnings, field_validation)
            if causes:
                raise errors.invalid(rt, name, causes)
            meta = obj["metadata"]
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_ts()
            if rt.has_generation:
                meta["generation"] = 1
            if dry_run:
                o = copy.deepcopy(obj)
                o["metadata"]["resourceVersion"] = str(self.rv)
                return o
            stored = self._commit(rt, "ADDED", ns, name, obj, None)
            return self._out(rt, stored)

    def update(self, rt, obj, subresource=None, warnings=None, field_validation="Ignore", dry_run=False,
               user="system:admin"):
        obj = copy.deepcopy(obj)
        if rt.convert_in:
            obj = rt.convert_in(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        with self.lock:
            ns = (meta.get("namespace") or "default") if rt.namespaced else ""
            if rt.namespaced:
                meta["namespace"] = ns
            old = self._bucket(rt).get((ns, name))
            if old is None:
                raise errors.not_found(rt, name)
            want_rv = meta.get("resourceVersion")
            if want_rv and want_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(rt, name)
            new = self._merge_for_update(rt, old, obj, subresource)
            causes = self._run_hooks(rt, "UPDATE", new, copy.deepcopy(old), warnings, field_validation)
            causes = metavalidation.validate_meta(new.get("metadata")) + causes + self._finalizer_rules(old, new)
            if causes:
                raise errors.invalid(rt, name, causes)
            if rt.has_generation and subresource is None:
                g = old["metadata"].get("generation", 1)
                new["metadata"]["generation"] = g + 1 if rt.bumps_generation(self._cmp(old), self._cmp(new)) else g
            new["apiVersion"] = rt.api_version
            new["kind"] = rt.kind
            if self._same(old, new):
                return self._out(rt, old)
            if dry_run:
                return self._out(rt, new)
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") and \
                    not self._ns_finalizers(rt, new):
                new["metadata"].pop("finalizers", None)
                stored = self._commit(rt, "DELETED", ns, name, new, old)
                out = self._out(rt, stored)
                out["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                return out
            stored = self._commit(rt, "MODIFIED", ns, name, new, old)
            return self._out(rt, stored)

    @staticmethod
    def _cmp(o):
        o = copy.deepcopy(o)
        o.get("metadata", {}).pop("resourceVersion", None)
        o.get("metadata", {}).pop("managedFields", None)
        return o

    def _same(self, a, b):
        return self._cmp(a) == self._cmp(b)

    @staticmethod
    def _ns_finalizers(rt, obj):
        return rt.group == "" and rt.resource == "namespaces" and (obj.get("spec") or {}).get("finalizers")

    def _finalizer_rules(self, old, new):
        if not old["metadata"].get("deletionTimestamp"):
            return []
        added = [f for f in (new["metadata"].get("finalizers") or []) if f not in
                 (old["metadata"].get("finalizers") or [])]
        if added:
            return [errors.cause("metadata.finalizers", "FieldValueForbidden",
                                 "Forbidden: no new finalizers can be added if the object is being deleted, "
                                 "found new finalizers []string{%s}" % ", ".join('"%s"' % f for f in added))]
        return []

    def _merge_for_update(self, rt, old, obj, subresource):
        meta = obj["metadata"]
        om = old["metadata"]
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if k in om:
                meta[k] = om[k]
            else:
                meta.pop(k, None)
        meta.pop("selfLink", None)
        meta.pop("managedFields", None)
        meta["resourceVersion"] = om.get("resourceVersion")
        has_status = "status" in rt.subresources
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            nm = copy.deepcopy(meta)
            for k in rt.status_resets_meta:
                if k in om:
                    nm[k] = copy.deepcopy(om[k])
                else:
                    nm.pop(k, None)
            new["metadata"] = nm
            return new
        new = obj
        if has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def delete(self, rt, namespace, name, preconditions=None, dry_run=False):
        obj, _ = self.delete_ex(rt, namespace, name, preconditions, dry_run)
        return obj

    def delete_ex(self, rt, namespace, name, preconditions=None, dry_run=False):
        """Returns (object, gone). gone is False when finalizers keep the object."""
        ns = (namespace or "default") if rt.namespaced else ""
        with self.lock:
            old = self._bucket(rt).get((ns, name))
            if old is None:
                raise errors.not_found(rt, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
                raise errors.conflict(rt, name, "Precondition failed: UID in precondition: %s, UID in object "
                                      "meta: %s" % (pre["uid"], old["metadata"].get("uid")))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"].get("resourceVersion"):
                raise errors.conflict(rt, name, "Precondition failed: ResourceVersion in precondition: %s, "
                                      "ResourceVersion in object meta: %s"
                                      % (pre["resourceVersion"], old["metadata"].get("resourceVersion")))
            if old["metadata"].get("finalizers") or self._ns_finalizers(rt, old):
                if old["metadata"].get("deletionTimestamp"):
                    return self._out(rt, old), False
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = now_ts()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                if rt.has_generation and new["metadata"].get("generation", 0) > 0:
                    new["metadata"]["generation"] += 1
                if rt.group == "" and rt.resource == "namespaces":
                    new.setdefault("status", {})["phase"] = "Terminating"
                if dry_run:
                    return self._out(rt, new), False
                return self._out(rt, self._commit(rt, "MODIFIED", ns, name, new, old)), False
            if dry_run:
                return self._out(rt, old), True
            stored = self._commit(rt, "DELETED", ns, name, old, old)
            return self._out(rt, stored), True

    def drop_all(self, rt):
        """Remove every object of a storage (CRD deletion) with DELETED events."""
        with self.lock:
            for (ns, name), o in sorted(self._bucket(rt).items()):
                self._commit(rt, "DELETED", ns, name, o, o)
            self.objects.pop(rt.key, None)

    # ------------------------------------------------------------ persistence
    def dump(self):
        with self.lock:
            objs = []
            for (g, r), b in self.objects.items():
                for (ns, n), o in b.items():
                    objs.append({"group": g, "resource": r, "object": o})
            return {"resourceVersion": self.rv, "meta": self.meta, "objects": objs}

    def load(self, data, register_crd):
        with self.lock:
            self.rv = int(data.get("resourceVersion", self.rv))
            self.window_start = self.rv
            self.meta = dict(data.get("meta") or {})
            crds = [e for e in data.get("objects", []) if e["group"] == "apiextensions.k8s.io"]
            for e in crds:
                register_crd(e["object"])
            for e in data.get("objects", []):
                o = e["object"]
                m = o.get("metadata", {})
                self.objects.setdefault((e["group"], e["resource"]), {})[(m.get("namespace", ""), m["name"])] = o

    def save(self, path):
        with self._save_lock:          # the persistence thread and the final flush may race
            data = self.dump()
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)

    def start_persistence(self, path, stop_event):
        self.state_file = path

        def loop():
            while not stop_event.is_set():
                if self._dirty.wait(0.2):
                    self._dirty.clear()
                    try:
                        self.save(path)
                    except OSError as e:
                        self.sim.log("cannot save state: %s", e)
        threading.Thread(target=loop, name="store-persist", daemon=True).start()

    def flush(self):
        if self.state_file:
            self.save(self.state_file)
