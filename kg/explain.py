"""The evaluation as readable text: each option, its status, and every reason with its citation."""

from __future__ import annotations

from collections.abc import Callable

from kg.json_types import JsonObject, deciding_reasons

_MARK = {"eligible": "+", "deferred": "~", "excluded": "x", "not-indicated": "-", "undetermined": "?"}


def _cite(reason: JsonObject) -> str:
    refs = ", ".join(str(s["reference"]) for s in reason.get("sources", []))
    return f"[{refs}]" if refs else ""


def explain(evaluation: JsonObject, verbose: bool = False) -> str:
    """Render one evaluation document, the answer first (per indication when there are several), then what the
    patient receives, warnings and questions; sources are listed once, by seed reference number; what the
    record holds that is not used is one line at the end (each item with `verbose`)."""
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
    as_of = f", as of {evaluation['as_of']}" if evaluation.get("as_of") else ""
    lines.append(
        f"Patient {who} — knowledge version {evaluation['knowledge_version']}, engine {evaluation['engine']}{as_of}"
    )
    if evaluation.get("deceased"):
        lines.append(f"  DECEASED ({evaluation['deceased'].get('date') or 'date not recorded'})")
    for c in evaluation["conditions"]:
        cause = c.get("cause") or {}
        due = ", ".join(d["label"] for d in cause.get("due_to", []))
        maybe = " or ".join(d["label"] for d in cause.get("candidates", []))
        caused = f", due to {due} ({cause['basis']})" if due else (f", due to {maybe}?" if maybe else "")
        lines.append(f"  condition: {c['label']} ({c['term']}){caused}" + (f" — {c['note']}" if c.get("note") else ""))
    if evaluation.get("deceased"):
        pass  # the warning below says why nothing is presented
    elif not evaluation["conditions"]:
        lines.append("")
        lines.append("No condition is recorded, so there are no options; what the patient receives is answered below.")
    elif not evaluation["options"]:
        lines.append("")
        lines.append("No statement of the graph recommends or rules out an option for these conditions.")
    by_indication: dict[str, list[JsonObject]] = {}
    for option in evaluation["options"]:
        by_indication.setdefault((option.get("indication") or {}).get("label", ""), []).append(option)
    for indication, options in by_indication.items():
        if len(by_indication) > 1:
            lines.append("")
            lines.append(f"For {indication}:" if indication else "For the patient as a whole:")
        current_line = object()
        for option in options:
            if option["line"] != current_line:
                current_line = option["line"]
                lines.append("")
                lines.append(f"Line {current_line}" if current_line is not None else "No line of therapy")
            preferred = ", preferred" if option["preferred"] else ""
            for_which = f" for {indication}" if indication and len(by_indication) == 1 else ""
            lines.append(
                f"  {_MARK[option['status']]} {option['label']} ({option['intervention']}){for_which}: "
                f"{option['status']}{preferred}"
            )
            _reasons(option, reason_line, lines)
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
    lines += _not_used(evaluation["unrecognized"], verbose)
    return "\n".join(lines) + "\n"


def _not_used(unrecognized: list[JsonObject], verbose: bool) -> list[str]:
    """One line counting what the record holds that the answer does not use, by resource type (or patient
    field); each item with `verbose`."""
    if not unrecognized:
        return []
    kinds: dict[str, int] = {}
    for item in unrecognized:
        kinds[_kind(item)] = kinds.get(_kind(item), 0) + 1
    counted = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda k: (-k[1], k[0])))
    lines = [
        "",
        f"Not used: {len(unrecognized)} entries of the record ({counted})"
        + ("" if verbose else "; --verbose lists them"),
    ]
    if verbose:
        lines += [f"  {u['field']}: {u['input']} — {u['reason']}" for u in unrecognized]
    return lines


def _kind(item: JsonObject) -> str:
    given = item.get("input")
    if isinstance(given, dict) and isinstance(given.get("resourceType"), str):
        return str(given["resourceType"])
    return str(item.get("field", "")).split("[", 1)[0].split(".", 1)[0] or "other"


def _reasons(option: JsonObject, reason_line: Callable[[JsonObject, str], None], lines: list[str]) -> None:
    """An option's deciding reasons, the others that apply, its cautions, dosing and monitoring."""
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
