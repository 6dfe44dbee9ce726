"""Registry client benchmark (`make bench`): digest checks against a local Debian
docker-registry started here, from one run:

1. 100 digest checks by one `istrigger resolve` process (100 references) against 100
   `skopeo inspect --format {{.Digest}}` processes, and the ratio;
2. checks per second with 16 in flight (`istrigger resolve --max-in-flight 16`, N references)
   against the registry's own ceiling for the same HEAD requests measured with
   `curl --parallel --parallel-max 16` in the same run.

Figures, not assertions. Both sides must agree on every digest, or the figures mean nothing.
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import registry as R  # noqa: E402

BIN = os.environ.get("ISTRIGGER_BIN", str(pathlib.Path(__file__).resolve().parents[2] /
                                           "build" / "istrigger"))
N_THROUGHPUT = int(os.environ.get("BENCH_CHECKS", "2000"))
ACCEPT = ("Accept: %s, application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.docker.distribution.manifest.v2+json, %s" % (R.OCI_INDEX,
                                                                        R.OCI_MANIFEST))


def timed(argv, **kw):
    t0 = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, **kw)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (argv[0], res.stderr[-2000:]))
    return dt, res.stdout


def main():
    with tempfile.TemporaryDirectory(prefix="istrigger-bench-") as tmp:
        w = pathlib.Path(tmp)
        reg = R.Registry(w / "reg").start()
        try:
            tags = []
            for i in range(4):
                img = R.make_image(w / ("img%d" % i), "bench %d" % i)
                R.push(img, reg.ref("bench/app", "v%d" % i), reg)
                tags.append((reg.ref("bench/app", "v%d" % i), img["digest"]))
            idx = R.make_index(w / "idx", [("amd64", "linux"), ("arm64", "linux")])
            R.push(idx, reg.ref("bench/multi", "v1"), reg)
            tags.append((reg.ref("bench/multi", "v1"), idx["digest"]))

            refs = [tags[i % len(tags)][0] for i in range(100)]
            want = [tags[i % len(tags)][1] for i in range(100)]

            # 1. one process, 100 references
            t_ist, out = timed([BIN, "resolve", "--insecure"] + refs)
            assert out.split() == want, "istrigger disagrees with the pushed digests"

            # 100 skopeo processes, one after the other (as a shell loop would)
            t0 = time.perf_counter()
            for ref, digest in zip(refs, want):
                _, out = timed(["skopeo", "inspect", "--tls-verify=false", "--format",
                                "{{.Digest}}", "docker://" + ref])
                assert out.strip() == digest, "skopeo disagrees on %s" % ref
            t_sko = time.perf_counter() - t0

            print("digest checks, 100 references (plain HTTP docker-registry %s):" % reg.host)
            print("  istrigger resolve, 1 process:   %8.3f s  (%6.1f ms/check)"
                  % (t_ist, t_ist * 10))
            print("  skopeo inspect, 100 processes:  %8.3f s  (%6.1f ms/check)"
                  % (t_sko, t_sko * 10))
            print("  ratio skopeo/istrigger:         %8.1f x" % (t_sko / t_ist))

            # 2. throughput at 16 in flight vs the registry's ceiling
            n = N_THROUGHPUT
            listfile = w / "refs.txt"
            listfile.write_text("\n".join(tags[i % len(tags)][0] for i in range(n)) + "\n")
            ist_argv = [BIN, "resolve", "--insecure", "--max-in-flight", "16", "--images-from",
                        str(listfile)]

            cfg = w / "curl.cfg"
            with open(cfg, "w") as f:
                for i in range(n):
                    ref = tags[i % len(tags)][0]
                    repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
                    f.write('url = "http://%s/v2/%s/manifests/%s"\noutput = "/dev/null"\n'
                            % (reg.host, repo, tag))
            curl_argv = ["curl", "--silent", "--fail", "--head", "--parallel", "--parallel-max",
                         "16", "--parallel-immediate", "-H", ACCEPT, "-K", str(cfg)]
            # Alternate the two, twice, and keep each one's best: the machine is shared.
            t_many = t_curl = float("inf")
            for _ in range(2):
                dt, out = timed(ist_argv)
                assert len(out.split()) == n
                t_many = min(t_many, dt)
                t_curl = min(t_curl, timed(curl_argv)[0])
            print("throughput, %d checks, 16 in flight (best of 2 alternating runs):" % n)
            print("  istrigger resolve:              %8.0f checks/s  (%.3f s, incl. start-up)"
                  % (n / t_many, t_many))
            print("  registry ceiling (curl HEAD):   %8.0f requests/s  (%.3f s)"
                  % (n / t_curl, t_curl))
            print("  istrigger / ceiling:            %8.0f %%" % (100.0 * t_curl / t_many))
            print("  (machine: %d CPUs shared with other work; registry, client and curl on "
                  "the same host)" % os.cpu_count())
        finally:
            reg.stop()


if __name__ == "__main__":
    main()
