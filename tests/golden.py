"""Golden answers on ontology/examples/: what /evaluate, explain, /therapy-lines and the CDS services say.

The layout moves of issue 9 must change none of them (byte for byte). `python -m tests.golden` writes
them anew into tests/data/golden/ — only when an answer is meant to change, and the diff read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import AppState
from kg.explain import explain
from kg.service import TherapyKG
from kg.store.release import embedded_store

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
PATIENTS = sorted((ROOT / "ontology" / "examples" / "patients").glob("*.json"))
CDS = sorted((ROOT / "tests" / "data" / "cds").glob("*.json"))
CONDITIONS = ["tkg:GeneralizedSpasticity", "tkg:FocalSpasticity", "tkg:MuscleSpasm", "tkg:RheumaticMuscleSpasm"]


def answers(client: TestClient) -> dict[str, str]:
    """File name → the answer's text, for every golden case."""
    found: dict[str, str] = {}
    for path in PATIENTS:
        patient = json.loads(path.read_text())
        evaluation = client.post("/evaluate", json=patient)
        found[f"evaluate-{path.stem}.json"] = evaluation.text
        found[f"explain-{path.stem}.txt"] = explain(evaluation.json())
    for condition in CONDITIONS:
        found[f"therapy-lines-{condition.split(':')[1]}.json"] = client.get(
            "/therapy-lines", params={"condition": condition}
        ).text
    for path in CDS:
        request = {k: v for k, v in json.loads(path.read_text()).items() if k != "description"}
        found[f"cds-{path.stem}.json"] = client.post(f"/cds-services/therapy-kg-{request['hook']}", json=request).text
    return found


def golden_client() -> TestClient:
    settings = Settings(public_url="http://testserver")
    store = embedded_store()
    return TestClient(create_app(settings, state=AppState(settings, store, TherapyKG(store))))


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with golden_client() as client:
        for name, text in answers(client).items():
            (GOLDEN / name).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {len(list(GOLDEN.iterdir()))} golden answers to {GOLDEN}", file=sys.stderr)
