"""Evaluating once per fact pattern (`kg.population.patterns`, issue 11 item 2) changes no byte of the output.

The export is built to break the renaming if it can: ids that are random and unordered, ids that also stand in
an identifier or a versioned reference, birth dates on both sides of every population bound of the graph,
deaths given as dates and as dateTimes in other time zones and after the evaluation date, partial birth dates,
shared and contained Medications, and the same records again and again under other ids. Every output of the
run that reuses patterns must be the bytes of the run that evaluates every patient's Bundle.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from kg.knowledge import CONDITION, INTERVENTION
from kg.population.patterns import Canonical, Patterns, age_bounds, canonical
from kg.population.record import PopulationReport
from kg.population.run import run_population
from kg.population.spill import PatientLines
from kg.population.synth import CLINICAL, DUE_TO, VERIFICATION, mapped_codes
from kg.service import TherapyKG

AS_OF = date(2026, 12, 1)


@pytest.fixture(scope="module")
def kg_service(store) -> TherapyKG:
    return TherapyKG(store)


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _records(kg_service: TherapyKG) -> list[list[dict[str, Any]]]:
    """The records patients are given (without Patient): a few kinds, each met by many patients."""
    conditions = mapped_codes(kg_service.knowledge, CONDITION)
    drugs = [c for c in mapped_codes(kg_service.knowledge, INTERVENTION) if "rxnorm" in c.system]
    records: list[list[dict[str, Any]]] = []
    for i, condition in enumerate(conditions[:8]):
        drug = drugs[i % len(drugs)]
        cond = {
            "resourceType": "Condition",
            "code": _coded(condition.system, condition.code),
            "clinicalStatus": _status(CLINICAL, "active" if i % 3 else "inactive"),
            "verificationStatus": _status(VERIFICATION, "confirmed"),
        }
        medication = {
            "resourceType": "MedicationStatement" if i % 2 else "MedicationRequest",
            "status": "active",
            "medicationCodeableConcept": _coded(drug.system, drug.code),
        } | ({} if i % 2 else {"intent": "order"})
        records.append([cond])
        records.append([cond, medication])
        records.append([cond, {"resourceType": "Condition", "code": _coded("urn:test:unknown", f"u{i}")}])
    return records


def _export(kg_service: TherapyKG, folder: Path, patients: int = 600, seed: int = 3) -> Path:
    rng = random.Random(seed)
    drugs = [c for c in mapped_codes(kg_service.knowledge, INTERVENTION) if "rxnorm" in c.system]
    bounds = age_bounds(kg_service.knowledge.populations.values())
    ages = sorted({b + d for b in bounds for d in (-1, 0) if 0 <= b + d <= 130} | {40, 90})
    shared = [
        {"resourceType": "Medication", "id": f"shared-{i}", "code": _coded(d.system, d.code)}
        for i, d in enumerate(drugs)
    ]
    files: dict[str, list[bytes]] = {"Medication": [orjson.dumps(m) for m in shared]}
    records = _records(kg_service)
    used: set[str] = set()
    for _ in range(patients):
        pid = ""
        while not pid or pid in used:  # random, unordered, unique
            pid = rng.choice("abcdef0123456789") + "".join(
                rng.choice("abcdef0123456789-.") for _ in range(rng.randint(0, 35))
            )
        used.add(pid)
        age = rng.choice(ages)
        born = AS_OF.replace(year=AS_OF.year - age) - timedelta(days=rng.randrange(365))
        patient: dict[str, Any] = {"resourceType": "Patient", "id": pid, "birthDate": born.isoformat()}
        roll = rng.random()
        if roll < 0.1:
            patient["birthDate"] = born.isoformat()[: rng.choice((4, 7))]  # partial: its own note
        elif roll < 0.2:
            died = AS_OF - timedelta(days=rng.randrange(-30, 4000))  # some after the evaluation date
            if rng.random() < 0.5:
                patient["deceasedDateTime"] = died.isoformat()
            else:
                zone = rng.choice(("Z", "+13:00", "-11:30", "+00:00"))
                patient["deceasedDateTime"] = f"{died.isoformat()}T{rng.choice(('00:30:00', '23:45:10'))}{zone}"
            if died < born:
                patient["deceasedDateTime"] = AS_OF.isoformat()
        elif roll < 0.25:
            patient["identifier"] = [{"system": "urn:test:mrn", "value": pid}]  # the id where it is not renamed
        elif roll < 0.28:
            patient["deceasedBoolean"] = True
        files.setdefault("Patient", []).append(orjson.dumps(patient))
        subject = {"reference": f"Patient/{pid}" + ("/_history/2" if rng.random() < 0.03 else "")}
        resources = [dict(r) for r in rng.choice(records)]
        if rng.random() < 0.1:  # a shared Medication, by reference
            medication = rng.choice(shared)
            resources.append(
                {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "medicationReference": {"reference": f"Medication/{medication['id']}"},
                }
            )
        if rng.random() < 0.05:  # a contained Medication
            resources.append(
                {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "contained": [
                        {"resourceType": "Medication", "id": "med", "code": _coded(drugs[0].system, drugs[0].code)}
                    ],
                    "medicationReference": {"reference": "#med"},
                }
            )
        if rng.random() < 0.03:  # a record the service refuses: answered, and counted, one by one
            resources.append({"resourceType": "Condition", "code": "not a CodeableConcept"})
        conditions = []
        for n, resource in enumerate(resources):
            resource["id"] = f"{pid}-{n}" if rng.random() < 0.7 else f"r{rng.randrange(10**6)}"
            resource["subject"] = subject
            if resource["resourceType"] == "Condition":
                if conditions and rng.random() < 0.3:  # due to the patient's first condition
                    resource["extension"] = [
                        {"url": DUE_TO, "valueReference": {"reference": f"Condition/{conditions[0]}"}}
                    ]
                conditions.append(resource["id"])
            files.setdefault(resource["resourceType"], []).append(orjson.dumps(resource))
    folder.mkdir(parents=True)
    for kind, lines in files.items():
        rng.shuffle(lines)
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return folder


def test_reusing_patterns_changes_no_byte_of_any_output(kg_service, tmp_path, monkeypatch) -> None:
    import kg.population.patterns as patterns

    export = _export(kg_service, tmp_path / "export")
    learnt = []
    evaluate_record = patterns.evaluate_record
    monkeypatch.setattr(patterns, "evaluate_record", lambda *a: learnt.append(1) or evaluate_record(*a))
    outputs = {}
    for reuse in (True, False):
        out = tmp_path / f"out-{reuse}"
        report = run_population(export, out, kg_service, as_of=AS_OF, buckets=2, reuse=reuse, table_format="csv")
        outputs[reuse] = {p.name: p.read_bytes() for p in out.iterdir()}
        assert report.patients == 600
    assert outputs[True].keys() == {"evaluations.ndjson", "table.csv", "report.json", "report.html"}
    for name, data in outputs[False].items():
        assert outputs[True][name] == data, name
    figures = orjson.loads(outputs[True]["report.json"])
    assert figures["deceased"] > 0 and figures["nothing_to_evaluate"] > 0 and figures["refused"]["by_code"]
    assert 0 < len(learnt) < 600 * 3 // 4  # many patients were answered from a pattern learnt on another


def _lines(resources: list[dict[str, Any]]) -> PatientLines:
    return PatientLines(
        resources[0]["id"], [(r["resourceType"], "x.ndjson", n, orjson.dumps(r)) for n, r in enumerate(resources)]
    )


def _patient(pid: str, born: str, code: tuple[str, str]) -> PatientLines:
    return _lines(
        [
            {"resourceType": "Patient", "id": pid, "birthDate": born},
            {
                "resourceType": "Condition",
                "id": f"c-{pid}",
                "subject": {"reference": f"Patient/{pid}"},
                "code": _coded(*code),
            },
        ]
    )


@pytest.mark.parametrize("shows_age", [True, False])
def test_patients_alike_but_for_ids_and_birth_date_share_one_evaluation(kg_service, monkeypatch, shows_age) -> None:
    """A stroke's answer shows the age (the oral baclofen dosing statement names its population): one pattern per
    age.
    A code the graph does not know does not: after two ages of a band, the band's pattern answers every age."""
    import kg.population.patterns as patterns
    from kg.population.record import evaluate_patient

    stroke = next(c for c in mapped_codes(kg_service.knowledge, CONDITION) if c.term and c.term.endswith("/Stroke"))
    code = (stroke.system, stroke.code) if shows_age else ("urn:test:unknown", "u1")
    learnt = []
    evaluate_record = patterns.evaluate_record
    monkeypatch.setattr(patterns, "evaluate_record", lambda *a: learnt.append(a[1]) or evaluate_record(*a))
    reuse = Patterns(kg_service, {}, AS_OF)
    report = PopulationReport()
    births = {"a1": "1980-03-04", "zz-9": "1981-07-30", "q.7": "1980-01-01", "k50": "1976-05-05"}  # 46, 45, 46, 50
    for pid, born in births.items():
        patient = _patient(pid, born, code)
        answer = reuse.evaluate(patient, report)
        assert answer is not None
        assert answer == evaluate_patient(kg_service, patient, {}, AS_OF, PopulationReport()), pid
        assert f'"patient":"{pid}"'.encode() in answer[0]
    assert len(learnt) == (3 if shows_age else 2)  # q.7 is a1's age; k50 a third age of the band
    reuse.flush(report)
    assert report.patients == report.evaluated == 4


def test_what_cannot_be_renamed_safely_is_evaluated_on_its_own(kg_service) -> None:
    bounds = age_bounds(kg_service.knowledge.populations.values())

    def form(resources: list[dict[str, Any]]) -> Canonical | None:
        texts = [orjson.dumps(r) for r in resources]
        return canonical(texts, resources[0]["id"].encode(), AS_OF, bounds)

    subject = {"reference": "Patient/p1"}
    condition = {"resourceType": "Condition", "id": "c1", "subject": subject, "code": _coded("urn:x", "1")}
    plain = form([{"resourceType": "Patient", "id": "p1", "birthDate": "1990-01-01"}, condition])
    assert plain is not None and b"p1" not in plain.key and b"1990" not in plain.key
    cases = {
        "the id in an identifier": {"identifier": [{"value": "p1"}]},
        "a partial birth date": {"birthDate": "1990"},
        "a birth date that is no date": {"birthDate": "1990-02-30"},
        "a death after the evaluation date": {"deceasedDateTime": "2030-01-01"},
        "a death time without a zone": {"deceasedDateTime": "2020-01-01T10:00:00"},
        "the canonical death date itself": {"extension": [{"url": "urn:x", "valueDate": "1800-01-01"}]},
        "a canonical name": {"extension": [{"url": "urn:x", "valueString": "ZZtkg00001ZZ"}]},
    }
    for case, change in cases.items():
        patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1990-01-01"} | change
        assert form([patient, condition]) is None, case
    versioned = condition | {"subject": {"reference": "Patient/p1/_history/3"}}
    assert form([{"resourceType": "Patient", "id": "p1"}, versioned]) is None
    contained_birth = {
        "resourceType": "Patient",
        "id": "p1",
        "birthDate": "1990-01-01",
        "contained": [{"resourceType": "Patient", "id": "q", "birthDate": "1990-01-01"}],
    }
    assert form([contained_birth, condition]) is None


def test_each_distinct_resource_is_validated_once_and_reads_as_in_its_bundle(kg_service, monkeypatch) -> None:
    import kg.population.entries as entries_module
    from kg.patient.fhir import read_bundle, read_validated
    from kg.population.entries import ValidatedEntries

    calls = []
    validate = entries_module.validate_bundle
    monkeypatch.setattr(entries_module, "validate_bundle", lambda *a: calls.append(1) or validate(*a))
    code = mapped_codes(kg_service.knowledge, CONDITION)[0]
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-05-06"}
    condition = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}}
    condition["code"] = _coded(code.system, code.code)
    observation = {"resourceType": "Observation", "id": "o1", "status": "final", "code": _coded("urn:x", "1")}
    texts = [orjson.dumps(r) for r in (patient, condition, observation)]
    entries = ValidatedEntries()
    for _ in range(3):
        assembled = entries.bundle(texts)
        assert assembled is not None
    assert len(calls) == 3  # three distinct resources, each validated once
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": orjson.loads(t)} for t in texts]}
    assert read_validated(assembled[0], AS_OF, assembled[1]) == read_bundle(bundle, AS_OF)
    invalid = orjson.dumps(condition | {"code": "text"})
    assert entries.bundle([texts[0], invalid]) is None  # the whole Bundle's error names the entry
