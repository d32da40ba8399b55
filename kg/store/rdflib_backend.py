"""The rdflib backend: the release in an `rdflib.Dataset`, queried with rdflib's own SPARQL engine.

Why a third backend: rdflib is the reference Python implementation of SPARQL 1.1 the others are held
to (the contract tests run the same queries on all three), and a tool that already holds an rdflib
graph can evaluate patients against it without a copy into Oxigraph. It is the slowest of the three,
so nothing picks it by default: `open_store("rdflib:")`.

Answers come back as the pyoxigraph result objects every caller expects: the rdflib result is
written as SPARQL JSON (or N-Triples for CONSTRUCT and DESCRIBE) and read back by pyoxigraph, so
there is no second path through the code for terms of another library.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier
from rdflib.util import from_n3

from kg.errors import StoreError
from kg.store import KNOWLEDGE_GRAPH, QueryResult, Term, TripleList


class RdflibStore:
    """An in-process rdflib Dataset holding the release in its default graph and the knowledge graph."""

    name = "rdflib"
    endpoint: str | None = None

    def __init__(self, dataset: Dataset | None = None) -> None:
        self.dataset = dataset if dataset is not None else Dataset()

    def load_ntriples(self, data: bytes) -> None:
        """Load N-Triples into the default graph and the knowledge named graph."""
        for name in (DATASET_DEFAULT_GRAPH_ID, URIRef(KNOWLEDGE_GRAPH.value)):
            self.dataset.graph(name).parse(data=data, format="nt")

    def query(
        self,
        sparql: str,
        bindings: Mapping[str, Term] | None = None,
        *,
        default_graphs: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run a query; `timeout` is not enforced (rdflib cannot be interrupted; see api.sparql)."""
        initial = {name: _rdflib_term(term) for name, term in (bindings or {}).items()}
        dataset = self._restricted(default_graphs, named_graphs)
        try:
            result = dataset.query(sparql, initBindings=initial)
        except Exception as exc:  # rdflib raises pyparsing and plain errors alike
            raise StoreError(f"rdflib could not run the query: {type(exc).__name__}") from None
        if result.type in ("CONSTRUCT", "DESCRIBE"):
            data = result.serialize(format="nt", encoding="utf-8") or b""
            return TripleList(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
        data = result.serialize(format="json", encoding="utf-8") or b""
        return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)

    def _restricted(
        self, default_graphs: list[ox.NamedNode] | None, named_graphs: list[ox.NamedNode] | None
    ) -> Dataset:
        """The dataset a protocol request names (SPARQL 1.1 Protocol §2.1.4): a copy whose default graph is
        the merge of `default_graphs` and whose named graphs are `named_graphs`; the whole store when neither
        is given."""
        if default_graphs is None and named_graphs is None:
            return self.dataset
        view = Dataset()
        merged = view.graph(DATASET_DEFAULT_GRAPH_ID)
        for name in default_graphs or []:
            merged += self.dataset.graph(URIRef(name.value))
        for name in named_graphs or []:
            named = view.graph(URIRef(name.value))
            named += self.dataset.graph(URIRef(name.value))
        return view

    def graph_names(self) -> list[ox.NamedNode]:
        return [
            ox.NamedNode(str(graph.identifier))
            for graph in self.dataset.graphs()
            if isinstance(graph.identifier, URIRef) and graph.identifier != DATASET_DEFAULT_GRAPH_ID and len(graph)
        ]

    def triple_count(self) -> int:
        return len(self.dataset.graph(DATASET_DEFAULT_GRAPH_ID))

    def snapshot(self) -> bytes:
        """The dataset as N-Quads, the default graph as the default graph (rdflib would name it)."""
        copy = ox.Store()
        for graph in self.dataset.graphs():
            target = (
                ox.DefaultGraph() if graph.identifier == DATASET_DEFAULT_GRAPH_ID else ox.NamedNode(graph.identifier)
            )
            copy.load(_ntriples(graph), format=ox.RdfFormat.N_TRIPLES, to_graph=target)
        return copy.dump(format=ox.RdfFormat.N_QUADS) or b""


def _ntriples(graph: Graph) -> bytes:
    return graph.serialize(format="nt", encoding="utf-8") or b""


def _rdflib_term(term: Term) -> Identifier:
    """A pyoxigraph term as rdflib's, through their common N-Triples form (never through query text)."""
    parsed = from_n3(str(term))
    if not isinstance(parsed, Identifier):
        raise StoreError(f"cannot bind {type(term).__name__} as an rdflib term")
    return parsed
