"""CDS Hooks 2.0 client authentication: the signed JWT on every service and feedback call.

The app is built with an issuer allow-list whose JWK Set is a file written here, with keys made by
`cryptography`; tokens are signed with pyjwt, or by hand for what pyjwt refuses to make (`alg: none`,
HS256 keyed with the issuer's public key). JWKS URLs are served by a loopback server that counts
connections, and a second loopback listener records any connection a redirect or a `jku` could cause.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from api.app import create_app
from api.cds import jwks
from api.cds.auth import CdsAuthError, ReplayCache, TokenVerifier, verifier_for
from api.cds.jwks import load_issuers
from api.settings import Settings
from api.state import AppState
from kg.errors import ConfigError, OverloadedError
from kg.service import TherapyKG

DATA = Path(__file__).parents[1] / "data" / "cds"
ISS = "https://ehr.example.org"
BASE = "http://testserver"
PATIENT_VIEW = "therapy-kg-patient-view"
SERVICE_URL = f"{BASE}/cds-services/{PATIENT_VIEW}"


def _request(name: str = "patient-view-ms-spasticity") -> dict:
    body = json.loads((DATA / f"{name}.json").read_text())
    body.pop("description")
    return body


def _public_jwk(key, kid: str, **extra) -> dict:
    jwk = (
        json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        if isinstance(key, rsa.RSAPrivateKey)
        else json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    )
    return {**jwk, "kid": kid, "use": "sig", **extra}


@pytest.fixture(scope="module")
def keys() -> dict:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP384R1()),
        "attacker": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture(scope="module")
def issuers_file(tmp_path_factory, keys) -> Path:
    folder = tmp_path_factory.mktemp("cds-issuers")
    jwks = {
        "keys": [
            _public_jwk(keys["rsa"], "rsa-1"),
            _public_jwk(keys["ec"], "ec-1"),
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0"},
        ]
    }  # a symmetric key is never used
    (folder / "ehr-jwks.json").write_text(json.dumps(jwks))
    path = folder / "issuers.json"
    path.write_text(json.dumps({ISS: "ehr-jwks.json"}))
    return path


@pytest.fixture(scope="module")
def kg(store) -> TherapyKG:
    return TherapyKG(store)


def _client(store, kg, **settings) -> TestClient:
    app_settings = Settings(public_url=BASE, **settings)
    return TestClient(create_app(app_settings, state=AppState(app_settings, store, kg)))


@pytest.fixture(scope="module")
def client(store, kg, issuers_file):
    with _client(store, kg, cds_issuers=issuers_file) as test_client:
        yield test_client


def token(key, alg: str = "RS384", kid: str | None = "rsa-1", headers: dict | None = None, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": ISS,
        "sub": "ehr-client",
        "aud": SERVICE_URL,
        "iat": now,
        "exp": now + 120,
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={**({"kid": kid} if kid else {}), **(headers or {})})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: dict, sign=None) -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    return head + "." + (_b64(sign(head.encode())) if sign else "")


def _claims() -> dict:
    now = int(time.time())
    return {"iss": ISS, "aud": SERVICE_URL, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}


def _call(client, bearer: str | None, service: str = PATIENT_VIEW, body: dict | None = None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.post(f"/cds-services/{service}", json=body or _request(), headers=headers)


def _refused(response, reason: str) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer realm=") and 'error="invalid_token"' in challenge
    assert reason in response.json()["detail"] and reason in challenge
    assert response.json()["error"] == "invalid_token"


# ---------------------------------------------------------------------------------- accepted
@pytest.mark.parametrize(
    "alg, key_name, kid",
    [
        ("RS384", "rsa", "rsa-1"),
        ("ES384", "ec", "ec-1"),
        ("RS256", "rsa", "rsa-1"),
        ("PS256", "rsa", "rsa-1"),
        ("RS384", "rsa", None),
    ],
)
def test_a_valid_token_is_accepted(client, keys, alg, key_name, kid) -> None:
    response = _call(client, token(keys[key_name], alg=alg, kid=kid))
    assert response.status_code == 200, response.text
    assert response.json()["cards"]


def test_aud_may_be_a_list_naming_the_service(client, keys) -> None:
    response = _call(client, token(keys["rsa"], aud=["https://other.example/x", SERVICE_URL]))
    assert response.status_code == 200, response.text


def test_discovery_needs_no_token(client) -> None:
    assert client.get("/cds-services").status_code == 200


# ---------------------------------------------------------------------------------- refused
def test_no_authorization_header_is_401_with_a_bare_challenge(client) -> None:
    response = _call(client, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="therapy-kg CDS Hooks"'  # RFC 6750 §3.1
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c"])
def test_a_malformed_authorization_header_is_401(client, header) -> None:
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=_request(), headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_expired(client, keys) -> None:
    now = int(time.time())
    _refused(_call(client, token(keys["rsa"], iat=now - 300, exp=now - 120)), "expired")


def test_issued_in_the_future(client, keys) -> None:
    now = int(time.time())
    _refused(_call(client, token(keys["rsa"], iat=now + 600, exp=now + 700)), "not valid yet")


@pytest.mark.parametrize(
    "aud",
    [
        f"{BASE}/cds-services/therapy-kg-order-select",
        f"http://evil.example/cds-services/{PATIENT_VIEW}",
        f"{BASE}/cds-services",
        "https://ehr.example.org",
    ],
)
def test_wrong_audience(client, keys, aud) -> None:
    _refused(_call(client, token(keys["rsa"], aud=aud)), "audience")


def test_unknown_issuer(client, keys) -> None:
    _refused(_call(client, token(keys["rsa"], iss="https://someone-else.example")), "issuer")


def test_bad_signature(client, keys) -> None:
    _refused(_call(client, token(keys["attacker"], kid="rsa-1")), "signature")


def test_a_kid_the_issuer_does_not_have(client, keys) -> None:
    _refused(_call(client, token(keys["rsa"], kid="rsa-2")), "no key")


def test_alg_none(client) -> None:
    _refused(_call(client, _unsigned({"alg": "none", "typ": "JWT"}, _claims())), "alg")


def test_hs256_signed_with_the_issuers_public_key(client, keys) -> None:
    """The classic confusion: an RS key's public PEM used as the HMAC secret."""
    pem = (
        keys["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    forged = _unsigned(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
        _claims(),
        sign=lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
    )
    _refused(_call(client, forged), "alg")


def test_hs256_with_the_jwks_own_symmetric_key(client) -> None:
    forged = _unsigned(
        {"alg": "HS256", "typ": "JWT", "kid": "shared"},
        _claims(),
        sign=lambda data: hmac.new(b"secret", data, hashlib.sha256).digest(),
    )
    _refused(_call(client, forged), "alg")


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud", "iss"])
def test_a_required_claim_missing(client, keys, claim) -> None:
    response = _call(client, token(keys["rsa"], **{claim: None}))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_living_too_long(client, keys) -> None:
    now = int(time.time())
    _refused(_call(client, token(keys["rsa"], iat=now, exp=now + 3600)), "lives longer")


def test_a_replayed_jti_is_refused(client, keys) -> None:
    once = token(keys["rsa"])
    assert _call(client, once).status_code == 200
    _refused(_call(client, once), "replay")
    other = token(keys["rsa"], jti=jwt.decode(once, options={"verify_signature": False})["jti"])
    _refused(_call(client, other), "replay")  # a new token reusing the jti is a replay too


def test_the_replay_cache_is_bounded_and_never_forgets_an_unexpired_jti() -> None:
    cache = ReplayCache(capacity=2)
    cache.admit("i", "a", until=100.0, now=0.0)
    cache.admit("i", "b", until=50.0, now=0.0)
    with pytest.raises(OverloadedError) as full:  # 503: the token may be good, it cannot be checked now
        cache.admit("i", "c", until=100.0, now=10.0)
    assert full.value.retry_after == 41
    cache.admit("i", "c", until=100.0, now=60.0)  # b expired and made room
    assert len(cache) == 2
    with pytest.raises(CdsAuthError, match="replay"):
        cache.admit("i", "a", until=100.0, now=60.0)


# ---------------------------------------------------------------------------------- feedback routes
def test_feedback_needs_a_token_for_its_own_url_or_the_service(client, keys) -> None:
    body = {
        "feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2024-01-01T00:00:00Z"}]
    }
    url = f"/cds-services/{PATIENT_VIEW}/feedback"
    assert client.post(url, json=body).status_code == 401
    for aud in (SERVICE_URL + "/feedback", SERVICE_URL):
        response = client.post(url, json=body, headers={"Authorization": f"Bearer {token(keys['rsa'], aud=aud)}"})
        assert response.status_code == 200, response.text
    wrong = token(keys["rsa"], aud=f"{BASE}/cds-services/therapy-kg-order-select/feedback")
    _refused(client.post(url, json=body, headers={"Authorization": f"Bearer {wrong}"}), "audience")
    assert client.get(url).status_code == 401
    counts = client.get(url, headers={"Authorization": f"Bearer {token(keys['rsa'], aud=SERVICE_URL + '/feedback')}"})
    assert counts.status_code == 200 and counts.json()["unattributed"] == {"accepted": 2}


def test_no_token_or_access_token_ever_reaches_the_logs(client, keys, caplog) -> None:
    secret_access_token = "fhir-access-" + uuid.uuid4().hex
    body = _request()
    body["fhirServer"] = "https://fhir.example.org/r4"
    body["fhirAuthorization"] = {
        "access_token": secret_access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
    valid, expired = token(keys["rsa"]), token(keys["rsa"], iat=int(time.time()) - 400, exp=int(time.time()) - 200)
    broken = copy.deepcopy(body)
    broken["fhirAuthorization"]["token_type"] = "MAC"
    caplog.set_level(logging.DEBUG)
    assert _call(client, valid, body=body).status_code == 200
    assert _call(client, valid, body=body).status_code == 401  # replay
    assert _call(client, expired, body=body).status_code == 401
    assert _call(client, token(keys["attacker"]), body=body).status_code == 401
    response = _call(client, token(keys["rsa"]), body=broken)
    assert response.status_code == 422 and secret_access_token not in response.text
    assert caplog.records, "the refusals are logged (with their reason)"
    for secret in (valid, expired, secret_access_token, valid.split(".")[2]):
        assert secret not in caplog.text


# ---------------------------------------------------------------------------------- JWKS by URL, jku
class _Recorder:
    """A loopback listener that only counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture()
def recorder():
    listener = _Recorder()
    yield listener
    listener.close()


@pytest.fixture()
def jwks_server(keys, recorder):
    """Serves /jwks.json (counting requests) and /moved, a redirect to the recorder."""
    body = json.dumps({"keys": [_public_jwk(keys["rsa"], "rsa-1")]}).encode()
    hits = {"jwks": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/jwks.json":
                hits["jwks"] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(302)
                self.send_header("Location", recorder.url + "/jwks.json")
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_jwks_from_an_allow_listed_url_is_fetched_once_and_cached(
    store, kg, keys, jwks_server, tmp_path, monkeypatch
) -> None:
    url, hits = jwks_server
    (tmp_path / "issuers.json").write_text(json.dumps({ISS: f"{url}/jwks.json"}))
    with _client(store, kg, cds_issuers=tmp_path / "issuers.json") as client:
        assert _call(client, token(keys["rsa"])).status_code == 200
        assert _call(client, token(keys["rsa"])).status_code == 200
        _refused(_call(client, token(keys["rsa"], kid="rotated")), "no key")  # just fetched: no refetch yet
        assert hits["jwks"] == 1
        monkeypatch.setattr(jwks, "REFETCH_INTERVAL_S", 0.0)  # the interval has passed
        _refused(_call(client, token(keys["rsa"], kid="rotated")), "no key")  # refetched, still unknown
    assert hits["jwks"] == 2


def test_a_jku_not_on_the_allow_list_is_never_fetched(client, keys, recorder) -> None:
    _refused(_call(client, token(keys["attacker"], headers={"jku": recorder.url + "/jwks.json"})), "jku")
    assert recorder.connections == 0


def test_a_jwks_redirect_is_not_followed(store, kg, keys, jwks_server, recorder, tmp_path) -> None:
    url, _ = jwks_server
    (tmp_path / "issuers.json").write_text(json.dumps({ISS: f"{url}/moved"}))
    with _client(store, kg, cds_issuers=tmp_path / "issuers.json") as client:
        response = _call(client, token(keys["rsa"]))
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert recorder.connections == 0


def test_a_listed_jku_is_used(store, kg, keys, jwks_server, tmp_path) -> None:
    url, hits = jwks_server
    (tmp_path / "empty.json").write_text(json.dumps({"keys": [_public_jwk(keys["ec"], "ec-1")]}))
    (tmp_path / "issuers.json").write_text(json.dumps({ISS: {"jwks": "empty.json", "jku": [f"{url}/jwks.json"]}}))
    with _client(store, kg, cds_issuers=tmp_path / "issuers.json") as client:
        assert _call(client, token(keys["rsa"], headers={"jku": f"{url}/jwks.json"})).status_code == 200
        _refused(_call(client, token(keys["rsa"])), "no key")  # without the jku: the file, which has no RSA key
    assert hits["jwks"] == 1


# ---------------------------------------------------------------------------------- start-up policy
def test_non_loopback_without_issuers_refuses_to_start(store, kg) -> None:
    with pytest.raises(ConfigError, match="--cds-issuers"):
        create_app(Settings(listen_host="0.0.0.0"), state=AppState(Settings(), store, kg))


def test_the_explicit_flag_runs_unauthenticated_with_a_loud_warning(caplog) -> None:
    caplog.set_level(logging.INFO)
    assert verifier_for(Settings(listen_host="0.0.0.0", cds_allow_unauthenticated=True)) is None
    assert any(r.levelno == logging.WARNING and "OFF" in r.getMessage() for r in caplog.records)


def test_loopback_without_issuers_is_off_and_says_so(caplog) -> None:
    caplog.set_level(logging.INFO)
    assert verifier_for(Settings(listen_host="127.0.0.1")) is None
    assert "authentication is off" in caplog.text


def test_issuers_configured_mean_authentication_on_everywhere(issuers_file) -> None:
    for host in ("127.0.0.1", "0.0.0.0"):
        for flag in (False, True):
            verifier = verifier_for(
                Settings(listen_host=host, cds_issuers=issuers_file, cds_allow_unauthenticated=flag)
            )
            assert isinstance(verifier, TokenVerifier) and ISS in verifier.issuers


@pytest.fixture()
def started(monkeypatch) -> list:
    """`therapy-kg serve` up to the point where uvicorn would start: the apps it would run."""
    import api.serve

    apps: list = []
    monkeypatch.setattr(api.serve.uvicorn, "run", lambda app, **options: apps.append((app, options)))
    return apps


def test_serve_off_loopback_without_issuers_exits_with_a_clear_message(started, capsys) -> None:
    from kg.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 2
    assert not started
    assert "refusing to serve CDS Hooks on 0.0.0.0 without client authentication" in capsys.readouterr().err


def test_serve_flags_reach_the_app(started, issuers_file) -> None:
    from kg.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--cds-allow-unauthenticated"]) == 0
    assert (
        main(
            [
                "serve",
                "--host",
                "0.0.0.0",
                "--port",
                "8123",
                "--cds-issuers",
                str(issuers_file),
                "--public-url",
                "https://cds.example.org",
                "--allowed-hosts",
                "cds.example.org,tkg.internal",
            ]
        )
        == 0
    )
    (open_app, _), (secured, options) = started
    assert open_app.state.cds.verifier is None and open_app.state.public_url == "http://0.0.0.0:8123"
    assert isinstance(secured.state.cds.verifier, TokenVerifier) and options["host"] == "0.0.0.0"
    assert secured.state.cds.service_url(PATIENT_VIEW) == f"https://cds.example.org/cds-services/{PATIENT_VIEW}"
    assert secured.state.settings.allowed_hosts == ["cds.example.org", "tkg.internal"]


@pytest.mark.parametrize(
    "config, message",
    [
        ("not json", "cannot read"),
        ({}, "expected an object"),
        ({ISS: 42}, "expected a JWKS path or URL"),
        ({ISS: "missing.json"}, "cannot use the JWKS file"),
        ({ISS: "http://jwks.example.org/keys"}, "https://"),
        ({ISS: {"jwks": "https://jwks.example.org/keys", "jku": ["ftp://x"]}}, "https://"),
        ({ISS: "symmetric.json"}, "no usable"),
    ],
)
def test_a_broken_allow_list_refuses_to_start(tmp_path, config, message) -> None:
    (tmp_path / "symmetric.json").write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    path = tmp_path / "issuers.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(ConfigError, match=message):
        load_issuers(path)
