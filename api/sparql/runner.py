"""Run SPARQL queries under a real time limit, in worker processes that are killed when late.

pyoxigraph cannot cancel a running query and rdflib's parser can spend seconds on a large one, so
each query is checked, evaluated and serialised in a small pool of worker processes (`python -c`
children talking over a socket pair). The parent waits with a deadline; a worker that overruns is
killed and replaced in the background, so the API keeps answering. Backends:

* embedded (`OxigraphStore`): every worker holds its own pyoxigraph store, loaded from an N-Quads
  snapshot of the store taken when the runner is built (the release graph; nothing added later);
* remote (`RemoteSparqlStore`): workers forward the checked query with an httpx timeout; killing a
  late worker also drops its HTTP connection.

Workers never outlive the runner: `close()` kills them, and they die with the parent process.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from api.sparql.guard import SparqlRequestError, check_query
from api.sparql.negotiation import choose_for, serialize
from kg.errors import QueryTimeoutError, StoreError
from kg.store import OxigraphStore, RemoteSparqlStore, Store

if TYPE_CHECKING:
    from api.settings import Settings

log = logging.getLogger("therapy-kg.sparql")

Backend = tuple[str, bytes | str]  # ("nquads", snapshot) or ("remote", endpoint URL)


@dataclass(frozen=True)
class QueryJob:
    """One protocol request, already validated at the HTTP level."""

    query: str
    accept: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryOutcome:
    """A serialised answer: its content type, its bytes and whether rows were cut at the cap."""

    content_type: str
    body: bytes
    truncated: bool


# --- what a worker does ---------------------------------------------------------------------------


def _evaluate(store: ox.Store | Store, text: str, job: QueryJob, timeout: float) -> object:
    """Evaluate a checked query; a protocol dataset replaces the query's FROM clauses entirely."""
    if isinstance(store, ox.Store):
        dataset = {}
        if job.default_graphs or job.named_graphs:
            dataset = {
                "default_graph": [ox.NamedNode(g) for g in job.default_graphs],
                "named_graphs": [ox.NamedNode(g) for g in job.named_graphs],
            }
        return store.query(text, **dataset)
    try:
        return store.query(
            text,
            default_graphs=[ox.NamedNode(g) for g in job.default_graphs] or None,
            named_graphs=[ox.NamedNode(g) for g in job.named_graphs] or None,
            timeout=timeout,
        )
    except StoreError as exc:
        # RemoteSparqlStore reports every 4xx as a StoreError; a 400 means the endpoint refused the query
        prefix = "the SPARQL endpoint answered 400: "
        if str(exc).startswith(prefix):
            reason = _short(str(exc)[len(prefix):])
            raise SparqlRequestError(f"the SPARQL endpoint refused the query: {reason}") from None
        raise


def execute(job: QueryJob, store: ox.Store | Store, graphs: frozenset[str], max_rows: int,
            timeout: float) -> QueryOutcome:
    """Check, negotiate, evaluate and serialise one query (in a worker, or in-process in tests).

    Raises SparqlRequestError (4xx), QueryTimeoutError or StoreError.
    """
    checked = check_query(job.query, graphs)
    fmt = choose_for(checked.form, job.accept)
    try:
        result = _evaluate(store, checked.text, job, timeout)
        body, truncated = serialize(result, fmt, max_rows)  # evaluation is lazy: errors surface here too
    except SyntaxError as exc:
        raise SparqlRequestError(f"SPARQL syntax error: {_short(str(exc))}") from None
    except OSError as exc:
        raise StoreError(f"the store failed while evaluating the query: {type(exc).__name__}") from None
    return QueryOutcome(fmt.content_type, body, truncated)


def _short(message: str, limit: int = 200) -> str:
    """Oxigraph's syntax errors list every expected token: keep the start."""
    return message if len(message) <= limit else message[:limit] + "…"


def _reply(job: QueryJob, store: ox.Store | Store, graphs: frozenset[str], max_rows: int,
           timeout: float) -> tuple:
    """`execute` with every outcome turned into a picklable tuple for the parent."""
    try:
        return ("ok", execute(job, store, graphs, max_rows, timeout))
    except SparqlRequestError as exc:
        return ("refused", exc.status, str(exc))
    except QueryTimeoutError as exc:
        return ("timeout", str(exc))
    except StoreError:
        return ("store", "the graph store failed to answer")
    except Exception as exc:  # never a traceback to the client; the parent logs the type only
        return ("failed", type(exc).__name__)


def _exit_with_parent(parent_pid: int) -> None:
    """Watchdog thread of a worker: exit as soon as the parent is gone, even mid-query.

    (pyoxigraph releases the GIL while it evaluates, so this thread keeps running.)
    """
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def worker_main(fd: int, parent_pid: int) -> None:
    """A worker process: receive its backend, then answer jobs until the parent hangs up."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    conn = Connection(fd)
    (kind, data), max_rows, timeout = conn.recv()
    store: ox.Store | Store
    if kind == "nquads":
        store = ox.Store()
        store.load(data, format=ox.RdfFormat.N_QUADS)
    else:
        timeout += 1.0  # a backstop only: the parent's deadline (which kills this worker) comes first
        store = RemoteSparqlStore(str(data), timeout=timeout)
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job, graphs = message
        conn.send(_reply(job, store, graphs, max_rows, timeout))


# --- the parent side ------------------------------------------------------------------------------

#: Workers are plain `python -c` processes, not multiprocessing ones: "spawn" re-imports the
#: parent's __main__, which re-runs any script that builds the app at import time.
_WORKER_CODE = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "  # the parent owns shutdown
    "from api.sparql.runner import worker_main; worker_main({fd}, {pid})"
)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class _Worker:
    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        code = _WORKER_CODE.format(fd=theirs.fileno(), pid=os.getpid())
        self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),), env=env,
                                        stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(ours.detach())

    def start(self, backend: Backend, max_rows: int, timeout: float, wait_s: float) -> bool:
        """Send the backend and wait until the worker has loaded it."""
        try:
            self.conn.send((backend, max_rows, timeout))
            return self.conn.poll(wait_s) and self.conn.recv() == ("ready",)
        except (EOFError, OSError):
            return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("SPARQL worker %d did not die", self.process.pid)
        self.conn.close()


def _backend_of(store: Store) -> Backend:
    if isinstance(store, OxigraphStore):
        return ("nquads", store.store.dump(format=ox.RdfFormat.N_QUADS))
    if isinstance(store, RemoteSparqlStore):
        return ("remote", store.endpoint)
    raise TypeError(f"no SPARQL runner for a {type(store).__name__}; use OxigraphStore or RemoteSparqlStore")


class SparqlRunner:
    """A pool of query workers for one store; `run(job)` answers within the configured time limit."""

    def __init__(self, store: Store, settings: Settings, *, workers: int | None = None) -> None:
        self.timeout = settings.query_timeout_s
        self.max_rows = settings.max_rows
        self.store_name = store.name
        self._store = store
        self._graphs: frozenset[str] | None = None
        self._graphs_checked = float("-inf")
        _ = self.graphs
        self.triple_count = _safe(store.triple_count, None)
        self._backend = _backend_of(store)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._starting = 0
        self.size = workers or max(2, min(4, os.cpu_count() or 2))
        for _ in range(self.size):
            self._spawn()

    @property
    def graphs(self) -> frozenset[str]:
        """The store's named graphs: the only ones FROM and the dataset parameters may name."""
        if self._graphs is None and time.monotonic() - self._graphs_checked > 5:
            self._graphs_checked = time.monotonic()
            names = _safe(self._store.graph_names, None)
            self._graphs = frozenset(g.value for g in names) if names is not None else None
        return self._graphs or frozenset()

    def wait_ready(self, timeout: float = 60.0, count: int = 1) -> bool:
        """Block until `count` workers are idle (start-up takes about half a second each)."""
        deadline = time.monotonic() + timeout
        while self._idle.qsize() < count and self._starting and time.monotonic() < deadline:
            time.sleep(0.02)
        return self._idle.qsize() >= count

    def run(self, job: QueryJob) -> QueryOutcome:
        """Answer one job, or raise SparqlRequestError (4xx), QueryTimeoutError or StoreError."""
        graphs = self.graphs
        worker = self._acquire()
        try:
            worker.conn.send((job, graphs))
            if not worker.conn.poll(self.timeout):
                raise QueryTimeoutError(
                    f"the query ran past the {self.timeout:g} s time limit and was cancelled"
                )
            reply = worker.conn.recv()
        except QueryTimeoutError:
            self._retire(worker)
            raise
        except BaseException as exc:
            self._retire(worker)
            if isinstance(exc, (EOFError, OSError)):
                raise StoreError("the query worker stopped unexpectedly and was replaced") from None
            raise
        self._idle.put(worker)
        return _unpack(reply)

    def close(self) -> None:
        """Kill every worker; idempotent. Called on app shutdown."""
        with self._lock:
            self._closed = True
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.kill()

    def _acquire(self) -> _Worker:
        if self._closed:
            raise StoreError("the SPARQL service is shutting down")
        try:
            return self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise QueryTimeoutError(
                f"all {self.size} query workers stayed busy for {self.timeout:g} s; try again later"
            ) from None

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()
        self._spawn()

    def _spawn(self, attempts: int = 3) -> None:
        """Start a worker and hand it to the idle queue once it has loaded its store."""
        with self._lock:
            if self._closed:
                return
            self._starting += 1

        def start() -> None:
            try:
                _start()
            finally:
                with self._lock:
                    self._starting -= 1

        def _start() -> None:
            for attempt in range(attempts):
                worker = _Worker()
                with self._lock:
                    self._live.add(worker)
                ready = worker.start(self._backend, self.max_rows, self.timeout, wait_s=120)
                with self._lock:
                    closed = self._closed
                    if closed or not ready:
                        self._live.discard(worker)
                if closed:
                    worker.kill()
                    return
                if ready:
                    self._idle.put(worker)
                    return
                worker.kill()
                log.error("a SPARQL worker failed to start (attempt %d of %d)", attempt + 1, attempts)

        threading.Thread(target=start, name="sparql-worker-start", daemon=True).start()


def _unpack(reply: tuple) -> QueryOutcome:
    kind = reply[0]
    if kind == "ok":
        return reply[1]
    if kind == "refused":
        raise SparqlRequestError(reply[2], status=reply[1])
    if kind == "timeout":
        raise QueryTimeoutError(reply[1])
    if kind == "failed":
        log.error("a SPARQL worker failed with %s", reply[1])
    raise StoreError("the graph store failed to answer")


def _safe(call, default):
    try:
        return call()
    except StoreError:
        log.warning("the store did not answer a metadata query")
        return default
