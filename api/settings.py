"""All API settings in one pydantic-settings class, read once and passed to `create_app`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Environment variables use the prefix `TKG_` (e.g. `TKG_SPARQL_ENDPOINT`)."""

    model_config = SettingsConfigDict(env_prefix="TKG_", frozen=True)

    sparql_endpoint: str | None = Field(
        default=None, description="Remote SPARQL 1.1 query endpoint; None means the embedded Oxigraph store."
    )
    query_timeout_s: float = Field(default=10.0, gt=0, description="Time limit of one SPARQL query.")
    max_rows: int = Field(default=10_000, gt=0, description="Row cap of /sparql results (a truncation flag is set).")
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Larger request bodies get 413.")
    reasoner_timeout_s: float = Field(default=60.0, gt=0, description="Time limit of one owl-engine evaluation.")
    reasoner_memory_mb: int = Field(default=1024, gt=0, description="Java heap bound of the DL reasoner.")
    sparql_worker_memory_mb: int = Field(
        default=1024, ge=256, description="Address-space ceiling of one SPARQL query worker (RLIMIT_AS); a query "
        "that needs more gets 503 and the worker is replaced.")
    sparql_queue: int | None = Field(
        default=None, ge=0, description="SPARQL queries that may wait for a busy worker (default: 4 per worker); "
        "beyond them a query gets 503 with Retry-After at once.")
    allow_unsandboxed: bool = Field(
        default=False, description="Run SPARQL workers even where their network filter (seccomp) cannot be "
        "installed. Off by default: the server refuses to start instead.")
