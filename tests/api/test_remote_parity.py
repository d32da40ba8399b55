"""Every route gives the embedded answer over a real SPARQL server (issue 14 item 6): lookups, the ladders,
named queries, CONSTRUCT/DESCRIBE through /sparql, /evaluate with both engines and CDS Hooks, compared answer
for answer with an app over the embedded store. Runs once per remote backend (Oxigraph server; Virtuoso in the
full lane); on the embedded backend there is nothing to compare.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import AppState
from kg.service import TherapyKG

DATA = Path(__file__).parents[1] / "data"
PATIENTS = sorted((DATA.parent / "vignettes").glob("*.json"))[:12]
CDS_CALLS = sorted((DATA / "cds").glob("*.json"))
SERVICE_OF_HOOK = {"patient-view": "therapy-kg-patient-view", "order-select": "therapy-kg-order-select"}
GRAPH_QUERIES = {  # through /sparql, these run on the remote server itself
    "construct": "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> ; ?p ?o }",
    "describe": "DESCRIBE <https://w3id.org/therapy-kg/OralBaclofen>",
}


@pytest.fixture(scope="module")
def remote(client, backend):
    if getattr(backend, "endpoint", None) is None:
        pytest.skip("the embedded backend is what the others are compared with")
    return client


@pytest.fixture(scope="module")
def embedded(store):
    settings = Settings(public_url="http://testserver")
    with TestClient(create_app(settings, state=AppState(settings, store, TherapyKG(store)))) as test_client:
        yield test_client


def _without_ids(value: object) -> object:
    """A CDS answer without its card and suggestion ids (new UUIDs on every call)."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _unordered(value: object) -> object:
    """SPARQL JSON results as a multiset of rows: a query without ORDER BY has no order to compare (nor blank node
    labels: each store picks its own)."""
    if isinstance(value, dict) and "results" in value:
        rows = [
            {k: {**t, "value": "_"} if t["type"] == "bnode" else t for k, t in row.items()}
            for row in value["results"]["bindings"]
        ]
        return {**value, "results": {"bindings": sorted(json.dumps(r, sort_keys=True) for r in rows)}}
    return value


def _same(remote: TestClient, embedded: TestClient, method: str, path: str, *, ordered: bool = True, **kwargs) -> None:
    theirs, ours = remote.request(method, path, **kwargs), embedded.request(method, path, **kwargs)
    assert (theirs.status_code, theirs.headers["content-type"]) == (ours.status_code, ours.headers["content-type"]), (
        path,
        theirs.text[:500],
    )
    if "json" in ours.headers["content-type"]:
        order = (lambda v: v) if ordered else _unordered
        assert order(_without_ids(theirs.json())) == order(_without_ids(ours.json())), path
    else:  # N-Triples: the same lines, blank node labels aside
        assert sorted(_BLANK.sub("_:", line) for line in theirs.text.splitlines()) == sorted(
            _BLANK.sub("_:", line) for line in ours.text.splitlines()
        ), path


_BLANK = re.compile(r"_:[A-Za-z0-9_.-]+")


def test_every_lookup_and_ladder_is_the_embedded_one(remote, embedded) -> None:
    paths = ["/conditions", "/interventions", "/sources"]
    for listing, detail in (("/conditions", "/conditions/"), ("/interventions", "/interventions/")):
        for term in embedded.get(listing).json():
            paths.append(detail + term["curie"])
            if listing == "/conditions":
                paths.append(f"/therapy-lines?condition={term['curie']}")
                paths += [f"/lookup?system={c['system']}&code={c['code']}" for c in term.get("codes", [])]
    paths += [f"/sources/{source['curie']}" for source in embedded.get("/sources").json()]
    assert len(paths) > 40
    for path in paths:
        _same(remote, embedded, "GET", path)


def test_every_named_query_is_the_embedded_one(remote, embedded) -> None:
    examples = {"condition": "tkg:Spasticity", "intervention": "tkg:OralBaclofen", "term": "tkg:Spasticity"}
    examples |= {"category": "tkg:Condition", "source": "tkg:Source2", "population": "tkg:AdultYoungerThan65"}
    examples |= {"code": "http://snomed.info/id/24700007"}
    for query in embedded.get("/queries").json():
        params = {p["name"]: examples.get(p["name"], "tkg:Spasticity") for p in query["parameters"]}
        ordered = "ORDER BY" in query["query"]
        _same(remote, embedded, "GET", f"/queries/{query['name']}", params=params, ordered=ordered)


def test_construct_through_sparql_is_the_embedded_one(remote, embedded) -> None:
    headers = {"Accept": "application/n-triples"}
    _same(remote, embedded, "GET", "/sparql", params={"query": GRAPH_QUERIES["construct"]}, headers=headers)


def test_describe_through_sparql_holds_the_embedded_description(remote, embedded) -> None:
    """What DESCRIBE returns is the server's choice (SPARQL 1.1 §16.4): Oxigraph gives the resource's own triples,
    Virtuoso adds those that point at it. Each holds at least the embedded description."""
    params, headers = {"query": GRAPH_QUERIES["describe"]}, {"Accept": "application/n-triples"}
    theirs, ours = (c.get("/sparql", params=params, headers=headers) for c in (remote, embedded))
    assert theirs.status_code == ours.status_code == 200
    lines = {_BLANK.sub("_:", line) for line in ours.text.splitlines()}
    assert len(lines) > 5
    assert lines <= {_BLANK.sub("_:", line) for line in theirs.text.splitlines()}


@pytest.mark.parametrize("engine", ["fast", "owl"])
def test_evaluations_are_the_embedded_ones(remote, embedded, engine) -> None:
    for path in PATIENTS:
        patient = json.loads(path.read_text())
        patient = patient.get("patient", patient)
        _same(remote, embedded, "POST", f"/evaluate?engine={engine}", json=patient)


def test_cds_cards_are_the_embedded_ones(remote, embedded) -> None:
    for path in CDS_CALLS:
        body = copy.deepcopy(json.loads(path.read_text()))
        body.pop("description", None)
        _same(remote, embedded, "POST", f"/cds-services/{SERVICE_OF_HOOK[body['hook']]}", json=body)
