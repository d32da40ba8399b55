"""`therapy-kg population`: a FHIR Bulk Data export in, each patient's evaluation, a table and a report out.

Each patient's resources become one FHIR Bundle (the Patient first, then the other types by name, each in
file and line order, and the Medications they reference) evaluated as `/evaluate` evaluates a Bundle: the
NDJSON line is the bytes `/evaluate` answers for that Bundle. Nothing is presented as complete before it is:
every output is written under a temporary name and renamed when the run ends.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from kg.population.bulk import bulk_files
from kg.population.html_report import render_report
from kg.population.patterns import Patterns
from kg.population.record import PopulationReport, evaluate_patient
from kg.population.spill import bucket_count, grouped, partition
from kg.population.table import TableWriter

if TYPE_CHECKING:
    from kg.service import TherapyKG

#: The output files, by what they hold.
DOCUMENTS, REPORT, PAGE = "evaluations.ndjson", "report.json", "report.html"


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
    reuse: bool = True,
) -> PopulationReport:
    """Evaluate every patient of the export in `folder`; write the documents, the table and the report in `out`.

    With `workers` > 1 the buckets are evaluated by that many processes (forked: the compiled knowledge is
    shared, not copied or pickled), each writing its own parts; the parts are joined in bucket order, so the
    output is the same bytes whatever the number of workers. With `reuse` (the default) each fact pattern is
    evaluated once (`kg.population.patterns`); without it, every patient's Bundle is read and evaluated.
    """
    as_of = as_of or date.today()  # one evaluation date for the whole run, even across midnight
    files = bulk_files(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = PopulationReport()
    with tempfile.TemporaryDirectory(prefix=".population-", dir=out) as work:
        workdir = Path(work)
        # a few buckets a worker, so one slow bucket does not leave the others idle
        spill = partition(files, workdir, buckets or max(bucket_count(files), 4 * workers if workers > 1 else 1))
        report.lines, report.problems, report.outside_records = spill.lines, spill.problems, spill.outside_records
        jobs = [BucketJob(i, b, workdir, spill.shared, as_of, table_format, reuse) for i, b in enumerate(spill.buckets)]
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
    as_of: date
    table_format: str
    reuse: bool


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
    patterns = Patterns(service, job.shared, job.as_of) if job.reuse else None
    with documents.open("wb") as stream:
        for patient in grouped(job.bucket):
            resources += len(patient.lines)
            if read is not None:
                read(len(patient.lines))
            if patterns is not None:
                answer = patterns.evaluate(patient, report)
                if answer is not None:
                    stream.write(answer[0] + b"\n")
                    table.add(patient.patient, answer[1])
                continue
            answer = evaluate_patient(service, patient, job.shared, job.as_of, report)
            if answer is not None:
                stream.write(answer[0] + b"\n")
                table.add(patient.patient, answer[1])
    if patterns is not None:
        patterns.flush(report)
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
