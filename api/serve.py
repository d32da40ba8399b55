"""`therapy-kg serve`: run the API with uvicorn."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from api.settings import Settings


def serve(host: str = "127.0.0.1", port: int = 8000, sparql_endpoint: str | None = None) -> None:
    overrides = {"sparql_endpoint": sparql_endpoint} if sparql_endpoint else {}
    settings = Settings(**overrides)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
