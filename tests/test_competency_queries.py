"""The competency questions in queries/*.rq, run with bound parameters against the embedded store."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import RDF, RDFS

from kg.errors import PatientInputError
from kg.store.queries import load_queries, named_query
from kg.store.terms import TermResolver

RESOLVER = TermResolver()
COMPETENCY = [
    "is-first-line",
    "therapy-ladder",
    "intervention-statements",
    "statements-with-sources",
    "dosing-for-population",
    "term",
    "condition-roles",
]
TKG = rdflib.Namespace("https://w3id.org/therapy-kg/")


def rows(name: str, store, **params: str) -> list[dict[str, str]]:
    """Run a named query; each row as {variable: CURIE or lexical value}, unbound variables left out."""
    solutions = named_query(name).run(store, params, RESOLVER)
    names = [v.value for v in solutions.variables]
    result = []
    for solution in solutions:
        row = {}
        for variable, term in zip(names, solution, strict=False):
            if term is not None and not variable.startswith("_"):
                row[variable] = RESOLVER.compress(term.value) if isinstance(term, ox.NamedNode) else term.value
        result.append(row)
    return result


def ask(name: str, store, **params: str) -> bool:
    return bool(named_query(name).run(store, params, RESOLVER))


# ---------------------------------------------------------------- the files themselves


@pytest.mark.parametrize("name", COMPETENCY)
def test_competency_query_file_has_grlc_headers(name: str) -> None:
    query = load_queries()[name]
    assert query.summary, f"{query.path}: needs '#+ summary:'"
    assert query.headers.get("method") == "GET"
    assert all(p.kind == "iri" for p in query.parameters), "parameters are ?_name_iri variables bound as IRIs"


def test_parameters_are_bound_as_terms_not_pasted(store) -> None:
    """A value that is not an IRI is refused before it reaches SPARQL; nothing is spliced into the text."""
    with pytest.raises((PatientInputError, ValueError)):
        rows("term", store, term="tkg:Spasticity> } UNION { ?s ?p ?o")
    with pytest.raises(PatientInputError):
        rows("term", store)  # a parameter is required


# ---------------------------------------------------------------- is-first-line

FIRST_LINE = [
    ("tkg:Baclofen", "tkg:MuscleSpasm", False),
    ("tkg:Baclofen", "tkg:RheumaticMuscleSpasm", False),
    ("tkg:OralBaclofen", "tkg:GeneralizedSpasticity", False),
    ("tkg:Baclofen", "tkg:Spasticity", False),
    ("tkg:BotulinumToxin", "tkg:FocalSpasticity", False),
    ("tkg:IntrathecalBaclofen", "tkg:Spasticity", False),
    ("tkg:NonPharmacologicalIntervention", "tkg:Spasticity", True),
    ("tkg:NonPharmacologicalIntervention", "tkg:MuscleSpasm", False),
    ("tkg:Stretching", "tkg:FocalSpasticity", True),
    ("tkg:SerialCasting", "tkg:GeneralizedSpasticity", True),
    ("tkg:Intervention", "tkg:Spasticity", True),
    ("tkg:Intervention", "tkg:MuscleSpasm", False),  # the graph holds no first-line option for muscle spasm
]


@pytest.mark.parametrize("intervention,condition,expected", FIRST_LINE, ids=[f"{i}-{c}" for i, c, _ in FIRST_LINE])
def test_is_first_line(store, intervention: str, condition: str, expected: bool) -> None:
    assert ask("is-first-line", store, intervention=intervention, condition=condition) is expected


# ---------------------------------------------------------------- therapy-ladder

NON_PHARMACOLOGICAL = {
    "tkg:AntispasticPositioning",
    "tkg:RangeOfMotionExercise",
    "tkg:Stretching",
    "tkg:Splinting",
    "tkg:SerialCasting",
}

LADDERS = {
    "tkg:GeneralizedSpasticity": {
        1: NON_PHARMACOLOGICAL,
        2: {"tkg:OralBaclofen", "tkg:Tizanidine", "tkg:Dantrolene"},
        3: {"tkg:IntrathecalBaclofen"},
    },
    "tkg:FocalSpasticity": {
        1: NON_PHARMACOLOGICAL,
        2: {"tkg:BotulinumToxin", "tkg:OralBaclofen"},
        3: {"tkg:IntrathecalBaclofen"},
    },
    "tkg:Spasticity": {1: NON_PHARMACOLOGICAL, 3: {"tkg:IntrathecalBaclofen"}},
    "tkg:MuscleSpasm": {},
    "tkg:RheumaticMuscleSpasm": {},
}


@pytest.mark.parametrize("condition", LADDERS)
def test_therapy_ladder_options_by_line(store, condition: str) -> None:
    ladder = defaultdict(set)
    for row in rows("therapy-ladder", store, condition=condition):
        ladder[int(row["rank"])].add(row["intervention"])
    assert dict(ladder) == LADDERS[condition]


def test_therapy_ladder_inherits_from_parent_conditions_with_claims_and_sources(store) -> None:
    ladder = rows("therapy-ladder", store, condition="tkg:GeneralizedSpasticity")
    inherited = {r["statement"] for r in ladder if r["inherited"] == "true"}
    own = {r["statement"] for r in ladder if r["inherited"] == "false"}
    assert "tkg:NonPharmacologicalBeforePharmacological" in inherited  # about tkg:Spasticity
    assert "tkg:IntrathecalBaclofenForRefractorySpasticity" in inherited
    assert {"tkg:OralBaclofenSecondLineForGeneralizedSpasticity", "tkg:TizanidineOrDantroleneAlternatives"} <= own
    for row in ladder:
        assert row["claim"] and row["interventionLabel"] and row["lineLabel"]
        assert row["sourceNumber"] in {"1", "2", "3", "4", "5", "6"}
        assert row["condition"] in {"tkg:GeneralizedSpasticity", "tkg:Spasticity"}
    oral = {
        (r["statement"], r["sourceNumber"])
        for r in ladder
        if r["statement"] == "tkg:OralBaclofenSecondLineForGeneralizedSpasticity"
    }
    assert {n for _, n in oral} == {"1", "3"}
    second = [r for r in ladder if r["rank"] == "2"]
    assert second and all(r.get("requiresPriorLine") == "tkg:FirstLine" for r in second)
    third = [r for r in ladder if r["rank"] == "3"]
    assert third and all(r.get("requiresFinding") == "tkg:RefractoryToMaximalOralDose" for r in third)


def test_therapy_ladder_marks_the_preferred_option(store) -> None:
    focal = rows("therapy-ladder", store, condition="tkg:FocalSpasticity")
    preferred = {r["intervention"] for r in focal if r["preferred"] == "true"}
    assert preferred == {"tkg:BotulinumToxin"}


# ---------------------------------------------------------------- intervention-statements

INTERVENTION_STATEMENTS = {
    "tkg:OralBaclofen": {
        "includes": {
            ("tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm", "tkg:NonIndication"),
            ("tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson", "tkg:Contraindication"),
            ("tkg:BaclofenAbruptDiscontinuationWithdrawal", "tkg:DiscontinuationCaution"),  # about tkg:Baclofen
            ("tkg:BaclofenGradualTapering", "tkg:DiscontinuationCaution"),
            ("tkg:BaclofenMonitoring", "tkg:MonitoringRequirement"),
            ("tkg:BaclofenObstructiveSleepApnea", "tkg:Caution"),
            ("tkg:BaclofenAdverseEffects", "tkg:Caution"),
            ("tkg:OralBaclofenDosing", "tkg:DosingRegimen"),
            ("tkg:OralBaclofenOlderAdultDosing", "tkg:DosingRegimen"),
            ("tkg:OralBaclofenSecondLineForGeneralizedSpasticity", "tkg:Recommendation"),
        },
        "excludes": {"tkg:IntrathecalBaclofenForRefractorySpasticity", "tkg:IntrathecalBaclofenRelativeDose"},
    },
    "tkg:IntrathecalBaclofen": {
        "includes": {
            ("tkg:IntrathecalBaclofenForRefractorySpasticity", "tkg:Recommendation"),
            ("tkg:IntrathecalBaclofenRelativeDose", "tkg:DosingRegimen"),
            ("tkg:BaclofenAbruptDiscontinuationWithdrawal", "tkg:DiscontinuationCaution"),
        },
        # the tablet label's sentences are about oral baclofen only
        "excludes": {
            "tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson",
            "tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm",
            "tkg:OralBaclofenOlderAdultDosing",
        },
    },
    "tkg:Diazepam": {
        "includes": {("tkg:BenzodiazepinesAvoidedInStrokeRecovery", "tkg:Contraindication")},
        "excludes": {"tkg:BaclofenMonitoring"},
    },
    "tkg:Stretching": {
        "includes": {
            ("tkg:NonPharmacologicalBeforePharmacological", "tkg:Recommendation"),
            ("tkg:GuidelinesPrioritizeNonPharmacological", "tkg:EvidenceClaim"),
        },
        "excludes": {"tkg:BaclofenMonitoring"},
    },
}


@pytest.mark.parametrize("intervention", INTERVENTION_STATEMENTS)
def test_intervention_statements_include_those_about_parents(store, intervention: str) -> None:
    found = rows("intervention-statements", store, intervention=intervention)
    pairs = {(r["statement"], r["kind"]) for r in found}
    expected = INTERVENTION_STATEMENTS[intervention]
    assert expected["includes"] <= pairs, expected["includes"] - pairs
    assert not expected["excludes"] & {s for s, _ in pairs}
    assert all(r["claim"] and r["sourceNumber"] for r in found)
    assert len({(r["statement"]) for r in found}) == len({s for s, _ in pairs}), "one most specific kind per statement"


def test_intervention_statements_say_where_a_statement_is_inherited_from(store) -> None:
    found = rows("intervention-statements", store, intervention="tkg:OralBaclofen")
    withdrawal = [r for r in found if r["statement"] == "tkg:BaclofenAbruptDiscontinuationWithdrawal"]
    assert {(r["about"], r["inherited"]) for r in withdrawal} == {("tkg:Baclofen", "true")}
    contraindication = [
        r for r in found if r["statement"] == "tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson"
    ]
    assert {r["condition"] for r in contraindication} == {"tkg:Stroke", "tkg:CerebralPalsy", "tkg:ParkinsonDisease"}
    assert {r["sourceNumber"] for r in contraindication} == {"2"}


# ---------------------------------------------------------------- statements-with-sources


def test_statements_with_sources_lists_every_statement(store, build_result) -> None:
    graph = build_result.graph
    kinds = set(graph.transitive_subjects(RDFS.subClassOf, TKG.ClinicalStatement))
    expected = {RESOLVER.compress(str(s)) for k in kinds for s in graph.subjects(RDF.type, k)}
    found = rows("statements-with-sources", store)
    assert {r["statement"] for r in found} == expected
    by_statement = defaultdict(set)
    for r in found:
        assert r["claim"] and r["label"] and r["sourceLabel"]
        by_statement[r["statement"]].add(int(r["sourceNumber"]))
    assert by_statement["tkg:ResearchSupportsBaclofenInSpinalSpasticity"] == {4, 5, 6}
    assert by_statement["tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm"] == {2}
    assert by_statement["tkg:OralBaclofenOlderAdultDosing"] == {3}


# ---------------------------------------------------------------- dosing-for-population


def _doses(found: list[dict[str, str]]) -> set[tuple]:
    return {
        (r["regimen"], r["role"], r.get("lower") and Decimal(r["lower"]), Decimal(r["upper"]), r["ucum"]) for r in found
    }


DOSING = {
    ("tkg:OralBaclofen", "tkg:OlderAdult"): {
        ("tkg:OralBaclofenOlderAdultDosing", "tkg:StartingSingleDose", Decimal(5), Decimal(5), "mg"),
        ("tkg:OralBaclofenOlderAdultDosing", "tkg:StartingDosesPerDay", None, Decimal(3), "{dose}/d"),
        ("tkg:OralBaclofenOlderAdultDosing", "tkg:RarelyToleratedDailyDoseAbove", Decimal(30), Decimal(40), "mg/d"),
    },
    ("tkg:OralBaclofen", "tkg:AdultYoungerThan65"): {
        ("tkg:OralBaclofenDosing", "tkg:StartingDailyDose", Decimal(5), Decimal(10), "mg/d"),
        ("tkg:OralBaclofenDosing", "tkg:TargetDailyDose", Decimal(30), Decimal(80), "mg/d"),
        ("tkg:OralBaclofenDosing", "tkg:DosesPerDay", Decimal(3), Decimal(4), "{dose}/d"),
    },
    ("tkg:IntrathecalBaclofen", "tkg:OlderAdult"): {
        ("tkg:IntrathecalBaclofenRelativeDose", "tkg:DoseRelativeToSystemic", Decimal(10), Decimal(10), "%"),
    },
    ("tkg:Tizanidine", "tkg:OlderAdult"): set(),
}


@pytest.mark.parametrize("intervention,population", DOSING, ids=[f"{i}-{p}" for i, p in DOSING])
def test_dosing_for_population(store, intervention: str, population: str) -> None:
    found = rows("dosing-for-population", store, intervention=intervention, population=population)
    assert _doses(found) == DOSING[(intervention, population)]
    for r in found:
        assert r["claim"] and r["sourceNumber"] and r["roleLabel"] and r["unitLabel"]


def test_older_adult_dosing_cites_the_american_geriatrics_society(store) -> None:
    found = rows("dosing-for-population", store, intervention="tkg:OralBaclofen", population="tkg:OlderAdult")
    assert {r["sourceNumber"] for r in found} == {"3"}
    assert {r["population"] for r in found} == {"tkg:OlderAdult"}
    assert all("American Geriatrics Society" in r["claim"] for r in found)


# ---------------------------------------------------------------- term

TERMS = {
    "tkg:Spasticity": ("spasticity", {("skos:exactMatch", "SCTID:221360009"), ("skos:closeMatch", "ICD10CM:G81.1")}),
    "tkg:MuscleSpasm": (
        "muscle spasm",
        {
            ("skos:exactMatch", "SCTID:45352006"),
            ("skos:closeMatch", "ICD10CM:M62.830"),
            ("skos:closeMatch", "ICD10CM:M62.838"),
            ("skos:closeMatch", "ICD10CM:R25.2"),
        },
    ),
    "tkg:Baclofen": ("baclofen", {("skos:exactMatch", "RXNORM:1292"), ("skos:exactMatch", "ATC:M03BX01")}),
    "tkg:Tizanidine": ("tizanidine", {("skos:exactMatch", "ATC:M03BX02")}),
    "tkg:FocalSpasticity": ("focal spasticity", set()),
}


@pytest.mark.parametrize("term", TERMS)
def test_term_label_definition_and_codes(store, term: str) -> None:
    found = rows("term", store, term=term)
    label, codes = TERMS[term]
    assert found
    assert {r["label"] for r in found} == {label}
    assert all(r.get("definition") for r in found)
    assert {(r["match"], r["code"]) for r in found if "code" in r} == codes


# ---------------------------------------------------------------- condition-roles


def _roles(store, condition: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for row in rows("condition-roles", store, condition=condition):
        found[row["statement"]].add(row["role"])
    return dict(found)


def test_a_stroke_is_an_indication_and_a_cause_in_one_sentence_and_coexisting_in_another(store) -> None:
    roles = _roles(store, "tkg:Stroke")
    assert roles["tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson"] == {"indication", "cause"}
    assert roles["tkg:BenzodiazepinesAvoidedInStrokeRecovery"] == {"coexisting"}


def test_multiple_sclerosis_is_a_cause_and_puts_a_muscle_spasm_in_doubt(store) -> None:
    roles = _roles(store, "tkg:MultipleSclerosis")
    assert roles == {
        "tkg:ResearchSupportsBaclofenInSpinalSpasticity": {"cause"},
        "tkg:OralBaclofenNotIndicatedForMuscleSpasm": {"in-doubt-with"},
    }


def test_roles_of_a_parent_condition_are_inherited(store) -> None:
    found = rows("condition-roles", store, condition="tkg:RheumaticMuscleSpasm")
    inherited = {r["statement"]: r["inherited"] for r in found}
    assert inherited["tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm"] == "false"
    assert inherited["tkg:OralBaclofenNotIndicatedForMuscleSpasm"] == "true"
