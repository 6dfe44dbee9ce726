"""The newcomer's first command: `DEMO_NONINTERACTIVE=1 make demo` tells its story, exits 0, and
the Deployment really rolled out the image that was pushed during the story."""
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def test_make_demo_rolls_the_deployment_out_to_the_pushed_digest(tmp_path):
    summary = tmp_path / "summary.json"
    env = dict(os.environ, DEMO_NONINTERACTIVE="1", DEMO_SUMMARY=str(summary))
    res = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    out = res.stdout
    for step in ("registry: Debian docker-registry serving", "okdsim (OKD stand-in) API server",
                 "ImageTrigger wrote image.openshift.io/triggers",
                 "istrigger saw the new digest and imported it", "rolled out to",
                 "cleaned up"):
        assert step in out, "missing narrated step %r in:\n%s" % (step, out)
    facts = json.loads(summary.read_text())
    assert facts["build1"] != facts["build2"]
    assert facts["image_before"].endswith("@" + facts["build1"])
    assert facts["image_after"].endswith("@" + facts["build2"])
    assert int(facts["revision_after"]) > int(facts["revision_before"])
    # The poll interval is 2s: the rollout must come long before OpenShift's 15 minutes.
    assert facts["push_to_rollout_seconds"] < 60
