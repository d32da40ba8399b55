"""Locate the shipped ontology/ and queries/ folders, from a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
#: The release graph's file name in ontology/ (committed, written by `make release`) and in `build --out`.
RELEASE_FILE = "therapy-kg.ttl"


def data_dir(name: str) -> Path:
    """Return the folder `name` ("ontology" or "queries").

    A wheel installs them as `kg/_data/<name>`; a checkout (editable or not installed) has
    them beside the `kg` package.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder beside {_PACKAGE_DIR}")


def ontology_dir() -> Path:
    return data_dir("ontology")


def queries_dir() -> Path:
    return data_dir("queries")


def release_file() -> Path:
    """The committed release graph: what `serve`, `evaluate` and `explain` load (no Java, no rebuild)."""
    return ontology_dir() / RELEASE_FILE
