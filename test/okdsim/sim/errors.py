"""ApiError and the metav1 Status objects okdsim answers with (wording follows kube-apiserver)."""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message}
        if self.reason:
            st["reason"] = self.reason
        if self.details is not None:
            st["details"] = {k: v for k, v in self.details.items() if v not in (None, "", [])} \
                if self.details else {}
        st["code"] = self.code
        return st


def qualified_resource(rt):
    return rt.resource if not rt.group else "%s.%s" % (rt.resource, rt.group)


def qualified_kind(rt):
    return rt.kind if not rt.group else "%s.%s" % (rt.kind, rt.group)


def _details(rt, name):
    d = {}
    if name:
        d["name"] = name
    if rt.group:
        d["group"] = rt.group
    d["kind"] = rt.resource
    return d


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified_resource(rt), name), _details(rt, name))


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified_resource(rt), name),
                    _details(rt, name))


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def conflict(rt, name, message=None):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (qualified_resource(rt), name, message or MODIFIED), _details(rt, name))


def cause(field, reason, message):
    """One field error: reason is a metav1 CauseType such as FieldValueRequired."""
    return {"reason": reason, "message": message, "field": field}


def invalid(rt, name, causes):
    parts = ["%s: %s" % (c["field"], c["message"]) if c.get("field") else c["message"] for c in causes]
    agg = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = {"name": name, "group": rt.group, "kind": rt.kind, "causes": causes}
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified_kind(rt), name, agg), details)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def forbidden(group, resource, name, message):
    if not resource:
        msg = "forbidden: %s" % message
    else:
        qr = resource if not group else "%s.%s" % (resource, group)
        msg = ("%s is forbidden: %s" % (qr, message)) if not name else \
            ('%s "%s" is forbidden: %s' % (qr, name, message))
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if resource:
        d["kind"] = resource
    return ApiError(403, "Forbidden", msg, d)


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def expired(message):
    return ApiError(410, "Expired", message)


def method_not_supported(rt, verb):
    return ApiError(405, "MethodNotAllowed", "%s is not supported on resources of kind \"%s\""
                    % (verb, qualified_resource(rt)), {"group": rt.group, "kind": rt.resource})


def unsupported_media_type(accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def page_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def internal(message):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message,
                    {"causes": [{"message": message}]})


def invalid_patch(message):
    return ApiError(422, "Invalid", message, {})


def too_many_requests(retry_after):
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {"retryAfterSeconds": retry_after} if retry_after else {})
