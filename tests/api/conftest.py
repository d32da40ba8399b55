"""API fixtures: one app per store backend (embedded Oxigraph, a real Oxigraph server over HTTP)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import AppState
from kg.ontology.build import BuildResult
from kg.service import TherapyKG
from kg.store import OxigraphStore, RemoteSparqlStore
from kg.store.release import release_ntriples
from tests.oxigraph_server import oxigraph_server, release_nquads


@pytest.fixture(scope="session")
def remote_endpoint(build_result: BuildResult, tmp_path_factory):
    with oxigraph_server(release_nquads(release_ntriples(build_result)), tmp_path_factory.mktemp("oxigraph")) as url:
        yield url


@pytest.fixture(scope="session", params=["embedded", pytest.param("oxigraph-server", marks=pytest.mark.server)])
def backend(request, store: OxigraphStore):
    """The store every API test runs against, once per backend."""
    if request.param == "embedded":
        return store
    return RemoteSparqlStore(request.getfixturevalue("remote_endpoint"))


@pytest.fixture(scope="session")
def app_state(backend) -> AppState:
    # the TestClient's Host is `testserver`: the public URL names it, so links point back at the test app
    settings = Settings(sparql_endpoint=getattr(backend, "endpoint", None), public_url="http://testserver")
    return AppState(settings, backend, TherapyKG(backend))


@pytest.fixture(scope="session")
def client(app_state: AppState):
    with TestClient(create_app(app_state.settings, state=app_state)) as test_client:
        yield test_client
