"""Host, port and forwarded headers on `therapy-kg serve` itself (issue 22 item 4): no response names what the
client claimed. `POST /sparql/` with `Host: localhost:1` was answered 307 to `http://localhost:1/sparql`
(Starlette's host check ignored the port; FastAPI's trailing-slash redirect used the Host header), and
uvicorn believed X-Forwarded-Proto from loopback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.served import served

DATA = Path(__file__).parents[1] / "data" / "cds"
CLAIMS = {
    "Host: localhost:1": {"Host": "localhost:1"},
    "Host: evil.example": {"Host": "evil.example"},
    "X-Forwarded-Host": {"X-Forwarded-Host": "evil.example"},
    "X-Forwarded-Proto": {"X-Forwarded-Proto": "gopher", "X-Forwarded-For": "203.0.113.9"},
}
#: (method, path, body): routes that write URLs, a redirect candidate, and the documentation
ROUTES = [
    ("POST", "/sparql/", "query=ASK%20%7B%7D"),
    ("GET", "/sparql", ""),
    ("GET", "/cds-services", ""),
    ("POST", "/cds-services/therapy-kg-patient-view", "cds"),
    ("GET", "/openapi.json", ""),
    ("GET", "/docs", ""),
    ("GET", "/health", ""),
]


@pytest.fixture(scope="module")
def server():
    with served() as running:
        yield running


def _raw(base: str, method: str, path: str, body: str, headers: dict[str, str]) -> bytes:
    """One request as bytes on a socket, so the Host sent is exactly the one given."""
    port = int(base.rsplit(":", 1)[1])
    if body == "cds":
        request = json.loads((DATA / "patient-view-ms-spasticity.json").read_text())
        request.pop("description")
        body, content_type = json.dumps(request), "application/json"
    else:
        content_type = "application/x-www-form-urlencoded"
    lines = [
        f"{method} {path} HTTP/1.1",
        *(f"{k}: {v}" for k, v in {"Host": f"127.0.0.1:{port}", **headers}.items()),
        "Connection: close",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body.encode())}",
        "",
        body,
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join(lines).encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("claim", CLAIMS)
def test_no_response_names_what_the_client_claimed(server, claim: str) -> None:
    headers = CLAIMS[claim]
    for method, path, body in ROUTES:
        answer = _raw(server.base, method, path, body, headers).lower()
        status = answer.split(b"\r\n", 1)[0]
        for word in (b"evil.example", b"localhost:1", b"gopher", b"203.0.113.9"):
            assert word not in answer, (claim, path, status)
        assert not status.startswith(b"http/1.1 3"), (claim, path, status)
        if "Host" in headers:
            assert status.startswith(b"http/1.1 400"), (claim, path, status)


def test_a_trailing_slash_is_not_redirected(server) -> None:
    answer = _raw(server.base, "POST", "/sparql/", "query=ASK%20%7B%7D", {})
    assert answer.startswith(b"HTTP/1.1 404") and b"\r\nlocation:" not in answer.lower()
