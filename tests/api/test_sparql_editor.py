"""The SPARQL editor at `GET /sparql` for a browser (issue 12 item 2): YASGUI vendored and served here, the
graph's prefixes, the competency queries as example tabs; machines keep the service description."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from api.sparql.editor import STATIC
from kg.resources import queries_dir

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
_CONFIG = re.compile(r'<script type="application/json" id="tkg-editor-config">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def page(client):
    response = client.get("/sparql", headers={"Accept": BROWSER})
    assert response.status_code == 200, response.text
    return response


def _config(page) -> dict:
    (text,) = _CONFIG.findall(page.text)
    assert "<" not in text  # the JSON cannot close its script element: `<` is written \u003c
    return json.loads(text)


def test_a_browser_gets_the_editor_with_everything_it_loads_served_here(client, page) -> None:
    assert page.headers["content-type"].startswith("text/html") and "Accept" in page.headers["vary"]
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert {"/sparql-editor/yasgui/yasgui.min.js", "/sparql-editor/yasgui/yasgui.min.css"} <= set(loaded)
    for url in loaded:
        assert url.startswith("/sparql-editor/"), url
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content, url
    assert not re.search(r"<(?:script|link|img|iframe)[^>]*(?:src|href)=\"(?:https?:)?//", page.text)
    assert '<html lang="en">' in page.text and "<main" in page.text and "<noscript>" in page.text


def test_yasgui_is_vendored_with_its_version_and_licence() -> None:
    vendored = STATIC / "yasgui"
    package = json.loads((vendored / "package.json").read_text())
    assert package["name"] == "@zazuko/yasgui" and package["license"] == "MIT"
    assert package["version"] in (vendored / "README.md").read_text()
    assert "MIT License" in (vendored / "LICENSE").read_text()


def test_the_editor_holds_the_prefixes_and_the_competency_queries_which_run_here(client, page) -> None:
    config = _config(page)
    assert config["endpoint"] == "http://testserver/sparql"  # the public URL, never the Host header
    assert config["prefixes"]["tkg"] == "https://w3id.org/therapy-kg/"
    assert config["prefixes"]["rdfs"] == "http://www.w3.org/2000/01/rdf-schema#"
    competency = {p.stem: p.read_text() for p in Path(queries_dir()).glob("*.rq")}
    assert {e["name"]: e["query"] for e in config["examples"]} == competency
    for example in config["examples"]:  # each tab's query, as the editor posts it
        answer = client.post(
            "/sparql",
            content=urlencode({"query": example["query"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"},
        )
        assert answer.status_code == 200, (example["name"], answer.text)


@pytest.mark.parametrize("accept", [None, "*/*", "text/turtle", "text/html;q=0.5, text/turtle", "application/ld+json"])
def test_machines_keep_the_service_description(client, accept) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", headers=headers)
    assert response.status_code == 200 and not response.headers["content-type"].startswith("text/html")
    assert "sparql-service-description" in response.text or "ns/sparql-service-description" in response.text


def test_the_editor_script_asks_nothing_of_other_servers() -> None:
    script = (STATIC / "editor.js").read_text()
    assert 'autocompleters: ["prefixes", "variables"]' in script  # not LOV's classes and properties
    assert "persistenceId: null" in script and "getData" in script  # no public endpoint catalogue
    assert "http" not in script
