"""/health while /sparql is flooded with pathological queries (issue 8): the cheap routes never wait behind SPARQL.

Starts `therapy-kg serve --workers 1` on a loopback port and measures GET /health every 20 ms: alone
(idle), then under two loads of pathological queries (a COUNT over an 8-fold cross product of the
graph: it runs to the query time limit), all in the same run:
* queued: 120 clients each keep one such query in flight, and after a 503 wait its Retry-After as a
  client should (the security issue's scenario; target /health p99 ≤ 100 ms). They run in a process of
  their own, so the probe does not share an interpreter with them;
* flooded: 120 wrk connections (Debian's `wrk`: C) that resend at once whatever the answer: a denial
  of service by refusals, thousands a second. Reported beside the rest, no target.
Run: .venv/bin/python bench/bench_sparql_isolation.py [--seconds S] [--clients N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median, percentile, report
from bench.server import HOST, free_port, probe_health, start_server, stop_server, wrk

PATHOLOGICAL = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"?s{i} ?p{i} ?o{i} ." for i in range(8)) + " }"


def _health_during(port: int, seconds: float, load: Callable[[], str] | None) -> tuple[list[float], str]:
    """/health latencies for `seconds`, with `load` (a wrk run) running meanwhile; wrk's output."""
    stop, latencies = threading.Event(), []
    prober = threading.Thread(target=probe_health, args=(port, stop, latencies))
    prober.start()
    try:
        if load is None:
            time.sleep(seconds)
            return latencies, ""
        return latencies, load()
    finally:
        stop.set()
        prober.join()


def _polite_clients(port: int, seconds: float, clients: int, counts: multiprocessing.Queue) -> None:
    """`clients` loops of one pathological query each, honouring Retry-After; puts {status: count}."""

    async def one(client: httpx.AsyncClient, until: float, seen: Counter) -> None:
        while time.monotonic() < until:
            try:
                response = await client.get("/sparql", params={"query": PATHOLOGICAL})
            except httpx.HTTPError as exc:  # counted, not fatal: connection errors are a finding too
                seen[type(exc).__name__] += 1
                continue
            seen[response.status_code] += 1
            if response.status_code == 503 and "retry-after" in response.headers:
                await asyncio.sleep(min(float(response.headers["retry-after"]), max(0.0, until - time.monotonic())))

    async def run() -> Counter:
        seen: Counter = Counter()
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=120, limits=limits) as client:
            until = time.monotonic() + seconds
            await asyncio.gather(*(one(client, until, seen) for _ in range(clients)))
        return seen

    counts.put(dict(asyncio.run(run())))


def _health_while_polite(port: int, seconds: float, clients: int) -> tuple[list[float], dict]:
    counts: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=_polite_clients, args=(port, seconds, clients, counts)
    )
    process.start()
    try:
        latencies, _ = _health_during(port, seconds, None)
        return latencies, counts.get(timeout=seconds + 120)
    finally:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15, help="seconds of flood")
    parser.add_argument("--clients", type=int, default=120, help="pathological queries kept in flight")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not on PATH (Debian: apt-get install wrk); this benchmark needs it")
    port = free_port()
    url = f"http://{HOST}:{port}/sparql?" + urllib.parse.urlencode({"query": PATHOLOGICAL})

    def flood() -> str:
        return wrk(url, args.clients, args.seconds, "--timeout", "120s")

    server = start_server(port)
    try:
        idle, _ = _health_during(port, args.seconds / 2, None)
        queued, statuses = _health_while_polite(port, args.seconds, args.clients)
        flooded, wrk_output = _health_during(port, args.seconds, flood)
    finally:
        stop_server(server)
    print(
        f"GET /health every 20 ms: idle, then while {args.clients} clients keep a pathological /sparql query "
        f"queued ({args.seconds:g} s), then flooded by wrk ({args.seconds:g} s); one uvicorn worker"
    )
    report("/health p50, idle", median(idle) * 1000, "ms")
    report("/health p99, idle", percentile(idle, 99) * 1000, "ms")
    report("/health p50, 120 queued", median(queued) * 1000, "ms")
    p99 = percentile(queued, 99)
    report("/health p99, 120 queued", p99 * 1000, "ms", "target <= 100", p99 <= 0.1)
    report("/health max, 120 queued", max(queued) * 1000, "ms")
    for status, count in sorted(statuses.items(), key=str):
        report(f"queued clients' answers: {status}", count, "requests")
    report("/health p50, flooded (no target)", median(flooded) * 1000, "ms")
    report("/health p99, flooded (no target)", percentile(flooded, 99) * 1000, "ms")
    print("wrk (the flood; non-2xx are the 503s of the time limit and of the full queue):")
    print("\n".join("    " + line for line in wrk_output.strip().splitlines()))


if __name__ == "__main__":
    main()
