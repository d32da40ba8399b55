"""`therapy-kg population` over a FHIR Bulk Data export (issue 11 item 1).

The export is made from the twelve published Synthea records of tests/data/synthea: each resource on a line
of its type's file, as a Bulk Data server writes them. Each patient's NDJSON line must be the bytes
`/evaluate` answers for that patient's Bundle, and the answers those of tests/data/synthea/expected.json.
Grouping is by spill to disk: the output may not depend on the number of buckets or on the order of lines.
"""

from __future__ import annotations

import base64
import csv
import gzip
import json
import random
import re
from datetime import date
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from kg.cli import main as cli_main
from kg.population.bulk import bulk_files
from kg.population.run import run_population
from kg.population.table import option_values
from kg.service import TherapyKG

SYNTHEA = Path(__file__).parent / "data" / "synthea"
AS_OF = date(2026, 12, 1)
SNOMED = "http://snomed.info/sct"


def synthea_bundles() -> list[dict]:
    return [json.loads(gzip.open(p).read()) for p in sorted(SYNTHEA.glob("*.json.gz"))]


def write_export(bundles: list[dict], folder: Path, shuffle: int | None = None, gz: bool = False) -> Path:
    """The bundles' resources as a Bulk export: one file a resource type, one resource a line."""
    by_type: dict[str, list[bytes]] = {}
    for bundle in bundles:
        for entry in bundle["entry"]:
            resource = entry["resource"]
            by_type.setdefault(resource["resourceType"], []).append(orjson.dumps(resource))
    folder.mkdir(parents=True, exist_ok=True)
    for kind, lines in by_type.items():
        if shuffle is not None:
            random.Random(shuffle).shuffle(lines)
        data = b"\n".join(lines) + b"\n"
        if gz:
            (folder / f"{kind}.ndjson.gz").write_bytes(gzip.compress(data))
        else:
            (folder / f"{kind}.ndjson").write_bytes(data)
    return folder


def option_rows(patient: str, document: dict) -> list[dict]:
    """The table's rows of one evaluation document, as records: what the table must hold for it."""
    return [{"patient": patient, **row._asdict()} for row in option_values(document)]


def bundle_in_export_order(folder: Path, patient: str) -> dict:
    """The patient's Bundle as the population command builds it: Patient first, then types by name, in line order."""
    files = bulk_files(folder)
    entries = []
    for kind in sorted(files, key=lambda k: (k != "Patient", k)):
        for path in files[kind]:
            for raw in gzip.open(path) if path.name.endswith(".gz") else path.open("rb"):
                resource = orjson.loads(raw)
                reference = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
                if resource.get("id") == patient and kind == "Patient" or reference.endswith(patient):
                    entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


@pytest.fixture(scope="module")
def kg_service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return write_export(synthea_bundles(), tmp_path_factory.mktemp("bulk"))


@pytest.fixture(scope="module")
def population(export, kg_service, tmp_path_factory):
    out = tmp_path_factory.mktemp("population")
    report = run_population(export, out, kg_service, as_of=AS_OF, buckets=3)
    return out, report


def _documents(out: Path) -> list[dict]:
    return [orjson.loads(line) for line in (out / "evaluations.ndjson").read_bytes().splitlines()]


def test_each_line_is_what_evaluate_answers_for_the_patients_bundle(export, population, kg_service) -> None:
    out, report = population
    lines = (out / "evaluations.ndjson").read_bytes().splitlines()
    assert report.patients == report.evaluated == len(lines) == 12
    for line in lines:
        patient = orjson.loads(line)["patient"]
        bundle = bundle_in_export_order(export, patient)
        assert line == kg_service.evaluate_document_json(bundle, as_of=AS_OF)


def test_the_answers_are_those_of_the_records(population) -> None:
    out, _ = population
    expected = json.loads((SYNTHEA / "expected.json").read_text())["records"]
    by_patient = {d["patient"]: d for d in _documents(out)}
    for path in sorted(SYNTHEA.glob("*.json.gz")):
        bundle = json.loads(gzip.open(path).read())
        patient = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        document, want = by_patient[patient], expected[path.name.removesuffix(".json.gz")]
        statuses = {
            f"{(o['indication'] or {}).get('term')} {o['intervention']}": o["status"] for o in document["options"]
        }
        assert statuses == want.get("options", {}), path.name
        assert sorted(c["term"] for c in document["conditions"]) == sorted(want["conditions"]), path.name
        assert [[w["kind"], w["intervention"]] for w in document["warnings"]] == want.get("warnings", []), path.name


def test_the_report_counts_what_a_data_team_asks_first(population) -> None:
    out, report = population
    written = json.loads((out / "report.json").read_text())
    assert written["patients"] == written["evaluated"] == 12
    options = sum(len(d["options"]) for d in _documents(out))
    assert sum(row["options"] for row in written["options_by_indication_and_status"]) == options
    ranked = written["unrecognized_codes"]
    assert ranked and [r["patients"] for r in ranked] == sorted((r["patients"] for r in ranked), reverse=True)
    hypertension = next(r for r in ranked if r["code"] == "38341003")  # SNOMED hypertension: in most records
    assert hypertension["system"] == "http://snomed.info/sct" and hypertension["patients"] >= 2
    assert written["resources_of_no_patient"].get("Practitioner", 0) > 0  # outside any record: counted, not lost


def test_the_output_depends_neither_on_buckets_nor_on_line_order(population, kg_service, tmp_path) -> None:
    out, _ = population
    shuffled = write_export(synthea_bundles(), tmp_path / "shuffled", shuffle=7, gz=True)
    again = run_population(shuffled, tmp_path / "out", kg_service, as_of=AS_OF, buckets=1)
    assert again.evaluated == 12
    ours = {d["patient"]: d for d in _documents(out)}
    theirs = {d["patient"]: d for d in _documents(tmp_path / "out")}
    assert ours.keys() == theirs.keys()
    for patient in ours:  # the same record, its resources in other lines: the entries' paths move, nothing else
        assert {o["intervention"]: o["status"] for o in ours[patient]["options"]} == {
            o["intervention"]: o["status"] for o in theirs[patient]["options"]
        }
        assert ours[patient]["current_therapies"] == theirs[patient]["current_therapies"]


def test_the_table_holds_one_row_per_option(population) -> None:
    out, _ = population
    table = pq.read_table(out / "table.parquet").to_pylist()
    expected = [row for d in _documents(out) for row in option_rows(d["patient"], d)]
    assert table == expected
    assert len(table) > 12
    assert all(row["statements"] for row in table)


def test_bad_lines_are_named_counted_and_the_rest_is_evaluated(export, kg_service, tmp_path) -> None:
    folder = write_export(synthea_bundles()[5:7], tmp_path / "bulk")  # two stroke records, with options
    with (folder / "Condition.ndjson").open("ab") as stream:
        stream.write(b"{not json\n")
        stream.write(b'{"resourceType": "Procedure", "subject": {"reference": "Patient/x"}}\n')
        stream.write(b'{"resourceType": "Condition", "subject": {"reference": "Patient/no-such-patient"}}\n')
        stream.write(b'{"resourceType": "Condition", "subject": {"reference": "Patient/a b"}}\n')
    (folder / "Organization.ndjson").write_bytes(b'{"resourceType": "Organization", "id": "o1"}\n')
    out = tmp_path / "out"
    status = cli_main(["population", str(folder), "--out", str(out), "--as-of", "2026-12-01", "--table", "csv"])
    assert status == 1  # something could not be used: said by the exit code, not by stopping
    report = json.loads((out / "report.json").read_text())
    assert report["evaluated"] == 2
    problems = {(p["file"], p["problem"].split(" (")[0]) for p in report["line_problems"]["first"]}
    assert ("Condition.ndjson", "not JSON") in problems
    assert ("Condition.ndjson", "a Procedure in the Condition file") in problems
    assert report["line_problems"]["count"] == 3
    assert any(
        p["problem"].startswith("its patient reference is not a FHIR id") for p in report["line_problems"]["first"]
    )
    assert all(isinstance(p["line"], int) and p["line"] > 0 for p in report["line_problems"]["first"])
    assert report["resources_naming_a_patient_not_in_the_export"] == {"Condition": 1}
    assert report["resources_of_no_patient"]["Organization"] == 1
    rows = list(csv.DictReader((out / "table.csv").open()))
    assert {r["patient"] for r in rows} == {d["patient"] for d in _documents(out)} and rows


def test_an_interrupted_run_leaves_nothing_that_looks_complete(export, kg_service, tmp_path, monkeypatch) -> None:
    calls = {"n": 0}
    evaluate = kg_service.evaluate_many_json

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(kg_service, "evaluate_many_json", failing)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_population(export, out, kg_service, as_of=AS_OF)
    assert not any(out.iterdir())  # no evaluations.ndjson, table or report: the temporary folder is gone too


def test_a_generated_export_is_reproducible_and_holds_what_real_ones_do(kg_service, tmp_path) -> None:
    assert cli_main(["synth", "400", str(tmp_path / "a"), "--seed", "3"]) == 0
    assert cli_main(["synth", "400", str(tmp_path / "b"), "--seed", "3"]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["Condition.ndjson", "MedicationRequest.ndjson", "MedicationStatement.ndjson", "Patient.ndjson"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    conditions = [orjson.loads(x) for x in (tmp_path / "a" / "Condition.ndjson").read_bytes().splitlines()]
    clinical = {c["clinicalStatus"]["coding"][0]["code"] for c in conditions}
    verification = {c["verificationStatus"]["coding"][0]["code"] for c in conditions}
    assert {"active", "inactive", "resolved"} <= clinical and {"confirmed", "refuted"} <= verification
    assert any("extension" in c for c in conditions)  # a condition stated to be due to another
    assert any(c["code"]["coding"][0]["system"] == "urn:therapy-kg:synthetic-code" for c in conditions)
    patients = [orjson.loads(x) for x in (tmp_path / "a" / "Patient.ndjson").read_bytes().splitlines()]
    assert any("deceasedDateTime" in p for p in patients)
    statuses = {
        orjson.loads(x)["status"] for x in (tmp_path / "a" / "MedicationStatement.ndjson").read_bytes().splitlines()
    }
    assert {"active", "stopped"} <= statuses

    report = run_population(tmp_path / "a", tmp_path / "out", kg_service, as_of=AS_OF)
    assert report.patients == 400 and not report.problems and not report.failed_by_code
    assert report.evaluated + report.nothing_to_evaluate == 400
    assert report.deceased > 0 and report.nothing_to_evaluate > 0
    assert any(key.startswith("urn:therapy-kg:synthetic-code|") for key in report.unrecognized)
    assert {status for _, status in report.statuses} >= {"eligible", "excluded"}


def test_the_audit_page_draws_the_figures_and_escapes_every_text(kg_service, tmp_path) -> None:
    folder = write_export(synthea_bundles()[5:7], tmp_path / "bulk")
    hostile = {
        "resourceType": "Condition",
        "subject": {"reference": f"Patient/{synthea_bundles()[5]['entry'][0]['resource']['id']}"},
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "999", "display": "<script>alert(1)</script>"}]
        },
    }
    with (folder / "Condition.ndjson").open("ab") as stream:
        stream.write(orjson.dumps(hostile) + b"\n")
    run_population(folder, tmp_path / "out", kg_service, as_of=AS_OF)
    page = (tmp_path / "out" / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert f'<td class="n">{report["evaluated"]:,}</td>' in page
    assert "tkg:Stroke" in page


def test_workers_give_the_same_bytes_as_one_process(kg_service, tmp_path) -> None:
    synth = tmp_path / "export"
    assert cli_main(["synth", "300", str(synth), "--seed", "11"]) == 0
    outputs = {}
    for workers in (1, 3):
        out = tmp_path / f"out-{workers}"
        run_population(synth, out, kg_service, as_of=AS_OF, buckets=5, workers=workers)
        outputs[workers] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert outputs[1].keys() == {"evaluations.ndjson", "table.parquet", "report.json", "report.html"}
    for name in ("evaluations.ndjson", "report.json"):
        assert outputs[1][name] == outputs[3][name], name
    assert pq.read_table(tmp_path / "out-1" / "table.parquet") == pq.read_table(tmp_path / "out-3" / "table.parquet")


@pytest.mark.slow
def test_spark_gives_the_local_answers_on_ten_thousand_patients(kg_service, tmp_path) -> None:
    """Apache Spark in local mode (the full lane): the same documents, table rows and figures as the local run."""
    pytest.importorskip("pyspark", reason="Spark is an extra: pip install 'therapy-kg[spark]'")
    import pyarrow.dataset as ds

    from kg.population.spark import run_population_spark

    export = tmp_path / "export"
    assert cli_main(["synth", "10000", str(export), "--seed", "5"]) == 0
    local = run_population(export, tmp_path / "local", kg_service, as_of=AS_OF, workers=2)
    spark = run_population_spark(export, tmp_path / "spark", master="local[2]", as_of=AS_OF)
    assert spark.to_json() == local.to_json()
    assert local.patients == 10_000

    ours = sorted((tmp_path / "local" / "evaluations.ndjson").read_bytes().splitlines())
    theirs = sorted(
        line
        for part in sorted((tmp_path / "spark" / "evaluations").glob("part-*"))
        for line in part.read_bytes().splitlines()
    )
    assert theirs == ours  # byte for byte, in another order

    def rows(table) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in table.to_pylist())

    spark_table = ds.dataset(tmp_path / "spark" / "table", format="parquet", partitioning="hive").to_table()
    local_table = pq.read_table(tmp_path / "local" / "table.parquet")
    assert rows(spark_table.select(local_table.column_names)) == rows(local_table)


def test_the_progress_bar_counts_resources_to_the_end(export, kg_service, tmp_path, capsys) -> None:
    run_population(export, tmp_path / "out", kg_service, as_of=AS_OF, progress=True)
    err = capsys.readouterr().err
    assert "population" in err and "100%" in err and "resources" in err
    run_population(export, tmp_path / "quiet", kg_service, as_of=AS_OF)
    assert capsys.readouterr().err == ""  # piped (the CLI asks isatty): nothing


def test_each_patient_on_the_command_line_gives_the_same_bytes(export, tmp_path) -> None:
    """`--each-patient` reads every Bundle instead of reusing fact patterns: for checking, and the same output."""
    outputs = []
    for extra in ([], ["--each-patient"]):
        out = tmp_path / f"out{len(extra)}"
        assert cli_main(["population", str(export), "--out", str(out), "--as-of", "2026-12-01", *extra]) == 0
        outputs.append({name: (out / name).read_bytes() for name in ("evaluations.ndjson", "report.json")})
    assert outputs[0] == outputs[1] and outputs[0]["evaluations.ndjson"].count(b"\n") == 12
