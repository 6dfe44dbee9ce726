"""Import credentials (reference §3.5): the secrets the `imagestreams/secrets` subresource
returns, and a keyring with kubelet matching rules (key host[/path], the most specific path
wins, Docker Hub aliases), queried with the defaulted reference."""
import base64
import json

PULL_SECRET_TYPES = ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson")
EXCLUDE_ANNOTATION = "openshift.io/image.excludeSecret"


def import_secrets(secrets):
    """Every dockercfg/dockerconfigjson secret not annotated excludeSecret=true, in order."""
    out = []
    for s in secrets:
        if s.get("type") not in PULL_SECRET_TYPES:
            continue
        ann = (s.get("metadata") or {}).get("annotations") or {}
        if ann.get(EXCLUDE_ANNOTATION) == "true":
            continue
        out.append(s)
    return out


def _decode(data, key):
    raw = (data or {}).get(key)
    if not raw:
        return None
    try:
        return json.loads(base64.b64decode(raw))
    except (ValueError, TypeError):
        return None


def _entry_creds(entry):
    if not isinstance(entry, dict):
        return None
    user, password = entry.get("username") or "", entry.get("password") or ""
    if entry.get("auth"):
        try:
            dec = base64.b64decode(entry["auth"]).decode()
            if ":" in dec:
                user, password = dec.split(":", 1)
        except (ValueError, UnicodeDecodeError):
            pass
    if not user and not password:
        return None
    return user, password


def normalize_key(key):
    """Strip scheme and trailing path noise; index.docker.io/v1/ style keys -> index.docker.io"""
    k = key.strip()
    for scheme in ("https://", "http://"):
        if k.startswith(scheme):
            k = k[len(scheme):]
    if k.endswith("/v1/") or k.endswith("/v2/"):
        k = k[:-4]
    k = k.rstrip("/")
    if k in ("index.docker.io", "registry-1.docker.io"):
        k = "docker.io"
    if k.startswith("index.docker.io/") or k.startswith("registry-1.docker.io/"):
        k = "docker.io/" + k.split("/", 1)[1]
    return k


def entries_from_secret(secret):
    """[(key, (user, password))] from one secret, in the secret's order."""
    out = []
    data = secret.get("data") or {}
    if secret.get("type") == "kubernetes.io/dockerconfigjson":
        doc = _decode(data, ".dockerconfigjson") or {}
        auths = doc.get("auths") or {}
    else:
        auths = _decode(data, ".dockercfg") or {}
    if isinstance(auths, dict):
        for key, entry in auths.items():
            c = _entry_creds(entry)
            if c:
                out.append((normalize_key(key), c))
    return out


class Keyring:
    def __init__(self, secrets=()):
        self.entries = []  # (host, path, creds)
        for s in secrets:
            for key, c in entries_from_secret(s):
                host, _, path = key.partition("/")
                self.entries.append((host, path, c))

    def lookup(self, defaulted_ref):
        """Credentials for a defaulted reference (docker.io/library/x:tag form): the first
        entry among those with the most specific matching path."""
        r = defaulted_ref
        host = r.registry
        if host in ("index.docker.io", "registry-1.docker.io"):
            host = "docker.io"
        repo = "/".join(p for p in (r.namespace, r.name) if p)
        best, best_len = None, -1
        for h, path, c in self.entries:
            if h != host:
                continue
            if path and not (repo == path or repo.startswith(path + "/")):
                continue
            n = len(path.split("/")) if path else 0
            if n > best_len:
                best, best_len = c, n
        return best
