"""API fixtures: one app per store backend: embedded Oxigraph, a real Oxigraph server, a real Virtuoso server
(full lane). The remote ones are loaded by `therapy-kg load`'s function and served as `serve` serves them
(`load_state`: checked, then answered from the verified replica; /sparql on the server itself)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import AppState, load_state
from kg.ontology.build import BuildResult
from kg.service import TherapyKG
from kg.store import OxigraphStore, RemoteSparqlStore
from kg.store.graph_store import load_release
from kg.store.release import release_ntriples
from tests.oxigraph_server import oxigraph_server, release_nquads
from tests.virtuoso_server import ADMIN, MISSING, virtuoso_binary, virtuoso_server


@pytest.fixture(scope="session")
def remote_endpoint(build_result: BuildResult, tmp_path_factory):
    with oxigraph_server(release_nquads(release_ntriples(build_result)), tmp_path_factory.mktemp("oxigraph")) as url:
        yield url


@pytest.fixture(scope="session")
def virtuoso_endpoint(build_result: BuildResult, tmp_path_factory):
    if virtuoso_binary() is None:
        pytest.skip(MISSING)
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as (url, _):
        user, password = ADMIN
        load_release(url, release_ntriples(build_result), user=user, password=password)
        yield url


BACKENDS = [
    "embedded",
    pytest.param("oxigraph-server", marks=pytest.mark.server),
    pytest.param("virtuoso", marks=[pytest.mark.server, pytest.mark.slow]),
]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, store: OxigraphStore):
    """The store every API test runs against, once per backend."""
    if request.param == "embedded":
        return store
    endpoint = request.getfixturevalue("virtuoso_endpoint" if request.param == "virtuoso" else "remote_endpoint")
    return RemoteSparqlStore(endpoint)


@pytest.fixture(scope="session")
def app_state(backend) -> AppState:
    # the TestClient's Host is `testserver`: the public URL names it, so links point back at the test app
    settings = Settings(sparql_endpoint=getattr(backend, "endpoint", None), public_url="http://testserver")
    if settings.sparql_endpoint is None:
        return AppState(settings, backend, TherapyKG(backend))
    state = load_state(settings)
    assert state.knowledge_problem is None, state.knowledge_problem
    return state


@pytest.fixture(scope="session")
def client(app_state: AppState):
    with TestClient(create_app(app_state.settings, state=app_state)) as test_client:
        yield test_client
