"""A remote store without the expected release is never answered as "nothing applies" (issue 14 item 3).

The knowledge compiled from the store is compared with the committed release's; a missing, partial, altered
or other-version graph makes /health and every knowledge-bearing route 503, with a message naming what is
wrong. The server tests run real Oxigraph servers holding nothing, part of the release, and all of it.
"""

from __future__ import annotations

from dataclasses import replace

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import load_state
from kg.knowledge_check import knowledge_problem
from kg.service import TherapyKG
from kg.store.release import release_ntriples
from tests.oxigraph_server import oxigraph_server, release_nquads


@pytest.fixture(scope="module")
def knowledge(store):
    return TherapyKG(store).knowledge


def test_the_release_matches_itself(knowledge) -> None:
    assert knowledge_problem(knowledge, knowledge) is None


def test_an_empty_store_is_named(knowledge) -> None:
    empty = replace(knowledge, statements=())
    assert "holds no statement of therapy-kg" in (knowledge_problem(knowledge, empty) or "")


def test_another_version_is_named(knowledge) -> None:
    other = replace(knowledge, version="0.0.9")
    assert "release 0.0.9" in (knowledge_problem(knowledge, other) or "")


def test_a_missing_or_altered_statement_is_named(knowledge) -> None:
    first, *rest = knowledge.statements
    partial = replace(knowledge, statements=tuple(rest))
    assert f"1 statement(s) of the release are missing ({first.iri.rsplit('/', 1)[-1]})" in (
        knowledge_problem(knowledge, partial) or ""
    )
    altered = replace(knowledge, statements=(replace(first, claim=first.claim + "!"), *rest))
    assert "1 statement(s) differ from the release" in (knowledge_problem(knowledge, altered) or "")


def _without(ntriples: bytes, statement: str) -> bytes:
    """The release without the triples whose subject is `statement` (a load cut short)."""
    kept = [t for t in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES) if t.subject != ox.NamedNode(statement)]
    return ox.serialize(kept, format=ox.RdfFormat.N_TRIPLES)


@pytest.mark.server
@pytest.mark.parametrize("held", ["nothing", "part of the release", "the release"])
def test_a_remote_store_without_the_release_answers_503_everywhere_that_rests_on_it(
    build_result, tmp_path, knowledge, held
) -> None:
    ntriples = release_ntriples(build_result)
    data = {
        "nothing": b"",
        "part of the release": release_nquads(_without(ntriples, knowledge.statements[0].iri)),
        "the release": release_nquads(ntriples),
    }[held]
    with oxigraph_server(data, tmp_path) as url:
        settings = Settings(sparql_endpoint=url, public_url="http://testserver")
        state = load_state(settings)
        with TestClient(create_app(settings, state=state)) as client:
            answers = {
                "/health": client.get("/health"),
                "/evaluate": client.post("/evaluate", json={"conditions": ["tkg:GeneralizedSpasticity"]}),
                "/conditions": client.get("/conditions"),
                "/therapy-lines": client.get("/therapy-lines?condition=tkg:Spasticity"),
            }
    if held == "the release":
        assert {route: r.status_code for route, r in answers.items()} == dict.fromkeys(answers, 200)
        return
    for route, response in answers.items():
        assert response.status_code == 503, (route, response.text)
        assert response.headers["retry-after"]
        problem = response.json()
        assert problem["code"] == "store.knowledge-unavailable"
        expected = "holds no statement" if held == "nothing" else "1 statement(s) of the release are missing"
        assert expected in problem["detail"], (route, problem["detail"])
