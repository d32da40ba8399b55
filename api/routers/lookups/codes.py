"""`/lookup`: the terms a code of a standard code system maps to, through its parent codes where needed."""

from __future__ import annotations

import pyoxigraph as ox
from fastapi import APIRouter, Query

from api.deps import ServiceDep, StoreDep
from api.errors import Problem
from api.routers.lookups.models import CodeMatchOut, LookupOut
from api.routers.lookups.rows import CATEGORIES, match_kind, refs_for, select
from kg.errors import InvalidRequestError, NotFoundError

router = APIRouter(tags=["lookups"])


@router.get(
    "/lookup",
    response_model=LookupOut,
    responses={
        404: {"model": Problem, "description": "No term of the graph maps to the code"},
        422: {
            "model": Problem,
            "description": "A code system the graph does not map, or a malformed code; `field` names it",
        },
    },
    summary="The term(s) a code maps to (SNOMED CT, ICD-10-CM, RxNorm, ATC), with the match type",
)
def lookup(
    store: StoreDep,
    service: ServiceDep,
    system: str = Query(description="FHIR code system URI", examples=["http://hl7.org/fhir/sid/icd-10-cm"]),
    code: str = Query(description="The code in that system", examples=["G35"]),
) -> LookupOut:
    refs = refs_for(service)
    cs = service.resolver.systems.get(system)
    if cs is None:
        known = ", ".join(sorted(service.resolver.systems))
        raise InvalidRequestError.at(
            "system", f"code system {system[:200]!r} is not one the graph maps; use one of: {known}"
        )
    code = code.strip()
    if not code:
        raise InvalidRequestError.at("code", "a code is required")
    for candidate in cs.code_and_parents(code):  # ICD-10-CM G35.A falls under G35, ATC M03BX01 under M03BX
        iri = cs.uri_prefix + candidate
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise InvalidRequestError.at("code", f"{code[:100]!r} is not a valid {cs.name} code") from None
        rows = select(store, "code", code=iri)
        if rows:
            note = None if candidate == code else f"{code} resolved through its parent code {candidate}"
            matches = {
                (r["term"], r["match"]): CodeMatchOut(
                    **refs.term(r["term"], r.get("label")).model_dump(),
                    category=CATEGORIES.get(r.get("category") or ""),
                    match=match_kind(r["match"]),
                    code=candidate,
                    note=note,
                )
                for r in rows
            }
            ordered = sorted(matches.values(), key=lambda m: (m.curie, m.match))
            return LookupOut(system=system, code=code, matches=ordered)
    raise NotFoundError(f"{cs.name} code {code[:100]!r} maps to no term of the graph")
