"""GET /health: liveness with the size and version of the graph being served, and the SPARQL sandbox."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import AppStateDep, ServiceDep
from kg.errors import StoreUnavailableError
from kg.store.protocol import RETRY_AFTER_S

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    triples: int
    knowledge_version: str
    store: str
    knowledge_checked_at: str | None = Field(
        default=None,
        description="Remote store: when its release was last found whole and as expected (UTC); null embedded.",
    )
    knowledge_events: list[str] = Field(
        default_factory=list,
        description="Remote store: each time the service recompiled because the store's release changed.",
    )
    sparql_sandbox: str | None = Field(
        default=None,
        description="How /sparql workers are confined: `seccomp` (no socket can be opened) or "
        "`none` (started with --allow-unsandboxed); null before the first worker has started.",
    )


@router.get("/health", response_model=Health, summary="Status, triple count, knowledge version, SPARQL sandbox")
def health(request: Request, service: ServiceDep, state: AppStateDep) -> Health:
    if state.store_problem is not None:  # the last verified knowledge still answers /evaluate; the store does not
        raise StoreUnavailableError(state.store_problem, retry_after=RETRY_AFTER_S)
    runner = getattr(request.app.state, "sparql_runner", None)
    report = getattr(runner, "sandbox", None)
    sandbox = None if report is None else ("seccomp" if report.network_filter else "none")
    return Health(
        status="ok",
        triples=service.store.triple_count(),  # the release served (a remote store's: its verified replica)
        knowledge_version=service.knowledge.version,
        store=state.store.name,
        knowledge_checked_at=state.checked_at,
        knowledge_events=list(state.events),
        sparql_sandbox=sandbox,
    )
