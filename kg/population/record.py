"""One patient's record evaluated as `/evaluate` evaluates a Bundle, and the figures of the run's report.

A patient's resources become one FHIR Bundle (the Patient first, then the other types by name, each in file and
line order, and the shared Medications they refer to); its document is the bytes `/evaluate` answers for that
Bundle, and a record the service refuses is an error line naming the problem, counted in the report.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from kg.errors import NothingToEvaluateError, TherapyKGError
from kg.patient.document import PatientInput
from kg.patient.fhir import BundleReading, read_validated
from kg.population.bulk import LineProblem
from kg.population.entries import ValidatedEntries, bundle_json
from kg.population.spill import PatientLines
from kg.population.table import OptionRow, option_values

if TYPE_CHECKING:
    from kg.service import TherapyKG

#: The references of a patient's resources to shared Medication resources.
_MEDICATION_REFERENCE = re.compile(rb'"reference"\s*:\s*"(Medication/[A-Za-z0-9\-.]{1,64})"')
#: How many refused records and bad lines the report lists one by one (all are counted).
EXAMPLES = 100
#: A patient's document line, and its table rows without the patient.
Answer = tuple[bytes, tuple[OptionRow, ...]]


@dataclass
class PopulationReport:
    """What a run read, evaluated and could not use: the report's figures (`report.json`)."""

    patients: int = 0
    evaluated: int = 0
    deceased: int = 0  # evaluated, their answer withheld (SPEC: a deceased patient's options are not given)
    nothing_to_evaluate: int = 0  # records with no usable condition and no active medication (all inactive, …)
    failed: list[dict[str, Any]] = field(default_factory=list)  # records refused: the first EXAMPLES of them
    failed_by_code: Counter[str] = field(default_factory=Counter)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)
    without_patient: Counter[str] = field(default_factory=Counter)  # resources naming no Patient in the export
    outside_records: dict[str, int] = field(default_factory=dict)  # resources of no patient (Organization, …)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)  # (indication, status) → options
    unrecognized: Counter[str] = field(default_factory=Counter)  # codes the graph does not know

    def merge(self, other: PopulationReport) -> None:
        """Add the figures of another part of the run (a bucket, a Spark partition), after this one's."""
        self.patients += other.patients
        self.evaluated += other.evaluated
        self.deceased += other.deceased
        self.nothing_to_evaluate += other.nothing_to_evaluate
        self.failed += other.failed[: EXAMPLES - len(self.failed)]
        self.failed_by_code.update(other.failed_by_code)
        self.problems += other.problems
        for mine, theirs in ((self.lines, other.lines), (self.outside_records, other.outside_records)):
            for kind, n in theirs.items():
                mine[kind] = mine.get(kind, 0) + n
        self.without_patient.update(other.without_patient)
        self.statuses.update(other.statuses)
        self.unrecognized.update(other.unrecognized)

    def to_json(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "evaluated": self.evaluated,
            "deceased": self.deceased,
            "nothing_to_evaluate": self.nothing_to_evaluate,
            "refused": {"by_code": dict(sorted(self.failed_by_code.items())), "first": self.failed},
            "lines_read": self.lines,
            "line_problems": {
                "count": len(self.problems),
                "by_problem": dict(
                    sorted(
                        Counter(p.problem.split(" (")[0] for p in self.problems).items(), key=lambda kv: (-kv[1], kv[0])
                    )
                ),
                "first": [vars(p) for p in self.problems[:EXAMPLES]],
            },
            "resources_naming_a_patient_not_in_the_export": dict(sorted(self.without_patient.items())),
            "resources_of_no_patient": dict(sorted(self.outside_records.items())),
            "options_by_indication_and_status": [
                {"indication": i, "status": s, "options": n} for (i, s), n in sorted(self.statuses.items())
            ],
            "unrecognized_codes": [
                dict(zip(("system", "code", "display"), key.split("|", 2), strict=True), patients=n)
                for key, n in sorted(self.unrecognized.items(), key=lambda kv: (-kv[1], kv[0]))  # ties by code
            ],
        }


def evaluate_patient(
    service: TherapyKG,
    patient: PatientLines,
    shared: dict[str, bytes],
    as_of: date | None,
    report: PopulationReport,
    entries: ValidatedEntries | None = None,
) -> Answer | None:
    """The patient's evaluation document as `/evaluate` writes it and its table rows, or None for resources with
    no Patient; `entries` validates each distinct resource once."""
    if not patient.lines or patient.lines[0][0] != "Patient":
        report.without_patient.update(kind for kind, _, _, _ in patient.lines)
        return None
    texts = [text for _, _, _, text in patient.lines]
    _, file, number, _ = patient.lines[0]
    texts += shared_texts(texts, shared)
    return evaluate_record(service, patient.patient, texts, as_of, report, (file, number), entries)


def shared_texts(texts: list[bytes], shared: dict[str, bytes]) -> list[bytes]:
    """The shared resources (Medications) the patient's resources refer to, in reference order."""
    referenced = sorted({m.decode() for text in texts for m in _MEDICATION_REFERENCE.findall(text)})
    return [shared[r] for r in referenced if r in shared]


def evaluate_record(
    service: TherapyKG,
    patient: str,
    texts: list[bytes],
    as_of: date | None,
    report: PopulationReport,
    where: tuple[str, int],
    entries: ValidatedEntries | None = None,
) -> Answer:
    """The evaluation document of one patient's resources (the Patient first) as one Bundle, and its table rows;
    `where` is the file and line of the Patient, for the report of a refused record; `entries` validates each
    distinct resource once."""
    report.patients += 1
    try:
        line = service.evaluate_many_json([_reading(service, texts, as_of, entries)])[0]
    except TherapyKGError as exc:  # this patient's record is refused; the run goes on
        if isinstance(exc, NothingToEvaluateError):
            report.nothing_to_evaluate += 1
        else:
            file, number = where
            report.failed_by_code[exc.code] += 1
            if len(report.failed) < EXAMPLES:
                failure = {"patient": patient, "file": file, "line": number, "code": exc.code}
                report.failed.append(failure | {"error": str(exc)})
        return orjson.dumps({"patient": patient, "error": str(exc), "field": exc.field, "code": exc.code}), ()
    report.evaluated += 1
    document = orjson.loads(line)
    report.deceased += bool(document.get("deceased"))
    for option in document["options"]:
        indication = (option.get("indication") or {}).get("term") or ""
        report.statuses[(indication, option["status"])] += 1
    codes = set()
    for entry in document["unrecognized"]:
        value = entry.get("input")
        for coding in value.get("coding", []) if isinstance(value, dict) else []:
            if isinstance(coding, dict) and coding.get("code"):
                codes.add(f"{coding.get('system', '')}|{coding['code']}|{coding.get('display', '')}")
    report.unrecognized.update(codes)  # by patients, not by records: a code repeated in one record counts once
    return line, option_values(document)  # the document read once, for the figures and the table


def _reading(
    service: TherapyKG, texts: list[bytes], as_of: date | None, entries: ValidatedEntries | None
) -> BundleReading | PatientInput:
    """The patient the resources' Bundle states, as `/evaluate` reads it (`TherapyKG.read_document`)."""
    assembled = entries.bundle(texts) if entries is not None else None
    if assembled is not None:
        return read_validated(assembled[0], as_of or date.today(), assembled[1])
    return service.read_document(orjson.loads(bundle_json(texts)), as_of)


def scaled(share: PopulationReport, hits: int, report: PopulationReport) -> None:
    """Add `hits` times one pattern's share of the figures to `report`."""
    report.patients += share.patients * hits
    report.evaluated += share.evaluated * hits
    report.deceased += share.deceased * hits
    report.nothing_to_evaluate += share.nothing_to_evaluate * hits
    report.statuses.update(Counter({k: v * hits for k, v in share.statuses.items()}))
    report.unrecognized.update(Counter({k: v * hits for k, v in share.unrecognized.items()}))
