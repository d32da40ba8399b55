"""The knowledge-scale benchmark stays runnable and prints what issue 23 asks (its figures are not asserted:
the benchmark compares them itself, within one run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.owl]
BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_knowledge_scale.py"


def test_the_benchmark_prints_one_json_object_per_n() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "2", "--json", "--fast-repeat", "5", "--owl-repeat", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["n"] for row in rows] == [1, 2], "N = 1 is always the baseline"
    keys = ["n", "build_s", "startup_s", "compile_s", "fast_patient_us", "owl_patient_ms", "ladder_ms", "peak_rss_mib"]
    assert all(list(row) == keys for row in rows)
    assert all(row["owl_patient_ms"] is not None and row["fast_patient_us"] > 0 for row in rows)
