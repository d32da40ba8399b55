"""`therapy-kg population` over generated FHIR Bulk exports (issue 11 item 2): patients/s and peak RSS by size,
beside the floor measured in the same run (orjson writing the same documents from memory).

Each size runs in a child process of its own, so its peak RSS (ru_maxrss, read before the floor's documents
are loaded) is its own. Runs reuse fact patterns (`kg.population.patterns`); the number of patterns evaluated
is printed beside them, and the speed-up over the batch path before them (`--each-patient`: every Bundle read
and evaluated), measured in the same run on `--baseline` patients. The largest size runs again with one worker
process per core (`--workers`). Targets (issue 11): documents >= 50,000 patients/s on one core, memory flat
from 100k to 1M patients, workers >= 0.8x linear; Spark (local[1], local[2]: the run, Spark already up)
>= 0.8x linear, printed with Spark's start-up included too.
Run: .venv/bin/python bench/bench_population.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report

CHILD = """
import hashlib, re, resource, sys, time
from pathlib import Path
from datetime import date
import orjson
from kg.batch import _service
from kg.population.run import run_population
import kg.population.patterns as patterns
service = _service()
# what depends on the patient's facts, not on how the record is laid out (ids, entry order, codes not known)
ANSWER = ("options", "current_therapies", "missing_information", "warnings", "deceased", "code")
learnt = 0
evaluate_record = patterns.evaluate_record
def counted(*args):
    global learnt
    learnt += 1
    return evaluate_record(*args)
patterns.evaluate_record = counted  # how many fact patterns were evaluated (in this process: workers=1)
started = time.perf_counter()
workers, reuse = int(sys.argv[3]), sys.argv[4] == "reuse"
result = run_population(
    Path(sys.argv[1]), Path(sys.argv[2]), service, as_of=date(2026, 12, 1), workers=workers, reuse=reuse
)
elapsed = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before the floor's documents are held in memory
floor = 0.0
answers = set()  # digests of the answers proper, record paths blanked: what a facts-level memo must evaluate
with (Path(sys.argv[2]) / "evaluations.ndjson").open("rb") as stream:  # one document at a time: memory stays flat
    for line in stream:
        document = orjson.loads(line)
        floor_started = time.perf_counter()
        orjson.dumps(document)
        floor += time.perf_counter() - floor_started
        answer = orjson.dumps([document.get(k) for k in ANSWER])
        answers.add(hashlib.blake2b(re.sub(rb"entry\\[\\d+\\]", b"entry[]", answer), digest_size=16).digest())
print(result.patients, elapsed, floor, rss, learnt, len(answers))
"""


GROUP_CHILD = """
import sys, tempfile, time
from pathlib import Path
from kg.population.bulk import bulk_files
from kg.population.spill import bucket_count, grouped, partition
started = time.perf_counter()
files = bulk_files(Path(sys.argv[1]))
patients = 0
with tempfile.TemporaryDirectory() as work:
    spill = partition(files, Path(work), bucket_count(files))
    for bucket in spill.buckets:
        patients += sum(1 for _ in grouped(bucket))
print(patients, time.perf_counter() - started)
"""


def grouping_rate(export: Path) -> float:
    """Patients/s of reading and grouping the export alone, no evaluation: the floor of the run's own work."""
    child = subprocess.run(
        [sys.executable, "-c", GROUP_CHILD, str(export)], cwd=ROOT, check=True, capture_output=True, text=True
    )
    patients, elapsed = child.stdout.split()
    return int(patients) / float(elapsed)


def measure(
    export: Path, out: Path, workers: int, reuse: bool = True
) -> tuple[int, float, float, int, float, int, int]:
    """(patients, seconds, floor seconds, peak RSS KiB, wall seconds with start-up, patterns evaluated, distinct
    answers) of one run in a child."""
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(export), str(out), str(workers), "reuse" if reuse else "each"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    patients, elapsed, floor, rss_kb, learnt, answers = child.stdout.split()
    return int(patients), float(elapsed), float(floor), int(rss_kb), wall, int(learnt), int(answers)


SPARK_CHILD = """
import sys, time
from datetime import date
from kg.population.spark import _session, run_population_spark
started = time.perf_counter()
_session(sys.argv[3]).sparkContext.parallelize([0]).count()  # Spark up: its JVM, context and executors
ready = time.perf_counter()
result = run_population_spark(sys.argv[1], sys.argv[2], master=sys.argv[3], as_of=date(2026, 12, 1))
done = time.perf_counter()
print(result.patients, done - started, done - ready)
"""


def spark_rates(export: Path, out: Path, cores: int) -> tuple[float, float]:
    """Patients/s of a Spark run in a child on `cores` CPUs: with Spark's start-up, and of the run alone (Spark
    already up, as on a cluster whose application serves many runs, or whose start-up is paid once).

    The whole application (driver, JVM, Python workers) is pinned to `cores` CPUs with taskset: `local[1]`
    alone runs one task at a time but its JVM (shuffle, Parquet, GC) would use the machine's other core for
    free, and the comparison would not be of one core against two."""
    pinned = ["taskset", "-c", ",".join(str(c) for c in range(cores))] if shutil.which("taskset") else []
    child = subprocess.run(
        [*pinned, sys.executable, "-c", SPARK_CHILD, str(export), str(out), f"local[{cores}]"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    patients, with_start, alone = child.stdout.split()[-3:]
    return int(patients) / float(with_start), int(patients) / float(alone)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of patients")
    parser.add_argument(
        "--spark", type=int, default=100000, help="patients of the Spark run at 1 and 2 cores (0: none)"
    )
    parser.add_argument(
        "--baseline", type=int, default=10000, help="patients of the run evaluating every Bundle (--each-patient)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cores = os.cpu_count() or 1
    baseline = 0.0
    if args.baseline:  # the batch path before fact patterns: every patient's Bundle read and evaluated
        with tempfile.TemporaryDirectory() as tmp:
            export = Path(tmp) / "export"
            command = [sys.executable, "-m", "kg.cli", "synth", str(args.baseline), str(export)]
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            patients, elapsed, *_ = measure(export, Path(tmp) / "out", 1, reuse=False)
            baseline = patients / elapsed
            report(f"{args.baseline:>9,} patients: every Bundle evaluated, patients/s", baseline, "/s", "baseline")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            export = Path(tmp) / "export"
            command = [sys.executable, "-m", "kg.cli", "synth", str(size), str(export)]
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            patients, elapsed, floor, rss_kb, wall, learnt, answers = measure(export, Path(tmp) / "out", 1)
            rate = patients / elapsed
            report(f"{size:>9,} patients: population, patients/s", rate, "/s", "target >= 50,000/s", rate >= 50_000)
            report(f"{size:>9,} patients: fact patterns evaluated", learnt, "", f"{learnt / patients:.1%} of patients")
            if baseline:
                report(f"{size:>9,} patients: speed-up over every Bundle evaluated", rate / baseline, "x")
            report(f"{size:>9,} patients: floor (orjson from memory), patients/s", patients / floor, "/s")
            grouping = grouping_rate(export)
            report(f"{size:>9,} patients: reading and grouping alone, patients/s", grouping, "/s")
            # A memo by facts evaluates at least once per distinct answer; at what an evaluation costs here (the
            # run's time less reading and grouping, by evaluation), that bounds it even if all else were free.
            per_evaluation = (elapsed - patients / grouping) / learnt
            ceiling = patients / (answers * per_evaluation)
            report(f"{size:>9,} patients: distinct answers", answers, "", f"{answers / patients:.1%} of patients")
            report(f"{size:>9,} patients: ceiling, one evaluation an answer", ceiling, "/s", "patients/s at best")
            report(f"{size:>9,} patients: peak RSS", rss_kb / 1024, "MiB")
            report(f"{size:>9,} patients: wall time with start-up", wall, "s")
            if size == max(sizes) and cores > 1:
                many, elapsed_many, *_ = measure(export, Path(tmp) / "out-many", cores)
                scaling = (many / elapsed_many) / rate / cores
                report(f"{size:>9,} patients: {cores} workers, patients/s", many / elapsed_many, "/s")
                report(
                    f"{size:>9,} patients: {cores} workers vs linear", scaling, "x", "target >= 0.8x", scaling >= 0.8
                )
    if args.spark:
        spark(args.spark)


def spark(size: int) -> None:
    """Spark in local mode at 1 and 2 cores on one generated export."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("(Spark skipped: pip install 'therapy-kg[spark]')")
        return
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        command = [sys.executable, "-m", "kg.cli", "synth", str(size), str(export)]
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        one = spark_rates(export, Path(tmp) / "spark-1", 1)
        two = spark_rates(export, Path(tmp) / "spark-2", 2)
        for (with_start, alone), cores in ((one, 1), (two, 2)):
            report(
                f"{size:>9,} patients: Spark local[{cores}], patients/s",
                alone,
                "/s",
                f"{with_start:,.0f}/s with start-up",
            )
        scaling, with_start = two[1] / one[1] / 2, two[0] / one[0] / 2
        report(f"{size:>9,} patients: Spark 2 cores vs linear", scaling, "x", "target >= 0.8x", scaling >= 0.8)
        report(f"{size:>9,} patients: Spark 2 cores vs linear, start-up included", with_start, "x")


if __name__ == "__main__":
    main()
