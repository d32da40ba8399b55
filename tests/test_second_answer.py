"""A second answer added as rows only (issue 23): a synthetic copy of the answer, written into the tables by
`bench/knowledge_copies.py` (no Python, no Turtle), shows up everywhere the first one does (/evaluate, /sparql,
/therapy-lines, CDS cards, the Protégé examples), behaves exactly
as the first one does under its own names, and `therapy-kg diff` names exactly the patients it changes, with
the copied statements responsible (where a copied statement is about a vocabulary class both answers share,
the original's patients see it too: the diff shows that, as it should).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import AppState
from bench.knowledge_copies import copied_ontology
from kg.errors import InputError
from kg.examples import examples_graphs
from kg.ontology.build import BuildResult, build
from kg.release_diff.answers import Patient
from kg.release_diff.compare import compare
from kg.release_diff.releases import open_release
from kg.resources import ontology_dir, release_file
from kg.service import TherapyKG
from kg.store.release import embedded_store

pytestmark = pytest.mark.owl  # the copy is built with HermiT, and the owl engine must agree on it

AS_OF = date(2026, 12, 7)
VIGNETTES = Path(__file__).parent / "vignettes"
ORIGINAL = {
    "id": "p",
    "age": 72,
    "conditions": ["tkg:GeneralizedSpasticity"],
    "therapies_tried": ["tkg:Stretching"],
    "current_therapies": ["tkg:OralBaclofen"],
}


@dataclass
class Copied:
    folder: Path
    result: BuildResult
    service: TherapyKG


@pytest.fixture(scope="module")
def copied(tmp_path_factory) -> Copied:
    folder = copied_ontology(tmp_path_factory.mktemp("second-answer"), 2)
    result = build(folder)
    return Copied(folder, result, TherapyKG(embedded_store(result), source_dir=folder))


@pytest.fixture(scope="module")
def client(copied) -> Iterator[TestClient]:
    settings = Settings(public_url="http://testserver")
    state = AppState(settings, copied.service.store, copied.service)
    with TestClient(create_app(settings, state=state)) as running:
        yield running


def _renamed(document: object) -> object:
    """The original patient in the copy's terms."""
    text = json.dumps(document)
    for term in ("GeneralizedSpasticity", "Stretching", "OralBaclofen"):
        text = text.replace(f"tkg:{term}", f"tkg:{term}Copy2")
    return json.loads(text)


def _statuses(answer: dict, suffix: str = "") -> dict[tuple[str, str], tuple[str, int | None]]:
    return {
        ((o["indication"] or {}).get("term", "").removesuffix(suffix), o["intervention"].removesuffix(suffix)): (
            o["status"],
            o["line"],
        )
        for o in answer["options"]
    }


def test_the_tables_alone_add_the_answer(copied) -> None:
    shipped = ontology_dir()
    for name in ("statements/statements.tsv", "conditions/conditions.tsv"):
        assert len((copied.folder / "templates" / name).read_text().splitlines()) > len(
            (shipped / "templates" / name).read_text().splitlines()
        )
    for kept in ("components/core.ttl", "therapy-kg-edit.ttl", "catalog-v001.xml", "mappings.sssom.tsv"):
        assert (copied.folder / kept).read_bytes() == (shipped / kept).read_bytes(), kept


def test_evaluate_answers_the_copy_as_the_original_under_its_names(client) -> None:
    original = client.post("/evaluate", params={"as_of": AS_OF.isoformat()}, json=ORIGINAL).json()
    copy = client.post("/evaluate", params={"as_of": AS_OF.isoformat()}, json=_renamed(ORIGINAL)).json()
    assert _statuses(copy, "Copy2") == _statuses(original)
    assert any(o["intervention"] == "tkg:OralBaclofenCopy2" for o in copy["options"])
    assert not any("Copy2" in o["intervention"] for o in original["options"]), "the copy leaves the original alone"
    assert {w["intervention"] for w in copy["warnings"] if w.get("intervention")} <= {
        f"{w['intervention']}Copy2" for w in original["warnings"] if w.get("intervention")
    }


def test_sparql_and_the_therapy_lines_see_the_copy(client) -> None:
    query = (
        "PREFIX tkg: <https://w3id.org/therapy-kg/> "
        "SELECT ?s WHERE { ?s tkg:forIndication tkg:GeneralizedSpasticityCopy2 }"
    )
    rows = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert rows.status_code == 200
    found = {b["s"]["value"].rsplit("/", 1)[-1] for b in rows.json()["results"]["bindings"]}
    assert "BaclofenSecondLineForGeneralizedSpasticityCopy2" in found
    original = client.get("/therapy-lines", params={"condition": "tkg:GeneralizedSpasticity"}).json()
    copy = client.get("/therapy-lines", params={"condition": "tkg:GeneralizedSpasticityCopy2"}).json()
    assert json.dumps(copy).count("Copy2") > 0
    assert len(json.dumps(copy)) > len(json.dumps(original)) / 2


def _cds_request(copy: bool) -> dict:
    """The multiple-sclerosis patient-view request, its two conditions coded in the graph's own namespace."""
    request = json.loads((Path(__file__).parent / "data" / "cds" / "patient-view-ms-spasticity.json").read_text())
    request.pop("description")
    suffix = "Copy2" if copy else ""
    codes = iter([f"MultipleSclerosis{suffix}", f"Spasticity{suffix}"])
    for entry in request["prefetch"]["conditions"]["entry"]:
        entry["resource"]["code"] = {"coding": [{"system": "https://w3id.org/therapy-kg/", "code": next(codes)}]}
    return request


def test_the_cds_cards_of_the_copy_are_the_originals_under_its_names(client) -> None:
    cards = {}
    for copy in (False, True):
        answer = client.post("/cds-services/therapy-kg-patient-view", json=_cds_request(copy))
        assert answer.status_code == 200, answer.text
        cards[copy] = answer.json()["cards"]
    assert cards[True] and len(cards[True]) == len(cards[False])
    shown = json.dumps(cards[True])
    assert "synthetic copy 2" in shown and "synthetic copy 2" not in json.dumps(cards[False])


def test_the_protege_examples_hold_the_copy(copied, tmp_path) -> None:
    eligibility, _ = examples_graphs(copied.service, tmp_path)
    classes = {str(s).rsplit("/", 1)[-1] for s in eligibility.subjects()}
    assert "AppliesFor_BaclofenSecondLineForGeneralizedSpasticityCopy2" in classes
    assert "AppliesFor_BaclofenSecondLineForGeneralizedSpasticity" in classes


def test_both_engines_agree_on_the_copy(copied) -> None:
    patients = [ORIGINAL, _renamed(ORIGINAL), {**_renamed(ORIGINAL), "age": 10}, {**ORIGINAL, "age": 40}]
    read = [copied.service.read_document(p, AS_OF) for p in patients]
    fast = copied.service.evaluate_many(read, "fast")
    owl = copied.service.evaluate_many(read, "owl")
    for a, b in zip(fast, owl, strict=True):
        a.pop("engine"), b.pop("engine")
        assert a == b


def test_diff_names_exactly_the_patients_the_copy_changes(copied) -> None:
    note = compare(release_file(), copied.folder, [VIGNETTES], AS_OF, generated=True)
    before, after = open_release(release_file()).service, open_release(copied.folder).service
    panel = [Patient(p.stem, json.loads(p.read_text()).get("patient")) for p in sorted(VIGNETTES.glob("*.json"))]
    from kg.release_diff.panel import generated_panel

    panel += generated_panel(open_release(release_file()).graph, copied.result.graph)
    expected = set()
    for patient in panel:
        answers = []
        for service in (before, after):
            try:
                answer = service.evaluate_document(patient.document, "fast", AS_OF)
                answer.pop("knowledge_version")
            except InputError as refused:  # the old release does not know the copy's terms
                answer = {"refused": str(refused)}
            answers.append(answer)
        if answers[0] != answers[1]:
            expected.add(patient.name)
    assert note.answers.changed_patients == sorted(expected)
    assert any("Copy2" in name for name in expected)
    # The original's patients change only where a copied statement is about a term the copies share with it
    # (the vocabulary's tkg:NonPharmacologicalIntervention): each such change rests on copied statements only.
    for change in note.answers.changes:
        if "Copy2" not in change.patient:
            assert change.statements and all(s.endswith("Copy2") for s in change.statements), change
    refused = [c for c in note.answers.changes if c.section == "refused"]
    assert refused and all("unknown term" in c.old and c.new is None for c in refused)
    assert len(note.statements.added) == 27 and not note.statements.removed and not note.statements.changed
