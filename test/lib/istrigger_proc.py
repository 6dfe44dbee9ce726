"""Run `istrigger run` (the operator) as a subprocess in tests, and read its metrics.

    op = Operator(workdir, kubeconfig, args=["--minimum-interval", "1s"]).start()
    op.metrics()                       # {("istrigger_polls_total", (("registry", "..."), ...)): 3.0}
    op.metric_sum("istrigger_registry_requests_total", method="HEAD")
    op.stop()                          # SIGTERM, waits; op.kill() sends SIGKILL

The binary is $ISTRIGGER_BIN (default build/istrigger); logs go to WORKDIR/istrigger-NAME.log.
Standard library only."""
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
BIN = os.environ.get("ISTRIGGER_BIN", str(REPO / "build" / "istrigger"))

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text):
    """Prometheus text format -> {(name, ((label, value), ...sorted)): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


class Operator:
    def __init__(self, workdir, kubeconfig, args=(), env=None, name="op"):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = str(kubeconfig)
        self.args = list(args)
        self.env = env or {}
        self.name = name
        self.port = free_port()
        self.proc = None
        self.log_path = self.workdir / ("istrigger-%s.log" % name)

    def argv(self):
        # Outside a pod the tests read /metrics without a token unless they ask for auth
        # (`--auth kubernetes` is the operator's default).
        auth = [] if any(a.startswith("--auth") for a in self.args) else ["--auth", "none"]
        return [BIN, "run", "--kubeconfig", self.kubeconfig, "--listen",
                "127.0.0.1:%d" % self.port, "--identity", self.name, "-v"] + auth + self.args

    def start(self, timeout=20):
        self._log = open(self.log_path, "ab")
        env = dict(os.environ, **self.env)
        self.proc = subprocess.Popen(self.argv(), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("istrigger exited with %d:\n%s" % (self.proc.returncode,
                                                                      self.log()[-4000:]))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port,
                                            timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("istrigger did not become healthy:\n" + self.log()[-4000:])

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop the process; returns its exit code (negative for a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self._log.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def metrics_text(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as r:
            return r.read().decode()

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def metric_sum(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        for (n, ls), v in self.metrics().items():
            d = dict(ls)
            if n == name and all(d.get(k) == str(want) for k, want in labels.items()):
                total += v
        return total

    def metric_series(self, name):
        """{labels dict as sorted tuple: value} of one metric."""
        return {ls: v for (n, ls), v in self.metrics().items() if n == name}

    def api(self, path):
        import json
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
            return json.loads(r.read().decode())
