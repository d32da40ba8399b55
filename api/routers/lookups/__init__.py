"""Lookups: conditions, interventions, sources, codes and the therapy ladder.

Every route runs a named query from `queries/api/` through the store dependency, so it answers the
same on the embedded store and on a remote SPARQL endpoint. Request values reach SPARQL as bound RDF
terms; a malformed CURIE or IRI gets 422 naming the parameter, a term the graph does not hold 404.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.routers.lookups import codes, sources, terms, therapy_lines

router = APIRouter()
for _module in (terms, sources, codes, therapy_lines):
    router.include_router(_module.router)

__all__ = ["router"]
