"""Heavy work off the event loop, in a bounded pool, and load shedding beyond it (issue 15, items 6 and 8).

On a real loopback uvicorn server: /health answers while eight 50,000-entry Bundles are being
evaluated (before any of them has finished: on the event loop it waited for them); with every
evaluation place held, the next request gets 503 with Retry-After while the held ones still run.
The service is wrapped to record when evaluations start and end, and to hold chosen patients until
the test lets them go: every assertion is about the order of events, none about durations.
"""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from datetime import date
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from api.admission import RETRY_AFTER_S, OverloadedError, WorkPool
from api.app import create_app
from api.settings import Settings
from api.state import AppState
from kg.service import TherapyKG

DATA = Path(__file__).parents[1] / "data"
BUNDLE = json.loads((DATA / "fhir" / "ms-spasticity.json").read_text())
CDS_REQUEST = {
    k: v
    for k, v in json.loads((DATA / "cds" / "patient-view-ms-spasticity.json").read_text()).items()
    if k != "description"
}
PATIENT = {"age": 45, "conditions": ["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity"]}
#: 50,000 entries in about 850 KB (under the 1 MiB body limit): the Bundle that held the loop 1.7–2.7 s
LARGE_BUNDLE = orjson.dumps(
    {**BUNDLE, "entry": BUNDLE["entry"] + [{"id": f"e{i:05d}"} for i in range(50_000 - len(BUNDLE["entry"]))]}
)
GUARD_S = 120  # only so that a broken server fails the test instead of hanging it


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.005)


class RecordingService:
    """The real service, recording each evaluation's start and end; patients whose id starts with
    `hold` wait (once started) until `release` is set, so a test can keep pool places taken."""

    def __init__(self, real: TherapyKG) -> None:
        self.real = real
        self.release = threading.Event()
        self.entered: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self.started = self.finished = 0

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def evaluate_document_json(self, document: object, engine: str = "fast", as_of: date | None = None) -> bytes:
        with self._lock:
            self.started += 1
        try:
            patient = str(document.get("id", "")) if isinstance(document, dict) else ""
            if patient.startswith("hold"):
                self.entered.put(patient)
                self.release.wait()
            return self.real.evaluate_document_json(document, "fast", as_of)  # the owl engine's place, without Java
        finally:
            with self._lock:
                self.finished += 1


@contextmanager
def serving(service: RecordingService, settings: Settings) -> Iterator[tuple[httpx.Client, object]]:
    """The app on a real uvicorn server on a loopback socket (in a thread); a client, and the app."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    settings = settings.model_copy(update={"listen_port": port})  # the Host names 127.0.0.1 with this port
    app = create_app(settings, state=AppState(settings, service.real.store, service))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive())
        assert server.started, "uvicorn did not start"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=GUARD_S) as client:
            yield client, app
    finally:
        service.release.set()
        server.should_exit = True
        thread.join(GUARD_S)
        listener.close()


@pytest.fixture(scope="module")
def real_service(store) -> TherapyKG:
    return TherapyKG(store)


def _settings(**overrides) -> Settings:
    return Settings(public_url="http://127.0.0.1", **overrides)


def test_health_answers_while_eight_large_bundles_are_evaluated(real_service) -> None:
    service = RecordingService(real_service)
    with serving(service, _settings()) as (client, _), ThreadPoolExecutor(8) as senders:
        posts = [
            senders.submit(client.post, "/evaluate", content=LARGE_BUNDLE, headers={"Content-Type": "application/json"})
            for _ in range(8)
        ]
        wait_until(lambda: service.started >= 1)
        health = client.get("/health")
        finished_when_health_answered = service.finished
        assert health.status_code == 200
        assert finished_when_health_answered == 0, "/health waited for a Bundle's evaluation"
        responses = [p.result() for p in posts]
    assert [r.status_code for r in responses] == [200] * 8
    assert responses[0].json()["options"] and service.finished == 8


def _held(client: httpx.Client, senders: ThreadPoolExecutor, patient: str) -> Future:
    """A patient held in the pool: its body padded past `evaluate_inline_bytes`, so it is evaluated in a thread."""
    body = json.dumps({**PATIENT, "id": patient}) + " " * (Settings().evaluate_inline_bytes + 1)
    return senders.submit(client.post, "/evaluate", content=body, headers={"Content-Type": "application/json"})


def _shed(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert "busy" in response.json()["detail"]


def test_beyond_the_places_requests_get_503_with_retry_after_at_once(real_service) -> None:
    service = RecordingService(real_service)
    settings = _settings(evaluate_concurrency=1, evaluate_queue=1)
    with serving(service, settings) as (client, app), ThreadPoolExecutor(2) as senders:
        running = _held(client, senders, "hold-running")
        assert service.entered.get(timeout=GUARD_S) == "hold-running"  # it has the one thread
        waiting = _held(client, senders, "hold-waiting")
        wait_until(lambda: app.state.admission.evaluations.admitted == 2)  # it has the one queue place

        _shed(client.post("/evaluate", json=PATIENT))  # small enough for the loop, but it needs a place too
        _shed(client.post("/evaluate", content=LARGE_BUNDLE, headers={"Content-Type": "application/json"}))
        _shed(client.post("/evaluate", params={"engine": "owl"}, json=PATIENT))
        cds = client.post("/cds-services/therapy-kg-patient-view", json=CDS_REQUEST)  # a pool of its own
        health = client.get("/health")
        lookup = client.get("/conditions")
        assert not running.done() and not waiting.done(), "the refusals did not wait for the held evaluations"
        assert health.status_code == 200 and lookup.status_code == 200
        assert cds.status_code == 200, "a CDS call waited for, or was shed with, the /evaluate traffic"

        service.release.set()
        assert running.result().status_code == waiting.result().status_code == 200
        wait_until(lambda: app.state.admission.evaluations.admitted == 0)
        assert client.post("/evaluate", json=PATIENT).status_code == 200
        assert client.post("/cds-services/therapy-kg-patient-view", json=CDS_REQUEST).status_code == 200


def test_the_reasoner_has_places_of_its_own(real_service) -> None:
    """Two owl evaluations hold the reasoner's two slots and, with no reasoner queue, a third is
    refused at once; fast evaluations still answer meanwhile."""
    service = RecordingService(real_service)
    with serving(service, _settings(reasoner_queue=0)) as (client, _), ThreadPoolExecutor(2) as senders:
        held = [
            senders.submit(client.post, "/evaluate", params={"engine": "owl"}, json={**PATIENT, "id": f"hold-{i}"})
            for i in range(2)
        ]
        assert {service.entered.get(timeout=GUARD_S) for _ in held} == {"hold-0", "hold-1"}
        _shed(client.post("/evaluate", params={"engine": "owl"}, json=PATIENT))
        assert client.post("/evaluate", json=PATIENT).status_code == 200
        assert not any(h.done() for h in held)
        service.release.set()
        assert [h.result().status_code for h in held] == [200, 200]


def test_a_cancelled_request_keeps_its_place_until_its_job_is_done() -> None:
    """A client that goes away does not free the place while its evaluation still runs in the pool."""
    release, entered = threading.Event(), threading.Event()

    def job() -> str:
        entered.set()
        release.wait()
        return "done"

    async def scenario() -> None:
        pool = WorkPool("evaluation", concurrency=1, queue=0)

        async def request() -> str:
            async with pool.place() as place:
                return await place.run(job)

        task = asyncio.create_task(request())
        await asyncio.to_thread(entered.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.admitted == 1
        with pytest.raises(Exception, match="busy"):
            async with pool.place():
                pass
        release.set()
        while pool.admitted:  # freed by the job's end, on the loop
            await asyncio.sleep(0)
        async with pool.place() as place:
            assert await place.run(lambda: "next") == "next"
        pool.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("path", ["/evaluate", "/cds-services/{service_id}"])
def test_the_503_and_its_retry_after_are_in_the_openapi_schema(client, path) -> None:
    answer = client.get("/openapi.json").json()["paths"][path]["post"]["responses"]["503"]
    assert "Retry-After" in answer["headers"] and "place" in answer["description"]


def test_a_pool_refuses_by_the_wait_a_job_would_have() -> None:
    """Beyond its threads a pool admits a job only if it could start within max_wait_s (from those waiting
    and the mean time of recent jobs); the count of waiting places is only the outer bound."""
    pool = WorkPool("evaluation", concurrency=2, queue=100, max_wait_s=0.05)

    async def admitted(holding: int) -> bool:
        async with AsyncExitStack() as places:
            for _ in range(holding):
                await places.enter_async_context(pool.place())
            try:
                async with pool.place():
                    return True
            except OverloadedError as refused:
                assert "would wait about" in str(refused) and "more than 0.05 s" in str(refused)
                return False

    try:
        for _ in range(100):
            pool.observe(0.02)  # recent jobs took 20 ms
        # two threads, 20 ms jobs: the job after n admitted ones waits about (n - 1) x 10 ms
        assert [asyncio.run(admitted(n)) for n in (0, 1, 2, 6, 7)] == [True, True, True, True, False]
        for _ in range(100):
            pool.observe(0.001)  # fast jobs again: 60 waiting are admitted
        assert asyncio.run(admitted(60)) and pool.admitted == 0
    finally:
        pool.close()
