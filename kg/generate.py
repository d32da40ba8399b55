"""Generated patients for the differential test and the benchmarks: systematic and random.

The systematic set is built from what the statements mention — every condition (alone, with each
other condition the statements name, with each of its candidate causes stated, and with two candidate
causes recorded and none stated), every intervention as tried or current, every finding, age bands
around every population bound (17/18, 64/65), and medication lists with no condition — so both engines
are compared where the rules branch.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator

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
    mentioned = sorted({x for s in knowledge.statements for x in s.conditions | s.in_doubt_with})
    condition_sets: list[list[object]] = [[x] for x in conditions]
    condition_sets += [
        [a, b] for a, b in itertools.combinations(mentioned, 2) if not knowledge.is_a(a, b) and not knowledge.is_a(b, a)
    ]
    condition_sets += _with_causes(knowledge, c)
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
            "conditions": [c(x) if isinstance(x, str) else x for x in conds],
            "therapies_tried": [c(tried)] if tried else [],
            "current_therapies": [c(current)] if current else [],
            "findings": [c(finding)] if finding else [],
        }


def medication_lists(knowledge: Knowledge, terms: TermResolver | None = None) -> Iterator[JsonObject]:
    """Each intervention as the one current therapy of a patient with no recorded condition, at each age band."""
    c = (terms or TermResolver()).compress
    for number, (therapy, age) in enumerate(
        itertools.product(knowledge.classes_under(INTERVENTION), _age_bands(knowledge))
    ):
        yield {"id": f"med-{number}", **({"age": age} if age is not None else {}), "current_therapies": [c(therapy)]}


def _with_causes(knowledge: Knowledge, c: Callable[[str], str]) -> list[list[object]]:
    """Each condition with candidate causes, with each cause stated (due_to), also beside each indication a
    condition can put in doubt (a muscle spasm), and with two candidates recorded and none stated."""
    doubted = sorted({i for s in knowledge.statements if s.in_doubt_with for i in s.indications})
    sets: list[list[object]] = []
    for condition in knowledge.classes_under(CONDITION):
        candidates = sorted(knowledge.causes_declared_for(condition))
        for cause in candidates:
            stated = {"condition": c(condition), "due_to": c(cause)}
            sets.append([stated])
            sets += [[stated, c(other)] for other in doubted]
        for a, b in itertools.combinations(candidates, 2):
            sets.append([c(condition), c(a), c(b)])
    return sets


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
        picked = rng.sample(conditions, rng.randint(1, 3))
        chosen: list[object] = [terms.compress(x) for x in picked]
        causes = sorted(knowledge.causes_declared_for(picked[0]))
        if causes and rng.random() < 0.3:  # the first condition with a stated cause
            chosen[0] = {"condition": chosen[0], "due_to": terms.compress(rng.choice(causes))}
        patient: dict[str, object] = {
            "id": f"rnd-{number}",
            "conditions": chosen,
            "therapies_tried": [terms.compress(x) for x in rng.sample(interventions, rng.randint(0, 3))],
            "current_therapies": [terms.compress(x) for x in rng.sample(interventions, rng.randint(0, 2))],
            "findings": [terms.compress(x) for x in rng.sample(findings, rng.randint(0, len(findings)))],
        }
        if rng.random() < 0.85:
            patient["age"] = rng.randint(0, 130)
        yield patient
