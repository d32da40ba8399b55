"""The top level of an evaluation beyond its options: the questions whose answers would change an option,
and the warnings about what the patient already takes.

Question wording comes from the graph (`tkg:missingInformationQuestion`, read by `Knowledge.question`);
the advice on stopping a therapy is the graph's own discontinuation statements, never written here.
"""

from __future__ import annotations

from collections.abc import Callable

from kg.json_types import JsonObject
from kg.knowledge import CONDITION, DOSING_REGIMEN, FINDING, LINE_OF_THERAPY, PATIENT, Knowledge, Statement
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships
from kg.reasoning.reasons import ReasonWriter, is_about
from kg.store.terms import TermResolver

EXCLUDING_STATUSES = ("excluded", "not-indicated")
#: Statuses under which an option may be started, so its dosing matters.
OPEN_STATUSES = ("eligible", "deferred", "undetermined")
CAUTION_KINDS = ("caution", "discontinuation-caution")


def missing_information(
    k: Knowledge,
    terms: TermResolver,
    statements_about: Callable[[str], tuple[Statement, ...]],
    facts: PatientFacts,
    m: Memberships,
    options: dict[str, JsonObject],
) -> list[JsonObject]:
    """The questions whose answers would change an option, each with the options it would change."""
    questions: dict[tuple[object, ...], JsonObject] = {}
    for intervention, option in options.items():
        for s in statements_about(intervention):
            if s.iri not in m.possibly:
                continue
            if s.population and facts.age is None and option["status"] in ("eligible", "deferred"):
                key: tuple[object, ...] = ("age",)
                q = questions.setdefault(
                    key,
                    {"question": k.question(PATIENT), "field": "age", "populations": set(), "options": set()},
                )
                q["populations"].add(terms.compress(s.population))
                q["options"].add(option["intervention"])
            for recorded in sorted(facts.conditions & s.condition_parents):
                narrower = sorted(terms.compress(c) for c in s.conditions if k.is_a(c, recorded))
                key = ("conditions", recorded)
                q = questions.setdefault(
                    key,
                    {
                        "question": k.question(CONDITION, k.label(recorded)),
                        "field": "conditions",
                        "recorded": terms.compress(recorded),
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
                        text = k.question(LINE_OF_THERAPY, str(unmet["line"]))
                    else:
                        text = k.question(FINDING, k.label(terms.expand(unmet["finding"], field="finding")))
                    q = questions.setdefault(
                        key,
                        {
                            "question": text,
                            "field": "therapies_tried" if unmet["requirement"] == "prior-line" else "findings",
                            **({"candidates": [unmet["finding"]]} if unmet["requirement"] == "finding" else {}),
                            "options": set(),
                        },
                    )
                    q["options"].add(option["intervention"])
    return [{name: sorted(v) if isinstance(v, set) else v for name, v in q.items()} for q in questions.values()]


def current_therapy_warnings(
    k: Knowledge, writer: ReasonWriter, facts: PatientFacts, m: Memberships, options: dict[str, JsonObject]
) -> list[JsonObject]:
    """Current therapies that are now excluded or not indicated (with the statements on stopping
    them), and cautions that apply to a current therapy because of the patient's conditions."""
    compress = writer.terms.compress
    warnings = []
    for therapy in sorted(facts.current):
        # the therapy's own option when it has one, else the options of its forms (baclofen → oral baclofen)
        related = [therapy] if therapy in options else [i for i in options if k.is_a(i, therapy)]
        stopped = [i for i in related if options[i]["status"] in EXCLUDING_STATUSES]
        if stopped:
            status = "excluded" if any(options[i]["status"] == "excluded" for i in stopped) else "not-indicated"
            stopping = [
                writer.statement(s)
                for s in k.statements
                if s.kind == "discontinuation-caution" and s.iri in m.applies and is_about(k, s, therapy)
            ]
            names = ", ".join(f"{k.label(i)} is {options[i]['status']}" for i in stopped)
            form = "" if stopped == [therapy] else " (the record does not say which form)"
            message = f"The patient currently receives {k.label(therapy)}{form}: {names} for this patient."
            if stopping:
                message += " If it is stopped: " + " ".join(s["claim"].rstrip(".") + "." for s in stopping)
            warnings.append(
                {
                    "kind": "current-therapy-" + status,
                    "intervention": compress(therapy),
                    "message": message,
                    "reasons": [r for i in stopped for r in options[i]["reasons"]],
                    "statements": stopping,
                }
            )
        for s in k.statements:
            if s.kind in CAUTION_KINDS and s.conditions and s.iri in m.applies and is_about(k, s, therapy):
                warnings.append(
                    {
                        "kind": "current-therapy-caution",
                        "intervention": compress(therapy),
                        "message": f"The patient currently receives {k.label(therapy)}: {s.claim}",
                        "reasons": [writer.reason(s, facts)],
                        "statements": [],
                    }
                )
    return warnings


def regimen_gaps(
    k: Knowledge,
    writer: ReasonWriter,
    statements_about: Callable[[str], tuple[Statement, ...]],
    facts: PatientFacts,
    m: Memberships,
    options: dict[str, JsonObject],
) -> list[JsonObject]:
    """A note for each open option whose dosing regimens are all for other ages than the patient's (a child,
    where the sources address adults): no regimen is presented as applying, and the regimens are cited."""
    if facts.age is None:  # no age: the regimens may apply, and the age is asked (missing_information)
        return []
    notes = []
    for intervention, option in options.items():
        if option["status"] not in OPEN_STATUSES:
            continue
        regimens = [s for s in statements_about(intervention) if s.kind == "dosing" and s.population]
        if not regimens or any(s.iri in m.applies or s.iri in m.possibly for s in regimens):
            continue
        populations = sorted({k.label(s.population) for s in regimens if s.population})
        message = k.note(
            DOSING_REGIMEN, term=k.label(intervention), age=str(facts.age), populations=" and ".join(populations)
        )
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
