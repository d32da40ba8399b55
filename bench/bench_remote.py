"""/evaluate over a remote store against the embedded one, in the same run (issue 14 item 4).

In remote mode the service reads the release from the SPARQL server once (and again when it changes), checks
it whole and answers from an in-process replica: no round trip per patient. This benchmark starts an Oxigraph
server holding the release (loaded with `therapy-kg load`), then `therapy-kg serve` once on the embedded store
and once with `--sparql-endpoint`, and loads each with the vignette patients in turn (wrk when installed).
Target: remote /evaluate p50 within 1.5x of the embedded figure measured in this run. Start-up is printed too
(the remote one adds the check: two queries and a compile).
Run: .venv/bin/python bench/bench_remote.py [--seconds S]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_api import _wrk_script, client_latency, wrk_latency
from bench.common import report
from bench.server import free_port, start_server, stop_server
from tests.oxigraph_server import oxigraph_process


def measure(port: int, seconds: float, script: Path | None, clients: int) -> tuple[float, float, float]:
    if script is not None:
        return wrk_latency(port, clients, seconds, script)
    return client_latency(port, clients, 1600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6, help="seconds per load level (wrk)")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None
    print(
        "POST /evaluate, vignette patients in turn, one worker process; load from " + ("wrk" if use_wrk else "Python")
    )
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = _wrk_script(Path(tmp)) if use_wrk else None
        with oxigraph_process(b"", Path(tmp), writable=True) as (endpoint, _):
            subprocess.run(
                [sys.executable, "-m", "kg.cli", "load", "--sparql-endpoint", endpoint], cwd=ROOT, check=True
            )
            for name, extra in (("embedded", ()), ("remote", ("--sparql-endpoint", endpoint))):
                port = free_port()
                started = time.perf_counter()
                server = start_server(port, 1, args=extra)
                startup = time.perf_counter() - started
                try:
                    measure(port, args.seconds, script, 4)  # warm-up
                    one = measure(port, args.seconds, script, 1)
                    sixteen = measure(port, args.seconds, script, 16)
                finally:
                    stop_server(server)
                figures[name] = {"startup": startup, "p50": one[0], "p50x16": sixteen[0], "rate16": sixteen[2]}
    for name, f in figures.items():
        report(f"{name}: start-up to first /health", f["startup"], "s")
        report(f"{name}: /evaluate p50, 1 client", f["p50"] * 1000, "ms")
        report(f"{name}: /evaluate p50, 16 clients", f["p50x16"] * 1000, "ms")
        report(f"{name}: /evaluate throughput, 16 clients", f["rate16"], "req/s")
    for key, label in (("p50", "1 client"), ("p50x16", "16 clients")):
        ratio = figures["remote"][key] / figures["embedded"][key]
        report(f"remote / embedded /evaluate p50, {label}", ratio, "x", "target <= 1.5x", ratio <= 1.5)


if __name__ == "__main__":
    main()
