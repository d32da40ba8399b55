"""Hostile JSON bodies get a 4xx naming the limit, never a 500 (issue 15, item 1): nesting 100,000 deep
raised RecursionError in the JSON parser on /evaluate and the CDS services. Documents nested up to
the limit still evaluate, with the same answers as without the nesting."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.body import JsonLimits, decode_json, deeper_than
from api.errors import status_of
from api.settings import Settings
from kg.errors import BodyTooLargeError, MalformedBodyError

DATA = Path(__file__).parents[1] / "data"
BUNDLE = json.loads((DATA / "fhir" / "ms-spasticity.json").read_text())
CDS_REQUEST = {
    k: v
    for k, v in json.loads((DATA / "cds" / "patient-view-ms-spasticity.json").read_text()).items()
    if k != "description"
}
LIMIT = Settings().max_json_depth
DEEP = 100_000
ROUTES = [
    "/evaluate",
    "/evaluate?engine=owl",
    "/cds-services/therapy-kg-patient-view",
    "/cds-services/therapy-kg-order-select",
]
HOSTILE = {
    "arrays": b"[" * DEEP + b"]" * DEEP,
    "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "mixed": b'[{"a":' * (DEEP // 2) + b"[]" + b"}]" * (DEEP // 2),
    "arrays never closed": b"[" * DEEP,
    "inside a valid document": b'{"resourceType": "Bundle", "type": "collection", "entry": ['
    + b"[" * DEEP
    + b"]" * DEEP
    + b"]}",
}


def depth(value: object) -> int:
    """Levels of arrays and objects (iterative: the documents here are deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def with_nested_extension(document: dict, resource: dict, levels: int) -> dict:
    """`document` with `resource` (a FHIR resource inside it) given an extension nested to `levels` in all.

    Extensions inside extensions are valid FHIR that the engines ignore; each adds two levels (the
    object and its `extension` array), and the innermost value none or one, to reach the exact depth."""
    url = "http://example.org/fhir/StructureDefinition/note"
    for wraps in range(levels):
        for inner in ({"valueString": "x"}, {"valueCodeableConcept": {"text": "x"}}):
            ext: dict = {"url": url, **inner}
            for _ in range(wraps):
                ext = {"url": url, "extension": [ext]}
            resource["extension"] = [ext]
            if depth(document) == levels:
                return document
    raise AssertionError(f"cannot nest the document to exactly {levels} levels")


def _post(client: TestClient, route: str, body: bytes):
    return client.post(route, content=body, headers={"Content-Type": "application/json"})


def _refused_for_depth(response, limit: int = LIMIT) -> None:
    assert response.status_code in (413, 422), response.text
    detail = response.json()["detail"]
    assert "max_json_depth" in detail and str(limit) in detail, detail
    assert response.json()["field"] == "body"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_json_nested_100000_deep_is_4xx_naming_the_limit(client, route, kind) -> None:
    _refused_for_depth(_post(client, route, HOSTILE[kind]))


def _bundle_at(levels: int) -> dict:
    bundle = copy.deepcopy(BUNDLE)
    return with_nested_extension(bundle, bundle["entry"][1]["resource"], levels)


def test_a_bundle_nested_up_to_the_limit_evaluates_as_without_the_nesting(client) -> None:
    plain = client.post("/evaluate", json=BUNDLE)
    deep = client.post("/evaluate", json=_bundle_at(LIMIT))
    assert plain.status_code == deep.status_code == 200, deep.text
    assert deep.json()["options"] == plain.json()["options"] and plain.json()["options"]


def test_one_level_beyond_the_limit_is_refused(client) -> None:
    _refused_for_depth(client.post("/evaluate", json=_bundle_at(LIMIT + 1)))


def _cds_at(levels: int) -> dict:
    request = copy.deepcopy(CDS_REQUEST)
    condition = next(e["resource"] for e in request["prefetch"]["conditions"]["entry"])
    return with_nested_extension(request, condition, levels)


def test_a_cds_call_nested_up_to_the_limit_gets_the_same_cards(client) -> None:
    route = "/cds-services/therapy-kg-patient-view"
    plain, deep = client.post(route, json=CDS_REQUEST), client.post(route, json=_cds_at(LIMIT))
    assert plain.status_code == deep.status_code == 200, deep.text
    assert [c["summary"] for c in deep.json()["cards"]] == [c["summary"] for c in plain.json()["cards"]]
    assert plain.json()["cards"]
    _refused_for_depth(client.post(route, json=_cds_at(LIMIT + 1)))


def test_the_depth_limit_is_a_setting(app_state) -> None:
    """A patient document of three levels against a limit of two: refused, naming the configured limit."""
    settings = Settings(public_url="http://testserver", max_json_depth=2)
    patient = {"conditions": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G35"}]}
    with TestClient(create_app(settings, state=app_state)) as small:
        _refused_for_depth(small.post("/evaluate", json=patient), limit=2)
        assert small.post("/evaluate", json={"conditions": ["tkg:MultipleSclerosis"]}).status_code == 200


@pytest.mark.parametrize("route", ["/evaluate", "/cds-services/therapy-kg-patient-view"])
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2", b'{"age": NaN}', b'"\xff"'])
def test_malformed_json_is_400_saying_so_on_every_route(client, route, body) -> None:
    response = _post(client, route, body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert "not valid JSON" in problem["detail"] and problem["field"] == "body" and problem["code"] == "input.body"


# ------------------------------------------------------------------ api.body on its own
LIMITS = JsonLimits(max_bytes=1_000, max_depth=4)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": ["[[[[[[[[", {"b": '}}}}\\"{{{{'}], "c": '"]]]]'}).encode()
    assert decode_json(text, LIMITS) == json.loads(text)
    assert not deeper_than(text, 3) and deeper_than(text, 2)


@pytest.mark.parametrize("levels", range(1, 9))
def test_the_depth_counted_is_the_nesting_depth(levels) -> None:
    value: object = 1
    for i in range(levels):
        value = [value, 2] if i % 2 else {"k": value, "[": "]"}
    text = json.dumps(value).encode()
    assert deeper_than(text, levels - 1) and not deeper_than(text, levels)


def test_a_body_over_the_size_limit_is_413_naming_it() -> None:
    with pytest.raises(BodyTooLargeError) as refused:
        decode_json(b" " * 1_001, LIMITS)
    assert status_of(refused.value.code) == 413 and "max_body_bytes" in str(refused.value)


def test_not_json_is_a_syntax_error_with_its_place() -> None:
    with pytest.raises(MalformedBodyError, match="line 1, column 6"):
        decode_json(b'{"a":', LIMITS)
