"""The query worker process: sandboxed, it checks, evaluates and serialises SPARQL for its parent.

A worker is a plain `python -c` child holding one end of a socket pair. It first installs its
kernel limits (`api.sparql.sandbox`), then answers messages until the parent hangs up:

* `("query", job, graphs)` — embedded store: check, evaluate with the checked dataset, serialise;
* `("check", job, graphs)` — remote store: check only; the parent, not the worker, makes the HTTP
  call (a worker that runs user text never holds a network connection);
* `("render", content, content_type, form, accept)` — remote store: parse the endpoint's answer
  and serialise it with the row cap.

Every answer is a picklable tuple (`ok`, `checked`, `refused`, `timeout`, `memory`, `store`,
`failed`); no traceback and no query text ever goes into a log.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph as ox

from api.sparql.guard import CheckedQuery, QueryForm, SparqlRequestError, check_query
from api.sparql.negotiation import choose_for, serialize
from api.sparql.sandbox import SandboxUnavailableError, install
from kg.errors import QueryTimeoutError, StoreError
from kg.store import parse_response

#: Query workers run at a lower CPU priority than the API process: the kernel's scheduler then serves the
#: event loop first whenever both want a core (measured: /health p50 417 ms → see bench_sparql_isolation).
WORKER_NICENESS = 10


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


@dataclass(frozen=True)
class WorkerConfig:
    """What the parent sends a new worker: its backend and its limits."""

    nquads: bytes | None  # the embedded store's snapshot; None for a remote store (check and render only)
    max_rows: int
    memory_mb: int
    allow_unsandboxed: bool


def dataset_of(job: QueryJob, checked: CheckedQuery, store_graphs: list[ox.NamedNode]) -> dict:
    """The dataset to evaluate with, always explicit: the protocol's, else the query's, else the store's.

    Handing the engine the dataset the guard read means a FROM clause only the engine's parser saw
    (a keyword glued to a name, say) changes nothing.
    """
    if job.default_graphs or job.named_graphs:
        default, named = list(job.default_graphs), list(job.named_graphs)
    elif checked.default_graphs is not None or checked.named_graphs is not None:
        default, named = list(checked.default_graphs or ()), list(checked.named_graphs or ())
    else:
        return {"default_graph": ox.DefaultGraph(), "named_graphs": store_graphs}
    return {"default_graph": [ox.NamedNode(g) for g in default], "named_graphs": [ox.NamedNode(g) for g in named]}


def execute(job: QueryJob, store: ox.Store, graphs: frozenset[str], max_rows: int) -> QueryOutcome:
    """Check, negotiate, evaluate and serialise one query on an embedded store.

    Raises SparqlRequestError (4xx) or StoreError.
    """
    checked = check_query(job.query, graphs)
    fmt = choose_for(checked.form, job.accept)
    store_graphs = [ox.NamedNode(g) for g in sorted(graphs)]
    try:
        result = store.query(checked.text, **dataset_of(job, checked, store_graphs))
        body, truncated = serialize(result, fmt, max_rows)  # evaluation is lazy: errors surface here too
    except SyntaxError as exc:
        raise SparqlRequestError(f"SPARQL syntax error: {_short(str(exc))}") from None
    except OSError as exc:
        raise StoreError(f"the store failed while evaluating the query: {type(exc).__name__}") from None
    return QueryOutcome(fmt.content_type, body, truncated)


def render(content: bytes, content_type: str, form: QueryForm, accept: str | None, max_rows: int) -> QueryOutcome:
    """A remote endpoint's answer re-serialised in the negotiated format, with the row cap."""
    fmt = choose_for(form, accept)
    try:
        body, truncated = serialize(parse_response(content, content_type), fmt, max_rows)
    except (SyntaxError, ValueError, OSError):
        raise StoreError("the SPARQL endpoint answered with a result that cannot be read") from None
    return QueryOutcome(fmt.content_type, body, truncated)


def _short(message: str, limit: int = 200) -> str:
    """Oxigraph's syntax errors list every expected token: keep the start."""
    return message if len(message) <= limit else message[:limit] + "…"


def _answer(message: tuple, store: ox.Store | None, max_rows: int) -> tuple:
    """One message's answer, every outcome turned into a picklable tuple for the parent."""
    kind = message[0]
    try:
        if kind == "query" and store is not None:
            _, job, graphs = message
            return ("ok", execute(job, store, graphs, max_rows))
        if kind == "check":
            _, job, graphs = message
            checked = check_query(job.query, graphs)
            choose_for(checked.form, job.accept)  # a 406 before any remote call
            return ("checked", checked)
        if kind == "render":
            _, content, content_type, form, accept = message
            return ("ok", render(content, content_type, form, accept, max_rows))
        return ("failed", f"unknown message {kind!r}")
    except SparqlRequestError as exc:
        return ("refused", exc.status, str(exc))
    except QueryTimeoutError as exc:
        return ("timeout", str(exc))
    except MemoryError:
        return ("memory",)
    except StoreError as exc:
        return ("store", str(exc))
    except Exception as exc:  # never a traceback to the client; the parent logs the type only
        return ("failed", type(exc).__name__)


def _exit_with_parent(parent_pid: int) -> None:
    """Watchdog thread: exit as soon as the parent is gone, even mid-query (pyoxigraph frees the GIL)."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def worker_main(fd: int, parent_pid: int) -> None:
    """Install the sandbox, load the backend, then answer messages until the parent hangs up."""
    conn = Connection(fd)
    config: WorkerConfig = conn.recv()
    try:
        report = install(config.memory_mb, config.allow_unsandboxed)  # before any other thread starts
    except SandboxUnavailableError as exc:
        conn.send(("unsandboxed", str(exc)))
        return
    os.nice(WORKER_NICENESS)  # a query never takes the CPU from the server's own event loop (/health, /evaluate)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    store = None
    if config.nquads is not None:
        store = ox.Store()
        store.load(config.nquads, format=ox.RdfFormat.N_QUADS)
    conn.send(("ready", report))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        conn.send(_answer(message, store, config.max_rows))
