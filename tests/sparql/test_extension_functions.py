"""Only SPARQL 1.1's own functions, and the operator's allow-list, reach a store (issue 22 item 6).

In remote mode the guard forwarded any function IRI, and a store such as Virtuoso acts on its own
(`bif:` runs full-text search and more, `sql:` calls stored procedures); its predefined prefixes make
them reachable without a PREFIX line. Each refusal names what it refused, on the embedded store and
on a real Oxigraph server behind `--sparql-endpoint` alike.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from tests.sparql.conftest import build_app

EX = "PREFIX ex: <http://example.org/fn#> "
REFUSED = {
    "an undeclared prefix (a store's predefined bif:)": (
        'SELECT * WHERE { ?s ?p ?o FILTER(bif:contains(?o, "x")) }',
        "the prefix 'bif' is not declared",
    ),
    "an undeclared prefix as a predicate": ('SELECT * WHERE { ?o bif:contains "x" }', "the prefix 'bif' is not"),
    "a prefix in bif:": ('PREFIX bif: <bif:> SELECT * WHERE { ?o bif:contains "x" }', "names a store's built-in"),
    "an IRI in sql:": ("SELECT * WHERE { ?s <sql:procedure> ?o }", "names a store's built-in"),
    "a BASE in bif:": ('BASE <bif:> SELECT * WHERE { ?s <contains> "x" }', "names a store's built-in"),
    "an extension function by prefixed name": (
        EX + "SELECT * WHERE { ?s ?p ?o FILTER(ex:f(?o)) }",
        "the function <http://example.org/fn#f> is neither",
    ),
    "an extension function by IRI": (
        'SELECT * WHERE { ?s ?p ?o FILTER(<http://www.openlinksw.com/schemas/bif#contains>(?o, "x")) }',
        "the function <http://www.openlinksw.com/schemas/bif#contains> is neither",
    ),
    "an extension aggregate": (
        "SELECT (<http://example.org/fn#agg>(?o) AS ?a) WHERE { ?s ?p ?o }",
        "the function <http://example.org/fn#agg> is neither",
    ),
    "nested in a subquery": (
        EX + "SELECT * WHERE { { SELECT (ex:f(?o) AS ?x) WHERE { ?s ?p ?o } } }",
        "the function <http://example.org/fn#f> is neither",
    ),
}
ANSWERED = {
    "an XPath constructor (SPARQL 1.1 §17.5)": (
        'PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT (xsd:integer("3") AS ?n) {}'
    ),
    "built-in functions": 'SELECT (STRLEN("abc") AS ?n) (CONCAT("a", "b") AS ?c) {}',
    "a string that looks like a function": 'SELECT ("bif:contains(?o)" AS ?s) {}',
}


@pytest.mark.parametrize("case", REFUSED)
def test_extension_functions_and_store_built_ins_are_400(client: TestClient, case: str) -> None:
    query, message = REFUSED[case]
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("case", ANSWERED)
def test_sparql_built_ins_are_answered(client: TestClient, case: str) -> None:
    response = client.get("/sparql", params={"query": ANSWERED[case]}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text


def test_an_allowed_extension_function_passes_the_guard(sparql_store) -> None:
    """The allow-list lets a named function through to the store (Oxigraph does not know it, and fails: 502)."""
    settings = Settings(sparql_extension_functions="http://example.org/fn#f")
    with TestClient(build_app(sparql_store, settings, workers=1)) as client:
        allowed = client.get("/sparql", params={"query": EX + 'SELECT (ex:f("a") AS ?x) {}'})
        other = client.get("/sparql", params={"query": EX + 'SELECT (ex:g("a") AS ?x) {}'})
    assert allowed.status_code == 502, allowed.text  # the store's error, not the guard's refusal
    assert other.status_code == 400 and "<http://example.org/fn#g> is neither" in other.json()["detail"]
