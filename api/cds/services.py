"""The two CDS services, each a hook, a context model and a handler, looked up by id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ValidationError

from api.cds import member_path
from api.cds.cards import CardContext, order_cards, patient_view_cards
from api.cds.feedback import Issued
from api.cds.models import Card, CDSRequest, OrderSelectContext, PatientViewContext
from api.cds.orders import resolve_order, selected_orders, with_option
from api.cds.prefetch import REQUIRED, PatientBundle, patient_bundle
from kg.errors import InputError, InvalidRequestError, NotFoundError, PatientInputError
from kg.patient.fhir import bundle_path, read_bundle
from kg.service import TherapyKG
from kg.store.terms import TKG


@dataclass(frozen=True)
class HookCall:
    request: CDSRequest
    context: PatientViewContext  # an OrderSelectContext for order-select
    service: TherapyKG
    cards: CardContext


@dataclass(frozen=True)
class CdsService:
    hook: str
    context_model: type[PatientViewContext]
    handler: Callable[[HookCall], list[Card]]


def _patient_view(call: HookCall) -> list[Card]:
    bundle = patient_bundle(call.request.prefetch, call.context.patientId)
    evaluation = evaluate_bundle(call.service, bundle)
    if evaluation is None or not concerns_the_patient(evaluation):
        return []  # nothing of the graph concerns the patient: no card (unrecognised codes alone are quiet)
    return ordered_cards(patient_view_cards(evaluation, call.cards, bundle.notes))


def _order_select(call: HookCall) -> list[Card]:
    """Orders the graph knows nothing about (most orders) end here, before the record is evaluated."""
    bundle = patient_bundle(call.request.prefetch, call.context.patientId)
    service = call.service
    matches = [
        m
        for order in selected_orders(call.context.model_dump())
        if (m := resolve_order(order, service.resolver, service.knowledge, service.terms)) is not None
    ]
    if not matches:
        return []
    evaluation = evaluate_bundle(service, bundle)
    if evaluation is None:
        return []
    cards: list[Card] = []
    for match in matches:
        match = with_option(match, evaluation, service.knowledge, service.terms)
        cards += order_cards(evaluation, match, call.cards, bundle.notes)
    return ordered_cards(cards)


def concerns_the_patient(evaluation: dict) -> bool:
    """Whether anything of the graph concerns the patient: an option, a current therapy, a warning or a
    question; a record of which only codes the graph does not use gets no card at all (alert fatigue)."""
    return any(evaluation[key] for key in ("options", "current_therapies", "warnings", "missing_information"))


#: CDS Hooks indicators, the most urgent first
URGENCY = {"critical": 0, "warning": 1, "info": 2}


def ordered_cards(cards: list[Card]) -> list[Card]:
    """The cards most urgent first (critical, warning, info; otherwise in their order), each said once: a card
    with the summary and detail of an earlier one is left out."""
    seen: set[tuple[str, str | None]] = set()
    unique = []
    for card in cards:
        key = (card.summary, card.detail)
        if key not in seen:
            seen.add(key)
            unique.append(card)
    return sorted(unique, key=lambda card: URGENCY.get(card.indicator, len(URGENCY)))


#: The services by id: their hook, context and handler (their discovery wording: `api.cds.discovery`).
SERVICES: dict[str, CdsService] = {
    "therapy-kg-patient-view": CdsService("patient-view", PatientViewContext, _patient_view),
    "therapy-kg-order-select": CdsService("order-select", OrderSelectContext, _order_select),
}


def evaluate_bundle(service: TherapyKG, bundle: PatientBundle) -> dict | None:
    """The fast engine's evaluation of the prefetched record, or None when it has no usable condition and
    no medication (a medication list alone is answered: withdrawal, monitoring, cautions), or the patient
    has died.

    Paths in the evaluation's `unrecognized` and in what the FHIR reading left out are rewritten to
    the request's own (`prefetch.conditions.entry[2].resource.code`); the left-out items are added
    to `bundle.notes`.
    """
    if bundle.condition_count == 0 and bundle.medication_count == 0:
        return None
    try:
        reading = read_bundle(bundle.bundle)
    except PatientInputError as exc:
        if exc.field == "Condition":  # every Condition inactive, resolved, refuted or uncoded
            return None
        message = str(exc).removeprefix(f"{exc.field}: ")
        raise InvalidRequestError.at(bundle.origin_of(exc.field), message) from None
    evaluation = service.evaluate(reading.patient, "fast")  # the report goes to the notes, not `unrecognized`
    if evaluation.get("deceased"):
        return None  # no card for a patient the record says has died
    for item in evaluation["unrecognized"]:
        source = bundle_path(reading, item["field"])
        if source is not None:
            item["field"] = bundle.origin_of(source)
    for item in reading.report:
        what = "/".join(str(item["input"][k]) for k in ("resourceType", "id") if k in item.get("input", {}))
        bundle.notes.append(f"{bundle.origin_of(item['field'])}{' (' + what + ')' if what else ''}: {item['reason']}")
    return evaluation


def call_service(
    service_id: str, body: object, service: TherapyKG, base_url: str | None, issued: Issued | None = None
) -> list[Card]:
    """Validate a request for one service and run it; errors are `CdsRequestError`s naming the member.

    `issued` collects the uuids of the cards and suggestions handed out (for feedback attribution).
    """
    cds = SERVICES.get(service_id)
    if cds is None:
        raise NotFoundError.at("service_id", f"no CDS service {service_id[:100]!r}; see GET /cds-services")
    request = _validated(CDSRequest, body, "")
    if request.hook != cds.hook:
        raise InputError.at("hook", f"service {service_id!r} answers the {cds.hook!r} hook, not {request.hook[:100]!r}")
    context = _validated(cds.context_model, request.context, "context")
    cards = CardContext(
        labels=_labels(service),
        pharmacological=_pharmacological(service),
        patient_id=context.patientId,
        base_url=base_url,
        issued=issued if issued is not None else Issued(service_id),
    )
    return cds.handler(HookCall(request, context, service, cards))


def _validated(model: type[BaseModel], data: object, prefix: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequestError.at(member_path(prefix, first["loc"]) or "body", first["msg"]) from None


@lru_cache(maxsize=8)
def _labels(service: TherapyKG) -> dict[str, str]:
    return {service.terms.compress(iri): label for iri, label in service.knowledge.labels.items()}


@lru_cache(maxsize=8)
def _pharmacological(service: TherapyKG) -> frozenset[str]:
    classes = service.knowledge.classes_under(TKG + "PharmacologicalIntervention")
    return frozenset(service.terms.compress(c) for c in classes)


__all__ = ["REQUIRED", "SERVICES", "call_service", "evaluate_bundle"]
