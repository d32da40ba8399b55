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

import orjson

from kg.json_types import JsonObject, option_order
from kg.knowledge import STATUS_KINDS, Knowledge, Statement
from kg.patient.document import PatientFacts, Resolution
from kg.reasoning import Memberships
from kg.reasoning.advice import current_therapy_warnings, missing_information, regimen_gaps
from kg.reasoning.current import current_therapies, discontinuation_risks
from kg.reasoning.option_memo import OPTION_MEMO_SIZE, OptionMemo, OptionScope
from kg.reasoning.reasons import ReasonWriter
from kg.reasoning.status import decide
from kg.store.terms import TermResolver


class Evaluator:
    """Builds evaluation documents; one instance per knowledge version, shared across requests."""

    def __init__(
        self, knowledge: Knowledge, terms: TermResolver | None = None, option_memo_size: int = OPTION_MEMO_SIZE
    ) -> None:
        self.k = knowledge
        self.terms = terms or TermResolver()
        self.writer = ReasonWriter(knowledge, self.terms)
        self.memo = OptionMemo(option_memo_size)
        self._scopes: dict[str, OptionScope] = {}

    def evaluate(self, resolution: Resolution, m: Memberships, engine: str) -> JsonObject:
        """The evaluation document, a tree of its own that the caller may change at will."""
        document: JsonObject = orjson.loads(self.evaluate_json(resolution, m, engine))
        return document

    def evaluate_json(self, resolution: Resolution, m: Memberships, engine: str) -> bytes:
        """The evaluation document as JSON (UTF-8), what the API and NDJSON batches send."""
        return orjson.dumps(self._document(resolution, m, engine))

    def _document(self, resolution: Resolution, m: Memberships, engine: str) -> JsonObject:
        """The document, with shared parts: only for writing out at once (see the module notes)."""
        facts = resolution.facts
        options = {row: self._memoised_option(row, facts, m) for row in self._rows(facts, m)}
        return {
            "patient": facts.id,
            "knowledge_version": self.k.version,
            "engine": engine,
            "conditions": resolution.resolved,
            "unrecognized": resolution.unrecognized,
            "options": sorted(options.values(), key=option_order),
            "current_therapies": current_therapies(self.k, self.writer, facts, m, options),
            "missing_information": missing_information(
                self.k, self.terms, lambda row: self._applying(row, m), facts, options
            ),
            "warnings": current_therapy_warnings(self.k, self.writer, facts, m, options)
            + discontinuation_risks(self.k, self.writer, facts, m)
            + regimen_gaps(self.k, self.writer, facts, m, options),
        }

    def _rows(self, facts: PatientFacts, m: Memberships) -> list[tuple[str | None, str]]:
        """The options, as (indication, intervention): for each condition of the patient that a status-deciding
        statement applies or possibly applies for as an indication, the interventions those statements name;
        a statement for the whole patient (a coexisting condition: benzodiazepines in stroke recovery) adds its
        interventions under each indication a recommendation treats, or under no indication if none; the
        patient's own therapies that fall under an intervention named (diazepam under benzodiazepines) too."""
        named: dict[str | None, set[str]] = defaultdict(set)
        treated: set[str | None] = set()
        for iri, condition in m.applies_for | m.possibly_for:
            s = self.k.by_iri[iri]
            if s.kind in STATUS_KINDS:
                named[condition] |= s.interventions
                if s.kind == "recommendation":
                    treated.add(condition)
        whole_patient: set[str] = set()
        closure = {a for c in facts.conditions for a in self.k.ancestors.get(c, {c})}
        for s in self.k.whole_patient_status(closure):
            if s.iri in m.applies or s.iri in m.possibly:
                whole_patient |= s.interventions
        if whole_patient:
            for indication in treated or {None}:
                named[indication] |= whole_patient
        for interventions in named.values():
            interventions |= {t for t in facts.tried if any(self.k.is_a(t, n) for n in interventions)}
        return sorted(
            ((indication, i) for indication, interventions in named.items() for i in interventions),
            key=lambda row: (row[0] or "", row[1]),
        )

    def _memoised_option(self, row: tuple[str | None, str], facts: PatientFacts, m: Memberships) -> JsonObject:
        """`_option`, remembered by what it reads (`kg.reasoning.option_memo`)."""
        indication, intervention = row
        scope = self._scopes.get(intervention)
        if scope is None:  # the graph is fixed: one scope per intervention
            scope = OptionScope.of(self.k.statements_about(intervention), self.writer.matchable)
            self._scopes[intervention] = scope
        applying, possible = self._applying(row, m)
        return self.memo.option(
            row,
            frozenset(s.iri for s in applying),
            frozenset(s.iri for s in possible),
            scope,
            facts,
            m,
            lambda: self._option(row, applying, possible, facts, m),
        )

    def _applying(self, row: tuple[str | None, str], m: Memberships) -> tuple[list[Statement], list[Statement]]:
        """The statements about the row's intervention that apply, and that possibly apply, for its indication
        (a statement for the whole patient: for every row)."""
        indication, intervention = row
        applying: list[Statement] = []
        possible: list[Statement] = []
        for s in self.k.statements_about(intervention):
            if s.by_indication:
                does = indication is not None and (s.iri, indication) in m.applies_for
                may = indication is not None and (s.iri, indication) in m.possibly_for
            else:
                does, may = s.iri in m.applies, s.iri in m.possibly
            if does:
                applying.append(s)
            elif may:
                possible.append(s)
        return applying, possible

    def _option(
        self,
        row: tuple[str | None, str],
        applying: list[Statement],
        possible: list[Statement],
        facts: PatientFacts,
        m: Memberships,
    ) -> JsonObject:
        indication, intervention = row
        by_kind: dict[str, list[Statement]] = defaultdict(list)
        for s in applying:
            by_kind[s.kind].append(s)
        recommendations = by_kind["recommendation"]
        status, deciding = decide(applying, possible, met=lambda s: self._prerequisites_met(s, m), kind=_kind)
        deciding = sorted(deciding, key=self._specificity, reverse=True)  # the most specific first (stable)
        met = deciding if status == "eligible" else []
        possible_status = [s for s in possible if s.kind in STATUS_KINDS]

        lines = [
            s.line for s in (recommendations or [s for s in possible_status if s.kind == "recommendation"]) if s.line
        ]
        preferred = status == "eligible" and any(any(self.k.is_a(intervention, p) for p in s.preferred) for s in met)
        write = self.writer
        # SPEC §5: every applicable statement, the deciding ones first, each with its effect
        others = [s for s in applying + possible_status if s.kind in STATUS_KINDS and s not in deciding]
        reasons = []
        for s in deciding + others:
            reason = write.reason(s, facts, possible=s in possible)
            reason["effect"] = self._effect(s, s in possible, m)
            if reason["effect"] == "prerequisite-unmet":
                reason["unmet"] = write.unmet(s, facts)
            reasons.append(reason)
        return {
            "intervention": self.terms.compress(intervention),
            "label": self.k.label(intervention),
            "indication": (
                {"term": self.terms.compress(indication), "label": self.k.label(indication)} if indication else None
            ),
            "line": min(lines) if lines else None,
            "status": status,
            "preferred": preferred,
            "reasons": reasons,
            "cautions": [write.reason(s, facts) for s in by_kind["caution"] + by_kind["discontinuation-caution"]],
            "dosing": [write.dosing(s, facts) for s in by_kind["dosing"]]
            + [write.dosing(s, facts, possible=True) for s in possible if s.kind == "dosing"],
            "monitoring": [write.reason(s, facts) for s in by_kind["monitoring"]],
            "evidence": [write.reason(s, facts) for s in by_kind["evidence"]],
        }

    def _effect(self, s: Statement, possible: bool, m: Memberships) -> str:
        """What the statement does to the option (SPEC §5 `effect`)."""
        if possible:
            return "depends-on"
        if s.kind in EFFECTS:
            return EFFECTS[s.kind]
        return "recommends" if self._prerequisites_met(s, m) else "prerequisite-unmet"

    def _specificity(self, s: Statement) -> int:
        """How specific the statement's indications (or causes) are: a statement about rheumatic muscle spasm
        before one about any muscle spasm, so the first reason is the one closest to the patient."""
        return max((len(self.k.ancestors.get(c, ())) for c in s.indications | s.indication_causes), default=0)

    def _prerequisites_met(self, s: Statement, m: Memberships) -> bool:
        has_prerequisites = s.prior_line is not None or bool(s.required_findings)
        return not has_prerequisites or s.iri in m.met


#: the effect of an excluding statement that applies (a recommendation's depends on its prerequisites)
EFFECTS = {"contraindication": "excludes", "not-indicated": "not-indicated"}


def _kind(s: Statement) -> str:
    return s.kind
