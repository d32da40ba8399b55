"""All API settings in one pydantic-settings class, read once and passed to `create_app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kg.errors import ConfigError

__all__ = ["ConfigError", "Settings"]  # ConfigError: a setting the server cannot start with


class Settings(BaseSettings):
    """Environment variables use the prefix `TKG_` (e.g. `TKG_SPARQL_ENDPOINT`)."""

    model_config = SettingsConfigDict(env_prefix="TKG_", frozen=True)

    sparql_endpoint: str | None = Field(
        default=None, description="Remote SPARQL 1.1 query endpoint; None means the embedded Oxigraph store."
    )
    knowledge_version: str = Field(
        default="release",
        min_length=1,
        description="Which release a remote store must hold: `release` (the one this code was built and tested "
        "with), `any` (whichever whole release it holds: recompiled when it changes) or an exact version.",
    )
    knowledge_check_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the remote store's release is checked again (whole, expected version; "
        "recompiled when it changed).",
    )
    sparql_protocol: str | None = Field(
        default=None,
        pattern="^(direct-post|form-post|get)$",
        description="How queries are sent to the remote store (SPARQL 1.1 Protocol operation); default: asked "
        "of the server once (direct POST, then form POST, then GET).",
    )
    query_timeout_s: float = Field(default=10.0, gt=0, description="Time limit of one SPARQL query.")
    max_rows: int = Field(default=10_000, gt=0, description="Row cap of /sparql results (a truncation flag is set).")
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Larger request bodies get 413.")
    max_bundle_bytes: int = Field(
        default=16 * 1_048_576,
        gt=0,
        description="The body limit for FHIR records: /evaluate with a Bundle (application/fhir+json, or a body "
        "whose resourceType is Bundle) and CDS Hooks calls (prefetched records); real bundles of 1-10 MB are "
        "normal. Other bodies keep max_body_bytes.",
    )
    max_connections: int = Field(
        default=1000,
        ge=16,
        description="Connections and requests uvicorn serves at once (per worker process); "
        "beyond them it answers 503 at once.",
    )
    keep_alive_s: float = Field(
        default=5.0, gt=0, le=300, description="An idle keep-alive connection is closed after this long."
    )
    body_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A request body must arrive whole within this time of the request's "
        "start, or 408 and the connection is closed; no route, and so no evaluation place, is reached before.",
    )
    reasoner_timeout_s: float = Field(default=60.0, gt=0, description="Time limit of one owl-engine evaluation.")
    reasoner_memory_mb: int = Field(default=1024, gt=0, description="Java heap bound of the DL reasoner.")
    sparql_worker_memory_mb: int = Field(
        default=1024,
        ge=256,
        description="Address-space ceiling of one SPARQL query worker (RLIMIT_AS); a query "
        "that needs more gets 503 and the worker is replaced.",
    )
    sparql_max_answer_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest serialised answer of one SPARQL query (also a remote "
        "store's answer before it is re-serialised); a larger one gets 503 naming this limit, never buffered whole.",
    )
    sparql_extension_functions: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Function IRIs (comma-separated) a query may call besides the SPARQL 1.1 "
        "built-ins; default none: an extension function, which a remote store may act on, gets 400.",
    )
    sparql_workers: int | None = Field(
        default=None, ge=1, le=64, description="SPARQL query worker processes (default: one per core)."
    )
    sparql_max_wait_s: float | None = Field(
        default=None,
        gt=0,
        description="A query is admitted only if it can get a worker within this time, judged "
        "from the running queries and the mean time of recent ones (default: a quarter of query_timeout_s); "
        "otherwise 503 with Retry-After at once.",
    )
    sparql_queue: int = Field(
        default=64,
        ge=0,
        le=1024,
        description="Most SPARQL queries that may wait for a worker, whatever their "
        "expected wait; beyond them 503 with Retry-After at once.",
    )
    allow_unsandboxed: bool = Field(
        default=False,
        description="Run SPARQL workers even where their network filter (seccomp) cannot be "
        "installed. Off by default: the server refuses to start instead.",
    )
    # -- public URL, Host names, CDS Hooks client authentication (api/hosts.py, api/cds/auth.py)
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the API at (scheme://host[:port][/path]); links and the "
        "CDS token audience are built from it, never from the Host header. Default http://127.0.0.1:8000 "
        "(serve: http://{host}:{port}).",
    )
    allowed_hosts: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Host header names accepted, comma-separated; others get 400. Default: the "
        "public URL's host, localhost, 127.0.0.1 and [::1].",
    )
    listen_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="The port serve listens on: the loopback names are accepted with "
        "it (besides the public URL's port).",
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Proxies (comma-separated IPs or networks) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; default none: the headers are ignored.",
    )
    listen_host: str = Field(
        default="127.0.0.1",
        description="The address serve listens on: off loopback, CDS Hooks calls need a "
        "signed client JWT unless cds_allow_unauthenticated is set.",
    )
    cds_issuers: Path | None = Field(
        default=None,
        description="JSON allow-list of trusted CDS clients (iss -> JWKS file or URL); when set, "
        "every CDS service and feedback call needs a valid signed JWT.",
    )
    cds_allow_unauthenticated: bool = Field(
        default=False,
        description="Serve CDS Hooks without client authentication on a non-loopback address "
        "(a loud start-up warning); ignored when cds_issuers is set.",
    )
    cds_clock_skew_s: float = Field(default=60.0, ge=0, le=600, description="Leeway on a CDS token's exp and iat.")
    cds_max_token_lifetime_s: float = Field(
        default=300.0, gt=0, le=3600, description="Longest accepted exp - iat of a CDS client token."
    )
    cds_replay_cache_size: int = Field(
        default=100_000,
        ge=1,
        description="CDS token ids (iss, jti) remembered until they expire; when full, new "
        "tokens get 503 rather than an unchecked replay.",
    )
    # -- hostile input and load shedding (api/body.py, api/admission.py)
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=128,
        description="Deepest nesting of arrays and objects accepted in a JSON body; "
        "deeper gets 422 naming the limit. At most 128: the FHIR models recurse in Python.",
    )
    evaluate_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Threads that parse and evaluate patients (/evaluate, CDS services), "
        "off the event loop so /health and the lookups stay fast.",
    )
    evaluate_queue: int = Field(
        default=256,
        ge=0,
        description="Most evaluations that may wait for a busy thread; beyond them a request "
        "gets 503 with Retry-After at once.",
    )
    evaluate_max_wait_s: float = Field(
        default=0.5,
        gt=0,
        description="An evaluation or CDS call is admitted only if it could get a thread within "
        "this time, judged from those waiting and the mean time of recent ones; otherwise 503 with Retry-After.",
    )
    evaluate_inline_bytes: int = Field(
        default=0,
        ge=0,
        description="Bodies up to this size are parsed and evaluated on the event loop instead of "
        "the evaluation threads, still needing a place (the hop to a thread costs more than a small patient: with "
        "4096, throughput as on the loop; with 0, every body to the threads: fairer under overload, /health "
        "stays answering, about 17% less throughput at 16 connections). A 4 KiB body holds the loop at most ~6 ms.",
    )
    cds_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Threads that answer CDS Hooks service calls: a pool of their own, so "
        "/evaluate traffic never takes an EHR's places.",
    )
    cds_queue: int = Field(
        default=64,
        ge=0,
        description="CDS service calls that may wait for a busy thread; beyond them 503 with Retry-After at once.",
    )
    reasoner_queue: int = Field(
        default=4,
        ge=0,
        description="owl-engine evaluations that may wait for one of the two reasoner slots; "
        "beyond them 503 with Retry-After at once.",
    )

    @field_validator("allowed_hosts", "sparql_extension_functions", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) else value
