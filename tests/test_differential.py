"""The two engines agree: identical memberships and evaluations over ≥ 1,000 generated patients."""

from __future__ import annotations

import pytest

from kg.generate import random_patients, systematic_patients
from kg.patient import parse_patient
from kg.service import TherapyKG

pytestmark = pytest.mark.owl


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(scope="module")
def generated(service) -> list[dict]:
    patients = list(systematic_patients(service.knowledge)) + list(random_patients(service.knowledge, 400))
    assert len(patients) >= 1000
    return patients


def test_generated_patients_cover_the_statement_vocabulary(service, generated) -> None:
    used = {t for p in generated for field in ("conditions", "therapies_tried", "current_therapies", "findings") for t in p[field]}
    mentioned = set()
    for s in service.knowledge.statements:
        mentioned |= s.conditions | s.interventions | s.required_findings
    assert {service.terms.compress(x) for x in mentioned} <= used
    ages = {p.get("age") for p in generated}
    assert {None, 64, 65} <= ages


def test_engines_agree_on_every_generated_patient(service, generated) -> None:
    resolutions = [service.resolver.resolve(parse_patient(p)) for p in generated]
    facts = [r.facts for r in resolutions]
    fast = service.fast.memberships(facts)
    owl = service.owl.memberships(facts)
    disagreements = [(p["id"], f, o) for p, f, o in zip(generated, fast, owl, strict=False) if f != o]
    assert not disagreements, disagreements[:3]
    statuses = set()
    for resolution, f, o in zip(resolutions, fast, owl, strict=False):
        a = service.evaluator.evaluate(resolution, f, "fast")
        b = service.evaluator.evaluate(resolution, o, "owl")
        a.pop("engine"), b.pop("engine")
        assert a == b
        statuses |= {opt["status"] for opt in a["options"]}
    assert statuses == {"eligible", "deferred", "excluded", "not-indicated", "undetermined"}
