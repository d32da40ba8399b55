"""`therapy-kg population --spark` reads and writes where Spark's Hadoop client does (issue 11 item 3): a local
path or a URL (`file://` here; `hdfs://` and `s3a://` go through the same `FileSystem` calls on a cluster), and
presents nothing as complete before it is. Full lane: each run starts a local Spark.
"""

from __future__ import annotations

import gzip
import json

import orjson
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from kg.errors import InputError
from kg.population.run import run_population
from kg.service import TherapyKG
from tests.test_population import AS_OF, synthea_bundles, write_export

pytestmark = pytest.mark.slow
pytest.importorskip("pyspark", reason="Spark is an extra: pip install 'therapy-kg[spark]'")

from kg.population.spark import run_population_spark  # noqa: E402  # after the skip: it needs pyspark's types

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def kg_service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """Two stroke records, gzipped, with what a run must count: a shared Medication a statement refers to, one
    without an id, a line that is not JSON, a resource of another type, and one of no patient."""
    folder = write_export(synthea_bundles()[5:7], tmp_path_factory.mktemp("bulk"), gz=True)
    patient = json.loads(gzip.open(folder / "Patient.ndjson.gz").readline())["id"]
    statement = {
        "resourceType": "MedicationStatement",
        "id": "shared-baclofen",
        "subject": {"reference": f"Patient/{patient}"},
        "status": "active",
        "medicationReference": {"reference": "Medication/med1"},
    }
    (folder / "MedicationStatement.ndjson").write_bytes(orjson.dumps(statement) + b"\n{not json\n")
    medication = {"resourceType": "Medication", "id": "med1", "code": {"coding": [{"system": RXNORM, "code": "1292"}]}}
    (folder / "Medication.ndjson").write_bytes(orjson.dumps(medication) + b'\n{"resourceType": "Medication"}\n')
    (folder / "Organization.ndjson").write_bytes(b'{"resourceType": "Organization", "id": "o1"}\n')
    return folder


def test_urls_in_and_out_give_the_local_run_byte_for_byte(export, kg_service, tmp_path) -> None:
    local = run_population(export, tmp_path / "local", kg_service, as_of=AS_OF)
    spark = run_population_spark(export.as_uri(), (tmp_path / "spark").as_uri(), master="local[2]", as_of=AS_OF)
    assert spark.patients == local.patients == 2 and local.lines["Medication"] == 2 and len(local.problems) == 2
    out = tmp_path / "spark"
    assert (out / "report.json").read_bytes() == (tmp_path / "local" / "report.json").read_bytes()
    assert (out / "report.html").read_bytes() == (tmp_path / "local" / "report.html").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["evaluations", "report.html", "report.json", "table"]
    theirs = sorted(
        line for part in sorted((out / "evaluations").glob("part-*")) for line in part.read_bytes().splitlines()
    )
    ours = sorted((tmp_path / "local" / "evaluations.ndjson").read_bytes().splitlines())
    assert theirs == ours and b"tkg:OralBaclofen" in b"".join(ours)  # the shared Medication was read

    def rows(table) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in table.to_pylist())

    local_table = pq.read_table(tmp_path / "local" / "table.parquet")
    spark_table = ds.dataset(out / "table", format="parquet", partitioning="hive").to_table()
    assert rows(spark_table.select(local_table.column_names)) == rows(local_table)


def test_existing_outputs_an_unknown_scheme_and_a_failure_lose_nothing(export, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("an earlier run's report")
    with pytest.raises(InputError, match="report.json exists already") as error:
        run_population_spark(export, out, master="local[1]", as_of=AS_OF)
    assert error.value.field == "out"
    assert [p.name for p in out.iterdir()] == ["report.json"]
    assert (out / "report.json").read_text() == "an earlier run's report"

    with pytest.raises(InputError, match="Spark cannot open nosuchfs://bucket/export") as error:
        run_population_spark("nosuchfs://bucket/export", tmp_path / "elsewhere", master="local[1]", as_of=AS_OF)
    assert error.value.field == "folder"

    import kg.population.spark as spark_module

    def fails(figures):
        raise RuntimeError("the driver died while writing the report")

    monkeypatch.setattr(spark_module, "render_report", fails)
    interrupted = tmp_path / "interrupted"
    with pytest.raises(RuntimeError, match="driver died"):
        run_population_spark(export, interrupted, master="local[1]", as_of=AS_OF)
    assert list(interrupted.iterdir()) == []  # no documents, table or report: the temporary folder is gone too
