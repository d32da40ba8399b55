"""`therapy-kg serve` as `make run` starts it (uvicorn, its uvloop and httptools), for tests of the real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.oxigraph_server import free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Served:
    base: str
    process: subprocess.Popen


def children(pid: int) -> set[int]:
    """Every descendant process of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_until_healthy(base: str, process: subprocess.Popen, limit_s: float = 120) -> None:
    """Return once GET /health answers 200; RuntimeError when the server exits first or `limit_s` passes
    (with the end of its stderr, when that is a pipe)."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log = process.stderr.read().decode()[-2000:] if process.stderr and process.poll() is not None else ""
            raise RuntimeError(f"therapy-kg serve did not start\n{log}")
        time.sleep(0.3)


@contextmanager
def served(
    *args: str, env: dict[str, str] | None = None, log: Path | None = None, port: int | None = None
) -> Iterator[Served]:
    """A `therapy-kg serve` process on a loopback port (free, unless given), answering /health; its process
    group is ended after. `log` receives the server's stderr (its log), to read once the block has ended."""
    port = port or free_port()
    with open(log or os.devnull, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), *args],
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base, process)
            yield Served(base, process)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
