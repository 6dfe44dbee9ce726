"""A small HTTP reverse proxy in front of a plain-HTTP registry that injects registry faults:
429 Too Many Requests with Retry-After, 503, and slow answers, for chosen methods. It counts
every request by method, so tests can see how often a client really asked.

    proxy = FaultProxy(upstream_port).start()      # proxy.host is "127.0.0.1:PORT"
    proxy.set_rules([{"method": "HEAD", "status": 429, "retry_after": 3}])
    proxy.count("HEAD"); proxy.set_rules([]); proxy.stop()

Rules are checked in order; the first whose method matches (None = any) applies. A rule with
`status` answers it without asking upstream; one with only `delay` (seconds) forwards after
sleeping. Standard library only; binds 127.0.0.1."""
import collections
import http.client
import http.server
import socketserver
import threading
import time


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FaultProxy:
    def __init__(self, upstream_port, port=0):
        self.upstream_port = upstream_port
        self.port = port
        self.rules = []
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        self.server = None

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def set_rules(self, rules):
        with self.lock:
            self.rules = list(rules)

    def count(self, method=None):
        with self.lock:
            return sum(v for k, v in self.counts.items() if method is None or k == method)

    def _rule(self, method):
        with self.lock:
            self.counts[method] += 1
            for r in self.rules:
                if r.get("method") in (None, method):
                    return dict(r)
        return None

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _handle(self):
                rule = proxy._rule(self.command)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if rule and rule.get("delay"):
                    time.sleep(rule["delay"])
                if rule and rule.get("status"):
                    msg = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected"}]}'
                    self.send_response(rule["status"])
                    if rule.get("retry_after") is not None:
                        self.send_header("Retry-After", str(rule["retry_after"]))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(msg)
                    return
                up = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                # Repeated headers (Accept) must all reach the registry.
                up.putrequest(self.command, self.path, skip_host=True,
                              skip_accept_encoding=True)
                up.putheader("Host", proxy.host)
                for k, v in self.headers.items():
                    if k.lower() not in ("host", "content-length"):
                        up.putheader(k, v)
                if body is not None:
                    up.putheader("Content-Length", str(len(body)))
                try:
                    up.endheaders(body)
                    resp = up.getresponse()
                    data = resp.read()
                except OSError:  # the registry is down: what a gateway would say
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() in ("transfer-encoding", "connection", "content-length"):
                        continue
                    if k.lower() == "location":
                        v = v.replace("127.0.0.1:%d" % proxy.upstream_port, proxy.host)
                    self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                up.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
