"""The release's version names the knowledge (issue 23 item 3): the authored version with the digest of the
release's content as SemVer build metadata, on the version IRI, the catalog and every answer.

Edited sources are copies of ontology/ in tmp_path with one explicit edit each.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import rdflib
from rdflib.namespace import OWL

from kg.ontology.build import BuildResult, build, write_release
from kg.ontology.release_version import content_id
from kg.service import TherapyKG
from kg.store.release import embedded_store
from tests.ontology_edits import edited_ontology, table_cell

ONTOLOGY = rdflib.URIRef("https://w3id.org/therapy-kg/ontology")
CATALOG_URI = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}uri"
RAISED_DOSE = table_cell(
    "templates/statements/dose-specifications.tsv", "tkg:OralBaclofenDosingTargetDailyDose", "upper bound", "90.0"
)
AUTHORED_0_2_0 = ("therapy-kg-edit.ttl", 'owl:versionInfo "0.1.0"', 'owl:versionInfo "0.2.0"')


def _header(result: BuildResult, field: rdflib.URIRef) -> str:
    return str(result.graph.value(ONTOLOGY, field))


def _answer_version(result: BuildResult) -> str:
    answer = TherapyKG(embedded_store(result)).evaluate_document({"conditions": ["tkg:Spasticity"]})
    return str(answer["knowledge_version"])


def test_the_version_is_the_authored_one_with_the_content_digest(build_result: BuildResult) -> None:
    version = build_result.version
    assert re.fullmatch(r"0\.1\.0\+[0-9a-f]{12}", version)
    assert version.endswith(content_id(build_result.graph, ONTOLOGY))
    assert _header(build_result, OWL.versionIRI) == f"{ONTOLOGY}/{version}"
    assert _answer_version(build_result) == version


def test_an_edited_table_builds_a_release_of_another_name_and_its_answers_say_so(
    tmp_path: Path, build_result: BuildResult
) -> None:
    edited = build(edited_ontology(tmp_path, RAISED_DOSE))
    assert edited.version.split("+")[0] == build_result.version.split("+")[0] == "0.1.0"
    assert edited.version != build_result.version
    assert _header(edited, OWL.versionIRI) == f"{ONTOLOGY}/{edited.version}"
    assert _answer_version(edited) == edited.version


def test_a_new_authored_version_keeps_the_content_digest(tmp_path: Path, build_result: BuildResult) -> None:
    """The digest leaves out the header's own version, so only the knowledge moves it."""
    bumped = build(edited_ontology(tmp_path, AUTHORED_0_2_0))
    assert bumped.version == "0.2.0+" + build_result.version.split("+")[1]


def test_the_build_points_the_catalog_at_the_release_it_wrote(tmp_path: Path) -> None:
    source = edited_ontology(tmp_path, RAISED_DOSE)
    before = (source / "catalog-v001.xml").read_text(encoding="utf-8")
    result = build(source)
    written = write_release(result, source)
    assert source / "catalog-v001.xml" in written
    names = {e.get("id"): e.get("name") for e in ET.parse(source / "catalog-v001.xml").getroot().iter(CATALOG_URI)}
    assert names["release"] == f"{ONTOLOGY}/{result.version}"
    assert names["base-release"] == f"{ONTOLOGY}/{result.version}/base"
    assert names["base"] == f"{ONTOLOGY}/base", "an entry naming a variant by its ontology IRI is left alone"
    after = (source / "catalog-v001.xml").read_text(encoding="utf-8")
    assert len(after.splitlines()) == len(before.splitlines())
    assert sum(a != b for a, b in zip(after.splitlines(), before.splitlines(), strict=True)) == 2


def test_a_release_written_elsewhere_writes_no_catalog(tmp_path: Path, build_result: BuildResult) -> None:
    written = write_release(build_result, tmp_path)
    assert not (tmp_path / "catalog-v001.xml").exists()
    assert all(path.parent == tmp_path for path in written)
