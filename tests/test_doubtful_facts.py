"""Doubtful facts are questions, not facts (issue 15, item 2).

Found by an adversarial run: a Condition whose clinicalStatus said "resolved" as text only, coded
in SNOMED CT instead of the FHIR code system, or with an abatement and no clinicalStatus, was
counted as current: a resolved stroke still excluded oral baclofen, and nothing was reported.
Now such a record never counts as current, and every answer that depends on it is undetermined
with the question in missing_information; both engines give the same answers.
"""

from __future__ import annotations

from datetime import date

import pytest

from kg.patient.fhir import read_bundle
from kg.service import TherapyKG

TODAY = date(2025, 6, 1)
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
STROKE = "230690007"
TKG = "https://w3id.org/therapy-kg/"
SUBJECT = {"reference": "Patient/p1"}


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def condition(code: str, id_: str, system: str = SNOMED, **extra) -> dict:
    return {
        "resourceType": "Condition",
        "id": id_,
        "subject": SUBJECT,
        "code": {"coding": [{"system": system, "code": code}]},
        **extra,
    }


def bundle(*resources: dict) -> dict:
    """A 45-year-old with multiple sclerosis and generalized spasticity, plus the given resources."""
    base = [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
        condition("24700007", "ms"),
        condition("GeneralizedSpasticity", "spasticity", TKG),
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (*base, *resources)]}


def statuses(evaluation: dict) -> dict[str, str]:
    return {o["intervention"]: o["status"] for o in evaluation["options"]}


def evaluate(service: TherapyKG, document: dict, engine: str = "fast") -> dict:
    return service.evaluate(read_bundle(document, TODAY), engine)


def coded(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


DOUBTFUL_STROKES = {
    "status as text only": {"clinicalStatus": {"text": "resolved"}},
    "status in SNOMED CT": {"clinicalStatus": coded(SNOMED, "413322009")},
    "status without a system": {"clinicalStatus": {"coding": [{"code": "resolved"}]}},
    "status in an unknown system": {"clinicalStatus": coded("http://example.org/status", "active")},
    "unknown FHIR status code": {"clinicalStatus": coded(CLINICAL, "cured")},
    "active and resolved at once": {
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}, {"system": CLINICAL, "code": "resolved"}]}
    },
    "abatement without status (con-4)": {"abatementDateTime": "2019-03-01"},
    "abatement string without status": {"abatementString": "after rehabilitation"},
    "active with an abatement (con-4)": {
        "clinicalStatus": coded(CLINICAL, "active"),
        "abatementDateTime": "2019-03-01",
    },
}


@pytest.mark.parametrize("extra", DOUBTFUL_STROKES.values(), ids=DOUBTFUL_STROKES.keys())
def test_a_stroke_not_clearly_current_is_a_question(service, extra) -> None:
    without = statuses(evaluate(service, bundle()))
    assert without["tkg:OralBaclofen"] == "deferred"  # the reference: no stroke at all
    evaluation = evaluate(service, bundle(condition(STROKE, "stroke", **extra)))
    found = statuses(evaluation)
    # the resolved stroke no longer excludes oral baclofen; it makes it undetermined
    assert found["tkg:OralBaclofen"] == "undetermined"
    assert found["tkg:Benzodiazepine"] == "undetermined"
    assert {i: s for i, s in found.items() if i not in ("tkg:OralBaclofen", "tkg:Benzodiazepine")} == {
        i: s for i, s in without.items() if i != "tkg:OralBaclofen"
    }
    assert "tkg:Stroke" not in {c["term"] for c in evaluation["conditions"]}
    [question] = [q for q in evaluation["missing_information"] if q.get("candidates") == ["tkg:Stroke"]]
    assert question["question"] == "Is the stroke current?"
    assert question["field"] == "conditions"
    assert question["options"] == ["tkg:Benzodiazepine", "tkg:OralBaclofen"]
    # the spasticity's options it would change, and oral baclofen for the stroke itself, which it would add
    assert [(a["indication"], a["intervention"]) for a in question["affects"]] == [
        ("tkg:GeneralizedSpasticity", "tkg:Benzodiazepine"),
        ("tkg:GeneralizedSpasticity", "tkg:OralBaclofen"),
        ("tkg:Stroke", "tkg:OralBaclofen"),
    ]
    assert question["sources"] == ["entry[3]"]
    [reported] = [u for u in evaluation["unrecognized"] if u["field"] == "entry[3]"]
    assert reported["input"] == {"resourceType": "Condition", "id": "stroke"}
    assert reported["term"] == "tkg:Stroke"
    assert "not counted as current" in reported["reason"]
    baclofen = next(
        o
        for o in evaluation["options"]
        if o["intervention"] == "tkg:OralBaclofen" and o["indication"]["term"] == "tkg:GeneralizedSpasticity"
    )
    assert baclofen["preferred"] is False
    [depends] = baclofen["depends_on"]
    # were the stroke current, the spasticity could result from it or from the MS: undetermined, not excluded
    assert (depends["term"], depends["status_if_current"], depends["status_otherwise"]) == (
        "tkg:Stroke",
        "undetermined",
        "deferred",
    )
    depending = [r for r in baclofen["reasons"] if r.get("effect") == "depends-on"]
    assert [r["statement"] for r in depending] == ["tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson"]
    assert depending[0]["applies"] == "possibly" and depending[0]["depends_on"] == ["tkg:Stroke"]


@pytest.mark.parametrize("code", ["active", "recurrence", "relapse"])
def test_a_clearly_current_stroke_still_excludes_oral_baclofen(service, code) -> None:
    evaluation = evaluate(service, bundle(condition(STROKE, "stroke", clinicalStatus=coded(CLINICAL, code))))
    assert statuses(evaluation)["tkg:OralBaclofen"] == "excluded"
    assert not any(q.get("candidates") == ["tkg:Stroke"] for q in evaluation["missing_information"])


def test_a_stroke_coded_resolved_in_the_fhir_system_is_reported_and_not_used(service) -> None:
    evaluation = evaluate(service, bundle(condition(STROKE, "stroke", clinicalStatus=coded(CLINICAL, "resolved"))))
    assert statuses(evaluation) == statuses(evaluate(service, bundle()))
    assert not any(q.get("candidates") == ["tkg:Stroke"] for q in evaluation["missing_information"])
    [reported] = [u for u in evaluation["unrecognized"] if u["field"] == "entry[3]"]
    assert "clinicalStatus resolved" in reported["reason"]


@pytest.mark.parametrize("code", ["unconfirmed", "provisional", "differential"])
def test_an_unconfirmed_diagnosis_asks_whether_it_is_confirmed(service, code) -> None:
    evaluation = evaluate(service, bundle(condition(STROKE, "stroke", verificationStatus=coded(VERIFICATION, code))))
    assert statuses(evaluation)["tkg:OralBaclofen"] == "undetermined"
    [question] = [q for q in evaluation["missing_information"] if q.get("candidates") == ["tkg:Stroke"]]
    assert question["question"] == "Is the stroke a confirmed diagnosis?"


@pytest.mark.parametrize("code", ["refuted", "entered-in-error"])
def test_a_refuted_diagnosis_is_reported_not_used_and_not_asked(service, code) -> None:
    evaluation = evaluate(
        service,
        bundle(condition(STROKE, "stroke", verificationStatus=coded(VERIFICATION, code), clinicalStatus={"text": "?"})),
    )
    assert statuses(evaluation) == statuses(evaluate(service, bundle()))
    assert evaluation["missing_information"] == evaluate(service, bundle())["missing_information"]
    assert any(u["field"] == "entry[3]" and code in u["reason"] for u in evaluation["unrecognized"])


def test_the_only_spasticity_doubtful_leaves_every_spasticity_option_undetermined(service) -> None:
    document = bundle()
    document["entry"][2]["resource"]["clinicalStatus"] = {"text": "active"}
    evaluation = evaluate(service, document)
    assert evaluation["options"] and set(statuses(evaluation).values()) == {"undetermined"}
    [question] = [q for q in evaluation["missing_information"] if q.get("candidates") == ["tkg:GeneralizedSpasticity"]]
    assert question["question"] == "Is the generalized spasticity current?"


def test_two_records_of_one_doubtful_class_are_one_question(service) -> None:
    evaluation = evaluate(
        service,
        bundle(
            condition(STROKE, "s1", clinicalStatus={"text": "old"}),
            condition(STROKE, "s2", abatementDateTime="2020-01-01"),
        ),
    )
    [question] = [q for q in evaluation["missing_information"] if q.get("candidates") == ["tkg:Stroke"]]
    assert question["sources"] == ["entry[3]", "entry[4]"]


@pytest.mark.parametrize("status", ["unknown", "bogus-status"])
def test_a_medication_of_unreadable_status_is_asked_about(service, status) -> None:
    diazepam = {
        "resourceType": "MedicationStatement",
        "id": "dz",
        "status": status,
        "subject": SUBJECT,
        "medicationCodeableConcept": coded(RXNORM, "3322"),
    }
    stroke = condition(STROKE, "stroke", clinicalStatus=coded(CLINICAL, "active"))
    evaluation = evaluate(service, bundle(stroke, diazepam))
    certain = evaluate(service, bundle(stroke, {**diazepam, "status": "active"}))
    assert any(
        w["kind"] == "current-therapy-excluded" and w["intervention"] == "tkg:Diazepam" for w in certain["warnings"]
    )
    [warning] = [w for w in evaluation["warnings"] if w["intervention"] == "tkg:Diazepam"]
    assert (warning["kind"], warning["applies"], warning["depends_on"]) == (
        "current-therapy-excluded",
        "possibly",
        ["tkg:Diazepam"],
    )
    [question] = [q for q in evaluation["missing_information"] if q.get("candidates") == ["tkg:Diazepam"]]
    assert question["question"] == "Does the patient currently receive diazepam?"
    assert question["field"] == "current_therapies"
    assert question["warnings"] == ["current-therapy-excluded"]
    assert any(u["field"] == "entry[4]" and "cannot be read" in u["reason"] for u in evaluation["unrecognized"])


def test_both_engines_settle_doubtful_facts_alike(service) -> None:
    document = bundle(
        condition(STROKE, "stroke", clinicalStatus={"text": "resolved"}),
        condition("78275009", "osa", abatementDateTime="2021-01-01"),
    )
    fast, owl = evaluate(service, document), evaluate(service, document, "owl")
    assert {k: v for k, v in fast.items() if k != "engine"} == {k: v for k, v in owl.items() if k != "engine"}


def test_the_json_of_a_doubtful_evaluation_is_the_document(service) -> None:
    import orjson

    reading = read_bundle(bundle(condition(STROKE, "stroke", clinicalStatus={"text": "resolved"})), TODAY)
    assert orjson.loads(service.evaluate_many_json([reading])[0]) == service.evaluate(reading)


def test_a_patient_json_document_has_no_doubtful_facts(service) -> None:
    evaluation = service.evaluate_document(
        {"age": 45, "conditions": ["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity", "tkg:Stroke"]}
    )
    assert statuses(evaluation)["tkg:OralBaclofen"] == "excluded"
    assert all("depends_on" not in o for o in evaluation["options"])
