"""One `therapy-kg serve` process for a benchmark: on a free loopback port, its own process group, ended whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(
    port: int, workers: int = 1, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """`therapy-kg serve` on `port`, returned once /health answers (within 120 s, else RuntimeError)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--workers", str(workers), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("the API did not start within 120 s")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group (uvicorn workers, SPARQL workers), then wait."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def probe_health(port: int, stop: threading.Event, latencies: list[float]) -> None:
    """GET /health every 20 ms on a connection of its own until `stop`, appending each latency (s)."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=120) as client:
        while not stop.is_set():
            start = time.perf_counter()
            response = client.get("/health")
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"/health answered {response.status_code}")
            stop.wait(0.02)


def wrk(url: str, connections: int, seconds: float, *options: str) -> str:
    """wrk's report of one run (one thread, `connections` keep-alive connections, `seconds`); `options` such as
    `--latency`, `--timeout 30s` or `-s script.lua` go before the URL."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", *options, url]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout
