"""The top level of an evaluation beyond its options: the questions whose answers would change an option,
and the warnings about what the patient already takes.

Question wording comes from the graph (`tkg:missingInformationQuestion`, read by `Knowledge.question`);
the advice on stopping a therapy is the graph's own discontinuation statements, never written here.
"""

from __future__ import annotations

from collections.abc import Callable

from kg.json_types import JsonObject, deciding_reasons
from kg.knowledge import (
    CONDITION,
    DOSING_REGIMEN,
    FINDING,
    LINE_OF_THERAPY,
    PATIENT,
    STATUS_KINDS,
    Knowledge,
    Statement,
)
from kg.patient.causes import causes_of
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships
from kg.reasoning.current import form_questions, statement_warning
from kg.reasoning.reasons import ReasonWriter
from kg.store.terms import TermResolver

EXCLUDING_STATUSES = ("excluded", "not-indicated")
#: Statuses under which an option may be started, so its dosing matters.
OPEN_STATUSES = ("eligible", "deferred", "undetermined")
CAUTION_KINDS = ("caution", "discontinuation-caution")
#: the statuses a status-deciding statement that possibly applies could still change, were it found to apply
#: (the precedence of SPEC §5: excluded > not-indicated > deferred > undetermined > eligible)
CHANGEABLE = {
    "contraindication": ("not-indicated", "deferred", "undetermined", "eligible"),
    "not-indicated": ("deferred", "undetermined", "eligible"),
    "recommendation": ("deferred", "undetermined"),
}


Row = tuple[str | None, str]  # (indication, intervention)
Applying = Callable[[Row], tuple[list[Statement], list[Statement]]]


def missing_information(
    k: Knowledge,
    terms: TermResolver,
    applying: Applying,
    facts: PatientFacts,
    options: dict[Row, JsonObject],
) -> list[JsonObject]:
    """The questions whose answers would change an option, each with the options it would change (`options`,
    the interventions; `affects`, each with its indication)."""
    causes = causes_of(k, facts.conditions, facts.due_to)
    has = {a for c in facts.conditions for a in k.ancestors.get(c, {c})}  # the conditions, as every class they are
    questions: dict[tuple[object, ...], JsonObject] = {}

    def ask(key: tuple[object, ...], row: Row, question: JsonObject) -> JsonObject:
        q = questions.setdefault(key, {**question, "options": set(), "affects": set()})
        q["options"].add(terms.compress(row[1]))
        q["affects"].add((terms.compress(row[0]) if row[0] else None, terms.compress(row[1])))
        return q

    for row, option in options.items():
        indication, intervention = row
        cause = causes.get(indication) if indication else None
        for s in applying(row)[1]:
            if s.kind == "evidence":
                continue  # evidence never changes what the option is, so it asks nothing
            if s.kind in STATUS_KINDS and option["status"] not in CHANGEABLE[s.kind]:
                continue  # were it found to apply, the status would stay (a rheumatic spasm is not-indicated too)
            if s.population and facts.age is None and option["status"] in ("eligible", "deferred"):
                q = ask(("age",), row, {"question": k.question(PATIENT), "field": "age", "populations": set()})
                q["populations"].add(terms.compress(s.population))
            recorded = (
                {indication} & s.indication_parents if s.by_indication else facts.conditions & s.condition_parents
            )
            for less_specific in sorted(r for r in recorded if r):
                targets = s.indications if s.by_indication else s.conditions
                q = ask(
                    ("conditions", less_specific),
                    row,
                    {
                        "question": k.question(CONDITION, k.label(less_specific)),
                        "field": "conditions",
                        "recorded": terms.compress(less_specific),
                        "candidates": set(),
                    },
                )
                q["candidates"].update(terms.compress(c) for c in targets if k.is_a(c, less_specific))
            if s.indication_causes and cause is not None and cause.basis == "undetermined" and indication:
                _ask_cause(k, terms, ask, row, indication, cause.candidates)
            doubts = sorted(s.in_doubt_with & has)
            if doubts and indication and s.doubt_question:
                text = s.doubt_question.replace("{term}", k.label(indication)).replace(
                    "{doubt}", " and ".join(k.label(d) for d in doubts)
                )
                ask(
                    ("doubt", indication, text),
                    row,
                    {
                        "question": text,
                        "field": "conditions",
                        "recorded": terms.compress(indication),
                        "candidates": sorted(terms.compress(c) for c in k.alternatives(indication)),
                    },
                )
        if indication and cause is not None and cause.basis == "none-recorded":
            if any(s.indication_causes and s.kind != "evidence" for s in k.statements_about(intervention)):
                _ask_cause(k, terms, ask, row, indication, k.causes_declared_for(indication))
        if option["status"] == "deferred":
            for reason in option["reasons"]:
                for unmet in reason.get("unmet", []):
                    key = ("prerequisite", unmet["requirement"], unmet.get("line"), unmet.get("finding"))
                    if unmet["requirement"] == "prior-line":
                        text = k.question(LINE_OF_THERAPY, str(unmet["line"]))
                    else:
                        text = k.question(FINDING, k.label(terms.expand(unmet["finding"], field="finding")))
                    ask(
                        key,
                        row,
                        {
                            "question": text,
                            "field": "therapies_tried" if unmet["requirement"] == "prior-line" else "findings",
                            # the answers: the finding, or the options whose initiation meets the line
                            "candidates": [unmet["finding"]]
                            if unmet["requirement"] == "finding"
                            else list(unmet.get("options", [])),
                        },
                    )
    form_questions(k, terms.compress, facts, options, ask)
    result = []
    for q in questions.values():
        q.setdefault("candidates", [])  # SPEC §5: every question has its candidates (none known: empty)
        affects = [
            {"indication": i, "intervention": x} for i, x in sorted(q.pop("affects"), key=lambda a: (a[0] or "", a[1]))
        ]
        result.append({**{name: sorted(v) if isinstance(v, set) else v for name, v in q.items()}, "affects": affects})
    return result


def _ask_cause(
    k: Knowledge,
    terms: TermResolver,
    ask: Callable[[tuple[object, ...], Row, JsonObject], JsonObject],
    row: Row,
    indication: str,
    candidates: frozenset[str],
) -> None:
    """What causes the indication (tkg:causeQuestion): the record names no cause, or several candidates."""
    q = ask(
        ("cause", indication),
        row,
        {
            "question": k.cause_question(indication),
            "field": "conditions",
            "recorded": terms.compress(indication),
            "candidates": set(),
        },
    )
    q["candidates"].update(terms.compress(c) for c in candidates)


def current_therapy_warnings(
    k: Knowledge, writer: ReasonWriter, facts: PatientFacts, m: Memberships, options: dict[Row, JsonObject]
) -> list[JsonObject]:
    """Current therapies the options say the patient should not be on: excluded for one of their
    indications, or not indicated for any (with the statements on stopping them); and cautions that apply to
    a current therapy because of the patient's conditions. A therapy eligible for one indication and not
    indicated for another is not one to stop."""
    compress = writer.terms.compress
    by_intervention: dict[str, list[JsonObject]] = {}
    for (_, intervention), option in sorted(options.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        by_intervention.setdefault(intervention, []).append(option)
    warnings = []
    for therapy in sorted(facts.current):
        # the therapy's own options when it has some, else the options of its forms (baclofen → oral baclofen)
        related = [therapy] if therapy in by_intervention else [i for i in by_intervention if k.is_a(i, therapy)]
        stopped = [
            i
            for i in related
            if any(o["status"] == "excluded" for o in by_intervention[i])
            or all(o["status"] in EXCLUDING_STATUSES for o in by_intervention[i])
        ]
        if stopped:
            rows = [o for i in stopped for o in by_intervention[i] if o["status"] in EXCLUDING_STATUSES]
            status = "excluded" if any(o["status"] == "excluded" for o in rows) else "not-indicated"
            stopping = [
                writer.statement(s)
                for s in k.statements_about(therapy)
                if s.kind == "discontinuation-caution" and s.iri in m.applies
            ]
            names = ", ".join(
                f"{o['label']} is {o['status']} for "
                + (o["indication"]["label"] if o["indication"] else "this patient")
                for o in rows
            )
            form = "" if stopped == [therapy] else " (the record does not say which form)"
            message = f"The patient currently receives {k.label(therapy)}{form}: {names}."
            if stopping:
                message += " If it is stopped: " + " ".join(s["claim"].rstrip(".") + "." for s in stopping)
            warnings.append(
                {
                    "kind": "current-therapy-" + status,
                    "intervention": compress(therapy),
                    "message": message,
                    "reasons": [r for o in rows for r in deciding_reasons(o)],
                    "statements": stopping,
                }
            )
        for s in k.statements_about(therapy):
            if s.kind in CAUTION_KINDS and s.conditions and s.iri in m.applies:
                message = f"The patient currently receives {k.label(therapy)}: {s.claim}"
                warnings.append(statement_warning("current-therapy-caution", writer, facts, therapy, s, message))
    return warnings


def regimen_gaps(
    k: Knowledge,
    writer: ReasonWriter,
    facts: PatientFacts,
    m: Memberships,
    options: dict[Row, JsonObject],
) -> list[JsonObject]:
    """A note for each open option whose dosing regimens are all for other ages than the patient's (a child,
    where the sources address adults): no regimen is presented as applying, and the regimens are cited."""
    if facts.age is None:  # no age: the regimens may apply, and the age is asked (missing_information)
        return []
    notes = []
    noted: set[str] = set()
    for (_, intervention), option in sorted(options.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        if option["status"] not in OPEN_STATUSES or intervention in noted:
            continue
        regimens = [s for s in k.statements_about(intervention) if s.kind == "dosing" and s.population]
        if not regimens or any(s.iri in m.applies or s.iri in m.possibly for s in regimens):
            continue
        populations = sorted({k.label(s.population) for s in regimens if s.population})
        message = k.note(
            DOSING_REGIMEN, term=k.label(intervention), age=str(facts.age), populations=" and ".join(populations)
        )
        noted.add(intervention)
        notes.append(
            {
                "kind": "no-regimen-for-age",
                "intervention": writer.terms.compress(intervention),
                "message": message,
                "reasons": [],
                "statements": [writer.statement(s) for s in regimens],
            }
        )
    return notes
