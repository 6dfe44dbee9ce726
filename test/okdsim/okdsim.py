#!/usr/bin/python3
"""okdsim: a single-process stand-in for an OKD control plane (Kubernetes API + OpenShift image API).

Usage: okdsim.py --listen 127.0.0.1:PORT [--tls-cert F --tls-key F] [--client-ca F] [--token T]
                 [--state FILE] [--rbac] [--write-kubeconfig FILE]
Prints one line when ready: "okdsim ready on URL".
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sim as simpkg  # noqa: E402
from sim import auth, builtin, controllers, crd, rbac, server  # noqa: E402
from sim.faults import Faults  # noqa: E402

try:
    import sim.openshift as openshift  # noqa: E402
except ImportError as _e:  # the OpenShift half is developed separately
    if "openshift" not in str(_e):
        raise
    openshift = None


def parse_args(argv):
    p = argparse.ArgumentParser(prog="okdsim.py", description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 picks a free port)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="private key for --tls-cert (PEM)")
    p.add_argument("--client-ca", help="accept client certificates signed by this CA; CN is the user, O the groups")
    p.add_argument("--token", help="demand 'Authorization: Bearer TOKEN' (this token is a cluster admin)")
    p.add_argument("--user-token", action="append", default=[], metavar="TOKEN=USER[:GROUP,...]",
                   help="an extra static token for a (non-admin) user; repeatable")
    p.add_argument("--rbac", action="store_true", help="enforce RBAC (Roles/ClusterRoles and bindings)")
    p.add_argument("--state", help="keep objects in this JSON file across restarts")
    p.add_argument("--write-kubeconfig", metavar="FILE", help="write a kubeconfig for this server")
    p.add_argument("--history", type=int, default=2000, help="watch history window (events kept)")
    p.add_argument("--watch-timeout", type=float, default=1800.0,
                   help="seconds a watch without timeoutSeconds stays open")
    p.add_argument("--bookmark-interval", type=float, default=60.0, help="seconds between watch BOOKMARKs")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.add_argument("--quiet", action="store_true", help="log nothing but the ready line")
    if openshift is not None and hasattr(openshift, "add_arguments"):
        openshift.add_arguments(p)
    return p.parse_args(argv)


def write_kubeconfig(path, url, opts):
    cluster = {"server": url}
    if url.startswith("https://"):
        if opts.tls_cert:
            cluster["certificate-authority"] = os.path.abspath(opts.tls_cert)
        else:
            cluster["insecure-skip-tls-verify"] = True
    user = {}
    if opts.token:
        user["token"] = opts.token
    cfg = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "okdsim", "cluster": cluster}],
           "users": [{"name": "okdsim", "user": user}],
           "contexts": [{"name": "okdsim", "context": {"cluster": "okdsim", "user": "okdsim",
                                                       "namespace": "default"}}],
           "current-context": "okdsim", "preferences": {}}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=1)
    os.replace(tmp, path)


def build(opts):
    s = simpkg.Sim(opts)
    s.faults = Faults()
    user_tokens = {}
    for ut in opts.user_token:
        tok, _, rest = ut.partition("=")
        name, _, groups = rest.partition(":")
        user_tokens[tok] = (name, [g for g in groups.split(",") if g])
    s.auth = auth.Authenticator(s, opts.token, opts.client_ca, user_tokens)
    builtin.register_builtin(s)
    rbac.register(s)
    auth.register(s)
    crd.register(s)
    if opts.state and os.path.exists(opts.state):
        with open(opts.state) as f:
            s.store.load(json.load(f), lambda o: crd.serve_crd(s, o))
    controllers.bootstrap_namespaces(s)
    rbac.bootstrap(s)
    s.start_controller("namespace", controllers.namespace_controller)
    s.start_controller("crd", crd.crd_controller)
    if openshift is not None:
        openshift.install(s)
    return s


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    host, _, port = opts.listen.rpartition(":")
    s = build(opts)
    ctx = server.make_ssl_context(opts.tls_cert, opts.tls_key, opts.client_ca) if opts.tls_cert else None
    srv = server.ApiServer(s, host or "127.0.0.1", int(port), ctx)
    url = "%s://%s:%d" % ("https" if ctx else "http", host or "127.0.0.1", srv.server_address[1])
    if opts.state:
        s.store.start_persistence(opts.state, s.stop_event)
    if opts.write_kubeconfig:
        write_kubeconfig(opts.write_kubeconfig, url, opts)

    def stop(*_):
        srv.stopping = True
        s.stop_event.set()
        srv.close_watches()
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("okdsim ready on %s" % url, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        if opts.state:
            s.store.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
