"""ontology/examples/ reproduces the API in Protégé: committed files are current, and HermiT run on
the files alone puts each example patient in the classes the owl engine reads."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from kg.examples import EXAMPLES_NS, example_patients, examples_graphs
from kg.ontology.classify import world_from_graphs
from kg.ontology.hermit import classify
from kg.patient.document import parse_patient
from kg.reasoning.owl_classes import QUESTIONS, TKGE, condition_individual, question_class
from kg.resources import RELEASE_FILE, ontology_dir
from kg.service import TherapyKG
from kg.store.terms import TKG

EXAMPLES = ontology_dir() / "examples"
SPEC_SITUATIONS = 6


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def _read(path: Path) -> rdflib.Graph:
    return rdflib.Graph().parse(path, format="turtle")


def test_committed_release_matches_a_fresh_build(build_result) -> None:
    assert isomorphic(_read(ontology_dir() / RELEASE_FILE), build_result.graph), "run `make release`"


def test_committed_examples_match_the_generator(service) -> None:
    eligibility, patients = examples_graphs(service, EXAMPLES)
    assert isomorphic(_read(EXAMPLES / "eligibility-classes.ttl"), eligibility), "run `make release`"
    assert isomorphic(_read(EXAMPLES / "patients.ttl"), patients), "run `make release`"


def test_there_is_an_example_per_worked_situation(service) -> None:
    docs = [doc for _, doc in example_patients(EXAMPLES)]
    assert len(docs) >= SPEC_SITUATIONS
    statuses = set()
    for doc in docs:
        statuses |= {o["status"] for o in service.evaluate(parse_patient(doc))["options"]}
    assert statuses == {"eligible", "deferred", "excluded", "not-indicated", "undetermined"}


@pytest.fixture(scope="module")
def inferences():
    """HermiT run on the example files alone, as a Protégé user runs it."""
    world = world_from_graphs(
        _read(ontology_dir() / RELEASE_FILE),
        _read(EXAMPLES / "eligibility-classes.ttl"),
        _read(EXAMPLES / "patients.ttl"),
    )
    try:
        return classify(world)
    finally:
        world.close()


@pytest.mark.owl
def test_hermit_on_the_example_files_reproduces_the_engine(service, inferences) -> None:
    """What a Protégé user sees after running HermiT equals what the owl engine reads, for the patients and,
    per indication, for their condition individuals."""
    for iri, doc in example_patients(EXAMPLES):
        facts = service.resolver.resolve(parse_patient(doc)).facts
        expected = service.fast.memberships_of(facts)
        types = inferences.all_types(iri)
        seen = {
            q: {s.iri for s in service.knowledge.statements if question_class(q, s.iri) in types} for q in QUESTIONS
        }
        assert seen["Applies"] == expected.applies, doc["id"]
        assert seen["PossiblyApplies"] - seen["Applies"] == expected.possibly, doc["id"]
        assert seen["PrerequisitesMet"] == expected.met, doc["id"]
        for_conditions = {
            (s.iri, condition)
            for condition in facts.conditions
            for s in service.knowledge.statements
            if question_class("AppliesFor", s.iri) in inferences.all_types(condition_individual(iri, condition))
        }
        assert for_conditions == expected.applies_for, doc["id"]


DL_QUERIES = list(csv.DictReader((EXAMPLES / "dl-queries.tsv").open(encoding="utf-8"), delimiter="\t"))


@pytest.mark.owl
@pytest.mark.parametrize("row", DL_QUERIES, ids=[r["query"] + ":" + r["members"] for r in DL_QUERIES])
def test_each_dl_query_the_readme_gives_shows_its_rule(row, inferences) -> None:
    """ontology/examples/dl-queries.tsv: the DL query (a named class) of each rule holds its example individuals
    and not the counter-examples, and the examples README lists it."""
    prefix, name = row["query"].split(":")
    cls = {"tkge": TKGE, "tkg": TKG}[prefix] + name
    for member in row["members"].split(","):
        assert cls in inferences.all_types(EXAMPLES_NS + member), (row["rule"], member)
    for other in filter(None, row["not_members"].split(",")):
        assert cls not in inferences.all_types(EXAMPLES_NS + other), (row["rule"], other)
    assert f"`{row['query']}`" in (EXAMPLES / "README.md").read_text(encoding="utf-8")
