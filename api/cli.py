"""`therapy-kg serve`: the HTTP API's subcommand, added to kg's command line through an entry point.

kg's CLI never imports the API (the dependencies point one way: api on kg); it finds this function in
the `therapy_kg.commands` entry-point group of the installed package (pyproject.toml).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kg.cli import positive_int


def add_serve_command(sub: argparse._SubParsersAction) -> None:
    """Add `serve` and its options to the `therapy-kg` parser."""
    p = sub.add_parser("serve", help="start the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--sparql-endpoint", default=None, help="use a remote SPARQL 1.1 endpoint instead of the embedded store"
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes (default 1; one per core answers in parallel, each holds its own graph)",
    )
    p.add_argument(
        "--sparql-worker-memory-mb",
        type=positive_int,
        default=None,
        help="address-space ceiling of one SPARQL query worker (default 1024)",
    )
    p.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="run SPARQL workers even where their seccomp network filter cannot be installed "
        "(default: refuse to start)",
    )
    p.add_argument(
        "--public-url",
        default=None,
        help="base URL clients reach the API at; links and the CDS token audience use it, never the "
        "Host header (default: http://HOST:PORT)",
    )
    p.add_argument(
        "--allowed-hosts",
        default=None,
        help="comma-separated Host values accepted, NAME or NAME:PORT (default: the public URL's host and "
        "port, and the loopback names on it and on --port)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="reverse proxies (comma-separated IPs) whose X-Forwarded-For/-Proto are believed "
        "(default: none, the headers are ignored)",
    )
    p.add_argument(
        "--cds-issuers",
        type=Path,
        default=None,
        help="JSON allow-list of trusted CDS clients (iss -> JWKS file or URL): every CDS call then needs "
        "the client's signed JWT",
    )
    p.add_argument(
        "--cds-allow-unauthenticated",
        action="store_true",
        help="serve CDS Hooks without client authentication on a non-loopback address (not for production)",
    )
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from api.serve import serve

    serve(
        host=args.host,
        port=args.port,
        sparql_endpoint=args.sparql_endpoint,
        workers=args.workers,
        allow_unsandboxed=args.allow_unsandboxed or None,
        sparql_worker_memory_mb=args.sparql_worker_memory_mb,
        public_url=args.public_url,
        allowed_hosts=args.allowed_hosts,
        cds_issuers=args.cds_issuers,
        cds_allow_unauthenticated=args.cds_allow_unauthenticated or None,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0
