"""Start and stop a real Oxigraph SPARQL server (the `oxigraph` PyPI package) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

KNOWLEDGE_GRAPH = "https://w3id.org/therapy-kg/graph/knowledge"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str | None:
    beside = Path(sys.executable).with_name("oxigraph")
    return str(beside) if beside.exists() else shutil.which("oxigraph")


@contextmanager
def oxigraph_server(ntriples: bytes, workdir: Path):
    """Load `ntriples` into the default graph and the knowledge graph, serve read-only, yield the query URL."""
    binary = oxigraph_binary()
    if binary is None:
        raise RuntimeError("the oxigraph server is not installed (pip install oxigraph)")
    location = workdir / "oxigraph-db"
    data = workdir / "release.nt"
    data.write_bytes(ntriples)
    subprocess.run([binary, "load", "--location", str(location), "--file", str(data)], check=True, capture_output=True)
    subprocess.run([binary, "load", "--location", str(location), "--file", str(data), "--graph", KNOWLEDGE_GRAPH],
                   check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, params={"query": "ASK {}"}, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the oxigraph server did not start")
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
