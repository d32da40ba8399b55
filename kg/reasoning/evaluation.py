"""From an engine's memberships to the evaluation document of SPEC §5.

The decision rules are few and general: a contraindication that applies excludes; a
non-indication makes an option not indicated; a statement that might apply if the record said
more leaves the option undetermined; a recommendation that applies makes it eligible when its
prerequisites are met and deferred otherwise. Which statements exist, and what they are about,
comes from the graph.

Documents are assembled from parts that never change once built (the statements' own text and
sources, option documents remembered for the next patient with the same relevant facts), so
these parts are shared between documents. No caller ever sees them shared: `evaluate_json`
writes the document out at once, and `evaluate` hands out a deep copy made from those bytes.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

import orjson

from kg.knowledge import CONDITION, FINDING, LINE_OF_THERAPY, PATIENT, STATUS_KINDS, Knowledge, Statement
from kg.patient.document import PatientFacts, Resolution
from kg.reasoning import Memberships
from kg.reasoning.status import decide
from kg.store.terms import TermResolver

#: Option documents remembered at most; the memo starts afresh when full, so memory stays flat.
OPTION_MEMO_SIZE = 4096


class _OptionScope(NamedTuple):
    """What an option's document can depend on: its statements, and the patient terms they can match."""

    statements: frozenset[str]
    conditions: frozenset[str]
    tried: frozenset[str]
    findings: frozenset[str]
    uses_age: bool


CAUTION_KINDS = ("caution", "discontinuation-caution")


class Evaluator:
    """Builds evaluation documents; one instance per knowledge version, shared across requests."""

    def __init__(
        self, knowledge: Knowledge, terms: TermResolver | None = None, option_memo_size: int = OPTION_MEMO_SIZE
    ) -> None:
        self.k = knowledge
        self.terms = terms or TermResolver()
        self._statement_json = {s.iri: self._statement_doc(s) for s in knowledge.statements}
        self._relevant: dict[str, tuple[Statement, ...]] = {}
        self._matchable = {s.iri: self._matchable_terms(s) for s in knowledge.statements}
        self._doses = {s.iri: self._dose_docs(s) for s in knowledge.statements}
        self._scopes: dict[str, _OptionScope] = {}
        self._option_memo: dict[tuple, dict] = {}
        self._option_memo_size = option_memo_size

    # ------------------------------------------------------------------ public
    def evaluate(self, resolution: Resolution, m: Memberships, engine: str) -> dict:
        """The evaluation document, a tree of its own that the caller may change at will."""
        return orjson.loads(self.evaluate_json(resolution, m, engine))

    def evaluate_json(self, resolution: Resolution, m: Memberships, engine: str) -> bytes:
        """The evaluation document as JSON (UTF-8), what the API and NDJSON batches send."""
        return orjson.dumps(self._document(resolution, m, engine))

    def _document(self, resolution: Resolution, m: Memberships, engine: str) -> dict:
        """The document, with shared parts: only for writing out at once (see the module notes)."""
        facts = resolution.facts
        options = {iri: self._memoised_option(iri, facts, m) for iri in self._entries(facts, m)}
        return {
            "patient": facts.id,
            "knowledge_version": self.k.version,
            "engine": engine,
            "conditions": resolution.resolved,
            "unrecognized": resolution.unrecognized,
            "options": sorted(options.values(), key=lambda o: (o["line"] if o["line"] is not None else 99, o["label"])),
            "missing_information": self._missing_information(facts, m, options),
            "warnings": self._warnings(facts, m, options),
        }

    # ------------------------------------------------------------------ which interventions
    def _entries(self, facts: PatientFacts, m: Memberships) -> list[str]:
        """Interventions named by a status-deciding statement that applies or might apply, plus
        the patient's own therapies that fall under one of them (diazepam under benzodiazepines)."""
        named: set[str] = set()
        for iri in m.applies | m.possibly:
            s = self.k.by_iri[iri]
            if s.kind in STATUS_KINDS:
                named |= s.interventions
        for therapy in facts.tried:
            if any(self.k.is_a(therapy, n) for n in named):
                named.add(therapy)
        return sorted(named)

    def _about(self, s: Statement, intervention: str) -> bool:
        return any(self.k.is_a(intervention, x) for x in s.interventions)

    # ------------------------------------------------------------------ one option
    def _statements_about(self, intervention: str) -> tuple[Statement, ...]:
        """Statements about the intervention or one of its superclasses, in IRI order (memoised)."""
        if intervention not in self._relevant:
            self._relevant[intervention] = tuple(
                sorted((s for s in self.k.statements if self._about(s, intervention)), key=lambda s: s.iri)
            )
        return self._relevant[intervention]

    def _memoised_option(self, intervention: str, facts: PatientFacts, m: Memberships) -> dict:
        """`_option`, remembered by what it reads: the memberships of the statements about the
        intervention and the patient terms (and age) those statements can match. Patients differ
        in many facts but agree on these for most options (measured: 85% of the options of random
        generated patients are found here). A remembered document is never changed."""
        scope = self._scope(intervention)
        key = (
            intervention,
            m.applies & scope.statements,
            m.possibly & scope.statements,
            m.met & scope.statements,
            facts.conditions & scope.conditions,
            facts.tried & scope.tried,
            facts.findings & scope.findings,
            facts.age if scope.uses_age else None,
        )
        option = self._option_memo.get(key)
        if option is None:
            option = self._option(intervention, facts, m)
            if self._option_memo_size:
                if len(self._option_memo) >= self._option_memo_size:
                    self._option_memo.clear()
                self._option_memo[key] = option
        return option

    def _scope(self, intervention: str) -> _OptionScope:
        """Everything `_option` reads of a patient, for one intervention (memoised: the graph is fixed)."""
        scope = self._scopes.get(intervention)
        if scope is None:
            relevant = self._statements_about(intervention)
            matchable = [self._matchable[s.iri] for s in relevant]
            scope = self._scopes[intervention] = _OptionScope(
                statements=frozenset(s.iri for s in relevant),
                conditions=frozenset().union(*(c for c, _, _ in matchable)),
                tried=frozenset().union(*(t for _, t, _ in matchable)),
                findings=frozenset().union(*(f for _, _, f in matchable)),
                uses_age=any(s.population for s in relevant),
            )
        return scope

    def _option(self, intervention: str, facts: PatientFacts, m: Memberships) -> dict:
        by_kind: dict[str, list[Statement]] = defaultdict(list)
        applying: list[Statement] = []
        possible: list[Statement] = []
        for s in self._statements_about(intervention):
            if s.iri in m.applies:
                by_kind[s.kind].append(s)
                applying.append(s)
            elif s.iri in m.possibly:
                possible.append(s)
        recommendations = by_kind["recommendation"]
        status, deciding = decide(applying, possible, met=lambda s: self._prerequisites_met(s, m), kind=_kind)
        met = deciding if status == "eligible" else []
        possible_status = [s for s in possible if s.kind in STATUS_KINDS]

        lines = [
            s.line for s in (recommendations or [s for s in possible_status if s.kind == "recommendation"]) if s.line
        ]
        preferred = status == "eligible" and any(any(self.k.is_a(intervention, p) for p in s.preferred) for s in met)
        reasons = [self._reason(s, facts, m, possible=s in possible) for s in deciding]
        if status == "deferred":
            for s, reason in zip(deciding, reasons, strict=False):
                reason["unmet"] = self._unmet(s, facts)
        return {
            "intervention": self.terms.compress(intervention),
            "label": self.k.label(intervention),
            "line": min(lines) if lines else None,
            "status": status,
            "preferred": preferred,
            "reasons": reasons,
            "cautions": [self._reason(s, facts, m) for s in by_kind["caution"] + by_kind["discontinuation-caution"]],
            "dosing": [self._dosing(s, facts, m) for s in by_kind["dosing"]]
            + [self._dosing(s, facts, m, possible=True) for s in possible if s.kind == "dosing"],
            "monitoring": [self._reason(s, facts, m) for s in by_kind["monitoring"]],
            "evidence": [self._reason(s, facts, m) for s in by_kind["evidence"]],
        }

    def _prerequisites_met(self, s: Statement, m: Memberships) -> bool:
        has_prerequisites = s.prior_line is not None or bool(s.required_findings)
        return not has_prerequisites or s.iri in m.met

    # ------------------------------------------------------------------ reasons
    def _statement_doc(self, s: Statement) -> dict:
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

    def _reason(self, s: Statement, facts: PatientFacts, m: Memberships, possible: bool = False) -> dict:
        doc = dict(self._statement_json[s.iri])
        doc["matched"] = self._matched(s, facts)
        if possible:
            doc["applies"] = "possibly"
        return doc

    def _matched(self, s: Statement, facts: PatientFacts) -> list[dict]:
        """The patient facts a statement matched: each recorded term, then the age."""
        conditions, tried, findings = self._matchable[s.iri]
        matched: list[dict] = []
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

    def _matchable_terms(self, s: Statement) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """The classes a patient's conditions, tried therapies and findings can match `s` with:
        those under what it names (and, for conditions, the less specific ones it may match)."""

        def under(classes: frozenset[str]) -> frozenset[str]:
            return frozenset().union(*(self.k.descendants(c) for c in classes))

        return under(s.conditions) | s.condition_parents, under(s.prior_options), under(s.required_findings)

    def _term_matches(self, s: Statement, field: str, term: str) -> list[dict]:
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

    def _unmet(self, s: Statement, facts: PatientFacts) -> list[dict]:
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

    def _dosing(self, s: Statement, facts: PatientFacts, m: Memberships, possible: bool = False) -> dict:
        doc = self._reason(s, facts, m, possible=possible)
        if s.population:
            doc["population"] = {"term": self.terms.compress(s.population), "label": self.k.label(s.population)}
        doc["doses"] = self._doses[s.iri]
        return doc

    def _dose_docs(self, s: Statement) -> list[dict]:
        """The dose figures of a statement, as numbers with units."""
        return [
            {
                "role": self.terms.compress(d.role),
                "label": d.role_label,
                "lower": _number(d.lower),
                "upper": _number(d.upper),
                "unit": d.unit,
                "ucum": d.ucum,
            }
            for d in s.doses
        ]

    # ------------------------------------------------------------------ top level
    def _missing_information(self, facts: PatientFacts, m: Memberships, options: dict[str, dict]) -> list[dict]:
        """The questions whose answers would change an option, each with the options it would change."""
        questions: dict[tuple, dict] = {}
        for intervention, option in options.items():
            for s in self._statements_about(intervention):
                if s.iri not in m.possibly:
                    continue
                if s.population and facts.age is None and option["status"] in ("eligible", "deferred"):
                    key: tuple = ("age",)
                    q = questions.setdefault(
                        key,
                        {
                            "question": self.k.question(PATIENT),
                            "field": "age",
                            "populations": set(),
                            "options": set(),
                        },
                    )
                    q["populations"].add(self.terms.compress(s.population))
                    q["options"].add(option["intervention"])
                for recorded in sorted(facts.conditions & s.condition_parents):
                    narrower = sorted(self.terms.compress(c) for c in s.conditions if self.k.is_a(c, recorded))
                    key = ("conditions", recorded)
                    q = questions.setdefault(
                        key,
                        {
                            "question": self.k.question(CONDITION, self.k.label(recorded)),
                            "field": "conditions",
                            "recorded": self.terms.compress(recorded),
                            "candidates": set(),
                            "options": set(),
                        },
                    )
                    q["candidates"].update(narrower)
                    q["options"].add(option["intervention"])
            if option["status"] == "deferred":
                for reason in option["reasons"]:
                    for unmet in reason.get("unmet", []):
                        key = ("prerequisite", unmet["requirement"], unmet.get("line"), unmet.get("finding"))
                        if unmet["requirement"] == "prior-line":
                            text = self.k.question(LINE_OF_THERAPY, str(unmet["line"]))
                        else:
                            finding = self.k.label(self.terms.expand(unmet["finding"], field="finding"))
                            text = self.k.question(FINDING, finding)
                        q = questions.setdefault(
                            key,
                            {
                                "question": text,
                                "field": "therapies_tried" if unmet["requirement"] == "prior-line" else "findings",
                                "options": set(),
                            },
                        )
                        q["options"].add(option["intervention"])
        result = []
        for q in questions.values():
            result.append({k: sorted(v) if isinstance(v, set) else v for k, v in q.items()})
        return result

    def _warnings(self, facts: PatientFacts, m: Memberships, options: dict[str, dict]) -> list[dict]:
        """Current therapies that are now excluded or not indicated (with the statements on stopping
        them), and cautions that apply to a current therapy because of the patient's conditions."""
        warnings = []
        for therapy in sorted(facts.current):
            # the therapy's own option when it has one, else the options of its forms (baclofen → oral baclofen)
            related = [therapy] if therapy in options else [i for i in options if self.k.is_a(i, therapy)]
            stopped = [i for i in related if options[i]["status"] in EXCLUDING_STATUSES]
            if stopped:
                status = "excluded" if any(options[i]["status"] == "excluded" for i in stopped) else "not-indicated"
                stopping = [
                    self._statement_json[s.iri]
                    for s in self.k.statements
                    if s.kind == "discontinuation-caution" and s.iri in m.applies and self._about(s, therapy)
                ]
                names = ", ".join(f"{self.k.label(i)} is {options[i]['status']}" for i in stopped)
                form = "" if stopped == [therapy] else " (the record does not say which form)"
                message = f"The patient currently receives {self.k.label(therapy)}{form}: {names} for this patient."
                if stopping:
                    message += " If it is stopped: " + " ".join(s["claim"].rstrip(".") + "." for s in stopping)
                warnings.append(
                    {
                        "kind": "current-therapy-" + status,
                        "intervention": self.terms.compress(therapy),
                        "message": message,
                        "reasons": [r for i in stopped for r in options[i]["reasons"]],
                        "statements": stopping,
                    }
                )
            for s in self.k.statements:
                if s.kind in CAUTION_KINDS and s.conditions and s.iri in m.applies and self._about(s, therapy):
                    warnings.append(
                        {
                            "kind": "current-therapy-caution",
                            "intervention": self.terms.compress(therapy),
                            "message": f"The patient currently receives {self.k.label(therapy)}: {s.claim}",
                            "reasons": [self._reason(s, facts, m)],
                            "statements": [],
                        }
                    )
        return warnings


EXCLUDING_STATUSES = ("excluded", "not-indicated")


def _kind(s: Statement) -> str:
    return s.kind


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
