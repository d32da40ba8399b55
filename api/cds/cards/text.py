"""Markdown and summary text for cards: escaping, fitting the summary limit, reasons with their sources."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from api.cds.cards.context import TOPIC_SYSTEM, CardContext
from api.cds.models import SUMMARY_MAX, Coding, Link, Source
from kg.json_types import deciding_reasons

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


def short_source(source: dict) -> str:
    return source["label"].split(":", 1)[0] if ":" in source["label"] else f"source {source['reference']}"


def sources_of(reasons: Iterable[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for reason in reasons:
        for source in reason.get("sources", []):
            seen.setdefault(source["source"], source)
    return sorted(seen.values(), key=lambda s: s["reference"])


def primary_source(reasons: list[dict], ctx: CardContext, topic: str, topic_display: str) -> Source:
    """The source cited most often by the card's statements (lowest reference number on ties)."""
    counts = Counter(s["source"] for r in reasons for s in r.get("sources", []))
    sources = sources_of(reasons)
    topic_coding = Coding(system=TOPIC_SYSTEM, code=topic, display=topic_display)
    if not sources:
        return Source(label="therapy-kg", topic=topic_coding)
    best = max(sources, key=lambda s: (counts[s["source"]], -s["reference"]))
    return Source(label=f"therapy-kg: {best['label']}", url=ctx.source_url(best["source"]), topic=topic_coding)


def reason_lines(reason: dict, indent: str = "") -> list[str]:
    cites = ", ".join(f"{md(s['label'])} \\[{s['reference']}\\]" for s in reason.get("sources", []))
    may = " *(may apply: the record does not say enough)*" if reason.get("applies") == "possibly" else ""
    lines = [f"{indent}- {md(reason['claim'])} — {cites or 'no source'} (`{reason['statement']}`){may}"]
    for q in reason.get("quotes", []):
        origin = f" — *{md(q['origin'])}*" if q.get("origin") else ""
        lines.append(f"{indent}  > “{md(q['text'])}”{origin}")
    for unmet in reason.get("unmet", []):
        lines.append(f"{indent}  - not met: {md(unmet['text'])}")
    return lines


def sources_section(reasons: Iterable[dict]) -> list[str]:
    sources = sources_of(reasons)
    if not sources:
        return []
    return ["", "**Sources**", ""] + [f"- \\[{s['reference']}\\] {md(s['label'])} (`{s['source']}`)" for s in sources]


def render_input(value: object) -> str:
    if isinstance(value, dict):
        coding = value.get("coding")
        codings: list[object] = coding if isinstance(coding, list) else [value]
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
        f"- {code(u.get('field', '?'), 100)}: {render_input(u.get('input'))} — {md(u.get('reason', ''), 300)}"
        for u in unrecognized
    ]


def notes_section(notes: Iterable[str]) -> list[str]:
    notes = list(notes)
    return ["", "**Prefetched data not used**", ""] + [f"- {md(n, 500)}" for n in notes] if notes else []


def unique_links(*links: Link | None) -> list[Link] | None:
    unique: dict[str, Link] = {}
    for link in links:
        if link is not None:
            unique.setdefault(link.url, link)
    return list(unique.values()) or None


def condition_links(evaluation: dict, ctx: CardContext) -> list[Link | None]:
    return [ctx.therapy_lines_link(c["term"], c.get("label") or c["term"]) for c in evaluation.get("conditions", [])]


def option_sort_key(option: dict) -> tuple:
    return (not option["preferred"], option["line"] if option["line"] is not None else 99, option["label"])


def code_mappings_source() -> Source:
    """The source of a card about codes the graph does not map: its own code mappings."""
    return Source(
        label="therapy-kg: code mappings",
        topic=Coding(system=TOPIC_SYSTEM, code="unrecognized", display="Codes not recognised"),
    )


def for_indication(option: dict, options: list[dict]) -> str:
    """ " for <indication>" where the options are for more than one indication of the patient, else ""."""
    indications = {(o.get("indication") or {}).get("term") for o in options}
    indication = option.get("indication")
    return f" for {md(indication['label'])}" if len(indications) > 1 and indication else ""


def grouped_option_lines(options: list[dict]) -> list[str]:
    """Options that share line and reasons are listed together, their reasons once."""
    groups: dict[tuple, list[dict]] = {}
    for option in sorted(options, key=option_sort_key):
        key = (
            option["line"],
            tuple(r["statement"] for r in deciding_reasons(option)),
            tuple(u["text"] for r in deciding_reasons(option) for u in r.get("unmet", [])),
        )
        groups.setdefault(key, []).append(option)
    lines = []
    for (line, _, _), members in groups.items():
        names = ", ".join(
            f"**{md(o['label'])}**"
            + (" (preferred)" if o["preferred"] else "")
            + f" (`{o['intervention']}`)"
            + for_indication(o, options)
            for o in members
        )
        lines.append(f"- {names}" + (f" — line {line}" if line is not None else ""))
        for reason in deciding_reasons(members[0]):
            lines += reason_lines(reason, indent="  ")
    return lines
