"""The importer's registry client: `skopeo inspect --raw` (manifests, indexes) and
`skopeo inspect --raw --config` (image configs), with importPolicy.insecure as
--tls-verify=false, a temporary authfile for credentials and an optional trusted CA directory.
skopeo errors are turned into the metav1 Status objects the OpenShift importer reports
(NotFound, Unauthorized, InternalError) [reference §3.2]. Only loopback registries are ever
contacted."""
import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class ImportFailure(Exception):
    def __init__(self, status):
        super().__init__(status.get("message", ""))
        self.status = status


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_of(registry):
    h = registry
    if h.startswith("["):
        return h[:h.index("]") + 1]
    return h.rsplit(":", 1)[0] if ":" in h else h


def not_found(exact):
    return {"metadata": {}, "status": "Failure",
            "message": 'dockerimage.image.openshift.io "%s" not found' % exact,
            "reason": "NotFound",
            "details": {"name": exact, "group": "image.openshift.io", "kind": "dockerimage"},
            "code": 404}


def unauthorized(exact):
    return {"metadata": {}, "status": "Failure",
            "message": 'you may not have access to the container image "%s"' % exact,
            "reason": "Unauthorized", "code": 401}


def internal_error(exact, detail):
    msg = "%s: %s" % (exact, detail)
    return {"metadata": {}, "status": "Failure",
            "message": "Internal error occurred: " + msg,
            "reason": "InternalError",
            "details": {"causes": [{"message": msg}]},
            "code": 500}


_MSG_RE = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def _skopeo_message(stderr):
    m = None
    for m in _MSG_RE.finditer(stderr):
        pass
    if m is None:
        return stderr.strip()
    try:
        return json.loads('"' + m.group(1) + '"')
    except ValueError:
        return m.group(1)


def classify(stderr, exact):
    """Map a skopeo failure to the importer's Status."""
    msg = _skopeo_message(stderr)
    low = msg.lower()
    if "manifest unknown" in low or "name unknown" in low or "not found" in low and \
            "no such host" not in low:
        return not_found(exact)
    if "unauthorized" in low or "authentication required" in low or "denied" in low \
            or "invalid username/password" in low:
        return unauthorized(exact)
    i = msg.find('Get "')
    if i == -1:
        i = msg.find('Head "')
    detail = msg[i:] if i != -1 else msg
    if i == -1:
        # strip skopeo's own prefix
        detail = re.sub(r'^Error parsing image name "[^"]*": ', "", detail)
    return internal_error(exact, detail)


class Client:
    """One import's connection settings for one registry host."""

    def __init__(self, insecure=False, creds=None, cert_dir=None, timeout=30, log=None):
        self.insecure = insecure
        self.creds = creds
        self.cert_dir = cert_dir
        self.timeout = timeout
        self.log = log or (lambda *a: None)

    def _argv(self, authfile):
        argv = ["skopeo", "inspect", "--raw"]
        argv.append("--tls-verify=%s" % ("false" if self.insecure else "true"))
        if self.cert_dir and not self.insecure:
            argv.append("--cert-dir=%s" % self.cert_dir)
        if authfile:
            argv.append("--authfile=%s" % authfile)
        else:
            argv.append("--no-creds")
        return argv

    def _run(self, ref_string, host, exact, config=False):
        if host_of(host) not in LOOPBACK_HOSTS:
            scheme = "http" if self.insecure else "https"
            raise ImportFailure(internal_error(
                exact, 'Get "%s://%s/v2/": dial tcp: lookup %s: okdsim only imports from '
                       'loopback registries' % (scheme, host, host_of(host))))
        authfile = None
        tmp = None
        try:
            if self.creds:
                fd, tmp = tempfile.mkstemp(prefix="okdsim-auth-", suffix=".json")
                tok = base64.b64encode(("%s:%s" % self.creds).encode()).decode()
                with os.fdopen(fd, "w") as f:
                    json.dump({"auths": {host: {"auth": tok}}}, f)
                authfile = tmp
            argv = self._argv(authfile)
            if config:
                argv.append("--config")
            argv.append("docker://" + ref_string)
            env = dict(os.environ)
            env.setdefault("HOME", tempfile.gettempdir())
            try:
                res = subprocess.run(argv, capture_output=True, timeout=self.timeout,
                                     stdin=subprocess.DEVNULL, env=env)
            except subprocess.TimeoutExpired:
                raise ImportFailure(internal_error(exact, "timeout talking to the registry"))
            self.log("skopeo %s -> %d", " ".join(argv[2:]), res.returncode)
            if res.returncode != 0:
                raise ImportFailure(classify(res.stderr.decode(errors="replace"), exact))
            return res.stdout
        finally:
            if tmp:
                os.unlink(tmp)

    def manifest(self, repo, tag_or_digest, host, exact):
        """Raw manifest bytes for repo:tag or repo@digest."""
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        return self._run(repo + sep + tag_or_digest, host, exact)

    def config(self, repo, digest, host, exact):
        raw = self._run(repo + "@" + digest, host, exact, config=True)
        return raw
