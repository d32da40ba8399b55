"""CDS Hooks 2.0 feedback: card uuids derived from the knowledge a card cites, override reasons from
ontology data, and counts per card kind, statement and outcome that hold no patient data.

Each test module builds its own app (its own counts) on the embedded store, on loopback with no
trusted issuers: authentication is off here (it has its own tests in test_cds_auth).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cds.feedback import OVERRIDE_SYSTEM, FeedbackLedger, Issued, override_reasons
from api.cds.models import FeedbackEntry
from api.settings import Settings
from api.state import AppState
from kg.resources import ontology_dir
from kg.service import TherapyKG

DATA = Path(__file__).parents[1] / "data" / "cds"
PATIENT_VIEW, ORDER_SELECT = "therapy-kg-patient-view", "therapy-kg-order-select"
WHEN = "2024-05-01T10:20:30Z"


def _request(name: str) -> dict:
    body = json.loads((DATA / f"{name}.json").read_text())
    body.pop("description")
    return body


@pytest.fixture(scope="module")
def app_client(store):
    settings = Settings(public_url="http://testserver")
    with TestClient(create_app(settings, state=AppState(settings, store, TherapyKG(store)))) as test_client:
        yield test_client


@pytest.fixture()
def client(app_client):
    """The module's app with fresh feedback counts: each test starts from zero."""
    app_client.app.state.cds = dataclasses.replace(app_client.app.state.cds, ledger=FeedbackLedger())
    return app_client


def _cards(client, name: str, service: str, change=None) -> list[dict]:
    body = _request(name)
    if change:
        change(body)
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def _feedback(client, service: str, *entries: dict):
    return client.post(f"/cds-services/{service}/feedback", json={"feedback": list(entries)})


def _counts(client, service: str) -> dict:
    response = client.get(f"/cds-services/{service}/feedback")
    assert response.status_code == 200, response.text
    return response.json()


def _statements(card: dict) -> set[str]:
    """The statement CURIEs a card's detail cites in code spans."""
    return {part for part in card["detail"].split("`") if part.startswith("tkg:") and " " not in part}


# ---------------------------------------------------------------------------------- card identity
def _as_patient(body: dict, patient_id: str) -> None:
    body["hookInstance"] = str(uuid.uuid4())
    body["context"]["patientId"] = patient_id
    body["prefetch"]["patient"]["id"] = patient_id
    for key in ("conditions", "medications", "medicationRequests", "procedures"):
        for entry in (body["prefetch"].get(key) or {}).get("entry", []):
            entry["resource"]["subject"]["reference"] = f"Patient/{patient_id}"
    for entry in body["context"].get("draftOrders", {}).get("entry", []):
        entry["resource"]["subject"]["reference"] = f"Patient/{patient_id}"


def _other_patient(body: dict) -> None:
    _as_patient(body, "someone-else")


def test_a_cards_uuid_depends_on_what_it_cites_not_on_the_patient_or_call(client) -> None:
    first = _cards(client, "order-select-stroke-baclofen", ORDER_SELECT)
    again = _cards(client, "order-select-stroke-baclofen", ORDER_SELECT, change=_other_patient)
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    assert all(uuid.UUID(c["uuid"]).version == 5 for c in first)
    other = _cards(client, "order-select-rheumatic-oral-baclofen", ORDER_SELECT)
    assert not {c["uuid"] for c in first} & {c["uuid"] for c in other}  # other statements, other uuids


def test_two_orders_for_the_same_drug_get_distinct_uuids(client) -> None:
    def twice(body: dict) -> None:
        orders = body["context"]["draftOrders"]["entry"]
        copy_ = copy.deepcopy(orders[0])
        copy_["resource"]["id"] = copy_["resource"]["id"] + "-2"
        orders.append(copy_)
        body["context"]["selections"].append(f"{copy_['resource']['resourceType']}/{copy_['resource']['id']}")

    cards = _cards(client, "order-select-stroke-baclofen", ORDER_SELECT, change=twice)
    assert len(cards) == 2
    ids = [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", [])]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------------- override reasons
def test_override_reasons_come_from_the_ontology_data_file() -> None:
    with (ontology_dir() / "cds-override-reasons.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert rows
    for group, reasons in override_reasons().items():
        expected = [(r["code"], r["display"]) for r in rows if group in r["cards"].split()]
        assert [(r.code, r.display) for r in reasons] == expected
        assert all(r.system == OVERRIDE_SYSTEM for r in reasons)


def test_warning_cards_carry_the_services_override_reasons(client) -> None:
    cards = _cards(client, "order-select-stroke-baclofen", ORDER_SELECT)
    card = next(c for c in cards if c["indicator"] == "warning")
    assert [r["code"] for r in card["overrideReasons"]] == [r.code for r in override_reasons()["excluded"]]
    warnings = [
        c for c in _cards(client, "patient-view-stroke-on-baclofen", PATIENT_VIEW) if c["indicator"] == "warning"
    ]
    assert warnings and all(
        c["overrideReasons"] == [r.model_dump(exclude_none=True) for r in override_reasons()["warning"]]
        for c in warnings
    )


# ---------------------------------------------------------------------------------- counting
def test_accepted_and_overridden_feedback_is_counted_per_statement(client) -> None:
    card = next(c for c in _cards(client, "order-select-stroke-baclofen", ORDER_SELECT) if c.get("suggestions"))
    suggestion = card["suggestions"][0]
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion["uuid"]}],
        "outcomeTimestamp": WHEN,
    }
    reason = card["overrideReasons"][1]
    overridden = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": WHEN,
        "overrideReason": {
            "reason": {"system": reason["system"], "code": reason["code"]},
            "userComment": "Discussed with the patient, Jane Roe, on the ward",
        },
    }
    response = _feedback(client, ORDER_SELECT, accepted, overridden, overridden)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 3, "attributed": 3}

    counts = _counts(client, ORDER_SELECT)
    rows = {(r["statement"], r["outcome"]): r["count"] for r in counts["outcomes"]}
    statements = {r["statement"] for r in counts["outcomes"]}
    assert statements and statements <= _statements(card)
    assert all(rows[(s, "accepted")] == 1 and rows[(s, "overridden")] == 2 for s in statements)
    assert {r["kind"] for r in counts["outcomes"]} == {"order/excluded"}
    assert {r["intervention"] for r in counts["outcomes"]} == {"tkg:OralBaclofen"}
    assert [(r["reason"], r["count"]) for r in counts["overrideReasons"]] == [(reason["code"], 2)]
    (suggested,) = counts["acceptedSuggestions"]
    assert suggested["count"] == 1 and suggested["suggestion"].split()[0] in ("propose", "remove-order")
    assert counts["unattributed"] == {}
    assert "Jane Roe" not in json.dumps(counts)
    assert _counts(client, PATIENT_VIEW)["outcomes"] == []  # counted under the service that issued the card


def test_a_reason_of_the_clients_own_is_counted_as_other(client) -> None:
    card = _cards(client, "order-select-stroke-baclofen", ORDER_SELECT)[0]
    entry = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": WHEN,
        "overrideReason": {"reason": {"system": "https://ehr.example.org/reasons", "code": "x"}},
    }
    assert _feedback(client, ORDER_SELECT, entry).status_code == 200
    assert [r["reason"] for r in _counts(client, ORDER_SELECT)["overrideReasons"]] == ["other"]


def test_feedback_on_an_unknown_card_is_acknowledged_and_counted_unattributed(client) -> None:
    card = _cards(client, "patient-view-ms-spasticity", PATIENT_VIEW)[0]
    unknown = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": WHEN}
    elsewhere = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": WHEN}  # a patient-view card
    response = _feedback(client, ORDER_SELECT, unknown, elsewhere)
    assert response.status_code == 200 and response.json() == {"received": 2, "attributed": 0}
    counts = _counts(client, ORDER_SELECT)
    assert counts["unattributed"] == {"accepted": 1, "overridden": 1} and counts["outcomes"] == []


def test_nothing_of_the_patient_is_kept(client) -> None:
    marker = "p-" + uuid.uuid4().hex[:12]

    cards = _cards(client, "patient-view-ms-spasticity", PATIENT_VIEW, change=lambda body: _as_patient(body, marker))
    entries = [{"card": c["uuid"], "outcome": "accepted", "outcomeTimestamp": WHEN} for c in cards]
    assert _feedback(client, PATIENT_VIEW, *entries).json()["attributed"] == len(cards)
    ledger: FeedbackLedger = client.app.state.cds.ledger
    assert marker not in repr(vars(ledger)) and marker not in json.dumps(_counts(client, PATIENT_VIEW))


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"card": "not-a-uuid", "outcome": "accepted", "outcomeTimestamp": WHEN}, "feedback[0].card"),
        ({"card": str(uuid.uuid4()), "outcome": "ignored", "outcomeTimestamp": WHEN}, "feedback[0].outcome"),
        ({"card": str(uuid.uuid4()), "outcome": "accepted"}, "feedback[0].outcomeTimestamp"),
        (
            {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2024-05-01T10:20:30"},
            "feedback[0].outcomeTimestamp",
        ),
        (
            {
                "card": str(uuid.uuid4()),
                "outcome": "overridden",
                "outcomeTimestamp": WHEN,
                "acceptedSuggestions": [{"id": str(uuid.uuid4())}],
            },
            "feedback[0]",
        ),
        (
            {
                "card": str(uuid.uuid4()),
                "outcome": "accepted",
                "outcomeTimestamp": WHEN,
                "overrideReason": {"userComment": "no"},
            },
            "feedback[0]",
        ),
        (
            {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": WHEN, "overrideReason": {}},
            "feedback[0].overrideReason",
        ),
    ],
)
def test_malformed_feedback_is_422_naming_the_member(client, entry, field) -> None:
    response = _feedback(client, PATIENT_VIEW, entry)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    "body, status",
    [(b"not json", 400), (b'{"feedback": []}', 422), (b"[]", 422), (b"[" * 100_000 + b"]" * 100_000, 422)],
)
def test_a_body_that_is_not_feedback_is_4xx(client, body, status) -> None:
    response = client.post(
        f"/cds-services/{PATIENT_VIEW}/feedback", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    if body.startswith(b"[["):
        assert "max_json_depth" in response.json()["detail"]  # the same JSON limits as every JSON route


def test_feedback_for_an_unknown_service_is_404(client) -> None:
    entry = {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": WHEN}
    assert _feedback(client, "no-such-service", entry).status_code == 404
    assert client.get("/cds-services/no-such-service/feedback").status_code == 404


# ---------------------------------------------------------------------------------- the ledger itself
def _issued(service: str, n: int) -> tuple[Issued, list[str]]:
    issued = Issued(service)
    return issued, [issued.card("order/excluded", [{"statement": f"tkg:S{i}"}], "tkg:OralBaclofen") for i in range(n)]


def test_counting_is_thread_safe() -> None:
    ledger = FeedbackLedger()
    issued, ids = _issued("svc", 4)
    ledger.remember(issued)
    entries = [FeedbackEntry(card=card, outcome="accepted", outcomeTimestamp=WHEN) for card in ids]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: ledger.record("svc", entries), range(400)))
    assert sorted(r["count"] for r in ledger.counts("svc")["outcomes"]) == [400] * 4


def test_the_card_registry_is_bounded() -> None:
    ledger = FeedbackLedger(registry_size=2)
    issued, ids = _issued("svc", 3)
    ledger.remember(issued)
    entries = [FeedbackEntry(card=card, outcome="overridden", outcomeTimestamp=WHEN) for card in ids]
    assert ledger.record("svc", entries) == 2  # the oldest was forgotten
    assert ledger.counts("svc")["unattributed"] == {"overridden": 1}
