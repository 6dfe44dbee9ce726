"""Shared pieces of okdsim's OpenShift tests: an `okd_env` fixture with a real docker-registry
(plain HTTP) and an okdsim, plus helpers to push hand-built images, wait for the image-import
controller to settle and poll for a condition."""
import pathlib
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "lib"))

import registry as reglib  # noqa: E402
from okdsim_fixture import OkdSim  # noqa: E402

IMAGE_API = "/apis/image.openshift.io/v1"


class Env:
    def __init__(self, tmp, registry, sim):
        self.tmp = pathlib.Path(tmp)
        self.registry = registry
        self.sim = sim
        self._n = 0

    def request(self, method, path, body=None, headers=None):
        return self.sim.request(method, path, body, headers)

    def watch(self, path):
        return list(self.sim.watch(path))

    def kubectl(self, *args, **kw):
        return self.sim.kubectl(*args, **kw)

    def push_image(self, repo, tag, content, registry=None, **kw):
        """Build a one-layer image with `content` and push it to repo:tag; returns its digest."""
        reg = registry or self.registry
        self._n += 1
        img = reglib.make_image(self.tmp / ("img%d" % self._n), content, **kw)
        return reglib.push(img, reg.ref(repo, tag), reg)

    def push_index(self, repo, tag, platforms, registry=None):
        reg = registry or self.registry
        self._n += 1
        idx = reglib.make_index(self.tmp / ("idx%d" % self._n), platforms,
                                content="%s %d" % (repo, self._n))
        reglib.push(idx, reg.ref(repo, tag), reg)
        return idx

    def create_namespace(self, ns):
        code, _, body = self.request("POST", "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        assert code == 201, body

    def stream(self, ns, name):
        code, _, body = self.request("GET", "%s/namespaces/%s/imagestreams/%s"
                                     % (IMAGE_API, ns, name))
        assert code == 200, body
        return body

    def create_stream(self, ns, name, tags, **spec):
        body = {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                "metadata": {"name": name}, "spec": dict(spec, tags=tags)}
        code, _, out = self.request("POST", "%s/namespaces/%s/imagestreams" % (IMAGE_API, ns), body)
        assert code == 201, out
        return out

    def isi(self, ns, name, images, do_import=True, **meta):
        body = {"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
                "metadata": dict(meta, name=name),
                "spec": {"import": do_import, "images": images}}
        return self.request("POST", "%s/namespaces/%s/imagestreamimports" % (IMAGE_API, ns), body)


def wait_for(fn, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def _observed(stream, tag):
    gen = 0
    for t in (stream.get("status") or {}).get("tags") or []:
        if t.get("tag") == tag:
            items = t.get("items") or []
            if items:
                gen = items[0].get("generation") or 0
            for c in t.get("conditions") or []:
                if c.get("type") == "ImportSuccess":
                    gen = max(gen, c.get("generation") or 0)
    return gen


def settle(env, ns, name, timeout=10):
    """Wait until the import controller has caught up with every importable tag."""
    def caught_up():
        s = env.stream(ns, name)
        for t in (s.get("spec") or {}).get("tags") or []:
            if (t.get("from") or {}).get("kind") != "DockerImage" or t.get("reference"):
                continue
            if (t.get("generation") or 0) > _observed(s, t["name"]):
                return False
        return s
    return wait_for(caught_up, timeout, what="imports of %s/%s" % (ns, name))


def start_env(tmp_path, *extra_args, registry=None, registry_kw=None, sim_kw=None):
    """okdsim (+ a plain-HTTP registry unless `registry` is given; a given one is not stopped
    by stop_env)."""
    own = registry is None
    reg = registry or reglib.Registry(pathlib.Path(tmp_path) / "registry",
                                      **(registry_kw or {})).start()
    args = ["--trigger-resync-interval", "0.5s"] + list(extra_args)
    try:
        sim = OkdSim(pathlib.Path(tmp_path) / "okdsim", extra_args=args, **(sim_kw or {})).start()
    except Exception:
        if own:
            reg.stop()
        raise
    env = Env(tmp_path, reg, sim)
    env.owns_registry = own
    return env


def stop_env(env):
    env.sim.stop()
    if getattr(env, "owns_registry", True):
        env.registry.stop()


@pytest.fixture
def okd_env(tmp_path):
    env = start_env(tmp_path)
    try:
        yield env
    finally:
        stop_env(env)
