"""`/conditions` and `/interventions`: every term of a category, and one term with what the graph says of it."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.deps import ServiceDep, StoreDep
from api.routers.lookups.models import BAD_INPUT, NOT_FOUND, TermDetail, TermSummary
from api.routers.lookups.rows import refs_for, term_detail, term_list
from kg.store.terms import TKG

router = APIRouter(tags=["lookups"])

_CURIE = Path(
    description="A CURIE such as `tkg:Spasticity`, or a full (URL-encoded) IRI",
    examples=["tkg:Spasticity", "tkg:OralBaclofen"],
)


@router.get(
    "/conditions", response_model=list[TermSummary], summary="Every condition with label, definition, parents and codes"
)
def list_conditions(store: StoreDep, service: ServiceDep) -> list[TermSummary]:
    return term_list(store, refs_for(service), TKG + "Condition")


@router.get(
    "/conditions/{curie:path}",
    response_model=TermDetail,
    responses={**NOT_FOUND, **BAD_INPUT},
    summary="One condition: hierarchy, codes and every statement about it, its parents or its subtypes",
)
def get_condition(store: StoreDep, service: ServiceDep, curie: str = _CURIE) -> TermDetail:
    return term_detail(store, refs_for(service), curie, "condition", "curie")


@router.get(
    "/interventions",
    response_model=list[TermSummary],
    summary="Every intervention with label, definition, parents and codes",
)
def list_interventions(store: StoreDep, service: ServiceDep) -> list[TermSummary]:
    return term_list(store, refs_for(service), TKG + "Intervention")


@router.get(
    "/interventions/{curie:path}",
    response_model=TermDetail,
    responses={**NOT_FOUND, **BAD_INPUT},
    summary="One intervention: hierarchy, codes and every statement about it, its parents or its subtypes",
)
def get_intervention(store: StoreDep, service: ServiceDep, curie: str = _CURIE) -> TermDetail:
    return term_detail(store, refs_for(service), curie, "intervention", "curie")
