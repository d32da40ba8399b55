"""The population run's audit page (`report.html`): the figures of `report.json` as a data team would show
them to their clinical lead, with charts drawn by matplotlib (PNG, embedded) and every text escaped.

It shows options by indication and status (a stacked bar per indication), the codes the graph does not know
(most frequent first), what was not evaluated and why (deceased, nothing to evaluate, refused, unreadable
lines, resources of no patient in the export).
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from html import escape
from typing import Any

#: The statuses in the order of SPEC §5's precedence, for the stacked bars and their legend.
STATUSES = ("eligible", "undetermined", "deferred", "not-indicated", "excluded")
#: How many unknown codes the chart and the table show.
TOP_CODES = 15


def render_report(report: dict[str, Any], title: str = "therapy-kg population run") -> str:
    """The page for the figures of `report.json`."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}td.n{text-align:right}</style>",
        "</head><body>",
        f"<h1>{escape(title)}</h1>",
        _summary(report),
        "<h2>Options by indication and status</h2>",
        _chart(_status_figure(report["options_by_indication_and_status"]), "options by indication and status"),
        _status_table(report["options_by_indication_and_status"]),
        "<h2>Codes the graph does not know</h2>",
        _chart(_codes_figure(report["unrecognized_codes"][:TOP_CODES]), "most frequent unknown codes"),
        _codes_table(report["unrecognized_codes"][:TOP_CODES], len(report["unrecognized_codes"])),
        "<h2>Not evaluated</h2>",
        _not_evaluated(report),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _rows(rows: list[tuple[object, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{v:,}</td>' if isinstance(v, int) else f"<td>{escape(str(v))}</td>" for v in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _summary(report: dict[str, Any]) -> str:
    refused = sum(report["refused"]["by_code"].values())
    return _rows(
        [
            ("patients in the export", report["patients"]),
            ("evaluated", report["evaluated"]),
            ("of them deceased (answer withheld)", report["deceased"]),
            ("nothing to evaluate (no usable condition or active medication)", report["nothing_to_evaluate"]),
            ("records refused", refused),
            ("unreadable lines", report["line_problems"]["count"]),
        ],
        ("", "count"),
    )


def _status_table(rows: list[dict[str, Any]]) -> str:
    return _rows(
        [(r["indication"] or "(no indication)", r["status"], r["options"]) for r in rows],
        ("indication", "status", "options"),
    )


def _codes_table(rows: list[dict[str, Any]], total: int) -> str:
    table = _rows(
        [(r["system"], r["code"], r["display"], r["patients"]) for r in rows], ("system", "code", "display", "patients")
    )
    return table + (f"<p>{total - len(rows):,} more codes in report.json.</p>" if total > len(rows) else "")


def _not_evaluated(report: dict[str, Any]) -> str:
    rows: list[tuple[object, ...]] = [(f"refused: {code}", n) for code, n in report["refused"]["by_code"].items()]
    rows += [(f"unreadable line: {problem}", n) for problem, n in report["line_problems"]["by_problem"].items()]
    rows += [
        (f"{kind} naming a patient not in the export", n)
        for kind, n in report["resources_naming_a_patient_not_in_the_export"].items()
    ]
    rows += [(f"{kind} (of no patient)", n) for kind, n in report["resources_of_no_patient"].items()]
    return _rows(rows, ("what", "count")) if rows else "<p>Nothing.</p>"


def _status_figure(rows: list[dict[str, Any]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: draw to a buffer
    import matplotlib.pyplot as plt

    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        counts[r["indication"] or "(none)"][r["status"]] = r["options"]
    indications = sorted(counts)
    figure, axes = plt.subplots(figsize=(8, 0.5 + 0.4 * max(1, len(indications))))
    left = [0] * len(indications)
    for status in STATUSES:
        values = [counts[i].get(status, 0) for i in indications]
        axes.barh(indications, values, left=left, label=status)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_xlabel("options")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return figure


def _codes_figure(rows: list[dict[str, Any]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['code']} {r['display']}"[:40] for r in rows][::-1]
    figure, axes = plt.subplots(figsize=(8, 0.5 + 0.3 * max(1, len(rows))))
    axes.barh(labels, [r["patients"] for r in rows][::-1])
    axes.set_xlabel("patients")
    figure.tight_layout()
    return figure


def _chart(figure: Any, description: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(description)}" src="data:image/png;base64,{data}">'
