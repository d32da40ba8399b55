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
from collections.abc import Callable
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

    def merge(self, other: PopulationReport) -> None:
        """Add the figures of another part of the run (a bucket), after this one's."""
        self.patients += other.patients
        self.evaluated += other.evaluated
        self.deceased += other.deceased
        self.nothing_to_evaluate += other.nothing_to_evaluate
        self.failed += other.failed[: EXAMPLES - len(self.failed)]
        self.failed_by_code.update(other.failed_by_code)
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


def run_population(
    folder: Path,
    out: Path,
    service: TherapyKG,
    *,
    as_of: date | None = None,
    table_format: str = "parquet",
    buckets: int | None = None,
    workers: int = 1,
    progress: bool = False,
) -> PopulationReport:
    """Evaluate every patient of the export in `folder`; write the documents, the table and the report in `out`.

    With `workers` > 1 the buckets are evaluated by that many processes (forked: the compiled knowledge is
    shared, not copied or pickled), each writing its own parts; the parts are joined in bucket order, so the
    output is the same bytes whatever the number of workers.
    """
    files = bulk_files(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = PopulationReport()
    with tempfile.TemporaryDirectory(prefix=".population-", dir=out) as work:
        workdir = Path(work)
        # a few buckets a worker, so one slow bucket does not leave the others idle
        spill = partition(files, workdir, buckets or max(bucket_count(files), 4 * workers if workers > 1 else 1))
        report.lines, report.problems, report.outside_records = spill.lines, spill.problems, spill.outside_records
        jobs = [BucketJob(i, b, workdir, spill.shared, as_of, table_format) for i, b in enumerate(spill.buckets)]
        parts = _run_jobs(service, jobs, workers, spill.bucketed if progress else None)
        for part in parts:
            report.merge(part.report)
        documents = join_parts([part.documents for part in parts], workdir / DOCUMENTS)
        finished = join_tables([part.table for part in parts], workdir, table_format)
        figures = report.to_json()
        (workdir / REPORT).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
        (workdir / PAGE).write_text(render_report(figures), encoding="utf-8")
        for path in (documents, finished, workdir / REPORT, workdir / PAGE):  # complete: now they take their names
            shutil.move(path, out / path.name)
    return report


@dataclass(frozen=True)
class BucketJob:
    """One bucket to evaluate, and where its parts go."""

    index: int
    bucket: Path
    workdir: Path
    shared: dict[str, bytes]
    as_of: date | None
    table_format: str


@dataclass
class BucketParts:
    """What one bucket gave: its documents, its table part and its share of the report."""

    index: int
    documents: Path
    table: Path
    report: PopulationReport
    resources: int


#: The service a forked worker evaluates with: set in the parent before the pool forks, inherited by the children.
_WORKER_SERVICE: TherapyKG | None = None


def _run_jobs(service: TherapyKG, jobs: list[BucketJob], workers: int, progress: int | None) -> list[BucketParts]:
    """Evaluate the buckets, in order; `progress` (the export's resource count) shows a bar counting them."""
    global _WORKER_SERVICE
    bar = None
    if progress is not None:
        from tqdm import tqdm

        bar = tqdm(total=progress, unit="resources", unit_scale=True, desc="population")
    results: list[BucketParts] = []
    try:
        if workers == 1:
            for job in jobs:  # one process: the bar moves patient by patient
                results.append(evaluate_bucket(service, job, bar.update if bar is not None else None))
            return results
        _WORKER_SERVICE = service
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for parts in pool.map(_evaluate_in_worker, jobs):  # in job order; the bar moves bucket by bucket
                results.append(parts)
                if bar is not None:
                    bar.update(parts.resources)
        return results
    finally:
        _WORKER_SERVICE = None
        if bar is not None:
            bar.close()


def _evaluate_in_worker(job: BucketJob) -> BucketParts:
    assert _WORKER_SERVICE is not None, "a population worker is forked from a parent that set its service"
    return evaluate_bucket(_WORKER_SERVICE, job)


def evaluate_bucket(service: TherapyKG, job: BucketJob, read: Callable[[int], object] | None = None) -> BucketParts:
    """Evaluate the patients of one bucket, in id order; write its documents and its table part. `read` is told
    how many resources each patient had (a progress bar)."""
    report = PopulationReport()
    resources = 0
    documents = job.workdir / f"documents-{job.index:05d}.ndjson"
    folder = job.workdir / f"table-{job.index:05d}"
    folder.mkdir()
    table = TableWriter(folder, job.table_format)
    with documents.open("wb") as stream:
        for patient in grouped(job.bucket):
            resources += len(patient.lines)
            if read is not None:
                read(len(patient.lines))
            line = evaluate_patient(service, patient, job.shared, job.as_of, report)
            if line is None:
                continue
            stream.write(line + b"\n")
            table.add(patient.patient, orjson.loads(line))
    return BucketParts(job.index, documents, table.close(), report, resources)


def join_parts(parts: list[Path], target: Path) -> Path:
    """The parts' bytes one after another, in order, in `target`."""
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as stream:
                shutil.copyfileobj(stream, out)
    return target


def join_tables(parts: list[Path], workdir: Path, table_format: str) -> Path:
    """One table of the parts, in order: Parquet parts copied one at a time, CSV parts without their own header
    line but the first's."""
    target = workdir / f"table.{table_format}"
    if table_format == "csv":
        with target.open("wb") as out:
            for i, part in enumerate(parts):
                with part.open("rb") as stream:
                    header = stream.readline()
                    if i == 0:
                        out.write(header)
                    shutil.copyfileobj(stream, out)
        return target
    import pyarrow.parquet as pq

    writer = None
    for part in parts:
        table = pq.read_table(part)
        if writer is None:
            writer = pq.ParquetWriter(target, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return target


def evaluate_patient(
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
