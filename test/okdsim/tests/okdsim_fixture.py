"""Start okdsim in a subprocess for tests, and talk to it (raw HTTP, watch streams, real kubectl).

    sim = OkdSim(tmp_path, tls=True, token="t0k3n").start()
    status, headers, body = sim.request("GET", "/api/v1/namespaces")
    res = sim.kubectl("get", "ns", "-o", "json")          # CompletedProcess (text)
    for ev in sim.watch("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=2"): ...
    sim.restart(); sim.stop()

Used by okdsim's own tests and by the OpenShift half's tests (okdsim-openshift)."""

import http.client
import json
import os
import pathlib
import select
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
OKDSIM = HERE.parent / "okdsim.py"
REPO = HERE.parent.parent.parent
sys.path.insert(0, str(REPO / "test" / "lib"))
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
PYTHON = os.environ.get("OKDSIM_PYTHON", "/usr/bin/python3")
# okdsim's own core tests check API semantics; the simulated OpenShift controllers (image import,
# triggers, deployment rollouts) write on their own schedule and have their own tests.
CORE = ["--no-openshift-controllers"]


def make_pki(directory, client_cns=()):
    """A CA, a server certificate for 127.0.0.1 and client certificates (CN = user; "user/group" adds
    an O). Returns a dict of paths: ca, ca_key, cert, key, clients={cn: (crt, key)}."""
    from registry import make_ca, make_cert
    d = pathlib.Path(directory)
    ca, ca_key = make_ca(d)
    cert, key = make_cert(d, ca, ca_key, name="server")
    clients = {}
    for i, spec in enumerate(client_cns):
        cn, _, org = spec.partition("/")
        subj_cn = cn if not org else "%s/O=%s" % (cn, org)
        clients[spec] = make_cert(d, ca, ca_key, name="client%d" % i, cn=subj_cn, client=True)
    return {"ca": ca, "ca_key": ca_key, "cert": cert, "key": key, "clients": clients}


class OkdSim:
    def __init__(self, workdir, tls=False, token=None, client_ca=None, rbac=False, state=None, extra_args=(),
                 pki=None, env=None):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.token = token
        self.client_ca = client_ca
        self.rbac = rbac
        self.state = state
        self.extra_args = list(extra_args)
        self.pki = pki
        self.env = env
        self.proc = None
        self.url = None
        self.port = 0
        self.kubeconfig = str(self.workdir / "kubeconfig")
        self.log_path = self.workdir / "okdsim.log"

    # ---- lifecycle
    def argv(self):
        a = [PYTHON, str(OKDSIM), "--listen", "127.0.0.1:%d" % self.port, "--write-kubeconfig", self.kubeconfig]
        if self.tls:
            if self.pki is None:
                self.pki = make_pki(self.workdir / "pki")
            a += ["--tls-cert", str(self.pki["cert"]), "--tls-key", str(self.pki["key"])]
        if self.client_ca:
            a += ["--client-ca", str(self.client_ca)]
        if self.token:
            a += ["--token", self.token]
        if self.rbac:
            a.append("--rbac")
        if self.state:
            a += ["--state", str(self.state)]
        return a + self.extra_args

    def start(self, timeout=15):
        self._log = open(self.log_path, "a")
        env = dict(os.environ, **(self.env or {}))
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        deadline = time.time() + timeout
        line = ""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line.startswith("okdsim ready on "):
                    break
                if not line:
                    break
            if self.proc.poll() is not None:
                break
        if not line.startswith("okdsim ready on "):
            self.stop()
            raise RuntimeError("okdsim did not start: %r\n%s" % (line, self.log_path.read_text()))
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
            self._log.close()

    def restart(self):
        """Stop and start again on the same port (objects survive only with state=FILE)."""
        self.stop()
        return self.start()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()

    # ---- raw HTTP
    def ssl_context(self, client_cert=None):
        ctx = ssl.create_default_context(cafile=str(self.pki["ca"]))
        if client_cert:
            ctx.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
        return ctx

    def connection(self, client_cert=None, timeout=30):
        u = urllib.parse.urlsplit(self.url)
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                               context=self.ssl_context(client_cert))
        return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=Ellipsis, client_cert=None, raw=False):
        """Returns (status, headers (an http.client.HTTPMessage), parsed JSON or text)."""
        h = {"Accept": "application/json"}
        tok = self.token if token is Ellipsis else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = self.connection(client_cert)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read().decode()
            if raw:
                return r.status, r.headers, text
            try:
                return r.status, r.headers, json.loads(text)
            except ValueError:
                return r.status, r.headers, text
        finally:
            c.close()

    def watch(self, path, token=Ellipsis, headers=None, timeout=30, on_open=None):
        """Yield watch events ({"type", "object"}) until the server ends the stream."""
        h = {"Accept": "application/json"}
        tok = self.token if token is Ellipsis else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        h.update(headers or {})
        c = self.connection(timeout=timeout)
        try:
            c.request("GET", path, headers=h)
            r = c.getresponse()
            if r.status != 200:
                raise RuntimeError("watch answered %d: %s" % (r.status, r.read()))
            if on_open:
                on_open(r)
            while True:
                line = r.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            c.close()

    # ---- control API
    def faults(self, *rules):
        return self.request("POST", "/_okdsim/faults", list(rules), token=None)[2]

    def requests(self, reset=False):
        if reset:
            return self.request("DELETE", "/_okdsim/requests", token=None)[2]
        return self.request("GET", "/_okdsim/requests", token=None)[2]

    # ---- kubectl
    def kubectl(self, *args, input=None, check=False, timeout=60, kubeconfig=None):
        argv = [KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig] + [str(a) for a in args]
        res = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                             env=dict(os.environ, HOME=str(self.workdir), KUBECACHEDIR=str(self.workdir / "cache")))
        if check and res.returncode != 0:
            raise AssertionError("kubectl %s failed (%d): %s%s" % (" ".join(map(str, args)), res.returncode,
                                                                   res.stdout, res.stderr))
        return res

    def kubectl_popen(self, *args, kubeconfig=None):
        argv = [KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig] + [str(a) for a in args]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, HOME=str(self.workdir),
                                         KUBECACHEDIR=str(self.workdir / "cache")))


def read_lines(proc, n, timeout=10):
    """Read up to n lines from a Popen's stdout (unbuffered, select-driven); returns what arrived in time."""
    fd = proc.stdout.fileno()
    buf, lines = b"", []
    deadline = time.time() + timeout
    while len(lines) < n and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf and len(lines) < n:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode())
    return lines


def start_okdsim(workdir, **kw):
    return OkdSim(workdir, **kw).start()
