"""Helpers for the Kubernetes-client integration tests: run build/kubetool (the C client's test
driver, next to ISTRIGGER_BIN so the ASan build is used when the suite runs under sanitizers)
against okdsim, and start okdsim with TLS + bearer token or TLS + client certificates."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "test" / "okdsim" / "tests"))
from okdsim_fixture import OkdSim, make_pki  # noqa: E402


def kubetool_path():
    binary = os.environ.get("ISTRIGGER_BIN", str(REPO / "build" / "istrigger"))
    return str(pathlib.Path(binary).resolve().parent / "kubetool")


def sanitizer_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


def check_sanitizers(stderr):
    for marker in ("LeakSanitizer", "AddressSanitizer", "runtime error:"):
        assert marker not in stderr, stderr[-4000:]


class KubeTool:
    """Runs kubetool with a kubeconfig. run() for one-shot commands (returns the parsed last
    JSON line, or raises with the output); start() for long-running ones (informer, leader)."""

    def __init__(self, kubeconfig, extra=(), env=None):
        self.kubeconfig = str(kubeconfig) if kubeconfig else None
        self.extra = list(extra)
        self.env = env

    def argv(self, *args):
        kc = ["--kubeconfig", self.kubeconfig] if self.kubeconfig else []
        return [kubetool_path()] + kc + self.extra + [str(a) for a in args]

    def run(self, *args, input=None, expect_ok=True, timeout=60):
        data = input if input is None or isinstance(input, str) else json.dumps(input)
        p = subprocess.run(self.argv(*args), input=data, capture_output=True, text=True, timeout=timeout,
                           env=dict(sanitizer_env(), **(self.env or {})))
        check_sanitizers(p.stderr)
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        out = json.loads(lines[-1]) if lines else None
        if expect_ok:
            assert p.returncode == 0, "kubetool %s: rc=%d\n%s\n%s" % (args, p.returncode, p.stdout, p.stderr[-3000:])
        else:
            assert p.returncode == 1, "kubetool %s unexpectedly rc=%d: %s %s" % (args, p.returncode, p.stdout,
                                                                                 p.stderr[-2000:])
        return out

    def start(self, *args):
        return Running(self.argv(*args), self.env)


class Running:
    """A long-running kubetool: lines are collected by a reader thread."""

    def __init__(self, argv, env=None):
        import threading
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(sanitizer_env(), **(env or {})))
        self.lines = []
        self.stderr = ""
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.te = threading.Thread(target=self._read_err, daemon=True)
        self.te.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
                with self.lock:
                    self.lines.append(json.loads(line))

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def events(self):
        with self.lock:
            return list(self.lines)

    def wait_for(self, pred, timeout=30, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ev in self.events():
                if pred(ev):
                    return ev
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; got %s\nstderr: %s" % (what, self.events()[-20:],
                                                                              self.stderr[-3000:]))

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("kubetool did not stop on SIGTERM within %ss" % timeout)
        self.t.join(5)
        self.te.join(5)
        check_sanitizers(self.stderr)
        assert self.proc.returncode == 0, "kubetool exited %d: %s" % (self.proc.returncode, self.stderr[-3000:])
        return self.events()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def start_tls_token_sim(workdir, **kw):
    """okdsim over HTTPS demanding a bearer token; its kubeconfig uses the token."""
    return OkdSim(workdir, tls=True, token="kube-client-test-token", **kw).start()


def start_tls_cert_sim(workdir):
    """okdsim over HTTPS accepting client certificates; returns (sim, kubeconfig path) where the
    kubeconfig authenticates with client-certificate-data / client-key-data."""
    import base64
    workdir = pathlib.Path(workdir)
    pki = make_pki(workdir / "pki", client_cns=["admin/system:masters"])
    sim = OkdSim(workdir, tls=True, client_ca=pki["ca"], pki=pki).start()
    crt, key = pki["clients"]["admin/system:masters"]
    b64 = lambda p: base64.b64encode(pathlib.Path(p).read_bytes()).decode()
    kc = workdir / "kubeconfig-cert"
    kc.write_text("\n".join([
        "apiVersion: v1",
        "kind: Config",
        "current-context: cert",
        "clusters:",
        "- name: okdsim",
        "  cluster:",
        "    server: %s" % sim.url,
        "    certificate-authority-data: %s" % b64(pki["ca"]),
        "contexts:",
        "- name: cert",
        "  context: {cluster: okdsim, user: admin, namespace: default}",
        "users:",
        "- name: admin",
        "  user:",
        "    client-certificate-data: %s" % b64(crt),
        "    client-key-data: %s" % b64(key),
        ""]))
    return sim, kc
