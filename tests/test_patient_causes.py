"""What causes a condition (SPEC §4, issue 10 item 3): `due_to` in the patient document, and the rule for a
record that names no cause (one recorded candidate is the cause; several: undetermined; none: unknown).
"""

from __future__ import annotations

import pytest

from kg.errors import PatientInputError
from kg.patient.document import parse_patient
from kg.service import TherapyKG

SCI = {"system": "http://snomed.info/sct", "code": "90584004"}


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def _conditions(service: TherapyKG, conditions: list[object]) -> dict[str, dict]:
    resolution = service.resolver.resolve(parse_patient({"conditions": conditions}))
    return {c["term"]: c for c in resolution.resolved}


@pytest.mark.parametrize(
    ("conditions", "basis", "due_to", "candidates"),
    [
        # stated: the record says what the spasticity results from, even with another candidate recorded
        (
            [{"condition": "tkg:GeneralizedSpasticity", "due_to": "tkg:SpinalCordInjury"}, "tkg:Stroke"],
            "stated",
            ["tkg:SpinalCordInjury"],
            [],
        ),
        # one recorded candidate cause is the cause
        (["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity"], "sole-candidate", ["tkg:MultipleSclerosis"], []),
        # several: undetermined among them
        (
            ["tkg:MultipleSclerosis", "tkg:Stroke", "tkg:FocalSpasticity"],
            "undetermined",
            [],
            ["tkg:MultipleSclerosis", "tkg:Stroke"],
        ),
        # none: nothing recorded could be the cause (Parkinson disease is not a candidate cause of spasticity)
        (["tkg:ParkinsonDisease", "tkg:Spasticity"], "none-recorded", [], []),
    ],
    ids=["stated", "sole-candidate", "undetermined", "none-recorded"],
)
def test_the_cause_of_spasticity(service, conditions, basis, due_to, candidates) -> None:
    resolved = _conditions(service, conditions)
    spasticity = next(c for term, c in resolved.items() if "Spasticity" in term)
    assert spasticity["cause"]["basis"] == basis
    assert [c["term"] for c in spasticity["cause"]["due_to"]] == due_to
    assert [c["term"] for c in spasticity["cause"]["candidates"]] == candidates


def test_a_stated_cause_is_a_recorded_condition_and_can_be_a_code(service) -> None:
    resolution = service.resolver.resolve(
        parse_patient({"conditions": [{"condition": "tkg:GeneralizedSpasticity", "due_to": SCI}]})
    )
    facts = resolution.facts
    assert "https://w3id.org/therapy-kg/SpinalCordInjury" in facts.conditions
    assert facts.due_to == {
        ("https://w3id.org/therapy-kg/GeneralizedSpasticity", "https://w3id.org/therapy-kg/SpinalCordInjury")
    }
    fields = {c["field"]: c["term"] for c in resolution.resolved}
    assert fields == {
        "conditions[0].condition": "tkg:GeneralizedSpasticity",
        "conditions[0].due_to": "tkg:SpinalCordInjury",
    }


def test_conditions_without_candidate_causes_carry_no_cause(service) -> None:
    resolved = _conditions(service, ["tkg:RheumaticMuscleSpasm", "tkg:Stroke"])
    assert all("cause" not in c for c in resolved.values())


def test_an_unknown_cause_is_an_error_naming_its_field_and_an_unmapped_code_is_reported(service) -> None:
    with pytest.raises(PatientInputError) as refused:
        service.resolver.resolve(
            parse_patient({"conditions": [{"condition": "tkg:Spasticity", "due_to": "tkg:NoSuchCondition"}]})
        )
    assert refused.value.field == "conditions[0].due_to"
    with pytest.raises(PatientInputError, match="is not a condition"):
        service.resolver.resolve(
            parse_patient({"conditions": [{"condition": "tkg:Spasticity", "due_to": "tkg:Stretching"}]})
        )
    unmapped = {"system": "http://snomed.info/sct", "code": "38341003"}
    resolution = service.resolver.resolve(
        parse_patient({"conditions": [{"condition": "tkg:Spasticity", "due_to": unmapped}]})
    )
    assert [u["field"] for u in resolution.unrecognized] == ["conditions[0].due_to"]
    assert resolution.facts.due_to == frozenset()  # no pair without both ends


def test_an_entry_with_a_cause_and_nothing_else_is_refused(service) -> None:
    with pytest.raises(PatientInputError) as refused:
        parse_patient({"conditions": [{"condition": "tkg:Spasticity", "due_to": "tkg:Stroke", "since": "2020"}]})
    assert refused.value.field.startswith("conditions.0")


# ---------------------------------------------------------------------------------- FHIR: condition-dueTo
DUE_TO = "http://hl7.org/fhir/StructureDefinition/condition-dueTo"
SNOMED = "http://snomed.info/sct"


def _condition(cid: str, code: str, **extra: object) -> dict:
    return {
        "fullUrl": f"urn:uuid:{cid}",
        "resource": {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "code": {"coding": [{"system": SNOMED, "code": code}]},
            "subject": {"reference": "Patient/p1"},
            **extra,
        },
    }


def _bundle(*conditions: dict) -> dict:
    patient = {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}}
    return {"resourceType": "Bundle", "type": "collection", "entry": [patient, *conditions]}


SPASTICITY, STROKE, MS = "221360009", "230690007", "24700007"


def test_a_fhir_condition_names_its_cause_by_reference(service) -> None:
    due_to = {"url": DUE_TO, "valueReference": {"reference": "Condition/stroke"}}
    bundle = _bundle(
        _condition("sp", SPASTICITY, extension=[due_to]), _condition("stroke", STROKE), _condition("ms", MS)
    )
    evaluation = service.evaluate_document(bundle)
    spasticity = next(c for c in evaluation["conditions"] if c["term"] == "tkg:Spasticity")
    assert spasticity["cause"]["basis"] == "stated"
    assert [c["term"] for c in spasticity["cause"]["due_to"]] == ["tkg:Stroke"]


def test_a_fhir_condition_names_its_cause_by_code_and_an_unmapped_one_is_reported_where_it_is(service) -> None:
    due_to = {"url": DUE_TO, "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": MS}]}}
    evaluation = service.evaluate_document(_bundle(_condition("sp", SPASTICITY, extension=[due_to])))
    spasticity = next(c for c in evaluation["conditions"] if c["term"] == "tkg:Spasticity")
    assert (
        spasticity["cause"]["basis"] == "stated" and spasticity["cause"]["due_to"][0]["term"] == "tkg:MultipleSclerosis"
    )
    unmapped = {"url": DUE_TO, "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "38341003"}]}}
    evaluation = service.evaluate_document(_bundle(_condition("sp", SPASTICITY, extension=[unmapped])))
    (item,) = [u for u in evaluation["unrecognized"] if u["field"] == "conditions[0].due_to"]
    assert item["source"] == "entry[1].resource.extension[0].valueCodeableConcept"


def test_a_fhir_cause_that_is_not_in_the_bundle_is_an_error_naming_the_extension(service) -> None:
    due_to = {"url": DUE_TO, "valueReference": {"reference": "Condition/elsewhere"}}
    with pytest.raises(PatientInputError) as refused:
        service.evaluate_document(_bundle(_condition("sp", SPASTICITY, extension=[due_to])))
    assert refused.value.field == "entry[1].resource.extension[0].valueReference"
