"""`therapy-kg population --spark [MASTER]`: the same population run on Apache Spark (issue 11 item 3), locally
(`local[*]`) or on a cluster by its master URL.

Spark reads the export's files as text (gzip too), so each resource keeps the bytes it was exported with: a
patient's Bundle, and so its document, is the one the local command builds. Lines are keyed by patient and
grouped by Spark's shuffle; each partition is evaluated by `mapPartitions` with a service built once per
Python worker from the release, which is broadcast once, each fact pattern once a partition
(`kg.population.patterns`). The table is written as Parquet partitioned by
indication (`table/indication=…/`), the documents as NDJSON part files (`evaluations/`), and the report's
figures, gathered from every partition, as `report.json` and `report.html`. The driver lists the export's
files itself: on a cluster the folder must be mounted at the same path on the driver and every executor.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from kg.population.bulk import SHARED, BulkLine, LineProblem, bulk_files, parse_line, read_lines
from kg.population.html_report import render_report
from kg.population.patterns import Patterns
from kg.population.record import PopulationReport
from kg.population.run import PAGE, REPORT
from kg.population.spill import PatientLines, type_rank
from kg.population.table import option_rows

#: The service of this Python worker, built on its first partition from the broadcast release.
_SERVICE: Any = None


def run_population_spark(
    folder: Path, out: Path, *, master: str = "local[*]", as_of: date | None = None
) -> PopulationReport:
    """Evaluate the export in `folder` on Spark; write the table, the documents and the report in `out`."""
    from pyspark.sql import SparkSession

    from kg.store.release import release_file_ntriples

    files = bulk_files(folder)
    as_of = as_of or date.today()  # one evaluation date for the whole run, on every executor
    builder = SparkSession.builder.master(master)
    if master.startswith("local"):  # the workers run this interpreter; on a cluster, PYSPARK_PYTHON says which
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
    spark = (
        builder.appName("therapy-kg population")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        context = spark.sparkContext
        context.setLogLevel("ERROR")
        shared = _shared_resources(files)  # Medications: small, referenced by id, sent to every worker
        release, shared_b = context.broadcast(release_file_ntriples()), context.broadcast(shared)
        lines = context.union(
            [
                context.textFile(str(path))
                .zipWithIndex()
                .filter(lambda pair: bool(pair[0].strip()))
                .map(_keyed(kind, path.name))
                for kind, paths in files.items()
                if kind not in SHARED
                for path in paths
            ]
        )
        read = dict(lines.map(lambda kv: (kv[1][0], 1)).reduceByKey(lambda a, b: a + b).collect())
        evaluated = lines.groupByKey().mapPartitions(_evaluator(release, shared_b, as_of)).cache()
        report = _gathered_report(evaluated.filter(lambda x: x[0] == "report").map(lambda x: x[1]).collect())
        report.lines = {kind: n for kind, n in sorted(read.items()) if kind not in ("problem", "outside")}
        documents = evaluated.filter(lambda x: x[0] == "document").map(lambda x: x[1])
        documents.map(lambda d: d[1].decode("utf-8")).saveAsTextFile(str(out / "evaluations"))
        rows = documents.flatMap(lambda d: option_rows(d[0], orjson.loads(d[1])))
        spark.createDataFrame(rows, schema=_schema()).write.partitionBy("indication").parquet(str(out / "table"))
    finally:
        spark.stop()
    figures = report.to_json()
    (out / REPORT).write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    (out / PAGE).write_text(render_report(figures), encoding="utf-8")
    return report


def _shared_resources(files: dict[str, list[Path]]) -> dict[str, bytes]:
    shared = {}
    for kind in SHARED & files.keys():
        for path in files[kind]:
            for item in read_lines(path, kind):
                if isinstance(item, BulkLine):
                    resource_id = orjson.loads(item.text).get("id")
                    if isinstance(resource_id, str):
                        shared[f"{kind}/{resource_id}"] = item.text
    return shared


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


def _evaluator(release: Any, shared: Any, as_of: date) -> Callable[[Groups], Iterator[tuple[str, Any]]]:
    def evaluate(groups: Groups) -> Iterator[tuple[str, Any]]:
        global _SERVICE
        if _SERVICE is None:
            from kg.service import TherapyKG
            from kg.store import open_in_process_store

            store = open_in_process_store("oxigraph")
            store.load_ntriples(release.value)
            _SERVICE = TherapyKG(store)
        report = PopulationReport()
        patterns = Patterns(_SERVICE, shared.value, as_of)
        for key, values in groups:
            items = list(values)
            if key.startswith("!problem"):
                report.problems += [LineProblem(file, line, problem) for _, file, line, problem in items]
                continue
            if key.startswith("!outside"):
                kind = items[0][1]
                report.outside_records[kind] = report.outside_records.get(kind, 0) + len(items)
                continue
            lines = sorted(items, key=lambda x: (type_rank(x[0]), x[1], x[2]))
            answer = patterns.evaluate(PatientLines(key, lines), report)
            if answer is not None:
                yield "document", (key, answer[0])
        patterns.flush(report)
        yield "report", report

    return evaluate


def _gathered_report(parts: list[PopulationReport]) -> PopulationReport:
    report = PopulationReport()
    for part in parts:
        report.merge(part)
        report.problems += part.problems
        for kind, n in part.outside_records.items():
            report.outside_records[kind] = report.outside_records.get(kind, 0) + n
    return report


def _schema() -> Any:
    from pyspark.sql.types import ArrayType, BooleanType, IntegerType, StringType, StructField, StructType

    return StructType(
        [
            StructField("patient", StringType()),
            StructField("indication", StringType()),
            StructField("intervention", StringType()),
            StructField("status", StringType()),
            StructField("line", IntegerType()),
            StructField("preferred", BooleanType()),
            StructField("statements", ArrayType(StringType())),
            StructField("missing_information", BooleanType()),
        ]
    )
