"""`GET, POST /sparql`: the SPARQL 1.1 Protocol query operation, read-only.

Protocol checks happen here (which parameters, which content type, UTF-8); the query itself is
checked, evaluated and serialised by the runner's workers under the time limit. A plain `GET`
without `query` answers the service description.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from api.errors import Problem
from api.hosts import public_url
from api.sparql.editor import editor_page, wants_html
from api.sparql.guard import READ_ONLY, SparqlRequestError, UpdateRefusedError, check_dataset
from api.sparql.negotiation import ALL_FORMATS, RDF_OFFERS, choose
from api.sparql.runner import QueryJob, SparqlRunner
from api.sparql.service_description import PREFIXES, describe
from kg.errors import MalformedBodyError, MediaTypeError

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
UPDATE_PARAMETERS = ("update", "using-graph-uri", "using-named-graph-uri")


async def get_runner(request: Request) -> SparqlRunner:
    return request.app.state.sparql_runner


RunnerDep = Annotated[SparqlRunner, Depends(get_runner)]
QueryParam = Annotated[
    str | None,
    Query(
        description="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE). Without it, GET answers the "
        "service description."
    ),
]
DefaultGraphs = Annotated[
    list[str] | None,
    Query(
        alias="default-graph-uri",
        description="A named graph of this store to use as (part of) the default "
        "graph. Graphs outside the store are refused, never fetched.",
    ),
]
NamedGraphs = Annotated[
    list[str] | None,
    Query(alias="named-graph-uri", description="A named graph of this store to make available to GRAPH."),
]
AcceptHeader = Annotated[
    str | None,
    Header(
        description="Result format: SELECT/ASK → application/sparql-results+json (default), "
        "application/sparql-results+xml, text/csv, text/tab-separated-values (SELECT only); CONSTRUCT/DESCRIBE "
        "→ text/turtle (default), application/n-triples, application/rdf+xml, application/ld+json."
    ),
]

_RESULT_SCHEMAS = {"application/sparql-results+json": {"type": "object"}, "application/ld+json": {}}
RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "Query results (or, for a plain GET, the service description) in the negotiated format. "
        "`X-Truncated: true` says rows beyond the row cap were cut.",
        "content": {
            fmt.media_type: {"schema": _RESULT_SCHEMAS.get(fmt.media_type, {"type": "string"})} for fmt in ALL_FORMATS
        },
        "headers": {
            "X-Truncated": {
                "description": "true when rows or triples beyond the row cap were cut",
                "schema": {"type": "string", "enum": ["true", "false"]},
            },
            "X-Row-Limit": {"description": "the row cap", "schema": {"type": "integer"}},
        },
    },
    400: {"description": "Malformed request or query, SERVICE, or a graph outside the store", "model": Problem},
    403: {"description": "SPARQL Update: this endpoint is read-only", "model": Problem},
    406: {"description": "No acceptable result format", "model": Problem},
    413: {"description": "Request body too large", "model": Problem},
    415: {"description": "Unsupported content type or charset", "model": Problem},
    502: {"description": "The graph store failed to answer", "model": Problem},
    503: {
        "description": "The query ran past the time limit or the memory ceiling of a query worker and was "
        "stopped, or every worker and queue place is taken (then with Retry-After)",
        "model": Problem,
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before trying again (queue full)",
                "schema": {"type": "integer"},
            }
        },
    },
}
POST_BODY = {
    "required": True,
    "content": {
        FORM: {
            "schema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                    "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["query"],
            }
        },
        DIRECT: {"schema": {"type": "string"}},
    },
}


async def _answer(
    request: Request,
    runner: SparqlRunner,
    queries: list[str],
    accept: str | None,
    default_graphs: list[str],
    named_graphs: list[str],
) -> Response:
    """Run exactly one query; a refusal or failure is raised as a `kg.errors` error (`api.errors` answers it)."""
    if not queries:
        raise SparqlRequestError("missing query: give a `query` parameter or a application/sparql-query body")
    if len(queries) > 1:
        raise SparqlRequestError("more than one query: give exactly one `query`")
    check_dataset(default_graphs, named_graphs, runner.graphs)
    # the service-defined base IRI of relative IRIs is the endpoint itself (SPARQL 1.1 Protocol §2.1.4)
    base = _public_base(request) + "/sparql"
    job = QueryJob(queries[0], accept, tuple(default_graphs), tuple(named_graphs), base_iri=base)
    outcome = await runner.answer(job, client_gone=_disconnect(request))
    headers = {
        "Vary": "Accept",
        "X-Truncated": "true" if outcome.truncated else "false",
        "X-Row-Limit": str(runner.max_rows),
    }
    return Response(outcome.body, headers=headers, media_type=outcome.content_type)


async def _disconnect(request: Request) -> None:
    """Return when the client hangs up (the body has been read: the next ASGI message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _public_base(request: Request) -> str:
    return getattr(request.app.state, "public_url", None) or public_url(request.app.state.settings)


def _service_description(request: Request, runner: SparqlRunner, accept: str | None) -> Response:
    fmt = choose(RDF_OFFERS, accept)
    endpoint = _public_base(request) + "/sparql"  # never the Host header (issue 15)
    triples = describe(endpoint, runner.graphs, runner.triple_count)
    body = ox.serialize(triples, format=fmt.rdf, prefixes=PREFIXES)
    return Response(body, media_type=fmt.content_type, headers={"Vary": "Accept"})


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """`type/subtype; k=v` → ("type/subtype", {k: v}), lower-cased."""
    media, *params = (part.strip() for part in (content_type or "").split(";"))
    pairs = (p.partition("=") for p in params)
    return media.lower(), {k.strip().lower(): v.strip().strip('"').lower() for k, _, v in pairs}


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise SparqlRequestError("the request body is not valid UTF-8") from None


def sparql_router() -> APIRouter:
    """The /sparql routes; mount with `install_sparql`, which also provides the runner they use."""
    router = APIRouter(tags=["sparql"])

    @router.get(
        "/sparql",
        summary="SPARQL 1.1 query (GET), or the service description",
        response_class=Response,
        responses=RESPONSES,
    )
    async def sparql_get(
        request: Request,
        runner: RunnerDep,
        query: QueryParam = None,
        default_graph_uri: DefaultGraphs = None,
        named_graph_uri: NamedGraphs = None,
        accept: AcceptHeader = None,
    ) -> Response:
        params = request.query_params  # `query` is declared for the docs; repeats are counted here
        if any(name in params for name in UPDATE_PARAMETERS):
            raise UpdateRefusedError(READ_ONLY)
        queries = params.getlist("query")
        if not queries and not default_graph_uri and not named_graph_uri:
            if wants_html(accept):  # a browser: the editor (machines get the service description)
                return editor_page(_public_base(request) + "/sparql")
            return _service_description(request, runner, accept)
        return await _answer(request, runner, queries, accept, default_graph_uri or [], named_graph_uri or [])

    @router.post(
        "/sparql",
        summary="SPARQL 1.1 query (POST, form-encoded or direct)",
        response_class=Response,
        responses=RESPONSES,
        openapi_extra={"requestBody": POST_BODY},
    )
    async def sparql_post(
        request: Request,
        runner: RunnerDep,
        default_graph_uri: DefaultGraphs = None,
        named_graph_uri: NamedGraphs = None,
        accept: AcceptHeader = None,
    ) -> Response:
        url_params = request.query_params
        if any(name in url_params for name in UPDATE_PARAMETERS):
            raise UpdateRefusedError(READ_ONLY)
        media, content_params = _media_type(request.headers.get("content-type"))
        if media == UPDATE:
            raise UpdateRefusedError(READ_ONLY)
        if media not in (FORM, DIRECT):
            raise MediaTypeError(f"Content-Type must be {FORM} or {DIRECT}", field="Content-Type")
        if content_params.get("charset", "utf-8") != "utf-8":
            raise MediaTypeError("only UTF-8 is accepted (charset=utf-8)", field="Content-Type")
        default_graphs, named_graphs = list(default_graph_uri or []), list(named_graph_uri or [])
        queries = url_params.getlist("query")
        try:
            text = _decode(await request.body())
            if media == DIRECT:
                queries.append(text)
            else:
                fields = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=1000)
                if any(name in UPDATE_PARAMETERS for name, _ in fields):
                    raise UpdateRefusedError(READ_ONLY)
                queries += [value for name, value in fields if name == "query"]
                default_graphs += [value for name, value in fields if name == "default-graph-uri"]
                named_graphs += [value for name, value in fields if name == "named-graph-uri"]
        except (UnicodeDecodeError, ValueError):
            raise MalformedBodyError("the form body is not valid URL-encoded UTF-8", field="body") from None
        return await _answer(request, runner, queries, accept, default_graphs, named_graphs)

    return router
