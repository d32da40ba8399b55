"""`therapy-kg build`: the release graph has the SPEC §2 vocabulary, the inferred hierarchy, and a
broken input fails the build with a message that names the fault (file:line, IRI).

Broken inputs are copies of ontology/ in tmp_path with one small, explicit edit each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from kg import cli
from kg.errors import (
    ReasoningError,
    ShapeViolationError,
    SourceFileError,
    TherapyKGError,
)
from kg.ontology.build import build
from kg.resources import RELEASE_FILE
from tests.ontology_edits import edited_ontology, table_cell, table_row

TKG = rdflib.Namespace("https://w3id.org/therapy-kg/")
DEFINITION = rdflib.URIRef("http://purl.obolibrary.org/obo/IAO_0000115")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")


def line_of(path: Path, text: str) -> int:
    """1-based line number of the first line of `path` that starts with `text`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(text):
            return number
    raise AssertionError(f"{text!r} not in {path}")


# ---------------------------------------------------------------- the release


def test_the_build_produces_a_versioned_release(build_result) -> None:
    graph = build_result.graph
    ontology = rdflib.URIRef(build_result.ontology_iri)
    assert (ontology, RDF.type, OWL.Ontology) in graph
    assert build_result.version and str(graph.value(ontology, OWL.versionIRI)).endswith(build_result.version)
    for field in (OWL.versionIRI, OWL.versionInfo, DCTERMS.title, DCTERMS.description, DCTERMS.license):
        assert graph.value(ontology, field) is not None, field
    # one ontology header (the components' are merged in), no imports left to resolve
    assert list(graph.subjects(RDF.type, OWL.Ontology)) == [ontology]
    assert not list(graph.triples((None, OWL.imports, None)))
    assert {"parse", "mappings", "shacl", "reason", "total"} <= set(build_result.timings)
    assert build_result.triple_count > 500


#: SPEC §2: IRI → (kind, direct parent or None).
VOCABULARY = {
    **{
        name: ("class", None)
        for name in (
            "Condition",
            "Intervention",
            "LineOfTherapy",
            "Recommendation",
            "Contraindication",
            "Caution",
            "DosingRegimen",
            "MonitoringRequirement",
            "Source",
            "Patient",
            "Finding",
        )
    },
    "NonPharmacologicalIntervention": ("class", "Intervention"),
    "PharmacologicalIntervention": ("class", "Intervention"),
    "Spasticity": ("class", "Condition"),
    "FocalSpasticity": ("class", "Spasticity"),
    "GeneralizedSpasticity": ("class", "Spasticity"),
    "MuscleSpasm": ("class", "Condition"),
    "RheumaticMuscleSpasm": ("class", "MuscleSpasm"),
    **{
        name: ("class", "Condition")
        for name in (
            "Stroke",
            "CerebralPalsy",
            "ParkinsonDisease",
            "MultipleSclerosis",
            "SpinalCordInjury",
            "ObstructiveSleepApnea",
        )
    },
    **{
        name: ("class", "NonPharmacologicalIntervention")
        for name in ("AntispasticPositioning", "RangeOfMotionExercise", "Stretching", "Splinting", "SerialCasting")
    },
    "Baclofen": ("class", "PharmacologicalIntervention"),
    "OralBaclofen": ("class", "Baclofen"),
    "IntrathecalBaclofen": ("class", "Baclofen"),
    "BotulinumToxin": ("class", "PharmacologicalIntervention"),
    "Tizanidine": ("class", "PharmacologicalIntervention"),
    "Dantrolene": ("class", "PharmacologicalIntervention"),
    "Benzodiazepine": ("class", "PharmacologicalIntervention"),
    "Diazepam": ("class", "Benzodiazepine"),
    "FirstLine": ("line", 1),
    "SecondLine": ("line", 2),
    "ThirdLine": ("line", 3),
    "RefractoryToMaximalOralDose": ("class", "Finding"),
}


def _english(values) -> list[rdflib.Literal]:
    return [v for v in values if isinstance(v, rdflib.Literal) and (v.language or "").lower().startswith("en")]


@pytest.mark.parametrize("name", sorted(VOCABULARY))
def test_spec_term_exists_with_one_label_and_a_definition(build_result, name: str) -> None:
    graph = build_result.graph
    term = TKG[name]
    kind, detail = VOCABULARY[name]
    assert len(_english(graph.objects(term, RDFS.label))) == 1, f"{name}: needs exactly one English rdfs:label"
    assert len(list(graph.objects(term, RDFS.label))) == 1, f"{name}: has labels in other languages or untagged"
    assert _english(graph.objects(term, DEFINITION)), f"{name}: needs an English obo:IAO_0000115 definition"
    if kind == "class":
        assert (term, RDF.type, OWL.Class) in graph
        if detail:
            assert (term, RDFS.subClassOf, TKG[detail]) in graph, f"{name} ⊑ {detail}"
    else:
        assert (term, RDF.type, OWL.NamedIndividual) in graph and (term, RDF.type, TKG.LineOfTherapy) in graph
        rank = graph.value(term, TKG.rank)
        assert rank is not None and rank.datatype == rdflib.XSD.integer and int(rank) == detail


def test_spasticity_and_muscle_spasm_are_disjoint(build_result) -> None:
    graph = build_result.graph
    assert (TKG.Spasticity, OWL.disjointWith, TKG.MuscleSpasm) in graph or (
        TKG.MuscleSpasm,
        OWL.disjointWith,
        TKG.Spasticity,
    ) in graph


@pytest.mark.owl
def test_the_inferred_hierarchy_is_materialised(tmp_path) -> None:
    """A defined class gets its inferred place in the hierarchy, so SPARQL sees it without a reasoner."""
    source = edited_ontology(
        tmp_path,
        (
            "components/core.ttl",
            "tkg:Condition a owl:Class ;",
            (
                "tkg:AnyBaclofenForm a owl:Class ;\n"
                "    owl:equivalentClass [ a owl:Class ; owl:unionOf ( tkg:OralBaclofen tkg:IntrathecalBaclofen ) ] ;\n"
                '    rdfs:label "any baclofen form"@en ;\n'
                '    obo:IAO_0000115 "Oral or intrathecal baclofen (test fixture)."@en .\n\n'
                "tkg:Condition a owl:Class ;"
            ),
        ),
    )
    result = build(source)
    graph = result.graph
    assert (TKG.AnyBaclofenForm, RDFS.subClassOf, TKG.Baclofen) in graph
    assert (TKG.OralBaclofen, RDFS.subClassOf, TKG.AnyBaclofenForm) in graph
    assert (TKG.IntrathecalBaclofen, RDFS.subClassOf, TKG.AnyBaclofenForm) in graph
    assert result.inferred_axioms >= 3
    assert (TKG.AnyBaclofenForm, RDFS.subClassOf, TKG.Baclofen) not in build(source, reason=False).graph
    # the base release variant holds what was asserted, not the classification (ODK's base and full)
    assert (TKG.AnyBaclofenForm, RDFS.subClassOf, TKG.Baclofen) not in result.base
    assert (TKG.AnyBaclofenForm, OWL.equivalentClass, None) in result.base


def test_the_cli_writes_the_release(tmp_path, capsys) -> None:
    out = tmp_path / "release"
    assert cli.main(["build", "--out", str(out)]) == 0
    assert "built" in capsys.readouterr().out
    release = rdflib.Graph().parse(out / RELEASE_FILE, format="turtle")
    assert (TKG.Spasticity, RDF.type, OWL.Class) in release


# ---------------------------------------------------------------- broken inputs fail, naming the fault


def _turtle_syntax_error(tmp_path: Path) -> tuple[Path, type[TherapyKGError], list[str]]:
    source = edited_ontology(
        tmp_path,
        ("components/core.ttl", "tkg:Condition a owl:Class ;", "tkg:Condition a owl:Class tkg:MissingPunctuation ;"),
    )
    path = source / "components" / "core.ttl"
    return source, SourceFileError, [f"core.ttl:{line_of(path, 'tkg:Condition a')}", "Turtle syntax error"]


def _statement_without_source(tmp_path: Path) -> tuple[Path, type[TherapyKGError], list[str]]:
    statement, table = "tkg:BenzodiazepinesAvoidedInStrokeRecovery", "templates/statements/statements.tsv"
    source = edited_ontology(tmp_path, table_cell(table, statement, "sources", ""))
    where = f"{source / table} row {table_row(table, statement)}"
    return source, ShapeViolationError, [f"{TKG.BenzodiazepinesAvoidedInStrokeRecovery} ({where})", "tkg:hasSource"]


def _unsatisfiable_class(tmp_path: Path) -> tuple[Path, type[TherapyKGError], list[str]]:
    source = edited_ontology(
        tmp_path,
        (
            "components/core.ttl",
            "tkg:Condition a owl:Class ;",
            (
                "tkg:SpasticMuscleSpasm a owl:Class ;\n"
                "    rdfs:subClassOf tkg:Spasticity , tkg:MuscleSpasm ;\n"
                '    rdfs:label "spastic muscle spasm"@en ;\n'
                '    obo:IAO_0000115 "Contradictory on purpose: spasticity and muscle spasm are disjoint."@en .\n\n'
                "tkg:Condition a owl:Class ;"
            ),
        ),
    )
    return source, ReasoningError, [str(TKG.SpasticMuscleSpasm), "unsatisfiable"]


BROKEN = {
    "turtle-syntax-error": _turtle_syntax_error,
    "statement-without-source": _statement_without_source,
    "unsatisfiable-class": pytest.param(_unsatisfiable_class, marks=pytest.mark.owl),
}


@pytest.mark.parametrize("make", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_input_fails_the_build_naming_the_fault(tmp_path, capsys, make) -> None:
    source, error, expected = make(tmp_path)
    with pytest.raises(error) as caught:
        build(source)
    for text in expected:
        assert text in str(caught.value)

    out = tmp_path / "release"
    assert cli.main(["build", "--source", str(source), "--out", str(out)]) != 0
    stderr = capsys.readouterr().err
    for text in expected:
        assert text in stderr
    assert not (out / RELEASE_FILE).exists(), "a failed build must not leave a release behind"
