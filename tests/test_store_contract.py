"""One contract for every store backend (issue 9): the same tests on the embedded Oxigraph store and on a
real `oxigraph serve-read-only` process behind `RemoteSparqlStore`, each loaded with the release.

What the rest of kg relies on: SELECT with parameters bound as RDF terms, ASK, CONSTRUCT as triples, the
knowledge graph among the named graphs, the triple count, and what `endpoint` and `snapshot` say about
where the data is (the /sparql runner copies an in-process store into its workers and forwards to a
remote one).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pyoxigraph as ox
import pytest

from kg.errors import StoreError
from kg.store import KNOWLEDGE_GRAPH, RemoteSparqlStore, Store, open_store, solutions, triples
from kg.store.release import embedded_store, release_ntriples
from tests.oxigraph_server import oxigraph_binary, oxigraph_server, release_nquads

TKG = "https://w3id.org/therapy-kg/"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: parameters are projected, as in the queries/ files (the embedded store binds projected variables only)
LABEL = "SELECT ?c ?label WHERE { ?c <http://www.w3.org/2000/01/rdf-schema#label> ?label }"


@pytest.fixture(
    scope="module", params=["embedded", "rdflib", pytest.param("oxigraph-server", marks=pytest.mark.server)]
)
def backend(request: pytest.FixtureRequest, build_result, tmp_path_factory) -> Iterator[Store]:
    if request.param in ("embedded", "rdflib"):
        yield embedded_store(backend="oxigraph" if request.param == "embedded" else "rdflib")
        return
    if oxigraph_binary() is None:
        pytest.skip("the oxigraph server is not installed (pip install oxigraph)")
    with oxigraph_server(release_nquads(release_ntriples(build_result)), tmp_path_factory.mktemp("contract")) as url:
        remote = RemoteSparqlStore(url)
        yield remote
        remote.close()


def test_select_binds_parameters_as_terms(backend: Store) -> None:
    rows = solutions(backend.query(LABEL, {"c": ox.NamedNode(TKG + "OralBaclofen")}))
    assert [row["label"].value for row in rows] == ["oral baclofen"]
    # a parameter is a term, never text: a value that tries to close the pattern matches nothing
    assert not list(solutions(backend.query(LABEL, {"c": ox.Literal('x" } UNION { ?c ?p ?label')})))


def test_ask_and_construct(backend: Store) -> None:
    assert backend.query(f"ASK {{ <{TKG}OralBaclofen> ?p ?o }}")
    built = list(
        triples(backend.query(f"CONSTRUCT {{ <{TKG}OralBaclofen> ?p ?o }} WHERE {{ <{TKG}OralBaclofen> ?p ?o }}"))
    )
    assert built and all(t.subject == ox.NamedNode(TKG + "OralBaclofen") for t in built)


def test_the_wrong_kind_of_result_is_a_store_error(backend: Store) -> None:
    with pytest.raises(StoreError, match="expected the solutions of a SELECT query"):
        solutions(backend.query("ASK { ?s ?p ?o }"))
    with pytest.raises(StoreError, match="expected the triples of a CONSTRUCT query"):
        triples(backend.query(LABEL))


def test_graphs_and_size_are_the_release(backend: Store, build_result) -> None:
    assert KNOWLEDGE_GRAPH in backend.graph_names()
    assert backend.triple_count() == len(build_result.graph)


def test_where_the_data_is(backend: Store) -> None:
    if backend.endpoint is None:  # in-process: a copy for a worker process holds the same triples
        copy = ox.Store()
        copy.load(backend.snapshot(), format=ox.RdfFormat.N_QUADS)
        assert sum(1 for _ in copy.quads_for_pattern(None, None, None, ox.DefaultGraph())) == backend.triple_count()
    else:  # remote: queried there, never copied
        with pytest.raises(StoreError, match="stays on that server"):
            backend.snapshot()


def test_backends_are_opened_by_name() -> None:
    assert open_store("oxigraph:").endpoint is None
    assert open_store("rdflib:").name == "rdflib" and open_store("rdflib:").endpoint is None
    assert open_store("sparql:http://127.0.0.1:1/query").endpoint == "http://127.0.0.1:1/query"
    with pytest.raises(StoreError, match="unknown store"):
        open_store("virtuoso:http://x")


NUMERIC = {XSD + name for name in ("decimal", "double", "float")}


def _term(term) -> str:
    """A term compared by value: blank nodes (local to a store) as `_`, a number by its value (rdflib writes
    10.0 where Oxigraph writes XSD 1.1's canonical 10: the same decimal)."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_"
    if isinstance(term, ox.Literal) and term.datatype.value in NUMERIC:
        return f"{Decimal(term.value).normalize()}^^{term.datatype.value}"
    return str(term)


def _rows(result) -> list[tuple[str, ...]]:
    """A SELECT result as sorted rows of terms compared by value."""
    variables = [v.value for v in result.variables]
    return sorted(tuple(_term(s[v]) for v in variables) for s in result)


def _parameterless_queries() -> list[str]:
    from kg.store.queries import load_queries

    return sorted(n for n, q in load_queries().items() if not q.parameters and "SELECT" in q.text.upper())


@pytest.fixture(scope="module")
def reference() -> Store:
    return embedded_store()


@pytest.mark.parametrize("name", _parameterless_queries())
def test_every_named_query_answers_the_same_on_every_backend(backend: Store, reference: Store, name: str) -> None:
    """What the engines compile, the QC checks and the API lists: the same rows whatever the store."""
    from kg.store.queries import named_query

    text = named_query(name).text
    assert _rows(solutions(backend.query(text))) == _rows(solutions(reference.query(text)))


def test_the_engine_on_rdflib_gives_the_embedded_answers() -> None:
    """The whole path above the store (compiled knowledge, both status rules, rendering) on rdflib's engine:
    every example patient gets the answer it gets on the embedded store."""
    import json

    from kg.resources import ontology_dir
    from kg.service import TherapyKG

    on_oxigraph, on_rdflib = TherapyKG(embedded_store()), TherapyKG(embedded_store(backend="rdflib"))
    patients = sorted((ontology_dir() / "examples" / "patients").glob("*.json"))
    assert patients
    for path in patients:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert on_rdflib.evaluate_document(document) == on_oxigraph.evaluate_document(document), path.name
