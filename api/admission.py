"""Admission of the heavy work of a request: parse and evaluate in a bounded pool, shed load beyond it.

Why: evaluation is CPU-bound Python. Run on the event loop, one 850 KB Bundle of 50,000 entries
held every other request (/health, the lookups) for 1.7–2.7 s, and with nothing bounding the
queue, 200 connections waited on the loop until the p99 was 50 times the p50. Here:

* a job runs in a thread of its pool (`concurrency` threads, not the thread pool FastAPI runs sync
  routes in), so the loop keeps answering other requests while it runs. A job on a small body
  (`inline_bytes`, off by default) may run at once on the loop instead: the hop to a thread and
  back costs more than evaluating a small patient (measured with wrk: every body to the threads
  cost 17% of the throughput at 16 connections, 45% at 200), but on the loop a flood of small
  requests queues on the loop itself, where nothing bounds or orders it (/health then waits seconds);
* a request waits for a thread only if it could start within `max_wait_s` (judged from the jobs
  waiting and the mean time of recent jobs) and at most `queue` wait; otherwise it gets
  `OverloadedError` at once (503 with Retry-After). With a fixed 16 waiting places, 200 wrk
  connections of ordinary patients had 89% refused while the loop spent its time refusing them (the
  answered p50 rose from 77 to 89 ms); by the wait, only what could not start in time is refused.
  A place is taken only once the body has arrived whole (`api.middleware`
  reads it within its size and time limits first), so idle or trickling connections hold none;
* CDS Hooks service calls have a pool of their own, so anonymous /evaluate traffic, however heavy,
  never takes the places of an EHR's (signed) calls;
* a place is freed when its job's thread is done, not when the request is cancelled, so the bound
  holds on real work even when clients go away.

Counts change on the event loop only, so they need no lock. The GIL still shares one core between
the jobs and the loop: pydantic validates a whole Bundle in one call that keeps the GIL (measured:
up to about 150 ms for a 1 MB Bundle), and that is the longest the loop can be made to wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from api.settings import Settings
from kg.errors import OverloadedError

__all__ = ["REASONER_SLOTS", "RETRY_AFTER_S", "Admission", "AdmissionDep", "OverloadedError", "WorkPool"]

T = TypeVar("T")

#: The owl engine starts a JVM per evaluation: at most this many at once.
REASONER_SLOTS = 2
#: What a refused client is told to wait: places free within a few evaluations.
RETRY_AFTER_S = 1
#: The OpenAPI description of the header, for the routes' `responses`.
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "seconds to wait before trying again (every place taken)",
        "schema": {"type": "integer"},
    }
}


class Place:
    """One admitted request's place in a pool: it runs at most one job there."""

    def __init__(self, pool: WorkPool) -> None:
        self._pool = pool
        self.job: asyncio.Future | None = None

    async def run(self, fn: Callable[..., T], *args: object, size: int | None = None) -> T:
        """`fn(*args)` in a pool thread, or at once on the loop when `size` (of the input) is small.
        Cancelling the caller does not stop the job, nor free the place."""
        if self.job is not None:
            raise RuntimeError("a place runs one job")
        if size is not None and size <= self._pool.inline_bytes:
            self.job = asyncio.get_running_loop().create_future()
            self.job.set_result(None)
            return fn(*args)
        self.job = asyncio.get_running_loop().run_in_executor(self._pool.executor, self._pool.timed, fn, *args)
        return await asyncio.shield(self.job)


class WorkPool:
    """`concurrency` threads and at most `queue` waiting places; `place()` refuses at once when they are all
    taken, or when a new job could not start within `max_wait_s` (None: no such bound). Jobs on inputs of at
    most `inline_bytes` run on the loop, but need a place all the same."""

    def __init__(
        self, name: str, concurrency: int, queue: int, inline_bytes: int = 0, max_wait_s: float | None = None
    ) -> None:
        self.name = name
        self.inline_bytes = inline_bytes
        self.concurrency = concurrency
        self.capacity = concurrency + queue
        self.max_wait_s = max_wait_s
        self.admitted = 0
        self.mean_s = 0.001  # mean wall time of recent jobs in their thread (moving average)
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"tkg-{name}")

    def timed(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn` (in a pool thread) and fold its wall time into the mean."""
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.observe(time.perf_counter() - start)

    def observe(self, seconds: float) -> None:
        self.mean_s = 0.9 * self.mean_s + 0.1 * seconds

    def expected_wait(self) -> float:
        """Seconds a job admitted now would wait for a thread: the jobs before it, `concurrency` at a time."""
        waiting = self.admitted - self.concurrency + 1
        return max(0, waiting) * self.mean_s / self.concurrency

    def refusal(self) -> OverloadedError | None:
        if self.admitted >= self.capacity:
            return _busy(f"all {self.capacity} {self.name} places are taken")
        wait = self.expected_wait()
        if self.max_wait_s is not None and wait > self.max_wait_s:
            return _busy(
                f"a new {self.name} would wait about {wait:.1f} s for a thread (more than {self.max_wait_s:g} s)"
            )
        return None

    @asynccontextmanager
    async def place(self) -> AsyncIterator[Place]:
        refusal = self.refusal()
        if refusal is not None:
            raise refusal
        self.admitted += 1
        place = Place(self)
        try:
            yield place
        finally:
            if place.job is None or place.job.done():
                self._free(place.job)
            else:  # the caller was cancelled while its job runs: the place is freed when the thread is done
                place.job.add_done_callback(self._free)

    def _free(self, job: asyncio.Future | None) -> None:
        self.admitted -= 1
        if job is not None and not job.cancelled():
            job.exception()  # retrieved, so an abandoned job's error is not logged with its (patient) data

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Admission:
    """The app's pools: patient parsing and evaluation (/evaluate), CDS Hooks service calls, the DL reasoner."""

    evaluations: WorkPool
    cds: WorkPool
    reasoner: WorkPool

    @classmethod
    def from_settings(cls, settings: Settings) -> Admission:
        return cls(
            WorkPool(
                "evaluation",
                settings.evaluate_concurrency,
                settings.evaluate_queue,
                settings.evaluate_inline_bytes,
                settings.evaluate_max_wait_s,
            ),
            WorkPool(
                "CDS service",
                settings.cds_concurrency,
                settings.cds_queue,
                settings.evaluate_inline_bytes,
                settings.evaluate_max_wait_s,
            ),
            WorkPool("reasoner", REASONER_SLOTS, settings.reasoner_queue),
        )

    def close(self) -> None:
        self.evaluations.close()
        self.cds.close()
        self.reasoner.close()


def _busy(why: str) -> OverloadedError:
    return OverloadedError(f"the server is busy: {why}; try again in {RETRY_AFTER_S} s", retry_after=RETRY_AFTER_S)


async def get_admission(request: Request) -> Admission:
    return request.app.state.admission


AdmissionDep = Annotated[Admission, Depends(get_admission)]
