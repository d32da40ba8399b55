"""JSON only as JSON, each key once (issue 22 item 3).

* A body whose Content-Type is not JSON is 415 on every JSON route: a web page may post `text/plain`
  (or no type, or a form) to any origin without a CORS preflight, so any page a clinician opened could
  post to a loopback or intranet deployment (e.g. add override counts to the CDS feedback).
* A key given twice in one object is 422 naming the key and where it is: `{"age": 45, "age": 9}` was read
  as 9, while a gateway or an audit log that keeps the first value saw another patient.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
PATIENT = {"age": 45, "conditions": ["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity"]}
BUNDLE = json.loads((DATA / "fhir" / "ms-spasticity.json").read_text())
CDS = {
    k: v
    for k, v in json.loads((DATA / "cds" / "patient-view-ms-spasticity.json").read_text()).items()
    if k != "description"
}
FEEDBACK = {
    "feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z"}]
}
#: every route that reads a JSON body, with a body it accepts as application/json
ROUTES = {
    "/evaluate": PATIENT,
    "/evaluate?engine=owl": PATIENT,
    "/cds-services/therapy-kg-patient-view": CDS,
    "/cds-services/therapy-kg-order-select": CDS,
    "/cds-services/therapy-kg-patient-view/feedback": FEEDBACK,
}
NOT_JSON = {
    "text/plain": {"Content-Type": "text/plain"},
    "no Content-Type": {},
    "multipart/form-data": {"Content-Type": "multipart/form-data; boundary=x"},
    "application/x-www-form-urlencoded": {"Content-Type": "application/x-www-form-urlencoded"},
}


@pytest.mark.parametrize("kind", NOT_JSON)
@pytest.mark.parametrize("route", ROUTES)
def test_a_body_that_is_not_declared_json_is_415(client, route: str, kind: str) -> None:
    response = client.post(route, content=json.dumps(ROUTES[route]).encode(), headers=NOT_JSON[kind])
    assert response.status_code == 415, response.text
    assert "is not accepted here: send application/json" in response.json()["detail"]


def test_fhir_json_is_json_where_fhir_is_read(client) -> None:
    fhir = {"Content-Type": "application/fhir+json; fhirVersion=4.0"}
    assert client.post("/evaluate", content=json.dumps(BUNDLE), headers=fhir).status_code == 200
    assert (
        client.post("/cds-services/therapy-kg-patient-view", content=json.dumps(CDS), headers=fhir).status_code == 415
    )  # CDS Hooks requests are application/json


def _with_duplicate(text: str, after: str, member: str) -> bytes:
    """`text` with `member` inserted right after the first occurrence of `after`."""
    at = text.index(after) + len(after)
    return (text[:at] + member + text[at:]).encode()


DUPLICATES = {
    "top level": ("/evaluate", _with_duplicate(json.dumps(PATIENT), "{", '"age": 9, '), "'age' in the top level"),
    "in a FHIR resource": (
        "/evaluate",
        _with_duplicate(json.dumps(BUNDLE), '"resourceType": "Patient", ', '"birthDate": "2020-01-01", '),
        "'birthDate' in entry[0].resource",
    ),
    "in a CDS request": (
        "/cds-services/therapy-kg-patient-view",
        _with_duplicate(json.dumps(CDS), "{", '"hook": "order-select", '),
        "'hook' in the top level",
    ),
    "in CDS feedback": (
        "/cds-services/therapy-kg-patient-view/feedback",
        _with_duplicate(json.dumps(FEEDBACK), '"outcome": "accepted", ', '"outcome": "overridden", '),
        "'outcome' in feedback[0]",
    ),
}


@pytest.mark.parametrize("case", DUPLICATES)
def test_a_key_given_twice_is_422_naming_it_and_where(client, case: str) -> None:
    route, body, named = DUPLICATES[case]
    response = client.post(route, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert f"duplicate key {named}" in response.json()["detail"]


def test_strings_that_look_like_keys_are_not_duplicates(client) -> None:
    tricky = {
        **PATIENT,
        "id": '"age": 9, "age":',
        "conditions": [*PATIENT["conditions"], {"system": "http://example.org/x", "code": 'age": 9'}],
    }
    response = client.post("/evaluate", json=tricky)
    assert response.status_code == 200, response.text
    assert response.json()["patient"] == tricky["id"]
