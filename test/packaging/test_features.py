"""The CSV's features.operators.openshift.io/proxy-aware annotation tells the truth: with the
variables OLM injects from the cluster Proxy (HTTPS_PROXY, NO_PROXY), istrigger's registry
requests go through the proxy, and hosts in NO_PROXY are reached directly. Measured with the
real binary (`istrigger resolve`, the same registry client the operator uses), a TLS
docker-registry and a CONNECT proxy, all on 127.0.0.1."""
import os
import socket
import subprocess
import threading

import pytest

from pkgtest import ROOT, csv  # noqa: F401 (fixtures)
from registry import Registry, make_image, push


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that records the targets it tunnelled to."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.targets = []
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        self.targets.append((method, target))
        host, port = target.rsplit(":", 1)
        if method != "CONNECT" or host != "127.0.0.1":  # never go anywhere but loopback
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            conn.close()
            return
        upstream = socket.create_connection((host, int(port)))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.stopped = True
        self.sock.close()


@pytest.fixture(scope="module")
def registry_with_image(tmp_path_factory):
    work = tmp_path_factory.mktemp("features")
    reg = Registry(work / "reg", tls=True).start()
    img = make_image(work / "img", "proxy test")
    digest = push(img["path"], reg.ref("app", "v1"), reg)
    yield reg, digest
    reg.stop()


def _resolve(reg, env_extra):
    binary = os.environ.get("ISTRIGGER_BIN") or str(ROOT / "build/istrigger")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(env_extra)
    return subprocess.run([binary, "resolve", "--ca-file", str(reg.ca_cert), reg.ref("app", "v1")],
                          capture_output=True, text=True, timeout=60, env=env)


def _csv_says(csv, feature):
    return csv["metadata"]["annotations"]["features.operators.openshift.io/" + feature]


def test_proxy_aware_claim_holds(csv, registry_with_image):
    reg, digest = registry_with_image
    proxy = ConnectProxy()
    try:
        res = _resolve(reg, {"HTTPS_PROXY": "http://127.0.0.1:%d" % proxy.port, "NO_PROXY": ".svc,.cluster.local"})
        went_through = res.returncode == 0 and res.stdout.strip() == digest and \
            ("CONNECT", reg.host) in proxy.targets
        assert _csv_says(csv, "proxy-aware") == ("true" if went_through else "false"), \
            (res.stdout, res.stderr, proxy.targets)
        assert went_through, "istrigger resolve did not use HTTPS_PROXY: %s %s" % (res.stderr, proxy.targets)

        proxy.targets.clear()
        res = _resolve(reg, {"HTTPS_PROXY": "http://127.0.0.1:%d" % proxy.port, "NO_PROXY": "127.0.0.1"})
        assert res.returncode == 0 and res.stdout.strip() == digest, res.stderr
        assert proxy.targets == [], "NO_PROXY was not honoured"
    finally:
        proxy.stop()


def test_disconnected_claim_matches_the_bundle(csv):
    """disconnected=true would need every image by digest in relatedImages (olm-okd.md §2);
    ours are tags, and istrigger does not apply the cluster's mirror sets, so it says false."""
    by_digest = all("@sha256:" in ri["image"] for ri in csv["spec"]["relatedImages"])
    assert _csv_says(csv, "disconnected") == ("true" if by_digest else "false")
