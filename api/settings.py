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
