"""The role a condition plays in each statement (SPEC §3, issue 10 item 1): the indication it treats, the
cause of that indication, or a coexisting condition; and the candidate causes of spasticity.

Every condition a statement names has a role (a SHACL shape refuses the build otherwise), and the choices
that matter clinically are the ones the SPEC states, each explained on its statement.
"""

from __future__ import annotations

import pytest
import rdflib
from rdflib.namespace import RDFS

from kg.errors import ShapeViolationError
from kg.ontology.build import build
from tests.ontology_edits import edited_ontology, table_cell

TKG = rdflib.Namespace("https://w3id.org/therapy-kg/")
ROLES = (TKG.forIndication, TKG.forIndicationDueTo, TKG.withCoexistingCondition)


@pytest.fixture(scope="module")
def graph(build_result) -> rdflib.Graph:
    return build_result.graph


def _roles(graph: rdflib.Graph, statement: rdflib.URIRef) -> dict[str, set[str]]:
    return {
        str(role).rsplit("/", 1)[-1]: {str(c).rsplit("/", 1)[-1] for c in graph.objects(statement, role)}
        for role in ROLES
        if (statement, role, None) in graph
    }


def test_every_condition_a_statement_names_has_a_role_and_no_role_names_another(graph) -> None:
    named = {(s, c) for s, c in graph.subject_objects(TKG.aboutCondition)}
    assert named
    with_role = {(s, c) for role in ROLES for s, c in graph.subject_objects(role)}
    assert named == with_role


@pytest.mark.parametrize(
    ("statement", "roles"),
    [
        # the label sentence read twice: the condition treated, and the cause of the spasticity treated
        (
            "OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson",
            {
                "forIndication": {"Stroke", "CerebralPalsy", "ParkinsonDisease"},
                "forIndicationDueTo": {"Stroke", "CerebralPalsy", "ParkinsonDisease"},
            },
        ),
        # a coexisting rheumatic spasm never makes baclofen not indicated for spasticity: its own indication only
        ("OralBaclofenNotIndicatedForRheumaticMuscleSpasm", {"forIndication": {"RheumaticMuscleSpasm"}}),
        ("BenzodiazepinesAvoidedInStrokeRecovery", {"withCoexistingCondition": {"Stroke"}}),
        ("BaclofenObstructiveSleepApnea", {"withCoexistingCondition": {"ObstructiveSleepApnea"}}),
        ("OralBaclofenSecondLineForGeneralizedSpasticity", {"forIndication": {"GeneralizedSpasticity"}}),
        ("IntrathecalBaclofenForRefractorySpasticity", {"forIndication": {"Spasticity"}}),
        # scoped as the seed scopes it: spinal spasticity
        (
            "ResearchSupportsBaclofenInSpinalSpasticity",
            {"forIndicationDueTo": {"SpinalCordInjury", "MultipleSclerosis"}},
        ),
    ],
)
def test_the_role_of_each_condition_is_the_one_the_spec_states(graph, statement, roles) -> None:
    assert _roles(graph, TKG[statement]) == roles


@pytest.mark.parametrize(
    "statement",
    [
        "OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson",
        "BenzodiazepinesAvoidedInStrokeRecovery",
        "ResearchSupportsBaclofenInSpinalSpasticity",
    ],
)
def test_each_role_choice_that_reads_the_seed_is_explained_on_its_statement(graph, statement) -> None:
    comments = " ".join(str(c) for c in graph.objects(TKG[statement], RDFS.comment))
    assert "Role choice" in comments or "Modelling assumption" in comments


def test_the_candidate_causes_of_spasticity(graph) -> None:
    causes = {str(c).rsplit("/", 1)[-1] for c in graph.subjects(TKG.candidateCauseOf, TKG.Spasticity)}
    assert causes == {"MultipleSclerosis", "SpinalCordInjury", "Stroke", "CerebralPalsy"}
    assert "not a candidate cause" in str(graph.value(TKG.ParkinsonDisease, RDFS.comment)).lower()


def test_a_condition_without_a_role_refuses_the_build_naming_the_statement(tmp_path) -> None:
    source = edited_ontology(
        tmp_path,
        table_cell(
            "templates/statements/statements.tsv",
            "tkg:BenzodiazepinesAvoidedInStrokeRecovery",
            "coexisting condition",
            "",
        ),
    )
    with pytest.raises(ShapeViolationError) as refused:
        build(source, reason=False)
    assert "BenzodiazepinesAvoidedInStrokeRecovery" in str(refused.value) and "role" in str(refused.value)


def test_the_engines_knowledge_reads_the_roles(store) -> None:
    """What the engines compile from the store (queries/engine/statement-links.rq) holds every role."""
    from kg.knowledge import compile_knowledge

    k = compile_knowledge(store)
    stroke = k.by_iri[str(TKG.OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson)]
    named = {str(TKG[c]) for c in ("Stroke", "CerebralPalsy", "ParkinsonDisease")}
    assert stroke.indications == stroke.indication_causes == named and not stroke.coexisting
    benzodiazepines = k.by_iri[str(TKG.BenzodiazepinesAvoidedInStrokeRecovery)]
    assert benzodiazepines.coexisting == {str(TKG.Stroke)} and not benzodiazepines.indications
    for s in k.statements:
        assert s.conditions == s.indications | s.indication_causes | s.coexisting, s.iri
