"""`istrigger resolve` against a real Distribution registry serving TLS with a certificate from
a CA made by openssl in the test, and htpasswd basic auth: digests compared with skopeo, the
extra CA bundle, and the failures a user meets (wrong password, no credentials, untrusted CA,
a CA that did not sign the server's certificate). Secrets must never appear in output."""
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import registry as R  # noqa: E402
from istrigger_cli import lines, run  # noqa: E402

PASSWORD = "tls-s3cret-pw"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    w = tmp_path_factory.mktemp("tlsbasic")
    reg = R.Registry(w / "reg", tls=True, auth=("alice", PASSWORD)).start()
    img = R.make_image(w / "img", "tls v1")
    idx = R.make_index(w / "idx", [("amd64", "linux"), ("arm64", "linux"), ("ppc64le", "linux")])
    R.push(img, reg.ref("team/app", "v1"), reg)
    R.push(idx, reg.ref("team/multi", "v1"), reg)
    authfile = w / "auth.json"
    authfile.write_text(json.dumps(reg.dockerconfigjson()))
    wrong = w / "wrong.json"
    wrong.write_text(json.dumps({"auths": {reg.host: {"username": "alice",
                                                      "password": "not-the-password"}}}))
    other_ca, _ = R.make_ca(w / "otherca", cn="some other CA")
    yield {"reg": reg, "img": img, "idx": idx, "auth": authfile, "wrong": wrong,
           "other_ca": other_ca}
    reg.stop()


def test_image_and_index_digests_match_skopeo(env):
    reg = env["reg"]
    refs = [reg.ref("team/app", "v1"), reg.ref("team/multi", "v1")]
    res = run("resolve", "--ca-file", reg.ca_cert, "--authfile", env["auth"], *refs)
    assert res.returncode == 0, res.stderr
    assert lines(res) == [R.skopeo_digest(r, reg) for r in refs]
    assert lines(res) == [env["img"]["digest"], env["idx"]["digest"]]


def test_platform_child_over_tls(env):
    reg = env["reg"]
    res = run("resolve", "--ca-file", reg.ca_cert, "--authfile", env["auth"], "--platform",
              "linux/ppc64le", reg.ref("team/multi", "v1"))
    assert res.returncode == 0, res.stderr
    child = lines(res)[0]
    assert child == env["idx"]["children"][2]["digest"]
    info = json.loads(R._run(["skopeo", "inspect"] + reg.skopeo_args() +
                             ["docker://" + reg.ref("team/multi", digest=child)]))
    assert info["Architecture"] == "ppc64le"


def test_credentials_from_a_kubernetes_dockercfg_secret_format(env, tmp_path):
    reg = env["reg"]
    cfg = tmp_path / "dockercfg"
    cfg.write_text(json.dumps({"https://" + reg.host: {"auth": R.base64.b64encode(
        ("alice:" + PASSWORD).encode()).decode(), "email": "a@example.com"}}))
    res = run("resolve", "--ca-file", reg.ca_cert, "--authfile", cfg, reg.ref("team/app", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["img"]["digest"]]


def test_wrong_password_names_the_credential_source_not_the_secret(env):
    reg = env["reg"]
    res = run("resolve", "-v", "--ca-file", reg.ca_cert, "--authfile", env["wrong"],
              reg.ref("team/app", "v1"))
    assert res.returncode == 1
    assert "401 Unauthorized" in res.stderr
    assert "credentials from %s" % env["wrong"] in res.stderr
    assert "not-the-password" not in res.stderr + res.stdout
    assert R.base64.b64encode(b"alice:not-the-password").decode() not in res.stderr


def test_no_credentials_says_so(env):
    reg = env["reg"]
    res = run("resolve", "--ca-file", reg.ca_cert, reg.ref("team/app", "v1"))
    assert res.returncode == 1
    assert "401 Unauthorized: %s requires credentials and none were found" % reg.host \
        in res.stderr


def test_untrusted_ca_is_a_tls_failure_naming_host_and_reason(env):
    reg = env["reg"]
    res = run("resolve", "--authfile", env["auth"], reg.ref("team/app", "v1"))
    assert res.returncode == 1
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1
    assert "TLS with %s failed" % reg.host in err
    assert "certificate" in err  # e.g. "SSL certificate problem: unable to get local issuer"


def test_a_ca_that_did_not_sign_the_certificate_is_rejected(env):
    reg = env["reg"]
    res = run("resolve", "--ca-file", env["other_ca"], "--authfile", env["auth"],
              reg.ref("team/app", "v1"))
    assert res.returncode == 1
    assert "TLS with %s failed" % reg.host in res.stderr


def test_insecure_skips_verification(env):
    reg = env["reg"]
    res = run("resolve", "--insecure", "--authfile", env["auth"], reg.ref("team/app", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["img"]["digest"]]


def test_password_never_appears_in_debug_logs(env):
    reg = env["reg"]
    res = run("resolve", "-v", "--ca-file", reg.ca_cert, "--authfile", env["auth"],
              reg.ref("team/app", "v1"), reg.ref("team/app", "missing"))
    assert res.returncode == 1
    assert PASSWORD not in res.stderr + res.stdout
    assert R.base64.b64encode(("alice:" + PASSWORD).encode()).decode() not in res.stderr


@pytest.fixture(scope="module")
def mtls(tmp_path_factory):
    w = tmp_path_factory.mktemp("mtls")
    reg = R.Registry(w / "reg", tls=True, client_certs=True).start()
    img = R.make_image(w / "img", "mtls v1")
    R.push(img, reg.ref("app", "v1"), reg)
    yield reg, img
    reg.stop()


def test_client_certificate_is_presented_when_given(mtls):
    reg, img = mtls
    res = run("resolve", "--ca-file", reg.ca_cert, "--cert-file", reg.client_cert, "--key-file",
              reg.client_key, reg.ref("app", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [img["digest"]] == [R.skopeo_digest(reg.ref("app", "v1"), reg)]


def test_registry_requiring_a_client_certificate_refuses_without_one(mtls):
    reg, _ = mtls
    res = run("resolve", "--ca-file", reg.ca_cert, reg.ref("app", "v1"))
    assert res.returncode == 1
    # The server's alert arrives after the TLS 1.3 handshake, as an SSL read error or as a
    # dropped connection, depending on timing; either way the host is named.
    assert ("TLS with %s failed" % reg.host in res.stderr or
            "talking to %s failed" % reg.host in res.stderr), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
