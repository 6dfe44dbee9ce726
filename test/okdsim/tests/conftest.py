"""pytest fixtures for okdsim's own tests: one shared plain-HTTP okdsim per module (fast), and a
factory for servers with special options (TLS, tokens, RBAC, state)."""
import itertools
import pathlib
import sys

import pytest


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from okdsim_fixture import CORE, OkdSim  # noqa: E402

_ns = itertools.count(1)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = OkdSim(tmp_path_factory.mktemp("okdsim"), extra_args=CORE).start()
    yield s
    s.stop()


@pytest.fixture
def ns(sim):
    """A fresh namespace in the shared server."""
    name = "t%d" % next(_ns)
    st, _, body = sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert st == 201, body
    return name


@pytest.fixture
def make_sim(tmp_path):
    started = []

    def make(**kw):
        kw["extra_args"] = CORE + list(kw.get("extra_args", []))
        s = OkdSim(tmp_path / ("sim%d" % len(started)), **kw).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()
