"""`therapy-kg serve`: run the API with uvicorn, in one process or several.

Several worker processes (`--workers N`) answer in parallel on N cores; each builds its own copy
of the graph at start-up (the API keeps no state between requests, so they never need to agree on
anything). Workers are separate interpreters that build the app from the environment, so the
settings given here travel as `TKG_*` variables.
"""

from __future__ import annotations

import os

import uvicorn

from api.app import create_app
from api.settings import Settings


def serve(host: str = "127.0.0.1", port: int = 8000, sparql_endpoint: str | None = None, workers: int = 1) -> None:
    if workers < 1:
        raise ValueError("workers must be at least 1")
    overrides = {"sparql_endpoint": sparql_endpoint} if sparql_endpoint else {}
    settings = Settings(**overrides)  # invalid settings fail here, before any worker starts
    common = {"host": host, "port": port, "log_level": "info", "access_log": False}  # no patient data in logs
    if workers == 1:
        uvicorn.run(create_app(settings), **common)
        return
    if sparql_endpoint:
        os.environ["TKG_SPARQL_ENDPOINT"] = sparql_endpoint
    uvicorn.run("api.app:create_app", factory=True, workers=workers, **common)
