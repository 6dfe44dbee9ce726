"""okdsim's stand-ins for openshift-controller-manager's image controllers and for the part of
the Kubernetes deployment controller tests look at:

- image-import (§1.2, §4): imports every importable tag whose spec generation is ahead of what
  was observed (new streams, changed `from`, generation reset to 0), asynchronously; and the
  scheduled import of `importPolicy.scheduled` tags every --scheduled-import-interval.
- image-trigger (§5): applies `image.openshift.io/triggers` on Deployments, StatefulSets,
  DaemonSets and CronJobs, reacting to store events and re-checking every
  --trigger-resync-interval (level-driven: manual edits of triggered images are reverted).
- deployment rollouts: when a Deployment's pod template changes, bump the
  `deployment.kubernetes.io/revision` annotation and set status.observedGeneration (written
  through /status, like the deployment controller, so generation is not bumped)."""
import copy
import hashlib
import json
import queue
import threading
import time

from .. import errors
from . import api, refs, streams, triggers

TRIGGER_KINDS = (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"),
                 ("batch", "cronjobs"))
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def parse_duration(s):
    """Go-style durations: 15m, 30s, 1h30m, 500ms, or a plain number of seconds."""
    s = str(s).strip()
    try:
        return float(s)
    except ValueError:
        pass
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total, num, i = 0.0, "", 0
    if not s:
        raise ValueError("empty duration")
    while i < len(s):
        c = s[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = "ms" if s[i:i + 2] == "ms" else c
        if unit not in units or not num:
            raise ValueError("invalid duration %r" % s)
        total += float(num) * units[unit]
        num = ""
        i += len(unit)
    if num:
        raise ValueError("missing unit in duration %r" % s)
    return total


class KeyQueue:
    """A de-duplicating work queue with delayed adds."""

    def __init__(self):
        self.q = queue.Queue()
        self.pending = set()
        self.lock = threading.Lock()
        self.delayed = []  # (due, key)

    def add(self, key):
        with self.lock:
            if key in self.pending:
                return
            self.pending.add(key)
        self.q.put(key)

    def add_after(self, key, delay):
        with self.lock:
            self.delayed.append((time.monotonic() + delay, key))

    def get(self, timeout):
        now = time.monotonic()
        due = []
        with self.lock:
            keep = []
            for d, k in self.delayed:
                (due if d <= now else keep).append((d, k))
            self.delayed = keep
        for _, k in due:
            self.add(k)
        try:
            key = self.q.get(timeout=timeout)
        except queue.Empty:
            return None
        with self.lock:
            self.pending.discard(key)
        return key


# ------------------------------------------------------------------------------------------


class ImportController:
    def __init__(self, sim, backend):
        self.sim = sim
        self.backend = backend
        self.queue = KeyQueue()
        self.interval = parse_duration(getattr(sim.options, "scheduled_import_interval", "15m"))
        self.next_scheduled = {}  # (ns, name) -> monotonic due time

    def _on_event(self, typ, rt, obj):
        if rt.group == api.GROUP and rt.resource == "imagestreams" and typ != "DELETED":
            md = obj.get("metadata") or {}
            self.queue.add((md.get("namespace"), md.get("name")))
        elif rt.group == api.GROUP and rt.resource == "imagestreams":
            md = obj.get("metadata") or {}
            self.next_scheduled.pop((md.get("namespace"), md.get("name")), None)

    def run(self, sim, stop):
        unsub = sim.store.subscribe(self._on_event)
        try:
            for s in self.backend.list_streams():
                self.queue.add((s["metadata"]["namespace"], s["metadata"]["name"]))
            last_resync = last_tick = time.monotonic()
            tick = max(0.2, min(1.0, self.interval / 4))
            while not stop.is_set():
                key = self.queue.get(0.2)
                if key is not None:
                    self.sync(key)
                now = time.monotonic()
                if now - last_tick >= tick:
                    last_tick = now
                    self.scheduled_tick(now)
                if now - last_resync > 30:
                    last_resync = now
                    for s in self.backend.list_streams():
                        self.queue.add((s["metadata"]["namespace"], s["metadata"]["name"]))
        finally:
            unsub()

    def _post(self, stream, tags):
        md = stream["metadata"]
        isi = {"apiVersion": api.API_VERSION, "kind": "ImageStreamImport",
               "metadata": {"name": md["name"], "namespace": md["namespace"],
                            "resourceVersion": md.get("resourceVersion"), "uid": md.get("uid")},
               "spec": {"import": True, "images": [
                   {"from": {"kind": "DockerImage", "name": t["from"]["name"]},
                    "to": {"name": t["name"]},
                    "importPolicy": copy.deepcopy(t.get("importPolicy") or {}),
                    "referencePolicy": copy.deepcopy(t.get("referencePolicy") or {})}
                   for t in tags]}}
        key = (md["namespace"], md["name"])
        try:
            self.backend.run_import(md["namespace"], isi,
                                    "system:serviceaccount:openshift-infra:image-import-controller")
        except errors.ApiError as e:
            if e.code == 409:
                self.queue.add_after(key, 0.2)
            elif e.code != 404:
                self.sim.log("image-import %s/%s: %s", key[0], key[1], e.message)
                self.queue.add_after(key, 2)
        # Importing pushes the stream's next scheduled check back (scheduler.Delay)
        if key in self.next_scheduled:
            self.next_scheduled[key] = time.monotonic() + self.interval

    def sync(self, key):
        stream = self.backend.get_stream(*key)
        if stream is None:
            return
        tags = [t for t in (stream.get("spec") or {}).get("tags") or []
                if streams.tag_needs_import(stream, t)]
        if tags:
            self._post(stream, tags)

    def scheduled_tick(self, now):
        if self.interval <= 0:
            return
        for s in self.backend.list_streams():
            key = (s["metadata"]["namespace"], s["metadata"]["name"])
            sched = [t for t in (s.get("spec") or {}).get("tags") or []
                     if streams.needs_scheduling(s, t)]
            if not sched:
                self.next_scheduled.pop(key, None)
                continue
            due = self.next_scheduled.get(key)
            if due is None:
                self.next_scheduled[key] = now + self.interval
                continue
            if now < due:
                continue
            self.next_scheduled[key] = now + self.interval
            work = copy.deepcopy(s)
            gen = (work["metadata"].get("generation") or 0) + 1
            for t in work["spec"]["tags"]:
                if streams.needs_scheduling(s, t):
                    t["generation"] = gen
            tags = [t for t in work["spec"]["tags"] if streams.tag_needs_import(work, t)]
            if tags:
                self._post(work, tags)


# ------------------------------------------------------------------------------------------


class TriggerController:
    def __init__(self, sim, backend):
        self.sim = sim
        self.backend = backend
        self.queue = KeyQueue()
        self.resync = parse_duration(getattr(sim.options, "trigger_resync_interval", "2s"))
        self.internal = api.internal_registry(sim)

    def _types(self):
        out = []
        for g, r in TRIGGER_KINDS:
            rt = self.sim.registry.by_resource(g, r)
            if rt is not None:
                out.append(rt)
        return out

    def resolve(self, ns, name_and_tag):
        name, tag, ok = refs.split_istag(name_and_tag)
        if not ok:
            return "", False
        stream = self.backend.get_stream(ns, name)
        if stream is None:
            return "", False
        return refs.resolve_latest_tagged_image(stream, tag, self.internal)

    def _on_event(self, typ, rt, obj):
        if typ == "DELETED":
            return
        md = obj.get("metadata") or {}
        if (rt.group, rt.resource) in TRIGGER_KINDS:
            ann = md.get("annotations") or {}
            if triggers.TRIGGER_ANNOTATION in ann:
                self.queue.add((rt.group, rt.resource, md.get("namespace"), md.get("name")))
        elif rt.group == api.GROUP and rt.resource == "imagestreams":
            self.enqueue_for_stream(md.get("namespace"), md.get("name"))

    def enqueue_all(self, only_stream=None):
        for rt in self._types():
            for o in self.sim.store.list(rt):
                md = o["metadata"]
                if triggers.TRIGGER_ANNOTATION not in (md.get("annotations") or {}):
                    continue
                if only_stream is not None and only_stream not in triggers.triggered_streams(o):
                    continue
                self.queue.add((rt.group, rt.resource, md.get("namespace"), md.get("name")))

    def enqueue_for_stream(self, ns, name):
        self.enqueue_all(only_stream=(ns, name))

    def sync(self, key):
        g, r, ns, name = key
        rt = self.sim.registry.by_resource(g, r)
        if rt is None:
            return
        obj = self.sim.store.get_or_none(rt, ns, name)
        if obj is None:
            return
        updated, err = triggers.update_object_from_images(obj, self.resolve)
        if err:
            if getattr(self.sim.options, "verbose", False):
                self.sim.log("image-trigger %s/%s %s: %s", r, ns, name, err)
            return
        if updated is None or updated == obj:
            return
        try:
            self.sim.store.update(rt, updated,
                                  user="system:serviceaccount:openshift-infra:"
                                       "image-trigger-controller")
        except errors.ApiError as e:
            if e.code == 409:
                self.queue.add_after(key, 0.1)
            elif e.code != 404:
                self.sim.log("image-trigger %s %s/%s: %s", r, ns, name, e.message)

    def run(self, sim, stop):
        unsub = sim.store.subscribe(self._on_event)
        try:
            self.enqueue_all()
            last = time.monotonic()
            while not stop.is_set():
                key = self.queue.get(0.2)
                if key is not None:
                    self.sync(key)
                now = time.monotonic()
                if self.resync > 0 and now - last >= self.resync:
                    last = now
                    self.enqueue_all()
        finally:
            unsub()


# ------------------------------------------------------------------------------------------


def template_hash(obj):
    tmpl = (obj.get("spec") or {}).get("template") or {}
    return hashlib.sha256(json.dumps(tmpl, sort_keys=True).encode()).hexdigest()


class RolloutController:
    """Records Deployment rollouts: revision annotation + status.observedGeneration.
    Template changes are counted from the store's events, in order, so a change that is
    immediately undone (a manual edit the trigger controller reverts) is still a rollout."""

    def __init__(self, sim):
        self.sim = sim
        self.queue = KeyQueue()
        self.lock = threading.Lock()
        self.known = {}  # uid -> [template hash, revision]

    def _observe(self, obj):
        md = obj.get("metadata") or {}
        h = template_hash(obj)
        try:
            cur = int(((md.get("annotations") or {}).get(REVISION_ANNOTATION)) or 0)
        except ValueError:
            cur = 0
        with self.lock:
            k = self.known.get(md.get("uid"))
            if k is None:
                self.known[md.get("uid")] = [h, cur or 1]
            elif k[0] != h:
                k[0] = h
                k[1] = max(k[1], cur) + 1

    def _on_event(self, typ, rt, obj):
        if (rt.group, rt.resource) != ("apps", "deployments"):
            return
        md = obj.get("metadata") or {}
        if typ == "DELETED":
            with self.lock:
                self.known.pop(md.get("uid"), None)
            return
        self._observe(obj)
        self.queue.add((md.get("namespace"), md.get("name")))

    def sync(self, key):
        rt = self.sim.registry.by_resource("apps", "deployments")
        obj = self.sim.store.get_or_none(rt, *key)
        if obj is None:
            return
        md = obj["metadata"]
        with self.lock:
            k = self.known.get(md.get("uid"))
            if k is None or k[0] != template_hash(obj):
                return  # an event for this version is on its way
            rev = k[1]
        gen = md.get("generation") or 1
        ann = md.get("annotations") or {}
        status = obj.get("status") or {}
        if status.get("observedGeneration") == gen and ann.get(REVISION_ANNOTATION) == str(rev):
            return
        new = copy.deepcopy(obj)
        if not new["metadata"].get("annotations"):
            new["metadata"]["annotations"] = {}
        new["metadata"]["annotations"][REVISION_ANNOTATION] = str(rev)
        if not new.get("status"):
            new["status"] = {}
        new["status"]["observedGeneration"] = gen
        try:
            self.sim.store.update(rt, new, subresource="status",
                                  user="system:serviceaccount:kube-system:deployment-controller")
        except errors.ApiError as e:
            if e.code == 409:
                self.queue.add_after(key, 0.05)

    def run(self, sim, stop):
        unsub = sim.store.subscribe(self._on_event)
        try:
            rt = sim.registry.by_resource("apps", "deployments")
            if rt is not None:
                for o in sim.store.list(rt):
                    self._observe(o)
                    self.queue.add((o["metadata"]["namespace"], o["metadata"]["name"]))
            while not stop.is_set():
                key = self.queue.get(0.2)
                if key is not None:
                    self.sync(key)
        finally:
            unsub()
