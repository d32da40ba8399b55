"""A remote store that is down, silent, or answering garbage (issue 14 item 7): 503 with Retry-After, no wait
beyond the configured time limit, and the service back by itself when the store is.

The misbehaving stores are real loopback listeners: one that takes the connection and never answers, one
that drops it, one that answers 200 with something that is not SPARQL. That the client gave up on time is
read off the listener: it sees the client close the connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.state import load_state
from kg.errors import QueryTimeoutError, StoreUnavailableError
from kg.store import RemoteSparqlStore

GARBAGE = b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: 9\r\n\r\nnot json!"
HTML = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>"


class Listener:
    """A loopback server answering every connection one way; notes when a client hangs up on it."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.closed_by_client = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._done.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            if self.behaviour == "drops":
                return
            if self.behaviour in ("garbage", "html"):
                connection.sendall(GARBAGE if self.behaviour == "garbage" else HTML)
            connection.settimeout(30)
            try:
                while connection.recv(65536):  # silent: wait for the client to give up
                    pass
                self.closed_by_client.set()
            except OSError:
                pass

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self.sock.close()


@contextmanager
def listener(behaviour: str) -> Iterator[Listener]:
    server = Listener(behaviour)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("behaviour", ["silent", "drops", "garbage", "html"])
def test_a_misbehaving_store_is_unavailable_not_an_answer(behaviour) -> None:
    with listener(behaviour) as server:
        store = RemoteSparqlStore(server.url, timeout=0.5, operation="form-post")
        with pytest.raises((StoreUnavailableError, QueryTimeoutError)) as raised:
            store.query("SELECT ?s WHERE { ?s ?p ?o }")
        store.close()
        assert raised.value.retry_after
        if behaviour == "silent":
            assert isinstance(raised.value, QueryTimeoutError)
            assert server.closed_by_client.wait(30)  # the client gave up at its time limit and hung up


def test_a_silent_store_is_asked_each_operation_then_called_unavailable() -> None:
    with listener("silent") as server:
        store = RemoteSparqlStore(server.url, timeout=0.3)
        with pytest.raises(StoreUnavailableError, match="answered no query"):
            store.query("ASK {}")
        store.close()


@pytest.mark.parametrize("behaviour", ["silent", "garbage"])
def test_the_api_over_a_misbehaving_store_answers_503_with_retry_after(behaviour) -> None:
    with listener(behaviour) as server:
        settings = Settings(
            sparql_endpoint=server.url, query_timeout_s=0.5, sparql_protocol="form-post", public_url="http://testserver"
        )
        state = load_state(settings)
        with TestClient(create_app(settings, state=state)) as client:
            for response in (client.get("/health"), client.post("/evaluate", json={"conditions": ["tkg:Spasticity"]})):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"]
                assert "cannot be checked" in response.json()["detail"]
