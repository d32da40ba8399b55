"""The release note of a diff, as Markdown (for a merge request), HTML (to print and sign) or JSON (for tools).

The two text forms are rendered from templates (`templates/`) from one `ReleaseNote`; values are shown
compactly, and for a statement cited on both sides only the members that differ.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import jinja2

from kg.release_diff.answers import AnswerChange, AnswerDiff
from kg.release_diff.axioms import AxiomDiff, iris
from kg.release_diff.releases import OpenedRelease
from kg.release_diff.statements import StatementDiff, expand

FORMATS = ("markdown", "html", "json")
#: how many characters of a value a table cell shows
CELL = 400


@dataclass(frozen=True)
class Side:
    path: str
    version: str
    version_iri: str

    @classmethod
    def of(cls, release: OpenedRelease) -> Side:
        return cls(str(release.path), release.version, release.version_iri)


@dataclass(frozen=True)
class ReleaseNote:
    old: Side
    new: Side
    as_of: date
    engine: str
    answers: AnswerDiff
    axioms: AxiomDiff
    statements: StatementDiff
    labels: dict[str, str]

    def label(self, curie_or_iri: str) -> str:
        """`tkg:Stroke` → `stroke (tkg:Stroke)`; an unlabelled term as given."""
        label = self.labels.get(str(expand(curie_or_iri)))
        return f"{label} ({curie_or_iri})" if label else curie_or_iri

    def changed_statements(self, change: AnswerChange) -> list[str]:
        """Of the statements responsible for a change, those this release adds, removes or changes (or whose own
        axioms it changes)."""
        changed = self.axioms.terms
        named = {*self.statements.added, *self.statements.removed, *self.statements.changed}
        return [s for s in change.statements if s in named or str(expand(s)) in changed]

    def axiom_labels(self, axiom: str) -> str:
        """The labels of the terms an axiom names, as `robot diff --labels` adds them."""
        named = sorted({self.labels[iri] for iri in iris(axiom) if iri in self.labels})
        return "; ".join(named)


def render(note: ReleaseNote, form: str) -> str:
    if form == "json":
        return json.dumps(_json(note), indent=2, ensure_ascii=False) + "\n"
    template = _environment(form).get_template("diff.md.j2" if form == "markdown" else "diff.html.j2")
    by_patient: dict[str, list[AnswerChange]] = {}
    for change in note.answers.changes:
        by_patient.setdefault(change.patient, []).append(change)
    return template.render(note=note, by_patient=by_patient)


def _json(note: ReleaseNote) -> dict[str, Any]:
    return {
        "old": asdict(note.old),
        "new": asdict(note.new),
        "as_of": note.as_of.isoformat(),
        "engine": note.engine,
        "patients": note.answers.patients,
        "changed_patients": note.answers.changed_patients,
        "answer_changes": [asdict(change) for change in note.answers.changes],
        "statements": {
            "added": note.statements.added,
            "removed": note.statements.removed,
            "changed": {s: [asdict(c) for c in changes] for s, changes in note.statements.changed.items()},
        },
        "axioms": {"removed": note.axioms.removed, "added": note.axioms.added},
    }


def _environment(form: str) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("kg.release_diff", "templates"),
        autoescape=form == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["value"] = _value
    environment.filters["cell"] = _cell
    environment.globals["delta"] = _delta
    return environment


def _delta(old: Any, new: Any) -> tuple[str, str]:
    """What to show of a change's two sides: of two objects or lists, only the parts that differ."""
    if old is not None and new is not None:
        old, new = _difference(old, new)
    return _value(old), _value(new)


#: members that name a list entry, so two versions of a list are compared entry by entry
_IDENTITY = ("role", "statement", "term")


def _difference(old: Any, new: Any) -> tuple[Any, Any]:
    """The parts of `old` and `new` that differ: members of objects, entries of lists (matched by their
    role, statement or term, else by position); anything else whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        pairs = {
            k: _difference(old.get(k), new.get(k)) if k in old and k in new else (old.get(k), new.get(k)) for k in keys
        }
        named = {k: old[k] for k in _IDENTITY if k in old and old.get(k) == new.get(k)}  # which entry it is
        return named | {k: a for k, (a, _) in pairs.items()}, named | {k: b for k, (_, b) in pairs.items()}
    if isinstance(old, list) and isinstance(new, list):
        before, after = _entries(old), _entries(new)
        if before is None or after is None:
            return old, new
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
        changed = [
            _difference(before[k], after[k]) if k in before and k in after else (before.get(k), after.get(k))
            for k in keys
        ]
        return [a for a, _ in changed if a is not None], [b for _, b in changed if b is not None]
    return old, new


def _entries(values: list[Any]) -> dict[str, Any] | None:
    """A list's entries by their identity (`role`, `statement`, `term`), or by position."""
    entries: dict[str, Any] = {}
    for position, value in enumerate(values):
        name = next((str(value[k]) for k in _IDENTITY if isinstance(value, dict) and k in value), f"#{position}")
        if name in entries:
            return None
        entries[name] = value
    return entries


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and set(value) >= {"statement", "claim"}:  # cited on one side only
        role = value.get("effect") or value.get("kind") or "cited"
        possibly = " (possibly)" if value.get("applies") == "possibly" else ""
        return f"{role}{possibly}: “{value['claim']}”"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell: no row break, no column break."""
    return " ".join(str(text).split()).replace("|", "\\|")
