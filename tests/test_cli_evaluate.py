"""`therapy-kg evaluate` / `explain`: JSON, NDJSON with a progress bar, exit codes that name the fault."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kg import cli
from kg.batch import evaluate_file, explain_file
from kg.service import TherapyKG


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_evaluate_one_patient_prints_the_evaluation(service, tmp_path) -> None:
    path = _write(tmp_path, "p.json", json.dumps({"id": "p1", "conditions": ["tkg:RheumaticMuscleSpasm"]}))
    out = io.StringIO()
    assert evaluate_file(path, out=out, service=service) == 0
    document = json.loads(out.getvalue())
    assert document["patient"] == "p1"
    assert [(o["intervention"], o["status"]) for o in document["options"]] == [("tkg:OralBaclofen", "not-indicated")]


def test_ndjson_streams_one_line_per_patient_and_keeps_going_after_a_bad_line(service, tmp_path, capsys) -> None:
    lines = [
        json.dumps({"id": "a", "conditions": ["tkg:FocalSpasticity"]}),
        "{not json",
        json.dumps({"id": "c", "conditions": ["tkg:Nope"]}),
        json.dumps({"id": "d", "age": 200, "conditions": ["tkg:Spasticity"]}),
        json.dumps({"id": "e", "conditions": ["tkg:Stroke", "tkg:GeneralizedSpasticity"]}),
    ]
    path = _write(tmp_path, "many.ndjson", "\n".join(lines) + "\n")
    out = io.StringIO()
    code = evaluate_file(path, out=out, progress=True, service=service)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 1
    assert [r.get("patient") for r in results] == ["a", None, None, None, "e"]
    assert [r.get("field") for r in results[1:4]] == ["line", "conditions[0]", "age"]
    assert [r["line"] for r in results[1:4]] == [2, 3, 4]
    assert [r["code"] for r in results[1:4]] == ["input.body", "input.patient", "input.patient"]
    stderr = capsys.readouterr().err
    assert "patient" in stderr and "3 line(s) could not be evaluated" in stderr


def test_ndjson_with_the_owl_engine_matches_fast(service, tmp_path) -> None:
    lines = [
        json.dumps({"id": str(i), "conditions": [c]})
        for i, c in enumerate(["tkg:FocalSpasticity", "tkg:RheumaticMuscleSpasm", "tkg:Spasticity"])
    ]
    path = _write(tmp_path, "three.ndjson", "\n".join(lines))
    fast, owl = io.StringIO(), io.StringIO()
    assert evaluate_file(path, "fast", fast, progress=False, service=service) == 0
    assert evaluate_file(path, "owl", owl, progress=False, service=service) == 0
    strip = lambda text: [{k: v for k, v in json.loads(x).items() if k != "engine"} for x in text.splitlines()]  # noqa: E731
    assert strip(fast.getvalue()) == strip(owl.getvalue())


def test_explain_cites_every_reason(service, tmp_path) -> None:
    path = _write(
        tmp_path,
        "p.json",
        json.dumps(
            {"conditions": ["tkg:Stroke", "tkg:GeneralizedSpasticity"], "current_therapies": ["tkg:OralBaclofen"]}
        ),
    )
    out = io.StringIO()
    explain_file(path, out=out, service=service)
    text = out.getvalue()
    # the answer per indication: each indication's options under its own heading
    spasticity, stroke = text.index("For generalized spasticity:"), text.index("For stroke:")
    assert text.index("x oral baclofen (tkg:OralBaclofen): excluded", spasticity) < stroke
    assert text.index("x oral baclofen (tkg:OralBaclofen): excluded", stroke) > stroke
    assert 'baclofen is not recommended for these conditions" [2]' in text
    assert "Abrupt discontinuation can cause life-threatening withdrawal" in text
    assert "[2] Source 2: FDA label for baclofen tablets" in text
    assert text.index("Currently receives") > text.index("For stroke:")  # the answer leads


def test_cli_exit_code_and_message_for_bad_input(tmp_path, capsys) -> None:
    path = _write(tmp_path, "bad.json", json.dumps({"conditions": ["tkg:Spasticity"], "age": "old"}))
    assert cli.main(["evaluate", str(path)]) == 2
    assert "error [input.patient]: age" in capsys.readouterr().err
    broken = _write(tmp_path, "broken.json", "{")
    assert cli.main(["explain", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_exit_code_names_the_reasoner_when_java_is_missing(tmp_path, capsys, monkeypatch) -> None:
    import owlready2

    monkeypatch.setattr(owlready2, "JAVA_EXE", str(tmp_path / "no-java-here"))
    path = _write(tmp_path, "p.json", json.dumps({"conditions": ["tkg:GeneralizedSpasticity"]}))
    assert cli.main(["evaluate", str(path), "--engine", "owl"]) == 5
    assert "[reasoner.unavailable]" in capsys.readouterr().err
    assert cli.main(["evaluate", str(path)]) == 0  # the fast engine needs no Java


def test_explain_counts_the_codes_not_used_in_one_line_and_lists_them_with_verbose(service, tmp_path) -> None:
    """A real record holds hundreds of entries the graph does not use: one line by resource type, after the
    answer; `--verbose` lists them (issue 13)."""
    import gzip

    record = gzip.decompress((Path(__file__).parent / "data" / "synthea" / "synthea-stroke.json.gz").read_bytes())
    path = _write(tmp_path, "record.json", record.decode())
    out = io.StringIO()
    explain_file(path, out=out, service=service)
    text = out.getvalue()
    (summary,) = [line for line in text.splitlines() if line.startswith("Not used: ")]
    assert "Observation 99" in summary and "--verbose lists them" in summary
    assert text.index("oral baclofen") < text.index(summary)
    assert len(text.splitlines()) < 60
    out = io.StringIO()
    explain_file(path, out=out, service=service, verbose=True)
    assert len(out.getvalue().splitlines()) > 200
