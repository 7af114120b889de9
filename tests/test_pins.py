"""The dependency bounds pyproject.toml must keep, each for a reason written beside it."""

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import REPO


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {(r := Requirement(line)).name: r for line in project["dependencies"]}


def test_lightning_excludes_the_malicious_and_unfixed_releases():
    spec = _requirements()["lightning"].specifier
    assert not any(spec.contains(v) for v in ("2.6.1", "2.6.2", "2.6.3", "2.6.5", "3.0.0"))
    assert spec.contains("2.6.6")


def test_jsonargparse_stays_below_5_whose_wording_and_apis_proj_relies_on():
    requirement = _requirements()["jsonargparse"]
    assert "signatures" in requirement.extras
    assert not requirement.specifier.contains("5.0.0") and requirement.specifier.contains("4.53.0")


def test_torch_loads_weights_only_by_default():
    spec = _requirements()["torch"].specifier
    assert not spec.contains("2.5.1") and spec.contains(Version("2.14.1"))
