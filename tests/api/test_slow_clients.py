"""Idle and trickling connections hold no evaluation place (issue 22 item 1), on `therapy-kg serve` itself.

Before: /evaluate and the CDS service route took a place, then read the body with no deadline; a
few connections that sent headers and one byte locked every /evaluate and every signed CDS call out
with 503 for as long as they stayed open. Here, with one thread and one queue place per pool (so two
such connections would have been enough), 40 of them (20 silent, 20 sending a byte now and then) are
open while an ordinary /evaluate and a signed CDS call answer 200; each of the 40 then gets 408 and
its connection is closed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.oxigraph_server import free_port
from tests.served import served

DATA = Path(__file__).parents[1] / "data"
ISS = "https://ehr.example.org"
SERVICE = "therapy-kg-patient-view"
PATIENT = {"id": "slow-1", "age": 45, "conditions": ["tkg:MultipleSclerosis", "tkg:GeneralizedSpasticity"]}


def _issuer(folder: Path) -> tuple[rsa.RSAPrivateKey, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig"}
    (folder / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (folder / "issuers.json").write_text(json.dumps({ISS: "jwks.json"}))
    return key, folder / "issuers.json"


def _token(key: rsa.RSAPrivateKey, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": ISS, "sub": "ehr", "aud": audience, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "k1"})


def _stalled(port: int, path: str, headers: str = "") -> socket.socket:
    """A connection that sent its headers (a 1,000-byte body announced) and one byte of the body."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 1000\r\n{headers}\r\n{{".encode()
    )
    return sock


def _trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """One more byte on each connection every 0.2 s (at most 200 rounds), until stopped or refused."""
    for _ in range(200):
        if stop.wait(0.2):
            return
        for sock in socks:
            try:
                sock.sendall(b" ")
            except OSError:
                pass


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a guard of 60 s, never reached when it works)."""
    sock.settimeout(60)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    return received


def test_idle_and_trickling_connections_lock_nobody_out_and_end_with_408(tmp_path: Path) -> None:
    key, issuers = _issuer(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    places = {
        "TKG_EVALUATE_CONCURRENCY": "1",
        "TKG_EVALUATE_QUEUE": "1",
        "TKG_CDS_CONCURRENCY": "1",
        "TKG_CDS_QUEUE": "1",
        "TKG_BODY_TIMEOUT_S": "4",
    }
    cds_request = json.loads((DATA / "cds" / "patient-view-ms-spasticity.json").read_text())
    cds_request.pop("description")
    with served("--cds-issuers", str(issuers), "--public-url", base, port=port, env=places):
        bearer = f"Authorization: Bearer {_token(key, f'{base}/cds-services/{SERVICE}')}\r\n"
        idle = [_stalled(port, "/evaluate") for _ in range(10)]
        idle += [_stalled(port, f"/cds-services/{SERVICE}", bearer) for _ in range(10)]
        trickling = [_stalled(port, "/evaluate") for _ in range(10)]
        trickling += [_stalled(port, f"/cds-services/{SERVICE}", bearer) for _ in range(10)]
        stop = threading.Event()
        trickler = threading.Thread(target=_trickle, args=(trickling, stop))
        trickler.start()
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                evaluation = client.post("/evaluate", json=PATIENT)
                cds = client.post(
                    f"/cds-services/{SERVICE}",
                    json=cds_request,
                    headers={"Authorization": f"Bearer {_token(key, f'{base}/cds-services/{SERVICE}')}"},
                )
            answers = [_answer(sock) for sock in idle + trickling]
        finally:
            stop.set()
            trickler.join()
    assert evaluation.status_code == 200 and evaluation.json()["patient"] == "slow-1"
    assert cds.status_code == 200 and cds.json()["cards"]
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), {a.split(b"\r\n")[0] for a in answers}
    assert all(b"(body_timeout_s)" in a and b"connection: close" in a.lower() for a in answers)


def test_a_client_gone_mid_body_is_one_quiet_log_line(tmp_path: Path) -> None:
    """Issue 22 item 5: each dropped body logged a 68-line traceback (log flooding). Now one line per drop,
    naming method and route, nothing the client sent."""
    log = tmp_path / "server.log"
    secret = "secret-patient-name"
    with served(log=log) as server:
        port = int(server.base.rsplit(":", 1)[1])
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(
                    f"POST /evaluate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f'Content-Length: 1000\r\n\r\n{{"id": "{secret}", '.encode()
                )
        with httpx.Client(base_url=server.base, timeout=60) as client:  # answered after the five drops
            assert client.post("/evaluate", json=PATIENT).status_code == 200
    text = log.read_text()
    dropped = [line for line in text.splitlines() if "went away" in line]
    assert len(dropped) == 5 and all("POST /evaluate" in line for line in dropped), text[-3000:]
    assert "Traceback" not in text and secret not in text
