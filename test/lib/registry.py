"""Test helpers for a real container registry: start Debian's `docker-registry` (Distribution)
on a free 127.0.0.1 port, optionally with TLS (a CA made with openssl) and htpasswd auth, build
minimal OCI images and two-platform indexes by hand (no base image is ever downloaded), and push
them with `skopeo copy`.

Used by the okdsim OpenShift tests, the registry client's tests and the operator's e2e tests.
Standard library plus python3-cryptography (JWT signing for TokenServer); the external programs
are docker-registry, openssl, htpasswd and skopeo.

Token auth (Distribution's `auth.token`): a TokenServer issues RS256 JWTs signed with a key
whose self-signed certificate is the registry's `rootcertbundle`, the certificate travelling
in the JWT header's `x5c`, as Distribution's token verifier expects:

    ts = TokenServer(workdir / "token", users={"user": "pass"}).start()
    reg = Registry(workdir / "reg", token_server=ts, auth=("user", "pass")).start()

    reg = Registry(workdir, tls=True, auth=("user", "pass")).start()
    img = make_image(workdir / "img1", "hello v1")       # {"digest": "sha256:...", ...}
    push(img["path"], reg.ref("app", "v1"), reg)           # returns the manifest digest
    reg.stop()
"""
import base64
import gzip
import http.server
import threading
import urllib.parse
import uuid
import hashlib
import io
import json
import pathlib
import shutil
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(argv, **kw):
    res = subprocess.run(argv, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(map(str, argv)), res.returncode,
                                                   res.stderr.strip() or res.stdout.strip()))
    return res.stdout


# --------------------------------------------------------------------------------------------
# TLS material


def make_ca(directory, cn="okdsim test CA"):
    """Create a self-signed CA in `directory`; returns (ca.crt, ca.key) paths."""
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    crt, key = d / "ca.crt", d / "ca.key"
    if not crt.exists():
        _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
              "-subj", "/CN=" + cn, "-keyout", str(key), "-out", str(crt),
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    return crt, key


def make_cert(directory, ca_crt, ca_key, name="server", cn="127.0.0.1",
              sans=("IP:127.0.0.1", "DNS:localhost"), client=False):
    """Issue a certificate signed by the CA; returns (crt, key) paths. `client=True` makes a
    client certificate (extendedKeyUsage clientAuth) whose CN is the user name."""
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    crt, key, csr, ext = (d / (name + ".crt"), d / (name + ".key"), d / (name + ".csr"),
                          d / (name + ".ext"))
    lines = ["basicConstraints=CA:FALSE",
             "extendedKeyUsage=" + ("clientAuth" if client else "serverAuth")]
    if sans and not client:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
          "-keyout", str(key), "-out", str(csr)])
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
          "-CAcreateserial", "-days", "2", "-out", str(crt), "-extfile", str(ext)])
    return crt, key


# --------------------------------------------------------------------------------------------
# The registry


class Registry:
    """A Distribution registry (`docker-registry`) on 127.0.0.1:<free port>.

    tls=True serves HTTPS with a certificate from a CA made in workdir (`ca_cert` is its path);
    auth=(user, password) turns on htpasswd basic auth."""

    def __init__(self, workdir, tls=False, auth=None, port=None, token_server=None,
                 client_certs=False):
        self.workdir = pathlib.Path(workdir)
        self.tls = tls
        self.client_certs = client_certs  # require TLS client certificates signed by the CA
        self.client_cert = self.client_key = None
        self.auth = auth
        self.token_server = token_server
        self.port = port
        self.proc = None
        self.ca_cert = None
        self.ca_key = None
        self.cert_dir = None  # directory with ca.crt, usable as skopeo --cert-dir
        self.log_path = None

    @property
    def host(self):
        """host:port, as used in image references."""
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return ("https://" if self.tls else "http://") + self.host

    def ref(self, repo, tag=None, digest=None):
        """host:port/repo[:tag][@digest]"""
        s = "%s/%s" % (self.host, repo)
        if tag:
            s += ":" + tag
        if digest:
            s += "@" + digest
        return s

    def dockerconfigjson(self, key=None):
        """The `.dockerconfigjson` content (a dict) holding this registry's credentials."""
        user, password = self.auth
        auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        return {"auths": {key or self.host: {"username": user, "password": password,
                                             "auth": auth}}}

    def skopeo_args(self, prefix=""):
        """skopeo options to reach this registry (prefix is "src-"/"dest-" for copy)."""
        args = []
        if self.tls:
            args += ["--%stls-verify=true" % prefix, "--%scert-dir=%s" % (prefix, self.cert_dir)]
        else:
            args += ["--%stls-verify=false" % prefix]
        if self.auth:
            args += ["--%screds=%s:%s" % (prefix, self.auth[0], self.auth[1])]
        return args

    def start(self, timeout=20):
        self.workdir.mkdir(parents=True, exist_ok=True)
        storage = self.workdir / "storage"
        storage.mkdir(exist_ok=True)
        cfg = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
               "storage:", "  filesystem:", "    rootdirectory: %s" % storage,
               "  delete:", "    enabled: true", "http:", "  addr: 127.0.0.1:{port}",
               "  secret: okdsim-test-secret"]
        if self.tls:
            tlsdir = self.workdir / "tls"
            self.ca_cert, self.ca_key = make_ca(tlsdir)
            crt, key = make_cert(tlsdir, self.ca_cert, self.ca_key)
            self.cert_dir = tlsdir / "certdir"
            self.cert_dir.mkdir(exist_ok=True)
            shutil.copy(self.ca_cert, self.cert_dir / "ca.crt")
            cfg += ["  tls:", "    certificate: %s" % crt, "    key: %s" % key]
            if self.client_certs:
                self.client_cert, self.client_key = make_cert(
                    tlsdir, self.ca_cert, self.ca_key, name="client", cn="istrigger-test",
                    client=True)
                # skopeo's cert-dir convention: *.cert with its *.key
                shutil.copy(self.client_cert, self.cert_dir / "client.cert")
                shutil.copy(self.client_key, self.cert_dir / "client.key")
                cfg += ["    clientcas:", "      - %s" % self.ca_cert]
        if self.token_server:
            ts = self.token_server
            cfg += ["auth:", "  token:", "    realm: %s" % ts.realm,
                    "    service: %s" % ts.service, "    issuer: %s" % ts.issuer,
                    "    rootcertbundle: %s" % ts.cert_path]
        elif self.auth:
            htfile = self.workdir / "htpasswd"
            out = _run(["htpasswd", "-Bbn", self.auth[0], self.auth[1]])
            htfile.write_text(out.strip() + "\n")
            cfg += ["auth:", "  htpasswd:", "    realm: okdsim-test", "    path: %s" % htfile]
        last_err = None
        fixed_port = self.port
        for _ in range(5):
            port = fixed_port or free_port()
            conf = self.workdir / "config.yml"
            conf.write_text("\n".join(cfg).replace("{port}", str(port)) + "\n")
            self.log_path = self.workdir / "registry.log"
            logf = open(self.log_path, "wb")
            self.proc = subprocess.Popen(["docker-registry", "serve", str(conf)],
                                         stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            logf.close()
            self.port = port
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError as e:
                last_err = e
                self.stop()
                self.port = None
                if fixed_port:
                    break
        raise RuntimeError("docker-registry did not start: %s" % last_err)

    def _ssl_context(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        if self.client_cert:
            ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        return ctx

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("exited with %s: %s" % (
                    self.proc.returncode, self.log_path.read_text(errors="replace")[-2000:]))
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=2, context=self._ssl_context())
                return
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("not ready after %ss" % timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    def request(self, method, path, headers=None):
        """Raw HTTP request to the registry (with credentials when auth is on); returns
        (status, headers, body bytes)."""
        req = urllib.request.Request(self.url + path, method=method, headers=dict(headers or {}))
        if self.token_server:
            repo = path.split("/v2/", 1)[-1].split("/manifests/")[0].split("/tags/")[0]
            req.add_header("Authorization", "Bearer " + self.token_server.issue(
                self.auth[0] if self.auth else "", [("repository", repo, ["pull", "push",
                                                                         "delete"])]))
        elif self.auth:
            tok = base64.b64encode(("%s:%s" % self.auth).encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self._ssl_context()) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def delete_tag_manifest(self, repo, digest):
        """Delete a manifest by digest (registry has deletes enabled)."""
        return self.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest))[0]


# --------------------------------------------------------------------------------------------
# Images built by hand as OCI image layouts


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _put_blob(layout, data):
    digest = _sha(data)
    p = pathlib.Path(layout) / "blobs" / "sha256" / digest.split(":", 1)[1]
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _canon(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _layer(content):
    """A deterministic gzip'd tar holding one file `/stamp` with `content`."""
    data = content.encode() if isinstance(content, str) else bytes(content)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo("stamp")
        info.size = len(data)
        info.mode = 0o755
        info.mtime = 0
        info.uname = info.gname = ""
        tf.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(tar_bytes)
    return tar_bytes, gz.getvalue()


def _write_layout(layout, top_descriptor):
    d = pathlib.Path(layout)
    (d / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (d / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                              "manifests": [top_descriptor]}))


def _build_manifest(layout, content, arch, os_name, labels=None):
    tar_bytes, gz_bytes = _layer(content)
    layer = _put_blob(layout, gz_bytes)
    cfg = {"architecture": arch, "os": os_name,
           "config": {"Cmd": ["/stamp"]},
           "rootfs": {"type": "layers", "diff_ids": [_sha(tar_bytes)]}}
    if labels:
        cfg["config"]["Labels"] = dict(labels)
    config = _put_blob(layout, _canon(cfg))
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config["digest"],
                           "size": config["size"]},
                "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer["digest"],
                            "size": layer["size"]}]}
    mbytes = _canon(manifest)
    m = _put_blob(layout, mbytes)
    return {"digest": m["digest"], "size": m["size"], "mediaType": OCI_MANIFEST,
            "config_digest": config["digest"], "config_size": config["size"],
            "layer_digest": layer["digest"], "layer_size": layer["size"],
            "architecture": arch, "os": os_name, "manifest": manifest}


def make_image(directory, content, arch="amd64", os_name="linux", labels=None):
    """Build a one-layer OCI image (file /stamp = content) as an OCI layout in `directory`.
    Returns a dict: path, digest (manifest digest, which the registry keeps on push), size,
    mediaType, config_digest, layer_digest, layer_size, architecture, os, manifest."""
    d = pathlib.Path(directory)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    info = _build_manifest(d, content, arch, os_name, labels)
    _write_layout(d, {"mediaType": OCI_MANIFEST, "digest": info["digest"],
                      "size": info["size"]})
    info["path"] = str(d)
    return info


def make_index(directory, platforms, content="multi"):
    """Build an OCI image index in `directory`, one child per platform.
    `platforms` is a list of (arch, os) or (arch, os, content) tuples. Returns a dict: path,
    digest (index digest), size, mediaType, children (list of make_image-style dicts, in order),
    index (the index document)."""
    d = pathlib.Path(directory)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    children = []
    for p in platforms:
        arch, os_name = p[0], p[1]
        c = p[2] if len(p) > 2 else "%s %s/%s" % (content, os_name, arch)
        children.append(_build_manifest(d, c, arch, os_name))
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{"mediaType": OCI_MANIFEST, "digest": c["digest"], "size": c["size"],
                            "platform": {"architecture": c["architecture"], "os": c["os"]}}
                           for c in children]}
    ib = _put_blob(d, _canon(index))
    _write_layout(d, {"mediaType": OCI_INDEX, "digest": ib["digest"], "size": ib["size"]})
    return {"path": str(d), "digest": ib["digest"], "size": ib["size"], "mediaType": OCI_INDEX,
            "children": children, "index": index}


def push(image_or_path, dest_ref, registry=None, timeout=60, format=None):
    """Copy an OCI layout (a make_image/make_index result or its path) to `dest_ref`
    ("host:port/repo:tag") with skopeo, keeping digests; indexes are copied with --all.
    Returns the digest the registry now serves for dest_ref. `format="v2s2"` converts to
    Docker schema 2 (an index becomes a Docker manifest list), which changes the digests."""
    path = image_or_path["path"] if isinstance(image_or_path, dict) else str(image_or_path)
    index = json.loads((pathlib.Path(path) / "index.json").read_text())
    top = index["manifests"][0]
    argv = ["skopeo", "copy", "--quiet"]
    argv += ["--format", format] if format else ["--preserve-digests"]
    if top.get("mediaType") == OCI_INDEX:
        argv.append("--all")
    if registry is not None:
        argv += registry.skopeo_args("dest-")
    else:
        argv.append("--dest-tls-verify=false")
    argv += ["oci:" + path, "docker://" + dest_ref]
    _run(argv, timeout=timeout)
    if format:
        return skopeo_digest(dest_ref, registry)
    return top["digest"]


def skopeo_digest(ref, registry=None, extra=()):
    """What `skopeo inspect --format {{.Digest}}` prints for ref (the digest of the manifest
    the registry serves for it)."""
    argv = ["skopeo", "inspect", "--format", "{{.Digest}}"] + list(extra)
    argv += registry.skopeo_args() if registry is not None else ["--tls-verify=false"]
    argv.append("docker://" + ref)
    return _run(argv, timeout=60).strip()


def inspect_digest(ref, registry=None):
    """The manifest digest the registry serves for ref (via `skopeo inspect --raw`)."""
    argv = ["skopeo", "inspect", "--raw"]
    argv += registry.skopeo_args() if registry is not None else ["--tls-verify=false"]
    argv.append("docker://" + ref)
    res = subprocess.run(argv, capture_output=True, timeout=30)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.decode(errors="replace"))
    return _sha(res.stdout)


# --------------------------------------------------------------------------------------------
# A token server for Distribution's token auth


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A bearer-token server (Docker token protocol) on 127.0.0.1:<free port>.

    GET /token?service=S&scope=repository:NAME:ACTIONS with Basic credentials from `users`
    (or anonymously, granting pull only on repositories in `anonymous_repos`), and the OAuth2
    form POST (grant_type=refresh_token, refresh tokens from `refresh_tokens` {token: user}).
    Replies {"token", "access_token", "expires_in", "issued_at"}. `requests` records every
    request as (method, user or None, scope list); `issued_at_offset` shifts issued_at (seconds,
    negative = in the past) to test clients honouring it; `fail_next` ([429, ...]) answers the
    next token requests with those statuses and Retry-After: 1."""

    def __init__(self, workdir, users=None, anonymous_repos=(), refresh_tokens=None,
                 expires_in=300, service="istrigger-test-registry", issuer="istrigger-test-issuer"):
        self.workdir = pathlib.Path(workdir)
        self.users = dict(users or {})
        self.anonymous_repos = set(anonymous_repos)
        self.refresh_tokens = dict(refresh_tokens or {})
        self.expires_in = expires_in
        self.issued_at_offset = 0
        self.fail_next = []  # statuses (e.g. 429) to answer the next token requests with
        self.service = service
        self.issuer = issuer
        self.requests = []
        self.httpd = None
        self.cert_path = None

    @property
    def realm(self):
        return "http://127.0.0.1:%d/token" % self.httpd.server_address[1]

    def start(self):
        from cryptography.hazmat.primitives import serialization
        self.workdir.mkdir(parents=True, exist_ok=True)
        crt, key = make_ca(self.workdir, cn="istrigger test token signer")
        self.cert_path = crt
        with open(key, "rb") as f:
            self._key = serialization.load_pem_private_key(f.read(), password=None)
        pem = pathlib.Path(crt).read_text()
        der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
        self._x5c = [der_b64]
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if code == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="token"')
                self.end_headers()
                self.wfile.write(body)

            def _grant(self, user, scopes, method):
                server.requests.append((method, user, scopes))
                access = []
                for sc in scopes:
                    parts = sc.split(":")
                    if len(parts) < 3 or parts[0] != "repository":
                        continue
                    name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
                    if user is None:
                        actions = [a for a in actions if a == "pull"] \
                            if name in server.anonymous_repos else []
                    access.append({"type": "repository", "name": name, "actions": actions})
                tok = server.issue(user or "", access)
                now = time.time() + server.issued_at_offset
                issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
                self._reply(200, {"token": tok, "access_token": tok,
                                  "expires_in": server.expires_in, "issued_at": issued})

            def _scripted_failure(self, scopes):
                if not server.fail_next:
                    return False
                code = server.fail_next.pop(0)
                server.requests.append((self.command, "!%d" % code, scopes))
                body = b'{"details":"try again later"}'
                self.send_response(code)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return True

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(u.query)
                if self._scripted_failure(q.get("scope", [])):
                    return
                user = None
                h = self.headers.get("Authorization", "")
                if h.startswith("Basic "):
                    name, _, pw = base64.b64decode(h[6:]).decode().partition(":")
                    if server.users.get(name) != pw:
                        server.requests.append(("GET", "!" + name, q.get("scope", [])))
                        return self._reply(401, {"details": "bad credentials"})
                    user = name
                self._grant(user, q.get("scope", []), "GET")

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                if form.get("grant_type") != ["refresh_token"]:
                    return self._reply(400, {"error": "unsupported_grant_type"})
                user = server.refresh_tokens.get(form.get("refresh_token", [""])[0])
                if user is None:
                    server.requests.append(("POST", "!refresh", form.get("scope", [])))
                    return self._reply(401, {"error": "invalid_grant"})
                self._grant(user, form.get("scope", []), "POST")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def issue(self, subject, access, lifetime=None):
        """A signed JWT the registry accepts for `access` ([{type,name,actions}] or
        [(type, name, actions)])."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        access = [a if isinstance(a, dict) else {"type": a[0], "name": a[1], "actions": a[2]}
                  for a in access]
        header = {"typ": "JWT", "alg": "RS256", "x5c": self._x5c}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service,
                  "exp": now + (lifetime or self.expires_in) + 5, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode())).encode()
        sig = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode() + "." + _b64url(sig)

    def token_requests(self):
        """Successful token grants so far."""
        return [r for r in self.requests if r[1] is None or not r[1].startswith("!")]

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
