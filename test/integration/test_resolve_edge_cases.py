"""`istrigger resolve` against registry behaviour that Debian's Distribution 2.8 never shows but
other registries do: 429 with Retry-After, 5xx, a server that never answers, replies without
Docker-Content-Digest (digest computed from the body), a body that does not match its digest,
and tag lists paged with Link headers. A scripted HTTP server in this file plays the registry,
serving a real manifest built by test/lib/registry.py."""
import email.utils
import hashlib
import http.server
import json
import pathlib
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import registry as R  # noqa: E402
from istrigger_cli import lines, run  # noqa: E402


class Scripted:
    """A registry-shaped HTTP server: `behaviour[repo]` decides how /v2/REPO/... answers."""

    def __init__(self, manifest_bytes):
        self.manifest = manifest_bytes
        self.digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        self.hits = {}
        self.tags = ["a%02d" % i for i in range(7)]
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def route(self):
                path = self.path
                if path == "/v2/":
                    return self.send(200, b"{}")
                repo = path[4:].split("/")[0]
                srv.hits[repo] = srv.hits.get(repo, 0) + 1
                n = srv.hits[repo]
                mt = ("Content-Type", R.OCI_MANIFEST)
                if repo == "ratelimited":
                    if n <= 2:
                        return self.send(429, b"{}", [("Retry-After", "1")])
                    return self.send(200, srv.manifest, [mt, ("Docker-Content-Digest", srv.digest)])
                if repo == "datelimited":
                    if n == 1:
                        when = email.utils.formatdate(time.time() + 2, usegmt=True)
                        return self.send(503, b"{}", [("Retry-After", when)])
                    return self.send(200, srv.manifest, [mt, ("Docker-Content-Digest", srv.digest)])
                if repo == "slowdown":
                    return self.send(429, b"{}", [("Retry-After", "120")])
                if repo == "forbidden":
                    return self.send(403, b'{"errors":[{"code":"DENIED"}]}')
                if repo == "broken":
                    return self.send(500, b"oops")
                if repo == "unavailable":
                    return self.send(503, b"{}")
                if repo == "hang":
                    time.sleep(5)
                    return self.send(200, b"")
                if repo == "nodigest":
                    return self.send(200, srv.manifest, [mt])
                if repo == "tampered":
                    # no digest header, so the client must fetch and hash the body
                    body = srv.manifest.replace(b"layers", b"LAYERS")
                    return self.send(200, body, [mt])
                if repo == "paged" and "/tags/list" in path:
                    last = path.split("last=")[1].split("&")[0] if "last=" in path else None
                    start = srv.tags.index(last) + 1 if last else 0
                    page = srv.tags[start:start + 3]
                    hdrs = [("Content-Type", "application/json")]
                    if start + 3 < len(srv.tags):
                        hdrs.append(("Link", '</v2/paged/tags/list?last=%s&n=3>; rel="next"'
                                     % page[-1]))
                    return self.send(200, json.dumps({"name": "paged", "tags": page}).encode(),
                                     hdrs)
                return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')

            do_GET = do_HEAD = route

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.host = "127.0.0.1:%d" % self.httpd.server_address[1]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    w = tmp_path_factory.mktemp("edge")
    img = R.make_image(w / "img", "edge")
    s = Scripted(R._canon(img["manifest"]))
    assert s.digest == img["digest"]
    yield s
    s.stop()


def test_429_with_retry_after_is_retried_then_succeeds(srv):
    t0 = time.time()
    res = run("resolve", "--insecure", srv.host + "/ratelimited:v1")
    assert res.returncode == 0, res.stderr
    assert lines(res) == [srv.digest]
    assert time.time() - t0 >= 1.9  # waited Retry-After twice
    assert srv.hits["ratelimited"] == 3


def test_503_with_an_http_date_retry_after_waits_until_then(srv):
    t0 = time.time()
    res = run("resolve", "--insecure", srv.host + "/datelimited:v1")
    assert res.returncode == 0, res.stderr
    assert lines(res) == [srv.digest]
    assert time.time() - t0 >= 0.9  # the date is 1-2 s ahead (one-second resolution)
    assert srv.hits["datelimited"] == 2


def test_429_with_long_retry_after_fails_at_once_with_the_delay(srv):
    t0 = time.time()
    res = run("resolve", "--insecure", "--json", srv.host + "/slowdown:v1")
    assert res.returncode == 1
    out = json.loads(lines(res)[0])
    assert out["code"] == "EAGAIN" and out["retryAfterSeconds"] == 120
    assert "429 Too Many Requests" in out["error"] and "retry after 120 s" in out["error"]
    assert time.time() - t0 < 5


def test_server_errors_are_reported_with_status(srv):
    res = run("resolve", "--insecure", srv.host + "/broken:v1", srv.host + "/unavailable:v1")
    assert res.returncode == 1
    err = res.stderr.splitlines()
    assert "HTTP 500 (server error)" in err[0]
    assert "503 Service Unavailable" in err[1]


def test_403_is_reported_as_access_denied(srv):
    res = run("resolve", "--insecure", "--json", srv.host + "/forbidden:v1")
    assert res.returncode == 1
    out = json.loads(lines(res)[0])
    assert out["code"] == "EPERM" and out["httpStatus"] == 403
    assert "403 Forbidden: %s denies access to forbidden" % srv.host in out["error"]


def test_a_registry_that_never_answers_times_out(srv):
    t0 = time.time()
    res = run("resolve", "--insecure", "--timeout", "1s", srv.host + "/hang:v1")
    assert res.returncode == 1
    assert "not resolved within 1.0 s" in res.stderr
    assert time.time() - t0 < 4


def test_missing_docker_content_digest_is_computed_from_the_body(srv):
    res = run("resolve", "--insecure", srv.host + "/nodigest:v1")
    assert res.returncode == 0, res.stderr
    assert lines(res) == [srv.digest]


def test_body_not_matching_its_digest_is_a_content_integrity_error(srv):
    res = run("resolve", "--insecure", "--json", srv.host + "/tampered@" + srv.digest)
    assert res.returncode == 1
    out = json.loads(lines(res)[0])
    assert out["code"] == "EBADMSG" and "content integrity error" in out["error"]


def test_tag_list_follows_link_pagination(srv):
    res = run("resolve", "--insecure", "--tags", srv.host + "/paged:x")
    assert res.returncode == 0, res.stderr
    assert lines(res) == srv.tags
