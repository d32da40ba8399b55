"""One error hierarchy (kg.errors), one status table (api.errors), one body shape (RFC 9457 problem+json).

Every error a client can meet is checked here by its shape: the five members, the media type, a `type`
that names an entry of the served catalogue, and a status that comes from the table, whatever route
or middleware answered.
"""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest

import api.errors
import kg.errors
from api.errors import STATUS, catalogue, status_of
from kg.errors import (
    EXIT_CODES,
    InputError,
    KnowledgeError,
    LimitError,
    ReasonerError,
    StoreError,
    TherapyKGError,
    error_classes,
    exit_code,
)

BRANCHES = {"input": InputError, "knowledge": KnowledgeError, "store": StoreError, "reasoner": ReasonerError}
BRANCHES["limit"] = LimitError
MEMBERS = {"type", "title", "status", "detail", "code"}


def test_every_error_class_of_kg_has_a_code_of_its_own_under_its_branch() -> None:
    classes = [c for _, c in inspect.getmembers(kg.errors, inspect.isclass) if issubclass(c, TherapyKGError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), "two classes share a code"
    for cls in classes:
        if cls is TherapyKGError:
            continue
        branch = cls.code.split(".")[0]
        assert issubclass(cls, BRANCHES[branch]), f"{cls.__name__} ({cls.code}) is not under {branch}"
        parent = next(base for base in cls.__mro__[1:] if "code" in vars(base))
        assert cls.code.startswith(parent.code + ".") or parent is TherapyKGError, (cls.code, parent.code)
        assert cls.title and cls.__doc__


def test_the_catalogue_lists_every_code_with_its_status() -> None:
    listed = catalogue()
    assert set(listed) == set(error_classes())
    assert listed["input.patient"]["status"] == 422 and listed["limit.body-size"]["status"] == 413
    assert set(STATUS) <= set(listed), "a status for a code that no error has"


@pytest.mark.parametrize(
    "code, status",
    [("input.query.update", 403), ("input.query", 400), ("limit.timeout", 503), ("store.client-gone", 499)],
)
def test_a_code_takes_its_nearest_listed_parents_status(code, status) -> None:
    assert status_of(code) == status


def test_the_exit_code_is_the_branchs() -> None:
    for branch, cls in BRANCHES.items():
        error = cls("x")
        assert exit_code(error) == EXIT_CODES[branch]
    assert exit_code(TherapyKGError("x")) == 1


def test_only_api_errors_writes_an_error_body() -> None:
    """No module of the API builds its own error JSON: they raise, api.errors renders."""
    root = pathlib.Path(api.errors.__file__).parent
    writer = re.compile(r'(JSONResponse|dumps)\(\s*\{"detail"|HTTPException\(|status_code=[45]\d\d')
    writers = [str(p.relative_to(root)) for p in root.rglob("*.py") if writer.search(p.read_text())]
    assert writers == []


def _is_problem(response, status: int, code: str, public_url: str = "http://testserver") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert MEMBERS <= set(problem) and problem["status"] == status and problem["code"] == code
    assert problem["type"].endswith(f"/errors#{code}")
    return problem


def test_the_catalogue_is_served_and_each_type_points_into_it(client) -> None:
    served = client.get("/errors").json()
    assert served == catalogue()
    problem = _is_problem(client.get("/terms/tkg:NoSuchTerm"), 404, "input.not-found")
    assert problem["type"].split("#")[1] in served


@pytest.mark.parametrize(
    "method, path, kwargs, status, code",
    [
        ("post", "/evaluate", {"content": b"{", "headers": {"content-type": "application/json"}}, 400, "input.body"),
        ("post", "/evaluate", {"json": {"age": "old"}}, 422, "input.patient"),
        ("post", "/evaluate", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415, "input.media-type"),
        (
            "post",
            "/evaluate",
            {"content": b'{"age": 1, "age": 2}', "headers": {"content-type": "application/json"}},
            422,
            "input.body.duplicate-key",
        ),
        ("get", "/no/such/route", {}, 404, "input.not-found"),
        ("get", "/sparql", {"params": {"query": "SELECT * WHERE { SERVICE <x:y> {} }"}}, 400, "input.query"),
        ("get", "/sparql", {"params": {"update": "DROP ALL"}}, 403, "input.query.update"),
        ("get", "/queries/no-such-query", {}, 404, "input.not-found"),
        ("get", "/lookup", {"params": {"system": "urn:x", "code": "1"}}, 422, "input.request"),
        ("post", "/cds-services/no-such-service", {"json": {}}, 404, "input.not-found"),
    ],
)
def test_every_route_answers_errors_as_problem_json(client, method, path, kwargs, status, code) -> None:
    _is_problem(getattr(client, method)(path, **kwargs), status, code)


def test_a_body_refused_before_any_route_is_problem_json_too(client) -> None:
    big = b"[" + b" " * (2 * 1024 * 1024) + b"]"
    response = client.post("/evaluate", content=big, headers={"content-type": "application/json"})
    _is_problem(response, 413, "limit.body-size")
    host = client.get("/health", headers={"host": "evil.example"})
    assert _is_problem(host, 400, "input")["field"] == "Host"


def test_schema_violations_are_listed_without_echoing_the_value(client) -> None:
    secret = "Jane Doe 1970-01-01"
    response = client.post("/evaluate", params={"engine": secret}, json={"age": 40})
    problem = _is_problem(response, 422, "input.request")
    assert problem["errors"] == [{"field": "query.engine", "message": problem["errors"][0]["message"]}]
    assert problem["field"] == "query.engine" and secret not in response.text
