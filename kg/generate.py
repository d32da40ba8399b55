"""Generated patients for the differential test and the benchmarks: systematic and random.

The systematic set is built from what the statements mention — every condition (alone and with
each comorbidity the statements name), every intervention as tried or current, every finding, and
age bands around every population bound — so both engines are compared where the rules branch.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from kg.json_types import JsonObject
from kg.knowledge import CONDITION, FINDING, INTERVENTION, Knowledge
from kg.store.terms import TermResolver


def _age_bands(knowledge: Knowledge) -> list[int | None]:
    bounds = set()
    for population in knowledge.populations.values():
        for bound in (population.min_inclusive, population.max_exclusive):
            if bound is not None:
                bounds |= {bound - 1, bound}
    return [None, 0, 30, 130, *sorted(bounds)]


def systematic_patients(knowledge: Knowledge, terms: TermResolver | None = None) -> Iterator[JsonObject]:
    """Every condition set × therapy × finding × age band the statements branch on."""
    terms = terms or TermResolver()
    c = terms.compress
    conditions = knowledge.classes_under(CONDITION)
    mentioned = sorted({x for s in knowledge.statements for x in s.conditions})
    condition_sets = [[x] for x in conditions] + [
        [a, b] for a, b in itertools.combinations(mentioned, 2) if not knowledge.is_a(a, b) and not knowledge.is_a(b, a)
    ]
    therapies = [None, *knowledge.classes_under(INTERVENTION)]
    findings = [None, *knowledge.classes_under(FINDING)]
    ages = _age_bands(knowledge)
    number = 0
    for conds, tried, finding in itertools.product(condition_sets, therapies, findings):
        age = ages[number % len(ages)]
        current = therapies[(number // len(ages)) % len(therapies)]
        number += 1
        yield {
            "id": f"sys-{number}",
            **({"age": age} if age is not None else {}),
            "conditions": [c(x) for x in conds],
            "therapies_tried": [c(tried)] if tried else [],
            "current_therapies": [c(current)] if current else [],
            "findings": [c(finding)] if finding else [],
        }


def random_patients(
    knowledge: Knowledge, count: int, seed: int = 20261124, terms: TermResolver | None = None
) -> Iterator[JsonObject]:
    """`count` random patients (reproducible with `seed`)."""
    terms = terms or TermResolver()
    rng = random.Random(seed)
    conditions = knowledge.classes_under(CONDITION)
    interventions = knowledge.classes_under(INTERVENTION)
    findings = knowledge.classes_under(FINDING)
    for number in range(count):
        patient: dict[str, object] = {
            "id": f"rnd-{number}",
            "conditions": [terms.compress(x) for x in rng.sample(conditions, rng.randint(1, 3))],
            "therapies_tried": [terms.compress(x) for x in rng.sample(interventions, rng.randint(0, 3))],
            "current_therapies": [terms.compress(x) for x in rng.sample(interventions, rng.randint(0, 2))],
            "findings": [terms.compress(x) for x in rng.sample(findings, rng.randint(0, len(findings)))],
        }
        if rng.random() < 0.85:
            patient["age"] = rng.randint(0, 130)
        yield patient
