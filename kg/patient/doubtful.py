"""Doubtful facts are questions, not facts: the one rule, for both engines.

A record that does not say clearly that a condition or medication is current (`kg.patient.fhir_status`)
is a doubtful fact. The patient is evaluated without the doubtful facts (the answer given), with
each of them, and with all of them together. **Any option whose status differs between these
evaluations is `undetermined`**: its reasons start with the statements that would decide it if
the fact were current (effect `depends-on`, naming the fact), followed by the reasons without it,
and `depends_on` gives the status each fact would lead to. Each fact that changes an option asks
the question its class carries in the ontology (`tkg:currentStatusQuestion`,
`tkg:verificationQuestion`, read by queries/engine/status-questions.rq) in `missing_information`,
with the options it affects. An option changed only by several facts together depends on all of
them. A warning that only a doubtful fact raises (a possibly current therapy that is excluded) is
added with `applies: possibly` and the facts it depends on, and asks the same question.

The rule reads only evaluation documents, which both engines produce from their memberships, so
it cannot make the engines differ. Facts that resolve to the same graph class are one question
(with every record behind it), so the number of extra evaluations is bounded by the graph's
classes, not by the size of the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from kg.errors import SourceFileError
from kg.json_types import JsonObject, deciding_reasons, option_order
from kg.knowledge import CONDITION, INTERVENTION, Knowledge
from kg.patient.document import PatientFacts
from kg.store import Store, solutions
from kg.store.queries import named_query

#: The PatientInput list a doubtful fact would join → the class its terms fall under.
ROOTS = {"conditions": CONDITION, "current_therapies": INTERVENTION}
_TERM = "{term}"


@dataclass(frozen=True)
class Doubtful:
    """A doubtful fact resolved to a graph class, with every record behind it."""

    field: str
    iri: str
    term: str  # CURIE
    question: str
    sources: tuple[str, ...]  # Bundle paths of the records


class QuestionTemplates:
    """The ontology's question templates per class and kind of doubt (`status`, `verification`)."""

    def __init__(self, store: Store, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.templates: dict[tuple[str, str], str] = {}
        for solution in solutions(named_query("engine/status-questions").run(store)):
            self.templates[(solution["class"].value, solution["doubt"].value)] = solution["template"].value
        for root in ROOTS.values():
            if (root, "status") not in self.templates:
                raise SourceFileError(root, "the graph gives no tkg:currentStatusQuestion for this class")

    def question(self, iri: str, doubt: str) -> str:
        """The question about a recorded class: the template of its nearest class that has one.

        A verification doubt about a class with no verification question asks the status question.
        """
        for kind in (doubt, "status"):
            holders = [c for c in self.knowledge.ancestors.get(iri, frozenset({iri})) if (c, kind) in self.templates]
            if holders:
                nearest = max(holders, key=lambda c: len(self.knowledge.ancestors.get(c, ())))
                return self.templates[(nearest, kind)].replace(_TERM, self.knowledge.label(iri))
        raise SourceFileError(iri, "no question template applies to this class")


def settle(base: JsonObject, variants: list[tuple[tuple[Doubtful, ...], JsonObject]]) -> JsonObject:
    """The evaluation `base` (without the doubtful facts), with every option that `variants`
    (the evaluations with some of them) answer differently made `undetermined`; see the module notes.
    `base` is changed and returned; it must be a document of the caller's own."""
    by_row = {_row(o): o for o in base["options"]}
    changed: dict[tuple[str, str], list[tuple[tuple[Doubtful, ...], JsonObject | None]]] = {}
    for group, document in variants:
        theirs = {_row(o): o for o in document["options"]}
        for row in by_row.keys() | theirs.keys():
            mine, other = by_row.get(row), theirs.get(row)
            if mine is None or other is None or mine["status"] != other["status"]:
                changed.setdefault(row, []).append((group, other))
    asked: dict[str, set[tuple[str, str]]] = {}
    for row, differences in changed.items():
        single: list[tuple[tuple[Doubtful, ...], JsonObject | None]] = [(g, o) for g, o in differences if len(g) == 1]
        attributed = single or differences  # an interaction of several facts: each of them
        option = by_row.get(row) or _first_option(attributed)
        by_row[row] = _undetermined(option, attributed, row in by_row)
        for group, _ in attributed:
            for fact in group:
                asked.setdefault(fact.iri, set()).add(row)
    base["options"] = sorted(by_row.values(), key=option_order)
    warned = _possible_warnings(base, variants)
    facts = {f.iri: f for group, _ in variants for f in group}
    for iri in sorted(asked.keys() | warned.keys()):
        fact, rows = facts[iri], sorted(asked.get(iri, ()))
        # one question per fact: the doubt's own replaces the base's plain one about the same fact
        base["missing_information"] = [
            q
            for q in base["missing_information"]
            if not (q["field"] == fact.field and q.get("candidates") == [fact.term])
        ]
        base["missing_information"].append(
            {
                "question": fact.question,
                "field": fact.field,
                "candidates": [fact.term],
                "options": sorted({intervention for _, intervention in rows}),
                "affects": [{"indication": indication or None, "intervention": x} for indication, x in rows],
                "warnings": sorted(warned.get(iri, ())),
                "sources": list(fact.sources),
            }
        )
    return base


def _row(option: JsonObject) -> tuple[str, str]:
    """An option's key: its indication's term ("" for none) and its intervention."""
    return ((option.get("indication") or {}).get("term", ""), option["intervention"])


def _possible_warnings(
    base: JsonObject, variants: list[tuple[tuple[Doubtful, ...], JsonObject]]
) -> dict[str, set[str]]:
    """Add the warnings a doubtful fact would raise (a doubtful current therapy that is excluded)
    to `base`, each naming the facts it depends on; the warning kinds per fact."""
    known = {(w["kind"], w["intervention"]) for w in base["warnings"]}
    warned: dict[str, set[str]] = {}
    for single in (True, False):  # a fact's own warnings first; those of the facts together after
        for group, document in variants:
            if (len(group) == 1) != single:
                continue
            for warning in document["warnings"]:
                key = (warning["kind"], warning["intervention"])
                if key in known:
                    continue
                known.add(key)
                base["warnings"].append({**warning, "applies": "possibly", "depends_on": [f.term for f in group]})
                for fact in group:
                    warned.setdefault(fact.iri, set()).add(warning["kind"])
    return warned


def _first_option(differences: list[tuple[tuple[Doubtful, ...], JsonObject | None]]) -> JsonObject:
    return next(o for _, o in differences if o is not None)


def _undetermined(
    option: JsonObject, differences: list[tuple[tuple[Doubtful, ...], JsonObject | None]], in_base: bool
) -> JsonObject:
    depends: list[JsonObject] = []
    reasons: list[JsonObject] = []
    seen: set[str] = set()
    for group, other in differences:
        for fact in group:
            depends.append(
                {
                    "term": fact.term,
                    "field": fact.field,
                    "question": fact.question,
                    "sources": list(fact.sources),
                    "status_if_current": other["status"] if other is not None else None,
                    "status_otherwise": option["status"] if in_base else None,
                }
            )
        for reason in deciding_reasons(other) if other is not None else []:  # what would decide it
            if reason["statement"] not in seen:
                seen.add(reason["statement"])
                reasons.append(
                    {**reason, "effect": "depends-on", "applies": "possibly", "depends_on": [f.term for f in group]}
                )
    kept = option["reasons"] if in_base else []
    return {**option, "status": "undetermined", "preferred": False, "reasons": reasons + kept, "depends_on": depends}


def inconsistent_findings(
    k: Knowledge, facts: PatientFacts, compress: Callable[[str], str]
) -> tuple[PatientFacts, list[Doubtful], list[JsonObject]]:
    """Findings the record gives without a therapy they presuppose (`tkg:presupposesTherapy`: refractory
    to maximal oral doses with no oral agent tried): each is taken out of the facts and made doubtful (what
    it decides is undetermined, and asked), with a `record-inconsistency` warning (SPEC §3)."""
    doubtful: list[Doubtful] = []
    warnings: list[JsonObject] = []
    kept = set(facts.findings)
    for finding in sorted(facts.findings):
        holders = [p for a in k.ancestors.get(finding, {finding}) if (p := k.presuppositions.get(a))]
        unmet = [p for p in holders if not p.met_by(k, facts.tried)]
        if not unmet:
            continue
        presupposed = " or ".join(sorted(k.label(t) for p in unmet for t in p.therapies))
        kept.discard(finding)
        question = unmet[0].question.replace("{presupposed}", presupposed)
        doubtful.append(Doubtful("findings", finding, compress(finding), question, ()))
        note = unmet[0].note.replace("{term}", k.label(finding)).replace("{presupposed}", presupposed)
        decided = {
            i for s in k.statements if any(k.is_a(finding, r) for r in s.required_findings) for i in s.interventions
        }
        for intervention in sorted(decided):  # one warning per option the finding decides
            warnings.append(
                {
                    "kind": "record-inconsistency",
                    "intervention": compress(intervention),
                    "finding": compress(finding),
                    "message": note,
                    "reasons": [],
                    "statements": [],
                }
            )
    return replace(facts, findings=frozenset(kept)), doubtful, warnings
