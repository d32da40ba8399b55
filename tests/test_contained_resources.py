"""Contained resources are read or reported, never dropped (issue 15, item 3).

Found by an adversarial run: a Condition present only as a `contained` resource was dropped
silently. FHIR: a contained resource is part of its container and has no existence of its own.
The Medication a `medicationReference` names by `#id` is read; a contained Condition is not a
problem-list entry, so it never counts as current, and is a doubtful fact, asked about; anything
else contained is reported with its path.
"""

from __future__ import annotations

from datetime import date

import pytest

from kg.patient.fhir import read_bundle
from kg.service import TherapyKG

TODAY = date(2025, 6, 1)
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TKG = "https://w3id.org/therapy-kg/"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
SUBJECT = {"reference": "Patient/p1"}


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def coded(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def condition(system: str, code: str, id_: str, **extra) -> dict:
    return {"resourceType": "Condition", "id": id_, "subject": SUBJECT, "code": coded(system, code), **extra}


def bundle(*resources: dict, spasticity: bool = True) -> dict:
    base = [{"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"}, condition(SNOMED, "24700007", "ms")]
    if spasticity:
        base.append(condition(TKG, "GeneralizedSpasticity", "spasticity"))
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (*base, *resources)]}


def order(*contained: dict, **extra) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "rx",
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "contained": list(contained),
        **({"medicationCodeableConcept": coded(RXNORM, "3105")} | extra),
    }


def evaluate(service: TherapyKG, document: dict) -> dict:
    return service.evaluate(read_bundle(document, TODAY))


def statuses(evaluation: dict) -> dict[str, str]:
    return {o["intervention"]: o["status"] for o in evaluation["options"]}


def test_a_contained_condition_is_reported_with_its_path_and_asked_about(service) -> None:
    stroke = condition(SNOMED, "230690007", "why")
    evaluation = evaluate(service, bundle(order(stroke, reasonReference=[{"reference": "#why"}])))
    assert "tkg:Stroke" not in {c["term"] for c in evaluation["conditions"]}
    [reported] = [u for u in evaluation["unrecognized"] if u["field"] == "entry[3].resource.contained[0]"]
    assert reported["input"] == {"resourceType": "Condition", "id": "why"}
    assert reported["term"] == "tkg:Stroke"
    assert "not a problem-list entry of its own" in reported["reason"]
    assert statuses(evaluation)["tkg:OralBaclofen"] == "undetermined"
    [question] = [q for q in evaluation["missing_information"] if q.get("candidates") == ["tkg:Stroke"]]
    assert question["question"] == "Is the stroke current?"
    assert question["sources"] == ["entry[3].resource.contained[0]"]


def test_a_condition_contained_in_an_unread_resource_is_reported(service) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "tone"},
        "contained": [condition(SNOMED, "230690007", "c1")],
    }
    evaluation = evaluate(service, bundle(observation))
    fields = {u["field"] for u in evaluation["unrecognized"]}
    assert {"entry[3]", "entry[3].resource.contained[0]"} <= fields


def test_a_contained_condition_resolved_in_the_fhir_system_is_reported_not_asked(service) -> None:
    stroke = condition(SNOMED, "230690007", "old", clinicalStatus=coded(CLINICAL, "resolved"))
    evaluation = evaluate(service, bundle(order(stroke)))
    [reported] = [u for u in evaluation["unrecognized"] if u["field"] == "entry[3].resource.contained[0]"]
    assert "clinicalStatus resolved" in reported["reason"]
    assert statuses(evaluation)["tkg:OralBaclofen"] == "deferred"
    assert not any(q.get("candidates") == ["tkg:Stroke"] for q in evaluation["missing_information"])


def test_other_contained_resources_are_reported(service) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": coded(RXNORM, "3322"),
    }
    unused = {"resourceType": "Medication", "id": "m9", "code": coded(RXNORM, "1292")}
    evaluation = evaluate(service, bundle(order(statement, unused)))
    by_field = {u["field"]: u for u in evaluation["unrecognized"]}
    assert by_field["entry[3].resource.contained[0]"]["input"] == {"resourceType": "MedicationStatement", "id": "ms1"}
    assert "not a record of its own" in by_field["entry[3].resource.contained[0]"]["reason"]
    assert by_field["entry[3].resource.contained[1]"]["input"] == {"resourceType": "Medication", "id": "m9"}
    reading = read_bundle(bundle(order(statement, unused)), TODAY)
    assert len(reading.patient.current_therapies) == 1  # the order's own dantrolene, not the contained diazepam


def test_a_contained_medication_named_by_the_order_is_read_and_not_reported(service) -> None:
    medication = {"resourceType": "Medication", "id": "m1", "code": coded(RXNORM, "1292")}
    rx = order(medication, medicationReference={"reference": "#m1"})
    del rx["medicationCodeableConcept"]
    reading = read_bundle(bundle(rx), TODAY)
    assert reading.sources["current_therapies"] == ["entry[3].resource.contained[0].code"]
    assert reading.report == []


def test_a_bundle_whose_only_spasticity_is_contained_is_evaluated_not_refused(service) -> None:
    spasticity = condition(TKG, "GeneralizedSpasticity", "sp")
    evaluation = evaluate(service, bundle(order(spasticity), spasticity=False))
    assert evaluation["options"]
    assert statuses(evaluation)["tkg:Stretching"] == statuses(evaluation)["tkg:Tizanidine"] == "undetermined"
    assert any(q.get("candidates") == ["tkg:GeneralizedSpasticity"] for q in evaluation["missing_information"])


def test_a_bundle_whose_only_condition_is_contained_is_evaluated(service) -> None:
    document = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": order(condition(TKG, "GeneralizedSpasticity", "sp"))}],
    }
    evaluation = evaluate(service, document)
    assert evaluation["conditions"] == []
    assert evaluation["options"] and {o["status"] for o in evaluation["options"]} == {"undetermined"}
