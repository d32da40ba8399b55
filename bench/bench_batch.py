"""Batch throughput of `therapy-kg evaluate` over NDJSON, and whether its memory stays flat (SPEC §11).

Generates N patients (systematic + random), then runs the CLI's NDJSON path in a fresh process
for a small and a large N, printing patients/s and peak RSS for both: flat memory means the
large run's peak is about the small run's. Target: ≥ 5,000 patients/s on one core.
Run: .venv/bin/python bench/bench_batch.py [--patients 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report

_CHILD = r"""
import io, resource, sys, time
from pathlib import Path
from kg.batch import evaluate_ndjson
from kg.store.release import embedded_store
from kg.service import TherapyKG
service = TherapyKG(embedded_store())
sink = open("/dev/null", "w")
start, cpu = time.perf_counter(), time.process_time()
code = evaluate_ndjson(Path(sys.argv[1]), "fast", sink, False, service)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(elapsed, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code)
"""


def write_patients(path: Path, count: int) -> None:
    from kg.generate import random_patients, systematic_patients
    from kg.service import TherapyKG
    from kg.store.release import embedded_store

    knowledge = TherapyKG(embedded_store()).knowledge
    with path.open("w") as f:
        written = 0
        for patient in systematic_patients(knowledge):
            if written == count:
                return
            f.write(json.dumps(patient) + "\n")
            written += 1
        for patient in random_patients(knowledge, count - written):
            f.write(json.dumps(patient) + "\n")


def run(path: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one batch run in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    elapsed, cpu, rss_kb, code = out.stdout.split()
    assert code == "0", "some generated patients failed"
    return float(elapsed), float(cpu), int(rss_kb)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    args = parser.parse_args()
    small_n = max(1000, args.patients // 10)
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.ndjson", Path(tmp) / "large.ndjson"
        write_patients(small, small_n)
        write_patients(large, args.patients)
        small_s, _, small_rss = run(small)
        large_s, large_cpu, large_rss = run(large)
    print(f"NDJSON batch, fast engine, one process (one core): {small_n} and {args.patients} generated patients")
    report(
        f"throughput, {args.patients} patients",
        args.patients / large_s,
        "patients/s",
        "target >= 5000",
        args.patients / large_s >= 5000,
    )
    report("  CPU seconds of that run (one core: about its wall time)", large_cpu, "s")
    report(f"throughput, {small_n} patients", small_n / small_s, "patients/s")
    report(f"peak RSS, {small_n} patients", small_rss / 1024, "MiB")
    report(f"peak RSS, {args.patients} patients", large_rss / 1024, "MiB")
    report(
        "peak RSS ratio large / small (flat ≈ 1)",
        large_rss / small_rss,
        "x",
        "target ~1 (< 1.2)",
        large_rss / small_rss < 1.2,
    )


if __name__ == "__main__":
    main()
