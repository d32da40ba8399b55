"""Codes are checked against their system's syntax before lookup, and a hierarchy follows the code
system's structure on valid codes only (issue 15, item 4).

Found by an adversarial run: ICD-10-CM codes were matched by raw string prefix, so
`"I63 - history, no stroke"` resolved to stroke and `"G35\\u0000"` to multiple sclerosis.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kg.ontology.mappings import read_code_systems, read_mappings
from kg.resources import ontology_dir
from kg.service import TherapyKG

VERIFIED_CODES = Path(__file__).parent / "data" / "verified-codes.tsv"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
SYSTEMS = {cs.fhir_system: cs for cs in read_code_systems(ontology_dir())}


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def _verified() -> list[tuple[str, str]]:
    lines = [line for line in VERIFIED_CODES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return [(row["system"], row["code"]) for row in csv.DictReader(lines, delimiter="\t")]


def _mapped() -> list[tuple[str, str]]:
    pairs = []
    for m in read_mappings(ontology_dir()):
        for cs in SYSTEMS.values():
            if m.object.startswith(cs.uri_prefix):
                pairs.append((cs.fhir_system, m.object.removeprefix(cs.uri_prefix)))
    return pairs


@pytest.mark.parametrize(("system", "code"), sorted(set(_verified()) | set(_mapped())))
def test_every_verified_and_mapped_code_passes_its_validator(system, code) -> None:
    assert SYSTEMS[system].invalid(code) is None


def test_every_mapping_names_a_code_of_a_known_system() -> None:
    assert len(_mapped()) == len(read_mappings(ontology_dir()))


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10CM, "I63 - history, no stroke"),
        (ICD10CM, "G35\u0000"),
        (ICD10CM, "G35 "),
        (ICD10CM, " G35"),
        (ICD10CM, "g35"),  # the FHIR ICD-10-CM code system is case-sensitive
        (ICD10CM, "G35."),
        (ICD10CM, "G35.12345"),
        (ICD10CM, "G3"),
        (ICD10CM, "G35A"),  # the dot after the category is part of the FHIR code
        (ICD10CM, "1G35"),
        (ICD10CM, "G35.1.1"),
        (ICD10CM, "Ｇ35"),  # a fullwidth letter
        (ICD10CM, "G٣5"),  # an Arabic-Indic digit: str.isdigit says yes, the code system says no
        (SNOMED, "221360008"),  # wrong Verhoeff check digit
        (SNOMED, "22136000"),
        (SNOMED, "0221360009"),  # leading zero
        (SNOMED, "12345"),  # too short
        (SNOMED, "1234567890123456789"),  # too long
        (SNOMED, "221360019"),  # partition 01: a description identifier, not a concept
        (SNOMED, "221360009 "),
        (SNOMED, "24700007:{363698007=56459004}"),  # a postcoordinated expression is not an identifier
        (RXNORM, "01292"),
        (RXNORM, "1292a"),
        (RXNORM, "-1292"),
        (RXNORM, "١٢٩٢"),
        (ATC, "M03BX1"),
        (ATC, "m03bx01"),
        (ATC, "M3"),
        (ATC, "X03BX01"),  # X is not an ATC anatomical main group
        (ATC, "M03BX01 "),
    ],
)
def test_malformed_codes_are_invalid(system, code) -> None:
    reason = SYSTEMS[system].invalid(code)
    assert reason is not None and SYSTEMS[system].name in reason
    assert SYSTEMS[system].code_and_parents(code) == [code]  # no hierarchy walk on an invalid code


@pytest.mark.parametrize(
    ("system", "code", "chain"),
    [
        (ICD10CM, "G35.A", ["G35.A", "G35"]),
        (ICD10CM, "S14.109A", ["S14.109A", "S14.109", "S14.10", "S14.1", "S14"]),
        (ICD10CM, "G35", ["G35"]),  # a category: no chapter letters above it
        (ICD10CM, "O9A.11", ["O9A.11", "O9A.1", "O9A"]),
        (ATC, "M03BX01", ["M03BX01", "M03BX", "M03B", "M03", "M"]),  # the five ATC levels, not each character
        (ATC, "M03BX", ["M03BX", "M03B", "M03", "M"]),
        (SNOMED, "24700007", ["24700007"]),
        (RXNORM, "1292", ["1292"]),
    ],
)
def test_hierarchies_follow_the_code_system_structure(system, code, chain) -> None:
    assert SYSTEMS[system].invalid(code) is None
    assert SYSTEMS[system].code_and_parents(code) == chain


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10CM, "I63 - history, no stroke"),
        (ICD10CM, "G35\u0000"),
        (ICD10CM, "G35.A\u0000"),
        (ICD10CM, "G35 x"),
        (SNOMED, "24700007 "),
        (RXNORM, "01292"),
        (ATC, "M03BX01x"),
    ],
)
def test_a_malformed_code_in_a_patient_is_reported_never_resolved(service, system, code) -> None:
    coding = {"system": system, "code": code}
    medication = system in (RXNORM, ATC)
    result = service.evaluate_document(
        {
            "conditions": ["tkg:GeneralizedSpasticity", *([] if medication else [coding])],
            "current_therapies": [coding] if medication else [],
        }
    )
    terms = {c["term"] for c in result["conditions"]}
    assert terms == {"tkg:GeneralizedSpasticity"}
    [item] = result["unrecognized"]
    assert item["input"] == {"system": system, "code": code}
    assert f"not a valid {SYSTEMS[system].name} code" in item["reason"]


def test_the_adversarial_stroke_string_does_not_exclude_oral_baclofen(service) -> None:
    result = service.evaluate_document(
        {
            "age": 45,
            "conditions": [
                "tkg:MultipleSclerosis",
                "tkg:GeneralizedSpasticity",
                {"system": ICD10CM, "code": "I63 - history, no stroke"},
            ],
        }
    )
    status = {o["intervention"]: o["status"] for o in result["options"]}
    assert status["tkg:OralBaclofen"] == "deferred"
    assert "tkg:Benzodiazepine" not in status


def test_a_malformed_code_as_a_curie_is_reported(service) -> None:
    result = service.evaluate_document({"conditions": ["tkg:GeneralizedSpasticity", "ICD10CM:G35.A.B"]})
    [item] = result["unrecognized"]
    assert "not a valid ICD-10-CM code" in item["reason"]


def test_a_malformed_code_among_valid_codings_of_one_concept_leaves_the_valid_one(service) -> None:
    concept = {"coding": [{"system": ICD10CM, "code": "G35\u0000"}, {"system": SNOMED, "code": "24700007"}]}
    result = service.evaluate_document({"conditions": ["tkg:GeneralizedSpasticity", concept]})
    assert {c["term"] for c in result["conditions"]} == {"tkg:GeneralizedSpasticity", "tkg:MultipleSclerosis"}


def test_the_fhir_reader_reports_a_malformed_code_with_its_bundle_path(service) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"coding": [{"system": SNOMED, "code": "221360009"}]},
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c2",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"coding": [{"system": ICD10CM, "code": "I63 - history, no stroke"}]},
                }
            },
        ],
    }
    result = service.evaluate_document(bundle)
    assert {c["term"] for c in result["conditions"]} == {"tkg:Spasticity"}
    [item] = [u for u in result["unrecognized"] if u.get("source") == "entry[1].resource.code"]
    assert "not a valid ICD-10-CM code" in item["reason"]
