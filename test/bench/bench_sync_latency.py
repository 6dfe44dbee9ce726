"""Push-to-import latency benchmark (`make bench`): how long after `skopeo copy` finishes does
the ImageStream tag show the new digest, with istrigger polling at a 2s interval?

Starts a Debian docker-registry, okdsim (its own scheduled import at 15m, so every import
measured is istrigger's) and `istrigger run`, annotates a stream `istrigger.io/poll-interval=2s`,
then pushes N new images at random moments and measures, for each:
  - push-to-import: from the end of the push to the tag's new digest in the stream (watched by
    polling the API every 20 ms), which is what a user sees;
  - detection-to-import: from the poll that saw the digest to the import's reply, as the
    operator reports it (/api/v1/imports).
Expected: push-to-import is the wait for the next poll (uniform over the interval, minus up to
10% jitter) plus detection-to-import. Figures, not assertions. BENCH_PUSHES sets N (default 12).
"""
import os
import pathlib
import random
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
from conftest import E2E, reglib, stream_obj, wait_for  # noqa: E402

N = int(os.environ.get("BENCH_PUSHES", "12"))
NS = "bench"


def summary(xs):
    xs = sorted(xs)
    return "min %.2fs  median %.2fs  p90 %.2fs  max %.2fs  (n=%d)" % (
        xs[0], statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.9))], xs[-1], len(xs))


def main():
    with tempfile.TemporaryDirectory(prefix="istrigger-bench-sync-") as tmp:
        tmp = pathlib.Path(tmp)
        registry = reglib.Registry(tmp / "registry").start()
        env = E2E(tmp, registry)
        try:
            env.namespace(NS)
            env.namespace("istrigger")
            d = env.push("app", "v", "bench 0")
            env.create(stream_obj("app", [("v", registry.ref("app", "v"))],
                                  annotations={"istrigger.io/poll-interval": "2s"}), ns=NS)
            env.wait_image(NS, "app", "v", d)
            op = env.operator("--minimum-interval", "1s", "--operator-namespace", "istrigger")
            wait_for(lambda: op.metric_sum("istrigger_polls_total") > 0, timeout=10)
            push_to_import = []
            for i in range(1, N + 1):
                time.sleep(random.uniform(0.5, 2.5))  # a random phase against the poll timer
                d = env.push("app", "v", "bench %d" % i)
                t0 = time.monotonic()
                env.wait_image(NS, "app", "v", d, timeout=15)
                push_to_import.append(time.monotonic() - t0)
            det = [x["detectionToImportSeconds"] for x in op.api("/api/v1/imports")["items"]
                   if x.get("result") == "Success" and "detectionToImportSeconds" in x][:N]
            print("push-to-import at a 2s poll interval:      " + summary(push_to_import))
            if det:
                print("detection-to-import (operator's own view): " + summary(det))
        finally:
            env.close()
            registry.stop()


if __name__ == "__main__":
    main()
