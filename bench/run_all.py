"""Run every benchmark in turn (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    failed = 0
    for script in (
        "bench_build.py",
        "bench_engines.py",
        "bench_bundles.py",
        "bench_population.py",
        "bench_batch.py",
        "bench_api.py",
        "bench_remote.py",
        "bench_load_shedding.py",
        "bench_sparql_isolation.py",
        "bench_sparql_capacity.py",
        "bench_sparql_large_answers.py",
        "bench_cold_start.py",
    ):
        path = HERE / script
        if not path.exists():
            print(f"(skipped: {script} not present)")
            continue
        print(f"\n== {script}")
        failed |= subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode
    sys.exit(failed)
