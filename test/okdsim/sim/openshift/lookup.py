"""Image lookup (reference §6): the image.openshift.io/ImagePolicy admission plugin's name
resolution with its built-in defaults (resolveImages: Attempt, localNames for the workload
kinds). On CREATE/UPDATE of a workload, `image` fields naming an ImageStreamTag are rewritten
to the tag's image when the stream has lookupPolicy.local, or when the pod template (else the
object) carries alpha.image.policy.openshift.io/resolve-names: "*"."""
from . import refs
from .triggers import POD_SPEC_PATHS, pod_spec

RESOLVE_NAMES = "alpha.image.policy.openshift.io/resolve-names"

# kinds with a resolution rule in the plugin defaults (group, kind)
RULE_KINDS = {
    ("", "Pod"), ("", "ReplicationController"), ("apps", "Deployment"),
    ("apps", "DaemonSet"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"),
    ("extensions", "Deployment"), ("extensions", "DaemonSet"), ("extensions", "ReplicaSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("apps.openshift.io", "DeploymentConfig"),
}

TEMPLATE_META_PATHS = {
    "CronJob": ("spec", "jobTemplate", "spec", "template", "metadata"),
    "Pod": None,
}


def _template_annotations(obj, kind):
    path = TEMPLATE_META_PATHS.get(kind, ("spec", "template", "metadata"))
    if path is None:
        return None
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    if not isinstance(cur, dict):
        return None
    return cur.get("annotations") or {}


def force_resolution(obj, kind):
    """ResolveAllNames: the template's annotations, or else the object's."""
    t = _template_annotations(obj, kind)
    if t is not None and t.get(RESOLVE_NAMES) == "*":
        return True
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(RESOLVE_NAMES) == "*"


def has_controller_owner(obj):
    for o in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if o.get("controller"):
            return True
    return False


def _containers(spec):
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, dict):
                yield key, i, c


def resolve_image(image, namespace, force, get_istag, get_stream, internal_registry=""):
    """Returns the rewritten pull spec, or None to leave the image alone.
    get_istag(ns, "name:tag") -> ImageStreamTag dict or None; get_stream(ns, name) -> dict."""
    try:
        ref = refs.parse(image)
    except refs.RefError:
        return None
    if ref.id:
        return None  # a digest reference is only looked up for policy, never rewritten
    local_registry = bool(internal_registry) and ref.registry == internal_registry
    single = not ref.registry and not ref.namespace
    if not (single or local_registry or force):
        return None
    ns = namespace
    if local_registry and ref.namespace and not force:
        ns = ref.namespace
    name = ref.name
    tag = ref.tag or refs.DEFAULT_TAG
    istag = get_istag(ns, "%s:%s" % (name, tag))
    if istag is not None:
        if not ((istag.get("lookupPolicy") or {}).get("local") or force or local_registry):
            return None  # "ImageStreamTag does not allow local references" (Attempt: ignored)
        image_obj = istag.get("image") or {}
        pull = image_obj.get("dockerImageReference")
        digest = (image_obj.get("metadata") or {}).get("name")
        if not pull or not digest:
            return None
        try:
            r = refs.parse(pull)
        except refs.RefError:
            return None
        r.tag, r.id = "", digest
        return r.exact()
    stream = get_stream(ns, name)
    if stream is None:
        return None
    if not (((stream.get("spec") or {}).get("lookupPolicy") or {}).get("local") or force):
        return None
    repo = (stream.get("status") or {}).get("dockerImageRepository")
    if not repo:
        return None
    return "%s:%s" % (repo, tag)


def admit(obj, old, op, group, get_istag, get_stream, internal_registry=""):
    """Mutates obj in place; returns the number of images rewritten."""
    kind = obj.get("kind")
    if (group, kind) not in RULE_KINDS or kind not in POD_SPEC_PATHS:
        return 0
    if has_controller_owner(obj):
        return 0
    if op == "UPDATE" and kind == "Job":
        return 0  # skipImageRewriteOnUpdate
    spec, _ = pod_spec(obj, kind)
    if spec is None:
        return 0
    old_images = {}
    if op == "UPDATE" and old is not None:
        ospec, _ = pod_spec(old, kind)
        for key, i, c in _containers(ospec or {}):
            old_images[(key, i)] = c.get("image")
    ns = (obj.get("metadata") or {}).get("namespace", "")
    force = force_resolution(obj, kind)
    n = 0
    for key, i, c in _containers(spec):
        image = c.get("image")
        if not isinstance(image, str) or not image:
            continue
        if op == "UPDATE" and old_images.get((key, i)) == image:
            continue  # only changed references are processed on update
        new = resolve_image(image, ns, force, get_istag, get_stream, internal_registry)
        if new and new != image:
            c["image"] = new
            n += 1
    return n
