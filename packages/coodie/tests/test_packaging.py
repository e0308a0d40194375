"""The four distributions build, install alone from the built files and import.

The slow tests run ``uv build`` once, then install each front door by itself into
a fresh virtual environment: coodie's own packages come from the built wheels,
third-party ones from the package index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    tomllib = pytest.importorskip("tomli")

REPO_ROOT = Path(__file__).resolve().parents[3]
PACKAGES_DIR = REPO_ROOT / "packages"
DISTRIBUTIONS = ("coodie", "coodie-core", "coodie-sync", "coodie-aio")
FRONT_DOOR_PINS = {
    "coodie": ("coodie-core", "coodie-sync", "coodie-aio"),
    "coodie-sync": ("coodie-core",),
    "coodie-aio": ("coodie-core",),
}
CORE_MODULES = (
    "coodie.fields",
    "coodie.types",
    "coodie.schema",
    "coodie.cql_builder",
    "coodie.results",
    "coodie.exceptions",
    "coodie.document",
    "coodie.query",
    "coodie.statements",
    "coodie._cassandra",
)
PY_TYPED_MARKERS = {
    "coodie-core": "coodie/py.typed",
    "coodie-sync": "coodie/sync/py.typed",
    "coodie-aio": "coodie/aio/py.typed",
}
NAMESPACE_INIT = "coodie/__init__.py"
WHEEL_NAME = re.compile(r"(?P<stem>[A-Za-z0-9_]+)-(?P<version>[^-]+)-.+\.whl")
SDIST_NAME = re.compile(r"(?P<stem>[A-Za-z0-9_]+)-(?P<version>.+)\.tar\.gz")
COMMAND_TIMEOUT_S = 600

# Runs inside the fresh environment with -I, so neither the repository nor the
# caller's PYTHONPATH can leak in. It reports facts as JSON; the test asserts.
PROBE = """
import importlib.metadata
import importlib.util
import json
import sys

request = json.loads(sys.argv[1])
statements = {}
for statement in request["statements"]:
    try:
        exec(statement, {})
    except Exception as error:
        statements[statement] = f"{type(error).__name__}: {error}"
    else:
        statements[statement] = None

distributions = {}
for distribution in importlib.metadata.distributions():
    name = distribution.metadata["Name"].lower().replace("_", "-")
    if name not in request["distributions"]:
        continue
    files = distribution.files or []
    distributions[name] = {
        "version": distribution.version,
        "requires": distribution.requires or [],
        "files": sorted(f.as_posix() for f in files if f.locate().is_file()),
        "direct_url": json.loads(distribution.read_text("direct_url.json") or "{}"),
    }

print(json.dumps({
    "statements": statements,
    "found": {name: importlib.util.find_spec(name) is not None
              for name in request["absent"]},
    "distributions": distributions,
}))
"""


@dataclass(frozen=True)
class BuiltDistributions:
    """What one ``uv build --all-packages`` left in its output directory."""

    directory: Path
    version: str
    wheels: dict[str, Path]
    sdists: dict[str, Path]


@dataclass(frozen=True)
class FrontDoor:
    """A distribution a user installs on its own, and what that must give them."""

    distribution: str
    installed: frozenset[str]
    working_imports: tuple[str, ...]
    missing_imports: tuple[str, ...]
    absent_packages: tuple[str, ...]


FRONT_DOORS = (
    FrontDoor(
        distribution="coodie-sync",
        installed=frozenset({"coodie-core", "coodie-sync"}),
        working_imports=("import coodie.sync", "from coodie.sync import Document"),
        missing_imports=("import coodie.aio",),
        absent_packages=("anyio", "trio"),
    ),
    FrontDoor(
        distribution="coodie-aio",
        installed=frozenset({"coodie-core", "coodie-aio"}),
        working_imports=("import coodie.aio", "from coodie.aio import Document"),
        missing_imports=("import coodie.sync",),
        absent_packages=("trio",),
    ),
    FrontDoor(
        distribution="coodie",
        installed=frozenset(DISTRIBUTIONS),
        working_imports=("from coodie import sync, aio",),
        missing_imports=(),
        absent_packages=("trio",),
    ),
)


def _file_stem(distribution: str) -> str:
    """The name a distribution's wheel and sdist files start with."""
    return canonicalize_name(distribution).replace("-", "_")


def _read_pyproject(distribution: str) -> dict[str, Any]:
    """The parsed ``pyproject.toml`` of one distribution of the workspace."""
    text = (PACKAGES_DIR / distribution / "pyproject.toml").read_text("utf-8")
    pyproject: dict[str, Any] = tomllib.loads(text)
    return pyproject


def _exact_pins(requirement_texts: Sequence[str]) -> dict[str, str]:
    """Map each unconditional requirement's normalized name to its specifier."""
    requirements = [Requirement(text) for text in requirement_texts]
    return {
        canonicalize_name(r.name): str(r.specifier)
        for r in requirements
        if r.marker is None
    }


def _uv() -> str:
    """The uv executable: the one running this test under ``uv run``, else PATH."""
    executable = os.environ.get("UV") or shutil.which("uv")
    if executable is None:
        pytest.fail("the packaging tests need uv on PATH", pytrace=False)
    return executable


def _run(command: Sequence[str | Path], cwd: Path) -> str:
    """Run a command and return its stdout; fail the test with its output if not 0."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(str(part) for part in command)}` exited with "
            f"{result.returncode}\n--- stdout\n{result.stdout}\n"
            f"--- stderr\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout


def _venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment made by ``uv venv``."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltDistributions:
    """Build every wheel and sdist of the workspace once for this module."""
    directory = tmp_path_factory.mktemp("dist")
    _run(
        [_uv(), "build", "--all-packages", "--no-sources", "-o", directory],
        cwd=REPO_ROOT,
    )

    wheels: dict[str, Path] = {}
    sdists: dict[str, Path] = {}
    versions: set[str] = set()
    for path in sorted(directory.iterdir()):
        wheel = WHEEL_NAME.fullmatch(path.name)
        sdist = SDIST_NAME.fullmatch(path.name)
        match = wheel or sdist
        if match is None:
            continue
        (wheels if wheel else sdists)[match["stem"]] = path
        versions.add(match["version"])

    assert len(versions) == 1, f"built files carry several versions: {versions}"
    return BuiltDistributions(directory, versions.pop(), wheels, sdists)


def test_pyprojects_share_one_version() -> None:
    """All four distributions carry the same version, so they release together."""
    versions = {
        distribution: _read_pyproject(distribution)["project"]["version"]
        for distribution in DISTRIBUTIONS
    }

    assert len(set(versions.values())) == 1, versions


@pytest.mark.parametrize("distribution", sorted(FRONT_DOOR_PINS))
def test_coodie_dependencies_are_pinned_exactly(distribution: str) -> None:
    """A front door pins every coodie distribution it needs to its own version."""
    project = _read_pyproject(distribution)["project"]
    version = project["version"]
    pins = _exact_pins(project["dependencies"])

    for dependency in FRONT_DOOR_PINS[distribution]:
        assert pins.get(dependency) == f"=={version}", dependency

    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    for requirement_text in chain(project["dependencies"], *extras.values()):
        requirement = Requirement(requirement_text)
        if canonicalize_name(requirement.name) in DISTRIBUTIONS:
            assert str(requirement.specifier) == f"=={version}", requirement_text


@pytest.mark.slow
def test_build_makes_one_wheel_and_one_sdist_per_distribution(
    built: BuiltDistributions,
) -> None:
    """``uv build --all-packages`` yields four wheels and four sdists, one version."""
    expected_stems = {_file_stem(distribution) for distribution in DISTRIBUTIONS}

    assert set(built.wheels) == expected_stems
    assert set(built.sdists) == expected_stems
    assert built.version == _read_pyproject("coodie")["project"]["version"]


@pytest.mark.slow
def test_wheels_keep_coodie_a_namespace_package(built: BuiltDistributions) -> None:
    """No wheel ships ``coodie/__init__.py``, and the meta wheel ships no module."""
    for wheel in built.wheels.values():
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
        assert NAMESPACE_INIT not in names, wheel.name

    with zipfile.ZipFile(built.wheels[_file_stem("coodie")]) as archive:
        modules = [name for name in archive.namelist() if ".dist-info/" not in name]
    assert modules == []


def _install_alone(
    built: BuiltDistributions, distribution: str, directory: Path
) -> Path:
    """Install one built wheel into a fresh environment and return its python."""
    uv = _uv()
    venv = directory / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=directory)
    python = _venv_python(venv)

    # The other coodie distributions resolve to the built wheels through overrides,
    # which apply only when something requires them: a front door that forgot a
    # dependency does not get it installed here.
    overrides = directory / "overrides.txt"
    overrides.write_text(
        "".join(
            f"{other} @ {built.wheels[_file_stem(other)].as_uri()}\n"
            for other in DISTRIBUTIONS
            if other != distribution
        ),
        "utf-8",
    )
    wheel = built.wheels[_file_stem(distribution)]
    _run(
        [
            uv, "pip", "install", "--quiet", "--python", python,
            "--override", overrides, wheel,
        ],
        cwd=directory,
    )  # fmt: skip
    return python


def _probe(python: Path, front_door: FrontDoor, directory: Path) -> dict[str, Any]:
    """Run the import statements and look-ups of ``PROBE`` in an environment."""
    request = {
        "statements": [
            *(f"import {module}" for module in CORE_MODULES),
            *front_door.working_imports,
            *front_door.missing_imports,
        ],
        "absent": list(front_door.absent_packages),
        "distributions": list(DISTRIBUTIONS),
    }
    output = _run([python, "-I", "-c", PROBE, json.dumps(request)], cwd=directory)
    report: dict[str, Any] = json.loads(output)
    return report


@pytest.mark.slow
@pytest.mark.parametrize(
    "front_door", FRONT_DOORS, ids=[door.distribution for door in FRONT_DOORS]
)
def test_front_door_installs_alone_from_built_wheels(
    built: BuiltDistributions, front_door: FrontDoor, tmp_path: Path
) -> None:
    """One front door installed alone imports, and brings nothing it should not."""
    python = _install_alone(built, front_door.distribution, tmp_path)
    report = _probe(python, front_door, tmp_path)
    installed: dict[str, dict[str, Any]] = report["distributions"]
    outcomes: dict[str, str | None] = report["statements"]

    assert set(installed) == front_door.installed
    for distribution, facts in installed.items():
        wheel = built.wheels[_file_stem(distribution)]
        assert facts["version"] == built.version, distribution
        assert facts["direct_url"].get("url") == wheel.as_uri(), distribution
        assert NAMESPACE_INIT not in facts["files"], distribution
        if distribution in PY_TYPED_MARKERS:
            assert PY_TYPED_MARKERS[distribution] in facts["files"], distribution

    pins = _exact_pins(installed[front_door.distribution]["requires"])
    for dependency in FRONT_DOOR_PINS[front_door.distribution]:
        assert pins.get(dependency) == f"=={built.version}", dependency

    working = [*(f"import {m}" for m in CORE_MODULES), *front_door.working_imports]
    assert {s: outcomes[s] for s in working} == dict.fromkeys(working)
    for statement in front_door.missing_imports:
        assert str(outcomes[statement]).startswith("ModuleNotFoundError:"), statement

    assert report["found"] == dict.fromkeys(front_door.absent_packages, False)
