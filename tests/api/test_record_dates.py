"""Deceased patients and the evaluation date (`as_of`), on FHIR records (issue 13 items 3-4).

The same record gives the same answer on any day when read at a fixed `as_of`; a record that says the
patient died is answered without any option, question or warning presented as actionable.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from kg import cli
from kg.patient.fhir import read_bundle
from kg.service import TherapyKG
from tests.test_fhir import bundle_of, condition, medication_statement

STROKE, SPASTICITY = "230690007", "221360009"


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def _patient(**extra) -> dict:
    return {"resourceType": "Patient", "id": "p1", "birthDate": "2000-06-01", **extra}


@pytest.mark.parametrize(("as_of", "age"), [(date(2018, 5, 31), 17), (date(2018, 6, 1), 18), (date(2064, 6, 1), 64)])
def test_the_evaluation_date_fixes_the_age(as_of, age) -> None:
    reading = read_bundle(bundle_of(condition(), patient=_patient()), as_of)
    assert reading.patient.age == age and reading.patient.as_of == as_of


def test_an_answer_read_at_a_fixed_date_is_the_same_on_any_day(service) -> None:
    bundle = bundle_of(condition(STROKE), condition(SPASTICITY), patient=_patient())
    first = service.evaluate_document(bundle, as_of=date(2030, 1, 1))
    again = service.evaluate_document(json.loads(json.dumps(bundle)), as_of=date(2030, 1, 1))
    assert first == again and first["as_of"] == "2030-01-01"
    dosing = {d["statement"] for o in first["options"] for d in o["dosing"]}
    assert "tkg:OralBaclofenDosing" in dosing  # 29 years old on 2030-01-01: the adult regimen


def test_a_patient_dead_a_century_is_a_normal_record_read_at_the_age_of_death(service) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1890-03-01", "deceasedDateTime": "1960-07-15"}
    bundle = bundle_of(condition(STROKE), condition(SPASTICITY), medication_statement(), patient=patient)
    reading = read_bundle(bundle, date(2026, 12, 7))
    assert reading.patient.age == 70 and reading.patient.deceased == date(1960, 7, 15)
    answer = service.evaluate_document(bundle, as_of=date(2026, 12, 7))
    assert answer["deceased"] == {"date": "1960-07-15"}
    assert answer["options"] == [] and answer["current_therapies"] == [] and answer["missing_information"] == []
    assert [w["kind"] for w in answer["warnings"]] == ["deceased"]
    assert "1960-07-15" in answer["warnings"][0]["message"]
    assert {c["term"] for c in answer["conditions"]} == {"tkg:Stroke", "tkg:Spasticity"}  # still reported


def test_a_death_without_a_date_gives_no_age_and_says_so() -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1890-03-01", "deceasedBoolean": True}
    reading = read_bundle(bundle_of(condition(), patient=patient), date(2026, 12, 7))
    assert reading.patient.deceased is True and reading.patient.age is None
    assert any("died on a date the record does not give" in r["reason"] for r in reading.report)


def test_a_death_after_the_evaluation_date_is_read_as_alive_then(service) -> None:
    patient = _patient(deceasedDateTime="2040-01-01")
    reading = read_bundle(bundle_of(condition(), patient=patient), date(2030, 1, 1))
    assert reading.patient.deceased is None and reading.patient.age == 29
    assert any("after the evaluation date" in r["reason"] for r in reading.report)


def test_records_that_start_after_the_evaluation_date_do_not_count() -> None:
    later = condition(STROKE, onsetDateTime="2031-02-03")
    ordered = medication_statement(effectivePeriod={"start": "2031-01-01"})
    reading = read_bundle(bundle_of(condition(), later, ordered, patient=_patient()), date(2030, 1, 1))
    assert len(reading.patient.conditions) == 1 and reading.patient.current_therapies == []
    reasons = [r["reason"] for r in reading.report]
    assert any("onset 2031-02-03 is after the evaluation date" in r for r in reasons)
    assert any("after the evaluation date" in r and "effective from" in r for r in reasons)


def test_a_medication_whose_period_ended_before_the_evaluation_date_was_tried_not_current() -> None:
    ended = medication_statement(effectivePeriod={"start": "2020-01-01", "end": "2021-01-01"})
    reading = read_bundle(bundle_of(condition(), ended, patient=_patient()), date(2030, 1, 1))
    assert reading.patient.current_therapies == [] and len(reading.patient.therapies_tried) == 1


def test_the_plain_document_takes_deceased_and_as_of_too(service) -> None:
    answer = service.evaluate_document(
        {"conditions": ["tkg:GeneralizedSpasticity"], "age": 80, "deceased": True, "as_of": "2020-01-01"}
    )
    assert answer["deceased"] == {"date": None} and answer["options"] == [] and answer["as_of"] == "2020-01-01"


def test_the_api_and_the_cli_take_the_evaluation_date(client, tmp_path, capsys) -> None:
    bundle = bundle_of(condition(SPASTICITY), patient=_patient())
    response = client.post("/evaluate?as_of=2018-05-31", json=bundle)
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == "2018-05-31"
    assert client.post("/evaluate?as_of=31.05.2018", json=bundle).status_code == 422
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert cli.main(["evaluate", str(path), "--as-of", "2018-06-01"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2018-06-01"
    with pytest.raises(SystemExit) as bad:
        cli.main(["evaluate", str(path), "--as-of", "tomorrow"])
    assert bad.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


def test_no_cds_card_for_a_deceased_patient(client) -> None:
    from tests.api.test_cds_hooks import _post, _request

    body = _request("patient-view-stroke-on-baclofen")
    body["prefetch"]["patient"]["deceasedDateTime"] = "2020-01-01"
    response = _post(client, body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []
