"""Per-patient evaluation in process: fast engine median, owl engine median, and their ratio (SPEC §11).

Targets: fast ≤ 2 ms median and ≥ 300× faster than the owl engine, both measured in this run.
Run: .venv/bin/python bench/bench_engines.py [--owl-repeat N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median, percentile, report, timings
from kg.patient.document import parse_patient
from kg.service import TherapyKG
from kg.store.release import embedded_store

VIGNETTES = Path(__file__).resolve().parents[1] / "tests" / "vignettes"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fast-repeat", type=int, default=5000)
    parser.add_argument("--owl-repeat", type=int, default=15)
    args = parser.parse_args()
    service = TherapyKG(embedded_store())
    patients = [parse_patient(json.loads(p.read_text())["patient"]) for p in sorted(VIGNETTES.glob("*.json"))]
    cycle = itertools.cycle(patients)
    fast = timings(lambda: service.evaluate(next(cycle), "fast"), args.fast_repeat, warmup=100)
    owl = timings(lambda: service.evaluate(next(cycle), "owl"), args.owl_repeat, warmup=1)
    fast_ms, owl_ms = median(fast) * 1000, median(owl) * 1000
    print(f"per-patient evaluation over {len(patients)} vignette patients (fast n={len(fast)}, owl n={len(owl)})")
    report("fast engine median", fast_ms, "ms", "target <= 2 ms", fast_ms <= 2)
    report("fast engine p99", percentile(fast, 99) * 1000, "ms")
    report("owl engine median (one HermiT run per patient)", owl_ms, "ms")
    report("ratio owl / fast (medians)", owl_ms / fast_ms, "x", "target >= 300x", owl_ms / fast_ms >= 300)


if __name__ == "__main__":
    main()
