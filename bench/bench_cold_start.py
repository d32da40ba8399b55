"""A cold `therapy-kg evaluate FILE` as a fresh process (issue 9), beside `python -c pass` and `import kg`.

Each command runs 5 times as a new process; the medians are printed side by side, all in one run, so
the start-up cost of the project itself reads as the difference. Target: evaluate ≤ 1.5 s.
Run: .venv/bin/python bench/bench_cold_start.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median, report

PATIENT = ROOT / "ontology" / "examples" / "patients" / "ms-generalized-spasticity.json"
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    'python -c "import kg"': [sys.executable, "-c", "import kg"],
    "therapy-kg evaluate FILE (fast engine)": [sys.executable, "-m", "kg.cli", "evaluate", str(PATIENT)],
}


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    print("median of 5 fresh processes each, in one run")
    for name, command in COMMANDS.items():
        value = median([seconds(command) for _ in range(5)])
        evaluate = name.startswith("therapy-kg")
        report(name, value, "s", "target <= 1.5 s" if evaluate else "", value <= 1.5 if evaluate else None)


if __name__ == "__main__":
    main()
