"""Evaluation (SPEC §5) → CDS Hooks cards. Pure functions: an evaluation and a `CardContext` in, cards out.

Every card cites the statements it rests on (their CURIEs, claims and quotes) and their numbered
sources in `detail`; `source.label` names the card's primary source ("therapy-kg: Source 2: FDA
label for baclofen tablets"). Summaries are built to fit the specification's limit: each is the
first of a few candidate sentences, from the most to the least specific, that fits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from api.cds.feedback import Issued, override_reasons
from api.cds.models import SUMMARY_MAX, Action, Card, Coding, Link, Source, Suggestion
from api.cds.orders import OrderMatch
from kg.store.terms import TKG

TOPIC_SYSTEM = TKG + "cds/topic"

STATUS_TEXT = {
    "eligible": "eligible",
    "deferred": "deferred",
    "excluded": "excluded",
    "not-indicated": "not indicated",
    "undetermined": "undetermined",
}
STATUS_ORDER = ("eligible", "deferred", "undetermined", "not-indicated", "excluded")
EXCLUDING = ("excluded", "not-indicated")


@dataclass(frozen=True)
class CardContext:
    """What cards need beyond the evaluation; `base_url` None leaves out links to the API.

    `issued` collects the uuid of every card and suggestion built with this context, with what it
    rests on (`api.cds.feedback`): the uuids depend on the knowledge a card cites, not on the patient.
    """

    labels: Mapping[str, str] = field(default_factory=dict)  # CURIE → label
    pharmacological: frozenset[str] = frozenset()  # CURIEs of pharmacological interventions
    patient_id: str | None = None
    base_url: str | None = None
    issued: Issued = field(default_factory=lambda: Issued(""))

    def label(self, curie: str) -> str:
        return self.labels.get(curie) or curie.split(":", 1)[-1]

    def url(self, path: str) -> str | None:
        return None if self.base_url is None else self.base_url.rstrip("/") + path

    def source_url(self, curie: str) -> str | None:
        return self.url(f"/sources/{quote(curie, safe=':')}")

    def intervention_link(self, curie: str) -> Link | None:
        url = self.url(f"/interventions/{quote(curie, safe=':')}")
        return url and Link(label=f"therapy-kg: {self.label(curie)}", url=url, type="absolute")

    def therapy_lines_link(self, curie: str, label: str) -> Link | None:
        url = self.url(f"/therapy-lines?condition={quote(curie, safe=':')}")
        return url and Link(label=f"therapy-kg: therapy lines for {label}", url=url, type="absolute")


# ---------------------------------------------------------------------------------- text helpers
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def md(text: object, limit: int = 2000) -> str:
    """Plain text made safe inside markdown: one line, special characters escaped, bounded length."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


def code(text: object, limit: int = 200) -> str:
    """Text as a markdown code span (no escaping inside one: backticks are replaced)."""
    flat = " ".join(str(text).split()).replace("`", "'")[:limit]
    return f"`{flat}`"


def fit(*candidates: str) -> str:
    """The first candidate short enough for a summary; the last one cut with an ellipsis otherwise."""
    for candidate in candidates:
        if len(candidate) <= SUMMARY_MAX:
            return candidate
    return candidates[-1][: SUMMARY_MAX - 1].rstrip() + "…"


def stopping_advice(stopping: list[dict]) -> str:
    """What to know when stopping a current therapy, in the graph's own words: the labels of its statements
    on stopping it (e.g. "taper baclofen gradually when discontinuing"), never a paraphrase written here."""
    return "; ".join(str(s["label"]) for s in stopping)


def listing(prefix: str, items: list[str], suffix: str = "") -> str:
    """`prefix` + as many items as fit + "+N more" + `suffix`, within the summary limit."""
    for shown in range(len(items), 0, -1):
        rest = len(items) - shown
        text = prefix + ", ".join(items[:shown]) + (f" +{rest} more" if rest else "") + suffix
        if len(text) <= SUMMARY_MAX:
            return text
    return fit(prefix + f"{len(items)} options" + suffix)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _short_source(source: dict) -> str:
    return source["label"].split(":", 1)[0] if ":" in source["label"] else f"source {source['reference']}"


def _sources_of(reasons: Iterable[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for reason in reasons:
        for source in reason.get("sources", []):
            seen.setdefault(source["source"], source)
    return sorted(seen.values(), key=lambda s: s["reference"])


def _primary_source(reasons: list[dict], ctx: CardContext, topic: str, topic_display: str) -> Source:
    """The source cited most often by the card's statements (lowest reference number on ties)."""
    counts = Counter(s["source"] for r in reasons for s in r.get("sources", []))
    sources = _sources_of(reasons)
    topic_coding = Coding(system=TOPIC_SYSTEM, code=topic, display=topic_display)
    if not sources:
        return Source(label="therapy-kg", topic=topic_coding)
    best = max(sources, key=lambda s: (counts[s["source"]], -s["reference"]))
    return Source(label=f"therapy-kg: {best['label']}", url=ctx.source_url(best["source"]), topic=topic_coding)


def _reason_lines(reason: dict, indent: str = "") -> list[str]:
    cites = ", ".join(f"{md(s['label'])} \\[{s['reference']}\\]" for s in reason.get("sources", []))
    may = " *(may apply: the record does not say enough)*" if reason.get("applies") == "possibly" else ""
    lines = [f"{indent}- {md(reason['claim'])} — {cites or 'no source'} (`{reason['statement']}`){may}"]
    for q in reason.get("quotes", []):
        origin = f" — *{md(q['origin'])}*" if q.get("origin") else ""
        lines.append(f"{indent}  > “{md(q['text'])}”{origin}")
    for unmet in reason.get("unmet", []):
        lines.append(f"{indent}  - not met: {md(unmet['text'])}")
    return lines


def _sources_section(reasons: Iterable[dict]) -> list[str]:
    sources = _sources_of(reasons)
    if not sources:
        return []
    return ["", "**Sources**", ""] + [f"- \\[{s['reference']}\\] {md(s['label'])} (`{s['source']}`)" for s in sources]


def _render_input(value: object) -> str:
    if isinstance(value, dict):
        codings = value.get("coding") if isinstance(value.get("coding"), list) else [value]
        parts = []
        for c in codings:
            if isinstance(c, dict):
                text = f"{c.get('system', '?')} | {c.get('code', '?')}"
                if c.get("display"):
                    text += f" ({c['display']})"
                parts.append(text)
        if value.get("text"):
            parts.append(f"“{value['text']}”")
        return md("; ".join(parts) or value, 300)
    return md(value, 300)


def unrecognized_lines(unrecognized: list[dict]) -> list[str]:
    return [
        f"- {code(u.get('field', '?'), 100)}: {_render_input(u.get('input'))} — {md(u.get('reason', ''), 300)}"
        for u in unrecognized
    ]


def _notes_section(notes: Iterable[str]) -> list[str]:
    notes = list(notes)
    return ["", "**Prefetched data not used**", ""] + [f"- {md(n, 500)}" for n in notes] if notes else []


def _links(*links: Link | None) -> list[Link] | None:
    unique: dict[str, Link] = {}
    for link in links:
        if link is not None:
            unique.setdefault(link.url, link)
    return list(unique.values()) or None


def _condition_links(evaluation: dict, ctx: CardContext) -> list[Link | None]:
    return [ctx.therapy_lines_link(c["term"], c.get("label") or c["term"]) for c in evaluation.get("conditions", [])]


# ---------------------------------------------------------------------------------- patient-view
def patient_view_cards(evaluation: dict, ctx: CardContext, notes: Iterable[str] = ()) -> list[Card]:
    """A summary of the options, one warning per evaluation warning, missing information, unrecognised codes."""
    cards: list[Card] = []
    if evaluation["options"]:
        cards.append(options_card(evaluation, ctx, list(notes)))
    cards += [warning_card(w, i, ctx) for i, w in enumerate(evaluation["warnings"])]
    if evaluation["missing_information"]:
        cards.append(missing_information_card(evaluation, ctx))
    if evaluation["unrecognized"]:
        cards.append(unrecognized_card(evaluation, ctx))
    return cards


def _option_sort_key(option: dict) -> tuple:
    return (not option["preferred"], option["line"] if option["line"] is not None else 99, option["label"])


def options_card(evaluation: dict, ctx: CardContext, notes: list[str] | None = None) -> Card:
    options = evaluation["options"]
    eligible = sorted((o for o in options if o["status"] == "eligible"), key=_option_sort_key)
    if eligible:
        names = [o["label"] + (" (preferred)" if o["preferred"] else "") for o in eligible]
        summary = listing("Eligible now: ", names)
    else:
        names = [f"{o['label']} {STATUS_TEXT[o['status']]}" for o in sorted(options, key=_option_sort_key)]
        summary = listing("No option is eligible now: ", names)

    conditions = (
        ", ".join(md(c.get("label") or c["term"]) for c in evaluation.get("conditions", [])) or "none recognised"
    )
    lines = [
        f"Options for this patient from therapy-kg {md(evaluation['knowledge_version'])} "
        f"({md(evaluation['engine'])} engine). Conditions: {conditions}."
    ]
    for status in STATUS_ORDER:
        group = [o for o in options if o["status"] == status]
        if not group:
            continue
        lines += ["", f"**{cap(STATUS_TEXT[status])}**", ""]
        lines += _grouped_option_lines(group)
    all_reasons = [r for o in options for r in o["reasons"]]
    lines += _sources_section(all_reasons)
    lines += _notes_section(notes or [])
    deciding = [r for o in (eligible or options) for r in o["reasons"]]
    return Card(
        uuid=ctx.issued.card("options", deciding),
        summary=summary,
        detail="\n".join(lines),
        indicator="info",
        source=_primary_source(deciding, ctx, "options", "Treatment options for this patient"),
        links=_links(*_condition_links(evaluation, ctx)),
    )


def _grouped_option_lines(options: list[dict]) -> list[str]:
    """Options that share line and reasons are listed together, their reasons once."""
    groups: dict[tuple, list[dict]] = {}
    for option in sorted(options, key=_option_sort_key):
        key = (
            option["line"],
            tuple(r["statement"] for r in option["reasons"]),
            tuple(u["text"] for r in option["reasons"] for u in r.get("unmet", [])),
        )
        groups.setdefault(key, []).append(option)
    lines = []
    for (line, _, _), members in groups.items():
        names = ", ".join(
            f"**{md(o['label'])}**" + (" (preferred)" if o["preferred"] else "") + f" (`{o['intervention']}`)"
            for o in members
        )
        lines.append(f"- {names}" + (f" — line {line}" if line is not None else ""))
        for reason in members[0]["reasons"]:
            lines += _reason_lines(reason, indent="  ")
    return lines


def warning_card(warning: dict, index: int, ctx: CardContext) -> Card:
    curie = warning["intervention"]
    label = ctx.label(curie)
    kind = warning["kind"]
    reasons, stopping = warning.get("reasons", []), warning.get("statements", [])
    if kind == "current-therapy-caution":
        about = reasons[0]["label"] if reasons else "a caution applies"
        summary = fit(f"The patient takes {label}: {about}", f"Caution: the patient takes {label}")
        topic = "caution"
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
        lines += ["", "**Why**", ""] + [line for r in reasons for line in _reason_lines(r)]
    if stopping:
        lines += ["", "**If it is stopped**", ""] + [line for r in stopping for line in _reason_lines(r)]
    lines += _sources_section(reasons + stopping)
    return Card(
        uuid=ctx.issued.card(f"warning/{kind}", reasons + stopping, curie),
        summary=summary,
        detail="\n".join(lines),
        indicator="warning",
        source=_primary_source(reasons or stopping, ctx, topic, f"Current therapy: {topic}"),
        overrideReasons=override_reasons()["warning"],
        links=_links(ctx.intervention_link(curie)),
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
    reasons = [r for o in evaluation["options"] if o["intervention"] in affected for r in o["reasons"]]
    lines += _sources_section(reasons)
    return Card(
        uuid=ctx.issued.card("missing-information", reasons),
        summary=summary,
        detail="\n".join(lines),
        indicator="info",
        source=_primary_source(reasons, ctx, "missing-information", "Information that would change the options"),
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
        source=Source(
            label="therapy-kg: code mappings",
            topic=Coding(system=TOPIC_SYSTEM, code="unrecognized", display="Codes not recognised"),
        ),
    )


# ---------------------------------------------------------------------------------- order-select
def order_cards(evaluation: dict, match: OrderMatch, ctx: CardContext, notes: Iterable[str] = ()) -> list[Card]:
    """The card (if any) for one selected draft order that maps to an intervention of the graph;
    `notes` (prefetched data not used) end its detail."""
    option = match.option
    if option is None:
        card = _order_unassessed_card(evaluation, match, ctx) if evaluation["unrecognized"] else None
    elif option["status"] in EXCLUDING:
        card = _order_excluded_card(evaluation, match, option, ctx)
    elif option["status"] == "deferred":
        card = _order_deferred_card(evaluation, match, option, ctx)
    elif option["status"] == "undetermined":
        card = _order_undetermined_card(evaluation, match, option, ctx)
    else:
        card = _order_eligible_card(evaluation, match, option, ctx)
    if card is None:
        return []
    extra = _notes_section(notes)
    return [card.model_copy(update={"detail": "\n".join([card.detail or "", *extra])})] if extra else [card]


def _order_header(match: OrderMatch, option: dict | None) -> list[str]:
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
            line += ". The order does not state its route: an unspecified route is assessed as oral"
        else:
            line += f" (route: {md(order.route or '', 100)})"
    if option is not None and option["intervention"] != match.assessed:
        line += f"; the graph's statements about **{md(option['label'])}** (`{option['intervention']}`) apply"
    return [line + "."]


def _eligible(evaluation: dict) -> list[dict]:
    return sorted((o for o in evaluation["options"] if o["status"] == "eligible"), key=_option_sort_key)


def _first_line_alternatives(evaluation: dict, exclude: str) -> list[dict]:
    """Eligible options of the lowest line that has any (line 1 when it is open), other than `exclude`."""
    eligible = [o for o in _eligible(evaluation) if o["intervention"] != exclude and o["line"] is not None]
    if not eligible:
        return []
    lowest = min(o["line"] for o in eligible)
    return [o for o in eligible if o["line"] == lowest]


def _proposal(option: dict, ctx: CardContext) -> dict:
    """A draft request for an option: a MedicationRequest for drugs, a ServiceRequest otherwise."""
    local = option["intervention"].split(":", 1)[-1]
    concept = {"coding": [{"system": TKG, "code": local, "display": option["label"]}], "text": option["label"]}
    cites = "; ".join(f"{r['claim']} ({', '.join(_short_source(s) for s in r['sources'])})" for r in option["reasons"])
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


def _alternative_suggestions(options: list[dict], ctx: CardContext, card_uuid: str) -> list[Suggestion]:
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
                        resource=_proposal(option, ctx),
                    )
                ],
            )
        )
    return suggestions


def _alternatives_lines(options: list[dict], heading: str) -> list[str]:
    if not options:
        return []
    return ["", f"**{heading}**", ""] + _grouped_option_lines(options)


def _current_therapy_warnings(evaluation: dict, match: OrderMatch) -> list[dict]:
    return [w for w in evaluation["warnings"] if w["intervention"] in (match.requested, match.assessed)]


def _unrecognized_section(evaluation: dict) -> list[str]:
    if not evaluation["unrecognized"]:
        return []
    return ["", "**Not recognised in the record** (not used)", ""] + unrecognized_lines(evaluation["unrecognized"])


def _order_links(evaluation: dict, match: OrderMatch, ctx: CardContext, alternatives: list[dict]) -> list[Link] | None:
    return _links(
        ctx.intervention_link(match.assessed),
        *(ctx.intervention_link(o["intervention"]) for o in alternatives),
        *_condition_links(evaluation, ctx),
    )


def _order_excluded_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card:
    status = STATUS_TEXT[option["status"]]
    label = cap(match.assessed_label)
    reasons = option["reasons"]
    why = reasons[0]["label"] if reasons else ""
    cited = ", ".join(_short_source(s) for s in _sources_of(reasons))
    summary = fit(
        f"{label} is {status} for this patient: {why} ({cited})",
        f"{label} is {status} for this patient: {why}",
        f"{label} is {status} for this patient ({cited})",
        f"{label} is {status} for this patient",
    )
    card_uuid = ctx.issued.card(f"order/{option['status']}", reasons, match.assessed)
    alternatives = _first_line_alternatives(evaluation, option["intervention"])
    current = _current_therapy_warnings(evaluation, match)
    stopping = [s for w in current for s in w.get("statements", [])]

    lines = _order_header(match, option)
    lines += ["", f"**Why it is {status}**", ""] + [line for r in reasons for line in _reason_lines(r)]
    if current:
        lines += ["", "**The patient already takes it**", ""] + [f"- {md(w['message'])}" for w in current]
        lines += [line for r in stopping for line in _reason_lines(r)]
    lines += _alternatives_lines(alternatives, "Eligible for this patient instead")
    if not alternatives:
        lines += ["", "No option of the graph is eligible for this patient's recorded conditions."]
    if option.get("evidence"):
        lines += ["", "**Related statements**", ""] + [line for r in option["evidence"] for line in _reason_lines(r)]
    lines += _unrecognized_section(evaluation)
    cited_reasons = reasons + stopping + [r for o in alternatives for r in o["reasons"]] + option.get("evidence", [])
    lines += _sources_section(cited_reasons)

    suggestions = _alternative_suggestions(alternatives, ctx, card_uuid)
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
        source=_primary_source(reasons, ctx, option["status"], f"Ordered therapy is {status}"),
        suggestions=suggestions,
        selectionBehavior="any",
        overrideReasons=override_reasons()["excluded"],
        links=_order_links(evaluation, match, ctx, alternatives),
    )


def _order_deferred_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card:
    label = cap(match.assessed_label)
    reasons = option["reasons"]
    unmet = {u["text"]: u for r in reasons for u in r.get("unmet", [])}
    rank = f" (line {option['line']})" if option["line"] is not None else ""
    not_yet = "; ".join(unmet) or "a prerequisite is not met"
    summary = fit(
        f"{label}{rank} is deferred for this patient: {not_yet}",
        f"{label}{rank} is deferred: {not_yet}",
        f"{label}{rank} is deferred for this patient",
    )
    card_uuid = ctx.issued.card("order/deferred", reasons, match.assessed)
    wanted = {o for u in unmet.values() for o in u.get("options", [])}
    alternatives = [o for o in _eligible(evaluation) if o["intervention"] in wanted]
    prior_line_unmet = any(u["requirement"] == "prior-line" for u in unmet.values())

    lines = _order_header(match, option)
    lines += ["", "**Why it is deferred**", ""] + [line for r in reasons for line in _reason_lines(r)]
    lines += _alternatives_lines(alternatives, "Start one of these first (eligible for this patient)")
    lines += _dosing_lines(option)
    lines += _unrecognized_section(evaluation)
    lines += _sources_section(reasons + [r for o in alternatives for r in o["reasons"]])
    suggestions = _alternative_suggestions(alternatives, ctx, card_uuid)
    return Card(
        uuid=card_uuid,
        summary=summary,
        detail="\n".join(lines),
        indicator="warning" if prior_line_unmet else "info",
        source=_primary_source(reasons, ctx, "deferred", "Ordered therapy is deferred"),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=override_reasons()["deferred"],
        links=_order_links(evaluation, match, ctx, alternatives),
    )


def _order_undetermined_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card:
    label = cap(match.assessed_label)
    questions = [q for q in evaluation["missing_information"] if option["intervention"] in q.get("options", [])]
    first = questions[0]["question"] if questions else "the record does not say enough"
    summary = fit(
        f"{label}: whether it suits this patient depends on: {first}",
        f"{label}: suitability depends on information missing from the record",
    )
    lines = _order_header(match, option)
    lines += ["", "**Statements that may apply**", ""] + [line for r in option["reasons"] for line in _reason_lines(r)]
    if questions:
        lines += ["", "**Missing from the record**", ""]
        for q in questions:
            text = f"- **{md(q['question'])}**"
            if q.get("candidates"):
                text += " — candidates: " + ", ".join(f"{md(ctx.label(c))} (`{c}`)" for c in q["candidates"])
            lines.append(text)
    lines += _unrecognized_section(evaluation)
    lines += _sources_section(option["reasons"])
    return Card(
        uuid=ctx.issued.card("order/undetermined", option["reasons"], match.assessed),
        summary=summary,
        detail="\n".join(lines),
        indicator="info",
        source=_primary_source(option["reasons"], ctx, "undetermined", "Ordered therapy: information missing"),
        links=_order_links(evaluation, match, ctx, []),
    )


def _dose_text(dose: dict) -> str:
    low, high = dose.get("lower"), dose.get("upper")
    if low is not None and high is not None:
        amount = f"{low}–{high}" if low != high else f"{low}"
    else:
        amount = f"up to {high}" if high is not None else f"at least {low}"
    return f"{dose['label']} {amount} {dose['unit']}"


def _dose_order(dose: dict) -> tuple:
    """Starting doses first, then targets, then the rest (limits)."""
    label = dose["label"]
    group = 0 if label.startswith("starting") else 1 if label.startswith("target") else 2
    return (group, 0 if dose["unit"].startswith("mg") else 1, label)


def _dosing_summary(head: str, dosing: dict) -> str | None:
    population = dosing.get("population", {}).get("label")
    prefix = f"{head}. Dosing ({population}): " if population else f"{head}. Dosing: "
    doses = [_dose_text(d) for d in sorted(dosing["doses"], key=_dose_order)]
    for shown in range(len(doses), 0, -1):
        text = prefix + "; ".join(doses[:shown]) + ("; …" if shown < len(doses) else "")
        if len(text) <= SUMMARY_MAX:
            return text
    return None


def _dosing_lines(option: dict) -> list[str]:
    if not option.get("dosing"):
        return []
    lines = ["", "**Dosing**", ""]
    for dosing in option["dosing"]:
        population = f" ({md(dosing['population']['label'])})" if dosing.get("population") else ""
        lines += _reason_lines(dosing)
        if dosing.get("doses"):
            lines.append(
                f"  - doses{population}: "
                + "; ".join(md(_dose_text(d)) for d in sorted(dosing["doses"], key=_dose_order))
            )
    return lines


def _order_eligible_card(evaluation: dict, match: OrderMatch, option: dict, ctx: CardContext) -> Card | None:
    """An info card with the dosing for the patient's age group, condition-specific cautions and a
    preferred alternative; None when the graph has none of these to add."""
    applying = [d for d in option.get("dosing", []) if d.get("applies") != "possibly" and d.get("doses")]
    specific_cautions = [
        c for c in option.get("cautions", []) if any(m.get("field") == "conditions" for m in c.get("matched", []))
    ]
    preferred = [
        o
        for o in _eligible(evaluation)
        if o["preferred"] and o["intervention"] != option["intervention"] and o["line"] == option["line"]
    ]
    if not (option.get("dosing") or option.get("cautions") or preferred):
        return None
    label = cap(match.assessed_label)
    rank = f" (line {option['line']})" if option["line"] is not None else ""
    card_uuid = ctx.issued.card("order/eligible", option["reasons"], match.assessed)
    if specific_cautions:
        extra = f"; caution: {specific_cautions[0]['label']}"
    elif preferred and not option["preferred"]:
        extra = f"; {preferred[0]['label']} is preferred for this patient"
    else:
        extra = ""
    head = f"{label} is eligible{extra}"
    summary = (_dosing_summary(head, applying[0]) if applying else None) or fit(
        f"{label}{rank} is eligible for this patient{extra}", head
    )

    lines = _order_header(match, option)
    lines += ["", "**Why it is eligible**", ""] + [line for r in option["reasons"] for line in _reason_lines(r)]
    lines += _dosing_lines(option)
    if option.get("cautions"):
        lines += ["", "**Cautions**", ""] + [line for r in option["cautions"] for line in _reason_lines(r)]
    if option.get("monitoring"):
        lines += ["", "**Monitoring**", ""] + [line for r in option["monitoring"] for line in _reason_lines(r)]
    lines += _alternatives_lines(preferred, "Preferred for this patient")
    lines += _unrecognized_section(evaluation)
    cited = (
        option["reasons"]
        + option.get("dosing", [])
        + option.get("cautions", [])
        + option.get("monitoring", [])
        + [r for o in preferred for r in o["reasons"]]
    )
    lines += _sources_section(cited)
    suggestions = _alternative_suggestions(preferred, ctx, card_uuid) if preferred and not option["preferred"] else []
    return Card(
        uuid=card_uuid,
        summary=summary,
        detail="\n".join(lines),
        indicator="warning" if specific_cautions else "info",
        source=_primary_source(applying or option["reasons"], ctx, "eligible", "Ordered therapy is eligible"),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        links=_order_links(evaluation, match, ctx, preferred),
    )


def _order_unassessed_card(evaluation: dict, match: OrderMatch, ctx: CardContext) -> Card:
    n = len(evaluation["unrecognized"])
    noun = "entry" if n == 1 else "entries"
    lines = _order_header(match, None)
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
        source=Source(
            label="therapy-kg: code mappings",
            topic=Coding(system=TOPIC_SYSTEM, code="unrecognized", display="Codes not recognised"),
        ),
        links=_links(ctx.intervention_link(match.assessed)),
    )
