"""HTTP latency of the API on the embedded store (SPEC §11): POST /evaluate p50/p99 with 1 and 16
concurrent clients, start-up, and /sparql competency-query p50.

Starts `therapy-kg serve` on a free loopback port, once with one worker process and once with one
per core, loads it with the 17 vignette patients in turn, and stops it. The load comes from `wrk`
when it is installed (Debian's package: C, next to no CPU of its own), else from the keep-alive
client of bench/http_load.py, which shares the machine's cores with the server and so overstates
latency under load; the output says which one ran.
Targets: /evaluate ≤ 10 ms median and ≤ 50 ms p99 with 16 clients; start-up ≤ 10 s; query ≤ 20 ms.
Run: .venv/bin/python bench/bench_api.py [--requests N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median, percentile, report
from bench.http_load import load, post_json
from bench.server import HOST, free_port, probe_health, start_server, stop_server, wrk

VIGNETTES = [json.loads(p.read_text())["patient"] for p in sorted((ROOT / "tests" / "vignettes").glob("*.json"))]
SPARQL = (ROOT / "queries" / "engine" / "statement-sources.rq").read_text()
_WRK_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _wrk_script(directory: Path) -> Path:
    """A wrk script that posts the vignette patients in turn."""
    bodies = ",\n".join(f"[==[{json.dumps(v)}]==]" for v in VIGNETTES)
    script = directory / "evaluate.lua"
    script.write_text(
        f"local bodies = {{\n{bodies}\n}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        '  return wrk.format("POST", "/evaluate", {["Content-Type"] = "application/json"}, bodies[n % #bodies + 1])\n'
        "end\n"
        "response = function(status, headers, body)\n"
        '  if status ~= 200 then error("HTTP " .. status) end\nend\n'
    )
    return script


def wrk_latency(port: int, clients: int, seconds: float, script: Path) -> tuple[float, float, float]:
    """(p50 s, p99 s, requests/s) of `clients` keep-alive connections for `seconds`."""
    out = wrk(f"http://{HOST}:{port}/evaluate", clients, seconds, "--latency", "-s", str(script))
    if "Non-2xx" in out or "errors" in out.lower():
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    found = {q: float(v) * _UNIT_S[u] for q, v, u in _WRK_LATENCY.findall(out)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return found["50"], found["99"], rate


def client_latency(port: int, clients: int, requests: int) -> tuple[float, float, float]:
    encoded = [post_json(HOST, port, "/evaluate", v) for v in VIGNETTES]
    started = time.perf_counter()
    latencies = load(HOST, port, encoded, clients, max(1, requests // clients))
    elapsed = time.perf_counter() - started
    return median(latencies), percentile(latencies, 99), len(latencies) / elapsed


def sparql_p50(port: int) -> float:
    latencies = []
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        for _ in range(200):
            start = time.perf_counter()
            response = client.post(
                "/sparql",
                content=SPARQL,
                headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
            )
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    return median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3200, help="requests per load level (Python client)")
    parser.add_argument("--seconds", type=float, default=8, help="seconds per load level (wrk)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    use_wrk = shutil.which("wrk") is not None
    print(
        f"API on the embedded store (uvicorn), {len(VIGNETTES)} vignette patients in turn; load from "
        + ("wrk" if use_wrk else "the Python keep-alive client (no wrk on PATH: latency under load is overstated)")
    )
    with tempfile.TemporaryDirectory() as tmp:
        script = _wrk_script(Path(tmp)) if use_wrk else None
        for workers in sorted({1, cores}):
            port = free_port()
            started = time.perf_counter()
            server = start_server(port, workers)
            startup = time.perf_counter() - started
            try:
                measure = (
                    (lambda c, p=port: wrk_latency(p, c, args.seconds, script))
                    if use_wrk
                    else (lambda c, p=port: client_latency(p, c, args.requests))
                )
                measure(4)  # warm-up
                one = measure(1)
                stop, health = threading.Event(), []
                prober = threading.Thread(target=probe_health, args=(port, stop, health))
                prober.start()
                try:
                    sixteen = measure(16)
                finally:
                    stop.set()
                    prober.join()
                query = sparql_p50(port) if workers == 1 else None
            finally:
                stop_server(server)
            print(f"-- {workers} worker process{'es' if workers > 1 else ''}")
            report("start-up to first /health (build + classify + load)", startup, "s", "target <= 10 s", startup <= 10)
            report("/evaluate p50, 1 client", one[0] * 1000, "ms", "target <= 10 ms", one[0] * 1000 <= 10)
            report("/evaluate p99, 1 client", one[1] * 1000, "ms")
            report(
                "/evaluate p50, 16 concurrent clients",
                sixteen[0] * 1000,
                "ms",
                "target <= 10 ms",
                sixteen[0] * 1000 <= 10,
            )
            report(
                "/evaluate p99, 16 concurrent clients",
                sixteen[1] * 1000,
                "ms",
                "target <= 50 ms",
                sixteen[1] * 1000 <= 50,
            )
            report("/evaluate throughput, 16 concurrent clients", sixteen[2], "req/s")
            report("/health p50 beside the 16 clients (every 20 ms)", median(health) * 1000, "ms")
            report("/health p99 beside the 16 clients", percentile(health, 99) * 1000, "ms")
            if query is not None:
                report(
                    "/sparql competency query p50 (statement sources)",
                    query * 1000,
                    "ms",
                    "target <= 20 ms",
                    query * 1000 <= 20,
                )


if __name__ == "__main__":
    main()
