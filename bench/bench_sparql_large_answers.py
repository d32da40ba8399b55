"""Large SPARQL answers on `therapy-kg serve` (issue 22 item 2): all whole, no worker replaced, the API's memory.

Sends `SELECT * WHERE { ?s ?p ?o }`, `CONSTRUCT WHERE { ?s ?p ?o }` and a 3,000-row cross product, 20
times each from 4 clients at once, while the API process's resident memory (VmRSS, from /proc) is
sampled every 10 ms; prints per query the answers by status, their size, the query workers replaced
(child processes that changed) and the API's RSS before and at its peak. The answer ceiling
(`sparql_max_answer_bytes`, 64 MiB) bounds what one answer may add to it.
Run: .venv/bin/python bench/bench_sparql_large_answers.py
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402
from bench.server import HOST, free_port, start_server, stop_server  # noqa: E402

QUERIES = {
    "SELECT * WHERE { ?s ?p ?o }": "application/sparql-results+json",
    "CONSTRUCT WHERE { ?s ?p ?o }": "application/n-triples",
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 3000": "application/sparql-results+json",
}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _sample(pid: int, stop: threading.Event, peak: list[float]) -> None:
    while not stop.wait(0.01):
        peak.append(rss_mib(pid))


def main() -> None:
    port = free_port()
    server = start_server(port)
    try:
        print("4 clients x 20 requests per query on therapy-kg serve (1 uvicorn worker); API RSS sampled every 10 ms")
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=120) as client:
            for query, accept in QUERIES.items():
                before, workers = rss_mib(server.pid), children(server.pid)
                peak, stop = [before], threading.Event()

                sampler = threading.Thread(target=_sample, args=(server.pid, stop, peak))
                sampler.start()
                with ThreadPoolExecutor(4) as clients:
                    answers = list(
                        clients.map(
                            lambda _, q=query, a=accept: client.get(
                                "/sparql", params={"query": q}, headers={"Accept": a}
                            ),
                            range(20),
                        )
                    )
                stop.set()
                sampler.join()
                statuses = Counter(r.status_code for r in answers)
                print(f"-- {query}")
                report("answers 200", statuses.get(200, 0), "of 20", "target 20", statuses.get(200, 0) == 20)
                report("answer size", max(len(r.content) for r in answers) / 1024, "KiB")
                replaced = len(workers - children(server.pid))
                report("query workers replaced", replaced, "", "target 0", replaced == 0)
                report("API RSS before", before, "MiB")
                report("API RSS peak while answering", max(peak), "MiB")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
