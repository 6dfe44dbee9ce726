"""Authentication (bearer tokens, service-account tokens, client certificates) and the review APIs."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import time

from . import errors, rbac
from .resources import ResourceType

AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ADMIN = ("system:admin", ["system:masters", "system:authenticated"])


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class User:
    def __init__(self, name, groups, uid=""):
        self.name, self.groups, self.uid = name, list(groups), uid


class Authenticator:
    def __init__(self, sim, admin_token=None, client_ca=None, user_tokens=None):
        self.sim = sim
        self.admin_token = admin_token
        self.client_ca = client_ca
        self.user_tokens = user_tokens or {}   # token -> (user, groups)

    @property
    def required(self):
        return bool(self.admin_token or self.client_ca or self.user_tokens)

    def key(self):
        k = self.sim.store.meta.get("signingKey")
        if not k:
            k = base64.b64encode(os.urandom(32)).decode()
            self.sim.store.meta["signingKey"] = k
        return base64.b64decode(k)

    # ---- service-account tokens (HS256 JWTs signed with the server's key)
    def issue_sa_token(self, ns, name, sa_uid, expiration=3600, audiences=None, secret_name=None):
        now = int(time.time())
        claims = {"aud": audiences or [AUDIENCE], "iat": now, "nbf": now, "iss": AUDIENCE,
                  "sub": "system:serviceaccount:%s:%s" % (ns, name),
                  "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": sa_uid}}}
        if expiration:
            claims["exp"] = now + int(expiration)
        if secret_name:
            claims["kubernetes.io"]["secret"] = {"name": secret_name}
        head = _b64(json.dumps({"alg": "HS256", "kid": "okdsim", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self.key(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
        return "%s.%s.%s" % (head, body, sig), claims.get("exp")

    def verify_sa_token(self, token):
        parts = token.split(".")
        if len(parts) != 3:
            return None
        sig = _b64(hmac.new(self.key(), ("%s.%s" % (parts[0], parts[1])).encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if claims.get("exp") and claims["exp"] < time.time():
            return None
        k = claims.get("kubernetes.io") or {}
        ns, sa = k.get("namespace"), (k.get("serviceaccount") or {})
        sa_rt = self.sim.registry.by_resource("", "serviceaccounts")
        obj = self.sim.store.get_or_none(sa_rt, ns, sa.get("name"))
        if obj is None or obj["metadata"].get("uid") != sa.get("uid"):
            return None
        if k.get("secret"):
            sec = self.sim.store.get_or_none(self.sim.registry.by_resource("", "secrets"), ns, k["secret"]["name"])
            if sec is None:
                return None
        return User("system:serviceaccount:%s:%s" % (ns, sa["name"]),
                    ["system:serviceaccounts", "system:serviceaccounts:%s" % ns, "system:authenticated"],
                    sa.get("uid", "")), claims

    def user_for_token(self, token):
        if self.admin_token and hmac.compare_digest(token, self.admin_token):
            return User(*ADMIN)
        if token in self.user_tokens:
            name, groups = self.user_tokens[token]
            return User(name, list(groups) + ["system:authenticated"])
        r = self.verify_sa_token(token)
        return r[0] if r else None

    def authenticate(self, headers, peer_cert):
        """Returns a User or raises 401."""
        authz = headers.get("Authorization") or ""
        if authz.lower().startswith("bearer "):
            u = self.user_for_token(authz[7:].strip())
            if u is None:
                raise errors.unauthorized()
            return u
        if peer_cert and self.client_ca:
            cn, orgs = None, []
            for rdn in peer_cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
            if cn:
                return User(cn, orgs + ["system:authenticated"])
        if self.required:
            raise errors.unauthorized()
        return User(*ADMIN)


def impersonate(sim, headers, user):
    """Apply Impersonate-User/-Group/-Uid headers (kubectl --as/--as-group). With --rbac the real
    user needs the `impersonate` verb on users, groups or serviceaccounts, as in kube-apiserver."""
    name = headers.get("Impersonate-User")
    groups = headers.get_all("Impersonate-Group") or []
    if not name:
        if groups:
            raise errors.ApiError(500, "InternalError", "Internal error occurred: requested %s without "
                                  "impersonating a user" % groups, {})
        return user
    checks = []
    if name.startswith("system:serviceaccount:") and name.count(":") == 3:
        _, _, ns, sa = name.split(":")
        checks.append(("serviceaccounts", ns, sa))
        if not groups:
            groups = ["system:serviceaccounts", "system:serviceaccounts:%s" % ns]
    else:
        checks.append(("users", "", name))
    checks += [("groups", "", g) for g in groups]
    if sim.options.rbac:
        for res, ns, obj in checks:
            a = rbac.Attributes(user.name, user.groups, "impersonate", "", res, "", ns, obj)
            ok, reason = rbac.authorize(sim, a)
            if not ok:
                msg = rbac.forbidden_message(a) + ((": " + reason) if reason else "")
                raise errors.forbidden("", res, obj, msg)
    if "system:authenticated" not in groups and name != "system:anonymous":
        groups = list(groups) + ["system:authenticated"]
    return User(name, groups, headers.get("Impersonate-Uid") or "")


# ---------------------------------------------------------------- review APIs and token requests
def _tokenreview(sim, req):
    body = req.body or {}
    token = (body.get("spec") or {}).get("token") or ""
    out = {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": None},
           "spec": body.get("spec") or {}}
    u = sim.auth.user_for_token(token) if token else None
    if u is None:
        out["status"] = {"user": {}, "error": "[invalid bearer token, token lookup failed]"}
    else:
        user = {"username": u.name, "groups": u.groups}
        if u.uid:
            user["uid"] = u.uid
        out["status"] = {"authenticated": True, "user": user,
                         "audiences": (body.get("spec") or {}).get("audiences") or [AUDIENCE]}
    return 201, out


def _sar_eval(sim, spec, user, groups):
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if ra:
        a = rbac.Attributes(user, groups, ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                            ra.get("subresource", ""), ra.get("namespace", ""), ra.get("name", ""))
    else:
        nra = nra or {}
        a = rbac.Attributes(user, groups, nra.get("verb", ""), path=nra.get("path", ""), resource_request=False)
    if not sim.options.rbac:
        return {"allowed": True}
    ok, reason = rbac.authorize(sim, a)
    st = {"allowed": ok}
    if reason:
        st["reason"] = reason
    return st


def _subjectaccessreview(sim, req):
    body = req.body or {}
    spec = body.get("spec") or {}
    if not spec.get("user") and not spec.get("groups"):
        raise errors.ApiError(422, "Invalid", 'SubjectAccessReview.authorization.k8s.io "" is invalid: '
                              'spec.user: Invalid value: "": at least one of user or group must be specified',
                              {"group": "authorization.k8s.io", "kind": "SubjectAccessReview", "causes": [
                                  {"reason": "FieldValueInvalid", "field": "spec.user",
                                   "message": 'Invalid value: "": at least one of user or group must be specified'}]})
    out = {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
           "metadata": {"creationTimestamp": None}, "spec": spec,
           "status": _sar_eval(sim, spec, spec.get("user", ""), spec.get("groups") or [])}
    return 201, out


def _selfsubjectaccessreview(sim, req):
    body = req.body or {}
    spec = body.get("spec") or {}
    out = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
           "metadata": {"creationTimestamp": None}, "spec": spec,
           "status": _sar_eval(sim, spec, req.user, req.groups)}
    return 201, out


def _selfsubjectrulesreview(sim, req):
    spec = (req.body or {}).get("spec") or {}
    res, nonres = [], []
    for r in rbac.rules_for(sim, req.user, req.groups, spec.get("namespace", "")):
        if r.get("nonResourceURLs"):
            nonres.append({"verbs": r.get("verbs") or [], "nonResourceURLs": r["nonResourceURLs"]})
        else:
            e = {"verbs": r.get("verbs") or [], "apiGroups": r.get("apiGroups") or [],
                 "resources": r.get("resources") or []}
            if r.get("resourceNames"):
                e["resourceNames"] = r["resourceNames"]
            res.append(e)
    return 201, {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                 "metadata": {"creationTimestamp": None}, "spec": spec,
                 "status": {"resourceRules": res, "nonResourceRules": nonres, "incomplete": False}}


def _selfsubjectreview(sim, req):
    return 201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                 "metadata": {"creationTimestamp": None},
                 "status": {"userInfo": dict({"username": req.user, "groups": req.groups},
                                             **({"uid": req.uid} if req.uid else {}))}}


def _token_request(sim, req):
    if req.method != "POST":
        raise errors.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                              "resource", {})
    sa_rt = sim.registry.by_resource("", "serviceaccounts")
    sa = sim.store.get(sa_rt, req.namespace, req.name)
    spec = dict((req.body or {}).get("spec") or {})
    exp = spec.get("expirationSeconds") or 3600
    token, exp_at = sim.auth.issue_sa_token(req.namespace, req.name, sa["metadata"]["uid"], exp,
                                            spec.get("audiences"))
    spec.setdefault("audiences", [AUDIENCE])
    spec["expirationSeconds"] = exp
    spec.setdefault("boundObjectRef", None)
    return 201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                 "metadata": {"name": req.name, "namespace": req.namespace, "creationTimestamp": None},
                 "spec": spec, "status": {"token": token, "expirationTimestamp": datetime.datetime.fromtimestamp(
                     exp_at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}}


def _sa_token_secret(sim, rt, op, obj, old):
    """The token controller's job, done at admission: fill kubernetes.io/service-account-token secrets."""
    if rt.group != "" or rt.resource != "secrets" or obj.get("type") != "kubernetes.io/service-account-token":
        return
    ann = obj.setdefault("metadata", {}).setdefault("annotations", {})
    sa_name = ann.get("kubernetes.io/service-account.name")
    if not sa_name or (obj.get("data") or {}).get("token"):
        return
    ns = obj["metadata"].get("namespace", "default")
    sa = sim.store.get_or_none(sim.registry.by_resource("", "serviceaccounts"), ns, sa_name)
    if sa is None:
        return
    ann["kubernetes.io/service-account.uid"] = sa["metadata"]["uid"]
    token, _ = sim.auth.issue_sa_token(ns, sa_name, sa["metadata"]["uid"], 0,
                                       secret_name=obj["metadata"].get("name"))
    data = obj.setdefault("data", {})
    data["token"] = base64.b64encode(token.encode()).decode()
    data["namespace"] = base64.b64encode(ns.encode()).decode()
    ca = getattr(sim.options, "tls_cert", None)
    if ca and os.path.exists(ca):
        data["ca.crt"] = base64.b64encode(open(ca, "rb").read()).decode()


def register(sim):
    sim.register_type(ResourceType("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False,
                                   verbs=["create"], storage=False, handlers={"create": _tokenreview}))
    sim.register_type(ResourceType("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview",
                                   False, verbs=["create"], storage=False, handlers={"create": _subjectaccessreview}))
    sim.register_type(ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews",
                                   "SelfSubjectAccessReview", False, verbs=["create"], storage=False,
                                   handlers={"create": _selfsubjectaccessreview}))
    sim.register_type(ResourceType("authorization.k8s.io", "v1", "selfsubjectrulesreviews",
                                   "SelfSubjectRulesReview", False, verbs=["create"], storage=False,
                                   handlers={"create": _selfsubjectrulesreview}))
    sim.register_type(ResourceType("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
                                   verbs=["create"], storage=False, handlers={"create": _selfsubjectreview}))
    sim.register_subresource("", "serviceaccounts", "token", _token_request)
    sim.register_admission(_sa_token_secret)
