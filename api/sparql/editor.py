"""The SPARQL editor a browser gets at `GET /sparql` (issue 12 item 2), as Fuseki, Oxigraph and GraphDB give one.

YASGUI is vendored under `api/static/sparql-editor/yasgui` (the npm build, its licence and version beside it)
and served by this service with the page's own script (`editor.js`), so the editor sends nothing elsewhere:
its endpoint catalogue offers this endpoint alone and its completion uses the graph's prefixes and the query's
variables (not LOV). The page is rendered from a Jinja2 template; the prefixes and the example tabs (the
competency queries of `queries/`, their text as written) reach the script as JSON in the page. Machines, which
do not ask for HTML by name, keep getting the SPARQL 1.1 service description.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse

from api.pages import templates
from api.sparql.negotiation import RDF_OFFERS, names_above
from kg.ontology.prefixes import PREFIXES as GRAPH_PREFIXES
from kg.store.queries import load_queries

#: Where the page's scripts and styles are served (a StaticFiles mount of STATIC).
ASSETS = "/sparql-editor"
STATIC = Path(__file__).resolve().parents[1] / "static" / "sparql-editor"
#: The prefixes a query of this graph needs besides the graph's own (kg.ontology.build.PREFIXES).
STANDARD_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_HTML = ("text/html", "application/xhtml+xml")


def wants_html(accept: str | None) -> bool:
    """Whether the client names HTML above every RDF format it names: a browser does, `*/*` does not.

    >>> wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), wants_html("*/*")
    (True, False)
    >>> wants_html("text/html;q=0.5, text/turtle"), wants_html(None)
    (False, False)
    """
    return names_above(accept, _HTML, (t for fmt in RDF_OFFERS for t in (fmt.media_type, *fmt.aliases)))


def editor_page(endpoint: str) -> HTMLResponse:
    """The editor, sending its queries to `endpoint` (the service's public URL, never the Host header)."""
    config = {"endpoint": endpoint, "prefixes": prefixes(), "examples": examples()}
    body = templates().get_template("sparql-editor.html").render(config=config, endpoint=endpoint, assets=ASSETS)
    return HTMLResponse(body, headers={"Vary": "Accept"})


@cache
def prefixes() -> dict[str, str]:
    return {**STANDARD_PREFIXES, **GRAPH_PREFIXES}


@cache
def examples() -> list[dict[str, Any]]:
    """The competency queries (those at the top of `queries/`), by name, with their text as written."""
    return [{"name": name, "query": q.text} for name, q in sorted(load_queries().items()) if "/" not in name]
