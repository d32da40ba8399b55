"""The SPARQL 1.1 Protocol query service at /sparql: a mountable router plus its query runner.

Wiring (in `create_app`, or a test's own app)::

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       timeout_s=settings.body_timeout_s)  # before start-up
    install_sparql(app, store, settings)  # runner on app.state.sparql_runner, routes, shutdown

Imports stay lazy here: query workers import `api.sparql.runner`, and should not pay for FastAPI.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from api.settings import Settings
    from api.sparql.runner import SparqlRunner
    from kg.store import Store

__all__ = ["install_sparql", "sparql_router"]


def sparql_router() -> APIRouter:
    from api.sparql.router import sparql_router as build

    return build()


def install_sparql(
    app: FastAPI, store: Store, settings: Settings, *, workers: int | None = None, wait_s: float = 60.0
) -> SparqlRunner:
    """Start a runner for `store` (replacing any previous one), include the routes once, close on shutdown.

    Waits up to `wait_s` for the first worker, so the first query does not pay the start-up.
    """
    from api.errors import install_error_handlers
    from api.sparql.runner import SparqlRunner

    previous = getattr(app.state, "sparql_runner", None)
    if previous is not None:
        previous.close()
    runner = SparqlRunner(store, settings, workers=workers)
    app.state.sparql_runner = runner
    if not getattr(app.state, "sparql_installed", False):
        app.state.sparql_installed = True
        app.include_router(sparql_router())
        install_error_handlers(app)  # the routes raise kg.errors; mounted alone, they still answer problem+json
        _close_on_shutdown(app)
    runner.wait_ready(wait_s)
    return runner


def _close_on_shutdown(app: FastAPI) -> None:
    """Wrap the app's lifespan so the current runner's workers are killed at shutdown."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        try:
            async with inner(a) as state:
                yield state
        finally:
            current = getattr(a.state, "sparql_runner", None)
            if current is not None:
                current.close()

    app.router.lifespan_context = lifespan
