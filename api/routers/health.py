"""GET /health: liveness with the size and version of the graph being served."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ServiceDep, StoreDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    triples: int
    knowledge_version: str
    store: str


@router.get("/health", response_model=Health, summary="Status, triple count and knowledge version")
def health(store: StoreDep, service: ServiceDep) -> Health:
    return Health(status="ok", triples=store.triple_count(), knowledge_version=service.knowledge.version, store=store.name)
