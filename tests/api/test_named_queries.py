"""GET /queries and GET /queries/{name}: every .rq file in queries/, run with bound parameters on every backend."""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers
from api.routers import named_queries
from api.routers.named_queries import SPARQL_JSON, TRUNCATED_HEADER
from api.settings import Settings
from kg.resources import queries_dir
from kg.store.queries import load_queries
from tests.api.test_lookups import INJECTION

QUERY_FILES = sorted(p.relative_to(queries_dir()).with_suffix("").as_posix() for p in queries_dir().rglob("*.rq"))
PARAMETERLESS = [name for name, q in sorted(load_queries().items()) if not q.parameters]
VIOLATIONS = [name for name in QUERY_FILES if name.startswith("qc/") and name.endswith("-violation")]


def _results(response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SPARQL_JSON.media_type)
    ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)  # well-formed SPARQL JSON
    return response.json()


def _column(body: dict, variable: str) -> list[str]:
    return [b[variable]["value"] for b in body["results"]["bindings"] if variable in b]


# ------------------------------------------------------------------------------ listing
def test_every_query_file_is_listed_with_its_text(client) -> None:
    response = client.get("/queries")
    assert response.status_code == 200
    body = response.json()
    assert [q["name"] for q in body] == QUERY_FILES
    for query in body:
        assert query["summary"], query["name"]
        assert query["method"] == "GET"
        assert query["form"] == ("CONSTRUCT" if query["name"] == "api/describe" else query["form"])
        assert query["form"] in {"SELECT", "ASK", "CONSTRUCT"}
        assert query["query"] == (queries_dir() / f"{query['name']}.rq").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "form", "parameters"),
    [
        (
            "is-first-line",
            "ASK",
            [("intervention", "iri", "?_intervention_iri"), ("condition", "iri", "?_condition_iri")],
        ),
        ("therapy-ladder", "SELECT", [("condition", "iri", "?_condition_iri")]),
        (
            "dosing-for-population",
            "SELECT",
            [("intervention", "iri", "?_intervention_iri"), ("population", "iri", "?_population_iri")],
        ),
        ("api/therapy-lines", "SELECT", [("condition", "iri", "?_condition_iri")]),
        ("api/code", "SELECT", [("code", "iri", "?_code_iri")]),
        ("api/sources", "SELECT", []),
        ("qc/missing-label-violation", "SELECT", []),
        ("engine/statements", "SELECT", []),
    ],
)
def test_listing_describes_parameters(client, name, form, parameters) -> None:
    listed = {q["name"]: q for q in client.get("/queries").json()}[name]
    assert listed["form"] == form
    assert sorted((p["name"], p["type"], p["variable"]) for p in listed["parameters"]) == sorted(parameters)


# ------------------------------------------------------------------------------ running
@pytest.mark.parametrize(
    ("intervention", "condition", "expected"),
    [
        ("tkg:Stretching", "tkg:FocalSpasticity", True),
        ("tkg:NonPharmacologicalIntervention", "tkg:GeneralizedSpasticity", True),
        ("tkg:Baclofen", "tkg:MuscleSpasm", False),
        ("tkg:OralBaclofen", "tkg:GeneralizedSpasticity", False),
        ("https://w3id.org/therapy-kg/Splinting", "https://w3id.org/therapy-kg/Spasticity", True),
    ],
)
def test_ask_query_answers_a_boolean(client, intervention, condition, expected) -> None:
    params = {"intervention": intervention, "condition": condition}
    body = _results(client.get("/queries/is-first-line", params=params))
    assert body == {"head": {}, "boolean": expected}


def test_select_query_binds_its_parameter(client) -> None:
    body = _results(client.get("/queries/therapy-ladder", params={"condition": "tkg:GeneralizedSpasticity"}))
    assert set(_column(body, "_condition_iri")) == {"https://w3id.org/therapy-kg/GeneralizedSpasticity"}
    bindings = body["results"]["bindings"]
    ranks = {(int(b["rank"]["value"]), b["intervention"]["value"].rsplit("/", 1)[-1]) for b in bindings}
    assert {(3, "IntrathecalBaclofen"), (2, "Tizanidine"), (1, "Stretching")} <= ranks
    assert body["results"]["bindings"][0]["rank"] == {
        "type": "literal",
        "value": "1",
        "datatype": "http://www.w3.org/2001/XMLSchema#integer",
    }
    assert body["results"]["bindings"][0]["lineLabel"]["xml:lang"] == "en"


@pytest.mark.parametrize(
    "condition",
    ["tkg:GeneralizedSpasticity", "tkg:FocalSpasticity", "tkg:Spasticity", "tkg:RheumaticMuscleSpasm", "tkg:Stroke"],
)
def test_the_ladder_route_agrees_with_the_competency_query(client, condition) -> None:
    body = _results(client.get("/queries/therapy-ladder", params={"condition": condition}))
    expected = {(int(b["rank"]["value"]), b["intervention"]["value"]) for b in body["results"]["bindings"]}
    ladder = client.get("/therapy-lines", params={"condition": condition}).json()
    assert {(line["rank"], o["iri"]) for line in ladder["lines"] for o in line["options"]} == expected


@pytest.mark.parametrize("name", VIOLATIONS)
def test_quality_check_queries_find_no_violation_over_http(client, name) -> None:
    body = _results(client.get(f"/queries/{name}"))
    assert body["results"]["bindings"] == [], body["results"]["bindings"][:3]


@pytest.mark.parametrize("name", PARAMETERLESS)
def test_every_parameterless_query_runs(client, name) -> None:
    response = client.get(f"/queries/{name}")
    body = _results(response)
    assert "vars" in body["head"] or "boolean" in body


@pytest.mark.parametrize(
    ("name", "params", "variable", "expected"),
    [
        ("api/term", {"term": "tkg:Spasticity"}, "other", "https://w3id.org/therapy-kg/FocalSpasticity"),
        ("api/terms", {"category": "tkg:Intervention"}, "term", "https://w3id.org/therapy-kg/Diazepam"),
        ("api/code", {"code": "ICD10CM:G35"}, "term", "https://w3id.org/therapy-kg/MultipleSclerosis"),
        ("api/source", {"source": "tkg:Source2"}, "other", "https://w3id.org/therapy-kg/QuoteOralLabelLimitationOfUse"),
        (
            "api/term-statements",
            {"term": "tkg:RheumaticMuscleSpasm"},
            "statement",
            "https://w3id.org/therapy-kg/OralBaclofenNotIndicatedForRheumaticMuscleSpasm",
        ),
        ("term", {"term": "tkg:Baclofen"}, "code", "http://purl.bioontology.org/ontology/RXNORM/1292"),
    ],
)
def test_api_queries_run_by_name(client, name, params, variable, expected) -> None:
    assert expected in _column(_results(client.get(f"/queries/{name}", params=params)), variable)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("therapy-ladder", {}, "condition"),
        ("is-first-line", {"intervention": "tkg:Stretching"}, "condition"),
        ("therapy-ladder", {"condition": "nope:Spasticity"}, "condition"),
        ("therapy-ladder", {"condition": INJECTION}, "condition"),
        ("therapy-ladder", {"condition": "tkg:Spasticity", "conditon": "tkg:Spasticity"}, "conditon"),
        ("qc/missing-label-violation", {"limit": "1"}, "limit"),
    ],
)
def test_missing_unknown_or_malformed_parameters_are_422(client, name, params, field) -> None:
    response = client.get(f"/queries/{name}", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_repeated_parameter_is_422(client) -> None:
    response = client.get("/queries/therapy-ladder?condition=tkg:Spasticity&condition=tkg:MuscleSpasm")
    assert response.status_code == 422
    assert response.json()["field"] == "condition"


@pytest.mark.parametrize(
    "name",
    [
        "no-such-query",
        "qc/no-such-violation",
        "engine",
        "therapy-ladder.rq",
        quote("../pyproject", safe=""),
        quote("/etc/passwd", safe=""),
    ],
)
def test_unknown_query_is_404(client, name) -> None:
    response = client.get(f"/queries/{name}")
    assert response.status_code == 404, response.text
    assert "no named query" in response.json()["detail"]


def test_injection_in_a_parameter_changes_nothing(client, app_state) -> None:
    before = app_state.store.triple_count()
    assert client.get("/queries/therapy-ladder", params={"condition": INJECTION}).status_code == 422
    # the same characters percent-encoded make a valid IRI: bound as a term, it matches nothing
    harmless = "https://w3id.org/therapy-kg/X%3E%20%7D%20%3B%20DROP%20ALL%20%23"
    body = _results(client.get("/queries/therapy-ladder", params={"condition": harmless}))
    assert body["results"]["bindings"] == []

    def first_line(intervention: str) -> bool:
        params = {"intervention": intervention, "condition": "tkg:Spasticity"}
        return _results(client.get("/queries/is-first-line", params=params))["boolean"]

    assert first_line(harmless) is False
    assert app_state.store.triple_count() == before
    assert first_line("tkg:Stretching") is True


# ------------------------------------------------------------------------------ row cap
@pytest.fixture(scope="module")
def capped_client(app_state):
    """The query router alone (no SPARQL workers to start) over the same store, with a row cap of 3."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(named_queries.router)
    app.state.settings = Settings(max_rows=3, sparql_endpoint=app_state.settings.sparql_endpoint)
    app.state.store, app.state.service = app_state.store, app_state.service
    with TestClient(app) as local:
        yield local


def test_results_over_the_row_cap_are_truncated_and_flagged(capped_client) -> None:
    response = capped_client.get("/queries/statements-with-sources")
    body = _results(response)
    assert len(body["results"]["bindings"]) == 3
    assert response.headers[TRUNCATED_HEADER] == "true"
    small = capped_client.get("/queries/api/code", params={"code": "ICD10CM:G35"})
    assert len(_results(small)["results"]["bindings"]) == 1
    assert small.headers[TRUNCATED_HEADER] == "false"
