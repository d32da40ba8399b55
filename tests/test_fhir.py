"""FHIR R4 Bundles read into the patient document (SPEC §4) with fhir.resources' R4B models."""

from __future__ import annotations

import copy
import io
import json
from datetime import date
from pathlib import Path

import pytest

from kg.errors import PatientInputError
from kg.patient.document import MAX_BUNDLE_TERMS, Concept
from kg.patient.fhir import bundle_to_patient, bundle_to_patient_with_report, read_bundle
from kg.service import TherapyKG

FHIR_DIR = Path(__file__).parent / "data" / "fhir"
EXAMPLES = sorted(p.stem for p in FHIR_DIR.glob("*.json"))
TODAY = date(2025, 6, 1)
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
FAKE = "http://example.org/codes"


def example(name: str) -> dict:
    return json.loads((FHIR_DIR / f"{name}.json").read_text(encoding="utf-8"))


def codes(concept: Concept) -> list[tuple[str, str]]:
    return [(c.system, c.code) for c in concept.coding]


def bundle_of(*resources: dict, patient: dict | None = None) -> dict:
    """A collection Bundle: a Patient (unless `patient={}`) and the given resources."""
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"} if patient is None else patient
    entries = ([{"resource": patient}] if patient else []) + [{"resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def condition(code: str = "221360009", system: str = SNOMED, **extra) -> dict:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
        **extra,
    }


def medication_statement(status: str = "active", **extra) -> dict:
    medication = (
        {}
        if "medicationReference" in extra
        else {"medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1292"}]}}
    )
    return {
        "resourceType": "MedicationStatement",
        "status": status,
        "subject": {"reference": "Patient/p1"},
        **medication,
        **extra,
    }


def medication_request(status: str = "active", intent: str = "order", **extra) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": intent,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "3322"}]},
        **extra,
    }


def procedure(status: str = "completed") -> dict:
    return {
        "resourceType": "Procedure",
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": FAKE, "code": "stretching"}]},
    }


def status_concept(system_name: str, code: str) -> dict:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system_name}", "code": code}]}


# --- the example bundles -------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_bundles_read(name) -> None:
    reading = read_bundle(example(name), TODAY)
    assert reading.patient.conditions
    for field_name, paths in reading.sources.items():  # the causes' paths go index for index with conditions
        assert len(paths) == len(getattr(reading.patient, field_name.removesuffix(".due_to")))


def test_ms_bundle() -> None:
    patient, report = bundle_to_patient_with_report(example("ms-spasticity"), TODAY)
    assert (patient.id, patient.age) == ("ms-001", 50)
    assert [codes(c) for c in patient.conditions] == [
        [(ICD10CM, "G35"), (SNOMED, "24700007")],
        [(SNOMED, "221360009")],
    ]
    assert patient.conditions[0].text == "Relapsing-remitting multiple sclerosis"
    assert patient.conditions[0].coding[0].display == "Multiple sclerosis"
    assert [codes(c) for c in patient.current_therapies] == [[(RXNORM, "1292")]]
    assert [codes(c) for c in patient.therapies_tried] == [[(FAKE, "stretching-programme")]]
    assert patient.findings == []
    assert report == []


def test_stroke_bundle_resolves_contained_and_bundled_medications() -> None:
    reading = read_bundle(example("stroke-hemiplegia"), TODAY)
    patient = reading.patient
    assert (patient.id, patient.age) == ("stroke-001", 72)
    assert [codes(c)[0] for c in patient.conditions] == [(SNOMED, "230690007"), (SNOMED, "50582007")]
    # MedicationRequest → bundled Medication by its urn:uuid fullUrl
    assert [codes(c) for c in patient.current_therapies] == [[(RXNORM, "1292")]]
    assert reading.sources["current_therapies"] == ["entry[4].resource.code"]
    # stopped MedicationStatement → contained Medication "#med1"
    assert [codes(c) for c in patient.therapies_tried] == [[(RXNORM, "3322")]]
    assert reading.sources["therapies_tried"] == ["entry[6].resource.contained[0].code"]
    # the resolved wrist fracture is left out and said so; the referenced Medication is not reported
    assert reading.report == [
        {
            "field": "entry[3]",
            "input": {"resourceType": "Condition", "id": "old-fracture"},
            "reason": "clinicalStatus resolved: not a current condition",
        }
    ]


def test_observations_are_reported_without_their_values() -> None:
    patient, report = bundle_to_patient_with_report(example("observation-unknown-code"), TODAY)
    assert [codes(c) for c in patient.conditions] == [[(SNOMED, "221360009")], [(FAKE, "LOCAL-17")]]
    assert patient.findings == []
    by_field = {r["field"]: r for r in report}
    assert by_field["entry[3]"]["input"] == {"resourceType": "Observation", "id": "ashworth"}
    assert "Observation resources are not read" in by_field["entry[3]"]["reason"]
    assert "Ashworth" not in json.dumps(report) and "valueInteger" not in json.dumps(report)
    # year-only birthDate: the youngest age, and a note saying so
    assert patient.age == 44
    assert "44 or 45" in by_field["entry[0].resource.birthDate"]["reason"]


def test_bundle_to_patient_returns_the_model_only() -> None:
    bundle = example("observation-unknown-code")
    assert bundle_to_patient(bundle, TODAY) == bundle_to_patient_with_report(bundle, TODAY)[0]


def test_the_input_bundle_is_not_modified() -> None:
    bundle = example("stroke-hemiplegia")
    before = copy.deepcopy(bundle)
    read_bundle(bundle, TODAY)
    assert bundle == before


# --- age -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "today", "age"),
    [
        ("1970-06-01", date(2025, 6, 1), 55),  # birthday today
        ("1970-06-02", date(2025, 6, 1), 54),  # birthday tomorrow
        ("2025-06-01", date(2025, 6, 1), 0),  # born today
        ("2000-02-29", date(2023, 2, 28), 22),  # leap-day birthday, common year: completed on 1 March
        ("2000-02-29", date(2023, 3, 1), 23),
        ("2000-02-29", date(2024, 2, 29), 24),
        ("2000-02-29", date(2024, 2, 28), 23),
        ("1960", date(2025, 6, 1), 64),  # year only: 64 or 65, the youngest taken
        ("1960", date(2025, 12, 31), 65),  # the last day of the year: no doubt left
        ("2025", date(2025, 6, 1), 0),  # born this year
        ("1960-06", date(2025, 6, 15), 64),  # year-month, birthday month: 64 or 65
        ("1960-05", date(2025, 6, 15), 65),  # birthday month over
        ("1961-02", date(2026, 2, 28), 65),  # February's last day
        ("1960-02", date(2025, 2, 28), 64),  # ... but 1960 was a leap year: born 29 February?
        ("1895-06-01", date(2025, 6, 1), 130),
    ],
)
def test_age_in_completed_years(birth_date, today, age) -> None:
    bundle = bundle_of(condition(), patient={"resourceType": "Patient", "birthDate": birth_date})
    assert bundle_to_patient(bundle, today).age == age


@pytest.mark.parametrize(
    ("birth_date", "words"),
    [
        ("2025-06-02", "after the evaluation date"),
        ("2026", "after the evaluation date"),
        ("1894-06-01", "ages run from 0 to 130"),
        ("1800", "ages run from 0 to 130"),
    ],
)
def test_age_outside_0_to_130_is_an_error(birth_date, words) -> None:
    bundle = bundle_of(condition(), patient={"resourceType": "Patient", "birthDate": birth_date})
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle, TODAY)
    assert caught.value.field == "Patient.birthDate"
    assert words in str(caught.value)


def test_no_patient_means_age_unknown() -> None:
    patient = bundle_to_patient(bundle_of(condition(), patient={}), TODAY)
    assert (patient.id, patient.age) == (None, None)


def test_a_patient_without_birth_date_has_unknown_age() -> None:
    patient = bundle_to_patient(bundle_of(condition(), patient={"resourceType": "Patient", "id": "p1"}), TODAY)
    assert (patient.id, patient.age) == ("p1", None)


def test_today_defaults_to_the_current_date() -> None:
    patient = bundle_to_patient(bundle_of(condition(), patient={"resourceType": "Patient", "birthDate": "1970-01-01"}))
    assert patient.age == date.today().year - 1970


def test_two_patients_are_an_error() -> None:
    bundle = bundle_of(condition(), {"resourceType": "Patient", "id": "p2"})
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle, TODAY)
    assert caught.value.field == "Patient"
    assert "entry[0], entry[2]" in str(caught.value)


def test_a_resource_about_another_patient_is_an_error() -> None:
    other = condition("24700007", subject={"reference": "Patient/p2"})
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle_of(condition(), other), TODAY)
    assert caught.value.field == "entry[2].resource.subject"


# --- status filtering -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "kept"),
    [
        ({}, True),
        ({"clinicalStatus": status_concept("condition-clinical", "active")}, True),
        ({"clinicalStatus": status_concept("condition-clinical", "recurrence")}, True),
        ({"clinicalStatus": status_concept("condition-clinical", "relapse")}, True),
        ({"clinicalStatus": status_concept("condition-clinical", "inactive")}, False),
        ({"clinicalStatus": status_concept("condition-clinical", "resolved")}, False),
        ({"clinicalStatus": status_concept("condition-clinical", "remission")}, False),
        ({"verificationStatus": status_concept("condition-ver-status", "confirmed")}, True),
        # doubtful, not used: evaluated both ways and asked about (tests/test_doubtful_facts.py)
        ({"verificationStatus": status_concept("condition-ver-status", "provisional")}, False),
        ({"verificationStatus": status_concept("condition-ver-status", "differential")}, False),
        ({"verificationStatus": status_concept("condition-ver-status", "refuted")}, False),
        ({"verificationStatus": status_concept("condition-ver-status", "entered-in-error")}, False),
    ],
)
def test_condition_status_filter(extra, kept) -> None:
    patient, report = bundle_to_patient_with_report(bundle_of(condition("24700007"), condition(**extra)), TODAY)
    assert len(patient.conditions) == (2 if kept else 1)
    assert [r["field"] for r in report] == ([] if kept else ["entry[2]"])


@pytest.mark.parametrize(
    ("status", "target"),
    [
        ("active", "current_therapies"),
        ("completed", "therapies_tried"),
        ("stopped", "therapies_tried"),
        ("on-hold", "therapies_tried"),
        ("entered-in-error", None),
        ("not-taken", None),
        ("intended", None),
        ("unknown", None),
    ],
)
def test_medication_statement_status(status, target) -> None:
    patient, report = bundle_to_patient_with_report(bundle_of(condition(), medication_statement(status)), TODAY)
    placed = {name: len(getattr(patient, name)) for name in ("current_therapies", "therapies_tried")}
    assert placed == {name: int(name == target) for name in placed}
    assert [r["field"] for r in report] == ([] if target else ["entry[2]"])
    if target is None:
        assert f"status {status}" in report[0]["reason"]


@pytest.mark.parametrize(
    ("resource", "target"),
    [
        (medication_request("active"), "current_therapies"),
        (medication_request("completed"), "therapies_tried"),
        (medication_request("stopped"), "therapies_tried"),
        (medication_request("on-hold"), None),
        (medication_request("cancelled"), None),
        (medication_request("draft"), None),
        (medication_request("entered-in-error"), None),
        (medication_request("active", intent="original-order"), "current_therapies"),
        (medication_request("active", intent="proposal"), None),
        (medication_request("active", intent="plan"), None),
        (medication_request("active", doNotPerform=True), None),
    ],
)
def test_medication_request_status_and_intent(resource, target) -> None:
    patient, report = bundle_to_patient_with_report(bundle_of(condition(), resource), TODAY)
    placed = {name: len(getattr(patient, name)) for name in ("current_therapies", "therapies_tried")}
    assert placed == {name: int(name == target) for name in placed}
    assert [r["field"] for r in report] == ([] if target else ["entry[2]"])


@pytest.mark.parametrize(
    ("status", "tried"),
    [
        ("completed", True),
        ("in-progress", True),
        ("stopped", True),
        ("on-hold", True),
        ("preparation", False),
        ("not-done", False),
        ("entered-in-error", False),
        ("unknown", False),
    ],
)
def test_procedure_status(status, tried) -> None:
    patient, report = bundle_to_patient_with_report(bundle_of(condition(), procedure(status)), TODAY)
    assert len(patient.therapies_tried) == int(tried)
    assert patient.current_therapies == []
    assert len(report) == int(not tried)


def test_a_bundle_without_a_usable_condition_or_a_current_medication_is_an_error() -> None:
    resolved = condition(clinicalStatus=status_concept("condition-clinical", "resolved"))
    for bundle in (bundle_of(), bundle_of(resolved, medication_statement("completed"))):
        with pytest.raises(PatientInputError) as caught:
            bundle_to_patient(bundle, TODAY)
        assert caught.value.field == "Condition"
    assert "1 Condition entry was skipped" in str(caught.value)


def test_a_medication_list_alone_is_read() -> None:
    """SPEC §4: conditions may be empty when a therapy is current (its withdrawal and monitoring still apply)."""
    resolved = condition(clinicalStatus=status_concept("condition-clinical", "resolved"))
    patient, report = bundle_to_patient_with_report(bundle_of(resolved, medication_statement()), TODAY)
    assert patient.conditions == [] and len(patient.current_therapies) == 1
    assert [r["field"] for r in report] == ["entry[1]"]  # the resolved condition, reported


def test_text_only_and_uncoded_conditions_are_reported() -> None:
    text_only = {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}, "code": {"text": "spastic legs"}}
    uncoded = {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}}
    _, report = bundle_to_patient_with_report(bundle_of(condition(), text_only, uncoded), TODAY)
    assert [r["field"] for r in report] == ["entry[2]", "entry[3]"]
    assert "text alone is not read" in report[0]["reason"]
    assert "without a code" in report[1]["reason"]
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle_of(text_only), TODAY)
    assert caught.value.field == "Condition"


def test_a_coding_without_a_system_is_reported_and_the_others_kept() -> None:
    mixed = condition()
    mixed["code"]["coding"].insert(0, {"code": "G35"})
    patient, report = bundle_to_patient_with_report(bundle_of(mixed), TODAY)
    assert [codes(c) for c in patient.conditions] == [[(SNOMED, "221360009")]]
    assert [r["field"] for r in report] == ["entry[1].resource.code.coding[0]"]


def test_other_resource_types_are_reported_not_dropped() -> None:
    bundle = bundle_of(
        condition(),
        {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p1"}},
        {"resourceType": "Medication", "id": "unused", "code": {"text": "baclofen"}},
    )
    bundle["entry"].append({"fullUrl": "urn:uuid:0d8f3c43-1b9a-4c55-8a0e-1f2c3d4e5f60"})
    _, report = bundle_to_patient_with_report(bundle, TODAY)
    assert [(r["field"], r["input"]) for r in report] == [
        ("entry[2]", {"resourceType": "AllergyIntolerance", "id": "a1"}),
        ("entry[4]", {}),
        ("entry[3]", {"resourceType": "Medication", "id": "unused"}),
    ]
    assert "no MedicationStatement or MedicationRequest read here refers to" in report[2]["reason"]


# --- medication references ------------------------------------------------------------------------


def contained_medication(id_: str = "m1", code: str = "3322") -> dict:
    return {"resourceType": "Medication", "id": id_, "code": {"coding": [{"system": RXNORM, "code": code}]}}


def test_a_contained_medication_is_read() -> None:
    statement = medication_statement(
        "completed", contained=[contained_medication()], medicationReference={"reference": "#m1"}
    )
    reading = read_bundle(bundle_of(condition(), statement), TODAY)
    assert [codes(c) for c in reading.patient.therapies_tried] == [[(RXNORM, "3322")]]
    assert reading.sources["therapies_tried"] == ["entry[2].resource.contained[0].code"]


@pytest.mark.parametrize(
    "reference",
    ["Medication/m1", "urn:uuid:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "Medication/m1/_history/2"],
)
def test_a_bundled_medication_is_read(reference) -> None:
    bundle = bundle_of(condition(), medication_request(medicationReference={"reference": reference}))
    del bundle["entry"][2]["resource"]["medicationCodeableConcept"]
    bundle["entry"].append(
        {"fullUrl": "urn:uuid:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "resource": contained_medication()}
    )
    reading = read_bundle(bundle, TODAY)
    assert [codes(c) for c in reading.patient.current_therapies] == [[(RXNORM, "3322")]]
    assert reading.sources["current_therapies"] == ["entry[3].resource.code"]
    assert reading.report == []


@pytest.mark.parametrize(
    ("contained", "reference", "words"),
    [
        ([], "#m1", "no contained resource has id 'm1'"),
        ([contained_medication("m2")], "#m1", "no contained resource has id 'm1'"),
        ([], "Medication/m9", "neither a contained resource nor in the Bundle"),
        ([], "https://fhir.example.org/r4/Medication/m9", "neither a contained resource nor in the Bundle"),
        ([], "Patient/p1", "refers to a Patient, not a Medication"),
        ([{"resourceType": "Substance", "id": "m1", "code": {"text": "x"}}], "#m1", "refers to a Substance"),
        ([], None, "has no reference"),
    ],
)
def test_an_unresolvable_medication_reference_is_an_error(contained, reference, words) -> None:
    ref = {"reference": reference} if reference else {"display": "baclofen"}
    statement = (
        medication_statement(contained=contained, medicationReference=ref)
        if contained
        else medication_statement(medicationReference=ref)
    )
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle_of(condition(), statement), TODAY)
    assert caught.value.field == "entry[2].resource.medicationReference"
    assert words in str(caught.value)


def test_a_referenced_medication_without_a_code_is_reported() -> None:
    statement = medication_statement(
        contained=[{"resourceType": "Medication", "id": "m1"}], medicationReference={"reference": "#m1"}
    )
    patient, report = bundle_to_patient_with_report(bundle_of(condition(), statement), TODAY)
    assert patient.current_therapies == []
    assert report == [
        {
            "field": "entry[2]",
            "input": {"resourceType": "MedicationStatement"},
            "reason": "the referenced Medication has no code and no single coded ingredient",
        }
    ]


# --- malformed bundles ----------------------------------------------------------------------------


DELETE = object()


def _with(path: list, value: object) -> dict:
    """The MS example bundle with one element replaced (or deleted)."""
    bundle = example("ms-spasticity")
    node = bundle
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return bundle


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ([1, 2], "Bundle", "expected a JSON object"),
        ("Bundle", "Bundle", "expected a JSON object"),
        ({"resourceType": "Patient", "id": "p1"}, "resourceType", "expected a FHIR Bundle"),
        ({"type": "collection"}, "resourceType", "expected a FHIR Bundle"),
        ({"resourceType": "Bundle"}, "type", "required"),
        (_with(["entry"], {"resource": {}}), "entry", "expected a JSON array"),
        (_with(["entry", 1, "resource", "code"], "G35"), "entry[1].resource.code", "expected a JSON object"),
        (_with(["entry", 1, "resource", "code"], [{"text": "MS"}]), "entry[1].resource.code", "CodeableConcept"),
        (
            _with(["entry", 1, "resource", "code", "coding"], {"system": SNOMED, "code": "1"}),
            "entry[1].resource.code.coding",
            "expected a JSON array",
        ),
        (
            _with(["entry", 2, "resource", "code", "coding", 0, "system"], 42),
            "entry[2].resource.code.coding[0].system",
            "expected a string",
        ),
        (
            _with(["entry", 2, "resource", "code", "coding", 0, "code"], " G35"),
            "entry[2].resource.code.coding[0].code",
            "format",
        ),
        (_with(["entry", 0, "resource", "birthDate"], "1975-13-01"), "entry[0].resource.birthDate", "not a FHIR date"),
        (_with(["entry", 0, "resource", "birthDate"], "2001-02-29"), "entry[0].resource.birthDate", "not a FHIR date"),
        (_with(["entry", 0, "resource", "birthDate"], "12/04/1975"), "entry[0].resource.birthDate", "not a FHIR date"),
        (_with(["entry", 0, "resource", "birthDate"], 1975), "entry[0].resource.birthDate", "not a FHIR date"),
        (
            _with(["entry", 2, "resource", "resourceType"], "Diagnosis"),
            "entry[2].resource.resourceType",
            "not a FHIR R4 resource type",
        ),
        (
            _with(["entry", 2, "resource", "resourceType"], "CodeableConcept"),
            "entry[2].resource.resourceType",
            "not a FHIR R4 resource type",
        ),
        (
            _with(["entry", 2, "resource", "resourceType"], 7),
            "entry[2].resource.resourceType",
            "not a FHIR R4 resource type",
        ),
        (
            _with(["entry", 2, "resource", "contained"], [{"resourceType": "Foo"}]),
            "entry[2].resource.contained[0].resourceType",
            "not a FHIR R4 resource type",
        ),
        (_with(["entry", 2, "resource", "severity"], "high"), "entry[2].resource.severity", "expected a JSON object"),
        (_with(["entry", 2, "resource", "note_"], "x"), "entry[2].resource.note_", "not an element"),
        # FHIR R5's MedicationStatement.medication (a CodeableReference) is not R4
        (
            _with(["entry", 3, "resource", "medication"], {"concept": {"text": "baclofen"}}),
            "entry[3].resource.medication",
            "not an element of this FHIR R4 resource",
        ),
        (_with(["entry", 3, "resource", "medicationReference"], {"reference": "#m1"}), "entry[3].resource", "multiple"),
        (_with(["entry", 4, "resource", "status"], None), "entry[4].resource.status", "required"),
        (_with(["entry", 1, "resource", "subject"], DELETE), "entry[1].resource.subject", "required"),
        (_with(["entry", 0, "fullUrl"], 5), "entry[0].fullUrl", "expected a string"),
    ],
)
def test_malformed_bundles_name_the_field(document, field, words) -> None:
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(document, TODAY)
    assert caught.value.field == field
    message = str(caught.value)
    assert words in message
    assert "\n" not in message and len(message) < 300 and "Traceback" not in message


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        (bundle_of(condition(), {"id": "x", "status": "final"}), "entry[2].resource.resourceType"),
        (bundle_of(condition(), {"id": "x"}), "entry[2].resource.resourceType"),
        (bundle_of(condition(contained=[{"id": "m1"}])), "entry[1].resource.contained[0].resourceType"),
    ],
)
def test_a_resource_without_resource_type_is_an_error(bundle, field) -> None:
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle, TODAY)
    assert caught.value.field == field


def test_an_overlong_display_names_its_coding() -> None:
    long_display = condition()
    long_display["code"]["coding"] = [{"system": "http://x.org"}, {"system": SNOMED, "code": "1", "display": "d" * 501}]
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle_of(long_display), TODAY)
    assert caught.value.field == "entry[1].resource.code.coding[1].display"


def test_a_real_record_may_hold_more_than_a_hand_written_document() -> None:
    """A plain document takes 100 terms a list; a Bundle, a lifetime of distinct codes (issue 13)."""
    patient = bundle_to_patient(bundle_of(*[condition(str(100000 + i)) for i in range(101)]), TODAY)
    assert len(patient.conditions) == 101


def test_too_many_conditions_is_an_error() -> None:
    bundle = bundle_of(*[condition(str(100000 + i)) for i in range(MAX_BUNDLE_TERMS + 1)])
    with pytest.raises(PatientInputError) as caught:
        bundle_to_patient(bundle, TODAY)
    assert caught.value.field == "Condition"


# --- end to end through the service ---------------------------------------------------------------


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def test_ms_bundle_end_to_end(service) -> None:
    bundle = example("ms-spasticity")
    assert service.read_document(bundle).patient == bundle_to_patient(bundle)
    result = service.evaluate_document(bundle)
    assert result["patient"] == "ms-001"
    conditions = {c["term"]: c for c in result["conditions"]}
    assert set(conditions) == {"tkg:MultipleSclerosis", "tkg:Spasticity"}
    assert conditions["tkg:MultipleSclerosis"]["code"] == {"system": ICD10CM, "code": "G35"}
    # the stretching procedure carries only a local code: reported back, not dropped
    assert [(u["field"], u["input"]["coding"][0]["system"]) for u in result["unrecognized"]] == [
        ("therapies_tried[0]", FAKE)
    ]


def test_stroke_bundle_end_to_end(service) -> None:
    result = service.evaluate_document(example("stroke-hemiplegia"))
    assert [c["term"] for c in result["conditions"]] == ["tkg:Stroke"]
    terms = [u for u in result["unrecognized"] if "source" in u]
    # SNOMED 50582007 (hemiplegia) is a real code the graph does not map
    assert [(u["field"], u["input"]["coding"][0]["code"]) for u in terms] == [("conditions[1]", "50582007")]
    assert "maps to no condition" in terms[0]["reason"]
    # the resolved fracture is not a current condition: left out, and said so
    left_out = [u for u in result["unrecognized"] if "source" not in u]
    assert [(u["field"], u["input"]) for u in left_out] == [
        ("entry[3]", {"resourceType": "Condition", "id": "old-fracture"})
    ]


def test_unknown_code_system_end_to_end(service) -> None:
    result = service.evaluate_document(example("observation-unknown-code"))
    assert [c["term"] for c in result["conditions"]] == ["tkg:Spasticity"]
    terms = [u for u in result["unrecognized"] if "source" in u]
    assert [u["field"] for u in terms] == ["conditions[1]"]
    assert "not one the graph maps" in terms[0]["reason"]


def test_the_report_merges_into_unrecognized(service) -> None:
    """What the Bundle held and was not read comes back too: unrecognised terms say which element
    they were read from, and the reading's report (an imprecise birthDate, an Observation) follows."""
    bundle = example("observation-unknown-code")
    result = service.evaluate_document(bundle)
    # the birthDate gives only the year: noted on every day but 31 December (when both ages agree)
    report = [r["field"] for r in read_bundle(bundle).report]
    assert report[-1] == "entry[3]" and set(report) <= {"entry[0].resource.birthDate", "entry[3]"}
    assert [u.get("source", u["field"]) for u in result["unrecognized"]] == ["entry[2].resource.code", *report]
    assert result["unrecognized"][0]["field"] == "conditions[1]"
    observation = result["unrecognized"][-1]
    assert observation["input"] == {"resourceType": "Observation", "id": observation["input"]["id"]}
    assert "not read" in observation["reason"]


def test_the_report_reaches_the_cli_and_ndjson_too(service, tmp_path) -> None:
    from kg.batch import evaluate_file

    bundle = example("observation-unknown-code")
    lines = tmp_path / "bundles.ndjson"
    lines.write_text(json.dumps(bundle) + "\n" + json.dumps(bundle) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert evaluate_file(lines, out=out, progress=False, service=service) == 0
    for line in out.getvalue().splitlines():
        assert json.loads(line)["unrecognized"] == service.evaluate_document(bundle)["unrecognized"]


def test_a_bundle_error_reaches_the_service_caller(service) -> None:
    with pytest.raises(PatientInputError) as caught:
        service.evaluate_document(_with(["entry", 1, "resource", "code"], "G35"))
    assert caught.value.field == "entry[1].resource.code"


def test_a_medication_coded_by_its_single_ingredient_is_read() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "ingredient": [{"itemCodeableConcept": {"coding": [{"system": RXNORM, "code": "1292"}]}}],
    }
    statement = medication_statement(contained=[medication], medicationReference={"reference": "#m1"})
    patient = bundle_to_patient(bundle_of(condition(), statement), TODAY)
    (therapy,) = patient.current_therapies
    assert isinstance(therapy, Concept) and therapy.coding[0].code == "1292"


@pytest.mark.parametrize(
    ("route", "form"),
    [("72607000", "tkg:IntrathecalBaclofen"), ("26643006", "tkg:OralBaclofen"), (None, "tkg:Baclofen")],
)
def test_the_dosage_route_names_the_form_of_an_ingredient_coded_drug(service, route, form) -> None:
    """RxNorm 1292 is the baclofen ingredient, any route: the dosage's route decides the product form."""
    dosage = [{"route": {"coding": [{"system": SNOMED, "code": route}]}}] if route else []
    bundle = bundle_of(condition(), medication_statement(dosage=dosage))
    (current,) = service.evaluate_document(bundle)["current_therapies"]
    assert current["intervention"] == form


def test_a_clinical_drug_code_names_oral_baclofen(service) -> None:
    """RxNorm SCD 197391 (baclofen 10 mg oral tablet), verified: an EHR's usual coding of a baclofen order."""
    statement = medication_statement(medicationCodeableConcept={"coding": [{"system": RXNORM, "code": "197391"}]})
    answer = service.evaluate_document(bundle_of(condition(), statement))
    (current,) = answer["current_therapies"]
    assert current["intervention"] == "tkg:OralBaclofen"
    assert {s["statement"] for s in current["discontinuation"]} == {
        "tkg:BaclofenAbruptDiscontinuationWithdrawal",
        "tkg:BaclofenGradualTapering",
    }
