"""Every error the API answers, in one shape: RFC 9457 problem+json, its status chosen here and only here.

A body is `{"type", "title", "status", "detail", "code"}`, plus `field` (the member at fault) and
`errors` (each schema violation) where they apply. `type` is the error's entry in the catalogue the
API serves at `/errors`; `code` is the stable code of `kg.errors`, the thing clients match on.
Nothing else writes an error body: routers raise `kg.errors` exceptions, and the two middlewares that
answer before any route call `problem_bytes`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg.errors import (
    InvalidRequestError,
    NotFoundError,
    StoreError,
    TherapyKGError,
    error_classes,
)

log = logging.getLogger("therapy-kg.api")

PROBLEM_JSON = "application/problem+json"

#: The HTTP status of each code; a code not listed takes its nearest listed parent's (`input.query.update`
#: → `input.query` → `input`).
STATUS: dict[str, int] = {
    "error": 500,
    "input": 400,
    "input.patient": 422,
    "input.request": 422,
    "input.body.duplicate-key": 422,
    "input.media-type": 415,
    "input.not-acceptable": 406,
    "input.not-found": 404,
    "input.query.update": 403,
    "input.prefetch-missing": 412,  # CDS Hooks: a required prefetch key is absent
    "input.authentication": 401,
    "input.config": 500,  # the server's own setting: never the client's fault
    "knowledge": 500,
    "store": 502,
    "store.client-gone": 499,  # nginx's "client closed request": logged, never seen by the client
    "store.keys-unavailable": 503,
    "store.unavailable": 503,
    "store.knowledge-unavailable": 503,
    "reasoner": 503,
    "limit": 503,
    "limit.body-size": 413,
    "limit.body-time": 408,
    "limit.input-shape": 422,
}

#: Codes whose message may name internals (a store's error text): the client gets the title only.
GENERIC_DETAIL = frozenset({"store", "error"})


class Violation(BaseModel):
    field: str = Field(description="The JSON path or parameter at fault")
    message: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details); match on `code`, never on `detail`."""

    type: str = Field(description="The error's entry in the catalogue at /errors")
    title: str = Field(description="What kind of problem, the same for every occurrence")
    status: int
    detail: str = Field(description="What is wrong here, naming the field or limit")
    code: str = Field(description="The stable error code (see /errors)")
    field: str | None = Field(default=None, description="The member or parameter at fault")
    errors: list[Violation] | None = Field(default=None, description="Every schema violation (status 422)")
    error: str | None = Field(default=None, description="On 401: the OAuth error code (RFC 6750)")


def status_of(code: str) -> int:
    """The HTTP status for an error code, by its nearest listed parent.

    >>> status_of("input.query.update"), status_of("input.query"), status_of("limit.timeout")
    (403, 400, 503)
    """
    while code not in STATUS:
        code = code.rpartition(".")[0] or "error"
    return STATUS[code]


def problem_content(error: TherapyKGError, errors_url: str, /, **extra: Any) -> dict[str, Any]:
    """The problem+json members for `error` (`errors_url` is the catalogue's absolute URL)."""
    content: dict[str, Any] = {
        "type": f"{errors_url}#{error.code}",
        "title": error.title,
        "status": status_of(error.code),
        "detail": error.title if error.code in GENERIC_DETAIL else str(error),
        "code": error.code,
    }
    if error.field is not None:
        content["field"] = error.field
    content.update(extra)
    return content


def problem_headers(error: TherapyKGError) -> dict[str, str]:
    """Headers every answer of `error` carries (Retry-After when waiting helps)."""
    return {"Retry-After": str(error.retry_after)} if error.retry_after else {}


def problem_bytes(error: TherapyKGError, errors_url: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body, for the ASGI middlewares that answer before any route."""
    body = json.dumps(problem_content(error, errors_url)).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem_headers(error).items()]
    return status_of(error.code), headers, body


def problem_response(
    request: Request, error: TherapyKGError, /, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The response for `error` to `request`."""
    content = problem_content(error, errors_url(request), **extra)
    return JSONResponse(
        content,
        status_code=content["status"],
        headers={**problem_headers(error), **(headers or {})},
        media_type=PROBLEM_JSON,
    )


def errors_url(request: Request) -> str:
    """The catalogue's URL: under the configured public URL (never the Host header)."""
    return f"{getattr(request.app.state, 'public_url', '')}/errors"


def catalogue() -> dict[str, dict[str, Any]]:
    """Every error code with its title, HTTP status and what it means (served at `/errors`)."""
    return {
        code: {"title": cls.title, "status": status_of(code), "description": (cls.__doc__ or "").split("\n")[0]}
        for code, cls in error_classes().items()
    }


def document_problems(schema: dict[str, Any]) -> None:
    """Say in the OpenAPI `schema` that every 4xx/5xx answer is problem+json with the `Problem` schema
    (FastAPI documents its own 422 as application/json `HTTPValidationError`, which is never sent)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    definition = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definition.pop("$defs", {}))
    components["Problem"] = definition
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    reference = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[0] in "45":
                    response["content"] = {PROBLEM_JSON: reference}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TherapyKGError)
    async def _known(request: Request, exc: TherapyKGError) -> JSONResponse:
        if isinstance(exc, StoreError):
            log.warning("store error: %s", type(exc).__name__)  # the message may carry the store's text
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_violation(e) for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        error = InvalidRequestError(f"{first['field']}: {first['message']}", field=first["field"])
        return problem_response(request, error, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own answers: no route (404), a method the route lacks (405).
        if exc.status_code == 404:
            return problem_response(request, NotFoundError(f"no resource at {request.url.path[:200]}"))
        content = {"type": "about:blank", "title": str(exc.detail), "status": exc.status_code, "detail": exc.detail}
        return JSONResponse(content, status_code=exc.status_code, headers=exc.headers, media_type=PROBLEM_JSON)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s", type(exc).__name__)  # no message: it may carry patient data
        return problem_response(request, TherapyKGError("internal error"))


def _violation(error: Any) -> dict[str, str]:
    """One schema violation as `{"field", "message"}`; the offending value is never echoed."""
    path = ""
    for part in error.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return {"field": path or "body", "message": str(error.get("msg", "invalid"))}
