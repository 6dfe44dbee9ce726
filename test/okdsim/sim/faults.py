"""Fault injection (/_okdsim/faults) and request accounting (/_okdsim/requests)."""

import collections
import threading

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
           503: "ServiceUnavailable", 504: "Timeout"}
MESSAGES = {429: "Too many requests, please try again later.",
            500: "Internal error occurred: injected fault",
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted, but may still be processing "
                 "the request"}


class Faults:
    """Rules: {"path" | "pathPrefix", "method"?, "verb"?, "count", "code"?, "retryAfter"?, "delay"?,
    "message"?, "reason"?}. A rule with a code makes matching requests fail; with only a delay it slows
    them. count -1 means until cleared. A rule with "watchLag" (seconds) holds every event of the watches
    on matching paths that long before sending it (a slow watch cache); it lasts until cleared."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.reset_counts()

    def reset_counts(self):
        with getattr(self, "lock", threading.Lock()):
            self.total = 0
            self.by_verb = collections.Counter()
            self.by_resource = collections.Counter()
            self.by_verb_resource = collections.Counter()
            self.recent = collections.deque(maxlen=2000)

    def add(self, rule):
        rule = dict(rule)
        rule.setdefault("count", 1)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        with self.lock:
            self.rules = []

    def match(self, method, path, verb):
        """Return (fail_rule, delay_seconds). Consumes one count of each matching rule."""
        fail, delay = None, 0.0
        with self.lock:
            for r in list(self.rules):
                if r.get("watchLag"):
                    continue
                if r.get("path") and r["path"] != path:
                    continue
                if r.get("pathPrefix") and not path.startswith(r["pathPrefix"]):
                    continue
                if r.get("method") and r["method"].upper() != method:
                    continue
                if r.get("verb") and r["verb"] != verb:
                    continue
                if r.get("count", 1) == 0:
                    continue
                if r.get("code"):
                    if fail is not None:
                        continue
                    fail = r
                if r.get("delay"):
                    delay += float(r["delay"])
                if r.get("count", 1) > 0:
                    r["count"] -= 1
                    if r["count"] == 0:
                        self.rules.remove(r)
        return fail, delay

    def watch_lag(self, path):
        """Seconds a watch on path holds each event (the largest matching watchLag rule), or 0."""
        lag = 0.0
        with self.lock:
            for r in self.rules:
                if not r.get("watchLag"):
                    continue
                if r.get("path") and r["path"] != path:
                    continue
                if r.get("pathPrefix") and not path.startswith(r["pathPrefix"]):
                    continue
                lag = max(lag, float(r["watchLag"]))
        return lag

    def record(self, verb, resource, path, user):
        with self.lock:
            self.total += 1
            self.by_verb[verb] += 1
            if resource:
                self.by_resource[resource] += 1
                self.by_verb_resource["%s %s" % (verb, resource)] += 1
            self.recent.append({"verb": verb, "resource": resource, "path": path, "user": user})

    def report(self):
        with self.lock:
            return {"total": self.total, "byVerb": dict(self.by_verb), "byResource": dict(self.by_resource),
                    "byVerbResource": dict(self.by_verb_resource), "requests": list(self.recent),
                    "faults": [dict(r) for r in self.rules]}
