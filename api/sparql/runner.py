"""Run SPARQL queries in sandboxed worker processes, under a time limit, a memory ceiling and a queue bound.

pyoxigraph cannot cancel a running query and rdflib's parser can spend seconds on a large one, so
each query is checked, evaluated and serialised by a pool of worker processes (`api.sparql.worker`)
that cannot open a socket and live under an address-space ceiling. The parent (the API process):

* admits a query when it can start within `sparql_max_wait_s` (default a quarter of the time limit),
  judged from the queries running (how long they have run) and the mean time of recent ones, and
  never more than `sparql_queue` waiting; otherwise 503 with `Retry-After` at once. A fixed count
  (8 waiting) refused 97% of ordinary queries at 16 connections, where a wait bound refuses only
  what could not start in time;
* sends each message and reads each reply on the event loop (`api.sparql.wire`: its own socket,
  non-blocking on purpose, so uvloop and asyncio alike deliver large answers whole), refuses an
  answer over `sparql_max_answer_bytes` unread, and kills the worker when the time limit passes,
  its memory ceiling is hit or the client goes away — a replacement starts in the background, so
  the API keeps answering;
* in remote mode makes the only HTTP call itself (`api.sparql.remote`), between the worker's check
  and its rendering, and closes the connection when it gives up.

Its threads (start-up, waiting for an idle worker) are its own, never the thread pool that the
other routes use. Workers never outlive the runner: `close()` kills them, and they die with the parent.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from api.sparql import wire
from api.sparql.guard import CheckedQuery, SparqlRequestError
from api.sparql.process import OUT_OF_MEMORY_SIGNALS, WorkerProcess
from api.sparql.remote import RemoteEndpoint
from api.sparql.sandbox import SandboxReport, SandboxUnavailableError
from api.sparql.worker import QueryJob, QueryOutcome, WorkerConfig, checked_from_json
from kg.errors import (
    AnswerTooLargeError,
    ClientGoneError,
    InputError,
    MediaTypeError,
    MemoryLimitError,
    NotAcceptableError,
    OverloadedError,
    QueryRejectedError,
    QueryTimeoutError,
    StoreError,
    UpdateRefusedError,
)
from kg.store import RemoteSparqlStore, Store

if TYPE_CHECKING:
    from api.settings import Settings

__all__ = ["QueryJob", "QueryOutcome", "SparqlRunner"]

log = logging.getLogger("therapy-kg.sparql")


class SparqlRunner:
    """A pool of sandboxed query workers for one store; `await answer(job)` answers within the limits."""

    def __init__(self, store: Store, settings: Settings, *, workers: int | None = None) -> None:
        self.timeout = settings.query_timeout_s
        self.max_rows = settings.max_rows
        self.memory_mb = settings.sparql_worker_memory_mb
        self.max_answer_bytes = settings.sparql_max_answer_bytes
        self.functions = sorted(settings.sparql_extension_functions)
        self.store_name = store.name
        self._store = store
        self._graphs: frozenset[str] | None = None
        self._graphs_checked = float("-inf")
        _ = self.graphs
        self.triple_count = _safe(store.triple_count, None)
        self._remote = (
            RemoteEndpoint(store, settings.sparql_max_answer_bytes) if isinstance(store, RemoteSparqlStore) else None
        )
        self._config = WorkerConfig(
            nquads=store.snapshot() if self._remote is None else None,
            max_rows=self.max_rows,
            memory_mb=self.memory_mb,
            allow_unsandboxed=settings.allow_unsandboxed,
            max_answer_bytes=self.max_answer_bytes,
        )
        self.size = workers or settings.sparql_workers or os.cpu_count() or 2
        self.queue_size = settings.sparql_queue
        self.max_wait_s = settings.sparql_max_wait_s if settings.sparql_max_wait_s is not None else self.timeout / 4
        self.in_flight = 0  # admitted queries, running or queued (read by /health and the tests)
        self._started: dict[int, float] = {}  # when each running query got its worker (by admission number)
        self._admitted = itertools.count()
        self._mean_s = 0.01  # mean time of recent queries with their worker (moving average)
        self._threads = ThreadPoolExecutor(
            max_workers=self.size + self.queue_size + 1, thread_name_prefix="sparql-runner"
        )
        self._idle: queue.Queue[WorkerProcess] = queue.Queue()
        self._live: set[WorkerProcess] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._starting = 0
        self.sandbox: SandboxReport | None = None
        self.start_problem: str | None = None
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
        """Block until `count` workers are idle (start-up takes about half a second each).

        Raises SandboxUnavailableError when a worker could not install its sandbox and the operator
        did not allow running without it.
        """
        deadline = time.monotonic() + timeout
        while self._idle.qsize() < count and self._starting and time.monotonic() < deadline:
            if self.start_problem:
                break
            time.sleep(0.02)
        if self.start_problem and self._idle.qsize() < count:
            raise SandboxUnavailableError(
                f"the SPARQL query workers cannot be sandboxed: {self.start_problem}. Queries would be able to "
                "open network connections; start with --allow-unsandboxed (TKG_ALLOW_UNSANDBOXED=1) only where "
                "the host's network is isolated otherwise"
            )
        return self._idle.qsize() >= count

    def run(self, job: QueryJob) -> QueryOutcome:
        """`answer` for callers without an event loop (scripts, tests)."""
        return asyncio.run(self.answer(job))

    async def answer(self, job: QueryJob, client_gone: Awaitable | None = None) -> QueryOutcome:
        """Answer one job, or raise an `InputError` (refused), a `LimitError` or a `StoreError`."""
        refusal = self._refusal()
        if refusal is not None:
            if asyncio.iscoroutine(client_gone):
                client_gone.close()  # never awaited: refused before the query started
            raise refusal
        self.in_flight += 1
        deadline = time.monotonic() + self.timeout
        watcher = asyncio.ensure_future(client_gone) if client_gone is not None else None
        key = next(self._admitted)  # not id(job): one job object may be answered twice at once
        try:
            worker = await self._acquire(deadline)
            self._started[key] = time.monotonic()
            try:
                request = {"job": job.to_json(), "graphs": sorted(self.graphs), "functions": self.functions}
                if self._remote is None:
                    return _unpack(await self._ask(worker, {"kind": "query", **request}, b"", deadline, watcher))
                checked = _unpack_checked(await self._ask(worker, {"kind": "check", **request}, b"", deadline, watcher))
                content, content_type = await self._forward(checked, job, deadline, watcher)
                render = {"kind": "render", "content_type": content_type, "form": checked.form, "accept": job.accept}
                return _unpack(await self._ask(worker, render, content, deadline, watcher))
            finally:
                self._release(worker)
        except wire.MessageTooLargeError:  # from the worker, its reader here, or the remote endpoint's reader
            raise AnswerTooLargeError(
                f"the answer is larger than the {self.max_answer_bytes}-byte ceiling of one SPARQL answer "
                "(sparql_max_answer_bytes): narrow the query or page it with LIMIT"
            ) from None
        finally:
            self.in_flight -= 1
            started = self._started.pop(key, None)
            if started is not None:
                self._mean_s = 0.8 * self._mean_s + 0.2 * (time.monotonic() - started)
            if watcher is not None:
                watcher.cancel()

    def _refusal(self) -> Exception | None:
        """Why a new query cannot be admitted now, or None: shutting down, the waiting cap, or its wait."""
        if self._closed:
            return StoreError("the SPARQL service is shutting down")
        waiting = max(0, self.in_flight - self.size)
        if self.in_flight < self.size:
            return None
        wait = self.expected_wait(waiting + 1)
        if waiting >= self.queue_size or wait > self.max_wait_s:
            return OverloadedError(
                f"{self.size} SPARQL queries are running and {waiting} are waiting: a new one could not start "
                f"within {self.max_wait_s:g} s; try again shortly",
                retry_after=max(1, min(round(wait), 60)),
            )
        return None

    def expected_wait(self, position: int) -> float:
        """Seconds until the query at `position` in the queue (1 = next) would get a worker: when the first
        running query is expected to end (a query that has run t seconds is expected to run about t more,
        and at least the mean), then one mean query time per further round of workers."""
        now = time.monotonic()
        ends = [max(self._mean_s - (now - t), now - t) for t in self._started.values()]
        first = min(ends) if len(ends) >= self.size else 0.0
        return first + ((position - 1) // self.size) * self._mean_s

    def close(self) -> None:
        """Kill every worker; idempotent. Called on app shutdown."""
        with self._lock:
            self._closed = True
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)

    # --- one query's steps ------------------------------------------------------------------------

    async def _acquire(self, deadline: float) -> WorkerProcess:
        if self.in_flight <= self.size:  # nobody waits before this query (it is counted)
            try:
                return self._idle.get_nowait()  # the usual case: no hop to a thread
            except queue.Empty:
                pass
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._threads, self._idle.get, True, max(0.0, deadline - time.monotonic())
            )
        except queue.Empty:
            raise QueryTimeoutError(
                f"all {self.size} query workers stayed busy for {self.timeout:g} s; try again later"
            ) from None

    async def _ask(
        self,
        worker: WorkerProcess,
        header: dict[str, Any],
        body: bytes,
        deadline: float,
        watcher: asyncio.Future | None,
    ) -> wire.Message:
        """Send one message and read the reply on the loop; kill the worker on the deadline or a disconnect."""
        loop = asyncio.get_running_loop()
        exchange = asyncio.ensure_future(self._exchange(worker, header, body))
        try:
            waiting = {exchange} | ({watcher} if watcher is not None else set())
            done, _ = await asyncio.wait(
                waiting, timeout=max(0.0, deadline - time.monotonic()), return_when=asyncio.FIRST_COMPLETED
            )
            if exchange not in done:
                worker.doomed = True
                if watcher is not None and watcher in done:
                    raise ClientGoneError("the client went away; its query was stopped")
                raise QueryTimeoutError(f"the query ran past the {self.timeout:g} s time limit and was cancelled")
            reply = exchange.result()
        except wire.MessageTooLargeError:
            worker.doomed = True  # the answer is still in the socket: the worker goes with it
            raise
        except (EOFError, OSError, ValueError):
            worker.doomed = True
            raise await loop.run_in_executor(self._threads, self._death, worker) from None
        finally:
            exchange.cancel()
        if reply[0]["kind"] == "memory":  # a MemoryError leaves an interpreter in doubt: replace it
            worker.doomed = True
        return reply

    async def _exchange(self, worker: WorkerProcess, header: dict[str, Any], body: bytes) -> wire.Message:
        await wire.send(worker.sock, header, body)
        return await wire.receive(worker.sock, self.max_answer_bytes)

    async def _forward(
        self, checked: CheckedQuery, job: QueryJob, deadline: float, watcher: asyncio.Future | None
    ) -> tuple[bytes, str]:
        assert self._remote is not None
        call = asyncio.ensure_future(
            self._remote.query(checked, job, max(0.01, deadline - time.monotonic()), self.graphs)
        )
        waiting = {call} | ({watcher} if watcher is not None else set())
        done, _ = await asyncio.wait(
            waiting, timeout=max(0.0, deadline - time.monotonic()), return_when=asyncio.FIRST_COMPLETED
        )
        if call in done:
            return call.result()
        call.cancel()  # closes the HTTP connection; the server's own time limit ends its work
        if watcher is not None and watcher in done:
            raise ClientGoneError("the client went away; its query was stopped")
        raise QueryTimeoutError(f"the query ran past the {self.timeout:g} s time limit and was cancelled")

    def _death(self, worker: WorkerProcess) -> Exception:
        """Why a worker stopped mid-query: its memory ceiling, most likely, or a crash."""
        code = worker.exit_code()
        if code in OUT_OF_MEMORY_SIGNALS:
            return MemoryLimitError(
                f"the query needed more memory than the {self.memory_mb} MiB ceiling of a query worker and was "
                "stopped; the worker was replaced"
            )
        log.error("a SPARQL worker stopped unexpectedly (exit status %s)", code)
        return StoreError("the query worker stopped unexpectedly and was replaced")

    def _release(self, worker: WorkerProcess) -> None:
        if worker.doomed or worker.process.poll() is not None:
            self._retire(worker)
        else:
            self._idle.put(worker)

    # --- the pool ---------------------------------------------------------------------------------

    def _retire(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()  # SIGKILL, then reap: milliseconds
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
                worker = WorkerProcess()
                with self._lock:
                    self._live.add(worker)
                ready = worker.start(self._config, wait_s=120)
                with self._lock:
                    closed = self._closed
                    if closed or not ready:
                        self._live.discard(worker)
                if closed:
                    worker.kill()
                    return
                if ready:
                    self.sandbox = worker.report
                    if worker.report is not None and not worker.report.network_filter:
                        log.warning(
                            "SPARQL worker runs WITHOUT its network sandbox (--allow-unsandboxed): %s",
                            worker.report.problem,
                        )
                    self._idle.put(worker)
                    return
                worker.kill()
                if worker.problem:
                    self.start_problem = worker.problem
                    log.error("a SPARQL worker cannot be sandboxed: %s", worker.problem)
                    return
                log.error("a SPARQL worker failed to start (attempt %d of %d)", attempt + 1, attempts)

        threading.Thread(target=start, name="sparql-worker-start", daemon=True).start()


def _unpack(reply: wire.Message) -> QueryOutcome:
    header, body = reply
    if header["kind"] == "ok":
        return QueryOutcome(str(header["content_type"]), body, bool(header["truncated"]))
    raise _failure(header)


def _unpack_checked(reply: wire.Message) -> CheckedQuery:
    header, _ = reply
    if header["kind"] == "checked":
        return checked_from_json(header["query"])
    raise _failure(header)


#: The refusals a worker may report, by code (anything else it reports is read as a refused query).
_REFUSALS: dict[str, type[InputError]] = {
    cls.code: cls for cls in (QueryRejectedError, UpdateRefusedError, NotAcceptableError, MediaTypeError)
}


def _failure(header: dict[str, Any]) -> Exception:
    kind = header["kind"]
    if kind == "refused":
        return _REFUSALS.get(str(header.get("code")), SparqlRequestError)(str(header["message"]))
    if kind == "timeout":
        return QueryTimeoutError(str(header["message"]))
    if kind == "memory":
        return MemoryLimitError("the query needed more memory than the ceiling of a query worker and was stopped")
    if kind == "too-large":
        return wire.MessageTooLargeError(int(header["size"]), 0)
    if kind == "store":
        return StoreError(str(header["message"]))
    log.error("a SPARQL worker failed with %s", str(header.get("error", kind))[:200])
    return StoreError("the graph store failed to answer")


def _safe(call, default):
    try:
        return call()
    except (StoreError, QueryTimeoutError):  # a remote store down or silent: asked again later
        log.warning("the store did not answer a metadata query")
        return default
