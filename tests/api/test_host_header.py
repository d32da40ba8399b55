"""Never trust Host (issue 15): links come from the configured public URL; other Host names get 400.

The app here is built with a public URL of its own and no `testserver` among its allowed names, so
the TestClient's default Host is refused like any other stranger's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.hosts import allowed_hosts, public_url
from api.settings import Settings
from api.state import AppState
from kg.errors import ConfigError
from kg.service import TherapyKG

PUBLIC = "https://cds.example.org/tkg"
DATA = Path(__file__).parents[1] / "data" / "cds"


def _request(name: str) -> dict:
    body = json.loads((DATA / f"{name}.json").read_text())
    body.pop("description")
    return body


@pytest.fixture(scope="module")
def app(store):
    settings = Settings(public_url=PUBLIC, listen_port=8000)  # as serve sets it
    application = create_app(settings, state=AppState(settings, store, TherapyKG(store)))
    with TestClient(application):  # runs the lifespan once for the module
        yield application


def _client(app, host: str) -> TestClient:
    return TestClient(app, base_url=f"http://{host}")


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "testserver",
        "cds.example.org.evil.example",
        "127.0.0.2",
        "localhost:1",
        "cds.example.org:8443",
        "127.0.0.1:9",
    ],
)
def test_a_host_not_allowed_is_400(app, host) -> None:
    for path in ("/health", "/sparql", "/cds-services"):
        response = _client(app, host).get(path)
        assert response.status_code == 400, (host, path)
    response = _client(app, host).post(
        "/cds-services/therapy-kg-patient-view", json=_request("patient-view-ms-spasticity")
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "host", ["cds.example.org", "CDS.example.org:443", "localhost", "127.0.0.1:8000", "[::1]:8000"]
)
def test_allowed_hosts_are_the_public_urls_and_loopback(app, host) -> None:
    assert _client(app, host).get("/health").status_code == 200


@pytest.mark.parametrize(
    "name, service",
    [
        ("patient-view-stroke-on-baclofen", "therapy-kg-patient-view"),
        ("patient-view-ms-spasticity", "therapy-kg-patient-view"),
        ("order-select-stroke-baclofen", "therapy-kg-order-select"),
    ],
)
def test_card_links_use_only_the_public_url(app, name, service) -> None:
    client = _client(app, "localhost")
    response = client.post(
        f"/cds-services/{service}",
        json=_request(name),
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http", "Forwarded": "host=evil.example"},
    )
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    urls = [link["url"] for card in cards for link in card.get("links", [])]
    urls += [card["source"]["url"] for card in cards if card["source"].get("url")]
    assert urls, "the cards link to the API"
    assert all(url.startswith(PUBLIC + "/") for url in urls), urls
    assert "evil.example" not in response.text and "localhost" not in response.text


@pytest.mark.parametrize("host", ["localhost", "cds.example.org"])
def test_the_sparql_service_description_names_the_public_endpoint(app, host) -> None:
    response = _client(app, host).get("/sparql", headers={"Accept": "text/turtle", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200, response.text
    store = ox.Store()
    store.load(response.content, format=ox.RdfFormat.TURTLE)
    endpoints = {
        str(s["e"].value)
        for s in store.query(
            "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> SELECT ?e { ?s sd:endpoint ?e }"
        )
    }
    assert endpoints == {PUBLIC + "/sparql"}
    assert "evil.example" not in response.text and "localhost" not in response.text


def test_defaults() -> None:
    assert public_url(Settings()) == "http://127.0.0.1:8000"
    assert allowed_hosts(Settings()) == ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"]
    assert allowed_hosts(Settings(public_url="http://[::1]:9000")) == ["[::1]:9000", "localhost:9000", "127.0.0.1:9000"]
    assert allowed_hosts(Settings(public_url="https://cds.example.org", listen_port=8000)) == [
        "cds.example.org",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "localhost:8000",
        "127.0.0.1:8000",
        "[::1]:8000",
    ]
    assert allowed_hosts(Settings(public_url=PUBLIC, allowed_hosts="a.example, b.example")) == [
        "a.example",
        "b.example",
    ]


@pytest.mark.parametrize(
    "settings",
    [
        {"public_url": "ftp://x.example"},
        {"public_url": "https://x.example/?a=1"},
        {"public_url": "https://user:pw@x.example"},
        {"public_url": "not a url"},
        {"allowed_hosts": "*"},
    ],
)
def test_settings_that_would_trust_any_host_refuse_to_start(settings) -> None:
    with pytest.raises(ConfigError):
        create_app(Settings(**settings))
