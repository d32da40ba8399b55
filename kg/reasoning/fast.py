"""The fast engine: the statements compiled into set operations over the class hierarchy.

Its rules are the OWL definitions `kg.reasoning.owl_classes` generates, evaluated directly: a
statement applies when a patient condition is the statement's condition or a subclass of it and
the age lies in its population; it possibly applies when a condition is recorded only as a less
specific class, or the age is unknown; its prerequisites are met when an option of the prior line
has been tried and every required finding is recorded.

A statement that names an indication or a cause of one (`Statement.by_indication`) is decided per
condition of the patient, as a possible indication: it applies for a condition under one of its
indications, or whose cause (`kg.patient.causes`) falls under one of its causes; it possibly applies
where the condition is recorded less specifically, or its cause is undetermined among candidates that
include one of its causes, or the patient has a condition that puts the indication in doubt
(`Statement.in_doubt_with`). It applies to the patient when it applies for one of the conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.knowledge import Knowledge, Population
from kg.patient.causes import Cause, causes_of
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships, SharedUnion


@dataclass(frozen=True)
class _Rule:
    iri: str
    conditions: frozenset[str]
    condition_parents: frozenset[str]
    population: Population | None
    prior_options: frozenset[str] | None
    findings: frozenset[str]
    by_indication: bool = False
    indications: frozenset[str] = frozenset()
    indication_parents: frozenset[str] = frozenset()
    causes: frozenset[str] = frozenset()
    coexisting: frozenset[str] = frozenset()
    in_doubt_with: frozenset[str] = frozenset()

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
                s.by_indication,
                s.indications,
                s.indication_parents,
                s.indication_causes,
                s.coexisting,
                s.in_doubt_with,
            )
            for s in knowledge.statements
        )
        self.index = _RuleIndex(self.rules)
        #: by age: the rules naming no condition that apply, and that possibly apply (one pair per age seen)
        self._everyone: dict[int | None, tuple[frozenset[str], frozenset[str]]] = {}

    def memberships(self, patients: list[PatientFacts]) -> list[Memberships]:
        return [self.memberships_of(p) for p in patients]

    def closures(self, patient: PatientFacts) -> tuple[set[str], set[str], set[str]]:
        """The patient's conditions, tried therapies and findings, each with every class it falls under."""
        ancestors = self.knowledge.ancestors

        def closed(terms: frozenset[str]) -> set[str]:
            return {a for term in terms for a in ancestors.get(term, {term})}

        return closed(patient.conditions), closed(patient.tried), closed(patient.findings)

    def candidates(self, patient: PatientFacts) -> list[int]:
        """The positions of the rules the patient's terms can trigger (`_RuleIndex.candidates`)."""
        conditions, tried, findings = self.closures(patient)
        return self.index.candidates(conditions | patient.conditions, tried, findings)

    def memberships_of(self, patient: PatientFacts) -> Memberships:
        condition_closure, tried_closure, finding_closure = self.closures(patient)
        causes = causes_of(self.knowledge, patient.conditions, patient.due_to)
        applies: list[str] = []
        possibly: list[str] = []
        met: list[str] = []
        applies_for: list[tuple[str, str]] = []
        possibly_for: list[tuple[str, str]] = []
        everyone_applies, everyone_possibly = self._everyone_of(patient.age)
        for position in self.index.candidates(condition_closure | patient.conditions, tried_closure, finding_closure):
            rule = self.rules[position]
            if rule.by_indication:
                rows, maybe_rows = self._for_indications(rule, patient, condition_closure, causes)
                applies_for += rows
                possibly_for += maybe_rows
                does, may = bool(rows), bool(maybe_rows)
            else:
                does, may = self._for_patient(rule, patient, condition_closure)
            if does:
                applies.append(rule.iri)
            elif may:
                possibly.append(rule.iri)
            if rule.has_prerequisites and (
                (rule.prior_options is None or not rule.prior_options.isdisjoint(tried_closure))
                and rule.findings <= finding_closure
            ):
                met.append(rule.iri)
        return Memberships(
            SharedUnion(everyone_applies, applies),
            SharedUnion(everyone_possibly, possibly),
            frozenset(met),
            frozenset(applies_for),
            frozenset(possibly_for),
        )

    def _everyone_of(self, age: int | None) -> tuple[frozenset[str], frozenset[str]]:
        """The rules naming no condition (a set per population) that apply to a patient of `age`, and that
        possibly do: decided once per age, shared by every patient of that age."""
        found = self._everyone.get(age)
        if found is None:
            applies: list[str] = []
            possibly: list[str] = []
            for population, iris in self.index.everyone.items():
                does, may = _population(population, age)
                if does:
                    applies.extend(iris)
                elif may:
                    possibly.extend(iris)
            found = self._everyone[age] = (frozenset(applies), frozenset(possibly))
        return found

    def _for_patient(self, rule: _Rule, patient: PatientFacts, condition_closure: set[str]) -> tuple[bool, bool]:
        """Whether a rule for the whole patient applies, and whether it possibly does."""
        if rule.conditions:
            condition_match = not rule.conditions.isdisjoint(condition_closure)
            condition_possible = condition_match or not rule.condition_parents.isdisjoint(patient.conditions)
        else:
            condition_match = condition_possible = True
        population_match, population_possible = _population(rule.population, patient.age)
        return condition_match and population_match, condition_possible and population_possible

    def _for_indications(
        self, rule: _Rule, patient: PatientFacts, condition_closure: set[str], causes: dict[str, Cause]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(statement, condition) pairs where the patient's condition is an indication the rule applies to
        (it falls under one of its indications, or its cause under one of its causes), and pairs where it
        possibly does (recorded less specifically, or its cause undetermined among candidates that include
        one of the rule's causes)."""
        ancestors = self.knowledge.ancestors
        population_match, population_possible = _population(rule.population, patient.age)
        coexisting = not rule.coexisting or not rule.coexisting.isdisjoint(condition_closure)
        in_doubt = not rule.in_doubt_with.isdisjoint(condition_closure)
        if not coexisting or not population_possible:
            return [], []
        rows, maybe = [], []
        for condition in sorted(patient.conditions):
            indication = not rule.indications.isdisjoint(ancestors.get(condition, {condition}))
            cause = causes.get(condition)
            due = cause is not None and self._under(cause.causes, rule.causes)
            possibly_due = cause is not None and self._under(cause.candidates, rule.causes)
            if (indication or due) and population_match and not in_doubt:
                rows.append((rule.iri, condition))
            elif indication or due or possibly_due or condition in rule.indication_parents:
                maybe.append((rule.iri, condition))
        return rows, maybe

    def _under(self, classes: frozenset[str], targets: frozenset[str]) -> bool:
        ancestors = self.knowledge.ancestors
        return any(not targets.isdisjoint(ancestors.get(c, {c})) for c in classes)


class _RuleIndex:
    """The rules by the terms that can trigger them, so a patient costs what the rules that can apply to it cost,
    not what all the knowledge costs (issue 23). A rule can apply or possibly apply only through one of its
    conditions (a statement for the whole patient: its conditions and their parents; one per indication: its
    indications, their parents and its causes), and have its prerequisites met only through a prior option
    tried or, with no prior line, a required finding. A rule naming no condition concerns every patient of its
    population: those rules are kept as one set of IRIs per population, decided once per patient."""

    def __init__(self, rules: tuple[_Rule, ...]) -> None:
        self.everyone: dict[Population | None, tuple[str, ...]] = {}
        self.by_condition: dict[str, list[int]] = {}
        self.by_prior_option: dict[str, list[int]] = {}
        self.by_finding: dict[str, list[int]] = {}
        for position, rule in enumerate(rules):
            if rule.by_indication:
                keys = rule.indications | rule.indication_parents | rule.causes
            else:
                keys = rule.conditions | rule.condition_parents
            if not rule.by_indication and not rule.conditions:
                self.everyone[rule.population] = (*self.everyone.get(rule.population, ()), rule.iri)
            for key in keys:
                self.by_condition.setdefault(key, []).append(position)
            if rule.prior_options is not None:
                for key in rule.prior_options:
                    self.by_prior_option.setdefault(key, []).append(position)
            elif rule.findings:
                for key in rule.findings:
                    self.by_finding.setdefault(key, []).append(position)

    def candidates(self, conditions: set[str], tried: set[str], findings: set[str]) -> list[int]:
        """The positions of the rules naming a condition that can apply or possibly apply for these (closed)
        terms, and of the rules whose prerequisites these terms can meet."""
        found: set[int] = set()
        for terms, index in (
            (conditions, self.by_condition),
            (tried, self.by_prior_option),
            (findings, self.by_finding),
        ):
            for term in terms:
                found.update(index.get(term, ()))
        return sorted(found)


def _population(population: Population | None, age: int | None) -> tuple[bool, bool]:
    """Whether the age lies in the population, and whether it may (no age recorded)."""
    if population is None:
        return True, True
    if age is None:
        return False, True
    return population.contains(age), population.contains(age)
