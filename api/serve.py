"""`therapy-kg serve`: run the API with uvicorn, in one process or several.

Several worker processes (`--workers N`) answer in parallel on N cores; each builds its own copy
of the graph at start-up (the API keeps no state between requests, so they never need to agree on
anything). Workers are separate interpreters that build the app from the environment, so the
settings given here travel as `TKG_*` variables.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.settings import Settings

log = logging.getLogger("therapy-kg.serve")


def serve(
    host: str = "127.0.0.1", port: int = 8000, sparql_endpoint: str | None = None, workers: int = 1, **settings: object
) -> None:
    """Run the API; `settings` are further `Settings` fields (e.g. allow_unsandboxed=True), None meaning default."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    overrides = {k: v for k, v in {"sparql_endpoint": sparql_endpoint, **settings}.items() if v is not None}
    overrides.update(
        listen_host=host, listen_port=port, public_url=overrides.get("public_url") or _default_public_url(host, port)
    )
    resolved = Settings.model_validate(overrides)  # invalid settings fail here, before any worker starts
    configure_logging()
    app = create_app(resolved)  # so do a bad public URL and CDS Hooks without authentication off loopback
    _warn_about_cds(resolved, host, workers, public_url_given=bool(settings.get("public_url")))
    if resolved.allow_unsandboxed:
        log.warning(
            "--allow-unsandboxed: SPARQL workers will run even where their network filter cannot be "
            "installed; a query could then open connections from this host"
        )
    common: dict[str, Any] = {  # uvicorn.run's keyword arguments
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": False,  # no patient data in logs
        **uvicorn_limits(resolved),
    }
    if workers == 1:
        uvicorn.run(app, **common)
        return
    for name, value in overrides.items():  # worker processes build their settings from the environment
        os.environ[f"TKG_{name.upper()}"] = str(value)
    uvicorn.run("api.serve:worker_app", factory=True, workers=workers, **common)


def worker_app() -> FastAPI:
    """The app of one of several worker processes: its settings from the environment, its log as serve's."""
    configure_logging()
    return create_app()


def configure_logging() -> None:
    """therapy-kg's own log lines (INFO and up) to stderr beside uvicorn's, in its format; never a request body,
    a token or patient data: the modules log methods, routes, statuses and types of errors only."""
    logger = logging.getLogger("therapy-kg")
    if not any(getattr(h, "_therapy_kg", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        handler._therapy_kg = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's own limits: forwarded headers believed only from the configured proxies (uvicorn trusts
    127.0.0.1 by default), a bound on connections, idle keep-alive connections closed after a few seconds."""
    return {
        "proxy_headers": settings.forwarded_allow_ips is not None,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_s,
        "server_header": False,
    }


def _default_public_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _warn_about_cds(settings: Settings, host: str, workers: int, public_url_given: bool) -> None:
    if host in ("0.0.0.0", "::", "") and not public_url_given:
        log.warning(
            "no --public-url: card links and the CDS token audience name %s, which clients cannot reach; "
            "give the URL clients use",
            settings.public_url,
        )
    if settings.cds_issuers is not None and workers > 1:
        log.warning(
            "CDS token replay is checked per worker process: a replay sent to another of the %d workers "
            "within the token's lifetime (at most %d s) is not detected",
            workers,
            int(settings.cds_max_token_lifetime_s),
        )
