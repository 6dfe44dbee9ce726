"""End-to-end, scenario 7 of issue 5: two operator replicas elect a leader on a Lease; only the
leader polls and imports; when it is killed (no clean release), the other takes over."""
import pytest

from conftest import e2e_env, reglib, stream_obj, wait_for

NS = "ha"
LEADER_ARGS = ["--minimum-interval", "1s", "--operator-namespace", "istrigger",
               "--lease-duration", "4s", "--renew-deadline", "3s", "--retry-period", "1s"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("leader")
    with e2e_env(tmp, reglib.Registry(tmp / "registry").start()) as e:
        e.namespace(NS)
        e.namespace("istrigger")
        yield e


def leader_of(ops):
    leaders = [op for op in ops if op.alive() and op.metric_sum("istrigger_leader") == 1]
    return leaders[0] if len(leaders) == 1 else None


def test_only_leader_imports_and_successor_takes_over(env):
    reg = env.registry
    d1 = env.push("ha", "v", "ha v1")
    env.create(stream_obj("app", [("v", reg.ref("ha", "v"))],
                          annotations={"istrigger.io/poll-interval": "1s"}), ns=NS)
    env.wait_image(NS, "app", "v", d1)
    a = env.operator(*LEADER_ARGS, name="replica-a")
    b = env.operator(*LEADER_ARGS, name="replica-b")
    leader = wait_for(lambda: leader_of([a, b]), timeout=10, what="one leader")
    follower = b if leader is a else a
    wait_for(lambda: leader.metric_sum("istrigger_polls_total") > 0, timeout=5,
             what="the leader's first poll")

    d2 = env.push("ha", "v", "ha v2")
    env.wait_image(NS, "app", "v", d2, timeout=1 + 3)
    # The stream shows the image a moment before the leader has read the import's reply.
    wait_for(lambda: leader.metric_sum("istrigger_imports_total", result="success") == 1,
             timeout=3, what="the leader to count its import")
    assert follower.metric_sum("istrigger_polls_total") == 0
    assert follower.metric_sum("istrigger_imports_total") == 0
    lease = env.kubectl("get", "lease", "istrigger-leader", "-n", "istrigger",
                        "-o", "jsonpath={.spec.holderIdentity}").stdout
    assert lease == leader.name

    leader.kill()  # SIGKILL: the lease is not released, the follower waits for it to expire
    new = wait_for(lambda: leader_of([follower]), timeout=4 + 3, what="the follower to lead")
    assert new is follower
    d3 = env.push("ha", "v", "ha v3")
    env.wait_image(NS, "app", "v", d3, timeout=1 + 4)
    wait_for(lambda: follower.metric_sum("istrigger_imports_total", result="success") == 1,
             timeout=3, what="the new leader to count its import")
