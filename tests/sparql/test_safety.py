"""/sparql safety (SPEC §10): read-only, no outbound connection, a real time limit, a body limit.

Outbound connections are caught by a loopback TCP listener: every refused query names it (as a
SERVICE, FROM or dataset parameter) and the listener must see no connection at all. A control test
shows pyoxigraph itself would have connected.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from api.middleware import BodySizeLimitMiddleware
from api.settings import Settings
from api.sparql.guard import SparqlRequestError, bare_words, check_query
from api.sparql.runner import QueryJob, SparqlRunner
from kg.errors import StoreError
from tests.sparql.conftest import build_app

DIRECT = {"content-type": "application/sparql-query"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
#: A cartesian product of eight patterns over every triple: 30^8 rows to count.
PATHOLOGICAL = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"?s{i} ?p{i} ?o{i} ." for i in range(8)) + " }"
CHEAP = "ASK { ?s ?p ?o }"


class Listener:
    """A loopback TCP server that only counts the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.02)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def untouched(self, grace_s: float = 0.1) -> bool:
        time.sleep(grace_s)
        return self.connections == 0

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def send(client: TestClient, channel: str, query: str, **params):
    if channel == "get":
        return client.get("/sparql", params={"query": query, **params})
    if channel == "form":
        return client.post("/sparql", data={"query": query, **params}, headers=FORM)
    return client.post("/sparql", params=params, content=query.encode(), headers=DIRECT)


def test_control_pyoxigraph_follows_service(listener: Listener) -> None:
    """Without the guard the listener does see a connection: the other tests can fail."""
    list(ox.Store().query(f"SELECT * {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}"))
    assert not listener.untouched()


FEDERATED = [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ {{ SELECT ?s {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }} }}",
    "SELECT * {{ ?s ?p ?o OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?q ?r }} }} }}",
    "SELECT * {{ {{ ?s ?p ?o }} UNION {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
    "ASK {{ ?s ?p ?o FILTER EXISTS {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ ?s ?p ?o MINUS {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
    "SELECT * {{ GRAPH ?g {{ ?s ?p ?o }} SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ VALUES ?endpoint {{ <{url}> }} SERVICE SILENT ?endpoint {{ ?s ?p ?o }} }}",
    "PREFIX remote: <{url}> SELECT * {{ SERVICE SILENT remote: {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "DESCRIBE ?s WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ # a comment\n SERVICE\tSILENT\n<{url}>{{?s ?p ?o}} }}",
    "SELECT * {{ SERV\\u0049CE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <\\u0068ttp{rest}> {{ ?s ?p ?o }} }}",
]


@pytest.mark.parametrize("channel", ["get", "form", "direct"])
@pytest.mark.parametrize("template", FEDERATED)
def test_service_is_refused_without_connecting(
    client: TestClient, listener: Listener, template: str, channel: str
) -> None:
    query = template.format(url=listener.url, rest=listener.url[4:])
    response = send(client, channel, query)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "SERVICE is not allowed: federated queries are refused"
    assert listener.untouched()


@pytest.mark.parametrize(
    "template",
    [
        # Read with \u expanded everywhere first (as SPARQL says), SERVICE sits inside a long string;
        # an engine that expanded \u only inside strings would see a live SERVICE here.
        'SELECT * WHERE {{ BIND( # \\u000A"""\n"x" AS ?z) SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} # """ AS ?z) }}',
        'SELECT * WHERE {{ ?s ?p "\\u0022 }} SERVICE SILENT <{url}> {{ ?s ?p ?o }} #" }}',
        'SELECT ?x WHERE {{ BIND("SERVICE <{url}> {{}}" AS ?x) }} # SERVICE <{url}>',
        "PREFIX ex: <http://ex/> SELECT * WHERE {{ ?s ex:a\\# ?o . SERVICE SILENT <{url}> {{}} }}",
    ],
)
def test_parser_differentials_never_connect(client: TestClient, listener: Listener, template: str) -> None:
    response = send(client, "direct", template.format(url=listener.url))
    assert response.status_code in (200, 400), response.text
    assert listener.untouched()


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "PREFIX r: <{url}> ASK FROM r:data {{ ?s ?p ?o }}",
        "BASE <{url}> CONSTRUCT {{ ?s ?p ?o }} FROM <graph> WHERE {{ ?s ?p ?o }}",
    ],
)
@pytest.mark.parametrize("channel", ["get", "form", "direct"])
def test_from_outside_the_store_is_refused(client: TestClient, listener: Listener, template: str, channel: str) -> None:
    response = send(client, channel, template.format(url=listener.url))
    assert response.status_code == 400, response.text
    assert "is not a graph of this store" in response.json()["detail"]
    assert listener.untouched()


@pytest.mark.parametrize("parameter", ["default-graph-uri", "named-graph-uri"])
@pytest.mark.parametrize("channel", ["get", "form", "direct"])
def test_dataset_parameters_outside_the_store_are_refused(
    client: TestClient, listener: Listener, parameter: str, channel: str
) -> None:
    response = send(client, channel, CHEAP, **{parameter: listener.url})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{parameter} <{listener.url}> is not a graph of this store")
    assert listener.untouched()


def test_from_a_graph_of_the_store_is_allowed(client: TestClient) -> None:
    query = "ASK FROM <https://w3id.org/therapy-kg/graph/knowledge> { ?s a <https://w3id.org/therapy-kg/Intervention> }"
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 200
    assert response.json()["boolean"] is True


def count_triples(client: TestClient) -> str:
    return client.get(
        "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"}
    ).text


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA {{ <urn:a> <urn:b> <urn:c> }}",
        "DELETE WHERE {{ ?s ?p ?o }}",
        "DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p 1 }} WHERE {{ ?s ?p ?o }}",
        "LOAD <{url}>",
        "LOAD SILENT <{url}> INTO GRAPH <urn:g>",
        "CLEAR ALL",
        "DROP DEFAULT",
        "CREATE GRAPH <urn:g>",
        "ADD DEFAULT TO <urn:g>",
        "MOVE DEFAULT TO <urn:g>",
        "COPY DEFAULT TO <urn:g>",
        "WITH <urn:g> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
        "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    ],
)
@pytest.mark.parametrize("how", ["query-get", "query-direct", "update-form", "update-direct", "update-get"])
def test_updates_are_refused_and_change_nothing(client: TestClient, listener: Listener, update: str, how: str) -> None:
    text = update.format(url=listener.url)
    before = count_triples(client)
    if how == "query-get":
        response = client.get("/sparql", params={"query": text})
    elif how == "query-direct":
        response = client.post("/sparql", content=text, headers=DIRECT)
    elif how == "update-form":
        response = client.post("/sparql", data={"update": text}, headers=FORM)
    elif how == "update-get":
        response = client.get("/sparql", params={"update": text})
    else:
        response = client.post("/sparql", content=text, headers={"content-type": "application/sparql-update"})
    assert 400 <= response.status_code < 500, response.text
    assert "not allowed" in response.json()["detail"]
    assert listener.untouched()
    assert count_triples(client) == before


def test_errors_are_short_and_have_no_internals(client: TestClient) -> None:
    for query in (
        "SELECT * WHERE { ?s ?p }",
        "SELECT ?x WHERE { ?x <urn:p> ?y } GROUP BY ?y",
        "\x00",
        "{}" * 5000,
        "SELECT * {" + "{" * 3000 + "}" * 3000 + "}",
    ):
        response = client.post("/sparql", content=query.encode(), headers=DIRECT)
        assert response.status_code == 400, (query[:40], response.text)
        body = response.json()
        assert set(body) == {"type", "title", "status", "detail", "code"} and body["code"].startswith("input.query")
        assert len(body["detail"]) < 300
        assert "Traceback" not in body["detail"] and "/site-packages/" not in body["detail"]


def test_form_body_that_is_not_utf8_is_400(client: TestClient) -> None:
    response = client.post("/sparql", content=b"query=ASK%20%7B%7D%FF", headers=FORM)
    assert response.status_code == 400
    assert client.post("/sparql", content=b"ASK {\xff}", headers=DIRECT).status_code == 400


# --- the time limit --------------------------------------------------------------------------------------


@pytest.fixture
def slow_app(runaway_store):
    app = build_app(runaway_store, Settings(query_timeout_s=1.0), workers=2)
    with TestClient(app) as test_client:
        app.state.sparql_runner.wait_ready(count=2)
        yield app, test_client


def wait_until(condition, limit_s: float = 30.0) -> bool:
    """Poll `condition` until it holds or `limit_s` passes (a bound on waiting, not an assertion on time)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_pathological_query_is_cancelled_and_others_keep_answering(slow_app) -> None:
    app, client = slow_app
    runner: SparqlRunner = app.state.sparql_runner
    assert runner.wait_ready(count=2)
    workers_before = {w.process.pid: w.process for w in runner._live}
    slow: dict[str, object] = {}

    def run_slow() -> None:
        slow["response"] = client.get("/sparql", params={"query": PATHOLOGICAL})

    thread = threading.Thread(target=run_slow)
    thread.start()
    assert wait_until(lambda: runner.in_flight == 1)
    cheap = client.get("/sparql", params={"query": CHEAP})
    health = client.get("/health")
    still_running = thread.is_alive()
    thread.join(timeout=15)

    assert still_running, "the pathological query finished before the cheap one: nothing was tested"
    assert cheap.status_code == 200 and cheap.json()["boolean"] is True
    assert health.status_code == 200
    response = slow["response"]
    assert response.status_code == 503
    assert response.json()["code"] == "limit.timeout"
    assert response.json()["detail"] == "the query ran past the 1 s time limit and was cancelled"
    if runner.store_name == "oxigraph":
        # real cancellation: the worker that ran it was killed, and a fresh one replaces it
        alive = {w.process.pid for w in runner._live}
        killed = [process for pid, process in workers_before.items() if pid not in alive]
        assert len(killed) == 1 and killed[0].wait(timeout=10) is not None
    assert runner.wait_ready(count=2, timeout=30)
    assert client.get("/sparql", params={"query": CHEAP}).status_code == 200


def test_workers_stop_with_the_app(sparql_store) -> None:
    app = build_app(sparql_store, Settings(), workers=2)
    with TestClient(app) as client:
        assert client.get("/sparql", params={"query": CHEAP}).status_code == 200
        processes = [w.process for w in app.state.sparql_runner._live]
    assert len(processes) == 2
    assert all(process.poll() is not None for process in processes)
    with pytest.raises(StoreError):
        app.state.sparql_runner.run(QueryJob(CHEAP))
    app.state.sparql_runner.close()  # idempotent


WATCHDOG_SCRIPT = """
import sys, time
import pyoxigraph as ox
from api.settings import Settings
from api.sparql.runner import SparqlRunner
from kg.store import OxigraphStore
store = OxigraphStore()
store.store.load(b'<urn:s> <urn:p> <urn:o> .', format=ox.RdfFormat.N_QUADS)
runner = SparqlRunner(store, Settings(), workers=2)
runner.wait_ready(count=2)
print(" ".join(str(w.process.pid) for w in runner._live), flush=True)
import os; os._exit(0)  # dies without closing the runner
"""


def test_workers_die_with_a_crashed_parent() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(
        [sys.executable, "-c", WATCHDOG_SCRIPT], capture_output=True, text=True, cwd=root, timeout=60, check=True
    ).stdout
    pids = [int(pid) for pid in out.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- the body limit --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_body_client(sparql_store):
    with TestClient(build_app(sparql_store, Settings(max_body_bytes=2048), workers=1)) as test_client:
        yield test_client


def test_body_over_the_limit_is_413(small_body_client: TestClient) -> None:
    big = "ASK { ?s ?p ?o } " + "#" * 4096
    response = small_body_client.post("/sparql", content=big, headers=DIRECT)
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "limit.body-size" and problem["status"] == 413
    assert problem["detail"] == "the request body is larger than 2048 bytes (max_body_bytes)"
    chunked = small_body_client.post(
        "/sparql", content=(part.encode() for part in [big[:1000], big[1000:]]), headers=DIRECT
    )
    assert chunked.status_code == 413
    assert small_body_client.post("/sparql", content=big[:2000], headers=DIRECT).status_code == 200
    small = small_body_client.post("/sparql", content=(p.encode() for p in ["ASK {", "}"]), headers=DIRECT)
    assert small.status_code == 200


def test_413_is_sent_before_the_body_is_read() -> None:
    touched: list[str] = []

    async def app(scope, receive, send):  # pragma: no cover - must not run
        touched.append("app")

    async def receive():
        touched.append("receive")
        return {"type": "http.request", "body": b"x" * 10, "more_body": False}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", b"5000")]}
    asyncio.run(BodySizeLimitMiddleware(app, max_bytes=100)(scope, receive, send))
    assert touched == []
    assert sent[0]["status"] == 413


# --- the checks themselves --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('SELECT * { ?s ?p "SERVICE" } # SERVICE', {"SELECT"}),
        ("SELECT * { ?s <urn:SERVICE> ?service }", {"SELECT"}),
        ("PREFIX ex: <urn:> SELECT * { ?s ex:a\\#b ?o } # INSERT", {"PREFIX", "SELECT"}),
        ("SELECT * { ?s ?p '''a ' '' \\''' SERVICE''' }", {"SELECT"}),
        ('SELECT * { ?s ?p """a "" \\""" SERVICE""" }', {"SELECT"}),
        ('ASK { ?s ?p "x"@en-GB } ', {"ASK"}),
        ("SELECT * { _:service ?p ?o FILTER(?o < 3 && ?o > 1) SERVICE <urn:x> {} }", {"SELECT", "FILTER", "SERVICE"}),
    ],
)
def test_bare_words_skip_strings_iris_comments_and_names(query: str, words: set[str]) -> None:
    assert set(bare_words(query)) == words


def test_check_query_passes_expanded_text() -> None:
    checked = check_query('SELECT ("\\u0041" AS ?x) {}', frozenset())
    assert checked.text == 'SELECT ("A" AS ?x) {}' and checked.form == "SELECT"
    with pytest.raises(SparqlRequestError, match="escape"):
        check_query('SELECT ("\\u005Cu0041" AS ?x) {}', frozenset())
