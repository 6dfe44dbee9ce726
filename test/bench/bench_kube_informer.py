"""Benchmark of the C informer (src/kube/informer.c) against okdsim over HTTPS, via kubetool:

  - memory per cached object: RSS of an informer holding N ConfigMaps (each with ~1 KiB of
    data, about the size of a small ImageStream) minus RSS of one holding none, divided by N;
  - informer events/second: the informer is paused (SIGSTOP) while M updates pile up on the
    server, then resumed; the rate is the watch events it applied divided by the time from
    resume to the last one. okdsim (Python) serialises the events, so this is a lower bound
    of what the C side sustains.

Measures, does not assert. BENCH_KUBE_OBJECTS / BENCH_KUBE_EVENTS change N and M."""

import json
import os
import pathlib
import signal
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from kubetool import KubeTool, start_tls_token_sim  # noqa: E402

N = int(os.environ.get("BENCH_KUBE_OBJECTS", "3000"))
M = int(os.environ.get("BENCH_KUBE_EVENTS", "6000"))


class Api:
    def __init__(self, sim):
        self.sim, self.conn = sim, sim.connection()

    def __call__(self, method, path, body=None, ct="application/json"):
        h = {"Authorization": "Bearer " + self.sim.token, "Content-Type": ct}
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = self.conn.getresponse()
        r.read()
        return r.status


def parallel(n_threads, items, fn, sim):
    chunks = [items[i::n_threads] for i in range(n_threads)]

    def run(chunk):
        api = Api(sim)
        for it in chunk:
            fn(api, it)
    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / float(os.sysconf("SC_CLK_TCK"))


def informer_rss(kt, ns):
    inf = kt.start("informer", "configmaps", "--ns", ns, "--quiet")
    synced = inf.wait_for(lambda l: l.get("synced"), timeout=300, what="sync")
    time.sleep(0.5)
    inf.stop(timeout=60)
    return synced


def main():
    import tempfile
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-kube-"))
    sim = start_tls_token_sim(tmp, extra_args=["--quiet", "--history", str(M + 1000)])
    try:
        kt = KubeTool(sim.kubeconfig)
        for ns in ("empty", "full"):
            kt.run("create", "namespaces", "-", input={"metadata": {"name": ns}})
        payload = {"k%02d" % i: "x" * 40 for i in range(24)}  # ~1.2 KiB of data
        t0 = time.time()
        parallel(4, list(range(N)), lambda api, i: api(
            "POST", "/api/v1/namespaces/full/configmaps",
            {"metadata": {"name": "obj-%05d" % i, "labels": {"app": "bench", "i": str(i)}}, "data": payload}), sim)
        print("created %d ConfigMaps in %.1fs" % (N, time.time() - t0))
        st, _, one = sim.request("GET", "/api/v1/namespaces/full/configmaps/obj-00000")
        obj_bytes = len(json.dumps(one, separators=(",", ":")))

        base = informer_rss(kt, "empty")
        full = informer_rss(kt, "full")
        per_obj = (full["rss_kb"] - base["rss_kb"]) * 1024.0 / N
        print("memory: RSS %d KiB empty, %d KiB with %d objects -> %.0f bytes per cached object "
              "(object JSON %d bytes); initial list+sync of %d objects took %.2fs"
              % (base["rss_kb"], full["rss_kb"], N, per_obj, obj_bytes, N, full["seconds"]))

        # Events per second.
        inf = kt.start("informer", "configmaps", "--ns", "full", "--quiet", "--report-key", "full/zz-sentinel",
                       "--watch-timeout", "1800")
        inf.wait_for(lambda l: l.get("synced"), timeout=300, what="sync")
        time.sleep(1)
        inf.proc.send_signal(signal.SIGSTOP)
        t0 = time.time()
        parallel(4, list(range(M)), lambda api, i: api(
            "PATCH", "/api/v1/namespaces/full/configmaps/obj-%05d" % (i % N), {"data": {"seq": str(i)}},
            "application/merge-patch+json"), sim)
        Api(sim)("POST", "/api/v1/namespaces/full/configmaps", {"metadata": {"name": "zz-sentinel"}})
        print("wrote %d updates in %.1fs while the informer was paused" % (M, time.time() - t0))
        cpu0 = cpu_seconds(inf.proc.pid)
        resumed = time.monotonic()
        inf.proc.send_signal(signal.SIGCONT)
        rep = inf.wait_for(lambda l: l.get("report") == "full/zz-sentinel", timeout=600, what="sentinel")
        took = rep["mono"] - resumed
        cpu = cpu_seconds(inf.proc.pid) - cpu0
        lines = inf.stop(timeout=60)
        stats = [l for l in lines if "final" in l][-1]["stats"]
        print("informer: %d watch events applied in %.2fs after resume -> %.0f events/s "
              "(lists %d, relists after 410: %d)"
              % (rep["events"], took, rep["events"] / took, stats["lists"], stats["relists410"]))
        print("informer CPU: %.2fs for %d events -> %.0f events per CPU-second (the C side's capacity; "
              "the wall-clock rate above is bounded by okdsim)" % (cpu, rep["events"], rep["events"] / max(cpu, 0.01)))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
