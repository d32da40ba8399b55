"""`/terms/{name}`: every `tkg:` IRI dereferenceable under the server (issue 12 item 3), as OBO PURLs and
pubby-style servers give a page per term, after the W3C "Best Practice Recipes for Publishing RDF Vocabularies":
an HTML page for a browser (a client naming text/html above every RDF type it names), else the IRI's
description in Turtle, N-Triples, RDF/XML or JSON-LD by `Accept`, 406 for anything else.

The page is rendered from `api/templates/term.html` (plain semantic HTML, no script): label, definition, codes,
super- and subclasses, every statement about the term with its claim text and numbered sources, the therapy
ladder of a condition, and every triple of its description, each `tkg:` IRI a link to its own page. The public
IRI `https://w3id.org/therapy-kg/{name}` reaches this route by the redirect rule the README gives for w3id.org.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Header, Path
from fastapi.responses import HTMLResponse, Response

from api.deps import ServiceDep, StoreDep
from api.ladder_svg import ladder_svg
from api.pages import templates
from api.routers.lookups.models import NOT_FOUND
from api.routers.lookups.rows import CATEGORIES, refs_for, select, term_detail
from api.routers.lookups.therapy_lines import therapy_lines
from api.sparql.editor import prefixes, wants_html
from api.sparql.negotiation import RDF_OFFERS, choose
from kg.errors import InvalidRequestError, NotFoundError
from kg.store import triples
from kg.store.queries import named_query
from kg.store.terms import TKG

router = APIRouter(tags=["terms"])
#: A term's local name: what follows `https://w3id.org/therapy-kg/` in the graph's IRIs.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,127}")
_ACCEPTS = {"description": "An HTML page, or the description as Turtle, N-Triples, RDF/XML or JSON-LD by Accept"}


@router.get(
    "/terms/{name}",
    response_class=Response,
    responses={200: _ACCEPTS, **NOT_FOUND, 406: {"description": "None of the formats the client accepts"}},
    summary="A term of the graph: its page for a browser, its RDF description by Accept",
)
def term_page(
    store: StoreDep,
    service: ServiceDep,
    name: Annotated[str, Path(description="The local name of a tkg: IRI", examples=["OralBaclofen"])],
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    iri = _iri(name)
    described = list(triples(named_query("api/describe").run(store, {"term": iri})))
    if not described:
        raise NotFoundError(f"the graph has no tkg:{iri.removeprefix(TKG)}")
    if wants_html(accept):
        return HTMLResponse(_page(store, service, iri, described), headers={"Vary": "Accept"})
    fmt = choose(RDF_OFFERS, accept)  # 406 when the client accepts none
    body = ox.serialize(described, format=fmt.rdf, prefixes=prefixes())
    return Response(body, media_type=fmt.content_type, headers={"Vary": "Accept"})


@router.get(
    "/terms/{name}/ladder.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The drawing"}, **NOT_FOUND},
    summary="The therapy ladder of a condition, drawn (SVG): lines, options, preferences, prerequisites, sources",
)
def term_ladder(
    store: StoreDep,
    service: ServiceDep,
    name: Annotated[str, Path(description="The local name of a condition", examples=["GeneralizedSpasticity"])],
) -> Response:
    ladder = therapy_lines(store, service, condition=_iri(name))  # 404 for a term that is not a condition
    return Response(ladder_svg(ladder), media_type="image/svg+xml")


def _iri(name: str) -> str:
    """The IRI of a local name (a CURIE `tkg:Name` is taken too); an input error for anything else."""
    name = name.removeprefix("tkg:")
    if not _NAME.fullmatch(name):
        raise InvalidRequestError(f"{name[:80]!r} is not the local name of a tkg: IRI", field="name")
    return TKG + name


def _page(store: Any, service: Any, iri: str, described: list[ox.Triple]) -> str:
    refs = refs_for(service)
    categories = sorted({CATEGORIES[r["category"]] for r in select(store, "term", term=iri)})
    term = term_detail(store, refs, iri, categories[0], "name") if categories else None
    ladder = therapy_lines(store, service, condition=iri) if "condition" in categories else None
    curie = refs.terms.compress(iri)
    return (
        templates()
        .get_template("term.html")
        .render(
            iri=iri,
            curie=curie,
            name=iri.removeprefix(TKG),
            term=term,
            ladder=ladder,
            label=term.label if term else _literal(described, "http://www.w3.org/2000/01/rdf-schema#label") or curie,
            rows=[
                (_cell(t.predicate, refs), _cell(t.object, refs)) for t in described if t.subject == ox.NamedNode(iri)
            ],
            href=href,
        )
    )


def href(iri: str) -> str | None:
    """The page of a tkg: IRI under this server; None for any other IRI."""
    return "/terms/" + iri.removeprefix(TKG) if iri.startswith(TKG) else None


def _literal(described: list[ox.Triple], predicate: str) -> str | None:
    found = (t.object for t in described if t.predicate.value == predicate and isinstance(t.object, ox.Literal))
    return next((literal.value for literal in found), None)


def _cell(term: Any, refs: Any) -> dict[str, str | None]:
    """A triple's term for the page: its text, and its page when it is a tkg: IRI."""
    if isinstance(term, ox.NamedNode):
        value = term.value
        return {
            "text": refs.terms.compress(value),
            "href": "/terms/" + value.removeprefix(TKG) if value.startswith(TKG) else None,
        }
    if isinstance(term, ox.Literal):
        return {"text": term.value, "href": None}
    return {"text": "(an OWL expression: see the Turtle)", "href": None}
