"""`therapy-kg population --spark [MASTER]`: the same population run on Apache Spark (issue 11 item 3), locally
(`local[*]`) or on a cluster by its master URL.

The export and the outputs may be local paths or any URL Spark's Hadoop client reads (`hdfs://`, `s3a://`, …):
the driver lists and writes through Hadoop's file systems (`kg.population.hadoop_files`), so nothing has to be
mounted at the same path everywhere. Spark reads the export's files as text (gzip too), so each resource keeps
the bytes it was exported with: a patient's Bundle, and so its document, is the one the local command builds.
Lines are keyed by patient and grouped by Spark's shuffle; each partition is evaluated by `mapPartitions` with a
service built once per Python worker from the release, which is broadcast once, each fact pattern once a
partition (`kg.population.patterns`), and counted there (each line is parsed once). The table is written as
Parquet partitioned by indication (`table/indication=…/`), the documents as NDJSON part files (`evaluations/`),
and the report's figures, gathered from every partition, as `report.json` and `report.html`. As in the local
run, everything is written under a temporary name inside OUT and renamed when the run has succeeded.
"""

from __future__ import annotations

import os
import pickle
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from kg.errors import InputError
from kg.population.bulk import SHARED, LineProblem, parse_line, resource_type_of
from kg.population.hadoop_files import HadoopFiles, joined
from kg.population.html_report import render_report
from kg.population.patterns import Patterns
from kg.population.record import PopulationReport
from kg.population.run import PAGE, REPORT
from kg.population.spill import PatientLines, shared_reference, type_rank

#: What a run writes in OUT, each renamed into place when the run has succeeded.
DOCUMENTS, TABLE = "evaluations", "table"
OUTPUTS = (DOCUMENTS, TABLE, REPORT, PAGE)

#: The service of this Python worker, built on its first partition from the broadcast release.
_SERVICE: Any = None

#: An export's files by resource type: (name, URL) each, in name order.
Export = dict[str, list[tuple[str, str]]]


def run_population_spark(
    folder: str | Path, out: str | Path, *, master: str = "local[*]", as_of: date | None = None
) -> PopulationReport:
    """Evaluate the export in `folder` on Spark; write the table, the documents and the report in `out` (paths
    or Hadoop URLs). Outputs already in `out` are an error, never overwritten."""
    folder, out = str(folder), str(out)
    as_of = as_of or date.today()  # one evaluation date for the whole run, on every executor
    spark = _session(master)
    try:
        context = spark.sparkContext
        context.setLogLevel("ERROR")
        files = HadoopFiles(context)
        export = export_files(files, folder)
        taken = [joined(out, name) for name in OUTPUTS if files.exists(joined(out, name))]
        if taken:
            raise InputError(f"{taken[0]} exists already: remove it or write elsewhere", field="out")
        work = joined(out, f".population-{uuid.uuid4().hex}")
        try:
            report = _run(spark, files, export, work, as_of)
            for name in OUTPUTS:  # complete: now they take their names
                files.rename(joined(work, name), joined(out, name))
        finally:
            files.remove(work)
    finally:
        spark.stop()
    return report


def _session(master: str) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master)
    if master.startswith("local"):  # the workers run this interpreter; on a cluster, PYSPARK_PYTHON says which
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
    return (
        builder.appName("therapy-kg population")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def export_files(files: HadoopFiles, folder: str) -> Export:
    """The export's NDJSON files by resource type (as `kg.population.bulk.bulk_files` finds them on a disk)."""
    found: Export = {}
    for name, url in files.files(folder):
        kind = resource_type_of(name)
        if kind is not None:
            found.setdefault(kind, []).append((name, url))
    if not found:
        raise InputError(f"{folder} holds no NDJSON file named by a resource type (Patient.ndjson, …)", field="folder")
    return found


def _run(spark: Any, files: HadoopFiles, export: Export, work: str, as_of: date) -> PopulationReport:
    from pyspark.sql.functions import explode

    from kg.store.release import release_file_ntriples

    context = spark.sparkContext
    shared, shared_report = _shared_resources(context, export)  # Medications: small, referenced by id
    release, shared_b = context.broadcast(release_file_ntriples()), context.broadcast(shared)
    lines = context.union(
        [
            context.textFile(url).zipWithIndex().filter(lambda pair: bool(pair[0].strip())).map(_keyed(kind, name))
            for kind, named in export.items()
            if kind not in SHARED
            for name, url in named
        ]
    )
    evaluated = lines.groupByKey().mapPartitions(_evaluator(release, shared_b, as_of))
    # One pass of Python over the evaluations: held in the JVM as columns, written from there by Spark alone
    frame = spark.createDataFrame(evaluated, schema=_evaluated_schema()).cache()
    found = frame.where(frame.report.isNotNull()).select("report").collect()
    report = _gathered_report([shared_report, *(pickle.loads(row.report) for row in found)])
    frame.where(frame.document.isNotNull()).select("document").write.text(joined(work, DOCUMENTS))
    options = frame.where(frame.rows.isNotNull()).select("patient", explode("rows").alias("row"))
    options.select("patient", "row.*").write.partitionBy("indication").parquet(joined(work, TABLE))
    figures = report.to_json()
    files.write(joined(work, REPORT), orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    files.write(joined(work, PAGE), render_report(figures).encode("utf-8"))
    return report


def _shared_resources(context: Any, export: Export) -> tuple[dict[str, bytes], PopulationReport]:
    """The shared resources by reference, read by Spark (wherever the export is), and their lines' figures."""
    shared: dict[str, bytes] = {}
    report = PopulationReport()
    for kind in sorted(SHARED & export.keys()):
        for name, url in export[kind]:
            for text, index in context.textFile(url).zipWithIndex().collect():
                if not text.strip():
                    continue
                item = parse_line(text.strip().encode("utf-8"), name, index + 1, kind)
                if isinstance(item, LineProblem):
                    report.problems.append(item)
                    continue
                report.lines[kind] = report.lines.get(kind, 0) + 1
                reference = shared_reference(item)
                if isinstance(reference, LineProblem):
                    report.problems.append(reference)
                else:
                    shared[reference] = item.text
    return shared, report


def _keyed(kind: str, file: str) -> Callable[[tuple[str, int]], tuple[str, tuple[Any, ...]]]:
    """A line of one file, numbered from 0 by Spark, as (patient or a problem key, what it is)."""

    def key(pair: tuple[str, int]) -> tuple[str, tuple[Any, ...]]:
        text, index = pair
        item = parse_line(text.strip().encode("utf-8"), file, index + 1, kind)
        if isinstance(item, LineProblem):
            return f"!problem {file} {index + 1}", ("problem", item.file, item.line, item.problem)
        if item.patient is None:
            return f"!outside {kind}", ("outside", kind)
        return item.patient, (kind, file, item.line, item.text)

    return key


Groups = Iterable[tuple[str, Iterable[tuple[Any, ...]]]]
#: What a partition gives: a patient's document and table rows, or the partition's figures (pickled).
Evaluated = tuple[str | None, str | None, list[Any] | None, bytes | None]


def _evaluator(release: Any, shared: Any, as_of: date) -> Callable[[Groups], Iterator[Evaluated]]:
    """Each patient of a partition as (patient, document, table rows, None), then the partition's figures as
    (None, None, None, pickled report)."""

    def evaluate(groups: Groups) -> Iterator[Evaluated]:
        global _SERVICE
        if _SERVICE is None:
            from kg.service import TherapyKG
            from kg.store import open_in_process_store

            store = open_in_process_store("oxigraph")
            store.load_ntriples(release.value)
            _SERVICE = TherapyKG(store)
        report = PopulationReport()
        patterns = Patterns(_SERVICE, shared.value, as_of)
        read: Counter[str] = Counter()
        for key, values in groups:
            items = list(values)
            if key.startswith("!problem"):
                report.problems += [LineProblem(file, line, problem) for _, file, line, problem in items]
                continue
            if key.startswith("!outside"):
                kind = items[0][1]
                report.outside_records[kind] = report.outside_records.get(kind, 0) + len(items)
                read[kind] += len(items)
                continue
            read.update(kind for kind, _, _, _ in items)
            lines = sorted(items, key=lambda x: (type_rank(x[0]), x[1], x[2]))
            answer = patterns.evaluate(PatientLines(key, lines), report)
            if answer is not None:  # the patterns' rows: no document is read again for the table
                yield key, answer[0].decode("utf-8"), list(answer[1]), None
        report.lines = dict(read)
        patterns.flush(report)
        yield None, None, None, pickle.dumps(report)

    return evaluate


def _gathered_report(parts: list[PopulationReport]) -> PopulationReport:
    """One report of the partitions' parts, its lists in the order the local run gives them (files by type, name
    and line)."""
    report = PopulationReport()
    for part in parts:
        report.merge(part)
    report.lines = {kind: report.lines[kind] for kind in sorted(report.lines, key=type_rank)}
    report.problems.sort(key=lambda p: (type_rank(resource_type_of(p.file) or ""), p.file, p.line))
    return report


def _evaluated_schema() -> Any:
    from pyspark.sql.types import (
        ArrayType,
        BinaryType,
        BooleanType,
        IntegerType,
        StringType,
        StructField,
        StructType,
    )

    row = StructType(
        [
            StructField("indication", StringType()),
            StructField("intervention", StringType()),
            StructField("status", StringType()),
            StructField("line", IntegerType()),
            StructField("preferred", BooleanType()),
            StructField("statements", ArrayType(StringType())),
            StructField("missing_information", BooleanType()),
        ]
    )
    return StructType(
        [
            StructField("patient", StringType()),
            StructField("document", StringType()),
            StructField("rows", ArrayType(row)),
            StructField("report", BinaryType()),
        ]
    )
