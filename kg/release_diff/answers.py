"""Which answers a new release changes: the same patients through both releases, every difference listed
with the statements responsible.

An answer (SPEC §5) is flattened into items, each with the statements it rests on: an option's status, line
and preference (resting on its reasons); each statement an option or a current therapy cites (its reasons,
cautions, dosing, monitoring, evidence, discontinuation advice), compared in full, so a changed dose or
claim shows; each warning, open question, condition role and unrecognised entry. Two releases give the same
answer when every item is equal; otherwise each item that differs is one change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kg.errors import InputError
from kg.json_types import JsonObject
from kg.service import TherapyKG

#: the sections of an option or current therapy that list statements, each entry naming its `statement`
CITING = ("reasons", "cautions", "dosing", "monitoring", "evidence", "discontinuation")


@dataclass(frozen=True)
class Patient:
    """A patient to compare on: its name (the file's stem) and its document (patient JSON or FHIR Bundle)."""

    name: str
    document: Any


@dataclass(frozen=True)
class Item:
    value: Any
    statements: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AnswerChange:
    """One item of one patient's answer that the new release changes (`None`: absent on that side)."""

    patient: str
    section: str
    subject: tuple[str, ...]
    field: str
    old: Any
    new: Any
    statements: tuple[str, ...]


@dataclass
class AnswerDiff:
    patients: list[str]
    changes: list[AnswerChange] = field(default_factory=list)

    @property
    def changed_patients(self) -> list[str]:
        return sorted({change.patient for change in self.changes})


def read_patients(folders: Iterable[Path]) -> list[Patient]:
    """Every `*.json` of the folders: a patient document, a FHIR Bundle, or a vignette (`{"patient": …}`)."""
    patients = []
    for folder in folders:
        files = sorted(folder.glob("*.json")) if folder.is_dir() else [folder]
        if not files:
            raise InputError.at(str(folder), "holds no patient (*.json)")
        for path in files:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError.at(str(path), f"cannot be read as JSON: {exc}") from exc
            if isinstance(data, dict) and isinstance(data.get("patient"), dict) and "resourceType" not in data:
                data = data["patient"]
            patients.append(Patient(path.stem, data))
    return patients


def answer_diff(
    old: TherapyKG, new: TherapyKG, patients: list[Patient], as_of: date, engine: str = "fast"
) -> AnswerDiff:
    """Each patient evaluated by both releases on the same date; the items that differ."""
    diff = AnswerDiff([p.name for p in patients])
    for patient in patients:
        before = _answered(old, patient, as_of, engine)
        after = _answered(new, patient, as_of, engine)
        for key in sorted(before.keys() | after.keys()):
            was, now = before.get(key), after.get(key)
            if was is not None and now is not None and was.value == now.value:
                continue
            statements = (was.statements if was else frozenset()) | (now.statements if now else frozenset())
            section, *subject, name = key
            diff.changes.append(
                AnswerChange(
                    patient.name,
                    section,
                    tuple(subject),
                    name,
                    was.value if was else None,
                    now.value if now else None,
                    tuple(sorted(statements)),
                )
            )
    return diff


def _answered(service: TherapyKG, patient: Patient, as_of: date, engine: str) -> dict[tuple[str, ...], Item]:
    """The patient's answer as items; a patient the release refuses (a term it does not know, as for a patient
    made for the other release's new terms) is one item, the refusal and why."""
    try:
        return items(service.evaluate_document(patient.document, engine, as_of))
    except InputError as refused:
        return {("refused", "why"): Item(str(refused))}


def items(answer: JsonObject) -> dict[tuple[str, ...], Item]:
    """The answer as comparable items, keyed by (section, subject…, field)."""
    return dict(_items(answer))


def _items(answer: JsonObject) -> Iterator[tuple[tuple[str, ...], Item]]:
    for option in _objects(answer.get("options")):
        subject = (_term(option.get("indication")), str(option.get("intervention")))
        deciding = _statements(option.get("reasons"))
        for name in ("status", "line", "preferred"):
            yield ("option", *subject, name), Item(option.get(name), deciding)
        yield from _cited("option", subject, option)
    for therapy in _objects(answer.get("current_therapies")):
        subject = (str(therapy.get("intervention")), _term(therapy.get("form")))
        yield ("current therapy", *subject, "indications"), Item(therapy.get("indications"))
        yield from _cited("current therapy", subject, therapy)
    for warning in _objects(answer.get("warnings")):
        about = (str(warning.get("kind")), str(warning.get("intervention") or ""), str(warning.get("message")))
        statements = _statements(warning.get("reasons")) | frozenset(map(str, _list(warning.get("statements"))))
        yield ("warning", *about, "present"), Item(True, statements)
    for question in _objects(answer.get("missing_information")):
        yield ("question", str(question.get("question")), "asks"), Item(question)
    for condition in _objects(answer.get("conditions")):
        yield ("condition", _term(condition), "reading"), Item(condition)
    for entry in _list(answer.get("unrecognized")):
        yield ("unrecognized", json.dumps(entry, sort_keys=True), "present"), Item(True)


def _cited(section: str, subject: tuple[str, ...], entry: JsonObject) -> Iterator[tuple[tuple[str, ...], Item]]:
    for name in CITING:
        for cited in _objects(entry.get(name)):
            statement = str(cited.get("statement"))
            yield (section, *subject, f"{name}: {statement}"), Item(cited, frozenset({statement}))


def _objects(value: Any) -> list[JsonObject]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _term(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("term") or value.get("code") or "")
    return "" if value is None else str(value)


def _statements(reasons: Any) -> frozenset[str]:
    return frozenset(str(r.get("statement")) for r in _objects(reasons) if r.get("statement"))
