"""HTTP latency of the API on the embedded store (SPEC §11): POST /evaluate p50/p99 with 1 and 16
concurrent clients, and /sparql competency-query p50.

Starts `therapy-kg serve` on a free loopback port in a child process, drives it with httpx from
this process, and stops it. Targets: /evaluate ≤ 10 ms median and ≤ 50 ms p99 with 16 clients.
Run: .venv/bin/python bench/bench_api.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median, percentile, report  # noqa: E402

VIGNETTES = [json.loads(p.read_text())["patient"] for p in sorted((ROOT / "tests" / "vignettes").glob("*.json"))]
SPARQL = (ROOT / "queries" / "engine" / "statement-sources.rq").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("the API did not start within 60 s")


async def _client(base: str, n: int, offset: int, latencies: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(n):
            body = VIGNETTES[(offset + i) % len(VIGNETTES)]
            start = time.perf_counter()
            response = await client.post("/evaluate", json=body)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text


async def evaluate_load(base: str, clients: int, per_client: int) -> list[float]:
    latencies: list[float] = []
    await asyncio.gather(*(_client(base, per_client, c, latencies) for c in range(clients)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1600, help="requests per load level")
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = start_server(port)
    startup = time.perf_counter() - started
    try:
        asyncio.run(evaluate_load(base, 4, 50))  # warm-up
        one = asyncio.run(evaluate_load(base, 1, args.requests // 4))
        sixteen = asyncio.run(evaluate_load(base, 16, args.requests // 16))
        sparql = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(200):
                start = time.perf_counter()
                response = client.post("/sparql", content=SPARQL, headers={
                    "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
                sparql.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"API on the embedded store, uvicorn, one process; {len(one)} + {len(sixteen)} /evaluate requests")
    report("start-up to first /health (build + classify + load)", startup, "s", "target <= 10 s", startup <= 10)
    report("/evaluate p50, 1 client", median(one) * 1000, "ms", "target <= 10 ms", median(one) * 1000 <= 10)
    report("/evaluate p99, 1 client", percentile(one, 99) * 1000, "ms")
    report("/evaluate p50, 16 concurrent clients", median(sixteen) * 1000, "ms", "target <= 10 ms", median(sixteen) * 1000 <= 10)
    report("/evaluate p99, 16 concurrent clients", percentile(sixteen, 99) * 1000, "ms", "target <= 50 ms",
           percentile(sixteen, 99) * 1000 <= 50)
    report("/sparql competency query p50 (statement sources)", median(sparql) * 1000, "ms", "target <= 20 ms",
           median(sparql) * 1000 <= 20)


if __name__ == "__main__":
    main()
