"""The event recorder (src/kube/events.c) against okdsim: repeated events become count bumps on
one core/v1 Event, and a flapping object is rate limited."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from kubetool import KubeTool, start_tls_token_sim  # noqa: E402


def test_repeated_events_aggregate_and_floods_are_limited(tmp_path):
    sim = start_tls_token_sim(tmp_path)
    try:
        kt = KubeTool(sim.kubeconfig)
        kt.run("create", "namespaces", "-", input={"metadata": {"name": "ev"}})
        kt.run("create", "configmaps", "ev", input={"metadata": {"name": "flappy"}})
        res = kt.run("events", "ev", "flappy", "5")
        assert res == {"queued": 6, "created": 2, "aggregated": 4, "rate_limited": 0, "failed": 0, "flushed": True}
        st, _, body = sim.request("GET", "/api/v1/namespaces/ev/events")
        assert st == 200
        by_reason = {e["reason"]: e for e in body["items"]}
        assert set(by_reason) == {"Flapping", "Other"}
        flap = by_reason["Flapping"]
        assert flap["count"] == 5
        assert flap["type"] == "Warning"
        assert flap["message"] == "object flappy keeps failing"
        assert flap["involvedObject"]["name"] == "flappy" and flap["involvedObject"]["kind"] == "ConfigMap"
        assert flap["source"]["component"] == "kubetool"
        assert by_reason["Other"]["count"] == 1

        # Burst 10 per object: 31 events -> 10 written (1 create + 9 count bumps), 21 dropped.
        res = kt.run("events", "ev", "flappy", "30")
        assert res["queued"] == 10 and res["rate_limited"] == 21
        assert res["created"] == 1 and res["aggregated"] == 9
    finally:
        sim.stop()
