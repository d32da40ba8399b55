"""The two engines agree: identical memberships and evaluations over ≥ 1,000 generated patients.

`make test` runs a fixed sample of 300 of them (the same every run); `make test-all` runs them all.
"""

from __future__ import annotations

import random

import pytest

from kg.generate import medication_lists, random_patients, systematic_patients
from kg.patient.document import parse_patient
from kg.service import TherapyKG

pytestmark = pytest.mark.owl


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(scope="module")
def generated(service) -> list[dict]:
    k = service.knowledge
    patients = list(systematic_patients(k)) + list(medication_lists(k)) + list(random_patients(k, 400))
    assert len(patients) >= 1000
    return patients


def test_generated_patients_cover_the_statement_vocabulary(service, generated) -> None:
    used = {
        t
        for p in generated
        for field in ("conditions", "therapies_tried", "current_therapies", "findings")
        for t in p.get(field, [])
        if isinstance(t, str)
    }
    mentioned = set()
    for s in service.knowledge.statements:
        mentioned |= s.conditions | s.interventions | s.required_findings
    assert {service.terms.compress(x) for x in mentioned} <= used
    ages = {p.get("age") for p in generated}
    assert {None, 17, 18, 64, 65} <= ages
    assert any(isinstance(c, dict) and "due_to" in c for p in generated for c in p.get("conditions", []))
    assert any(not p.get("conditions") and p["current_therapies"] for p in generated)


SAMPLE = 300


@pytest.mark.parametrize("share", ["sample", pytest.param("all", marks=pytest.mark.slow)])
def test_engines_agree_on_every_generated_patient(service, generated, share: str) -> None:
    patients = generated if share == "all" else random.Random(20261207).sample(generated, SAMPLE)
    resolutions = [service.resolver.resolve(parse_patient(p)) for p in patients]
    facts = [r.facts for r in resolutions]
    fast = service.fast.memberships(facts)
    owl = service.owl.memberships(facts)
    disagreements = [(p["id"], f, o) for p, f, o in zip(patients, fast, owl, strict=True) if f != o]
    assert not disagreements, disagreements[:3]
    statuses = set()
    for resolution, f, o in zip(resolutions, fast, owl, strict=True):
        a = service.evaluator.evaluate(resolution, f, "fast")
        b = service.evaluator.evaluate(resolution, o, "owl")
        a.pop("engine"), b.pop("engine")
        assert a == b
        statuses |= {opt["status"] for opt in a["options"]}
    assert statuses == {"eligible", "deferred", "excluded", "not-indicated", "undetermined"}
