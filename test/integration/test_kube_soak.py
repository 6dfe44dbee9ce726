"""Soak: an informer over 1,000 ConfigMaps that change continuously (updates, deletes,
re-creates) while its watches are dropped at random and the watch history is compacted now and
then (forcing 410 -> relist). At the end the informer's cache must equal the server's state,
and the process must exit cleanly under LeakSanitizer when the suite runs the ASan build
(ISTRIGGER_BIN=.../build-asan/istrigger). KUBE_SOAK_SECONDS sets the churn time (default 40)."""

import json
import os
import pathlib
import random
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from kubetool import KubeTool, start_tls_token_sim  # noqa: E402

OBJECTS = 1000
SECONDS = float(os.environ.get("KUBE_SOAK_SECONDS", "40"))


class Api:
    """One keep-alive HTTPS connection (okdsim.request opens one per call, too slow here)."""

    def __init__(self, sim):
        self.sim = sim
        self.conn = sim.connection()

    def __call__(self, method, path, body=None, content_type="application/json"):
        h = {"Authorization": "Bearer " + self.sim.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = content_type
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                r.read()
                return r.status
            except (ConnectionError, OSError):
                self.conn.close()
                self.conn = self.sim.connection()
        raise AssertionError("request failed twice: %s %s" % (method, path))


def test_cache_equals_server_after_churn_with_dropped_watches(tmp_path):
    sim = start_tls_token_sim(tmp_path, extra_args=["--quiet"])
    try:
        kt = KubeTool(sim.kubeconfig)
        ns = "soak"
        kt.run("create", "namespaces", "-", input={"metadata": {"name": ns}})
        base = "/api/v1/namespaces/%s/configmaps" % ns

        def create(api, i):
            return api("POST", base, {"metadata": {"name": "obj-%04d" % i}, "data": {"v": "0"}})

        setup = Api(sim)
        for i in range(OBJECTS):
            assert create(setup, i) == 201
        inf = kt.start("informer", "configmaps", "--ns", ns, "--quiet", "--backoff-max", "2",
                       "--page-size", "250", "--report-key", "%s/zz-sentinel" % ns)
        synced = inf.wait_for(lambda l: l.get("synced"), timeout=60, what="sync")
        assert synced["count"] == OBJECTS

        stop = threading.Event()
        counts = {"writes": 0, "drops": 0, "compacts": 0}
        lock = threading.Lock()

        def writer(seed):
            rnd = random.Random(seed)
            api = Api(sim)
            while not stop.is_set():
                i = rnd.randrange(OBJECTS)
                path = "%s/obj-%04d" % (base, i)
                op = rnd.random()
                if op < 0.8:
                    st = api("PATCH", path, {"data": {"v": str(rnd.random())}},
                             "application/merge-patch+json")
                elif op < 0.9:
                    st = api("DELETE", path)
                else:
                    st = create(api, i)
                with lock:
                    counts["writes"] += st < 300

        def chaos():
            rnd = random.Random(7)
            while not stop.wait(rnd.uniform(0.5, 2.5)):
                if rnd.random() < 0.3:
                    # Hold the informer's next watch for a second while changes happen and
                    # the history is compacted: that watch must answer 410 -> relist.
                    sim.faults({"verb": "watch", "delay": 1.0, "count": 1})
                    sim.faults({"action": "close-watches"})
                    time.sleep(0.5)
                    sim.faults({"action": "compact"})
                    counts["compacts"] += 1
                else:
                    sim.faults({"action": "close-watches"})
                counts["drops"] += 1

        threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
        threads.append(threading.Thread(target=chaos))
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join()

        # A last object written after all churn: once the informer has it, it has seen
        # everything before it (watch order), or listed after it (relist).
        assert setup("POST", base, {"metadata": {"name": "zz-sentinel"}}) == 201
        inf.wait_for(lambda l: l.get("report") == "%s/zz-sentinel" % ns, timeout=60, what="sentinel")
        lines = inf.stop(timeout=60)
        final = [l for l in lines if "final" in l][-1]

        st, _, body = sim.request("GET", base)
        server = {"%s/%s" % (ns, o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in body["items"]}
        missing = set(server) - set(final["final"])
        extra = set(final["final"]) - set(server)
        stale = [k for k in server if k in final["final"] and final["final"][k] != server[k]]
        assert not missing and not extra and not stale, (len(missing), len(extra), len(stale))
        assert counts["writes"] > 200 and counts["drops"] > 5, counts
        stats = final["stats"]
        assert stats["watches"] > counts["drops"] // 2, (stats, counts)
        assert stats["relists410"] >= 1, stats
        print("soak: %s writes, %s dropped watches, %s compactions; informer stats %s"
              % (counts["writes"], counts["drops"], counts["compacts"], stats))
    finally:
        sim.stop()
