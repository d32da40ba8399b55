"""A page per term (issue 12 item 3): every tkg: IRI dereferenceable under `/terms/{name}`, an HTML page for a
browser with what the graph says of it (statements with claim text and numbered sources), its RDF description
by Accept (W3C Best Practice Recipes for Publishing RDF Vocabularies), 406 otherwise."""

from __future__ import annotations

import os
import re
import shutil

import pytest
import rdflib
import rdflib.compare
from markupsafe import escape

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: The drawings need Graphviz's dot (Debian's graphviz): CI installs it (.ci/run); elsewhere its tests are skipped
#: without it, so the quick start's `make test` holds on a machine that has only Python and Java.
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"), reason="needs Graphviz's dot: apt-get install graphviz"
)
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
}


def _page(client, name: str) -> str:
    response = client.get(f"/terms/{name}", headers={"Accept": BROWSER})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html") and "Accept" in response.headers["vary"]
    return response.text


@pytest.mark.parametrize(("name", "route"), [("Spasticity", "conditions"), ("OralBaclofen", "interventions")])
def test_a_term_page_shows_every_statement_with_its_claim_and_numbered_sources(client, name, route) -> None:
    page = _page(client, name)
    detail = client.get(f"/{route}/tkg:{name}").json()
    assert f"<h1>{escape(detail['label'])}</h1>" in page and '<html lang="en">' in page
    assert escape(detail["definition"]) in page
    for code in detail["codes"]:
        assert f"<td>{code['code']}</td>" in page
    assert detail["statements"]
    for statement in detail["statements"]:
        assert f"<blockquote>{escape(statement['claim'])}</blockquote>" in page, statement["statement"]
        for source in statement["sources"]:
            assert f"[{source['reference']}] {escape(source['label'])}" in page
    assert "<script" not in page  # readable without JavaScript


def test_a_conditions_page_shows_its_ladder_and_every_link_leads_to_a_page(client) -> None:
    page = _page(client, "Spasticity")
    ladder = client.get("/therapy-lines", params={"condition": "tkg:Spasticity"}).json()
    section = page.split('<h2 id="ladder">', 1)[1].split("</section>", 1)[0]
    for line in ladder["lines"]:
        assert f"<h3>{escape(line['label'])}</h3>" in section
        for option in line["options"]:
            assert escape(option["label"]) in section
    links = set(re.findall(r'href="(/terms/[^"]+)"', page))
    assert len(links) > 10
    for link in sorted(links):
        assert client.get(link, headers={"Accept": BROWSER}).status_code == 200, link


@pytest.mark.parametrize("name", ["OralBaclofen", "Source1", "FirstLine", "BaclofenGradualTapering"])
def test_the_description_comes_in_each_rdf_format_by_accept(client, name) -> None:
    graphs = []
    for media_type, parser in RDF_TYPES.items():
        response = client.get(f"/terms/{name}", headers={"Accept": media_type})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
        graphs.append(rdflib.Graph().parse(data=response.text, format=parser))
    subject = rdflib.URIRef(f"https://w3id.org/therapy-kg/{name}")
    assert (subject, rdflib.RDF.type, None) in graphs[0]
    assert all(len(g) == len(graphs[0]) for g in graphs)
    assert client.get(f"/terms/{name}").headers["content-type"].startswith("text/turtle")  # no Accept: Turtle


def test_what_cannot_be_given_is_refused_clearly(client) -> None:
    assert client.get("/terms/OralBaclofen", headers={"Accept": "image/png"}).status_code == 406
    missing = client.get("/terms/NoSuchTerm", headers={"Accept": BROWSER})
    assert missing.status_code == 404 and "tkg:NoSuchTerm" in missing.json()["detail"]
    assert client.get("/terms/a%20b").status_code in (400, 422)
    assert client.get("/terms/tkg:OralBaclofen").text == client.get("/terms/OralBaclofen").text  # a CURIE too


def test_the_description_is_a_named_query_too(client) -> None:
    response = client.get("/queries/api/describe", params={"term": "tkg:OralBaclofen"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    page = rdflib.Graph().parse(data=client.get("/terms/OralBaclofen").text, format="turtle")
    assert rdflib.compare.isomorphic(graph, page)


@needs_dot
def test_a_conditions_ladder_is_drawn_with_its_options_links_and_sources(client) -> None:
    import xml.etree.ElementTree as ET

    response = client.get("/terms/GeneralizedSpasticity/ladder.svg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    svg = ET.fromstring(response.content)
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    links = {a.get("{http://www.w3.org/1999/xlink}href") for a in svg.iter("{http://www.w3.org/2000/svg}a")}
    ladder = client.get("/therapy-lines", params={"condition": "tkg:GeneralizedSpasticity"}).json()
    assert ladder["lines"]
    for line in ladder["lines"]:
        assert line["label"] in texts
        for option in line["options"]:
            assert option["label"] in texts and f"/terms/{option['iri'].rsplit('/', 1)[1]}" in links
        for recommendation in line["recommendations"]:
            for source in recommendation["sources"]:
                assert f"[{source['reference']}] {source['label']}" in texts
    page = _page(client, "GeneralizedSpasticity")
    assert '<img src="/terms/GeneralizedSpasticity/ladder.svg" alt="The therapy ladder of' in page
    assert client.get("/terms/OralBaclofen/ladder.svg").status_code == 404  # not a condition


@needs_dot
def test_an_evaluation_is_drawn_with_each_options_status(client) -> None:
    """`POST /evaluate` with `Accept: image/svg+xml`: each indication's ladder, every option of the answer
    filled by its status and the status written in its box; JSON stays the default."""
    import xml.etree.ElementTree as ET

    from api.ladder_svg import STATUS_FILL

    patient = {
        "id": "p-1",
        "age": 45,
        "conditions": ["tkg:GeneralizedSpasticity"],
        "therapies_tried": ["tkg:Stretching"],
    }
    answer = client.post("/evaluate", json=patient)
    assert answer.headers["content-type"] == "application/json" and "Accept" in answer.headers["vary"]
    drawn = client.post("/evaluate", json=patient, headers={"Accept": "image/svg+xml"})
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(drawn.content)
    ns = "{http://www.w3.org/2000/svg}"
    boxes = {}  # option label → (its texts, its fill)
    for node in svg.iter(f"{ns}g"):
        if node.get("class") == "node":
            texts = [t.text or "" for t in node.iter(f"{ns}text")]
            fills = [p.get("fill") for p in node.iter(f"{ns}path")] + [p.get("fill") for p in node.iter(f"{ns}polygon")]
            if texts:
                boxes[texts[0].split(" [")[0]] = (texts, {f for f in fills if f and f != "none"})
    options = [o for o in answer.json()["options"] if o.get("indication")]
    assert options
    for option in options:
        texts, fills = boxes[option["label"]]
        assert option["status"] in texts and STATUS_FILL[option["status"]] in fills, option["label"]
    assert (
        client.post("/evaluate", json=patient, headers={"Accept": "application/json, image/svg+xml;q=0.5"}).headers[
            "content-type"
        ]
        == "application/json"
    )


def test_without_graphviz_the_drawing_says_so_and_the_rest_answers(client, monkeypatch) -> None:
    import graphviz

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    response = client.get("/terms/GeneralizedSpasticity/ladder.svg")
    assert response.status_code == 503 and "apt-get install graphviz" in response.json()["detail"]
    assert client.get("/therapy-lines", params={"condition": "tkg:GeneralizedSpasticity"}).status_code == 200
    assert client.get("/terms/GeneralizedSpasticity", headers={"Accept": BROWSER}).status_code == 200
