"""The W3C SPARQL 1.1 Protocol tests as written (issue 14 item 5): the official manifest is read, and each of
its 34 test records' requests is sent to /sparql as the manifest gives it (method, path, headers, body in its
character encoding), its response checked against the manifest's `ht:Response`.

The dataset is the suite's: the graphs its records load with `ut:graphData` (data1-3.nt, named by their
labels). `data0.rdf`, which several records name as a dataset but the suite does not ship (a conforming server
fetches it from the web), is a named graph of the test store holding what data1-3 hold for their names: this
service never fetches a graph. The manifest's host (`www.example`) is the test app's public URL, so the base
IRI the service defines is the suite's. Both stores run it: embedded, and a real Oxigraph server.

One departure, by the SPEC (§10: /sparql is read-only): the records that expect an update to succeed get 403
`input.query.update`, and a query after them shows the store unchanged. They are listed in `READ_ONLY`; any
other record that does not answer as the manifest says fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from api.settings import Settings
from kg.store import Store
from tests.sparql.conftest import build_app, dataset_store

SUITE = Path(__file__).parents[1] / "data" / "w3c-sparql11-protocol"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"
FOAF_DOCUMENT = ox.NamedNode("http://xmlns.com/foaf/0.1/Document")
#: The records whose update would succeed on a writable endpoint; here every update is refused (SPEC §10).
READ_ONLY = frozenset(
    {
        "update_dataset_default_graph",
        "update_dataset_default_graphs",
        "update_dataset_named_graphs",
        "update_dataset_full",
        "update_post_form",
        "update_post_direct",
        "update_base_uri",
    }
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[int]  # the status classes it may get: 2, 3, 4
    format: str | None
    boolean: bool | None


@dataclass(frozen=True)
class Record:
    name: str
    authority: str
    graphs: dict[str, Path]  # graph name -> data file
    requests: tuple[Request, ...]


def read_manifest() -> list[Record]:
    graph = rdflib.Graph().parse(SUITE / "manifest.ttl", format="turtle", publicID=(SUITE / "manifest.ttl").as_uri())
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    records = []
    for entry in Collection(graph, graph.value(manifest, MF.entries)):
        action = graph.value(entry, MF.action)
        graphs = {
            str(graph.value(g, RDFS.label)): Path(str(graph.value(g, UT.graph)).removeprefix("file://"))
            for g in graph.objects(entry, UT.graphData)
        }
        requests = tuple(_request(graph, r) for r in Collection(graph, graph.value(action, HT.requests)))
        name = str(entry).rsplit("#", 1)[-1]
        records.append(Record(name, str(graph.value(action, HT.connectionAuthority)), graphs, requests))
    return records


def _request(graph: rdflib.Graph, node: rdflib.term.Node) -> Request:
    headers = {
        str(graph.value(h, HT.fieldName)): str(graph.value(h, HT.fieldValue))
        for h in Collection(graph, graph.value(node, HT.headers) or RDF.nil)
    }
    body_node = graph.value(node, HT.body)
    body = None
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)
    statuses = frozenset(int(str(s).rsplit("StatusCode", 1)[1][0]) for s in graph.objects(response, MF.expectedStatus))
    boolean = graph.value(response, MF.expectedBoolean)
    expected_format = graph.value(response, MF.expectedFormat)
    return Request(
        str(graph.value(node, HT.methodName)),
        str(graph.value(node, HT.absolutePath)),
        headers,
        body,
        statuses,
        None if expected_format is None else str(expected_format),
        None if boolean is None else bool(boolean.toPython()),
    )


RECORDS = read_manifest()


def suite_dataset() -> bytes:
    """The graphs the records load, by name, and the stand-in for data0.rdf."""
    quads: list[ox.Quad] = []
    for name, path in sorted({n: p for r in RECORDS for n, p in r.graphs.items()}.items()):
        quads += [ox.Quad(*q.triple, ox.NamedNode(name)) for q in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES)]
    quads.append(ox.Quad(ox.NamedNode(DATA0), ox.NamedNode(str(RDF.type)), FOAF_DOCUMENT, ox.NamedNode(DATA0)))
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS)


@pytest.fixture(scope="module", params=["embedded", pytest.param("oxigraph-server", marks=pytest.mark.server)])
def suite_store(request, tmp_path_factory) -> Iterator[Store]:
    with dataset_store(request.param, tmp_path_factory.mktemp("w3c-protocol"), suite_dataset()) as store:
        yield store


@pytest.fixture(scope="module")
def suite_client(suite_store: Store) -> Iterator[TestClient]:
    authority = {r.authority for r in RECORDS}
    assert len(authority) == 1
    settings = Settings(public_url=f"http://{authority.pop()}")
    with TestClient(build_app(suite_store, settings, workers=1), base_url=settings.public_url) as client:
        yield client


def test_the_manifest_holds_its_34_records() -> None:
    assert len(RECORDS) == 34
    assert READ_ONLY <= {r.name for r in RECORDS}
    assert all(r.requests for r in RECORDS)


def _send(client: TestClient, request: Request):
    # the manifest: "replace [/sparql/] with whatever path prefix is appropriate for the endpoint being tested"
    path = request.path.replace("/sparql/", "/sparql", 1)
    return client.request(request.method, path, headers=request.headers, content=request.body)


def _is_update(request: Request) -> bool:
    return "sparql-update" in request.headers.get("content-type", "") or (request.body or b"").startswith(b"update=")


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_each_record_answers_as_the_manifest_says(suite_client: TestClient, record: Record) -> None:
    refused = False
    for request in record.requests:
        response = _send(suite_client, request)
        if record.name in READ_ONLY and _is_update(request):
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "input.query.update"
            refused = True
            continue
        assert response.status_code // 100 in request.statuses, (request.path, response.status_code, response.text)
        if request.format is not None:
            # after a refused update, the manifest's check of its effect must find the store unchanged
            expected = request.boolean if request.boolean is None or not refused else not request.boolean
            _check_format(response, request.format, expected)


def _check_format(response, expected: str, boolean: bool | None) -> None:
    media_type = response.headers["content-type"].split(";")[0].strip()
    if expected == "RDF":
        assert ox.RdfFormat.from_media_type(media_type) is not None, media_type
        list(ox.parse(response.content, format=ox.RdfFormat.from_media_type(media_type)))
        return
    results_format = ox.QueryResultsFormat.from_media_type(media_type)
    assert results_format is not None, media_type
    result = ox.parse_query_results(response.content, format=results_format)
    if expected == "boolean":
        assert isinstance(result, ox.QueryBoolean)
        if boolean is not None:
            assert bool(result) is boolean
    else:
        assert isinstance(result, ox.QuerySolutions)
        list(result)
