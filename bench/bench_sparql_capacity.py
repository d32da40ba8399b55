"""/sparql beside the Oxigraph server on the same release (issue 22 item 7): completed queries/s, p50, p99, errors.

Starts `therapy-kg serve --workers 1` (the embedded store, its sandboxed query workers) and
`oxigraph serve-read-only` loaded with the release the API builds, then runs each competency query
(parameters bound by a VALUES clause, the same text for both) with wrk at 1 and at 16 connections,
the two servers in turn for each query and connection count, so both see the same phase of this VM.
Prints per query: completed queries/s, p50, p99 and non-2xx answers of each, and the ratios.
Targets at 16 connections: 0 errors on every query; on the heavier ones (therapy ladder,
intervention statements, statements with sources, dosing for a population) ≥ 0.5× Oxigraph's
queries/s, and at 1 connection a p50 ≤ 1.5× Oxigraph's. On the small ones the overhead per request
(p50 here minus p50 there, at 1 connection) is printed.
Run: .venv/bin/python bench/bench_sparql_capacity.py [--seconds S]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report
from bench.server import HOST, free_port, start_server, stop_server, wrk
from kg.ontology.build import build
from kg.store.queries import load_queries
from kg.store.release import release_ntriples

TKG = "https://w3id.org/therapy-kg/"
#: the competency queries and the values their parameters are bound to (as in tests/test_competency_queries.py)
QUERIES = {
    "therapy-ladder": {"condition": TKG + "GeneralizedSpasticity"},
    "intervention-statements": {"intervention": TKG + "OralBaclofen"},
    "statements-with-sources": {},
    "dosing-for-population": {"intervention": TKG + "OralBaclofen", "population": TKG + "OlderAdult"},
    "is-first-line": {"intervention": TKG + "OralBaclofen", "condition": TKG + "MuscleSpasm"},
    "term": {"term": TKG + "Spasticity"},
}
HEAVIER = {"therapy-ladder", "intervention-statements", "statements-with-sources", "dosing-for-population"}
_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def query_text(name: str) -> str:
    """The query file with its parameters bound by a trailing VALUES clause (a text any SPARQL 1.1 server runs)."""
    query = load_queries()[name]
    values = QUERIES[name]
    if not query.parameters:
        return query.text
    variables = " ".join(f"?{p.variable}" for p in query.parameters)
    terms = " ".join(f"<{values[p.name]}>" for p in query.parameters)
    return f"{query.text}\nVALUES ({variables}) {{ ({terms}) }}"


def measure(url: str, connections: int, seconds: float) -> dict[str, float]:
    completed = wrk(url, connections, seconds, "--latency", "--timeout", "30s")
    latency = {q: float(v) * _UNIT[u] for q, v, u in _LATENCY.findall(completed)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", completed)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", completed)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", completed).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": float(non_2xx.group(1) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def start_oxigraph(folder: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    data = folder / "release.nt"
    data.write_bytes(release_ntriples(build()))
    subprocess.run(
        [binary, "load", "--location", str(folder / "db"), "--file", str(data)], check=True, capture_output=True
    )
    port = free_port()
    process = subprocess.Popen(
        [binary, "serve-read-only", "--location", str(folder / "db"), "--bind", f"{HOST}:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}/query"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("the Oxigraph server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5, help="seconds of wrk per query, server and connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not on PATH (Debian: apt-get install wrk); this benchmark needs it")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        api = start_server(port)
        oxigraph, oxigraph_url = start_oxigraph(Path(tmp))
        try:
            print(
                f"wrk, {args.seconds:g} s per run; /sparql (therapy-kg serve, 1 uvicorn worker) and Oxigraph "
                "serve-read-only on the same release, in turn"
            )
            for name in QUERIES:
                encoded = urllib.parse.urlencode({"query": query_text(name)})
                ours, theirs = f"http://{HOST}:{port}/sparql?{encoded}", f"{oxigraph_url}?{encoded}"
                measure(ours, 1, 1), measure(theirs, 1, 1)  # warm-up
                print(f"-- {name}{' (heavier)' if name in HEAVIER else ''}")
                for connections in (1, 16):
                    here, there = measure(ours, connections, args.seconds), measure(theirs, connections, args.seconds)
                    tag = f"{connections:>2} conn"
                    report(f"{tag}: /sparql queries/s (Oxigraph {there['rps']:.0f})", here["rps"], "q/s")
                    report(f"{tag}: /sparql p50 (Oxigraph {there['p50']:.2f})", here["p50"], "ms")
                    report(f"{tag}: /sparql p99 (Oxigraph {there['p99']:.2f})", here["p99"], "ms")
                    errors_ok = here["errors"] == 0 if connections == 16 else None
                    report(
                        f"{tag}: /sparql non-2xx + socket errors (Oxigraph {there['errors']:.0f})",
                        here["errors"],
                        "",
                        "target 0" if connections == 16 else "",
                        errors_ok,
                    )
                    if connections == 16 and name in HEAVIER:
                        ratio = here["rps"] / there["rps"]
                        report(f"{tag}: queries/s ratio to Oxigraph", ratio, "x", "target >= 0.5", ratio >= 0.5)
                    if connections == 1:
                        ratio = here["p50"] / there["p50"]
                        target = "target <= 1.5" if name in HEAVIER else ""
                        report(
                            f"{tag}: p50 ratio to Oxigraph",
                            ratio,
                            "x",
                            target,
                            ratio <= 1.5 if name in HEAVIER else None,
                        )
                        report(f"{tag}: overhead per request (p50 difference)", here["p50"] - there["p50"], "ms")
        finally:
            stop_server(api)
            stop_server(oxigraph)


if __name__ == "__main__":
    main()
