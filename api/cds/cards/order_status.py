"""order-select cards for an ordered therapy that is excluded, not indicated, deferred, undetermined or unassessed."""

from __future__ import annotations

from api.cds.cards.context import STATUS_TEXT, CardContext
from api.cds.cards.dosing import dosing_lines
from api.cds.cards.order_parts import (
    alternative_suggestions,
    alternatives_lines,
    current_therapy_warnings,
    eligible_options,
    first_line_alternatives,
    order_header,
    order_links,
    unrecognized_section,
)
from api.cds.cards.text import (
    cap,
    code_mappings_source,
    fit,
    md,
    primary_source,
    reason_lines,
    short_source,
    sources_of,
    sources_section,
    stopping_advice,
    unique_links,
    unrecognized_lines,
)
from api.cds.feedback import override_reasons
from api.cds.models import Action, Card, Suggestion
from api.cds.orders import OrderMatch
from kg.json_types import deciding_reasons


def order_excluded_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card:
    status = STATUS_TEXT[option["status"]]
    label = cap(match.assessed_label)
    reasons = deciding_reasons(option)
    why = reasons[0]["label"] if reasons else ""
    cited = ", ".join(short_source(s) for s in sources_of(reasons))
    indication = option.get("indication")
    target = indication["label"] if indication else "this patient"
    summary = fit(
        f"{label} is {status} for {target}: {why} ({cited})",
        f"{label} is {status} for {target}: {why}",
        f"{label} is {status} for {target} ({cited})",
        f"{label} is {status} for {target}",
        f"{label} is {status} for this patient",
    )
    card_uuid = ctx.issued.card(f"order/{option['status']}", reasons, match.assessed)
    alternatives = first_line_alternatives(evaluation, option["intervention"])
    current = current_therapy_warnings(evaluation, match)
    stopping = [s for w in current for s in w.get("statements", [])]

    lines = order_header(match, option)
    lines += ["", f"**Why it is {status}**", ""] + [line for r in reasons for line in reason_lines(r)]
    if current:
        lines += ["", "**The patient already takes it**", ""] + [f"- {md(w['message'])}" for w in current]
        lines += [line for r in stopping for line in reason_lines(r)]
    lines += alternatives_lines(alternatives, "Eligible for this patient instead")
    if not alternatives:
        lines += ["", "No option of the graph is eligible for this patient's recorded conditions."]
    if option.get("evidence"):
        lines += ["", "**Related statements**", ""] + [line for r in option["evidence"] for line in reason_lines(r)]
    lines += unrecognized_section(evaluation)
    cited_reasons = (
        reasons + stopping + [r for o in alternatives for r in deciding_reasons(o)] + option.get("evidence", [])
    )
    lines += sources_section(cited_reasons)

    suggestions = alternative_suggestions(alternatives, ctx, card_uuid)
    suggestions.append(
        Suggestion(
            label=f"Remove the draft {match.requested_label} order"
            + (f" (the patient takes it: {stopping_advice(stopping)})" if current and stopping else "")
            + (" (the patient takes it)" if current and not stopping else ""),
            uuid=ctx.issued.suggestion(card_uuid, "remove-order"),
            isRecommended=not current,
            actions=[
                Action(
                    type="delete",
                    description=f"Remove the draft order {match.order.reference}",
                    resourceId=match.order.reference,
                )
            ],
        )
    )
    return Card(
        uuid=card_uuid,
        summary=summary,
        detail="\n".join(lines),
        indicator="warning",
        source=primary_source(reasons, ctx, option["status"], f"Ordered therapy is {status}"),
        suggestions=suggestions,
        selectionBehavior="any",
        overrideReasons=override_reasons()["excluded"],
        links=order_links(evaluation, match, ctx, alternatives),
    )


def order_deferred_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card:
    label = cap(match.assessed_label)
    reasons = deciding_reasons(option)
    unmet = {u["text"]: u for r in reasons for u in r.get("unmet", [])}
    rank = f" (line {option['line']})" if option["line"] is not None else ""
    not_yet = "; ".join(unmet) or "a prerequisite is not met"
    indication = option.get("indication")
    target = indication["label"] if indication else "this patient"
    summary = fit(
        f"{label}{rank} is deferred for {target}: {not_yet}",
        f"{label}{rank} is deferred: {not_yet}",
        f"{label}{rank} is deferred for {target}",
        f"{label}{rank} is deferred for this patient",
    )
    card_uuid = ctx.issued.card("order/deferred", reasons, match.assessed)
    wanted = {o for u in unmet.values() for o in u.get("options", [])}
    alternatives = [o for o in eligible_options(evaluation) if o["intervention"] in wanted]
    prior_line_unmet = any(u["requirement"] == "prior-line" for u in unmet.values())

    lines = order_header(match, option)
    lines += ["", "**Why it is deferred**", ""] + [line for r in reasons for line in reason_lines(r)]
    lines += alternatives_lines(alternatives, "Start one of these first (eligible for this patient)")
    lines += dosing_lines(option)
    lines += unrecognized_section(evaluation)
    lines += sources_section(reasons + [r for o in alternatives for r in deciding_reasons(o)])
    suggestions = alternative_suggestions(alternatives, ctx, card_uuid)
    return Card(
        uuid=card_uuid,
        summary=summary,
        detail="\n".join(lines),
        indicator="warning" if prior_line_unmet else "info",
        source=primary_source(reasons, ctx, "deferred", "Ordered therapy is deferred"),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=override_reasons()["deferred"],
        links=order_links(evaluation, match, ctx, alternatives),
    )


def order_undetermined_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card:
    label = cap(match.assessed_label)
    questions = [q for q in evaluation["missing_information"] if option["intervention"] in q.get("options", [])]
    first = questions[0]["question"] if questions else "the record does not say enough"
    summary = fit(
        f"{label}: whether it suits this patient depends on: {first}",
        f"{label}: suitability depends on information missing from the record",
    )
    lines = order_header(match, option)
    lines += ["", "**Statements that may apply**", ""] + [
        line for r in deciding_reasons(option) for line in reason_lines(r)
    ]
    if questions:
        lines += ["", "**Missing from the record**", ""]
        for q in questions:
            text = f"- **{md(q['question'])}**"
            if q.get("candidates"):
                text += " — candidates: " + ", ".join(f"{md(ctx.label(c))} (`{c}`)" for c in q["candidates"])
            lines.append(text)
    lines += unrecognized_section(evaluation)
    lines += sources_section(deciding_reasons(option))
    return Card(
        uuid=ctx.issued.card("order/undetermined", deciding_reasons(option), match.assessed),
        summary=summary,
        detail="\n".join(lines),
        indicator="info",
        source=primary_source(deciding_reasons(option), ctx, "undetermined", "Ordered therapy: information missing"),
        links=order_links(evaluation, match, ctx, []),
    )


def order_unassessed_card(evaluation: dict, match: OrderMatch, ctx: CardContext) -> Card:
    n = len(evaluation["unrecognized"])
    noun = "entry" if n == 1 else "entries"
    lines = order_header(match, None)
    lines += [
        "",
        f"The graph says nothing about {md(match.assessed_label)} for the recognised conditions of this "
        f"patient, and {n} coded {noun} of the record could not be recognised:",
        "",
    ]
    lines += unrecognized_lines(evaluation["unrecognized"])
    return Card(
        uuid=ctx.issued.card("order/unassessed", (), match.assessed),
        summary=fit(f"Cannot assess the {match.requested_label} order: {n} coded {noun} of the record not recognised"),
        detail="\n".join(lines),
        indicator="info",
        source=code_mappings_source(),
        links=unique_links(ctx.intervention_link(match.assessed)),
    )
