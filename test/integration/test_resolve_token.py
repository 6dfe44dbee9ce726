"""`istrigger resolve` against a real Distribution registry with token auth: a token server in
the test issues RS256 JWTs (x5c header) that the registry trusts through `rootcertbundle`.
Covers credentialed and anonymous tokens, the OAuth2 refresh-token (identitytoken) flow, the
token cache (one token per scope and credential, honouring expires_in/issued_at), and a token
server refusing the credentials."""
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import registry as R  # noqa: E402
from istrigger_cli import lines, run  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    w = tmp_path_factory.mktemp("token")
    ts = R.TokenServer(w / "token", users={"bob": "tok-pw"}, anonymous_repos={"public/app"},
                       refresh_tokens={"refresh-abc": "bob"}).start()
    reg = R.Registry(w / "reg", token_server=ts, auth=("bob", "tok-pw")).start()
    img = R.make_image(w / "img", "token v1")
    idx = R.make_index(w / "idx", [("amd64", "linux"), ("arm64", "linux")])
    R.push(img, reg.ref("private/app", "v1"), reg)
    R.push(img, reg.ref("public/app", "v1"), reg)
    R.push(idx, reg.ref("private/multi", "v1"), reg)
    authfile = w / "auth.json"
    authfile.write_text(json.dumps(reg.dockerconfigjson()))
    yield {"reg": reg, "ts": ts, "img": img, "idx": idx, "auth": authfile, "dir": w}
    reg.stop()
    ts.stop()


def grants_since(ts, n):
    return [r for r in ts.requests[n:] if not (r[1] or "").startswith("!")]


def test_digests_match_skopeo_with_bearer_tokens(env):
    reg, ts = env["reg"], env["ts"]
    refs = [reg.ref("private/app", "v1"), reg.ref("private/multi", "v1")]
    n = len(ts.requests)
    res = run("resolve", "--insecure", "--authfile", env["auth"], *refs)
    assert res.returncode == 0, res.stderr
    # one token per repository scope, fetched with bob's credentials
    assert sorted(s for _, u, sc in grants_since(ts, n) if u == "bob" for s in sc) == \
        ["repository:private/app:pull", "repository:private/multi:pull"]
    assert lines(res) == [env["img"]["digest"], env["idx"]["digest"]]
    assert lines(res) == [R.skopeo_digest(r, reg) for r in refs]


def test_platform_over_token_auth(env):
    reg = env["reg"]
    res = run("resolve", "--insecure", "--authfile", env["auth"], "--platform", "linux/arm64",
              reg.ref("private/multi", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["idx"]["children"][1]["digest"]]


def test_token_cache_serves_every_check_of_a_scope(env):
    reg, ts = env["reg"], env["ts"]
    n = len(ts.requests)
    res = run("resolve", "--insecure", "--authfile", env["auth"], "--max-in-flight", "8",
              *([reg.ref("private/app", "v1")] * 40))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["img"]["digest"]] * 40
    assert len(grants_since(ts, n)) == 1


def test_expired_issued_at_tokens_are_not_reused(env):
    reg, ts = env["reg"], env["ts"]
    ts.issued_at_offset = -3600  # issued an hour ago with expires_in 300: already expired
    try:
        n = len(ts.requests)
        res = run("resolve", "--insecure", "--authfile", env["auth"], "--max-in-flight", "1",
                  *([reg.ref("private/app", "v1")] * 5))
        assert res.returncode == 0, res.stderr
        assert len(grants_since(ts, n)) == 5
    finally:
        ts.issued_at_offset = 0


def test_anonymous_token_for_a_public_repository(env):
    reg, ts = env["reg"], env["ts"]
    n = len(ts.requests)
    res = run("resolve", "--insecure", reg.ref("public/app", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["img"]["digest"]]
    assert [u for _, u, _ in grants_since(ts, n)] == [None]


def test_anonymous_token_without_access_is_401_saying_no_credentials(env):
    res = run("resolve", "--insecure", env["reg"].ref("private/app", "v1"))
    assert res.returncode == 1
    assert "401 Unauthorized" in res.stderr and "none were found" in res.stderr


def test_identity_token_uses_the_oauth2_refresh_grant(env, tmp_path):
    reg, ts = env["reg"], env["ts"]
    f = tmp_path / "idtoken.json"
    f.write_text(json.dumps({"auths": {reg.host: {"identitytoken": "refresh-abc"}}}))
    n = len(ts.requests)
    res = run("resolve", "--insecure", "--authfile", f, reg.ref("private/app", "v1"))
    assert res.returncode == 0, res.stderr
    assert [(m, u) for m, u, _ in grants_since(ts, n)] == [("POST", "bob")]


def test_token_server_refusing_credentials_names_realm_and_source(env, tmp_path):
    reg, ts = env["reg"], env["ts"]
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"auths": {reg.host: {"username": "bob", "password": "nope-pw"}}}))
    res = run("resolve", "--insecure", "--authfile", f, reg.ref("private/app", "v1"))
    assert res.returncode == 1
    assert "token server %s refused credentials from %s" % (ts.realm, f) in res.stderr
    assert "nope-pw" not in res.stderr


def test_token_server_429_is_retried_after_retry_after_by_the_one_fetching(env):
    reg, ts = env["reg"], env["ts"]
    ts.fail_next = [429]
    n = len(ts.requests)
    res = run("resolve", "--insecure", "--authfile", env["auth"], "--max-in-flight", "4",
              *([reg.ref("private/app", "v1")] * 4))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["img"]["digest"]] * 4
    # one refused fetch, then one grant shared by the four concurrent checks
    assert [u for _, u, _ in ts.requests[n:]] == ["!429", "bob"]
