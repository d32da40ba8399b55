"""The therapy ladder of a condition as a picture (issue 12 item 4), drawn with Graphviz (its Python bindings,
and Debian's `graphviz` for `dot`): the lines as steps from top to bottom, the options as boxes (a double border
for one a recommendation prefers), a dashed edge from a preferred option to the others it is preferred over, an
edge from a line to the line whose options must have been initiated first, and the sources as numbered
footnotes, each option marked with the numbers of the sources that place it there. Every box links to its
term's page. The drawing states nothing the `/therapy-lines` answer does not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.routers.lookups.models import TherapyLadderOut
from kg.errors import StoreUnavailableError
from kg.store.terms import TKG

#: The fill of an option by the status one patient's evaluation gives it (SPEC §5); the status is written in
#: the box too, so the colour is never the only sign.
STATUS_FILL = {
    "eligible": "#d4edda",
    "deferred": "#fff3cd",
    "undetermined": "#e2e3e5",
    "not-indicated": "#f8d7da",
    "excluded": "#f5c6cb",
}


def ladder_svg(ladder: TherapyLadderOut, statuses: dict[str, str] | None = None) -> bytes:
    """The ladder drawn; with `statuses` (intervention CURIE → status), each option filled by its status."""
    return ladders_svg(f"Therapy ladder: {ladder.condition.label}", [(ladder, statuses)])


def ladders_svg(title: str, panels: Sequence[tuple[TherapyLadderOut, dict[str, str] | None]]) -> bytes:
    """Several ladders in one drawing (one patient's indications), each a panel of its own."""
    import graphviz

    graph = graphviz.Digraph(
        "ladder",
        graph_attr={"rankdir": "TB", "compound": "true", "fontname": "Helvetica", "label": title, "labelloc": "t"},
        node_attr={"shape": "box", "style": "rounded", "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    notes: dict[int, str] = {}
    steps: list[str] = []
    for index, (ladder, statuses) in enumerate(panels):
        if len(panels) == 1:
            steps += _panel(graph, index, ladder, statuses, notes)
        else:
            with graph.subgraph(name=f"cluster_panel{index}") as panel:
                panel.attr(label=f"for {ladder.condition.label}", style="dashed", color="#888888")
                steps += _panel(panel, index, ladder, statuses, notes)
    if notes:
        footnotes = "".join(f"[{n}] {label}\\l" for n, label in sorted(notes.items()))
        graph.node("sources", footnotes, shape="plaintext", fontsize="10")
        if steps:
            graph.edge(steps[-1], "sources", style="invis")  # the footnotes below the last line
    if any(statuses for _, statuses in panels):
        rows = "".join(f'<tr><td bgcolor="{fill}">{status}</td></tr>' for status, fill in STATUS_FILL.items())
        legend = f'<<table border="0" cellborder="1" cellspacing="0"><tr><td>status</td></tr>{rows}</table>>'
        graph.node("legend", legend, shape="plaintext")
    try:
        return graph.pipe(format="svg")
    except graphviz.ExecutableNotFound:
        # the JSON answers still come; the drawing needs Debian's graphviz on this machine
        raise StoreUnavailableError("drawing the ladder needs Graphviz's dot: apt-get install graphviz") from None


def _panel(
    graph: Any, index: int, ladder: TherapyLadderOut, statuses: dict[str, str] | None, notes: dict[int, str]
) -> list[str]:
    """One ladder's lines, options and edges into `graph`, its sources into `notes`; a node of each line."""
    first: dict[str, str] = {}  # line IRI → one of its nodes (an edge between clusters goes node to node)
    for line in ladder.lines:
        with graph.subgraph(name=f"cluster_{index}_{line.rank}") as step:
            step.attr(label=line.label, style="rounded", color="#555555")
            for option in line.options:
                placing = [r for r in line.recommendations if option.intervention in r.options]
                sources = sorted({s.reference: s.label for r in placing for s in r.sources}.items())
                notes.update(sources)
                marks = f" [{', '.join(str(n) for n, _ in sources)}]" if sources else ""
                status = (statuses or {}).get(option.intervention)
                node = _node(index, line.rank, option.iri)
                first.setdefault(line.iri, node)
                step.node(
                    node,
                    option.label + marks + (f"\\n{status}" if status else ""),
                    peripheries="2" if option.preferred else "1",
                    style="rounded,filled" if status else "rounded",
                    fillcolor=STATUS_FILL.get(status or "", "#ffffff"),
                    URL="/terms/" + option.iri.removeprefix(TKG),
                    tooltip=option.intervention,
                )
    steps = [first[line.iri] for line in ladder.lines if line.iri in first]
    for upper, lower in zip(steps, steps[1:], strict=False):  # the lines as steps, first at the top
        graph.edge(upper, lower, style="invis", weight="10")
    prerequisites: set[tuple[int, int]] = set()
    for line in ladder.lines:
        for recommendation in line.recommendations:
            prior = recommendation.requires_prior_line
            if prior is not None and prior.rank is not None and prior.iri in first and line.iri in first:
                if (prior.rank, line.rank) not in prerequisites:
                    prerequisites.add((prior.rank, line.rank))
                    graph.edge(
                        first[prior.iri],
                        first[line.iri],
                        ltail=f"cluster_{index}_{prior.rank}",
                        lhead=f"cluster_{index}_{line.rank}",
                        label=f"after the {prior.label}",
                    )
            for preferred in recommendation.preferred:
                for other in recommendation.options:
                    if other != preferred:
                        graph.edge(
                            _node(index, line.rank, TKG + preferred.removeprefix("tkg:")),
                            _node(index, line.rank, TKG + other.removeprefix("tkg:")),
                            label="preferred over",
                            style="dashed",
                        )
    return steps


def _node(panel: int, rank: int, iri: str) -> str:
    return f"p{panel}_line{rank}_{iri.removeprefix(TKG)}"


def evaluation_svg(service: Any, encoded: bytes) -> bytes:
    """One patient's evaluation drawn (`POST /evaluate` with `Accept: image/svg+xml`): the ladder of each
    indication its options are for, each option filled and marked by the status the evaluation gives it."""
    import orjson

    from api.routers.lookups.therapy_lines import therapy_lines

    document = orjson.loads(encoded)
    by_indication: dict[str, dict[str, str]] = {}
    for option in document.get("options", []):
        indication = (option.get("indication") or {}).get("term")
        if indication:
            by_indication.setdefault(indication, {})[option["intervention"]] = option["status"]
    panels = [(therapy_lines(service.store, service, condition=i), s) for i, s in by_indication.items()]
    title = f"Options for patient {document.get('patient') or '(no id)'}, by status"
    if not panels:
        title += ": the evaluation presents no option on a ladder"
    return ladders_svg(title, panels)
