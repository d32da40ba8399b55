"""`therapy-kg serve` (what `make run` starts) answers over real HTTP, in one process or several,
and leaves no process behind when it is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.oxigraph_server import free_port
from tests.served import children, wait_until_healthy

REPO = Path(__file__).resolve().parents[1]
PATIENT = {"id": "serve-1", "age": 45, "conditions": ["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity"]}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_stops_cleanly(workers: int) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server)
        evaluation = httpx.post(f"{base}/evaluate", json=PATIENT, timeout=30).json()
        assert evaluation["patient"] == "serve-1"
        statuses = {o["intervention"]: o["status"] for o in evaluation["options"]}
        assert statuses["tkg:Stretching"] == "eligible" and statuses["tkg:OralBaclofen"] == "deferred"
        answer = httpx.get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
        descendants = children(server.pid)
        assert descendants, "the server runs its SPARQL workers (and its API workers) as child processes"
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    # uvicorn shuts down gracefully, then re-raises SIGTERM in a single process (so: -15 or 0)
    assert server.returncode in (0, -signal.SIGTERM), server.stderr.read().decode()[-2000:]
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in descendants) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in descendants if _alive(p)], "processes left behind after the server stopped"


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_worker_count_is_refused_naming_the_option(value: str, capsys) -> None:
    from kg import cli

    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--workers", value])
    assert stopped.value.code == 2
    assert "--workers" in capsys.readouterr().err
