"""`istrigger resolve` against a real Distribution registry over plain HTTP (importPolicy
insecure): digests of images and two-platform indexes compared with skopeo, --platform,
--json children, digests references, tag listing with Link pagination, many images at once
over reused connections, and the errors a user meets (missing tag, missing repository,
registry down, http registry without --insecure)."""
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import registry as R  # noqa: E402
from istrigger_cli import lines, run  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    w = tmp_path_factory.mktemp("plain")
    reg = R.Registry(w / "reg").start()
    img = R.make_image(w / "img1", "plain v1")
    img2 = R.make_image(w / "img2", "plain v2")
    idx = R.make_index(w / "idx", [("amd64", "linux"), ("arm64", "linux")])
    R.push(img, reg.ref("app", "v1"), reg)
    R.push(img2, reg.ref("app", "v2"), reg)
    R.push(idx, reg.ref("multi", "v1"), reg)
    for t in ("t1", "t2", "t3", "t4", "t5"):
        R.push(img, reg.ref("paged", t), reg)
    docker_v2 = R.push(img2, reg.ref("docker/app", "v1"), reg, format="v2s2")
    docker_list = R.push(idx, reg.ref("docker/multi", "v1"), reg, format="v2s2")
    yield {"reg": reg, "img": img, "img2": img2, "idx": idx, "dir": w,
           "docker_v2": docker_v2, "docker_list": docker_list}
    reg.stop()


def test_single_image_digest_matches_skopeo(env):
    reg = env["reg"]
    res = run("resolve", "--insecure", reg.ref("app", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [R.skopeo_digest(reg.ref("app", "v1"), reg)]
    assert lines(res) == [env["img"]["digest"]]


def test_index_digest_matches_skopeo(env):
    reg = env["reg"]
    res = run("resolve", "--insecure", reg.ref("multi", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [R.skopeo_digest(reg.ref("multi", "v1"), reg)] == [env["idx"]["digest"]]


def test_docker_schema2_and_manifest_list_digests_match_skopeo(env):
    # A Docker manifest list is only served as such to a client that accepts it; without
    # the list types in Accept the registry answers something else and the digest differs.
    reg = env["reg"]
    res = run("resolve", "--insecure", "--json", reg.ref("docker/app", "v1"),
              reg.ref("docker/multi", "v1"))
    assert res.returncode == 0, res.stderr
    a, b = [json.loads(l) for l in lines(res)]
    assert a["digest"] == env["docker_v2"]
    assert a["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert b["digest"] == env["docker_list"]
    assert b["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert [m["architecture"] for m in b["manifests"]] == ["amd64", "arm64"]
    res = run("resolve", "--insecure", "--platform", "linux/arm64", reg.ref("docker/multi", "v1"))
    assert lines(res) == [b["manifests"][1]["digest"]]


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_platform_selects_the_child_skopeo_sees_for_that_arch(env, arch):
    reg = env["reg"]
    res = run("resolve", "--insecure", "--platform", "linux/" + arch, reg.ref("multi", "v1"))
    assert res.returncode == 0, res.stderr
    digest = lines(res)[0]
    # skopeo's view: the index as served, its child for this platform, and that child's config.
    raw = json.loads(R._run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                             "docker://" + reg.ref("multi", "v1")]))
    child = [m["digest"] for m in raw["manifests"] if m["platform"]["architecture"] == arch]
    assert [digest] == child
    info = json.loads(R._run(["skopeo", "inspect", "--tls-verify=false",
                              "docker://" + reg.ref("multi", digest=digest)]))
    assert info["Architecture"] == arch
    assert R.skopeo_digest(reg.ref("multi", digest=digest), reg) == digest


def test_platform_on_a_single_image_prints_the_image(env):
    res = run("resolve", "--insecure", "--platform", "linux/arm64", env["reg"].ref("app", "v1"))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [env["img"]["digest"]]


def test_platform_missing_from_index_names_the_platforms_there(env):
    res = run("resolve", "--insecure", "--platform", "linux/s390x", env["reg"].ref("multi", "v1"))
    assert res.returncode == 1
    assert "no manifest for platform linux/s390x" in res.stderr
    assert "linux/amd64, linux/arm64" in res.stderr


def test_json_lists_index_children_with_platforms(env):
    reg, idx = env["reg"], env["idx"]
    res = run("resolve", "--insecure", "--json", reg.ref("multi", "v1"), reg.ref("app", "v1"))
    assert res.returncode == 0, res.stderr
    a, b = [json.loads(l) for l in lines(res)]
    assert a["digest"] == idx["digest"]
    assert a["mediaType"] == R.OCI_INDEX
    assert [(m["digest"], m["os"], m["architecture"]) for m in a["manifests"]] == \
        [(c["digest"], "linux", c["architecture"]) for c in idx["children"]]
    assert b["digest"] == env["img"]["digest"] and b["mediaType"] == R.OCI_MANIFEST
    assert "manifests" not in b


def test_digest_reference_is_verified_and_echoed(env):
    reg, d = env["reg"], env["img"]["digest"]
    res = run("resolve", "--insecure", reg.ref("app", digest=d), reg.ref("app", "v2", digest=d))
    assert res.returncode == 0, res.stderr
    assert lines(res) == [d, d]


def test_many_images_resolve_in_order_over_few_connections(env):
    reg = env["reg"]
    refs = [reg.ref("app", "v1"), reg.ref("app", "v2"), reg.ref("multi", "v1")] * 20
    want = [env["img"]["digest"], env["img2"]["digest"], env["idx"]["digest"]] * 20
    res = run("resolve", "--insecure", "--max-in-flight", "4", "-v", *refs)
    assert res.returncode == 0, res.stderr
    assert lines(res) == want
    stats = [l for l in res.stderr.splitlines() if "resolved 60 images" in l]
    assert stats, res.stderr
    # 60 checks, 4 in flight: connections are reused (4 for the checks, 1 for the https try).
    def count(what):
        return int(stats[0].split(" " + what)[0].rsplit(" ", 1)[1])
    assert count("new connections") <= 6, stats[0]
    assert count("pings") == 2, stats[0]  # one https try, one http ping, shared by all 60
    assert count("requests") == 62, stats[0]  # the two pings and one HEAD per check


def test_missing_tag_and_missing_repository_are_told_apart(env):
    reg = env["reg"]
    res = run("resolve", "--insecure", reg.ref("app", "nope"), reg.ref("nothere", "v1"))
    assert res.returncode == 1
    err = res.stderr.splitlines()
    assert len(err) == 2, res.stderr
    assert 'tag "nope" not found in repository %s/app' % reg.host in err[0]
    assert "repository %s/nothere not found" % reg.host in err[1]


def test_missing_digest_is_reported(env):
    d = "sha256:" + "0" * 64
    res = run("resolve", "--insecure", env["reg"].ref("app", digest=d))
    assert res.returncode == 1
    assert "manifest %s not found" % d in res.stderr


def test_json_errors_carry_code_and_status(env):
    res = run("resolve", "--insecure", "--json", env["reg"].ref("app", "nope"))
    assert res.returncode == 1
    out = json.loads(lines(res)[0])
    assert out["code"] == "ENOENT" and out["httpStatus"] == 404 and "not found" in out["error"]


def test_plain_http_registry_without_insecure_is_a_tls_failure(env):
    reg = env["reg"]
    res = run("resolve", reg.ref("app", "v1"))
    assert res.returncode == 1
    assert "TLS with %s failed" % reg.host in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_tags_match_skopeo_list_tags(env):
    # Distribution 2.8 answers the whole list in one page (no Link); pagination is exercised
    # in test_resolve_errors.py against a server that pages.
    reg = env["reg"]
    res = run("resolve", "--insecure", "--tags", reg.ref("paged", "t1"))
    assert res.returncode == 0, res.stderr
    got = json.loads(R._run(["skopeo", "list-tags", "--tls-verify=false",
                             "docker://" + reg.ref("paged")]))["Tags"]
    assert lines(res) == got
    assert sorted(got) == ["t1", "t2", "t3", "t4", "t5"]


def test_invalid_reference_is_rejected_before_any_request(env):
    res = run("resolve", "--insecure", "Upper/Case", env["reg"].ref("app", "v1"))
    assert res.returncode == 1
    assert lines(res) == [env["img"]["digest"]]
    assert 'invalid image reference "Upper/Case": repository name must be lowercase' in res.stderr


def test_registry_down_is_reported_with_the_host(tmp_path):
    port = R.free_port()
    res = run("resolve", "--insecure", "127.0.0.1:%d/app:v1" % port)
    assert res.returncode == 1
    assert "cannot connect to 127.0.0.1:%d" % port in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2():
    assert run("resolve").returncode == 2
    assert run("resolve", "--platform", "linux", "x").returncode == 2
    res = run("resolve", "--help")
    assert res.returncode == 0 and "--platform" in res.stdout and "--authfile" in res.stdout
