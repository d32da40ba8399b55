"""`create_app(settings)`: the therapy-kg FastAPI application, one router per resource."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import admission, pages
from api.errors import install_error_handlers
from api.hosts import HostCheckMiddleware, allowed_hosts, public_url
from api.knowledge_watch import KnowledgeWatch
from api.middleware import BodySizeLimitMiddleware
from api.page_policy import PagePolicyMiddleware
from api.settings import Settings
from api.sparql.editor import ASSETS as EDITOR_ASSETS
from api.sparql.editor import STATIC as EDITOR_STATIC
from api.state import AppState, load_state
from kg import __version__


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    """Build the app. `state` lets tests share one prebuilt graph; otherwise it is built at start-up."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        current = state or load_state(settings)
        _attach(app, current)
        watch = KnowledgeWatch(current) if current.committed is not None else None  # a remote store's release
        if watch is not None:
            watch.start()
        app.state.admission = admission.Admission.from_settings(settings)  # the evaluation and reasoner pools
        # The graph, the compiled knowledge and the caches live as long as the process: moved out of the
        # collector's sight, a full collection no longer walks them (measured: /evaluate p99 at 16 clients).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if watch is not None:
                watch.stop()
            app.state.admission.close()
            runner = getattr(app.state, "sparql_runner", None)
            if runner is not None:
                runner.close()

    app = FastAPI(
        docs_url=None,  # /docs and /redoc: api/pages.py, offline
        redoc_url=None,
        title="therapy-kg",
        version=__version__,
        description="A computable clinical-guideline knowledge graph: baclofen, spasticity and muscle spasm. "
        "Every answer cites the statements and numbered sources it rests on.",
        lifespan=lifespan,
        redirect_slashes=False,  # a redirect's Location would be built from the Host header
    )
    app.state.settings = settings
    app.state.public_url = public_url(settings)  # links are built from it, never from the Host header
    errors_url = f"{app.state.public_url}/errors"
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        errors_url=errors_url,
        large_bytes=max(settings.max_bundle_bytes, settings.max_body_bytes),
        large_paths=RECORD_PATHS,
    )
    app.add_middleware(HostCheckMiddleware, allowed=allowed_hosts(settings), errors_url=errors_url)
    app.add_middleware(PagePolicyMiddleware)  # the pages load nothing from another origin
    install_error_handlers(app)  # every error as problem+json, its status from api/errors.py
    from api.routers import errors, evaluate, health

    app.include_router(health.router)
    app.include_router(errors.router)
    app.include_router(evaluate.router)
    app.mount(EDITOR_ASSETS, StaticFiles(directory=EDITOR_STATIC), name="sparql-editor")  # YASGUI, vendored
    app.mount(pages.DOCS_VENDOR, StaticFiles(directory=pages.DOCS_VENDOR_DIR), name="docs-assets")  # fastapi-offline
    app.mount(pages.PAGE_ASSETS, StaticFiles(directory=pages.PAGE_ASSETS_DIR), name="page-assets")
    app.include_router(pages.router)
    evaluate.register_schemas(app)
    _include_optional_routers(app)
    return app


#: the routes whose bodies may be FHIR records, up to `max_bundle_bytes` (the rest: `max_body_bytes`)
RECORD_PATHS = ("/evaluate", "/cds-services/")


def _attach(app: FastAPI, state: AppState) -> None:
    app.state.app_state = state
    app.state.store = state.store
    app.state.service = state.service
    from api.sparql import install_sparql

    install_sparql(app, state.store, state.settings)


def _include_optional_routers(app: FastAPI) -> None:
    """Routers of resources built in their own modules (lookups, named queries, CDS Hooks)."""
    from api.routers import cds_hooks, lookups, named_queries, term_pages

    for module in (lookups, named_queries, cds_hooks, term_pages):
        app.include_router(module.router)
    cds_hooks.install(app, app.state.settings)  # CDS client authentication: may refuse to start
