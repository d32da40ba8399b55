"""A copy of the shipped ontology/ with small text edits: the broken inputs the build and QC tests feed in."""

from __future__ import annotations

import shutil
from collections.abc import Callable
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


def table_cell(table: str, term: str, column: str, value: str | Callable[[str], str]) -> tuple[str, str, str]:
    """An edit of one cell of a shipped table (`templates/<component>/<table>.tsv`): the row of `term`, its
    `column` set to `value` (or to `value(old)`). As `edited_ontology` takes it: (file, old row, new row)."""
    lines = (ontology_dir() / table).read_text(encoding="utf-8").splitlines()
    names = lines[0].split("\t")
    row = next(line for line in lines[2:] if line.split("\t")[0] == term)
    cells = row.split("\t")
    index = names.index(column)
    cells[index] = value(cells[index]) if callable(value) else value
    return table, row + "\n", "\t".join(cells) + "\n"


def table_row(table: str, term: str) -> int:
    """The spreadsheet row (1-based, header and template rows counted) of `term` in a shipped table."""
    lines = (ontology_dir() / table).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.split("\t")[0] == term)
