"""What the patient already takes (SPEC §5 `current_therapies`), answered whether or not it is an option.

Each current therapy gets its status for each indication of the patient (the status of its own option rows;
for a drug of unstated form, the status its forms share, else `undetermined` and the form is asked), the
prerequisites of those rows the record does not show met (reported as such, never as "stop"), and the graph's
statements on stopping it, monitoring it and its cautions that apply to the patient. A discontinuation
statement the graph shows to every current user of a form (`tkg:shownToEveryCurrentUserOf`: an intrathecal
pump) is also a warning, not only on stopping.
"""

from __future__ import annotations

from collections.abc import Callable

from kg.json_types import JsonObject
from kg.knowledge import INTERVENTION, Knowledge, Statement
from kg.patient.document import PatientFacts
from kg.reasoning import Memberships
from kg.reasoning.reasons import ReasonWriter

Row = tuple[str | None, str]  # (indication, intervention)
#: the statements of a current therapy, by the entry field they go in
FIELDS = {"discontinuation-caution": "discontinuation", "monitoring": "monitoring", "caution": "cautions"}
#: ask is (key, row, question) → the question, as `kg.reasoning.advice.missing_information` collects them
Ask = Callable[[tuple[object, ...], Row, JsonObject], JsonObject]


def current_therapies(
    k: Knowledge,
    writer: ReasonWriter,
    facts: PatientFacts,
    m: Memberships,
    options: dict[Row, JsonObject],
) -> list[JsonObject]:
    """One entry per current therapy, in IRI order."""
    return [_entry(k, writer, facts, m, options, therapy) for therapy in sorted(facts.current)]


def form_questions(
    k: Knowledge, compress: Callable[[str], str], facts: PatientFacts, options: dict[Row, JsonObject], ask: Ask
) -> None:
    """For each current drug of unstated form whose forms' options differ for an indication: which form it is
    (the candidates: its forms that have options), affecting the therapy's status for that indication."""
    for therapy in sorted(facts.current):
        for indication, forms in _by_indication(k, therapy, options).items():
            if len(forms) > 1 and len({options[(indication, f)]["status"] for f in forms}) > 1:
                q = ask(
                    ("form", therapy),
                    (indication, therapy),
                    {
                        "question": k.question(INTERVENTION, k.label(therapy)),
                        "field": "current_therapies",
                        "recorded": compress(therapy),
                        "candidates": set(),
                    },
                )
                q["candidates"].update(compress(f) for f in forms)


def discontinuation_risks(k: Knowledge, writer: ReasonWriter, facts: PatientFacts, m: Memberships) -> list[JsonObject]:
    """Warnings for current users of a form the graph marks (`tkg:shownToEveryCurrentUserOf`)."""
    warnings = []
    for therapy in sorted(facts.current):
        for s in k.shown_to_current_users_of(therapy):
            if s.iri in m.applies:
                message = f"The patient currently receives {k.label(therapy)}: {s.claim.rstrip('.')}."
                warnings.append(statement_warning("discontinuation-risk", writer, facts, therapy, s, message))
    return warnings


def statement_warning(
    kind: str, writer: ReasonWriter, facts: PatientFacts, therapy: str, s: Statement, message: str
) -> JsonObject:
    """A warning about a current therapy that rests on one statement (its reason), with no stopping advice."""
    return {
        "kind": kind,
        "intervention": writer.terms.compress(therapy),
        "message": message,
        "reasons": [writer.reason(s, facts)],
        "statements": [],
    }


def _entry(
    k: Knowledge,
    writer: ReasonWriter,
    facts: PatientFacts,
    m: Memberships,
    options: dict[Row, JsonObject],
    therapy: str,
) -> JsonObject:
    compress = writer.terms.compress
    indications, unmet = [], []
    for indication, forms in sorted(_by_indication(k, therapy, options).items(), key=lambda i: i[0] or ""):
        statuses = {options[(indication, f)]["status"] for f in forms}
        status = statuses.pop() if len(statuses) == 1 else "undetermined"
        entry: JsonObject = {"indication": _term(k, compress, indication), "status": status}
        if len(forms) > 1 or forms[0] != therapy:
            entry["forms"] = [
                {"intervention": compress(f), "status": options[(indication, f)]["status"]} for f in forms
            ]
        indications.append(entry)
        if status == "deferred":
            for f in forms:
                for reason in options[(indication, f)]["reasons"]:
                    for item in reason.get("unmet", []):
                        found = {"indication": _term(k, compress, indication), **item}
                        if found not in unmet:
                            unmet.append(found)
    statements: dict[str, list[JsonObject]] = {name: [] for name in FIELDS.values()}
    for s in k.statements_about(therapy):
        if s.kind in FIELDS and s.iri in m.applies:
            statements[FIELDS[s.kind]].append(writer.reason(s, facts))
    route = k.routes.of(k, therapy)  # the route of its product form, where the graph gives one
    return {
        "intervention": compress(therapy),
        "label": k.label(therapy),
        "form": _term(k, compress, route) if route else None,
        "indications": indications,
        **statements,
        "prerequisite_not_recorded": unmet,
    }


def _by_indication(k: Knowledge, therapy: str, options: dict[Row, JsonObject]) -> dict[str | None, list[str]]:
    """The interventions of the options that speak for the therapy, per indication: its own rows, else the
    rows of its forms (baclofen of unstated form: oral and intrathecal baclofen)."""
    own: dict[str | None, list[str]] = {}
    forms: dict[str | None, list[str]] = {}
    for indication, intervention in sorted(options, key=lambda r: (r[0] or "", r[1])):
        if intervention == therapy:
            own.setdefault(indication, []).append(intervention)
        elif k.is_a(intervention, therapy):
            forms.setdefault(indication, []).append(intervention)
    return own or forms


def _term(k: Knowledge, compress: Callable[[str], str], iri: str | None) -> JsonObject | None:
    return {"term": compress(iri), "label": k.label(iri)} if iri else None
