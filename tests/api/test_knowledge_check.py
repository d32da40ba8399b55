"""A remote store without a whole, expected release is never answered as "nothing applies" (issue 14 item 3).

Every build publishes its fingerprint (triple count, digest) on the release header; the service reads the
fingerprint of what the store holds and compares, and for its own release also compiles the statements and
compares them one by one. A missing, partial, altered or other-version graph makes /health and every
knowledge-bearing route 503, naming what is wrong. The server tests run real Oxigraph servers, loaded with
`therapy-kg load`, changed under a running service and stopped and started again.
"""

from __future__ import annotations

from dataclasses import replace

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import load_state, recheck
from kg.cli import main as cli_main
from kg.knowledge_check import knowledge_problem
from kg.ontology.digest import DIGEST, TRIPLE_COUNT, fingerprint
from kg.service import TherapyKG
from kg.store.fingerprint import StoredRelease, release_problem, stored_release
from kg.store.graph_store import load_release
from kg.store.release import embedded_store, release_ntriples
from tests.oxigraph_server import free_port, oxigraph_process, oxigraph_server, release_nquads

OWL_VERSION_INFO = ox.NamedNode("http://www.w3.org/2002/07/owl#versionInfo")


@pytest.fixture(scope="module")
def knowledge(store):
    return TherapyKG(store).knowledge


@pytest.fixture(scope="module")
def whole(store) -> StoredRelease:
    return stored_release(store)


def test_the_committed_release_publishes_its_own_fingerprint() -> None:
    stored = stored_release(embedded_store())
    assert stored.published == stored.found
    assert release_problem(stored, stored.version) is None


def test_each_way_a_copy_can_be_wrong_is_named(whole: StoredRelease) -> None:
    count, digest = whole.found
    cases = {
        "holds no triple of therapy-kg": replace(whole, found=(0, digest)),
        "no release header": replace(whole, version="", published=None),
        "without the fingerprint every build publishes": replace(whole, published=None),
        f"holds {count - 3} of the {count} triples of release {whole.version}: a partial load": replace(
            whole, found=(count - 3, "sha256:other")
        ),
        f"holds an altered copy of release {whole.version}": replace(whole, found=(count, "sha256:other")),
    }
    for expected, stored in cases.items():
        assert expected in (release_problem(stored, whole.version) or ""), expected


def test_another_version_is_refused_unless_any_is_accepted(whole: StoredRelease) -> None:
    other = replace(whole, version="0.0.9")
    assert "holds therapy-kg release 0.0.9; this service answers with release 0.1.0" in (
        release_problem(other, "0.1.0") or ""
    )
    assert release_problem(other, None) is None


def test_a_missing_or_altered_statement_is_named(knowledge) -> None:
    assert knowledge_problem(knowledge, knowledge) is None
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


def _altered(ntriples: bytes, statement: str) -> bytes:
    """The release with one claim text of `statement` changed, its published fingerprint kept."""
    claim = ox.NamedNode("https://w3id.org/therapy-kg/claimText")
    triples = [q.triple for q in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)]
    changed = [
        ox.Triple(t.subject, t.predicate, ox.Literal(t.object.value + " (edited)"))
        if t.subject == ox.NamedNode(statement) and t.predicate == claim
        else t
        for t in triples
    ]
    return ox.serialize(changed, format=ox.RdfFormat.N_TRIPLES)


def release_of_version(ntriples: bytes, version: str) -> bytes:
    """The release renamed to `version`, with the fingerprint a build of it would publish."""
    triples = [q.triple for q in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)]
    renamed = [
        ox.Triple(t.subject, t.predicate, ox.Literal(version)) if t.predicate == OWL_VERSION_INFO else t
        for t in triples
        if t.predicate not in (TRIPLE_COUNT, DIGEST)
    ]
    header = next(t.subject for t in renamed if t.predicate == OWL_VERSION_INFO)
    count, digest = fingerprint(renamed)
    renamed += [
        ox.Triple(header, TRIPLE_COUNT, ox.Literal(str(count), datatype=ox.NamedNode(XSD_INTEGER))),
        ox.Triple(header, DIGEST, ox.Literal(digest)),
    ]
    return ox.serialize(renamed, format=ox.RdfFormat.N_TRIPLES)


XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def _answers(client: TestClient) -> dict:
    return {
        "/health": client.get("/health"),
        "/evaluate": client.post("/evaluate", json={"conditions": ["tkg:GeneralizedSpasticity"]}),
        "/conditions": client.get("/conditions"),
        "/therapy-lines": client.get("/therapy-lines?condition=tkg:Spasticity"),
    }


@pytest.mark.server
@pytest.mark.parametrize(
    ("held", "expected"),
    [
        ("nothing", "holds no triple of therapy-kg"),
        ("the release in the default graph", "holds no triple of therapy-kg"),
        ("part of the release", "a partial load (1 statement(s) of the release are missing"),
        ("an altered copy", "an altered copy of release {version}"),
        ("the release", None),
    ],
)
def test_a_remote_store_without_the_release_answers_503_everywhere_that_rests_on_it(
    build_result, tmp_path, knowledge, held, expected
) -> None:
    ntriples = release_ntriples(build_result)
    first = knowledge.statements[0].iri
    data = {
        "nothing": b"",
        "the release in the default graph": release_nquads(ntriples, ox.DefaultGraph()),
        "part of the release": release_nquads(_without(ntriples, first)),
        "an altered copy": release_nquads(_altered(ntriples, first)),
        "the release": release_nquads(ntriples),
    }[held]
    with oxigraph_server(data, tmp_path) as url:
        settings = Settings(sparql_endpoint=url, public_url="http://testserver")
        with TestClient(create_app(settings, state=load_state(settings))) as client:
            answers = _answers(client)
    if expected is None:
        assert {route: r.status_code for route, r in answers.items()} == dict.fromkeys(answers, 200)
        return
    for route, response in answers.items():
        assert response.status_code == 503, (route, response.text)
        assert response.headers["retry-after"]
        problem = response.json()
        assert problem["code"] == "store.knowledge-unavailable"
        assert expected.format(version=build_result.version) in problem["detail"], (route, problem["detail"])


@pytest.mark.server
def test_a_release_changed_on_the_server_is_recompiled_or_refused_and_an_outage_recovers(
    build_result, tmp_path
) -> None:
    ntriples = release_ntriples(build_result)
    port = free_port()
    with oxigraph_process(b"", tmp_path, writable=True, port=port) as (url, _):
        assert cli_main(["load", "--sparql-endpoint", url]) == 0  # the Graph Store Protocol, /store found by name
        follow = Settings(sparql_endpoint=url, public_url="http://testserver", knowledge_version="any")
        pinned = Settings(sparql_endpoint=url, public_url="http://testserver")
        following, pinning = load_state(follow), load_state(pinned)
        assert following.knowledge_problem is None and pinning.knowledge_problem is None

        load_release(url, release_of_version(ntriples, "0.2.0"))
        recheck(following), recheck(pinning)
        with TestClient(create_app(follow, state=following)) as client:
            health = client.get("/health").json()
            assert health["knowledge_version"] == "0.2.0"
            assert f"recompiled from release 0.2.0 (was {build_result.version})" in health["knowledge_events"][0]
            assert client.post("/evaluate", json={"conditions": ["tkg:Spasticity"]}).json()["knowledge_version"] == (
                "0.2.0"
            )
        with TestClient(create_app(pinned, state=pinning)) as client:
            refused = client.get("/health")
            assert refused.status_code == 503
            assert (
                f"holds therapy-kg release 0.2.0; this service answers with release {build_result.version}"
                in refused.json()["detail"]
            )
        load_release(url, ntriples)
        recheck(pinning)
        assert pinning.knowledge_problem is None  # its own release is back
    recheck(pinning)  # the server is down
    with TestClient(create_app(pinned, state=pinning)) as client:
        down = client.get("/health")
        assert down.status_code == 503 and down.json()["code"] == "store.unavailable"
        assert down.headers["retry-after"]
        sparql = client.get("/sparql", params={"query": "ASK {}"})  # runs on the server itself
        assert sparql.status_code == 503 and sparql.json()["code"] == "store.unavailable", sparql.text
        assert sparql.headers["retry-after"]
        # the release last found whole still answers, from its in-process copy
        assert client.get("/conditions").status_code == 200
        assert client.post("/evaluate", json={"conditions": ["tkg:Spasticity"]}).status_code == 200
    with oxigraph_process(b"", tmp_path, writable=True, port=port):  # back, on its own data
        recheck(pinning)
        with TestClient(create_app(pinned, state=pinning)) as client:
            assert client.get("/health").status_code == 200
            assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200
