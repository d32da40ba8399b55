"""Evaluate once per fact pattern, not once per patient (issue 11 item 2).

Most patients of a population share a few hundred records up to names: the same codes and statuses, a
different id, another birth date giving the same age. Reading and validating a FHIR Bundle costs about a
millisecond; writing a document from a template costs a microsecond. So a patient's resources are first
written in a *canonical form*, and the first patient of each form is evaluated as `/evaluate` would; the
others get that document with their own ids and date of death put back in.

The canonical form renames, and changes nothing else:

- **ids.** Every `"id"` value and every `"reference"` to `Type/ID` or `#ID` that is a FHIR id is renamed, the
  same id to the same name (`ZZtkg00000ZZ`, `ZZtkg00001ZZ`, … in order of first appearance). The reader
  compares ids only for equality (references, the Bundle's patient), and the document copies them as they
  are, so renaming is undone by replacing the names in the document.
- **birthDate** (a full date, on the Patient): the age it gives. The reader uses a full birth date for the age
  alone, and the engines use the age only to tell whether a population includes it, so the key names the *band*
  of ages between two population bounds of the graph. Where an answer shows the age itself (the reasons of a
  population's statement, the dosing advice), two ages of the band give two documents: a form learnt at two
  ages of its band that answers both the same is kept by band, any other by age.
- **deceasedDateTime** on or before the evaluation date: `1800-01-01`, with the birth date giving the age at
  death; the document names the date of death, which is put back like an id.

Anything else — a partial birth date, a death after the evaluation date, an id that also occurs where it is
not renamed (an identifier, a versioned reference), a Bundle the reader refuses — is evaluated on its own,
so every document is the bytes `/evaluate` answers (the population tests compare both ways on every patient).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import orjson

from kg.knowledge import Population
from kg.patient.fhir import MAX_AGE
from kg.population.entries import ValidatedEntries
from kg.population.record import PopulationReport, evaluate_patient, evaluate_record, scaled, shared_texts
from kg.population.spill import PatientLines
from kg.population.table import OptionRow

if TYPE_CHECKING:
    from kg.service import TherapyKG

#: The canonical name of a patient's n-th id: a FHIR id, and nothing a record holds (checked).
_NAME = b"ZZtkg%05dZZ"
_NAME_MARK = b"ZZtkg"
#: The canonical date of death: a valid date before any evaluation date, and nothing a record holds (checked).
_DEATH = b"1800-01-01"
_DEATH_DATE = date(1800, 1, 1)
#: Where the canonical birth date goes (`Canonical.texts`): nothing a record holds (checked).
_BIRTH = b"@@tkg-birth@@"
#: An id, or a reference to one, as a JSON member: the key, what lies between key and value, a prefix, the id.
_IDS = re.compile(rb'"(id|reference)"(\s*:\s*")(#|[A-Z][A-Za-z]{0,63}/)?([A-Za-z0-9\-.]{1,64})"')
#: The canonical names and the date of death in a canonical document: where a patient's own go.
_SLOTS = re.compile(rb"ZZtkg(\d{5})ZZ|(1800-01-01)")
#: The canonical names alone: a pattern with a literal prefix, which `re` finds by a fast scan (40x faster than
#: the alternation over a document of 17 KB), for the documents that name no date of death.
_NAMES = re.compile(rb"ZZtkg(\d{5})ZZ")
#: A member whose value is replaced, with what lies between key and value (a string without escapes).
_MEMBERS = {m: re.compile(rb'"' + m + rb'"(\s*:\s*")([^"\\]*)"') for m in (b"birthDate", b"deceasedDateTime")}
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: FHIR's dateTime with a time: seconds and a time zone are required.
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$"
)
#: How many patterns a process keeps: the most memory the templates take (a few KiB each).
LIMIT = 4096


@dataclass
class Pattern:
    """One canonical record's answer: its document cut where the patient's own ids go, its table rows
    without the patient, and its share of the report; `hits` counts the patients answered with it."""

    parts: tuple[bytes, ...]  # literal bytes, between the slots
    slots: tuple[int, ...]  # for each slot: the index of the patient's id, or -1 for the date of death
    rows: tuple[OptionRow, ...]
    share: PopulationReport
    hits: int = 0


@dataclass(frozen=True)
class _FirstAge:
    """The pattern of the first age met in a band, until a second age tells whether it is the band's."""

    pattern: Pattern


@dataclass
class Canonical:
    """A patient's resources in canonical form, and what was renamed. The key names the age by its band only;
    `exact` names the age itself, for the patterns whose answer shows it."""

    key: bytes
    ids: list[bytes]  # the patient's ids, by canonical number
    renamed: list[bytes]  # the resources, renamed, the Patient's birth date left as _BIRTH
    age: int | None = None
    anchor: date = _DEATH_DATE  # the day the age is completed on: the evaluation date, or the canonical death
    death: bytes = b""  # the date of death the document names, when it was replaced

    @property
    def exact(self) -> bytes:
        return self.key + b"\nage %d" % self.age if self.age is not None else self.key

    def texts(self) -> list[bytes]:
        """The canonical resources, the Patient born so as to be `age` years old (as `kg.patient.fhir_age`)."""
        if self.age is None:
            return self.renamed
        born = _same_day(self.anchor, self.anchor.year - self.age).isoformat().encode()
        return [self.renamed[0].replace(_BIRTH, born), *self.renamed[1:]]

    def fill(self, pattern: Pattern) -> bytes:
        values = [self.ids[s] if s >= 0 else self.death for s in pattern.slots]
        out = [pattern.parts[0]]
        for value, part in zip(values, pattern.parts[1:], strict=True):
            out += (value, part)
        return b"".join(out)


@dataclass
class Patterns:
    """The patterns met so far in one process, for one evaluation date."""

    service: TherapyKG
    shared: dict[str, bytes]
    as_of: date
    # by canonical form: a pattern, False (answered one by one), or by band: True (kept by age) or its first age
    known: dict[bytes, Pattern | bool | _FirstAge] = field(default_factory=dict)
    entries: ValidatedEntries = field(default_factory=ValidatedEntries)  # each distinct resource validated once
    bounds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.bounds = age_bounds(self.service.knowledge.populations.values())

    def evaluate(self, patient: PatientLines, report: PopulationReport) -> tuple[bytes, tuple[OptionRow, ...]] | None:
        """The patient's document line and table rows, as `evaluate_patient` gives them; the figures of patients
        answered from a pattern reach `report` at `flush`."""
        if not patient.lines or patient.lines[0][0] != "Patient":  # reported, never evaluated
            evaluate_patient(self.service, patient, self.shared, self.as_of, report)
            return None
        texts = [text for _, _, _, text in patient.lines]
        texts += shared_texts(texts, self.shared)
        form = canonical(texts, patient.patient.encode(), self.as_of, self.bounds)
        pattern = self._pattern(form, report) if form is not None else False
        if isinstance(pattern, bool) or form is None:
            answer = evaluate_patient(self.service, patient, self.shared, self.as_of, report, self.entries)
            assert answer is not None  # the patient has a Patient
            return answer
        pattern.hits += 1
        return form.fill(pattern), pattern.rows

    def _pattern(self, form: Canonical, report: PopulationReport) -> Pattern | bool:
        """The pattern of a canonical form: known, or learnt now from this patient's own evaluation (so a form
        met once costs what evaluating the patient costs); False for a form answered one by one."""
        by_band = self.known.get(form.key)
        if isinstance(by_band, Pattern) or by_band is False:
            return by_band
        found = self.known.get(form.exact)
        if isinstance(found, Pattern | bool):
            return found
        if len(self.known) >= LIMIT:  # memory stays flat however many forms a population has
            self.flush(report)
            self.known.clear()
            by_band = None
        pattern = self._learn(form)
        self.known[form.exact] = pattern
        if form.age is None or not isinstance(pattern, Pattern):
            return pattern
        if by_band is None:  # the first age met in this band
            self.known[form.key] = _FirstAge(pattern)
        elif isinstance(by_band, _FirstAge):
            # Within a band every population includes the same ages, so the answers at two of its ages differ
            # only where they show the age itself (the reasons of a population's statement, the dosing advice):
            # the same answer at two ages is the answer of the whole band; different ones are kept by age.
            self.known[form.key] = by_band.pattern if by_band.pattern.parts == pattern.parts else True
        return pattern

    def flush(self, report: PopulationReport) -> None:
        """Add the figures of the patients answered from patterns to `report`."""
        for pattern in self.known.values():
            if isinstance(pattern, Pattern) and pattern.hits:
                scaled(pattern.share, pattern.hits, report)
                pattern.hits = 0

    def _learn(self, form: Canonical) -> Pattern | bool:
        """The canonical record evaluated, as a pattern; False when it is refused (its message may name the
        record: it is answered one by one)."""
        share = PopulationReport()
        line, rows = evaluate_record(
            self.service, (_NAME % 0).decode(), form.texts(), self.as_of, share, ("", 0), self.entries
        )
        if share.failed_by_code:
            return False
        parts, slots = _cut(line)
        return Pattern(parts, slots, rows, share)


def _cut(line: bytes) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """A canonical document cut at its slots: the literal parts, and for each slot the number of the patient's
    id it takes, or -1 for the date of death."""
    if _DEATH not in line:
        pieces = _NAMES.split(line)
        return tuple(pieces[0::2]), tuple(int(number) for number in pieces[1::2])
    pieces = _SLOTS.split(line)
    slots = [-1 if death else int(number) for number, death in zip(pieces[1::3], pieces[2::3], strict=True)]
    return tuple(pieces[0::3]), tuple(slots)


def age_bounds(populations: Iterable[Population]) -> tuple[int, ...]:
    """The ages at which some population of the graph begins or ends, and the reader's limit: between two of
    them, every population includes the same ages."""
    bounds = {0, MAX_AGE + 1}
    for population in populations:
        bounds |= {b for b in (population.min_inclusive, population.max_exclusive) if b is not None}
    return tuple(sorted(bounds))


def canonical(texts: list[bytes], patient: bytes, as_of: date, bounds: tuple[int, ...]) -> Canonical | None:
    """The canonical form of a patient's resources (the Patient first), or None when it cannot be told safely."""
    whole = b"\n".join(texts)
    if _NAME_MARK in whole or _DEATH in whole or _BIRTH in whole:
        return None
    first = _dates(texts[0], as_of)
    if first is None:
        return None
    patient_text, death, age, anchor = first
    ids: dict[bytes, bytes] = {}

    def rename(match: re.Match[bytes]) -> bytes:
        key, between, prefix, value = match.groups()
        if (key == b"id") == bool(prefix):  # an id with a prefix, a reference without: not an id, left alone
            return match.group(0)
        name = ids.get(value)
        if name is None:
            name = ids[value] = _NAME % len(ids)
        return b'"' + key + b'"' + between + (prefix or b"") + name + b'"'

    renamed = [_IDS.sub(rename, text) for text in (patient_text, *texts[1:])]
    key = b"\n".join(renamed)
    if ids.get(patient) != _NAME % 0 or any(value in key for value in ids):
        return None  # the Patient's id is not its first, or an id also stands where it is not renamed
    if age is None:
        return Canonical(key, list(ids), renamed, death=death)
    band = bisect_right(bounds, age)  # bounds[band - 1] <= age < bounds[band]
    key = key.replace(_BIRTH, b"band %d" % band, 1)
    return Canonical(key, list(ids), renamed, age, anchor, death)


def _dates(text: bytes, as_of: date) -> tuple[bytes, bytes, int | None, date] | None:
    """The Patient with its date of death in canonical form and its birth date left as _BIRTH, the date of
    death the document will name, the age and the day it is completed on; None when they cannot be replaced
    safely."""
    resource = orjson.loads(text)
    birth, died = resource.get("birthDate"), resource.get("deceasedDateTime")
    death, on, form = b"", as_of, text
    if died is not None:
        died_on = _date_of(died)
        if died_on is None or died_on > as_of:
            return None
        on, death = died_on, died_on.isoformat().encode()
        replaced = _replace_once(form, b"deceasedDateTime", died, _DEATH)
        if replaced is None:
            return None
        form = replaced
    anchor = _DEATH_DATE if died is not None else on
    if birth is None:
        return form, death, None, anchor
    born = _date_of(birth) if isinstance(birth, str) and _FULL_DATE.match(birth) else None
    if born is None or born > on:
        return None
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))  # as `kg.patient.fhir_age`
    if age > MAX_AGE:
        return None
    replaced = _replace_once(form, b"birthDate", birth, _BIRTH)
    return (replaced, death, age, anchor) if replaced is not None else None


def _date_of(value: object) -> date | None:
    """The day a full FHIR date or dateTime names (in its own time zone), else None."""
    if not isinstance(value, str):
        return None
    try:
        if _FULL_DATE.match(value):
            return date.fromisoformat(value)
        if _DATE_TIME.match(value):
            return datetime.fromisoformat(value).date()
    except ValueError:
        return None
    return None


def _same_day(day: date, year: int) -> date:
    """`day` in another year; 29 February becomes the 28th (so the age in completed years is the same)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def _replace_once(text: bytes, member: bytes, value: str, new: bytes) -> bytes | None:
    """`text` with the one `"member": "value"` replaced by `new`; None when the member is there more than once
    (a contained resource has one too: which one is the Patient's is not told by bytes)."""
    found = _MEMBERS[member].findall(text)
    if len(found) != 1 or found[0][1] != value.encode() or text.count(b'"' + member + b'"') != 1:
        return None
    return _MEMBERS[member].sub(lambda m: b'"' + member + b'"' + m.group(1) + new + b'"', text)
