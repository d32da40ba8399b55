"""`therapy-kg population`: a FHIR Bulk Data export in, each patient's evaluation, a table and a report out.

Each patient's resources become one FHIR Bundle (the Patient first, then the other types by name, each in
file and line order, and the Medications they reference) evaluated as `/evaluate` evaluates a Bundle: the
NDJSON line is the bytes `/evaluate` answers for that Bundle. Nothing is presented as complete before it is:
every output is written under a temporary name and renamed when the run ends.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from kg.errors import NothingToEvaluateError, TherapyKGError
from kg.population.bulk import LineProblem, bulk_files
from kg.population.html_report import render_report
from kg.population.spill import PatientLines, bucket_count, grouped, partition
from kg.population.table import TableWriter

if TYPE_CHECKING:
    from kg.service import TherapyKG

#: The references of a patient's resources to shared Medication resources.
_MEDICATION_REFERENCE = re.compile(rb'"reference"\s*:\s*"(Medication/[A-Za-z0-9\-.]{1,64})"')
#: How many refused records and bad lines the report lists one by one (all are counted).
EXAMPLES = 100
#: The output files, by what they hold.
DOCUMENTS, REPORT, PAGE = "evaluations.ndjson", "report.json", "report.html"


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
                "by_problem": dict(Counter(p.problem.split(" (")[0] for p in self.problems).most_common()),
                "first": [vars(p) for p in self.problems[:EXAMPLES]],
            },
            "resources_naming_a_patient_not_in_the_export": dict(sorted(self.without_patient.items())),
            "resources_of_no_patient": dict(sorted(self.outside_records.items())),
            "options_by_indication_and_status": [
                {"indication": i, "status": s, "options": n} for (i, s), n in sorted(self.statuses.items())
            ],
            "unrecognized_codes": [
                dict(zip(("system", "code", "display"), key.split("|", 2), strict=True), patients=n)
                for key, n in self.unrecognized.most_common()
            ],
        }


def run_population(
    folder: Path,
    out: Path,
    service: TherapyKG,
    *,
    as_of: date | None = None,
    table_format: str = "parquet",
    buckets: int | None = None,
    progress: bool = False,
) -> PopulationReport:
    """Evaluate every patient of the export in `folder`; write the documents, the table and the report in `out`."""
    files = bulk_files(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = PopulationReport()
    with tempfile.TemporaryDirectory(prefix=".population-", dir=out) as work:
        workdir = Path(work)
        spill = partition(files, workdir, buckets or bucket_count(files))
        report.lines, report.problems, report.outside_records = spill.lines, spill.problems, spill.outside_records
        documents = workdir / DOCUMENTS
        table = TableWriter(workdir, table_format)
        with documents.open("wb") as stream:
            for patient in _patients(spill.buckets, progress, sum(spill.lines.values())):
                line = _evaluate(service, patient, spill.shared, as_of, report)
                if line is None:
                    continue
                stream.write(line + b"\n")
                table.add(patient.patient, orjson.loads(line))
        finished = table.close()
        figures = report.to_json()
        (workdir / REPORT).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
        (workdir / PAGE).write_text(render_report(figures), encoding="utf-8")
        for path in (documents, finished, workdir / REPORT, workdir / PAGE):  # complete: now they take their names
            shutil.move(path, out / path.name)
    return report


def _patients(buckets: list[Path], progress: bool, lines: int) -> Iterator[PatientLines]:
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=lines, unit="resources", desc="population")
    for bucket in buckets:
        for patient in grouped(bucket):
            yield patient
            if bar is not None:
                bar.update(len(patient.lines))
    if bar is not None:
        bar.close()


def _evaluate(
    service: TherapyKG, patient: PatientLines, shared: dict[str, bytes], as_of: date | None, report: PopulationReport
) -> bytes | None:
    """The patient's evaluation document as `/evaluate` writes it, or None for resources with no Patient."""
    if not patient.lines or patient.lines[0][0] != "Patient":
        report.without_patient.update(kind for kind, _, _, _ in patient.lines)
        return None
    report.patients += 1
    texts = [text for _, _, _, text in patient.lines]
    referenced = sorted({m.decode() for text in texts for m in _MEDICATION_REFERENCE.findall(text)})
    texts += [shared[r] for r in referenced if r in shared]
    bundle = orjson.loads(
        b'{"resourceType":"Bundle","type":"collection","entry":['
        + b",".join(b'{"resource":' + text + b"}" for text in texts)
        + b"]}"
    )
    try:
        line = service.evaluate_document_json(bundle, as_of=as_of)
    except TherapyKGError as exc:  # this patient's record is refused; the run goes on
        if isinstance(exc, NothingToEvaluateError):
            report.nothing_to_evaluate += 1
        else:
            _, file, number, _ = patient.lines[0]
            report.failed_by_code[exc.code] += 1
            if len(report.failed) < EXAMPLES:
                failure = {"patient": patient.patient, "file": file, "line": number, "code": exc.code}
                report.failed.append(failure | {"error": str(exc)})
        return orjson.dumps({"patient": patient.patient, "error": str(exc), "field": exc.field, "code": exc.code})
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
    return line
