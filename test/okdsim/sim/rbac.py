"""RBAC: Roles, ClusterRoles and their bindings, evaluated like the RBAC authorizer (allow-only rules)."""

from .resources import ResourceType, age, col

GROUP = "rbac.authorization.k8s.io"


class Attributes:
    def __init__(self, user, groups, verb, api_group="", resource="", subresource="", namespace="", name="",
                 path="", resource_request=True, api_version=""):
        self.user, self.groups, self.verb = user, list(groups or []), verb
        self.api_group, self.resource, self.subresource = api_group, resource, subresource
        self.namespace, self.name, self.path = namespace, name, path
        self.resource_request = resource_request
        self.api_version = api_version


def forbidden_message(a):
    if not a.resource_request:
        return 'User "%s" cannot %s path "%s"' % (a.user, a.verb, a.path)
    res = a.resource + ("/" + a.subresource if a.subresource else "")
    if a.namespace:
        return 'User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"' % (
            a.user, a.verb, res, a.api_group, a.namespace)
    return 'User "%s" cannot %s resource "%s" in API group "%s" at the cluster scope' % (
        a.user, a.verb, res, a.api_group)


def _subject_matches(s, user, groups):
    kind = s.get("kind")
    if kind == "User":
        return s.get("name") == user
    if kind == "Group":
        return s.get("name") in groups
    if kind == "ServiceAccount":
        return user == "system:serviceaccount:%s:%s" % (s.get("namespace", ""), s.get("name", ""))
    return False


def _has(lst, v):
    return "*" in (lst or []) or v in (lst or [])


def rule_allows(rule, a):
    if not _has(rule.get("verbs"), a.verb):
        return False
    if not a.resource_request:
        for u in rule.get("nonResourceURLs") or []:
            if u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1])):
                return True
        return False
    if not _has(rule.get("apiGroups"), a.api_group):
        return False
    res = a.resource + ("/" + a.subresource if a.subresource else "")
    ok = False
    for r in rule.get("resources") or []:
        if r == "*" or r == res or (a.subresource and r == "*/" + a.subresource) or \
                (not a.subresource and r == a.resource):
            ok = True
            break
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    if names and a.name not in names:
        return False
    return True


def authorize(sim, a):
    """(allowed, reason)."""
    if "system:masters" in a.groups:
        return True, ""
    store, reg = sim.store, sim.registry
    crb_rt = reg.by_resource(GROUP, "clusterrolebindings")
    rb_rt = reg.by_resource(GROUP, "rolebindings")
    cr_rt = reg.by_resource(GROUP, "clusterroles")
    r_rt = reg.by_resource(GROUP, "roles")
    reasons = []

    def role_rules(ref, ns):
        if ref.get("kind") == "ClusterRole":
            o = store.get_or_none(cr_rt, "", ref.get("name"))
            if o is None:
                reasons.append('clusterrole.rbac.authorization.k8s.io "%s" not found' % ref.get("name"))
                return []
            return o.get("rules") or []
        o = store.get_or_none(r_rt, ns, ref.get("name"))
        if o is None:
            reasons.append('role.rbac.authorization.k8s.io "%s" not found' % ref.get("name"))
            return []
        return o.get("rules") or []

    for b in store.list(crb_rt):
        if any(_subject_matches(s, a.user, a.groups) for s in b.get("subjects") or []):
            for rule in role_rules(b.get("roleRef") or {}, ""):
                if rule_allows(rule, a):
                    return True, 'RBAC: allowed by ClusterRoleBinding "%s" of ClusterRole "%s" to %s' % (
                        b["metadata"]["name"], b["roleRef"].get("name"), _subj_desc(b, a))
    if a.namespace and a.resource_request:
        for b in store.list(rb_rt, a.namespace):
            if any(_subject_matches(s, a.user, a.groups) for s in b.get("subjects") or []):
                for rule in role_rules(b.get("roleRef") or {}, a.namespace):
                    if rule_allows(rule, a):
                        return True, 'RBAC: allowed by RoleBinding "%s/%s" of %s "%s" to %s' % (
                            b["metadata"]["name"], a.namespace, b["roleRef"].get("kind"),
                            b["roleRef"].get("name"), _subj_desc(b, a))
    return False, ("RBAC: " + ", ".join(reasons)) if reasons else ""


def rules_for(sim, user, groups, namespace):
    """Every rule that applies to the user in the namespace (SelfSubjectRulesReview)."""
    store, reg = sim.store, sim.registry
    out = []
    refs = [(b.get("roleRef") or {}, "") for b in store.list(reg.by_resource(GROUP, "clusterrolebindings"))
            if any(_subject_matches(s, user, groups) for s in b.get("subjects") or [])]
    if namespace:
        refs += [(b.get("roleRef") or {}, namespace) for b in store.list(reg.by_resource(GROUP, "rolebindings"),
                                                                          namespace)
                 if any(_subject_matches(s, user, groups) for s in b.get("subjects") or [])]
    for ref, ns in refs:
        if ref.get("kind") == "ClusterRole":
            o = store.get_or_none(reg.by_resource(GROUP, "clusterroles"), "", ref.get("name"))
        else:
            o = store.get_or_none(reg.by_resource(GROUP, "roles"), ns, ref.get("name"))
        out += (o or {}).get("rules") or []
    return out


def _subj_desc(b, a):
    for s in b.get("subjects") or []:
        if _subject_matches(s, a.user, a.groups):
            if s.get("kind") == "ServiceAccount":
                return 'ServiceAccount "%s/%s"' % (s.get("name"), s.get("namespace"))
            return '%s "%s"' % (s.get("kind"), s.get("name"))
    return ""


def _role_row(o):
    return [o["metadata"].get("creationTimestamp")]


def _binding_row(o):
    ref = o.get("roleRef") or {}
    subs = o.get("subjects") or []
    users = ",".join(s["name"] for s in subs if s.get("kind") == "User")
    groups = ",".join(s["name"] for s in subs if s.get("kind") == "Group")
    sas = ",".join("%s/%s" % (s.get("namespace", ""), s["name"]) for s in subs if s.get("kind") == "ServiceAccount")
    return ["%s/%s" % (ref.get("kind"), ref.get("name")), age(o), users, groups, sas]


def register(sim):
    bcols = [col("Role"), col("Age"), col("Users", priority=1), col("Groups", priority=1),
             col("ServiceAccounts", priority=1)]
    rcols = [col("Created At", typ="date")]
    sim.register_type(ResourceType(GROUP, "v1", "clusterroles", "ClusterRole", False, name_rule="path", table=_role_row,
                                   table_columns=rcols))
    sim.register_type(ResourceType(GROUP, "v1", "clusterrolebindings", "ClusterRoleBinding", False, name_rule="path",
                                   table=_binding_row, table_columns=bcols))
    sim.register_type(ResourceType(GROUP, "v1", "roles", "Role", True, name_rule="path", table=_role_row, table_columns=rcols))
    sim.register_type(ResourceType(GROUP, "v1", "rolebindings", "RoleBinding", True, name_rule="path", table=_binding_row,
                                   table_columns=bcols))


DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/openapi", "/openapi/*",
                  "/version", "/version/"]

DEFAULT_CLUSTER_ROLES = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    "system:discovery": [{"nonResourceURLs": DISCOVERY_URLS, "verbs": ["get"]}],
    "system:public-info-viewer": [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                                   "verbs": ["get"]}],
    "system:basic-user": [{"apiGroups": ["authorization.k8s.io"],
                           "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                           "verbs": ["create"]},
                          {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
                           "verbs": ["create"]}],
    "view": [{"apiGroups": ["", "apps", "batch", "coordination.k8s.io", "events.k8s.io"],
              "resources": ["configmaps", "endpoints", "events", "namespaces", "pods", "services", "serviceaccounts",
                            "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs",
                            "deployments/scale", "deployments/status", "statefulsets/status", "leases"],
              "verbs": ["get", "list", "watch"]}],
    "edit": [{"apiGroups": ["", "apps", "batch", "coordination.k8s.io", "events.k8s.io"],
              "resources": ["configmaps", "events", "pods", "secrets", "services", "serviceaccounts",
                            "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs",
                            "deployments/scale", "leases"],
              "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}],
    "admin": [{"apiGroups": ["", "apps", "batch", "coordination.k8s.io", "events.k8s.io",
                             "rbac.authorization.k8s.io"],
               "resources": ["*"],
               "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}],
}
DEFAULT_BINDINGS = {
    "cluster-admin": ("cluster-admin", [{"apiGroup": GROUP, "kind": "Group", "name": "system:masters"}]),
    "system:discovery": ("system:discovery", [{"apiGroup": GROUP, "kind": "Group",
                                               "name": "system:authenticated"}]),
    "system:basic-user": ("system:basic-user", [{"apiGroup": GROUP, "kind": "Group",
                                                 "name": "system:authenticated"}]),
    "system:public-info-viewer": ("system:public-info-viewer", [
        {"apiGroup": GROUP, "kind": "Group", "name": "system:authenticated"},
        {"apiGroup": GROUP, "kind": "Group", "name": "system:unauthenticated"}]),
}


def bootstrap(sim):
    reg, store = sim.registry, sim.store
    cr_rt = reg.by_resource(GROUP, "clusterroles")
    crb_rt = reg.by_resource(GROUP, "clusterrolebindings")
    for name, rules in DEFAULT_CLUSTER_ROLES.items():
        if store.get_or_none(cr_rt, "", name) is None:
            store.create(cr_rt, {"metadata": {"name": name, "labels": {
                "kubernetes.io/bootstrapping": "rbac-defaults"}}, "rules": rules})
    for name, (role, subjects) in DEFAULT_BINDINGS.items():
        if store.get_or_none(crb_rt, "", name) is None:
            store.create(crb_rt, {"metadata": {"name": name, "labels": {
                "kubernetes.io/bootstrapping": "rbac-defaults"}},
                "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role}, "subjects": subjects})
