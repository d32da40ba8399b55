"""Compare two releases: open both, diff their axioms, run the same patients through both."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from kg.release_diff.answers import answer_diff, read_patients
from kg.release_diff.axioms import axiom_diff, labels
from kg.release_diff.panel import generated_panel
from kg.release_diff.releases import open_release
from kg.release_diff.report import ReleaseNote, Side
from kg.release_diff.statements import statement_diff
from kg.resources import ontology_dir


def example_patients() -> Path:
    """The shipped example patients (ontology/examples/patients), compared when no folder is named."""
    return ontology_dir() / "examples" / "patients"


def compare(
    old_path: Path,
    new_path: Path,
    patients: Sequence[Path],
    as_of: date,
    engine: str = "fast",
    generated: bool = False,
) -> ReleaseNote:
    """The release note of `new_path` against `old_path`, evaluated on `patients` (files or folders; the
    example patients when none is given) and, with `generated`, a panel generated from both releases."""
    old, new = open_release(old_path), open_release(new_path)
    panel = read_patients(patients or [example_patients()])
    if generated:
        panel += generated_panel(old.graph, new.graph)
    return ReleaseNote(
        Side.of(old),
        Side.of(new),
        as_of,
        engine,
        answer_diff(old.service, new.service, panel, as_of, engine),
        axiom_diff(old.graph, new.graph),
        statement_diff(old.graph, new.graph),
        labels(old.graph, new.graph),
    )
