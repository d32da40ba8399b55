"""What the order-select cards share: the order header, alternatives and proposals, links."""

from __future__ import annotations

from api.cds.cards.context import CardContext
from api.cds.cards.text import (
    code,
    condition_links,
    grouped_option_lines,
    md,
    option_sort_key,
    short_source,
    unique_links,
    unrecognized_lines,
)
from api.cds.models import Action, Link, Suggestion
from api.cds.orders import OrderMatch
from kg.json_types import deciding_reasons
from kg.store.terms import TKG


def order_header(match: OrderMatch, option: dict | None) -> list[str]:
    order = match.order
    mapped = match.code
    via = f" through {md(mapped.get('system', ''))} code {md(mapped.get('code', ''))}" if mapped else ""
    line = (
        f"**Order** {code(order.reference)}: {md(order.description, 300)} — maps to **{md(match.requested_label)}** "
        f"(`{match.requested}`){via}"
    )
    if match.assessed != match.requested:
        line += f"; assessed as **{md(match.assessed_label)}** (`{match.assessed}`)"
        if match.route_assumed:
            line += (
                f". The order does not state its route: the graph assumes the {md(match.route_label)} for "
                f"{md(match.requested_label)} orders that state none"
            )
        else:
            line += f" (route: {md(match.route_label, 100)})"
    if option is not None and option["intervention"] != match.assessed:
        line += f"; the graph's statements about **{md(option['label'])}** (`{option['intervention']}`) apply"
    lines = [line + "."]
    if match.route_assumed and match.assumption:
        lines += ["", f"*{md(match.assumption, 1000)}*"]
    return lines


def eligible_options(evaluation: dict) -> list[dict]:
    return sorted((o for o in evaluation["options"] if o["status"] == "eligible"), key=option_sort_key)


def first_line_alternatives(evaluation: dict, exclude: str) -> list[dict]:
    """Eligible options of the lowest line that has any (line 1 when it is open), other than `exclude`."""
    eligible = [o for o in eligible_options(evaluation) if o["intervention"] != exclude and o["line"] is not None]
    if not eligible:
        return []
    lowest = min(o["line"] for o in eligible)
    return [o for o in eligible if o["line"] == lowest]


def proposal(option: dict, ctx: CardContext) -> dict:
    """A draft request for an option: a MedicationRequest for drugs, a ServiceRequest otherwise."""
    local = option["intervention"].split(":", 1)[-1]
    concept = {"coding": [{"system": TKG, "code": local, "display": option["label"]}], "text": option["label"]}
    cites = "; ".join(
        f"{r['claim']} ({', '.join(short_source(s) for s in r['sources'])})" for r in deciding_reasons(option)
    )
    resource: dict = {"status": "draft", "intent": "proposal"}
    if ctx.patient_id:
        resource["subject"] = {"reference": f"Patient/{ctx.patient_id}"}
    if option["intervention"] in ctx.pharmacological:
        resource = {"resourceType": "MedicationRequest", **resource, "medicationCodeableConcept": concept}
    else:
        resource = {"resourceType": "ServiceRequest", **resource, "code": concept}
    if cites:
        resource["note"] = [{"text": f"Suggested by therapy-kg: {cites}"}]
    return resource


def alternative_suggestions(options: list[dict], ctx: CardContext, card_uuid: str) -> list[Suggestion]:
    suggestions = []
    for option in options:
        rank = f" (line {option['line']})" if option["line"] is not None else ""
        suggestions.append(
            Suggestion(
                label=f"Propose {option['label']}{rank} instead",
                uuid=ctx.issued.suggestion(card_uuid, f"propose {option['intervention']}"),
                isRecommended=bool(option["preferred"]),
                actions=[
                    Action(
                        type="create",
                        description=f"Create a draft request for {option['label']}{rank}, "
                        "an option eligible for this patient",
                        resource=proposal(option, ctx),
                    )
                ],
            )
        )
    return suggestions


def alternatives_lines(options: list[dict], heading: str) -> list[str]:
    if not options:
        return []
    return ["", f"**{heading}**", ""] + grouped_option_lines(options)


def current_therapy_warnings(evaluation: dict, match: OrderMatch) -> list[dict]:
    return [w for w in evaluation["warnings"] if w["intervention"] in (match.requested, match.assessed)]


def unrecognized_section(evaluation: dict) -> list[str]:
    if not evaluation["unrecognized"]:
        return []
    return ["", "**Not recognised in the record** (not used)", ""] + unrecognized_lines(evaluation["unrecognized"])


def order_links(evaluation: dict, match: OrderMatch, ctx: CardContext, alternatives: list[dict]) -> list[Link] | None:
    return unique_links(
        ctx.intervention_link(match.assessed),
        *(ctx.intervention_link(o["intervention"]) for o in alternatives),
        *condition_links(evaluation, ctx),
    )
