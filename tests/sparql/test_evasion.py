"""The evasion corpus (`evasion-corpus.json`): every attempt to reach the network through /sparql fails.

Each attempt — line ends and whitespace of every kind, comments, code-point escapes, case, keywords
glued to names, SERVICE nested at any depth, SILENT, variable endpoints, FROM / FROM NAMED and the
dataset parameters, LOAD and updates, invisible characters — goes by GET, form POST and direct POST,
to the embedded store and to a real Oxigraph server behind `--sparql-endpoint`. Every answer must
be 4xx and the loopback listener the attempts name must see no connection at all. On the remote
store this tests the guard alone: the Oxigraph server would follow any SERVICE that got past it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.sparql.test_safety import Listener, send

CORPUS = json.loads(Path(__file__).with_name("evasion-corpus.json").read_text(encoding="utf-8"))


def test_the_corpus_covers_every_kind_of_attempt() -> None:
    kinds = {entry["category"] for entry in CORPUS}
    assert len(CORPUS) >= 100
    assert kinds >= {
        "line-end",
        "escape",
        "case",
        "glued",
        "nested",
        "variable-iri",
        "dataset",
        "dataset-parameter",
        "update",
        "invisible",
    }


@pytest.fixture(scope="module")
def corpus_listener():
    server = Listener()
    yield server
    server.close()


def _fill(text: str, url: str) -> str:
    return text.replace("{url}", url).replace("{rest}", url[4:])


@pytest.mark.parametrize("channel", ["get", "form", "direct"])
@pytest.mark.parametrize("entry", CORPUS, ids=[entry["id"] for entry in CORPUS])
def test_no_attempt_connects_and_each_is_refused(
    client: TestClient, corpus_listener: Listener, entry: dict, channel: str
) -> None:
    query = _fill(entry["query"], corpus_listener.url)
    params = {name: _fill(value, corpus_listener.url) for name, value in entry.get("params", {}).items()}
    response = send(client, channel, query, **params)
    assert 400 <= response.status_code < 500, (entry["id"], response.status_code, response.text[:300])
    assert "detail" in response.json()
    assert corpus_listener.untouched(grace_s=0.0), entry["id"]


def test_the_listener_saw_nothing_after_the_whole_corpus(corpus_listener: Listener) -> None:
    """A connection made late (a server following SERVICE after answering) still counts."""
    assert corpus_listener.untouched(grace_s=0.5)
