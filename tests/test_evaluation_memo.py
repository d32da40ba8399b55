"""The evaluator's option memo changes no answer, and no two documents share a part a caller can change."""

from __future__ import annotations

import orjson
import pytest

from kg.generate import random_patients, systematic_patients
from kg.patient.document import parse_patient
from kg.reasoning.evaluation import Evaluator
from kg.service import TherapyKG


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


@pytest.fixture(scope="module")
def evaluated(service) -> list[tuple]:
    """(resolution, memberships) of every systematic patient and 3,000 random ones."""
    patients = list(systematic_patients(service.knowledge)) + list(random_patients(service.knowledge, 3000, seed=7))
    resolutions = [service.resolver.resolve(parse_patient(p)) for p in patients]
    return list(zip(resolutions, service.fast.memberships([r.facts for r in resolutions]), strict=False))


@pytest.mark.parametrize("memo_size", [4096, 50], ids=["memo", "memo-cleared-often"])
def test_the_memo_changes_no_document(service, evaluated, memo_size) -> None:
    """Each patient twice over, so the second pass answers from the memo wherever it can."""
    plain = Evaluator(service.knowledge, service.terms, option_memo_size=0)
    remembering = Evaluator(service.knowledge, service.terms, option_memo_size=memo_size)
    for _ in range(2):
        for resolution, memberships in evaluated:
            expected = plain.evaluate(resolution, memberships, "fast")
            assert remembering.evaluate(resolution, memberships, "fast") == expected
            assert orjson.loads(remembering.evaluate_json(resolution, memberships, "fast")) == expected
    assert len(remembering.memo) <= memo_size


def test_changing_a_document_changes_no_other(service) -> None:
    patient = {
        "age": 70,
        "conditions": ["tkg:Stroke", "tkg:GeneralizedSpasticity"],
        "current_therapies": ["tkg:OralBaclofen"],
        "therapies_tried": ["tkg:Stretching"],
    }
    first = service.evaluate_document(patient)
    pristine = orjson.loads(orjson.dumps(first))
    for option in first["options"]:
        for reasons in (option["reasons"], option["cautions"], option["dosing"], option["evidence"]):
            for reason in reasons:
                reason["claim"] = "changed"
                reason["sources"].clear()
                reason["matched"].append({"field": "changed"})
                for dose in reason.get("doses", []):
                    dose["upper"] = -1
    for warning in first["warnings"]:
        for statement in warning["statements"]:
            statement["sources"].clear()
    assert service.evaluate_document(patient) == pristine
