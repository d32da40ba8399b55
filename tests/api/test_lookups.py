"""The lookup routes (conditions, interventions, sources, codes, therapy ladder), on every store backend.

Expected answers come from the seed and SPEC §2/§6; where the graph can answer twice, the route's
answer is checked against the knowledge the engines compiled through other queries (queries/engine/).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kg.knowledge import CONDITION, INTERVENTION
from kg.store.terms import TKG, TermResolver

TERMS = TermResolver()
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
NON_PHARMACOLOGICAL = [
    "tkg:AntispasticPositioning",
    "tkg:RangeOfMotionExercise",
    "tkg:SerialCasting",
    "tkg:Splinting",
    "tkg:Stretching",
]
SPEC_CONDITIONS = [
    "tkg:Spasticity",
    "tkg:FocalSpasticity",
    "tkg:GeneralizedSpasticity",
    "tkg:MuscleSpasm",
    "tkg:RheumaticMuscleSpasm",
    "tkg:Stroke",
    "tkg:CerebralPalsy",
    "tkg:ParkinsonDisease",
    "tkg:MultipleSclerosis",
    "tkg:SpinalCordInjury",
    "tkg:ObstructiveSleepApnea",
]
SPEC_INTERVENTIONS = [
    *NON_PHARMACOLOGICAL,
    "tkg:Baclofen",
    "tkg:OralBaclofen",
    "tkg:IntrathecalBaclofen",
    "tkg:BotulinumToxin",
    "tkg:Tizanidine",
    "tkg:Dantrolene",
    "tkg:Benzodiazepine",
    "tkg:Diazepam",
    "tkg:NonPharmacologicalIntervention",
    "tkg:PharmacologicalIntervention",
]
INJECTION = "tkg:X> } ; DROP ALL #"


def _get(client, path: str, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _curies(items, key: str = "curie") -> list[str]:
    return [item[key] for item in items]


def _statement(body: dict, curie: str) -> dict:
    found = [s for s in body["statements"] if s["statement"] == curie]
    assert found, f"{curie} not among {_curies(body['statements'], 'statement')}"
    return found[0]


# ------------------------------------------------------------------------------ term lists
@pytest.mark.parametrize(
    ("route", "root", "spec_terms"),
    [
        ("/conditions", CONDITION, SPEC_CONDITIONS),
        ("/interventions", INTERVENTION, SPEC_INTERVENTIONS),
    ],
)
def test_term_list_holds_every_term_of_its_category_sorted(client, app_state, route, root, spec_terms) -> None:
    body = _get(client, route)
    curies = _curies(body)
    assert curies == sorted(curies)
    assert set(spec_terms) <= set(curies)
    knowledge = app_state.service.knowledge
    assert set(curies) == {TERMS.compress(iri) for iri in knowledge.classes_under(root)}
    for term in body:
        assert term["label"] == knowledge.label(term["iri"])
        assert term["definition"], term["curie"]
        assert term["parents"], term["curie"]


@pytest.mark.parametrize(
    ("route", "curie", "parents", "codes"),
    [
        (
            "/conditions",
            "tkg:Spasticity",
            ["tkg:Condition"],
            [(ICD10CM, "G81.1", "closeMatch"), (SNOMED, "221360009", "exactMatch")],
        ),
        ("/conditions", "tkg:FocalSpasticity", ["tkg:Spasticity"], []),
        ("/conditions", "tkg:RheumaticMuscleSpasm", ["tkg:MuscleSpasm"], []),
        (
            "/conditions",
            "tkg:MultipleSclerosis",
            ["tkg:Condition"],
            [(ICD10CM, "G35", "exactMatch"), (SNOMED, "24700007", "exactMatch")],
        ),
        (
            "/conditions",
            "tkg:MuscleSpasm",
            ["tkg:Condition"],
            [
                (ICD10CM, "M62.830", "closeMatch"),
                (ICD10CM, "M62.838", "closeMatch"),
                (ICD10CM, "R25.2", "closeMatch"),
                (SNOMED, "45352006", "exactMatch"),
            ],
        ),
        (
            "/interventions",
            "tkg:Baclofen",
            ["tkg:PharmacologicalIntervention"],
            [(RXNORM, "1292", "exactMatch"), (ATC, "M03BX01", "exactMatch")],
        ),
        (
            "/interventions",
            "tkg:Diazepam",
            ["tkg:Benzodiazepine"],
            [(RXNORM, "3322", "exactMatch"), (ATC, "N05BA01", "exactMatch")],
        ),
        ("/interventions", "tkg:Stretching", ["tkg:NonPharmacologicalIntervention"], []),
    ],
)
def test_term_list_entry_has_parents_and_codes(client, route, curie, parents, codes) -> None:
    term = {t["curie"]: t for t in _get(client, route)}[curie]
    assert term["iri"] == TERMS.expand(curie, field="curie")
    assert _curies(term["parents"]) == parents
    assert sorted((c["system"], c["code"], c["match"]) for c in term["codes"]) == sorted(codes)


def test_no_spasticity_term_carries_a_muscle_spasm_code(client) -> None:
    """ICD-10-CM R25.2 and M62.83x are muscle-spasm codes: never on spasticity or its subtypes."""
    for term in _get(client, "/conditions"):
        if term["curie"] in {"tkg:Spasticity", "tkg:FocalSpasticity", "tkg:GeneralizedSpasticity"}:
            assert not {c["code"] for c in term["codes"]} & {"R25.2", "M62.830", "M62.838"}


# ------------------------------------------------------------------------------ one term
@pytest.mark.parametrize(
    ("route", "curie", "label", "parents", "children"),
    [
        (
            "/conditions",
            "tkg:Spasticity",
            "spasticity",
            ["tkg:Condition"],
            ["tkg:FocalSpasticity", "tkg:GeneralizedSpasticity"],
        ),
        ("/conditions", "tkg:MuscleSpasm", "muscle spasm", ["tkg:Condition"], ["tkg:RheumaticMuscleSpasm"]),
        ("/conditions", "tkg:GeneralizedSpasticity", "generalized spasticity", ["tkg:Spasticity"], []),
        (
            "/interventions",
            "tkg:Baclofen",
            "baclofen",
            ["tkg:PharmacologicalIntervention"],
            ["tkg:IntrathecalBaclofen", "tkg:OralBaclofen"],
        ),
        (
            "/interventions",
            "tkg:Benzodiazepine",
            "benzodiazepine",
            ["tkg:PharmacologicalIntervention"],
            ["tkg:Diazepam"],
        ),
        (
            "/interventions",
            "tkg:NonPharmacologicalIntervention",
            "non-pharmacological intervention",
            ["tkg:Intervention"],
            NON_PHARMACOLOGICAL,
        ),
    ],
)
def test_term_detail_has_label_and_hierarchy(client, route, curie, label, parents, children) -> None:
    body = _get(client, f"{route}/{curie}")
    assert (body["curie"], body["label"]) == (curie, label)
    assert body["category"] == route.strip("/").removesuffix("s")
    assert body["definition"]
    assert _curies(body["parents"]) == parents
    assert _curies(body["children"]) == children


def test_rheumatic_muscle_spasm_lists_the_label_non_indication_citing_source_2(client) -> None:
    body = _get(client, "/conditions/tkg:RheumaticMuscleSpasm")
    statement = _statement(body, "tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm")
    assert statement["kind"] == "not-indicated"
    assert statement["relation"] == "self"
    assert _curies(statement["interventions"]) == ["tkg:OralBaclofen"]
    assert [(s["source"], s["reference"]) for s in statement["sources"]] == [("tkg:Source2", 2)]
    assert statement["sources"][0]["label"] == "Source 2: FDA label for baclofen tablets"
    assert "not indicated" in statement["claim"]
    assert [q["quote"] for q in statement["quotes"]] == ["tkg:QuoteOralLabelLimitationOfUse"]
    assert statement["quotes"][0]["text"].startswith("Baclofen is not indicated in the treatment of skeletal muscle")
    inherited = _statement(body, "tkg:BaclofenNotFirstLineForMuscleSpasm")
    assert (inherited["relation"], inherited["kind"]) == ("inherited", "evidence")
    assert _curies(inherited["via"]) == ["tkg:MuscleSpasm"]
    # self before inherited before narrower, then by CURIE
    order = [("self", "inherited", "narrower").index(s["relation"]) for s in body["statements"]]
    assert order == sorted(order)


def test_spasticity_distinguishes_own_from_narrower_statements(client) -> None:
    body = _get(client, "/conditions/tkg:Spasticity")
    third_line = _statement(body, "tkg:IntrathecalBaclofenForRefractorySpasticity")
    assert third_line["relation"] == "self"
    assert (third_line["line"]["line"], third_line["line"]["rank"]) == ("tkg:ThirdLine", 3)
    assert _curies(third_line["requires_findings"]) == ["tkg:RefractoryToMaximalOralDose"]
    second_line = _statement(body, "tkg:OralBaclofenSecondLineForGeneralizedSpasticity")
    assert second_line["relation"] == "narrower"
    assert _curies(second_line["via"]) == ["tkg:GeneralizedSpasticity"]
    assert second_line["requires_prior_line"]["rank"] == 1
    assert [s["reference"] for s in second_line["sources"]] == [1, 3]
    preferred = _statement(body, "tkg:BotulinumToxinPreferredForFocalSpasticity")
    assert _curies(preferred["preferred"]) == ["tkg:BotulinumToxin"]
    assert _curies(preferred["interventions"]) == ["tkg:BotulinumToxin", "tkg:OralBaclofen"]


def test_oral_baclofen_inherits_baclofen_statements_but_not_intrathecal_ones(client) -> None:
    body = _get(client, "/interventions/tkg:OralBaclofen")
    relation = {s["statement"]: s["relation"] for s in body["statements"]}
    assert relation["tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm"] == "self"
    assert relation["tkg:BaclofenAbruptDiscontinuationWithdrawal"] == "inherited"
    assert relation["tkg:BaclofenMonitoring"] == "inherited"
    assert not any("Intrathecal" in s for s in relation)
    older = _statement(body, "tkg:OralBaclofenOlderAdultDosing")
    assert (older["kind"], _curies(older["populations"])) == ("dosing", ["tkg:OlderAdult"])
    assert [s["reference"] for s in older["sources"]] == [3]
    assert _statement(body, "tkg:BaclofenGradualTapering")["kind"] == "discontinuation-caution"


@pytest.mark.parametrize("curie", SPEC_CONDITIONS + SPEC_INTERVENTIONS)
def test_term_statements_agree_with_the_compiled_knowledge(client, app_state, curie) -> None:
    """Self / inherited / narrower, as the engines' knowledge (compiled by other queries) sees them."""
    knowledge = app_state.service.knowledge
    iri = TERMS.expand(curie, field="curie")
    route = "/conditions" if knowledge.is_a(iri, CONDITION) else "/interventions"
    body = _get(client, f"{route}/{curie}")
    ancestors = knowledge.ancestors[iri] - {iri}
    descendants = knowledge.descendants(iri) - {iri}
    expected: dict[str, str] = {}
    for s in knowledge.statements:
        about = s.conditions | s.interventions | s.required_findings | ({s.population} if s.population else set())
        if iri in about:
            expected[s.iri] = "self"
        elif about & ancestors:
            expected[s.iri] = "inherited"
        elif about & descendants:
            expected[s.iri] = "narrower"
    assert {s["iri"]: s["relation"] for s in body["statements"]} == expected
    for statement in body["statements"]:
        compiled = knowledge.by_iri[statement["iri"]]
        assert statement["kind"] == compiled.kind
        assert statement["claim"] == compiled.claim
        assert [s["reference"] for s in statement["sources"]] == [s.number for s in compiled.sources]
        # the role each condition plays in the statement (SPEC §3), as the engines read it
        for field, roles in (
            ("indications", compiled.indications),
            ("indication_causes", compiled.indication_causes),
            ("coexisting_conditions", compiled.coexisting),
            ("in_doubt_with", compiled.in_doubt_with),
        ):
            assert {t["iri"] for t in statement[field]} == roles, (statement["statement"], field)


def test_a_full_url_encoded_iri_is_accepted(client) -> None:
    body = _get(client, "/conditions/" + quote(TKG + "Spasticity", safe=""))
    assert body["curie"] == "tkg:Spasticity"


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("/conditions/tkg:OralBaclofen", "intervention"),
        ("/interventions/tkg:Spasticity", "condition"),
        ("/conditions/tkg:RefractoryToMaximalOralDose", "finding"),
        ("/conditions/tkg:Condition", ""),
        ("/conditions/tkg:NoSuchCondition", ""),
        ("/interventions/tkg:Source1", ""),
        ("/interventions/" + quote("http://snomed.info/id/221360009", safe=""), ""),
    ],
)
def test_unknown_or_wrong_category_term_is_404(client, path, hint) -> None:
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert "the graph has no" in response.json()["detail"]
    assert hint in response.json()["detail"]


@pytest.mark.parametrize("value", ["foo:Bar", INJECTION, "tkg:has space", "tkg:a{b}", "not a curie"])
def test_malformed_term_is_422_naming_the_parameter(client, value) -> None:
    response = client.get("/conditions/" + quote(value, safe=""))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "curie"


# ------------------------------------------------------------------------------ sources
def test_sources_are_the_six_seed_references(client) -> None:
    body = _get(client, "/sources")
    assert [(s["curie"], s["reference"]) for s in body] == [(f"tkg:Source{n}", n) for n in range(1, 7)]
    by_number = {s["reference"]: s for s in body}
    assert {n: by_number[n]["kind"]["curie"] for n in by_number} == {
        1: "tkg:Guideline",
        2: "tkg:DrugLabel",
        3: "tkg:Guideline",
        4: "tkg:ResearchEvidence",
        5: "tkg:ResearchEvidence",
        6: "tkg:ResearchEvidence",
    }
    assert {n: _curies(by_number[n]["organizations"]) for n in by_number} == {
        1: ["tkg:AmericanHeartAssociation"],
        2: ["tkg:FoodAndDrugAdministration"],
        3: ["tkg:AmericanGeriatricsSociety"],
        4: [],
        5: [],
        6: [],
    }
    assert all(s["comment"] for s in body)


@pytest.mark.parametrize("source_id", ["Source2", "tkg:Source2", quote(TKG + "Source2", safe="")])
def test_source_detail_accepts_name_curie_or_iri(client, source_id) -> None:
    body = _get(client, f"/sources/{source_id}")
    assert (body["curie"], body["reference"]) == ("tkg:Source2", 2)
    assert body["label"] == "Source 2: FDA label for baclofen tablets"
    assert _curies(body["quotes"], "quote") == [
        "tkg:QuoteOralLabelIndication",
        "tkg:QuoteOralLabelLimitationOfUse",
        "tkg:QuoteTabletLabelStrokeCerebralPalsyParkinson",
    ]
    assert all(q["origin"] and q["source"] == "tkg:Source2" for q in body["quotes"])
    statements = {s["statement"]: s for s in body["statements"]}
    assert statements["tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm"]["kind"] == "not-indicated"
    assert statements["tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson"]["kind"] == "contraindication"


@pytest.mark.parametrize("number", range(1, 7))
def test_source_statements_agree_with_the_compiled_knowledge(client, app_state, number) -> None:
    body = _get(client, f"/sources/Source{number}")
    knowledge = app_state.service.knowledge
    expected = sorted(TERMS.compress(s.iri) for s in knowledge.statements if number in {r.number for r in s.sources})
    assert _curies(body["statements"], "statement") == expected
    assert expected  # every seed reference is cited by at least one statement


@pytest.mark.parametrize(
    ("source_id", "status"),
    [
        ("Source7", 404),
        ("tkg:Spasticity", 404),
        ("tkg:QuoteOralLabelIndication", 404),
        ("foo:Source1", 422),
        (quote(INJECTION, safe=""), 422),
    ],
)
def test_bad_source_ids(client, source_id, status) -> None:
    response = client.get(f"/sources/{source_id}")
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["field"] == "id"


# ------------------------------------------------------------------------------ codes
@pytest.mark.parametrize(
    ("system", "code", "term", "match", "matched_code"),
    [
        (ICD10CM, "G35", "tkg:MultipleSclerosis", "exactMatch", "G35"),
        (ICD10CM, "G35.1", "tkg:MultipleSclerosis", "exactMatch", "G35"),
        (ICD10CM, "R25.2", "tkg:MuscleSpasm", "closeMatch", "R25.2"),
        (ICD10CM, "G81.14", "tkg:Spasticity", "closeMatch", "G81.1"),
        (ICD10CM, "I69.351", "tkg:Stroke", "closeMatch", "I69.35"),
        (SNOMED, "221360009", "tkg:Spasticity", "exactMatch", "221360009"),
        (SNOMED, "45352006", "tkg:MuscleSpasm", "exactMatch", "45352006"),
        (RXNORM, "1292", "tkg:Baclofen", "exactMatch", "1292"),
        (ATC, "M03BX01", "tkg:Baclofen", "exactMatch", "M03BX01"),
        (ATC, "M03BX02", "tkg:Tizanidine", "exactMatch", "M03BX02"),
    ],
)
def test_lookup_maps_a_code_to_its_term(client, system, code, term, match, matched_code) -> None:
    body = _get(client, "/lookup", system=system, code=code)
    assert (body["system"], body["code"]) == (system, code)
    assert [(m["curie"], m["match"], m["code"]) for m in body["matches"]] == [(term, match, matched_code)]
    found = body["matches"][0]
    assert found["category"] in {"condition", "intervention"}
    assert (found["note"] is None) == (code == matched_code)


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10CM, "Z99.89"),
        (SNOMED, "22136000"),  # a prefix of the spasticity code: SNOMED CT has no prefix hierarchy
        (RXNORM, "12921"),
        (ATC, "M03"),  # the parent of baclofen's code does not map to baclofen
    ],
)
def test_lookup_of_an_unmapped_code_is_404_with_a_message(client, system, code) -> None:
    response = client.get("/lookup", params={"system": system, "code": code})
    assert response.status_code == 404, response.text
    assert code in response.json()["detail"]
    assert "maps to no term" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"system": "http://example.org/codes", "code": "G35"}, "system"),
        ({"system": "urn:oid:2.16.840.1.113883.6.90", "code": "G35"}, "system"),
        ({"system": ICD10CM, "code": "G35>"}, "code"),
        ({"system": ICD10CM, "code": "  "}, "code"),
    ],
)
def test_lookup_rejects_unknown_systems_and_malformed_codes(client, params, field) -> None:
    response = client.get("/lookup", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_lookup_needs_both_parameters(client) -> None:
    response = client.get("/lookup", params={"system": ICD10CM})
    assert response.status_code == 422
    assert "code" in response.text


# ------------------------------------------------------------------------------ therapy ladder
def _options(line: dict) -> list[str]:
    return _curies(line["options"], "intervention")


def test_generalized_spasticity_ladder(client) -> None:
    body = _get(client, "/therapy-lines", condition="tkg:GeneralizedSpasticity")
    assert body["condition"]["curie"] == "tkg:GeneralizedSpasticity"
    first, second, third = body["lines"]
    assert [(line["rank"], line["line"]) for line in body["lines"]] == [
        (1, "tkg:FirstLine"),
        (2, "tkg:SecondLine"),
        (3, "tkg:ThirdLine"),
    ]

    assert sorted(_options(first)) == NON_PHARMACOLOGICAL
    for option in first["options"]:
        assert _curies(option["conditions"]) == ["tkg:Spasticity"]
    assert all(r["inherited"] and _curies(r["conditions"]) == ["tkg:Spasticity"] for r in first["recommendations"])
    assert _curies(first["recommendations"], "statement") == [
        "tkg:NonPharmacologicalBeforePharmacological",
        "tkg:NonPharmacologicalFoundationOfSpasticityManagement",
    ]

    assert sorted(_options(second)) == ["tkg:Dantrolene", "tkg:OralBaclofen", "tkg:Tizanidine"]
    assert not any(option["preferred"] for option in second["options"])
    for recommendation in second["recommendations"]:
        assert not recommendation["inherited"]
        assert _curies(recommendation["conditions"]) == ["tkg:GeneralizedSpasticity"]
        assert (recommendation["requires_prior_line"]["line"], recommendation["requires_prior_line"]["rank"]) == (
            "tkg:FirstLine",
            1,
        )
    oral = {r["statement"]: r for r in second["recommendations"]}["tkg:OralBaclofenSecondLineForGeneralizedSpasticity"]
    assert [(s["source"], s["reference"]) for s in oral["sources"]] == [("tkg:Source1", 1), ("tkg:Source3", 3)]
    assert "30-80 mg/day" in oral["claim"]

    assert _options(third) == ["tkg:IntrathecalBaclofen"]
    (refractory,) = third["recommendations"]
    assert refractory["statement"] == "tkg:IntrathecalBaclofenForRefractorySpasticity"
    assert refractory["inherited"] and _curies(refractory["conditions"]) == ["tkg:Spasticity"]
    assert _curies(refractory["requires_findings"]) == ["tkg:RefractoryToMaximalOralDose"]
    assert refractory["requires_findings"][0]["label"] == "refractory to maximal oral dose"
    assert refractory["requires_prior_line"]["rank"] == 1  # non-pharmacological first, before any drug (SPEC §3)
    assert body["narrower_conditions"] == []


def test_focal_spasticity_ladder_prefers_botulinum_toxin(client) -> None:
    body = _get(client, "/therapy-lines", condition="tkg:FocalSpasticity")
    second = {line["rank"]: line for line in body["lines"]}[2]
    assert [(o["intervention"], o["preferred"]) for o in second["options"]] == [
        ("tkg:BotulinumToxin", True),
        ("tkg:OralBaclofen", False),
    ]
    (recommendation,) = second["recommendations"]
    assert recommendation["preferred"] == ["tkg:BotulinumToxin"]
    evidence = _curies(body["other_statements"], "statement")
    assert "tkg:BotulinumToxinSuperiorInFocalSpasticity" in evidence


def test_spasticity_ladder_points_to_its_subtypes_for_the_second_line(client) -> None:
    body = _get(client, "/therapy-lines", condition="tkg:Spasticity")
    assert [line["rank"] for line in body["lines"]] == [1, 3]
    assert not any(r["inherited"] for line in body["lines"] for r in line["recommendations"])
    assert _curies(body["narrower_conditions"]) == ["tkg:FocalSpasticity", "tkg:GeneralizedSpasticity"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            "tkg:RheumaticMuscleSpasm",
            {
                "tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm": ("not-indicated", [2]),
                "tkg:BaclofenNotFirstLineForMuscleSpasm": ("evidence", [1]),
            },
        ),
        (
            "tkg:MuscleSpasm",
            {
                "tkg:BaclofenNotFirstLineForMuscleSpasm": ("evidence", [1]),
                "tkg:FdaLabelDistinguishesSpasticityFromMuscleSpasm": ("evidence", [2]),
            },
        ),
    ],
)
def test_muscle_spasm_has_no_ladder_but_says_why(client, condition, expected) -> None:
    body = _get(client, "/therapy-lines", condition=condition)
    assert body["lines"] == []
    others = {s["statement"]: s for s in body["other_statements"]}
    for statement, (kind, references) in expected.items():
        assert (others[statement]["kind"], [s["reference"] for s in others[statement]["sources"]]) == (kind, references)
    assert all(s["relation"] in {"self", "inherited"} for s in body["other_statements"])
    if condition == "tkg:MuscleSpasm":
        assert "tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm" not in others  # about a subtype only


@pytest.mark.parametrize("condition", ["tkg:Stroke", "tkg:CerebralPalsy", "tkg:ParkinsonDisease"])
def test_conditions_where_baclofen_is_not_recommended(client, condition) -> None:
    body = _get(client, "/therapy-lines", condition=condition)
    assert body["lines"] == []
    kinds = {s["statement"]: s["kind"] for s in body["other_statements"]}
    assert kinds["tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson"] == "contraindication"


@pytest.mark.parametrize("condition", SPEC_CONDITIONS)
def test_ladder_agrees_with_the_compiled_knowledge(client, app_state, condition) -> None:
    knowledge = app_state.service.knowledge
    iri = TERMS.expand(condition, field="condition")
    expected: dict[int, set[str]] = {}
    for s in knowledge.statements:
        if s.kind == "recommendation" and s.line is not None and any(knowledge.is_a(iri, c) for c in s.conditions):
            expected.setdefault(s.line, set()).update(TERMS.compress(i) for i in s.interventions)
    body = _get(client, "/therapy-lines", condition=condition)
    assert {line["rank"]: set(_options(line)) for line in body["lines"]} == expected


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"condition": "tkg:NoSuchCondition"}, 404, None),
        ({"condition": "tkg:OralBaclofen"}, 404, None),
        ({"condition": "nope:Spasticity"}, 422, "condition"),
        ({"condition": INJECTION}, 422, "condition"),
        ({}, 422, None),
    ],
)
def test_therapy_lines_bad_input(client, params, status, field) -> None:
    response = client.get("/therapy-lines", params=params)
    assert response.status_code == status, response.text
    if field:
        assert response.json()["field"] == field


def test_injection_attempts_change_nothing(client, app_state) -> None:
    before = app_state.store.triple_count()
    conditions = _get(client, "/conditions")
    for path in ("/conditions/", "/interventions/", "/sources/"):
        assert client.get(path + quote(INJECTION, safe="")).status_code == 422
    assert client.get("/therapy-lines", params={"condition": INJECTION}).status_code == 422
    # a valid IRI holding the same characters percent-encoded is only a name the graph does not have
    harmless = "https://w3id.org/therapy-kg/X%3E%20%7D%20%3B%20DROP%20ALL%20%23"
    assert client.get("/therapy-lines", params={"condition": harmless}).status_code == 404
    assert client.get("/lookup", params={"system": ICD10CM, "code": "G35> } ; DROP ALL #"}).status_code == 422
    assert app_state.store.triple_count() == before
    assert _get(client, "/conditions") == conditions


def test_openapi_documents_the_lookup_models(client) -> None:
    schema = client.get("/openapi.json").json()
    for path in (
        "/conditions",
        "/conditions/{curie}",
        "/interventions",
        "/interventions/{curie}",
        "/sources",
        "/sources/{id}",
        "/lookup",
        "/therapy-lines",
    ):
        operation = schema["paths"][path]["get"]
        assert "$ref" in str(operation["responses"]["200"]), path
    components = schema["components"]["schemas"]
    assert {"TermDetail", "TherapyLadderOut", "SourceDetail", "LookupOut"} <= set(components)
