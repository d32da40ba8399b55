"""Fixtures of the /sparql tests: a tiny dataset, the store serving it, and a minimal app around it.

Every test takes its store from `sparql_store`, which runs them twice: on the embedded store and on
a real Oxigraph server (the `oxigraph` package) reached through `RemoteSparqlStore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.middleware import BodySizeLimitMiddleware
from api.settings import Settings
from api.sparql import install_sparql
from kg.store import KNOWLEDGE_GRAPH, OxigraphStore, RemoteSparqlStore, Store
from tests.oxigraph_server import oxigraph_binary, oxigraph_server

FIXTURE = Path(__file__).with_name("fixture.ttl")
#: The graphs of the W3C protocol tests (`ut:graphData`), loaded as named graphs of the store.
W3C_DATA = "http://kasei.us/2009/09/sparql/data/"
W3C_GRAPHS = [f"{W3C_DATA}data{i}.rdf" for i in (1, 2, 3)]
FOAF_DOCUMENT = ox.NamedNode("http://xmlns.com/foaf/0.1/Document")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def sparql_dataset_nquads() -> bytes:
    """fixture.ttl in the default graph and the knowledge graph, plus the W3C test graphs."""
    triples = [q.triple for q in ox.parse(path=FIXTURE, format=ox.RdfFormat.TURTLE)]
    quads = [ox.Quad(*t, ox.DefaultGraph()) for t in triples] + [ox.Quad(*t, KNOWLEDGE_GRAPH) for t in triples]
    quads += [ox.Quad(ox.NamedNode(g), RDF_TYPE, FOAF_DOCUMENT, ox.NamedNode(g)) for g in W3C_GRAPHS]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS)


BACKENDS = ["embedded", pytest.param("oxigraph-server", marks=pytest.mark.server)]


@contextmanager
def dataset_store(kind: str, workdir: Path, nquads: bytes | None = None) -> Iterator[Store]:
    """`nquads` (default: the /sparql tests' dataset) in the embedded store, or in a real Oxigraph server (its own
    process, in `workdir`)."""
    data = sparql_dataset_nquads() if nquads is None else nquads
    if kind == "embedded":
        store = OxigraphStore()
        store.store.load(data, format=ox.RdfFormat.N_QUADS)
        yield store
        return
    if oxigraph_binary() is None:
        pytest.skip("the oxigraph server is not installed (pip install oxigraph)")
    with oxigraph_server(data, workdir, timeout_s=5) as url:
        remote = RemoteSparqlStore(url)
        yield remote
        remote.close()


@pytest.fixture(scope="session", params=BACKENDS)
def sparql_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The store behind /sparql: the embedded one, then a real Oxigraph server over HTTP."""
    with dataset_store(request.param, tmp_path_factory.mktemp("sparql-oxigraph")) as store:
        yield store


@pytest.fixture(params=BACKENDS)
def runaway_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """`sparql_store` for tests that leave a query running: Oxigraph 0.5 cannot stop an aggregate over a huge
    join (oxigraph/oxigraph#1336), so on the remote side each test gets a server of its own, ended with the test,
    instead of keeping the session's server busy for every test after it."""
    with dataset_store(request.param, tmp_path_factory.mktemp("runaway-oxigraph")) as store:
        yield store


def build_app(store: Store, settings: Settings, workers: int | None = None) -> FastAPI:
    """The app the lead's `create_app` builds, reduced to /sparql and a trivial /health."""
    app = FastAPI()
    app.state.store = store
    app.state.settings = settings
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    install_sparql(app, store, settings, workers=workers)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture(scope="module")
def sparql_settings() -> Settings:
    return Settings(query_timeout_s=10.0, max_rows=10_000)


@pytest.fixture(scope="module")
def client(sparql_store: Store, sparql_settings: Settings) -> Iterator[TestClient]:
    with TestClient(build_app(sparql_store, sparql_settings)) as test_client:
        yield test_client
