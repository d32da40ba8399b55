"""The named queries of queries/: `GET /queries` lists them, `GET /queries/{name}` runs one.

Parameters come from the query string by name (`?condition=tkg:Spasticity` for `?_condition_iri`) and
are bound as RDF terms, never pasted into the query text; IRI parameters accept CURIEs. SELECT and ASK
answer SPARQL JSON results, CONSTRUCT and DESCRIBE N-Triples, written as /sparql writes them. Results
are capped at the configured row limit; the header `X-Truncated` says whether rows were cut.
"""

from __future__ import annotations

import re
from typing import Literal

import pyoxigraph as ox
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import ServiceDep, SettingsDep
from api.errors import Problem
from api.sparql.negotiation import N_TRIPLES, SPARQL_JSON, serialize
from kg.errors import InvalidRequestError, NotFoundError
from kg.store import Term
from kg.store.queries import NamedQuery, QueryParameter, load_queries

router = APIRouter(prefix="/queries", tags=["named queries"])

#: The same flag as /sparql's: rows (or triples) beyond the configured cap were cut.
TRUNCATED_HEADER = "X-Truncated"


Form = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "UNKNOWN"]
FORMS: dict[str, Form] = {"SELECT": "SELECT", "ASK": "ASK", "CONSTRUCT": "CONSTRUCT", "DESCRIBE": "DESCRIBE"}


class ParameterOut(BaseModel):
    name: str = Field(description="The query-string name of the parameter")
    type: str = Field(description="`iri` (a CURIE or IRI), `string`, `integer`, `decimal` or `boolean`")
    variable: str = Field(description="The SPARQL variable it is bound to")


class NamedQueryOut(BaseModel):
    name: str = Field(description="Path under queries/ without `.rq`, e.g. `qc/missing-label-violation`")
    summary: str
    method: str
    form: Form
    parameters: list[ParameterOut]
    query: str = Field(description="The query text, header included")


_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


def _form(query: NamedQuery) -> Form:
    """The query form: the first form keyword outside comments and IRIs."""
    body = " ".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#"))
    match = _FORM.search(re.sub(r"<[^>\s]*>", " ", body))
    return FORMS.get(match.group(1).upper(), "UNKNOWN") if match else "UNKNOWN"


def _type(parameter: QueryParameter) -> str:
    return parameter.kind.rsplit("#", 1)[-1]


def _describe(name: str, query: NamedQuery) -> NamedQueryOut:
    # the name is the file's key in load_queries(): NamedQuery.name is not relied on
    return NamedQueryOut(
        name=name,
        summary=query.summary,
        method=query.headers.get("method", "GET").upper(),
        form=_form(query),
        parameters=[ParameterOut(name=p.name, type=_type(p), variable="?" + p.variable) for p in query.parameters],
        query=query.text,
    )


def _query(name: str) -> NamedQuery:
    queries = load_queries()
    if name not in queries:
        raise NotFoundError(f"no named query {name[:200]!r}; see GET /queries")
    return queries[name]


@router.get(
    "", response_model=list[NamedQueryOut], summary="Every named query in queries/, with its parameters and text"
)
def list_queries() -> list[NamedQueryOut]:
    return [_describe(name, q) for name, q in sorted(load_queries().items())]


_RESULTS_SCHEMA = {
    "type": "object",
    "description": "SPARQL 1.1 Query Results JSON: `head` and `results` (SELECT) or `boolean` (ASK)",
    "required": ["head"],
    "properties": {
        "head": {"type": "object"},
        "results": {"type": "object", "properties": {"bindings": {"type": "array", "items": {"type": "object"}}}},
        "boolean": {"type": "boolean"},
    },
}


@router.get(
    "/{name:path}",
    response_class=Response,
    summary="Run a named query with its parameters given in the query string",
    responses={
        200: {
            "description": "SPARQL JSON results (SELECT, ASK) or N-Triples (CONSTRUCT, DESCRIBE)",
            "content": {
                SPARQL_JSON.media_type: {"schema": _RESULTS_SCHEMA},
                N_TRIPLES.media_type: {"schema": {"type": "string"}},
            },
            "headers": {
                TRUNCATED_HEADER: {
                    "description": "`true` when rows or triples were cut at the configured cap",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                }
            },
        },
        404: {"model": Problem, "description": "No query of that name"},
        422: {"model": Problem, "description": "A parameter is missing, unknown or malformed; `field` names it"},
    },
)
def run_query(
    request: Request,
    service: ServiceDep,
    settings: SettingsDep,
    name: str = Path(
        description="A name from GET /queries, e.g. `therapy-ladder` or `qc/missing-label-violation`",
        examples=["therapy-ladder"],
    ),
) -> Response:
    query = _query(name)
    bindings = _bindings(name, query, request.query_params, service.terms)
    # the service's store: the embedded release, or the verified replica of a remote store's
    result = service.store.query(query.text, bindings or None, timeout=settings.query_timeout_s)
    fmt = N_TRIPLES if not isinstance(result, (ox.QueryBoolean, ox.QuerySolutions)) else SPARQL_JSON
    body, truncated = serialize(result, fmt, settings.max_rows)
    return Response(body, media_type=fmt.media_type, headers={TRUNCATED_HEADER: "true" if truncated else "false"})


def _bindings(name: str, query: NamedQuery, params, terms) -> dict[str, Term]:
    """Every parameter is required; unknown names are refused so a typo does not go unnoticed."""
    known = {p.name for p in query.parameters}
    for given in params:
        if given not in known:
            expected = ", ".join(sorted(known)) or "none"
            raise InvalidRequestError.at(
                given, f"query {name!r} has no parameter {given[:100]!r} (its parameters: {expected})"
            )
    bindings: dict[str, Term] = {}
    for parameter in query.parameters:
        values = params.getlist(parameter.name)
        if not values:
            raise InvalidRequestError.at(
                parameter.name, f"query {name!r} needs the parameter {parameter.name!r} ({_type(parameter)})"
            )
        if len(values) > 1:
            raise InvalidRequestError.at(parameter.name, "give the parameter once")
        try:
            bindings[parameter.variable] = parameter.to_term(values[0], terms)
        except ValueError:
            raise InvalidRequestError.at(
                parameter.name, f"{values[0][:100]!r} is not a valid {_type(parameter)}"
            ) from None
    return bindings
