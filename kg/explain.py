"""The evaluation as readable text: each option, its status, and every reason with its citation."""

from __future__ import annotations

from kg.json_types import JsonObject, deciding_reasons

_MARK = {"eligible": "+", "deferred": "~", "excluded": "x", "not-indicated": "-", "undetermined": "?"}


def _cite(reason: JsonObject) -> str:
    refs = ", ".join(str(s["reference"]) for s in reason.get("sources", []))
    return f"[{refs}]" if refs else ""


def explain(evaluation: JsonObject) -> str:
    """Render one evaluation document; sources are listed once at the end, by seed reference number."""
    lines: list[str] = []
    sources: dict[int, str] = {}

    def reason_line(reason: JsonObject, prefix: str) -> None:
        if "claim" in reason:
            for s in reason.get("sources", []):
                sources[s["reference"]] = s["label"]
            lines.append(f'{prefix}"{reason["claim"]}" {_cite(reason)}'.rstrip())
            for quote in reason.get("quotes", []):
                lines.append(f'{" " * len(prefix)}label text: "{quote["text"]}" ({quote["origin"]})')
        for unmet in reason.get("unmet", []):
            lines.append(f"{' ' * len(prefix)}not met: {unmet['text']}")

    who = evaluation.get("patient") or "(no id)"
    lines.append(f"Patient {who} — knowledge version {evaluation['knowledge_version']}, engine {evaluation['engine']}")
    for c in evaluation["conditions"]:
        cause = c.get("cause") or {}
        due = ", ".join(d["label"] for d in cause.get("due_to", []))
        maybe = " or ".join(d["label"] for d in cause.get("candidates", []))
        caused = f", due to {due} ({cause['basis']})" if due else (f", due to {maybe}?" if maybe else "")
        lines.append(f"  condition: {c['label']} ({c['term']}){caused}" + (f" — {c['note']}" if c.get("note") else ""))
    for u in evaluation["unrecognized"]:
        lines.append(f"  NOT RECOGNISED {u['field']}: {u['input']} — {u['reason']}")
    if not evaluation["conditions"]:
        lines.append("")
        lines.append("No condition is recorded, so there are no options; what the patient receives is answered below.")
    elif not evaluation["options"]:
        lines.append("")
        lines.append("No statement of the graph recommends or rules out an option for these conditions.")
    current_line = object()
    for option in evaluation["options"]:
        if option["line"] != current_line:
            current_line = option["line"]
            lines.append("")
            lines.append(f"Line {current_line}" if current_line is not None else "No line of therapy")
        preferred = ", preferred" if option["preferred"] else ""
        indication = f" for {option['indication']['label']}" if option.get("indication") else ""
        lines.append(
            f"  {_MARK[option['status']]} {option['label']} ({option['intervention']}){indication}: "
            f"{option['status']}{preferred}"
        )
        deciding = deciding_reasons(option)
        for reason in deciding:
            reason_line(reason, "      because ")
        for reason in option["reasons"]:
            if reason not in deciding:  # applies too, but did not decide the status
                reason_line(reason, f"      also ({reason['effect']}): ")
        for title in ("cautions", "dosing", "monitoring"):
            for reason in option[title]:
                reason_line(reason, f"      {title}: ")
                for dose in reason.get("doses", []):
                    bounds = (
                        f"{dose['lower']}-{dose['upper']}"
                        if dose["lower"] not in (None, dose["upper"])
                        else f"{dose['upper']}"
                    )
                    lines.append(f"        {dose['label']}: {bounds} {dose['unit']}")
    if evaluation.get("current_therapies"):
        lines.append("")
        lines.append("Currently receives")
        for c in evaluation["current_therapies"]:
            form = f", {c['form']['label']}" if c.get("form") else ""
            statuses = "; ".join(
                f"{i['status']} for {i['indication']['label'] if i['indication'] else 'this patient'}"
                for i in c["indications"]
            )
            lines.append(f"  {c['label']} ({c['intervention']}{form}): {statuses or 'no recorded indication'}")
            for unmet in c["prerequisite_not_recorded"]:
                lines.append(f"      prerequisite not recorded: {unmet['text']}")
            for title in ("discontinuation", "monitoring", "cautions"):
                for reason in c[title]:
                    reason_line(reason, f"      {title}: ")
    if evaluation["warnings"]:
        lines.append("")
        lines.append("Warnings")
        for w in evaluation["warnings"]:
            lines.append(f"  ! {w['message']}")
            for s in w.get("statements", []):
                reason_line(s, "      see ")
    if evaluation["missing_information"]:
        lines.append("")
        lines.append("Missing information")
        for q in evaluation["missing_information"]:
            lines.append(f"  ? {q['question']} (would change: {', '.join(q['options'])})")
    if sources:
        lines.append("")
        lines.append("Sources")
        for number in sorted(sources):
            lines.append(f"  [{number}] {sources[number]}")
    return "\n".join(lines) + "\n"
