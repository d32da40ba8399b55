"""`therapy-kg population` over generated FHIR Bulk exports (issue 11 item 2): patients/s and peak RSS by size,
beside the floor measured in the same run (orjson writing the same documents from memory).

Each size runs in a child process of its own, so its peak RSS (ru_maxrss, read before the floor's documents
are loaded) is its own. Targets (issue 11):
documents >= 50,000 patients/s on one core, memory flat from 100k to 1M patients.
Run: .venv/bin/python bench/bench_population.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report

CHILD = """
import resource, sys, time
from pathlib import Path
from datetime import date
import orjson
from kg.batch import _service
from kg.population.run import run_population
service = _service()
started = time.perf_counter()
result = run_population(Path(sys.argv[1]), Path(sys.argv[2]), service, as_of=date(2026, 12, 1))
elapsed = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before the floor's documents are held in memory
documents = [orjson.loads(x) for x in (Path(sys.argv[2]) / "evaluations.ndjson").read_bytes().splitlines()]
floor_started = time.perf_counter()
written = sum(len(orjson.dumps(d)) for d in documents)
floor = time.perf_counter() - floor_started
print(result.patients, elapsed, floor, rss)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of patients")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            export, out = Path(tmp) / "export", Path(tmp) / "out"
            subprocess.run(
                [sys.executable, "-m", "kg.cli", "synth", str(size), str(export)],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            started = time.perf_counter()
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(export), str(out)],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - started
            patients, elapsed, floor, rss_kb = child.stdout.split()
            rate, floor_rate = int(patients) / float(elapsed), int(patients) / float(floor)
            report(f"{size:>9,} patients: population, patients/s", rate, "/s", "target >= 50,000/s", rate >= 50_000)
            report(f"{size:>9,} patients: floor (orjson from memory), patients/s", floor_rate, "/s")
            report(f"{size:>9,} patients: peak RSS", int(rss_kb) / 1024, "MiB")
            report(f"{size:>9,} patients: wall time with start-up", wall, "s")


if __name__ == "__main__":
    main()
