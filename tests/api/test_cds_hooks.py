"""CDS Hooks 2.0: discovery, patient-view and order-select cards, errors, and no outbound requests.

Requests are files in tests/data/cds/ (each with a `description` the tests strip before sending).
HTTP tests run on every store backend; the card functions are also tested directly on evaluations.
"""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path

import pytest

from api.cds.cards import CardContext, fit, listing, order_cards, patient_view_cards
from api.cds.models import SUMMARY_MAX, Card, CDSResponse, Discovery
from api.cds.orders import resolve_order, selected_orders, with_option
from api.cds.services import SERVICES
from kg.patient.document import parse_patient
from kg.service import TherapyKG

DATA = Path(__file__).parents[1] / "data" / "cds"
REQUESTS = {p.stem: json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))}
SERVICE_OF_HOOK = {s.hook: service_id for service_id, s in SERVICES.items()}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"


def _request(name: str) -> dict:
    body = copy.deepcopy(REQUESTS[name])
    body.pop("description")
    return body


@pytest.fixture(scope="module")
def cds_client(client):
    """The full app, on loopback with no trusted issuers: CDS client authentication is off (see test_cds_auth)."""
    return client


def _post(client, body: dict, service_id: str | None = None):
    return client.post(f"/cds-services/{service_id or SERVICE_OF_HOOK[body['hook']]}", json=body)


def _cards(client, name: str) -> list[dict]:
    response = _post(client, _request(name))
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def _check_card(card: dict) -> Card:
    """A card is a valid CDS Hooks card (our model), its summary under the limit, its detail citing."""
    model = Card.model_validate(card)
    assert 0 < len(card["summary"]) <= SUMMARY_MAX < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"].startswith("therapy-kg")
    if card.get("suggestions"):
        assert card["selectionBehavior"] in ("at-most-one", "any")
    return model


# ---------------------------------------------------------------------------------- discovery
def test_discovery_lists_both_services(cds_client) -> None:
    response = cds_client.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    Discovery.model_validate(body)
    services = {s["id"]: s for s in body["services"]}
    assert services.keys() == {"therapy-kg-patient-view", "therapy-kg-order-select"}
    assert services["therapy-kg-patient-view"]["hook"] == "patient-view"
    assert services["therapy-kg-order-select"]["hook"] == "order-select"
    for service in services.values():
        assert service["description"] and service["title"] and service["usageRequirements"]
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
        assert service["prefetch"]["medications"] == "MedicationStatement?patient={{context.patientId}}"
        assert service["prefetch"]["procedures"] == "Procedure?patient={{context.patientId}}"
        assert all(v is not None for v in service.values())  # unset members are omitted, not null


# ---------------------------------------------------------------------------------- every card of every request
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_every_card_is_valid_with_a_short_summary(cds_client, name) -> None:
    response = _post(cds_client, _request(name))
    assert response.status_code == 200, response.text
    CDSResponse.model_validate(response.json())
    cards = response.json()["cards"]
    for card in cards:
        _check_card(card)
    uuids = [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", [])]
    assert len(uuids) == len(set(uuids))
    again = _post(cds_client, _request(name)).json()["cards"]
    assert [c["uuid"] for c in again] == [c["uuid"] for c in cards]  # stable for the same hook call


# ---------------------------------------------------------------------------------- patient-view
def test_patient_view_on_baclofen_after_stroke_warns_to_taper(cds_client) -> None:
    cards = _cards(cds_client, "patient-view-stroke-on-baclofen")
    warnings = [c for c in cards if c["indicator"] == "warning"]
    assert len(warnings) == 1
    warning = warnings[0]
    # the advice on stopping it is the graph's own statement label, not wording written in the CDS code
    assert (
        warning["summary"]
        == "Oral baclofen is now excluded; if stopping it: taper baclofen gradually when discontinuing"
    )
    # the discontinuation statements' claims, with their sources, are in the detail
    assert "tkg:BaclofenAbruptDiscontinuationWithdrawal" in warning["detail"]
    assert "tkg:BaclofenGradualTapering" in warning["detail"]
    assert "Gradual tapering is essential when discontinuing therapy" in warning["detail"]
    assert "life-threatening withdrawal syndrome" in warning["detail"]
    assert "tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson" in warning["detail"]
    assert "Source 2: FDA label for baclofen tablets \\[2\\]" in warning["detail"]

    # one options card per indication: the spasticity's options, and oral baclofen for the stroke as such
    spasticity, stroke = [c for c in cards if c["source"]["topic"]["code"] == "options"]
    assert spasticity["indicator"] == stroke["indicator"] == "info"
    assert spasticity["summary"].startswith("For spasticity: eligible now: ")
    assert "stretching" in spasticity["summary"]
    assert "**Excluded**" in spasticity["detail"] and "oral baclofen" in spasticity["detail"]
    assert "procedures" not in spasticity["detail"]  # null prefetch = no data, not "missing"
    assert stroke["summary"] == "For stroke: no option is eligible now: oral baclofen excluded"
    assert spasticity["uuid"] != stroke["uuid"]

    missing = next(c for c in cards if c["source"]["topic"]["code"] == "missing-information")
    assert "Which kind of spasticity" in missing["detail"]


def test_patient_view_reports_unmapped_codes(cds_client) -> None:
    cards = _cards(cds_client, "patient-view-stroke-on-baclofen")
    unrecognized = [c for c in cards if c["source"]["topic"]["code"] == "unrecognized"]
    assert len(unrecognized) == 1
    assert unrecognized[0]["summary"].startswith("1 coded entry")
    assert "38341003" in unrecognized[0]["detail"]


def test_patient_view_ms_lists_deferred_second_line(cds_client) -> None:
    cards = _cards(cds_client, "patient-view-ms-spasticity")
    summary = next(c for c in cards if c["source"]["topic"]["code"] == "options")
    assert "stretching" in summary["summary"]
    assert not [c for c in cards if c["indicator"] == "warning"]
    assert "Prefetched data not used" in summary["detail"]  # medicationRequests was not sent
    assert "medicationRequests" in summary["detail"]


def test_every_link_and_source_url_answers(cds_client) -> None:
    """Card links and source urls point at this API's lookups (`/interventions`, `/sources`, `/therapy-lines`)."""
    pytest.importorskip("api.routers.lookups")
    urls = set()
    for name in REQUESTS:
        for card in _cards(cds_client, name):
            urls.update(link["url"] for link in card.get("links", []))
            if card["source"].get("url"):
                urls.add(card["source"]["url"])
    assert any("/sources/" in u for u in urls) and any("/interventions/" in u for u in urls)
    assert any("/therapy-lines?" in u for u in urls)
    for url in sorted(urls):
        assert url.startswith("http://testserver/")
        response = cds_client.get(url.removeprefix("http://testserver"))
        assert response.status_code == 200, (url, response.text[:200])


# ---------------------------------------------------------------------------------- order-select
def test_order_select_rheumatic_spasm_over_http(cds_client) -> None:
    cards = _cards(cds_client, "order-select-rheumatic-oral-baclofen")
    assert cards[0]["indicator"] == "warning"
    assert cards[0]["source"]["label"] == "therapy-kg: Source 2: FDA label for baclofen tablets"


def test_order_select_rheumatic_spasm_oral_baclofen_warns_not_indicated(kg_service) -> None:
    patient = {"age": 50, "conditions": ["tkg:RheumaticMuscleSpasm"]}
    cards, match = _order_cards(kg_service, patient, route=("26643006", "Oral route"))
    assert match.assessed == "tkg:OralBaclofen" and not match.route_assumed
    (model,) = cards
    card = model.model_dump(exclude_none=True)
    _check_card(card)
    assert card["indicator"] == "warning"
    assert "not indicated" in card["summary"] and "Source 2" in card["summary"]
    assert card["source"]["label"] == "therapy-kg: Source 2: FDA label for baclofen tablets"
    assert card["source"]["topic"]["code"] == "not-indicated"
    assert "tkg:OralBaclofenNotIndicatedForRheumaticMuscleSpasm" in card["detail"]
    assert (
        "not indicated in the treatment of skeletal muscle spasm resulting from rheumatic disorders" in card["detail"]
    )
    assert "\\[2\\] Source 2: FDA label for baclofen tablets" in card["detail"]
    assert "(route: oral route)" in card["detail"]
    assert "tkg:BaclofenNotFirstLineForMuscleSpasm" in card["detail"]  # the related evidence is cited too
    # nothing is eligible for rheumatic muscle spasm: no alternative, only removing the draft order
    assert "No option of the graph is eligible" in card["detail"]
    creates = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "create"]
    assert creates == []
    (remove,) = card["suggestions"]
    assert remove["isRecommended"] is True
    assert remove["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order MedicationRequest/o1",
            "resourceId": "MedicationRequest/o1",
        }
    ]
    assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])


def test_order_select_stroke_baclofen_warns_with_first_line_alternatives(cds_client) -> None:
    cards = _cards(cds_client, "order-select-stroke-baclofen")
    assert len(cards) == 1
    card = cards[0]
    _check_card(card)
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Oral baclofen is excluded for spasticity: ")  # the row of the indication
    assert card["source"]["label"] == "therapy-kg: Source 2: FDA label for baclofen tablets"
    assert "tkg:OralBaclofenNotRecommendedStrokeCerebralPalsyParkinson" in card["detail"]
    assert "is not recommended for these conditions" in card["detail"]
    # no route on the order: assessed as oral, and the card says so
    assert "does not state its route" in card["detail"]
    assert card["selectionBehavior"] == "any"
    proposed = {
        a["resource"]["code"]["coding"][0]["code"]: a["resource"]
        for s in card["suggestions"]
        for a in s["actions"]
        if a["type"] == "create"
    }
    assert set(proposed) == {
        "AntispasticPositioning",
        "RangeOfMotionExercise",
        "Stretching",
        "Splinting",
        "SerialCasting",
    }
    for resource in proposed.values():
        assert resource["resourceType"] == "ServiceRequest"
        assert resource["status"] == "draft" and resource["intent"] == "proposal"
        assert resource["subject"] == {"reference": "Patient/stroke-1"}
        assert resource["code"]["text"] == resource["code"]["coding"][0]["display"]
    # the unmapped hypertension code is reported in the card, not dropped
    assert "38341003" in card["detail"] and "Not recognised in the record" in card["detail"]


def test_order_select_baclofen_for_a_muscle_spasm_answers_the_seeds_question(cds_client) -> None:
    """A muscle spasm with no condition that causes spasticity: not indicated (the label's indication is
    spasticity), with the seed's answer among the related statements; no question, since none would change it."""
    cards = _cards(cds_client, "order-select-muscle-spasm-baclofen")
    assert len(cards) == 1
    assert cards[0]["indicator"] == "warning"
    assert "not indicated" in cards[0]["summary"] and "Source 2" in cards[0]["summary"]
    assert "tkg:OralBaclofenNotIndicatedForMuscleSpasm" in cards[0]["detail"]
    assert "tkg:BaclofenNotFirstLineForMuscleSpasm" in cards[0]["detail"]
    assert "Which kind of muscle spasm" not in cards[0]["detail"]


def test_order_select_with_only_unmapped_conditions_says_it_cannot_assess(cds_client) -> None:
    cards = _cards(cds_client, "order-select-unmapped-condition")
    assert len(cards) == 1
    assert cards[0]["summary"].startswith("Cannot assess the baclofen order")
    assert "38341003" in cards[0]["detail"]


def test_order_select_ignores_orders_it_knows_nothing_about(cds_client) -> None:
    body = _request("order-select-stroke-baclofen")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "723", "display": "amoxicillin"}]}
    response = _post(cds_client, body)
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_a_record_fhir_cannot_read_is_422_naming_the_prefetch_element(cds_client) -> None:
    body = _request("order-select-stroke-baclofen")
    body["prefetch"]["conditions"]["entry"][0]["resource"]["code"] = "stroke"
    response = _post(cds_client, body)
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith("prefetch.conditions.entry[0].resource.code")
    # an order the graph knows nothing about is answered without reading the record at all
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "723"}]}
    assert _post(cds_client, body).json() == {"cards": []}


def test_order_select_looks_only_at_the_selected_orders(cds_client) -> None:
    body = _request("order-select-stroke-baclofen")
    other = {
        "resourceType": "MedicationRequest",
        "id": "other",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/stroke-1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "723"}]},
    }
    body["context"]["draftOrders"]["entry"].append({"resource": other})
    body["context"]["selections"] = ["MedicationRequest/other"]
    assert _post(cds_client, body).json() == {"cards": []}


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("prefetch"), "prefetch.patient"),
        (lambda b: b["prefetch"].pop("patient"), "prefetch.patient"),
        (lambda b: b["prefetch"].pop("conditions"), "prefetch.conditions"),
        (lambda b: b["prefetch"].__setitem__("patient", None), "prefetch.patient"),
        (
            lambda b: b["prefetch"].__setitem__("conditions", {"resourceType": "OperationOutcome", "issue": []}),
            "prefetch.conditions",
        ),
    ],
    ids=["no-prefetch", "no-patient", "no-conditions", "null-patient", "conditions-failed"],
)
def test_missing_required_prefetch_is_412(cds_client, change, field) -> None:
    for name in ("patient-view-stroke-on-baclofen", "order-select-stroke-baclofen"):
        body = _request(name)
        change(body)
        response = _post(cds_client, body)
        assert response.status_code == 412, response.text
        assert response.json()["field"] == field
        assert "FHIR server" in response.json()["detail"]


def test_unknown_service_is_404(cds_client) -> None:
    response = _post(cds_client, _request("patient-view-ms-spasticity"), "no-such-service")
    assert response.status_code == 404
    assert "no-such-service" in response.json()["detail"]


def test_wrong_hook_for_the_service_is_400(cds_client) -> None:
    response = _post(cds_client, _request("patient-view-ms-spasticity"), "therapy-kg-order-select")
    assert response.status_code == 400
    assert response.json()["field"] == "hook"
    assert "order-select" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "change", "status", "field"),
    [
        ("patient-view-ms-spasticity", lambda b: b.pop("hookInstance"), 422, "hookInstance"),
        ("patient-view-ms-spasticity", lambda b: b.__setitem__("hook", 7), 422, "hook"),
        ("patient-view-ms-spasticity", lambda b: b["context"].pop("patientId"), 422, "context.patientId"),
        (
            "patient-view-ms-spasticity",
            lambda b: b["context"].__setitem__("patientId", "a/b"),
            422,
            "context.patientId",
        ),
        ("patient-view-ms-spasticity", lambda b: b.__setitem__("context", []), 422, "context"),
        ("patient-view-ms-spasticity", lambda b: b.__setitem__("prefetch", {"patient": 3}), 422, "prefetch.patient"),
        (
            "patient-view-ms-spasticity",
            lambda b: b["prefetch"].__setitem__("patient", {"resourceType": "Patient", "id": "someone-else"}),
            400,
            "prefetch.patient.id",
        ),
        (
            "patient-view-ms-spasticity",
            lambda b: b["prefetch"]["conditions"]["entry"][1]["resource"]["subject"].__setitem__(
                "reference", "Patient/x"
            ),
            400,
            "prefetch.conditions.entry[1].resource.subject.reference",
        ),
        (
            "patient-view-ms-spasticity",
            lambda b: b["prefetch"].__setitem__("conditions", {"resourceType": "Patient"}),
            400,
            "prefetch.conditions.resourceType",
        ),
        ("order-select-stroke-baclofen", lambda b: b["context"].pop("draftOrders"), 422, "context.draftOrders"),
        (
            "order-select-stroke-baclofen",
            lambda b: b["context"].__setitem__("selections", []),
            422,
            "context.selections",
        ),
        (
            "order-select-stroke-baclofen",
            lambda b: b["context"].__setitem__("selections", ["MedicationRequest/nope"]),
            400,
            "context.selections[0]",
        ),
        (
            "order-select-stroke-baclofen",
            lambda b: b["context"]["draftOrders"].__setitem__("resourceType", "List"),
            400,
            "context.draftOrders.resourceType",
        ),
        (
            "order-select-stroke-baclofen",
            lambda b: b["context"]["draftOrders"]["entry"][0]["resource"]["subject"].__setitem__(
                "reference", "Patient/x"
            ),
            400,
            "context.draftOrders.entry[0].resource.subject.reference",
        ),
        (
            "order-select-stroke-baclofen",
            lambda b: b.__setitem__("fhirAuthorization", {"access_token": "t"}),
            422,
            "fhirAuthorization.token_type",
        ),
    ],
)
def test_malformed_requests_name_the_member(cds_client, name, change, status, field) -> None:
    body = _request(name)
    change(body)
    response = _post(cds_client, body, SERVICE_OF_HOOK[REQUESTS[name]["hook"]])
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert response.json()["detail"].startswith(field)
    assert "Traceback" not in response.text


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b"null"])
def test_a_body_that_is_not_a_request_is_4xx(cds_client, body) -> None:
    response = cds_client.post(
        "/cds-services/therapy-kg-patient-view", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["field"] == "body"


# ---------------------------------------------------------------------------------- no outbound requests
def test_no_connection_to_the_fhir_server(cds_client) -> None:
    """fhirServer (with a token) points at a listener on loopback: nothing may connect to it, on
    success or when required prefetch is missing (the case where a service might try to fetch)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}/fhir"
    authorization = {
        "access_token": "secret-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
    try:
        for name in REQUESTS:
            body = _request(name) | {"fhirServer": base, "fhirAuthorization": authorization}
            assert _post(cds_client, body).status_code == 200
            body["prefetch"] = {"patient": body["prefetch"]["patient"]}
            response = _post(cds_client, body)
            assert response.status_code == 412
            assert "secret-token" not in response.text
        with pytest.raises(TimeoutError):
            connection, _ = listener.accept()
            connection.close()
    finally:
        listener.close()


# ---------------------------------------------------------------------------------- card functions directly
@pytest.fixture(scope="module")
def kg_service(store) -> TherapyKG:
    return TherapyKG(store)


def _context(service: TherapyKG) -> CardContext:
    labels = {service.terms.compress(i): label for i, label in service.knowledge.labels.items()}
    pharma = frozenset(
        service.terms.compress(c)
        for c in service.knowledge.classes_under("https://w3id.org/therapy-kg/PharmacologicalIntervention")
    )
    return CardContext(labels=labels, pharmacological=pharma, patient_id="p1", base_url="http://cds.example")


def _order_context(*, route: tuple[str, str] | None = None, text: str | None = None) -> dict:
    order = {
        "resourceType": "MedicationRequest",
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1292"}]},
    }
    if text:
        order["medicationCodeableConcept"]["text"] = text
    if route:
        order["dosageInstruction"] = [{"route": {"coding": [{"system": SNOMED, "code": route[0]}], "text": route[1]}}]
    return {
        "patientId": "p1",
        "selections": ["MedicationRequest/o1"],
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }


def _order_cards(service: TherapyKG, patient: dict, **order) -> tuple[list[Card], object]:
    evaluation = service.evaluate(parse_patient(patient))
    (draft,) = selected_orders(_order_context(**order))
    match = resolve_order(draft, service.resolver, service.knowledge, service.terms)
    if match is None:
        return [], None
    match = with_option(match, evaluation, service.knowledge, service.terms)
    return order_cards(evaluation, match, _context(service)), match


@pytest.mark.parametrize(
    ("order", "assessed", "assumed"),
    [
        ({}, "tkg:OralBaclofen", True),
        ({"text": "baclofen 10 MG Oral Tablet"}, "tkg:OralBaclofen", False),
        ({"route": ("26643006", "Oral route")}, "tkg:OralBaclofen", False),
        ({"route": ("72607000", "Intrathecal route")}, "tkg:IntrathecalBaclofen", False),
        ({"route": ("47625008", "Intravenous route")}, "tkg:Baclofen", False),
        ({"text": "baclofen 0.5 MG/ML Injectable Solution"}, "tkg:Baclofen", False),
    ],
)
def test_the_route_decides_the_form_assessed(kg_service, order, assessed, assumed) -> None:
    _, match = _order_cards(kg_service, {"age": 50, "conditions": ["tkg:Stroke"]}, **order)
    assert match.requested == "tkg:Baclofen"
    assert match.assessed == assessed
    assert match.route_assumed is assumed


def test_every_route_word_of_the_graph_names_its_route(kg_service) -> None:
    """The words are the routes' alternative labels in the ontology, not a list in the code."""
    routes = kg_service.knowledge.routes
    assert routes.words and routes.forms
    for word, route in routes.words.items():
        _, match = _order_cards(kg_service, {"age": 50, "conditions": ["tkg:Stroke"]}, text=f"baclofen {word.upper()}")
        assert match.route == route and not match.route_assumed, word
        form = routes.form(kg_service.knowledge, "https://w3id.org/therapy-kg/Baclofen", route)
        assert kg_service.terms.expand(match.assessed, field="x") == (form or "https://w3id.org/therapy-kg/Baclofen")


def test_a_route_is_assumed_only_where_the_graph_states_the_assumption(kg_service) -> None:
    assumed = kg_service.knowledge.routes.assumed
    assert set(assumed) == {"https://w3id.org/therapy-kg/Baclofen"}
    route, note = assumed["https://w3id.org/therapy-kg/Baclofen"]
    assert route.endswith("OralRoute") and note.startswith("Modelling assumption:")
    cards, match = _order_cards(kg_service, {"age": 50, "conditions": ["tkg:Stroke"]})
    assert match.route_assumed and match.assumption == note and note in cards[0].detail
    # diazepam: no assumption in the graph, so an order without a route is the drug itself, nothing assumed
    context = _order_context()
    context["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] = "3322"
    (draft,) = selected_orders(context)
    diazepam = resolve_order(draft, kg_service.resolver, kg_service.knowledge, kg_service.terms)
    assert diazepam.assessed == "tkg:Diazepam" and not diazepam.route_assumed and diazepam.route is None


def test_intravenous_baclofen_gets_no_card_about_tablets(kg_service) -> None:
    cards, match = _order_cards(
        kg_service, {"age": 50, "conditions": ["tkg:Stroke"]}, route=("47625008", "Intravenous route")
    )
    assert match.option is None and cards == []


def test_deferred_order_suggests_starting_first_line(kg_service) -> None:
    cards, _ = _order_cards(
        kg_service, {"age": 45, "conditions": ["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity"]}
    )
    (card,) = cards
    assert card.indicator == "warning"
    assert "deferred" in card.summary and "line 1 not initiated" in card.summary
    assert {s.actions[0].resource["code"]["coding"][0]["code"] for s in card.suggestions} == {
        "AntispasticPositioning",
        "RangeOfMotionExercise",
        "Stretching",
        "Splinting",
        "SerialCasting",
    }
    assert "tkg:OralBaclofenSecondLineForGeneralizedSpasticity" in card.detail


def test_eligible_order_gives_older_adult_dosing(kg_service) -> None:
    patient = {"age": 72, "conditions": ["tkg:GeneralizedSpasticity"], "therapies_tried": ["tkg:Stretching"]}
    cards, _ = _order_cards(kg_service, patient, text="baclofen 5 MG Oral Tablet")
    (card,) = cards
    assert card.indicator == "info"
    assert "eligible" in card.summary and "older adult" in card.summary and "5 mg" in card.summary
    assert "tkg:OralBaclofenOlderAdultDosing" in card.detail
    assert card.source.label.startswith("therapy-kg: Source")


def test_eligible_order_with_a_preferred_alternative_suggests_it(kg_service) -> None:
    patient = {"age": 40, "conditions": ["tkg:FocalSpasticity"], "therapies_tried": ["tkg:Stretching"]}
    cards, _ = _order_cards(kg_service, patient)
    (card,) = cards
    assert "botulinum toxin is preferred" in card.summary
    (suggestion,) = card.suggestions
    assert suggestion.isRecommended is True and card.selectionBehavior == "at-most-one"
    resource = suggestion.actions[0].resource
    assert resource["resourceType"] == "MedicationRequest"
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == "BotulinumToxin"


def test_caution_for_a_recorded_condition_raises_the_indicator(kg_service) -> None:
    patient = {
        "age": 50,
        "conditions": ["tkg:GeneralizedSpasticity", "tkg:ObstructiveSleepApnea"],
        "therapies_tried": ["tkg:Stretching"],
    }
    cards, _ = _order_cards(kg_service, patient)
    (card,) = cards
    assert card.indicator == "warning"
    assert "sleep apnea" in card.summary
    assert "tkg:BaclofenObstructiveSleepApnea" in card.detail


def test_rheumatic_spasm_patient_view_names_no_first_line(kg_service) -> None:
    evaluation = kg_service.evaluate(parse_patient({"age": 50, "conditions": ["tkg:RheumaticMuscleSpasm"]}))
    cards = patient_view_cards(evaluation, _context(kg_service))
    (card,) = cards
    assert card.summary == "No option is eligible now: oral baclofen not indicated"
    assert card.source.label == "therapy-kg: Source 2: FDA label for baclofen tablets"
    assert card.source.url == "http://cds.example/sources/tkg:Source2"


def test_summaries_fit_whatever_the_labels() -> None:
    long = "x" * 300
    assert len(fit(long, long)) == SUMMARY_MAX and fit(long).endswith("…")
    assert len(listing("Eligible now: ", [long, "b"])) <= SUMMARY_MAX
    text = listing("Eligible now: ", [f"option number {i}" for i in range(40)])
    assert len(text) <= SUMMARY_MAX and text.endswith("more")
    evaluation = {
        "knowledge_version": "v",
        "engine": "fast",
        "conditions": [],
        "missing_information": [],
        "unrecognized": [{"field": "conditions[0]", "input": {"system": "s`*_[", "code": "c" * 5000}, "reason": "r|#"}],
        "warnings": [
            {
                "kind": "current-therapy-excluded",
                "intervention": "tkg:X" + "y" * 400,
                "message": "m" * 3000,
                "reasons": [],
                "statements": [
                    {"statement": "tkg:S", "kind": "discontinuation-caution", "label": "l", "claim": "c", "sources": []}
                ],
            }
        ],
        "options": [
            {
                "intervention": f"tkg:O{i}",
                "label": "z" * 200,
                "line": 1,
                "status": "eligible",
                "preferred": i == 0,
                "reasons": [],
                "cautions": [],
                "dosing": [],
                "monitoring": [],
                "evidence": [],
            }
            for i in range(3)
        ],
    }
    cards = patient_view_cards(evaluation, CardContext())
    assert len(cards) == 3
    for card in cards:
        assert len(card.summary) <= SUMMARY_MAX
    assert "c" * 400 not in cards[-1].detail  # echoed client input is bounded
    assert "s\\`\\*\\_\\[" in cards[-1].detail  # and escaped


def test_patient_view_caution_for_a_current_therapy(kg_service) -> None:
    patient = {
        "age": 50,
        "conditions": ["tkg:GeneralizedSpasticity", "tkg:ObstructiveSleepApnea"],
        "therapies_tried": ["tkg:Stretching"],
        "current_therapies": ["tkg:OralBaclofen"],
    }
    cards = patient_view_cards(kg_service.evaluate(parse_patient(patient)), _context(kg_service))
    (warning,) = [c for c in cards if c.indicator == "warning"]
    assert warning.summary == "The patient takes oral baclofen: baclofen may worsen obstructive sleep apnea"
    assert "tkg:BaclofenObstructiveSleepApnea" in warning.detail
    assert warning.source.topic.code == "caution"


def test_discovery_wording_is_data_filled_from_the_graph(cds_client, kg_service) -> None:
    """The titles and descriptions come from ontology/cds-services.tsv; what they list, from the graph."""
    from api.cds.discovery import service_texts

    services = {s["id"]: s for s in cds_client.get("/cds-services").json()["services"]}
    assert services.keys() == service_texts().keys()
    k = kg_service.knowledge
    recommended = {i for s in k.statements if s.kind == "recommendation" and s.line for i in s.interventions}
    view, order = services["therapy-kg-patient-view"], services["therapy-kg-order-select"]
    assert recommended and all(k.label(i) in view["description"] for i in recommended)
    assert "spasticity" in view["title"] and "muscle spasm" in view["title"]
    assert "baclofen" in order["description"] and "oral route" in order["usageRequirements"]
    for service in services.values():
        assert "{" not in service["title"] + service["description"] + service["usageRequirements"]


def _medication_list_only(coding: dict) -> dict:
    """patient-view on a record with no condition and one active medication."""
    body = _request("patient-view-stroke-on-baclofen")
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
    statement = body["prefetch"]["medications"]["entry"][0]["resource"]
    statement["medicationCodeableConcept"] = {"coding": [coding]}
    statement.pop("dosage")
    return body


def test_patient_view_on_a_medication_list_alone_warns_an_intrathecal_user(cds_client) -> None:
    """SPEC §3-4: a medication list with no conditions is answered; a current intrathecal user is always
    shown the abrupt-discontinuation warning."""
    body = _medication_list_only({"system": "https://w3id.org/therapy-kg/", "code": "IntrathecalBaclofen"})
    response = _post(cds_client, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    (warning,) = [c for c in cards if c["indicator"] == "warning"]
    _check_card(warning)
    assert warning["summary"] == (
        "The patient takes intrathecal baclofen: abrupt discontinuation of baclofen can cause withdrawal"
    )
    assert "tkg:BaclofenAbruptDiscontinuationWithdrawal" in warning["detail"]
    assert not [c for c in cards if c["source"]["topic"]["code"] == "options"]  # no indication: no options


def test_patient_view_on_an_unrecognised_medication_list_alone_is_quiet(cds_client) -> None:
    body = _medication_list_only({"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6809"})
    response = _post(cds_client, body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []


def test_patient_view_is_quiet_when_nothing_of_the_graph_concerns_the_patient(cds_client) -> None:
    """Multiple sclerosis alone: recognised, but no statement of the graph treats it; no card, not even one about
    the codes the graph does not use (alert fatigue is the first reason clinicians switch CDS off)."""
    body = _request("patient-view-ms-spasticity")
    entries = body["prefetch"]["conditions"]["entry"]
    body["prefetch"]["conditions"]["entry"] = [
        e for e in entries if e["resource"]["code"]["coding"][0]["code"] == "G35"
    ]
    response = _post(cds_client, body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []


def test_cards_come_most_urgent_first_and_each_once() -> None:
    from api.cds.services import ordered_cards

    def card(summary: str, indicator: str) -> Card:
        return Card.model_construct(summary=summary, detail="d", indicator=indicator)

    cards = [card("a", "info"), card("b", "warning"), card("c", "critical"), card("b", "warning"), card("d", "info")]
    assert [(c.summary, c.indicator) for c in ordered_cards(cards)] == [
        ("c", "critical"),
        ("b", "warning"),
        ("a", "info"),
        ("d", "info"),
    ]


def test_patient_view_cards_are_ordered_by_indicator(cds_client) -> None:
    cards = _cards(cds_client, "patient-view-stroke-on-baclofen")
    ranks = [{"critical": 0, "warning": 1, "info": 2}[c["indicator"]] for c in cards]
    assert ranks == sorted(ranks) and ranks[0] == 1
