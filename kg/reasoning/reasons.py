"""The parts of an evaluation that say why: a statement's own text and sources, what of the patient it
matched, what it still needs, its doses.

A statement's text and sources are built once per knowledge version and shared by every document
(`kg.reasoning.evaluation` explains why no caller sees them shared); what a statement matched is
built per patient.
"""

from __future__ import annotations

from decimal import Decimal

from kg.json_types import JsonObject
from kg.knowledge import Knowledge, Statement
from kg.patient.document import PatientFacts
from kg.store.terms import TermResolver

#: The FHIR system URI of UCUM, the units of every dose figure.
UCUM = "http://unitsofmeasure.org"
#: The three kinds of patient terms a statement can match: conditions, tried therapies, findings.
Matchable = tuple[frozenset[str], frozenset[str], frozenset[str]]


class ReasonWriter:
    """Writes reasons, dosing and unmet prerequisites for one knowledge version."""

    def __init__(self, knowledge: Knowledge, terms: TermResolver) -> None:
        self.k = knowledge
        self.terms = terms
        self._statement_json = {s.iri: self._statement_doc(s) for s in knowledge.statements}
        self.matchable: dict[str, Matchable] = {s.iri: self._matchable_terms(s) for s in knowledge.statements}
        self._doses = {s.iri: self._dose_docs(s) for s in knowledge.statements}

    def statement(self, s: Statement) -> JsonObject:
        """The statement's own text and sources (shared: never to be changed)."""
        return self._statement_json[s.iri]

    def reason(self, s: Statement, facts: PatientFacts, possible: bool = False) -> JsonObject:
        """The statement as a reason for this patient: its text, sources and what it matched."""
        doc = dict(self._statement_json[s.iri])
        doc["matched"] = self._matched(s, facts)
        if possible:
            doc["applies"] = "possibly"
        return doc

    def dosing(self, s: Statement, facts: PatientFacts, possible: bool = False) -> JsonObject:
        """A dosing statement as a reason, with its population and dose figures."""
        doc = self.reason(s, facts, possible=possible)
        if s.population:
            doc["population"] = {"term": self.terms.compress(s.population), "label": self.k.label(s.population)}
        doc["doses"] = self._doses[s.iri]
        return doc

    def unmet(self, s: Statement, facts: PatientFacts) -> list[JsonObject]:
        """The prerequisites of a recommendation that the patient record does not meet."""
        unmet = []
        if s.prior_line is not None and not any(self.k.is_a(t, o) for t in facts.tried for o in s.prior_options):
            unmet.append(
                {
                    "requirement": "prior-line",
                    "text": f"line {s.prior_line} not initiated",
                    "line": s.prior_line,
                    "options": [self.terms.compress(o) for o in sorted(s.prior_options)],
                }
            )
        for f in sorted(s.required_findings):
            if not any(self.k.is_a(pf, f) for pf in facts.findings):
                unmet.append(
                    {
                        "requirement": "finding",
                        "text": f"{self.k.label(f)} not recorded",
                        "finding": self.terms.compress(f),
                    }
                )
        return unmet

    def _statement_doc(self, s: Statement) -> JsonObject:
        doc = {
            "statement": self.terms.compress(s.iri),
            "kind": s.kind,
            "label": s.label,
            "claim": s.claim,
            "sources": [
                {"source": self.terms.compress(r.iri), "label": r.label, "reference": r.number} for r in s.sources
            ],
        }
        if s.quotes:
            doc["quotes"] = [
                {"text": q.text, "origin": q.origin, "source": self.terms.compress(q.source)} for q in s.quotes
            ]
        return doc

    def _matched(self, s: Statement, facts: PatientFacts) -> list[JsonObject]:
        """The patient facts a statement matched: each recorded term, then the age."""
        conditions, tried, findings = self.matchable[s.iri]
        matched: list[JsonObject] = []
        for c in sorted(facts.conditions & conditions):
            matched += self._term_matches(s, "conditions", c)
        if s.population and facts.age is not None:
            matched.append({"field": "age", "value": facts.age, "matches": self.terms.compress(s.population)})
        if tried := facts.tried & tried:
            for t in sorted(tried):
                matched += self._term_matches(s, "therapies_tried", t)
        if findings := facts.findings & findings:
            for f in sorted(findings):
                matched += self._term_matches(s, "findings", f)
        return matched

    def _matchable_terms(self, s: Statement) -> Matchable:
        """The classes a patient's conditions, tried therapies and findings can match `s` with:
        those under what it names (and, for conditions, the less specific ones it may match)."""

        def under(classes: frozenset[str]) -> frozenset[str]:
            return frozenset().union(*(self.k.descendants(c) for c in classes))

        return under(s.conditions) | s.condition_parents, under(s.prior_options), under(s.required_findings)

    def _term_matches(self, s: Statement, field: str, term: str) -> list[JsonObject]:
        """What one recorded term (among the statement's matchable ones) matches in it."""
        c = self.terms.compress
        if field == "conditions":
            matches = []
            for target in sorted(s.conditions):
                if self.k.is_a(term, target):
                    matches.append({"field": field, "term": c(term), "matches": c(target)})
                elif term in s.condition_parents and self.k.is_a(target, term):
                    matches.append({"field": field, "term": c(term), "might_match": c(target)})
            return matches
        if field == "therapies_tried":
            met = any(self.k.is_a(term, o) for o in s.prior_options)
            return [{"field": field, "term": c(term), "meets": f"line {s.prior_line} initiated"}] if met else []
        return [
            {"field": field, "term": c(term), "matches": c(r)}
            for r in sorted(s.required_findings)
            if self.k.is_a(term, r)
        ]

    def _dose_docs(self, s: Statement) -> list[JsonObject]:
        """The dose figures of a statement, as numbers with units, and as a FHIR `Range` of UCUM quantities
        (what a `Dosage.doseAndRate.doseRange`, or a `maxDosePerPeriod`'s numerator, can carry)."""
        return [
            {
                "role": self.terms.compress(d.role),
                "label": d.role_label,
                "lower": _number(d.lower),
                "upper": _number(d.upper),
                "unit": d.unit,
                "ucum": d.ucum,
                "range": {
                    bound: {"value": value, "unit": d.unit, "system": UCUM, "code": d.ucum}
                    for bound, value in (("low", _number(d.lower)), ("high", _number(d.upper)))
                    if value is not None
                },
            }
            for d in s.doses
        ]


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
