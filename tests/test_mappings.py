"""The SSSOM mapping table: valid SSSOM, only verified codes, no spasticity → muscle-spasm code,
and the graph holds exactly the table's mappings as skos triples.

tests/data/verified-codes.tsv is a copy of the project's verified code list (shared/reference/codes.tsv),
committed so the suite needs nothing outside the checkout.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDFS

from kg.ontology.mappings import ALLOWED_PREDICATES, MAPPINGS_FILE, read_code_systems, read_mappings
from kg.resources import ontology_dir
from kg.store.terms import TermResolver

VERIFIED_CODES = Path(__file__).parent / "data" / "verified-codes.tsv"
TKG = rdflib.Namespace("https://w3id.org/therapy-kg/")
SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
#: Muscle-spasm codes that must never be mapped to spasticity (codes.tsv header note).
SPASM_CODES = {(ICD10CM, "R25.2"), (ICD10CM, "M62.830"), (ICD10CM, "M62.838"), (SNOMED, "45352006")}


def _code_list() -> dict[tuple[str, str], str]:
    """(system, code) → status, from the committed copy of the verified code list."""
    lines = [line for line in VERIFIED_CODES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return {(row["system"], row["code"]): row["status"] for row in csv.DictReader(lines, delimiter="\t")}


def _coding(iri: str) -> tuple[str, str]:
    """A code IRI of the graph as a FHIR (system, code) pair, through ontology/code-systems.tsv."""
    for system in read_code_systems(ontology_dir()):
        if iri.startswith(system.uri_prefix):
            return system.fhir_system, iri.removeprefix(system.uri_prefix)
    raise AssertionError(f"{iri} is in no code system of code-systems.tsv")


CODES = _code_list()
MAPPINGS = read_mappings(ontology_dir())
RESOLVER = TermResolver()


def _id(m) -> str:
    return f"{RESOLVER.compress(m.subject)}-{RESOLVER.compress(m.object)}"


def test_the_sssom_table_validates_with_the_sssom_library() -> None:
    from sssom.parsers import parse_sssom_table
    from sssom.validators import validate

    msdf = parse_sssom_table(ontology_dir() / MAPPINGS_FILE)
    reports = validate(msdf, fail_on_error=False)
    assert [str(r) for report in reports.values() for r in report.results] == []
    assert len(msdf.df) == len(MAPPINGS) >= 20
    assert set(msdf.df["predicate_id"]) <= {"skos:exactMatch", "skos:closeMatch", "skos:narrowMatch"}


def test_the_code_list_copy_is_the_verified_list() -> None:
    assert len(CODES) >= 30
    assert CODES[(RXNORM, "57258")] == "unverified"
    assert all(status.startswith(("verified", "unverified")) for status in CODES.values())


@pytest.mark.parametrize("mapping", MAPPINGS, ids=[_id(m) for m in MAPPINGS])
def test_every_mapped_code_is_verified(mapping) -> None:
    coding = _coding(mapping.object)
    assert coding in CODES, f"{_id(mapping)}: {coding} is not in the verified code list"
    assert CODES[coding].startswith("verified"), f"{_id(mapping)}: {coding} is {CODES[coding]}"
    assert mapping.predicate in ALLOWED_PREDICATES


def test_unverified_tizanidine_rxnorm_code_is_absent(build_result) -> None:
    assert all(_coding(m.object) != (RXNORM, "57258") for m in MAPPINGS)
    tizanidine_codes = {
        _coding(str(o))
        for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.narrowMatch)
        for o in build_result.graph.objects(TKG.Tizanidine, p)
    }
    assert (RXNORM, "57258") not in tizanidine_codes
    assert not any(system == RXNORM for system, _ in tizanidine_codes)


def test_no_spasticity_term_is_mapped_to_a_muscle_spasm_code(build_result) -> None:
    graph = build_result.graph
    spasticity = set(graph.transitive_subjects(RDFS.subClassOf, TKG.Spasticity))
    assert {TKG.Spasticity, TKG.FocalSpasticity, TKG.GeneralizedSpasticity} <= spasticity
    for m in MAPPINGS:
        if rdflib.URIRef(m.subject) in spasticity:
            assert _coding(m.object) not in SPASM_CODES, _id(m)
    for term in spasticity:
        for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch):
            for code in graph.objects(term, p):
                assert _coding(str(code)) not in SPASM_CODES, (term, p, code)


def test_muscle_spasm_keeps_its_spasm_codes(build_result) -> None:
    """The distinction is kept on both sides: the spasm codes belong to tkg:MuscleSpasm."""
    codes = {_coding(m.object) for m in MAPPINGS if m.subject == str(TKG.MuscleSpasm)}
    assert (ICD10CM, "R25.2") in codes and (SNOMED, "45352006") in codes


def test_the_graph_holds_the_same_mappings_as_skos_triples(build_result) -> None:
    graph = build_result.graph
    in_table = {(rdflib.URIRef(m.subject), rdflib.URIRef(m.predicate), rdflib.URIRef(m.object)) for m in MAPPINGS}
    in_graph = {
        (s, p, o)
        for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)
        for s, o in graph.subject_objects(p)
        if str(s).startswith(str(TKG))
    }
    assert in_graph == in_table
    for subject, _, _ in in_table:
        assert graph.value(subject, RDFS.label) is not None, f"{subject} is mapped but not a term of the graph"


def test_subject_labels_in_the_table_match_the_graph(build_result) -> None:
    """The table's subject_label column is the term's rdfs:label, so a renamed term cannot drift."""
    from sssom.parsers import parse_sssom_table

    msdf = parse_sssom_table(ontology_dir() / MAPPINGS_FILE)
    for row in msdf.df.to_dict("records"):
        subject = rdflib.URIRef(msdf.converter.expand(row["subject_id"], strict=True))
        assert str(build_result.graph.value(subject, RDFS.label)) == row["subject_label"], row["subject_id"]
