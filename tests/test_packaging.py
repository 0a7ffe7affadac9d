"""The two ways to install (pip via pyproject.toml, conda via environment.yml) must agree."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pysoundfile": "soundfile"}


def _name(requirement: str) -> str:
    name = re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0]
    return CONDA_TO_PYPI.get(name.lower(), name.lower()).replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pip_names |= {_name(r) for r in extra}
    conda_names = set()
    text = (ROOT / "environment.yml").read_text()
    dependencies = text.split("dependencies:", 1)[1].split("  - pip:", 1)[0]
    for line in dependencies.splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.\-]+[^#]*)", line)
        if match:
            conda_names.add(_name(match.group(1)))
    conda_names -= {"python", "pip"}
    assert conda_names == pip_names, (
        f"only in environment.yml: {sorted(conda_names - pip_names)}; "
        f"only in pyproject.toml: {sorted(pip_names - conda_names)}"
    )


def test_environment_yml_pins_same_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {_name(r): r.split(">=")[1] for r in project["dependencies"] if ">=" in r}
    text = (ROOT / "environment.yml").read_text()
    for name, version in bounds.items():
        conda = {v: k for k, v in CONDA_TO_PYPI.items()}.get(name, name.replace("-", "_"))
        assert re.search(rf"- {re.escape(conda)}>={re.escape(version)}\b", text, re.I) or re.search(
            rf"- {re.escape(name)}>={re.escape(version)}\b", text, re.I
        ), f"{name}>={version} not in environment.yml"
