"""The fast engine: the statements compiled into set operations over the class hierarchy.

Its rules are the OWL definitions `kg.reasoning.owl_classes` generates, evaluated directly: a
statement applies when a patient condition is the statement's condition or a subclass of it and
the age lies in its population; it possibly applies when a condition is recorded only as a less
specific class, or the age is unknown; its prerequisites are met when an option of the prior line
has been tried and every required finding is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.knowledge import Knowledge, Population
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships


@dataclass(frozen=True)
class _Rule:
    iri: str
    conditions: frozenset[str]
    condition_parents: frozenset[str]
    population: Population | None
    prior_options: frozenset[str] | None
    findings: frozenset[str]

    @property
    def has_prerequisites(self) -> bool:
        return self.prior_options is not None or bool(self.findings)


class FastEngine:
    name = "fast"

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.rules = tuple(
            _Rule(
                s.iri,
                s.conditions,
                s.condition_parents,
                knowledge.populations[s.population] if s.population else None,
                s.prior_options if s.prior_line is not None else None,
                s.required_findings,
            )
            for s in knowledge.statements
        )

    def memberships(self, patients: list[PatientFacts]) -> list[Memberships]:
        return [self.memberships_of(p) for p in patients]

    def memberships_of(self, patient: PatientFacts) -> Memberships:
        ancestors = self.knowledge.ancestors
        condition_closure: set[str] = set()
        for c in patient.conditions:
            condition_closure |= ancestors.get(c, {c})
        tried_closure: set[str] = set()
        for t in patient.tried:
            tried_closure |= ancestors.get(t, {t})
        finding_closure: set[str] = set()
        for f in patient.findings:
            finding_closure |= ancestors.get(f, {f})
        age = patient.age
        applies, possibly, met = [], [], []
        for rule in self.rules:
            if rule.conditions:
                condition_match = not rule.conditions.isdisjoint(condition_closure)
                condition_possible = condition_match or not rule.condition_parents.isdisjoint(patient.conditions)
            else:
                condition_match = condition_possible = True
            if rule.population is None:
                population_match = population_possible = True
            elif age is None:
                population_match, population_possible = False, True
            else:
                population_match = population_possible = rule.population.contains(age)
            if condition_match and population_match:
                applies.append(rule.iri)
            elif condition_possible and population_possible:
                possibly.append(rule.iri)
            if rule.has_prerequisites and (
                (rule.prior_options is None or not rule.prior_options.isdisjoint(tried_closure))
                and rule.findings <= finding_closure
            ):
                met.append(rule.iri)
        return Memberships(frozenset(applies), frozenset(possibly), frozenset(met))
