"""order-select: the selected draft orders, what each orders, and the option of the evaluation it concerns.

An order's medication (or service) code is resolved through the graph's mappings, the same way a
patient's therapies are. RxNorm 1292 is the baclofen *ingredient*, any route, so the form is
decided from the order's route, as the graph gives routes (`tkg:RouteOfAdministration`):

- the route of a dosage instruction, by its code (the graph's route mappings, e.g. SNOMED CT) or the
  words of its text (the route's alternative labels), else the words of the medication's text,
  display or dose form ("oral", "tablet", "intrathecal", "injectable"); the form of the drug given by
  that route (`tkg:administrationRoute`) is assessed; a route with no form of its own (an
  injection) is assessed as the ingredient, which no statement speaks of, so it gets no card, and a
  route the graph does not know is said, never assumed;
- **an order that states no route is assessed by the route the graph assumes for the drug**
  (`tkg:assumedRouteWhenUnstated`, with the reason on that assertion; for baclofen the oral form),
  and the card says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from api.cds.prefetch import check_subject
from kg.errors import InputError
from kg.knowledge import INTERVENTION, ROUTE, Knowledge
from kg.patient.document import Coding, Concept, PatientResolver
from kg.store.terms import TermResolver

ORDER_TYPES = ("MedicationRequest", "ServiceRequest")
#: Statuses from the one that most speaks against an order to the least (SPEC §5's precedence).
SEVERITY = ("excluded", "not-indicated", "deferred", "undetermined", "eligible")


@dataclass(frozen=True)
class RouteGiven:
    """The route of one dosage instruction, as the order gives it."""

    codes: tuple[tuple[str, str], ...]  # (system, code) of its codings
    text: str  # its text and codings' displays


@dataclass(frozen=True)
class DraftOrder:
    reference: str  # `MedicationRequest/123`, as in context.selections
    resource_type: str
    description: str  # the order's own words, for display
    concept: dict | None  # the CodeableConcept of what is ordered
    routes: tuple[RouteGiven, ...]  # the routes its dosage instructions give, in order
    product_text: str  # the words of the medication's text, display and dose form
    where: str  # path of the order in the request


@dataclass(frozen=True)
class OrderMatch:
    """A selected order that maps to an intervention of the graph."""

    order: DraftOrder
    requested: str  # CURIE the order's code maps to (tkg:Baclofen)
    requested_label: str
    code: dict  # the coding that mapped
    assessed: str  # CURIE of the form assessed (tkg:OralBaclofen)
    assessed_label: str
    route: str | None  # the route IRI assessed by, the words of a route the graph does not know, or None
    route_label: str  # how the card names that route
    route_assumed: bool  # True when the order did not state its route and the graph's assumption applied
    assumption: str  # the graph's note on that assumption ("" when none was made)
    option: dict | None  # the evaluation's option for `assessed` (or its nearest superclass)


def selected_orders(context: dict[str, Any]) -> list[DraftOrder]:
    """The draft orders named in context.selections; a selection without a draft order, or an order
    about another patient than context.patientId, is an error."""
    bundle = context["draftOrders"]
    if bundle.get("resourceType") != "Bundle":
        raise InputError.at("context.draftOrders.resourceType", "expected a Bundle")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InputError.at("context.draftOrders.entry", "expected a list of entries")
    by_reference: dict[str, tuple[dict, str]] = {}
    for index, entry in enumerate(entries):
        where = f"context.draftOrders.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise InputError.at(f"{where}.resource", "expected an entry with a resource")
        if isinstance(resource.get("id"), str):
            by_reference[f"{resource['resourceType']}/{resource['id']}"] = (resource, f"{where}.resource")
        if isinstance(entry.get("fullUrl"), str):
            by_reference.setdefault(entry["fullUrl"], (resource, f"{where}.resource"))
    orders = []
    for index, selection in enumerate(context["selections"]):
        if selection not in by_reference:
            raise InputError.at(f"context.selections[{index}]", "names no resource of context.draftOrders")
        resource, where = by_reference[selection]
        check_subject(resource, where, context["patientId"])
        if resource["resourceType"] in ORDER_TYPES:
            orders.append(_draft_order(selection, resource, where, by_reference))
    return orders


def _draft_order(reference: str, resource: dict, where: str, by_reference: dict) -> DraftOrder:
    kind = resource["resourceType"]
    form_text = ""
    if kind == "MedicationRequest":
        concept = _as_dict(resource.get("medicationCodeableConcept"))
        medication = _referenced_medication(resource, by_reference)
        if concept is None and medication is not None:
            concept = _as_dict(medication.get("code"))
        if medication is not None:
            form_text = _concept_text(_as_dict(medication.get("form")))
    else:
        concept = _as_dict(resource.get("code"))
    description = _concept_text(concept) or reference
    product_text = " ".join([_concept_text(concept), form_text])
    return DraftOrder(reference, kind, description, concept, _routes_given(resource), product_text, where)


def _referenced_medication(resource: dict, by_reference: dict) -> dict | None:
    ref = _as_dict(resource.get("medicationReference"))
    target = ref.get("reference") if ref else None
    if not isinstance(target, str):
        return None
    if target.startswith("#"):
        for contained in _as_list(resource.get("contained")):
            if isinstance(contained, dict) and contained.get("id") == target[1:]:
                return contained
        return None
    found = by_reference.get(target)
    return found[0] if found else None


def _routes_given(resource: dict) -> tuple[RouteGiven, ...]:
    given = []
    for dosage in _as_list(resource.get("dosageInstruction")):
        route = _as_dict(dosage.get("route")) if isinstance(dosage, dict) else None
        if not route:
            continue
        codes = tuple(
            (c["system"], c["code"])
            for c in _as_list(route.get("coding"))
            if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)
        )
        unsystematic = [
            c["code"]
            for c in _as_list(route.get("coding"))
            if isinstance(c, dict) and isinstance(c.get("code"), str) and not isinstance(c.get("system"), str)
        ]
        text = _concept_text(route)
        if codes or text or unsystematic:
            given.append(RouteGiven(codes or tuple(("", c) for c in unsystematic), text))
    return tuple(given)


def _route(order: DraftOrder, resolver: PatientResolver, knowledge: Knowledge) -> str | None:
    """The route IRI the order gives (by code, else by the words of its route or its product), the words
    of a route the graph does not know (said, so never assumed), or None when it states no route."""
    for given in order.routes:
        for system, code in given.codes:
            cs = resolver.systems.get(system)
            mapped = knowledge.codes.get(cs.uri_prefix + code, []) if cs is not None else []
            for term, _ in mapped:
                if knowledge.is_a(term, ROUTE):
                    return term
        named = knowledge.routes.in_text(given.text)
        if named:
            return named
        return (given.text or f"route {given.codes[0][1]}").lower()[:100]
    return knowledge.routes.in_text(order.product_text)


def _as_dict(value: object) -> dict | None:
    return value if isinstance(value, dict) else None


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def _concept_text(concept: dict | None) -> str:
    if not concept:
        return ""
    parts = [concept["text"]] if isinstance(concept.get("text"), str) else []
    parts += [
        c["display"]
        for c in _as_list(concept.get("coding"))
        if isinstance(c, dict) and isinstance(c.get("display"), str)
    ]
    return " / ".join(p.strip() for p in parts if p.strip())[:300]


# ---------------------------------------------------------------------------------- resolution
def resolve_order(
    order: DraftOrder, resolver: PatientResolver, knowledge: Knowledge, terms: TermResolver
) -> OrderMatch | None:
    """The intervention an order's code maps to and the form assessed (no option yet); None if unmapped."""
    if not order.concept:
        return None
    codings = []
    for coding in _as_list(order.concept.get("coding"))[:20]:
        try:  # a coding that is not even well-formed cannot map: it is skipped, like an unmapped one
            codings.append(
                Coding.model_validate(
                    {k: coding[k] for k in ("system", "code", "display") if isinstance(coding, dict) and k in coding}
                )
            )
        except ValidationError:
            continue
    if not codings:
        return None
    concept = Concept(coding=codings)
    outcome = resolver.resolve_term(concept, order.where, INTERVENTION)
    if "iri" not in outcome:
        return None
    requested = outcome["iri"]
    route = _route(order, resolver, knowledge)
    assumed, assumption = (None, "") if route is not None else knowledge.routes.assumed.get(requested, (None, ""))
    route = route or assumed
    form = knowledge.routes.form(knowledge, requested, route) if route in knowledge.labels else None
    assessed = form or requested
    return OrderMatch(
        order=order,
        requested=terms.compress(requested),
        requested_label=knowledge.label(requested),
        code=outcome.get("code", {}),
        assessed=terms.compress(assessed),
        assessed_label=knowledge.label(assessed),
        route=route,
        route_label=knowledge.label(route) if route in knowledge.labels else (route or ""),
        route_assumed=assumed is not None,
        assumption=assumption,
        option=None,
    )


def with_option(match: OrderMatch, evaluation: dict, knowledge: Knowledge, terms: TermResolver) -> OrderMatch:
    """The match with the evaluation's option for the form assessed (or its nearest superclass)."""
    return replace(match, option=_option_for(evaluation, knowledge, terms, terms.expand(match.assessed, field="order")))


def _option_for(evaluation: dict, knowledge: Knowledge, terms: TermResolver, iri: str) -> dict | None:
    """The option of `iri`, else of its nearest superclass that has one (diazepam → benzodiazepine); of its
    rows for several indications, the one that most speaks against the order (excluded first), and of equally
    severe ones the row of an indication the graph's lines treat (spasticity before a stroke as such)."""
    options: dict[str, dict] = {}
    ranked = sorted(evaluation["options"], key=lambda o: (SEVERITY.index(o["status"]), o["line"] is None))
    for o in reversed(ranked):  # the last written wins: the first of `ranked`
        options[terms.expand(o["intervention"], field="intervention")] = o
    if iri in options:
        return options[iri]
    ancestors = [a for a in knowledge.ancestors.get(iri, ()) if a in options]
    ancestors.sort(key=lambda a: -len(knowledge.ancestors.get(a, ())))  # most specific first
    return options[ancestors[0]] if ancestors else None
