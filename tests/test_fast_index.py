"""The fast engine's rule index (issue 23 item 4): a patient is checked only against the rules its terms can
trigger, and the answer is the same as checking every rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.knowledge_copies import copied_ontology
from kg.generate import medication_lists, random_patients, systematic_patients
from kg.ontology.build import build
from kg.patient.document import parse_patient
from kg.reasoning.fast import FastEngine
from kg.service import TherapyKG
from kg.store.release import embedded_store

PATIENT = {"age": 72, "conditions": ["tkg:GeneralizedSpasticity"], "therapies_tried": ["tkg:Stretching"]}


class _EveryRule:
    """No index: every rule is a candidate, and none is decided by population alone."""

    everyone: dict = {}

    def __init__(self, count: int) -> None:
        self.count = count

    def candidates(self, *terms: object) -> list[int]:
        return list(range(self.count))


@pytest.fixture(scope="module")
def service(store) -> TherapyKG:
    return TherapyKG(store)


def test_the_index_gives_what_checking_every_rule_gives(service) -> None:
    k = service.knowledge
    patients = [*systematic_patients(k), *medication_lists(k), *random_patients(k, 300)]
    facts = [service.resolver.resolve(parse_patient(p)).facts for p in patients]
    indexed = FastEngine(k)
    every = FastEngine(k)
    every.index = _EveryRule(len(every.rules))  # type: ignore[assignment]
    assert indexed.memberships(facts) == every.memberships(facts)


def _checked(service: TherapyKG) -> int:
    engine = service.fast
    facts = service.resolver.resolve(parse_patient(PATIENT)).facts
    closure = set().union(*(service.knowledge.ancestors.get(c, {c}) for c in facts.conditions))
    tried = set().union(*(service.knowledge.ancestors.get(t, {t}) for t in facts.tried))
    return len(engine.index.candidates(closure | facts.conditions, tried, set()))


@pytest.mark.owl
def test_a_patient_of_one_answer_is_checked_against_that_answers_rules_only(service, tmp_path) -> None:
    """With three copies of the answer, a patient of the original answer is checked against as many rules naming
    a condition as with one: that cost does not grow with the knowledge. (The rules naming no condition are one
    set per population, decided once per patient.)"""
    folder = copied_ontology(Path(tmp_path), 3)
    tripled = TherapyKG(embedded_store(build(folder, reason=False)), source_dir=folder)
    assert len(tripled.fast.rules) == 3 * len(service.fast.rules)
    assert _checked(tripled) == _checked(service) < len(service.fast.rules)


def test_a_shared_union_is_the_set_of_its_members() -> None:
    """The fast engine shares the population's set of rules naming no condition between patients' memberships:
    compared, hashed, iterated and combined, it is the frozenset of its members."""
    from kg.reasoning import SharedUnion

    shared = frozenset({"a", "b", "c"})
    union = SharedUnion(shared, ["c", "d"])
    assert union == frozenset("abcd") and frozenset("abcd") == union
    assert hash(union) == hash(frozenset("abcd")) and {union: 1}[frozenset("abcd")] == 1
    assert len(union) == 4 and sorted(union) == ["a", "b", "c", "d"]
    assert "d" in union and "a" in union and "e" not in union
    assert union | {"e"} == frozenset("abcde") and isinstance(union & {"a", "z"}, frozenset)
    assert union != frozenset("abc") and union.shared is shared
