"""Start and stop a real Oxigraph SPARQL server (the `oxigraph` PyPI package) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyoxigraph as ox

from kg.store import KNOWLEDGE_GRAPH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str | None:
    beside = Path(sys.executable).with_name("oxigraph")
    return str(beside) if beside.exists() else shutil.which("oxigraph")


def release_nquads(ntriples: bytes, graph: ox.NamedNode | ox.DefaultGraph = KNOWLEDGE_GRAPH) -> bytes:
    """The release graph as `therapy-kg load` leaves it on a server: in the knowledge graph only (or `graph`)."""
    quads = [ox.Quad(*q.triple, graph) for q in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS)


@contextmanager
def oxigraph_server(nquads: bytes, workdir: Path, timeout_s: float | None = None) -> Iterator[str]:
    """Serve `nquads` read-only on a free port, yield the query URL, stop the server by its PID.

    `timeout_s` is the server's own query timeout: it ends queries a client abandoned (a dropped
    connection does not).
    """
    with oxigraph_process(nquads, workdir, timeout_s) as (url, _):
        yield url


@contextmanager
def oxigraph_process(
    nquads: bytes, workdir: Path, timeout_s: float | None = None, *, writable: bool = False, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`oxigraph_server`, yielding the server process too (for tests that watch its CPU). `writable` serves
    the Graph Store Protocol at /store too; `port` reuses a port (a server restarted on its own data)."""
    binary = oxigraph_binary()
    if binary is None:
        raise RuntimeError("the oxigraph server is not installed (pip install oxigraph)")
    data, location = workdir / "dataset.nq", workdir / "oxigraph-db"
    if nquads or not writable:  # a read-only server needs a database, even an empty one
        data.write_bytes(nquads)
        subprocess.run(
            [binary, "load", "--location", str(location), "--file", str(data)], check=True, capture_output=True
        )
    port = port or free_port()
    mode = "serve" if writable else "serve-read-only"
    command = [binary, mode, "--location", str(location), "--bind", f"127.0.0.1:{port}"]
    if timeout_s is not None:
        command += ["--timeout-s", f"{timeout_s:g}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/query"
    try:
        wait_until_answering(url, process, 30, lambda: "the oxigraph server did not start")
        yield url, process
    finally:
        stop_group(process, 10)


def wait_until_answering(url: str, process: subprocess.Popen, within_s: float, why: Callable[[], str]) -> None:
    """Return once the SPARQL endpoint at `url` answers `ASK {}`; RuntimeError(why()) if its process ends first
    or `within_s` passes (start-up, not an assertion)."""
    deadline = time.monotonic() + within_s
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(why())
        time.sleep(0.1)


def stop_group(process: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM to a server's whole process group, SIGKILL after `grace_s`."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
