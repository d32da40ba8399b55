"""A copy of the shipped ontology/ with small text edits: the broken inputs the build and QC tests feed in."""

from __future__ import annotations

import shutil
from pathlib import Path

from kg.resources import ontology_dir


def edited_ontology(tmp_path: Path, *edits: tuple[str, str, str]) -> Path:
    """Copy ontology/ into tmp_path and apply (file, old text, new text) edits, each matching once."""
    target = tmp_path / "ontology"
    shutil.copytree(ontology_dir(), target)
    for relative, old, new in edits:
        path = target / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"fixture edit is out of date: {old!r} is not exactly once in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")
    return target
