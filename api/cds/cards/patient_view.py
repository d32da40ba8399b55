"""patient-view: a card of the options (one per indication where the patient has several), one per warning on a
current therapy, missing information, unknown codes."""

from __future__ import annotations

from collections.abc import Iterable

from api.cds.cards.context import STATUS_ORDER, STATUS_TEXT, CardContext
from api.cds.cards.text import (
    cap,
    code,
    code_mappings_source,
    condition_links,
    fit,
    for_indication,
    grouped_option_lines,
    listing,
    md,
    notes_section,
    option_sort_key,
    primary_source,
    reason_lines,
    sources_section,
    stopping_advice,
    unique_links,
    unrecognized_lines,
)
from api.cds.feedback import override_reasons
from api.cds.models import Card
from kg.json_types import deciding_reasons


def patient_view_cards(evaluation: dict, ctx: CardContext, notes: Iterable[str] = ()) -> list[Card]:
    """A summary of the options, one warning per evaluation warning, missing information, unrecognised codes."""
    cards: list[Card] = []
    by_indication: dict[str | None, list[dict]] = {}
    for option in evaluation["options"]:
        by_indication.setdefault((option.get("indication") or {}).get("term"), []).append(option)
    if len(by_indication) > 1:  # one card per indication: each answer is about one of the patient's conditions
        cards += [options_card(evaluation, ctx, list(notes), group) for group in by_indication.values()]
    elif evaluation["options"]:
        cards.append(options_card(evaluation, ctx, list(notes)))
    cards += [warning_card(w, i, ctx) for i, w in enumerate(evaluation["warnings"])]
    if evaluation["missing_information"]:
        cards.append(missing_information_card(evaluation, ctx))
    if evaluation["unrecognized"]:
        cards.append(unrecognized_card(evaluation, ctx))
    return cards


def options_card(
    evaluation: dict, ctx: CardContext, notes: list[str] | None = None, options: list[dict] | None = None
) -> Card:
    """The options, all of them or those for one indication (`options`)."""
    one_indication = options is not None
    options = options if options is not None else evaluation["options"]
    indication = options[0].get("indication") if one_indication else None
    prefix = f"For {md(indication['label'])}: " if indication else ""
    eligible = sorted((o for o in options if o["status"] == "eligible"), key=option_sort_key)
    if eligible:
        names = [
            o["label"] + (" (preferred)" if o["preferred"] else "") + for_indication(o, eligible) for o in eligible
        ]
        summary = listing(f"{prefix}eligible now: " if prefix else "Eligible now: ", names)
    else:
        names = [
            f"{o['label']}{for_indication(o, options)} {STATUS_TEXT[o['status']]}"
            for o in sorted(options, key=option_sort_key)
        ]
        summary = listing(f"{prefix}no option is eligible now: " if prefix else "No option is eligible now: ", names)

    conditions = (
        ", ".join(md(c.get("label") or c["term"]) for c in evaluation.get("conditions", [])) or "none recognised"
    )
    about = f"for the patient's {md(indication['label'])}" if indication else "for this patient"
    lines = [
        f"Options {about} from therapy-kg {md(evaluation['knowledge_version'])} "
        f"({md(evaluation['engine'])} engine). Conditions: {conditions}."
    ]
    for status in STATUS_ORDER:
        group = [o for o in options if o["status"] == status]
        if not group:
            continue
        lines += ["", f"**{cap(STATUS_TEXT[status])}**", ""]
        lines += grouped_option_lines(group)
    all_reasons = [r for o in options for r in deciding_reasons(o)]
    lines += sources_section(all_reasons)
    lines += notes_section(notes or [])
    deciding = [r for o in (eligible or options) for r in deciding_reasons(o)]
    kind = f"options/{indication['term']}" if indication else "options"
    return Card(
        uuid=ctx.issued.card(kind, deciding),
        summary=summary,
        detail="\n".join(lines),
        indicator="info",
        source=primary_source(deciding, ctx, "options", "Treatment options for this patient"),
        links=unique_links(*condition_links(evaluation, ctx)),
    )


def warning_card(warning: dict, index: int, ctx: CardContext) -> Card:
    curie = warning["intervention"]
    label = ctx.label(curie)
    kind = warning["kind"]
    reasons, stopping = warning.get("reasons", []), warning.get("statements", [])
    if kind in ("current-therapy-caution", "discontinuation-risk"):
        about = reasons[0]["label"] if reasons else "a caution applies"
        summary = fit(f"The patient takes {label}: {about}", f"Caution: the patient takes {label}")
        topic = "caution" if kind == "current-therapy-caution" else "discontinuation"
    elif kind.startswith("current-therapy-"):
        status = STATUS_TEXT.get(kind.removeprefix("current-therapy-"), kind.removeprefix("current-therapy-"))
        advice = f"; if stopping it: {stopping_advice(stopping)}" if stopping else "; review it"
        # the graph's statements on stopping it, all, or one at a time (shortest first) where all do not fit;
        # the detail lists every one with its claim and source
        each = [f"{cap(label)} is now {status}; if stopping it: {s['label']}" for s in stopping]
        summary = fit(
            f"The patient takes {label}, now {status} for this patient{advice}",
            f"{cap(label)} is now {status}{advice}",
            *sorted(each, key=len),
            f"{cap(label)} is now {status} for this patient",
        )
        topic = kind.removeprefix("current-therapy-")
    else:
        summary = fit(warning["message"], f"Warning about {label}")
        topic = "warning"
    lines = [md(warning["message"])]
    if reasons:
        lines += ["", "**Why**", ""] + [line for r in reasons for line in reason_lines(r)]
    if stopping:
        lines += ["", "**If it is stopped**", ""] + [line for r in stopping for line in reason_lines(r)]
    lines += sources_section(reasons + stopping)
    return Card(
        uuid=ctx.issued.card(f"warning/{kind}", reasons + stopping, curie),
        summary=summary,
        detail="\n".join(lines),
        indicator="warning",
        source=primary_source(reasons or stopping, ctx, topic, f"Current therapy: {topic}"),
        overrideReasons=override_reasons()["warning"],
        links=unique_links(ctx.intervention_link(curie)),
    )


def missing_information_card(evaluation: dict, ctx: CardContext) -> Card:
    questions = evaluation["missing_information"]
    if len(questions) == 1:
        summary = fit(
            f"Missing from the record, would change options: {questions[0]['question']}",
            "Information missing from the record would change the options",
        )
    else:
        summary = fit(
            f"{len(questions)} answers missing from the record would change the options: {questions[0]['question']}",
            f"{len(questions)} answers missing from the record would change the options",
        )
    lines = ["Answers to these questions would change the options for this patient:", ""]
    affected: set[str] = set()
    for q in questions:
        changed = ", ".join(md(ctx.label(o)) for o in q.get("options", []))
        affected.update(q.get("options", []))
        line = f"- **{md(q['question'])}** (field {code(q.get('field', '?'), 50)}) — would change: {changed or 'none'}"
        if q.get("candidates"):
            line += "; candidates: " + ", ".join(f"{md(ctx.label(c))} (`{c}`)" for c in q["candidates"])
        if q.get("populations"):
            line += "; populations: " + ", ".join(f"{md(ctx.label(p))} (`{p}`)" for p in q["populations"])
        lines.append(line)
    reasons = [r for o in evaluation["options"] if o["intervention"] in affected for r in deciding_reasons(o)]
    lines += sources_section(reasons)
    return Card(
        uuid=ctx.issued.card("missing-information", reasons),
        summary=summary,
        detail="\n".join(lines),
        indicator="info",
        source=primary_source(reasons, ctx, "missing-information", "Information that would change the options"),
    )


def unrecognized_card(evaluation: dict, ctx: CardContext) -> Card:
    n = len(evaluation["unrecognized"])
    noun = "entry" if n == 1 else "entries"
    these = "this coded entry" if n == 1 else "these coded entries"
    lines = [
        f"therapy-kg maps no term of its graph to {these} of the record, so {'it was' if n == 1 else 'they were'} "
        "not used:",
        "",
    ]
    lines += unrecognized_lines(evaluation["unrecognized"])
    return Card(
        uuid=ctx.issued.card("unrecognized"),
        summary=fit(f"{n} coded {noun} in the record not recognised by therapy-kg (not used)"),
        detail="\n".join(lines),
        indicator="info",
        source=code_mappings_source(),
    )
