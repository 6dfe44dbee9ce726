"""Image reference helpers with OpenShift's semantics (reference §8.1, §2.1, §5.5):
Docker pull-spec parsing, ImageStreamTag name parsing and ResolveLatestTaggedImage."""
import re

DEFAULT_TAG = "latest"
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")

_DIGEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST_RE = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
                      r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                      r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")


class RefError(ValueError):
    pass


class DockerImageReference:
    """registry/namespace/name:tag@id, split the way library-go's reference.Parse does."""

    def __init__(self, registry="", namespace="", name="", tag="", id=""):
        self.registry, self.namespace, self.name, self.tag, self.id = (
            registry, namespace, name, tag, id)

    def __eq__(self, other):
        return isinstance(other, DockerImageReference) and self.__dict__ == other.__dict__

    def __repr__(self):
        return "DockerImageReference(%r)" % self.exact()

    def copy(self):
        return DockerImageReference(self.registry, self.namespace, self.name, self.tag, self.id)

    def repository(self):
        """registry/namespace/name"""
        return "/".join(p for p in (self.registry, self.namespace, self.name) if p)

    def name_string(self):
        """registry/namespace/name:tag (no id)"""
        s = self.repository()
        return s + (":" + self.tag if self.tag else "")

    def exact(self):
        s = self.repository()
        if self.tag:
            s += ":" + self.tag
        if self.id:
            s += "@" + self.id
        return s

    def most_specific(self):
        """Drop the tag when an ID is present (reference.MostSpecific)."""
        r = self.copy()
        if r.id and _DIGEST_RE.match(r.id):
            r.tag = ""
        return r

    def docker_client_defaults(self):
        """Empty registry -> docker.io; on Docker Hub empty namespace -> library; empty tag ->
        latest (reference.DockerClientDefaults)."""
        r = self.copy()
        if not r.registry:
            r.registry = "docker.io"
        if r.registry in DOCKER_HUB and not r.namespace:
            r.namespace = "library"
        if not r.tag:
            r.tag = DEFAULT_TAG
        return r

    def registry_host(self):
        """host:port to connect to (Docker Hub names map to its API host)."""
        r = self.registry or "docker.io"
        if r in ("docker.io", "index.docker.io"):
            return "registry-1.docker.io"
        return r


def parse(spec):
    """Parse a Docker pull spec. Raises RefError when it is not a valid reference."""
    if not isinstance(spec, str) or not spec:
        raise RefError("repository name must have at least one component")
    rest, ident = spec, ""
    if "@" in rest:
        rest, ident = rest.split("@", 1)
        if not _DIGEST_RE.match(ident):
            raise RefError("invalid reference format")
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.match(tag):
            raise RefError("invalid reference format")
    if not rest:
        raise RefError("invalid reference format")
    registry = ""
    i = rest.find("/")
    if i != -1 and (any(c in rest[:i] for c in ".:") or rest[:i] == "localhost"):
        registry, rest = rest[:i], rest[i + 1:]
        if not _HOST_RE.match(registry):
            raise RefError("invalid reference format")
    comps = rest.split("/")
    for c in comps:
        if not _COMPONENT_RE.match(c):
            if c.lower() == c:
                raise RefError("invalid reference format")
            raise RefError("invalid reference format: repository name must be lowercase")
    namespace, name = "", rest
    if len(comps) > 1:
        namespace, name = comps[0], "/".join(comps[1:])
    return DockerImageReference(registry, namespace, name, tag, ident)


def parse_istag_name(istag):
    """imageutil.ParseImageStreamTagName: exactly one ':' and no '@' -> (name, tag)."""
    if "@" in istag:
        raise RefError("%r is an image stream image, not an image stream tag" % istag)
    segs = istag.split(":")
    if len(segs) != 2:
        raise RefError("expected exactly one : delimiter in the istag %r" % istag)
    if not segs[0] or not segs[1]:
        raise RefError("image stream tag name %r must have a name and a tag" % istag)
    return segs[0], segs[1]


def split_istag(name_and_tag):
    """imageutil.SplitImageStreamTag: (name, tag, ok); ok is whether a ':' was present;
    an empty tag is 'latest'."""
    parts = name_and_tag.split(":", 1)
    name = parts[0]
    tag = parts[1] if len(parts) > 1 else ""
    if not tag:
        tag = DEFAULT_TAG
    return name, tag, len(parts) == 2


def find_spec_tag(stream, tag):
    for t in (stream.get("spec") or {}).get("tags") or []:
        if t.get("name") == tag:
            return t
    return None


def find_status_tag(stream, tag):
    for t in (stream.get("status") or {}).get("tags") or []:
        if t.get("tag") == tag:
            return t
    return None


def latest_tag_event(stream, tag):
    st = find_status_tag(stream, tag)
    if not st or not st.get("items"):
        return None
    return st["items"][0]


def resolve_reference_for_tag_event(stream, tag, event, internal_registry=""):
    """resolveReferenceForTagEvent: Local reference policy gives
    <status.dockerImageRepository>@<image>; otherwise the event's dockerImageReference."""
    spec = find_spec_tag(stream, tag)
    if spec is None:
        return event.get("dockerImageReference", "")
    policy = ((spec.get("referencePolicy") or {}).get("type")) or "Source"
    if policy == "Local":
        local = (stream.get("status") or {}).get("dockerImageRepository") or ""
        if not local and internal_registry:
            md = stream.get("metadata") or {}
            local = "%s/%s/%s" % (internal_registry, md.get("namespace", ""), md.get("name", ""))
        image = event.get("image") or ""
        if not local or not image:
            return event.get("dockerImageReference", "")
        try:
            r = parse(local)
        except RefError:
            return event.get("dockerImageReference", "")
        r.tag = ""
        r.id = image
        return r.exact()
    return event.get("dockerImageReference", "")


def resolve_latest_tagged_image(stream, tag, internal_registry=""):
    """imageutil.ResolveLatestTaggedImage: (reference, ok). Not ok when the tag has no
    history; items[0] is used as is ("last known good")."""
    ev = latest_tag_event(stream, tag)
    if ev is None:
        return "", False
    return resolve_reference_for_tag_event(stream, tag, ev, internal_registry), True
