"""The README's pictures (docs/pictures/), drawn by the code they show, so they stay true.

- `ladder-generalized-spasticity.svg`: `GET /terms/GeneralizedSpasticity/ladder.svg`, the treatment ladder.
- `evaluation-older-adult-with-sleep-apnea.svg`: `POST /evaluate` with `Accept: image/svg+xml` for that
  example patient, options filled by status.
- `population-report.png`: the audit page of `therapy-kg population` over a generated export (2,000 patients,
  seeded), as headless Chromium shows it.

`python -m tests.pictures` draws them anew (needs Graphviz's dot, and Chromium for the PNG);
`tests/test_pictures.py` requires the two SVGs to equal what the code draws now.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from kg.population.run import run_population
from kg.population.synth import synth_export
from kg.service import TherapyKG
from kg.store.release import embedded_store
from tests.golden import golden_client

ROOT = Path(__file__).resolve().parents[1]
PICTURES = ROOT / "docs" / "pictures"
LADDER = "ladder-generalized-spasticity.svg"
EVALUATION = "evaluation-older-adult-with-sleep-apnea.svg"
REPORT = "population-report.png"
PATIENT = ROOT / "ontology" / "examples" / "patients" / "older-adult-with-sleep-apnea.json"
AS_OF = date(2026, 12, 7)


def drawings(client: TestClient) -> dict[str, bytes]:
    """File name → the SVG the service draws now."""
    ladder = client.get("/terms/GeneralizedSpasticity/ladder.svg")
    ladder.raise_for_status()
    evaluation = client.post(
        "/evaluate",
        params={"as_of": AS_OF.isoformat()},
        json=json.loads(PATIENT.read_text()),
        headers={"Accept": "image/svg+xml"},
    )
    evaluation.raise_for_status()
    return {LADDER: ladder.content, EVALUATION: evaluation.content}


def report_screenshot(target: Path) -> None:
    """The population report of a generated export, screenshot by headless Chromium."""
    service = TherapyKG(embedded_store())
    with tempfile.TemporaryDirectory() as work:
        export, out = Path(work) / "export", Path(work) / "out"
        synth_export(service.knowledge, 2000, export)
        run_population(export, out, service, as_of=AS_OF)
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1100,2200",
                f"--screenshot={target}",
                (out / "report.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


if __name__ == "__main__":
    PICTURES.mkdir(parents=True, exist_ok=True)
    with golden_client() as client:
        for name, svg in drawings(client).items():
            (PICTURES / name).write_bytes(svg)
    report_screenshot(PICTURES / REPORT)
    print(f"wrote {sorted(p.name for p in PICTURES.iterdir())} to {PICTURES}", file=sys.stderr)
