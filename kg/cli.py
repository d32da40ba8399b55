"""The `therapy-kg` command: each subcommand parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kg.errors import TherapyKGError


def _cmd_build(args: argparse.Namespace) -> int:
    from kg.build import build, write_release

    result = build(args.source, reason=not args.no_reason)
    path = write_release(result, Path(args.out))
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    print(f"built {path} ({result.triple_count} triples, {result.inferred_axioms} inferred axioms; {timings})")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from kg.qc import run_checks

    problems = run_checks(args.source)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from kg.batch import evaluate_file

    return evaluate_file(Path(args.file), engine=args.engine, out=sys.stdout, progress=not args.quiet)


def _cmd_explain(args: argparse.Namespace) -> int:
    from kg.batch import explain_file

    return explain_file(Path(args.file), engine=args.engine, out=sys.stdout)


def _cmd_serve(args: argparse.Namespace) -> int:
    from api.serve import serve

    serve(host=args.host, port=args.port, sparql_endpoint=args.sparql_endpoint, workers=args.workers,
          allow_unsandboxed=args.allow_unsandboxed or None, sparql_worker_memory_mb=args.sparql_worker_memory_mb,
          public_url=args.public_url, allowed_hosts=args.allowed_hosts, cds_issuers=args.cds_issuers,
          cds_allow_unauthenticated=args.cds_allow_unauthenticated or None,
          forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=["fast", "owl"], default="fast", help="reasoning engine (default: fast)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="therapy-kg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    source_help = "ontology source folder (default: the shipped ontology/)"

    p = sub.add_parser("build", help="validate, classify and write the release graph")
    p.add_argument("--source", type=Path, default=None, help=source_help)
    p.add_argument("--out", default="therapy-kg-release", help="output folder (default: ./therapy-kg-release)")
    p.add_argument("--no-reason", action="store_true", help="skip the HermiT classification")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("check", help="quality-control report (labels, definitions, header, qc queries)")
    p.add_argument("--source", type=Path, default=None, help=source_help)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("evaluate", help="evaluate a patient JSON, FHIR Bundle or NDJSON file")
    p.add_argument("file", help="patient file (.json, FHIR Bundle .json, or .ndjson); - for stdin")
    _engine_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar for NDJSON input")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("explain", help="the evaluation of one patient as readable text with citations")
    p.add_argument("file", help="patient file (.json or FHIR Bundle .json); - for stdin")
    _engine_option(p)
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser("serve", help="start the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--sparql-endpoint", default=None, help="use a remote SPARQL 1.1 endpoint instead of the embedded store")
    p.add_argument("--workers", type=_positive, default=1,
                   help="worker processes (default 1; one per core answers in parallel, each holds its own graph)")
    p.add_argument("--sparql-worker-memory-mb", type=_positive, default=None,
                   help="address-space ceiling of one SPARQL query worker (default 1024)")
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="run SPARQL workers even where their seccomp network filter cannot be installed "
                   "(default: refuse to start)")
    p.add_argument("--public-url", default=None,
                   help="base URL clients reach the API at; links and the CDS token audience use it, never the "
                   "Host header (default: http://HOST:PORT)")
    p.add_argument("--allowed-hosts", default=None,
                   help="comma-separated Host values accepted, NAME or NAME:PORT (default: the public URL's host and "
                   "port, and the loopback names on it and on --port)")
    p.add_argument("--forwarded-allow-ips", default=None,
                   help="reverse proxies (comma-separated IPs) whose X-Forwarded-For/-Proto are believed "
                   "(default: none, the headers are ignored)")
    p.add_argument("--cds-issuers", type=Path, default=None,
                   help="JSON allow-list of trusted CDS clients (iss -> JWKS file or URL): every CDS call then needs "
                   "the client's signed JWT")
    p.add_argument("--cds-allow-unauthenticated", action="store_true",
                   help="serve CDS Hooks without client authentication on a non-loopback address (not for production)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except TherapyKGError as exc:
        print(f"therapy-kg {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
