"""The query worker process: sandboxed, it checks, evaluates and serialises SPARQL for its parent.

A worker is a plain `python -c` child holding one end of a socket pair. It first installs its
kernel limits (`api.sparql.sandbox`), then answers messages (`api.sparql.wire`: a JSON header and
raw bytes) until the parent hangs up:

* `query` (a job and the store's graphs) — embedded store: check, evaluate with the checked
  dataset, serialise;
* `check` — remote store: check only; the parent, not the worker, makes the HTTP call (a worker
  that runs user text never holds a network connection);
* `render` (the endpoint's answer as the body) — remote store: parse it and serialise it with the
  row cap.

Every answer is one message: `ok` (the serialised answer as its body), `checked`, `refused`,
`timeout`, `memory`, `too-large`, `store` or `failed`; no traceback and no query text ever goes
into a log.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import pyoxigraph as ox

from api.sparql import wire
from api.sparql.guard import CheckedQuery, QueryForm, SparqlRequestError, check_query
from api.sparql.negotiation import choose_for, serialize
from api.sparql.sandbox import SandboxReport, SandboxUnavailableError, install
from kg.errors import InputError, QueryTimeoutError, StoreError
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
    #: what a relative IRI in the query resolves against, when the query gives no BASE: the endpoint's URL
    base_iri: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueryJob:
        graphs = tuple(data["default_graphs"]), tuple(data["named_graphs"])
        return cls(data["query"], data["accept"], *graphs, base_iri=data.get("base_iri"))


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
    max_answer_bytes: int

    def message(self) -> tuple[dict[str, Any], bytes]:
        header = {
            "kind": "config",
            "store": self.nquads is not None,
            "max_rows": self.max_rows,
            "memory_mb": self.memory_mb,
            "allow_unsandboxed": self.allow_unsandboxed,
            "max_answer_bytes": self.max_answer_bytes,
        }
        return header, self.nquads or b""

    @classmethod
    def from_message(cls, header: dict[str, Any], body: bytes) -> WorkerConfig:
        return cls(
            body if header["store"] else None,
            header["max_rows"],
            header["memory_mb"],
            header["allow_unsandboxed"],
            header["max_answer_bytes"],
        )


def checked_to_json(checked: CheckedQuery) -> dict[str, Any]:
    return asdict(checked)


def checked_from_json(data: dict[str, Any]) -> CheckedQuery:
    graphs = {k: None if data[k] is None else tuple(data[k]) for k in ("default_graphs", "named_graphs")}
    return CheckedQuery(data["text"], data["form"], **graphs)


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


def execute(
    job: QueryJob, store: ox.Store, graphs: frozenset[str], max_rows: int, functions: frozenset[str] = frozenset()
) -> QueryOutcome:
    """Check, negotiate, evaluate and serialise one query on an embedded store.

    Raises SparqlRequestError (refused) or StoreError.
    """
    checked = check_query(job.query, graphs, functions)
    fmt = choose_for(checked.form, job.accept)
    store_graphs = [ox.NamedNode(g) for g in sorted(graphs)]
    try:
        result = store.query(checked.text, base_iri=job.base_iri, **dataset_of(job, checked, store_graphs))
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


def _answer(header: dict[str, Any], body: bytes, store: ox.Store | None, config: WorkerConfig) -> wire.Message:
    """One message's answer; every outcome, failures included, is a message for the parent."""
    kind = header["kind"]
    try:
        if kind in ("query", "check"):
            job, graphs = QueryJob.from_json(header["job"]), frozenset(header["graphs"])
            functions = frozenset(header.get("functions", ()))
            if kind == "query" and store is not None:
                return _outcome(execute(job, store, graphs, config.max_rows, functions), config.max_answer_bytes)
            checked = check_query(job.query, graphs, functions)
            choose_for(checked.form, job.accept)  # a 406 before any remote call
            return {"kind": "checked", "query": checked_to_json(checked)}, b""
        if kind == "render":
            outcome = render(body, header["content_type"], header["form"], header["accept"], config.max_rows)
            return _outcome(outcome, config.max_answer_bytes)
        return {"kind": "failed", "error": f"unknown message {kind!r}"}, b""
    except InputError as exc:  # the query, its dataset or its Accept: the code says which
        return {"kind": "refused", "code": exc.code, "message": str(exc)}, b""
    except QueryTimeoutError as exc:
        return {"kind": "timeout", "message": str(exc)}, b""
    except MemoryError:
        return {"kind": "memory"}, b""
    except StoreError as exc:
        return {"kind": "store", "message": str(exc)}, b""
    except Exception as exc:  # never a traceback to the client; the parent logs the type only
        return {"kind": "failed", "error": type(exc).__name__}, b""


def _outcome(outcome: QueryOutcome, max_answer_bytes: int) -> wire.Message:
    """The answer as a message, or `too-large` when it is over the ceiling (the parent refuses it unread too)."""
    if len(outcome.body) > max_answer_bytes:
        return {"kind": "too-large", "size": len(outcome.body)}, b""
    return {"kind": "ok", "content_type": outcome.content_type, "truncated": outcome.truncated}, outcome.body


def _exit_with_parent(parent_pid: int) -> None:
    """Watchdog thread: exit as soon as the parent is gone, even mid-query (pyoxigraph frees the GIL)."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)


def worker_main(fd: int, parent_pid: int) -> None:
    """Install the sandbox, load the backend, then answer messages until the parent hangs up."""
    sock = socket.socket(fileno=fd)
    config = WorkerConfig.from_message(*wire.read(sock))
    try:
        report = install(config.memory_mb, config.allow_unsandboxed)  # before any other thread starts
    except SandboxUnavailableError as exc:
        wire.write(sock, {"kind": "unsandboxed", "problem": str(exc)})
        return
    os.nice(WORKER_NICENESS)  # a query never takes the CPU from the server's own event loop (/health, /evaluate)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    store = None
    if config.nquads is not None:
        store = ox.Store()
        store.load(config.nquads, format=ox.RdfFormat.N_QUADS)
    wire.write(sock, {"kind": "ready", "report": asdict(report)})
    while True:
        try:
            header, body = wire.read(sock)
        except (EOFError, OSError):
            return
        if header["kind"] == "stop":
            return
        wire.write(sock, *_answer(header, body, store, config))


def sandbox_report(data: dict[str, Any]) -> SandboxReport:
    return SandboxReport(**data)
