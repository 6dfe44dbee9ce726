"""Shared helpers and fixtures of the packaging tests: the repository root, YAML loading, the
generated CSV, manifests/ and crds/. Test modules import what they use from here
(`from pkgtest import ROOT, csv`); fixtures imported that way are fixtures of the module.

Not a conftest.py on purpose: `make test` runs every pytest directory in one session, and other
suites do `from conftest import ...`; a second conftest module would shadow theirs."""
import pathlib
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def load_one(path):
    docs = [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d is not None]
    assert len(docs) == 1, "%s: expected one object, found %d" % (path, len(docs))
    return docs[0]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def csv():
    return load_one(ROOT / "olm-bundle/manifests/istrigger.clusterserviceversion.yaml")


@pytest.fixture(scope="session")
def manifests():
    """{file name: object} of manifests/*.yaml, without the kustomization."""
    return {p.name: load_one(p) for p in sorted((ROOT / "manifests").glob("*.yaml"))
            if p.name != "kustomization.yaml"}


@pytest.fixture(scope="session")
def crd_files():
    return [p for p in sorted((ROOT / "crds").glob("*.yaml")) if p.name != "kustomization.yaml"]
