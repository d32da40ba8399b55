"""One SPARQL query worker process, seen from the API process: start it, hand it its configuration, kill it.

The runner (`api.sparql.runner`) keeps a pool of these; what runs inside is `api.sparql.worker`.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

from api.sparql import wire
from api.sparql.sandbox import SandboxReport
from api.sparql.worker import WorkerConfig, sandbox_report

log = logging.getLogger("therapy-kg.sparql")

#: Workers are plain `python -c` processes, not multiprocessing ones: "spawn" re-imports the
#: parent's __main__, which re-runs any script that builds the app at import time.
_WORKER_CODE = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "  # the parent owns shutdown
    "from api.sparql.worker import worker_main; worker_main({fd}, {pid})"
)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
#: How a worker that ran out of its address space dies: Rust aborts, Python may be killed mid-allocation.
OUT_OF_MEMORY_SIGNALS = {-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, -signal.SIGKILL}


class WorkerProcess:
    """One query worker process and its end of the socket pair, as the API process sees them."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        env["MALLOC_ARENA_MAX"] = "2"  # glibc reserves 64 MiB of address space per thread arena otherwise
        code = _WORKER_CODE.format(fd=theirs.fileno(), pid=os.getpid())
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL
        )
        theirs.close()
        self.sock = ours
        self.report: SandboxReport | None = None
        self.problem: str | None = None
        self.doomed = False

    def start(self, config: WorkerConfig, wait_s: float) -> bool:
        """Send the configuration and wait until the worker has installed its sandbox and loaded its store;
        then its socket turns non-blocking, to be read on the event loop."""
        try:
            wire.write(self.sock, *config.message())
            if not select.select([self.sock], [], [], wait_s)[0]:
                return False
            header, _ = wire.read(self.sock, max_body=0)
        except (EOFError, OSError, ValueError, wire.MessageTooLargeError):
            return False
        if header["kind"] == "unsandboxed":
            self.problem = str(header["problem"])
            return False
        if header["kind"] != "ready":
            return False
        self.report = sandbox_report(header["report"])
        self.sock.setblocking(False)
        return True

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("SPARQL worker %d did not die", self.process.pid)
        self.sock.close()

    def exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None
