"""The order-select card for an eligible therapy: dosing, condition-specific cautions, a preferred alternative."""

from __future__ import annotations

from api.cds.cards.context import CardContext
from api.cds.cards.dosing import dosing_lines, dosing_summary
from api.cds.cards.order_parts import (
    alternative_suggestions,
    alternatives_lines,
    eligible_options,
    order_header,
    order_links,
    unrecognized_section,
)
from api.cds.cards.text import cap, fit, primary_source, reason_lines, sources_section
from api.cds.models import Card
from api.cds.orders import OrderMatch
from kg.json_types import deciding_reasons


def order_eligible_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card | None:
    """An info card with the dosing for the patient's age group, condition-specific cautions and a
    preferred alternative; None when the graph has none of these to add."""
    applying = [d for d in option.get("dosing", []) if d.get("applies") != "possibly" and d.get("doses")]
    specific_cautions = [
        c for c in option.get("cautions", []) if any(m.get("field") == "conditions" for m in c.get("matched", []))
    ]
    preferred = [
        o
        for o in eligible_options(evaluation)
        if o["preferred"] and o["intervention"] != option["intervention"] and o["line"] == option["line"]
    ]
    if not (option.get("dosing") or option.get("cautions") or preferred):
        return None
    label = cap(match.assessed_label)
    rank = f" (line {option['line']})" if option["line"] is not None else ""
    card_uuid = ctx.issued.card("order/eligible", deciding_reasons(option), match.assessed)
    if specific_cautions:
        extra = f"; caution: {specific_cautions[0]['label']}"
    elif preferred and not option["preferred"]:
        extra = f"; {preferred[0]['label']} is preferred for this patient"
    else:
        extra = ""
    head = f"{label} is eligible{extra}"
    indication = option.get("indication")
    target = indication["label"] if indication else "this patient"
    summary = (dosing_summary(head, applying[0]) if applying else None) or fit(
        f"{label}{rank} is eligible for {target}{extra}", f"{label}{rank} is eligible for this patient{extra}", head
    )

    lines = order_header(match, option)
    lines += ["", "**Why it is eligible**", ""] + [line for r in deciding_reasons(option) for line in reason_lines(r)]
    lines += dosing_lines(option)
    if option.get("cautions"):
        lines += ["", "**Cautions**", ""] + [line for r in option["cautions"] for line in reason_lines(r)]
    if option.get("monitoring"):
        lines += ["", "**Monitoring**", ""] + [line for r in option["monitoring"] for line in reason_lines(r)]
    lines += alternatives_lines(preferred, "Preferred for this patient")
    lines += unrecognized_section(evaluation)
    cited = (
        deciding_reasons(option)
        + option.get("dosing", [])
        + option.get("cautions", [])
        + option.get("monitoring", [])
        + [r for o in preferred for r in deciding_reasons(o)]
    )
    lines += sources_section(cited)
    suggestions = alternative_suggestions(preferred, ctx, card_uuid) if preferred and not option["preferred"] else []
    return Card(
        uuid=card_uuid,
        summary=summary,
        detail="\n".join(lines),
        indicator="warning" if specific_cautions else "info",
        source=primary_source(applying or deciding_reasons(option), ctx, "eligible", "Ordered therapy is eligible"),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        links=order_links(evaluation, match, ctx, preferred),
    )
