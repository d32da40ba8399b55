"""The therapy ladder of a condition as a picture (issue 12 item 4), drawn with Graphviz (its Python bindings,
and Debian's `graphviz` for `dot`): the lines as steps from top to bottom, the options as boxes (a double border
for one a recommendation prefers), a dashed edge from a preferred option to the others it is preferred over, an
edge from a line to the line whose options must have been initiated first, and the sources as numbered
footnotes, each option marked with the numbers of the sources that place it there. Every box links to its
term's page. The drawing states nothing the `/therapy-lines` answer does not."""

from __future__ import annotations

from api.routers.lookups.models import TherapyLadderOut
from kg.errors import StoreUnavailableError
from kg.store.terms import TKG


def ladder_svg(ladder: TherapyLadderOut) -> bytes:
    import graphviz

    graph = graphviz.Digraph(
        "ladder",
        graph_attr={
            "rankdir": "TB",
            "compound": "true",
            "fontname": "Helvetica",
            "label": f"Therapy ladder: {ladder.condition.label}",
            "labelloc": "t",
            "fontsize": "16",
        },
        node_attr={"shape": "box", "style": "rounded", "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
    notes: dict[int, str] = {}
    first: dict[str, str] = {}  # line IRI → one of its nodes (an edge between clusters goes node to node)
    for line in ladder.lines:
        with graph.subgraph(name=f"cluster_{line.rank}") as step:
            step.attr(label=line.label, style="rounded", color="#555555")
            for option in line.options:
                sources = sorted(
                    {
                        s.reference: s.label
                        for r in line.recommendations
                        if option.intervention in r.options
                        for s in r.sources
                    }.items()
                )
                notes.update(sources)
                marks = f" [{', '.join(str(n) for n, _ in sources)}]" if sources else ""
                node = _node(line.rank, option.iri)
                first.setdefault(line.iri, node)
                step.node(
                    node,
                    option.label + marks,
                    peripheries="2" if option.preferred else "1",
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
                        ltail=f"cluster_{prior.rank}",
                        lhead=f"cluster_{line.rank}",
                        label=f"after the {prior.label}",
                    )
            for preferred in recommendation.preferred:
                for other in recommendation.options:
                    if other != preferred:
                        graph.edge(
                            _node(line.rank, TKG + preferred.removeprefix("tkg:")),
                            _node(line.rank, TKG + other.removeprefix("tkg:")),
                            label="preferred over",
                            style="dashed",
                        )
    if notes:
        footnotes = "".join(f"[{n}] {label}\\l" for n, label in sorted(notes.items()))
        graph.node("sources", footnotes, shape="plaintext", fontsize="10")
        if steps:
            graph.edge(steps[-1], "sources", style="invis")  # the footnotes below the last line
    try:
        return graph.pipe(format="svg")
    except graphviz.ExecutableNotFound:
        # the JSON ladder (/therapy-lines) still answers; the drawing needs Debian's graphviz on this machine
        raise StoreUnavailableError("drawing the ladder needs Graphviz's dot: apt-get install graphviz") from None


def _node(rank: int, iri: str) -> str:
    return f"line{rank}_{iri.removeprefix(TKG)}"
