"""GET /health: liveness with the size and version of the graph being served, and the SPARQL sandbox."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import ServiceDep, StoreDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    triples: int
    knowledge_version: str
    store: str
    sparql_sandbox: str | None = Field(
        default=None,
        description="How /sparql workers are confined: `seccomp` (no socket can be opened) or "
        "`none` (started with --allow-unsandboxed); null before the first worker has started.",
    )


@router.get("/health", response_model=Health, summary="Status, triple count, knowledge version, SPARQL sandbox")
def health(request: Request, store: StoreDep, service: ServiceDep) -> Health:
    runner = getattr(request.app.state, "sparql_runner", None)
    report = getattr(runner, "sandbox", None)
    sandbox = None if report is None else ("seccomp" if report.network_filter else "none")
    return Health(
        status="ok",
        triples=store.triple_count(),
        knowledge_version=service.knowledge.version,
        store=store.name,
        sparql_sandbox=sandbox,
    )
