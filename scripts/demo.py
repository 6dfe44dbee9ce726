#!/usr/bin/python3
"""make demo: istrigger end to end on this machine, narrated with real timings.

It starts a local registry (Debian's docker-registry) and okdsim (the OKD stand-in), creates the
seed scenario (an ImageStream tracking the registry, a Deployment, an ImageTrigger, a poll
interval of a few seconds), starts `istrigger run`, pushes a new image and tells what happened
and when. Everything binds to 127.0.0.1 and is removed at the end (Ctrl-C included).

DEMO_NONINTERACTIVE=1 exits 0 after the story (non-zero if a step failed) instead of waiting
for Ctrl-C with the environment left up for poking around.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test" / "lib"))
import registry as reglib  # noqa: E402  (test/lib/registry.py)

NS = "theses"
APP = "theses-api-diffusion"
TAG = "develop-api-diffusion"
POLL = "2s"
BIN = os.environ.get("ISTRIGGER_BIN", str(ROOT / "build" / "istrigger"))
NONINTERACTIVE = os.environ.get("DEMO_NONINTERACTIVE") == "1"
T_START = time.monotonic()


class DemoError(Exception):
    pass


def say(msg, *args):
    print("[%6.1fs] %s" % (time.monotonic() - T_START, msg % args if args else msg), flush=True)


def short(digest):
    return digest.split(":", 1)[-1][:12] if digest else "-"


class Demo:
    def __init__(self):
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="istrigger-demo-"))
        self.procs = []
        self.registry = None
        self.kubeconfig = self.work / "kubeconfig"
        self.api_url = None
        self.listen = None

    # ---------------------------------------------------------------- processes
    def spawn(self, name, argv, ready_pattern=None, timeout=30):
        log = open(self.work / (name + ".log"), "w+")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        self.procs.append((name, proc, log))
        if not ready_pattern:
            return proc, None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DemoError("%s exited with %s:\n%s" % (name, proc.returncode,
                                                            self.tail(name)))
            m = re.search(ready_pattern, (self.work / (name + ".log")).read_text())
            if m:
                return proc, m
            time.sleep(0.1)
        raise DemoError("%s did not become ready in %ds:\n%s" % (name, timeout, self.tail(name)))

    def tail(self, name, n=20):
        path = self.work / (name + ".log")
        lines = path.read_text().splitlines() if path.exists() else []
        return "\n".join(lines[-n:])

    def cleanup(self):
        for name, proc, log in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            log.close()
        if self.registry:
            self.registry.stop()
        if os.environ.get("DEMO_KEEP_WORKDIR") != "1":
            shutil.rmtree(self.work, ignore_errors=True)

    # ---------------------------------------------------------------- kubectl
    def kubectl(self, *args, stdin=None, check=True):
        res = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig)] + list(args),
                             input=stdin, capture_output=True, text=True, timeout=60)
        if check and res.returncode != 0:
            raise DemoError("kubectl %s failed: %s" % (" ".join(args), res.stderr.strip()))
        return res.stdout

    def get_json(self, *args):
        out = self.kubectl("get", "-o", "json", *args, check=False)
        return json.loads(out) if out.strip() else None

    def wait_for(self, what, fn, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = fn()
            if value:
                return value
            time.sleep(0.1)
        raise DemoError("timed out after %ds waiting for %s" % (timeout, what))

    def tag_image(self):
        stream = self.get_json("imagestream", APP, "-n", NS)
        for tag in (stream or {}).get("status", {}).get("tags") or []:
            if tag.get("tag") == TAG and tag.get("items"):
                return tag["items"][0].get("image")
        return None

    def deployment_image(self):
        dep = self.get_json("deployment", APP, "-n", NS)
        if not dep:
            return None, None
        containers = dep["spec"]["template"]["spec"]["containers"]
        rev = dep["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision")
        return containers[0]["image"], rev

    # ---------------------------------------------------------------- the story
    def run(self):
        say("istrigger demo: working directory %s", self.work)
        self.registry = reglib.Registry(self.work / "registry").start()
        say("registry: Debian docker-registry serving %s", self.registry.url)

        v1 = reglib.make_image(self.work / "img-v1", "theses-api-diffusion build 1")
        d1 = reglib.push(v1["path"], self.registry.ref(APP, TAG), self.registry)
        say("pushed build 1 as %s (sha256:%s)", self.registry.ref(APP, TAG), short(d1))

        _, m = self.spawn("okdsim", ["/usr/bin/python3", str(ROOT / "test/okdsim/okdsim.py"),
                                     "--listen", "127.0.0.1:0",
                                     "--write-kubeconfig", str(self.kubeconfig),
                                     "--scheduled-import-interval", "15m"],
                          ready_pattern=r"(https?://127\.0\.0\.1:\d+)")
        self.api_url = m.group(1)
        say("okdsim (OKD stand-in) API server at %s; OpenShift's scheduled import every 15m",
            self.api_url)

        for crd in sorted((ROOT / "crds").glob("istrigger.io_*.yaml")):
            self.kubectl("apply", "-f", str(crd))
        self.kubectl("create", "namespace", NS)
        source = self.registry.ref(APP, TAG)
        self.kubectl("apply", "-f", "-", stdin=json.dumps({
            "apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": APP, "namespace": NS},
            "spec": {"tags": [{"name": TAG, "from": {"kind": "DockerImage", "name": source},
                               "importPolicy": {"insecure": True},
                               "referencePolicy": {"type": "Source"}}]}}))
        self.wait_for("the first import of %s:%s" % (APP, TAG),
                      lambda: self.tag_image() == d1, 30)
        say("ImageStream %s/%s imported %s = sha256:%s (OpenShift's import on create)", NS, APP,
            TAG, short(d1))

        self.kubectl("apply", "-f", "-", stdin=json.dumps({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": APP, "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": APP}},
                     "template": {"metadata": {"labels": {"app": APP}},
                                  "spec": {"containers": [{"name": APP,
                                                           "image": APP + ":" + TAG}]}}}}))
        self.kubectl("apply", "-f", "-", stdin=json.dumps({
            "apiVersion": "istrigger.io/v1alpha1", "kind": "ImageTrigger",
            "metadata": {"name": APP, "namespace": NS},
            "spec": {"target": {"kind": "Deployment", "name": APP},
                     "triggers": [{"from": {"kind": "ImageStreamTag", "name": APP + ":" + TAG},
                                   "containers": [APP]}]}}))
        self.kubectl("annotate", "imagestream", APP, "-n", NS,
                     "istrigger.io/poll-interval=" + POLL)
        say("created Deployment %s, ImageTrigger %s, and annotated is/%s "
            "istrigger.io/poll-interval=%s", APP, APP, APP, POLL)

        port = reglib.free_port()
        self.listen = "127.0.0.1:%d" % port
        self.spawn("istrigger", [BIN, "run", "--kubeconfig", str(self.kubeconfig),
                                 "--listen", self.listen, "--auth", "none",
                                 "--minimum-interval", "1s"])
        self.wait_for("istrigger to become ready", self.ready, 30)
        say("istrigger running: status page http://%s/ , metrics http://%s/metrics",
            self.listen, self.listen)

        ann = self.wait_for("the triggers annotation", lambda: (self.get_json(
            "deployment", APP, "-n", NS) or {}).get("metadata", {}).get("annotations", {}).get(
            "image.openshift.io/triggers"), 30)
        say("ImageTrigger wrote image.openshift.io/triggers = %s", ann)
        img, rev = self.wait_for("the Deployment to run build 1",
                                 lambda: self.deployment_image()[0].endswith(d1)
                                 and self.deployment_image(), 30)
        say("Deployment %s runs %s (revision %s: OpenShift's trigger controller replaced the "
            "image %s:%s it was created with by the tag's digest)", APP, img, rev, APP, TAG)
        self.before = img

        v2 = reglib.make_image(self.work / "img-v2", "theses-api-diffusion build 2")
        t_push = time.monotonic()
        d2 = reglib.push(v2["path"], self.registry.ref(APP, TAG), self.registry)
        t_pushed = time.monotonic()
        say("pushed build 2 (sha256:%s) in %.1fs", short(d2), t_pushed - t_push)
        self.wait_for("ImageStream to import build 2", lambda: self.tag_image() == d2, 60)
        t_imported = time.monotonic()
        say("istrigger saw the new digest and imported it: ImageStream tag now sha256:%s, "
            "%.1fs after the push", short(d2), t_imported - t_pushed)
        img, rev2 = self.wait_for("the Deployment to roll out build 2",
                                  lambda: self.deployment_image()[0].endswith(d2)
                                  and self.deployment_image(), 60)
        t_rolled = time.monotonic()
        say("Deployment %s rolled out to %s (revision %s -> %s), %.1fs after the push",
            APP, img, rev, rev2, t_rolled - t_pushed)
        say("OpenShift's own scheduled import would have taken up to 15 minutes; "
            "istrigger took %.1fs with a %s poll interval.", t_rolled - t_pushed, POLL)
        say("what istrigger told the cluster (kubectl get events -n %s):", NS)
        print(self.kubectl("get", "events", "-n", NS), flush=True)
        summary = os.environ.get("DEMO_SUMMARY")
        if summary:
            pathlib.Path(summary).write_text(json.dumps({
                "build1": d1, "build2": d2, "image_before": self.before, "image_after": img,
                "revision_before": rev, "revision_after": rev2,
                "push_to_import_seconds": round(t_imported - t_pushed, 3),
                "push_to_rollout_seconds": round(t_rolled - t_pushed, 3)}, indent=2))
        return 0

    def ready(self):
        import urllib.request
        try:
            with urllib.request.urlopen("http://%s/readyz" % self.listen, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False


def main():
    demo = Demo()

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell may start us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rc = 1
    try:
        rc = demo.run()
        if not NONINTERACTIVE:
            print()
            print("The environment stays up until you press Ctrl-C (which removes all of it).")
            print("Look around from another terminal:")
            print("  export KUBECONFIG=%s" % demo.kubeconfig)
            print("  kubectl get is,deploy,imagetriggers -n %s" % NS)
            print("  kubectl describe imagetrigger %s -n %s" % (APP, NS))
            print("  curl -s http://%s/api/v1/sources" % demo.listen)
            print("  status page: http://%s/    metrics: http://%s/metrics" % (demo.listen,
                                                                              demo.listen))
            print("  logs: %s/istrigger.log, okdsim.log" % demo.work)
            print("  push build 1 again and watch the Deployment follow it back:")
            print("    skopeo copy --preserve-digests --dest-tls-verify=false oci:%s/img-v1 "
                  "docker://%s" % (demo.work, demo.registry.ref(APP, TAG)))
            print("(okdsim runs no pods: the Deployment stays 0/1 ready; its image is what "
                  "changes.)", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        say("interrupted; stopping istrigger, okdsim and the registry")
        rc = 0 if rc == 0 else 130
    except (DemoError, RuntimeError) as e:
        say("FAILED: %s", e)
        for name, _, _ in demo.procs:
            print("---- last lines of %s log ----\n%s" % (name, demo.tail(name)))
        rc = 1
    finally:
        demo.cleanup()
        say("cleaned up")
    return rc


if __name__ == "__main__":
    sys.exit(main())
