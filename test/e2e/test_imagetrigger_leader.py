"""Two replicas with leader election: only the leader writes triggers and status; when it is
killed without releasing the lease, the other one takes over the ImageTriggers."""
import pytest

from imagetrigger_env import (STARTED, Operator, TriggerEnv, annotation, entry, image_trigger,
                              wait_for, workload)

LEADER_ARGS = ["--operator-namespace", "istrigger", "--lease-duration", "4s",
               "--renew-deadline", "3s", "--retry-period", "1s"]
WROTE = "updated image.openshift.io/triggers"


@pytest.fixture(scope="module")
def lenv(tmp_path_factory):
    env = TriggerEnv(tmp_path_factory.mktemp("imagetrigger-leader"), start_operator=False)
    env.env.create_namespace("istrigger")
    yield env
    env.close()


def leader_of(ops):
    leaders = [op for op in ops if op.alive() and op.metric_sum("istrigger_leader") == 1]
    return leaders[0] if len(leaders) == 1 else None


def test_only_the_leader_writes_and_the_successor_takes_over(lenv):
    ns = lenv.new_namespace("ha")
    lenv.imported_stream(ns, "app", "v1")
    lenv.apply(workload("Deployment", ns, "one", ["web"]))
    lenv.apply(workload("Deployment", ns, "two", ["web"]))
    ops = [Operator(lenv.tmp / "operators", lenv.sim.kubeconfig, args=LEADER_ARGS, name=n)
           for n in ("replica-a", "replica-b")]
    try:
        for op in ops:
            op.start()
        leader = wait_for(lambda: leader_of(ops), 15, what="one leader")
        follower = ops[1] if leader is ops[0] else ops[0]
        wait_for(lambda: all(STARTED in op.log() for op in ops), 30, what="both controllers")

        lenv.apply(image_trigger(ns, "one", "Deployment", "one",
                                 [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
        lenv.wait_annotation("Deployment", ns, "one", annotation(entry("app:v1", "web")))
        lenv.wait_condition(ns, "one", "Ready", "True")
        wait_for(lambda: WROTE in leader.log(), 5, what="the leader's write")
        # The standby replica keeps its caches warm but does not reconcile (nor write).
        reconciled = 'object="%s/one" msg="reconciled' % ns
        wait_for(lambda: reconciled in leader.log(), 5, what="the leader's reconcile")
        assert WROTE not in follower.log() and reconciled not in follower.log()

        leader.kill()  # no clean release: the follower waits for the lease to expire
        wait_for(lambda: leader_of([follower]), 10, what="the follower to lead")
        lenv.apply(image_trigger(ns, "two", "Deployment", "two",
                                 [{"from": {"name": "app:v1"}, "containers": ["web"]}]))
        lenv.wait_annotation("Deployment", ns, "two", annotation(entry("app:v1", "web")))
        wait_for(lambda: WROTE in follower.log(), 5, what="the successor's write")
    finally:
        for op in ops:
            op.stop()
