"""Fixtures of the /sparql tests: a tiny dataset, the store serving it, and a minimal app around it.

Every test takes its store from `sparql_store`, which runs them twice: on the embedded store and on
a real Oxigraph server (the `oxigraph` package) reached through `RemoteSparqlStore`.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.middleware import BodySizeLimitMiddleware
from api.settings import Settings
from api.sparql import install_sparql
from kg.store import KNOWLEDGE_GRAPH, OxigraphStore, RemoteSparqlStore, Store
from tests.oxigraph_server import _free_port, oxigraph_binary

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


@contextmanager
def dataset_server(nquads: bytes, workdir: Path) -> Iterator[str]:
    """A read-only Oxigraph server holding `nquads`; yields its query URL.

    Its own 5 s timeout ends the queries our runner abandoned (a dropped connection does not).
    """
    binary = oxigraph_binary()
    if binary is None:
        pytest.skip("the oxigraph server is not installed (pip install oxigraph)")
    (workdir / "dataset.nq").write_bytes(nquads)
    location = str(workdir / "db")
    subprocess.run([binary, "load", "--location", location, "--file", str(workdir / "dataset.nq")],
                   check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen([binary, "serve-read-only", "--location", location, "--bind", f"127.0.0.1:{port}",
                                "--timeout-s", "5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.monotonic() + 30
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the oxigraph server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, params={"query": "ASK {}"}, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session", params=["embedded", pytest.param("oxigraph-server", marks=pytest.mark.server)])
def sparql_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The store behind /sparql: the embedded one, then a real Oxigraph server over HTTP."""
    if request.param == "embedded":
        store = OxigraphStore()
        store.store.load(sparql_dataset_nquads(), format=ox.RdfFormat.N_QUADS)
        yield store
        return
    with dataset_server(sparql_dataset_nquads(), tmp_path_factory.mktemp("sparql-oxigraph")) as url:
        remote = RemoteSparqlStore(url)
        yield remote
        remote.client.close()


def build_app(store: Store, settings: Settings, workers: int | None = None) -> FastAPI:
    """The app the lead's `create_app` builds, reduced to /sparql and a trivial /health."""
    app = FastAPI()
    app.state.store = store
    app.state.settings = settings
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
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
