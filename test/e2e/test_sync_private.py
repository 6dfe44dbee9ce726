"""End-to-end, scenario 3 of issue 5: a private registry (TLS from its own CA + htpasswd auth).

The CA reaches istrigger the way an admin would give it: a ConfigMap named in the
ImageTriggerConfig `cluster` (which also lowers the minimum interval, live); a change of the
ConfigMap alone (CA rotation) is picked up at the next `--ca-refresh`. Credentials come
from a kubernetes.io/dockerconfigjson Secret in the stream's namespace, read through
`imagestreams/NAME/secrets`. A wrong password gives a clear Warning event; fixing the Secret
recovers without a restart.
"""
import base64
import json
import pathlib
import time

import pytest

from conftest import CRD, e2e_env, reglib, stream_obj, wait_for

NS = "priv"


def dockerconfig_secret(name, host, user, password):
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    cfg = {"auths": {host: {"username": user, "password": password, "auth": auth}}}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("private")
    registry = reglib.Registry(tmp / "registry", tls=True, auth=("alice", "s3cret")).start()
    with e2e_env(tmp, registry, sim_args=["--registry-ca", str(registry.ca_cert)]) as e:
        yield from _setup(e, registry)


def _setup(e, registry):
    e.namespace(NS)
    e.namespace("istrigger")
    e.kubectl("apply", "-f", str(CRD))
    wait_for(lambda: e.kubectl("get", "imagetriggerconfigs", check=False).returncode == 0,
             timeout=10, what="the ImageTriggerConfig CRD")
    e.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "registry-ca"},
              "data": {"ca-bundle.crt": pathlib.Path(registry.ca_cert).read_text()}},
             ns="istrigger")
    e.create({"apiVersion": "istrigger.io/v1alpha1", "kind": "ImageTriggerConfig",
              "metadata": {"name": "cluster"},
              "spec": {"minimumInterval": "1s", "defaultInterval": "5m",
                       "registries": [{"host": registry.host,
                                       "caBundle": {"configMap": {"name": "registry-ca"}}}]}})
    e.op = e.operator("--operator-namespace", "istrigger", "--max-backoff", "3s",
                      "--ca-refresh", "2s")
    yield e


def test_wrong_secret_reported_then_fixed_secret_recovers(env):
    reg = env.registry
    d1 = env.push("secret-app", "v1", "private v1")
    env.create(dockerconfig_secret("pull", reg.host, "alice", "wrong"), ns=NS)
    env.create(stream_obj("app", [("v1", reg.ref("secret-app", "v1"),
                                   {"importPolicy": {"insecure": False}})],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    ev = env.wait_event(NS, "PollFailed", "Unauthorized", timeout=15)
    msg = ev[0]["message"]
    assert reg.ref("secret-app", "v1") in msg
    assert "wrong" not in msg and "s3cret" not in msg  # never the credential itself
    assert env.image(NS, "app", "v1") is None

    env.kubectl("delete", "secret", "pull", "-n", NS)
    env.create(dockerconfig_secret("pull", reg.host, "alice", "s3cret"), ns=NS)
    env.wait_image(NS, "app", "v1", d1, timeout=20)
    env.wait_event(NS, "Imported", "imported v1 = " + d1)

    # A new push is followed at the interval the ImageTriggerConfig allowed (1s minimum).
    d2 = env.push("secret-app", "v1", "private v2")
    env.wait_image(NS, "app", "v1", d2, timeout=1 + 4)


def test_imagetriggerconfig_status_and_printer_columns(env):
    def status():
        out = json.loads(env.kubectl("get", "imagetriggerconfig", "cluster", "-o", "json").stdout)
        st = out.get("status") or {}
        return st if st.get("trackedTags", 0) >= 1 else None
    st = wait_for(status, timeout=15, interval=0.5, what="ImageTriggerConfig status")
    assert st["uniqueSources"] >= 1
    ready = [c for c in st["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True" and ready["reason"] == "Applied"
    out = env.kubectl("get", "itcfg").stdout
    assert "MINIMUM" in out and "1s" in out and "SOURCES" in out


def test_config_change_applies_live_and_raise_is_reported(env):
    env.kubectl("patch", "imagetriggerconfig", "cluster", "--type=merge",
                "-p", json.dumps({"spec": {"minimumInterval": "5s"}}))
    ev = env.wait_event(NS, "PollIntervalRaised", "below the minimum interval 5s", timeout=15)
    assert "istrigger.io/poll-interval=1s" in ev[0]["message"]
    wait_for(lambda: [s for s in env.op.api("/api/v1/sources")["items"]
                      if s["interval"] == "5s"], timeout=10, what="the source at 5s")
    env.kubectl("patch", "imagetriggerconfig", "cluster", "--type=merge",
                "-p", json.dumps({"spec": {"minimumInterval": "1s"}}))
    wait_for(lambda: [s for s in env.op.api("/api/v1/sources")["items"]
                      if s["interval"] == "1s"], timeout=10, what="the source back at 1s")


def test_ca_configmap_change_is_picked_up_without_a_config_change(env, tmp_path):
    reg = env.registry
    ref = reg.ref("rot-app", "v1")
    def tracked():
        out = json.loads(env.kubectl("get", "imagetriggerconfig", "cluster", "-o", "json").stdout)
        return (out.get("status") or {}).get("trackedTags", 0)
    before = tracked()
    env.push("rot-app", "v1", "rotation v1")
    if env.kubectl("get", "secret", "pull", "-n", NS, check=False).returncode != 0:
        env.create(dockerconfig_secret("pull", reg.host, "alice", "s3cret"), ns=NS)
    env.create(stream_obj("rot", [("v1", ref, {"importPolicy": {"insecure": False}})],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    wait_for(lambda: env.image(NS, "rot", "v1"), timeout=20, what="initial import of rot")
    # Settle: the status write that counts the new tag (it wakes the config reconciler, which
    # re-reads the CA anyway) has happened; from here nothing but the refresh reads it again.
    wait_for(lambda: tracked() == before + 1, timeout=15, what="trackedTags counting rot")
    time.sleep(1)
    right = pathlib.Path(reg.ca_cert).read_text()
    other_ca, _ = reglib.make_ca(tmp_path / "other-ca", cn="some other CA")

    def set_ca(pem):
        env.kubectl("patch", "configmap", "registry-ca", "-n", "istrigger", "--type=merge",
                    "-p", json.dumps({"data": {"ca-bundle.crt": pem}}))
    set_ca(pathlib.Path(other_ca).read_text())
    try:
        # Only the ConfigMap changed: the next refresh (2s here) makes the checks distrust the
        # registry's certificate.
        env.wait_event(NS, "PollFailed", "checking %s: TLSError" % ref, timeout=15)
    finally:
        set_ca(right)
    env.wait_event(NS, "PollRecovered", ref, timeout=15)
    assert "CA bundle for %s changed in configmap istrigger/registry-ca" % reg.host in env.op.log()
