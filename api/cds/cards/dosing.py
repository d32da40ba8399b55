"""Dosing in cards: the doses for the patient's age group, as a summary and as detail lines."""

from __future__ import annotations

from api.cds.cards.text import md, reason_lines
from api.cds.models import SUMMARY_MAX


def dose_text(dose: dict) -> str:
    low, high = dose.get("lower"), dose.get("upper")
    if low is not None and high is not None:
        amount = f"{low}–{high}" if low != high else f"{low}"
    else:
        amount = f"up to {high}" if high is not None else f"at least {low}"
    return f"{dose['label']} {amount} {dose['unit']}"


def dose_order(dose: dict) -> tuple:
    """Starting doses first, then targets, then the rest (limits)."""
    label = dose["label"]
    group = 0 if label.startswith("starting") else 1 if label.startswith("target") else 2
    return (group, 0 if dose["unit"].startswith("mg") else 1, label)


def dosing_summary(head: str, dosing: dict) -> str | None:
    population = dosing.get("population", {}).get("label")
    prefix = f"{head}. Dosing ({population}): " if population else f"{head}. Dosing: "
    doses = [dose_text(d) for d in sorted(dosing["doses"], key=dose_order)]
    for shown in range(len(doses), 0, -1):
        text = prefix + "; ".join(doses[:shown]) + ("; …" if shown < len(doses) else "")
        if len(text) <= SUMMARY_MAX:
            return text
    return None


def dosing_lines(option: dict) -> list[str]:
    if not option.get("dosing"):
        return []
    lines = ["", "**Dosing**", ""]
    for dosing in option["dosing"]:
        population = f" ({md(dosing['population']['label'])})" if dosing.get("population") else ""
        lines += reason_lines(dosing)
        if dosing.get("doses"):
            lines.append(
                f"  - doses{population}: "
                + "; ".join(md(dose_text(d)) for d in sorted(dosing["doses"], key=dose_order))
            )
    return lines
