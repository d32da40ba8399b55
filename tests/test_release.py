"""Build once, load many (issue 9): the committed release is what is served, and serving needs no Java.

`make release` writes ontology/therapy-kg.ttl; `serve`, `evaluate` and `explain` load it as it is. So a
fresh build must equal it byte for byte (tests/test_release_formats.py; else: run `make release`), and
without Java only `build` and the owl engine fail, each with a clear message, while the rest works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.served import served

ROOT = Path(__file__).resolve().parents[1]
PATIENT = ROOT / "ontology" / "examples" / "patients" / "ms-generalized-spasticity.json"
NO_JAVA = {"PATH": "/nonexistent"}  # the interpreter is started by its absolute path; `java` is not found


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kg.cli", *args],
        cwd=ROOT,
        env={**os.environ, **NO_JAVA},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_evaluate_and_explain_work_without_java() -> None:
    evaluated = _cli("evaluate", str(PATIENT))
    assert evaluated.returncode == 0, evaluated.stderr
    statuses = {o["intervention"]: o["status"] for o in json.loads(evaluated.stdout)["options"]}
    assert statuses["tkg:Stretching"] == "eligible"
    explained = _cli("explain", str(PATIENT))
    assert explained.returncode == 0 and "Source" in explained.stdout, explained.stderr


def test_without_java_the_owl_engine_and_build_say_so(tmp_path: Path) -> None:
    owl = _cli("evaluate", "--engine", "owl", str(PATIENT))
    assert owl.returncode == 5 and "Java was not found" in owl.stderr
    build = _cli("build", "--out", str(tmp_path))
    assert build.returncode == 5 and "Java was not found" in build.stderr


def test_serve_starts_and_answers_without_java() -> None:
    patient = json.loads(PATIENT.read_text())
    with served(env=NO_JAVA) as server, httpx.Client(base_url=server.base, timeout=60) as client:
        assert client.get("/health").status_code == 200
        assert client.post("/evaluate", json=patient).json()["options"]
        assert client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True
        owl = client.post("/evaluate", params={"engine": "owl"}, json=patient)
    assert owl.status_code == 503 and "Java was not found" in owl.json()["detail"]
