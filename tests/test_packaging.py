"""`pip install .` (not only -e) works: ontology/ and queries/ ship as package data (kg._data.*),
and the installed package builds the release from a directory that is not the checkout.

The checkout is copied first (without .venv, .git, build/), so pip's in-tree build can neither
leave build/ behind in the checkout nor pick up stale files from an earlier build/lib.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("ontology", "queries")
_NOT_SOURCE = (
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "therapy-kg-release",
    ".mypy_cache",
    ".ruff_cache",
)


def _shipped_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".") and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A `pip install --no-deps --target` of a clean copy of the checkout."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    target = tmp / "target"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-input",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return target


def _run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    env.pop("PYTHONSAFEPATH", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


@pytest.mark.parametrize("folder", SHIPPED)
def test_every_file_of_the_folder_is_package_data(installed, folder: str) -> None:
    """The package-data globs in pyproject.toml miss no file of ontology/ or queries/."""
    missing = _shipped_files(REPO / folder) - _shipped_files(installed / "kg" / "_data" / folder)
    assert not missing, f"not shipped in the wheel (extend [tool.setuptools.package-data]): {sorted(missing)}"


@pytest.mark.parametrize("package", ["kg", "api"])
def test_every_module_of_the_package_is_installed(installed, package: str) -> None:
    """[tool.setuptools] packages lists every subpackage (api.sparql, api.cds, ...): none is left out."""
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / package).rglob("*.py")}
    missing = {m for m in modules if not (installed / m).is_file()}
    assert not missing, f"not installed by `pip install .` (extend [tool.setuptools] packages): {sorted(missing)}"


def test_the_installed_package_builds_outside_the_checkout(installed, tmp_path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(
        installed,
        work,
        "-c",
        "import kg, kg.resources; print(kg.__file__); print(kg.resources.ontology_dir()); "
        "print(kg.resources.queries_dir())",
    )
    assert where.returncode == 0, where.stderr
    for line in where.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(installed.resolve()), f"{line} is not inside {installed}"

    built = _run(installed, work, "-m", "kg.cli", "build", "--out", str(work / "out"))
    assert built.returncode == 0, built.stdout + built.stderr
    release = work / "out" / "therapy-kg.ttl"
    assert release.is_file() and "tkg:Spasticity" in release.read_text(encoding="utf-8")


def test_the_installed_package_runs_its_queries_and_checks(installed, tmp_path) -> None:
    """queries/ (competency and qc) are found from the wheel: the same queries load, one answers, check runs."""
    from kg.store.queries import load_queries

    asked = _run(
        installed,
        tmp_path,
        "-c",
        "from kg.ontology.build import build; from kg.store.release import embedded_store; "
        "from kg.store.queries import load_queries, named_query; from kg.store.terms import TermResolver; "
        "print(len(load_queries())); s = embedded_store(build(reason=False)); "
        "print(bool(named_query('is-first-line').run(s, {'intervention': 'tkg:Stretching', "
        "'condition': 'tkg:FocalSpasticity'}, TermResolver())))",
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.split() == [str(len(load_queries())), "True"]

    checked = _run(installed, tmp_path, "-m", "kg.cli", "check")
    assert checked.returncode in (0, 1), checked.stderr  # 2 would be an error, e.g. a file not found
    assert f"{len(checked.stdout.splitlines())} problem(s)" in checked.stderr
