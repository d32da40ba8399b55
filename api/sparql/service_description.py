"""The SPARQL 1.1 Service Description a plain `GET /sparql` answers (Turtle unless Accept says otherwise).

It tells a client what it can rely on: SPARQL 1.1 Query only (no Update, no federation), the result
formats, and the default dataset with the store's named graphs.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from api.sparql.negotiation import ALL_FORMATS

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PREFIXES = {"sd": SD, "void": VOID, "formats": "http://www.w3.org/ns/formats/"}


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def describe(endpoint: str, graphs: Iterable[str], triple_count: int | None) -> list[ox.Triple]:
    """The description of the endpoint at `endpoint` serving the store's default graph and `graphs`.

    >>> triples = describe("http://localhost/sparql", ["https://w3id.org/therapy-kg/graph/knowledge"], 3)
    >>> ox.Triple(ox.NamedNode("http://localhost/sparql"), RDF_TYPE, _sd("Service")) in triples
    True
    """
    service = ox.NamedNode(endpoint)
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(service, RDF_TYPE, _sd("Service")),
        ox.Triple(service, _sd("endpoint"), service),
        ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        *(ox.Triple(service, _sd("resultFormat"), ox.NamedNode(fmt.format_iri)) for fmt in ALL_FORMATS),
        ox.Triple(service, _sd("defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _sd("Dataset")),
        ox.Triple(dataset, _sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, _sd("Graph")),
    ]
    if triple_count is not None:
        triples.append(
            ox.Triple(
                default_graph,
                ox.NamedNode(VOID + "triples"),
                ox.Literal(str(triple_count), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
            )
        )
    for name in sorted(graphs):
        named = ox.BlankNode()
        triples += [
            ox.Triple(dataset, _sd("namedGraph"), named),
            ox.Triple(named, RDF_TYPE, _sd("NamedGraph")),
            ox.Triple(named, _sd("name"), ox.NamedNode(name)),
        ]
    return triples
