"""CDS Hooks 2.0: `GET /cds-services` (discovery), `POST /cds-services/{id}` (patient-view, order-select) and
`POST /cds-services/{id}/feedback` (with `GET` for the counts).

The services read only what the client prefetched; they never contact `fhirServer`. Errors are
short JSON messages naming the member at fault: 401 no valid client JWT (`api.cds.auth`), 404 unknown
service, 400 wrong hook or request data that cannot be used, 412 required prefetch missing, 422 a
member of the wrong shape. Links in cards start with the configured public URL, never the Host header.
Discovery is public (it describes the services, holds no data); every other route needs the client's
JWT whenever authentication is on. A service call is parsed within the JSON limits (`api.body`) and
evaluated in the CDS pool (`api.admission`: not shared with /evaluate), off the event loop unless it is
small; when every place is taken it gets 503 with Retry-After at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.admission import RETRY_AFTER_HEADER, AdmissionDep
from api.body import JsonLimits, decode_json, require_json
from api.cds import member_path
from api.cds.auth import CdsAuthError, TokenVerifier, VerifiedClient, verifier_for
from api.cds.discovery import discovery
from api.cds.feedback import FeedbackLedger, Issued
from api.cds.models import (
    Card,
    CDSRequest,
    CDSResponse,
    Discovery,
    FeedbackCounts,
    FeedbackReceipt,
    FeedbackRequest,
    dump,
)
from api.cds.services import SERVICES, call_service
from api.deps import ServiceDep, SettingsDep
from api.errors import Problem, problem_response
from api.hosts import public_url
from api.settings import Settings
from kg.errors import InvalidRequestError, NotFoundError
from kg.service import TherapyKG

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])


@dataclass(frozen=True)
class CdsRuntime:
    """What the CDS routes share: the token verifier (None: authentication off), the feedback counts, the base URL."""

    verifier: TokenVerifier | None
    ledger: FeedbackLedger
    public_url: str

    def service_url(self, service_id: str) -> str:
        return f"{self.public_url}/cds-services/{service_id}"


def install(app: FastAPI, settings: Settings) -> None:
    """Decide CDS authentication at start-up (may raise `ConfigError`: the server refuses to start)."""
    app.state.cds = CdsRuntime(verifier_for(settings), FeedbackLedger(), public_url(settings))

    @app.exception_handler(CdsAuthError)
    async def _refused(request: Request, exc: CdsAuthError) -> JSONResponse:
        extra = {"error": exc.error} if exc.error else {}
        return problem_response(request, exc, headers={"WWW-Authenticate": exc.challenge()}, **extra)


async def get_runtime(request: Request) -> CdsRuntime:
    return request.app.state.cds


RuntimeDep = Annotated[CdsRuntime, Depends(get_runtime)]
ServiceId = Annotated[str, Path(description="A service id from the discovery response", examples=list(SERVICES))]


async def authenticated(request: Request, runtime: RuntimeDep, service_id: ServiceId) -> VerifiedClient | None:
    """The CDS client that signed the call's JWT (`aud`: the service URL, or its feedback URL for feedback);
    None when authentication is off."""
    if runtime.verifier is None:
        return None
    audiences = [runtime.service_url(service_id)]
    if request.url.path.endswith("/feedback"):
        audiences.insert(0, audiences[0] + "/feedback")
    return await runtime.verifier.verify(request.headers.get("authorization"), audiences)


ClientDep = Annotated[VerifiedClient | None, Depends(authenticated)]


def _inline(schema: dict) -> dict:
    """A JSON schema with its `$defs` substituted in place, for an OpenAPI request body."""
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline(CDSRequest.model_json_schema())}},
    }
}
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "No valid CDS client JWT (Authorization: Bearer): missing, "
        "expired, wrong audience, untrusted issuer, bad signature, disallowed alg or replayed jti; the "
        "WWW-Authenticate header says why",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    503: {
        "model": Problem,
        "description": "The client's token cannot be checked now (the issuer's JWK Set "
        "cannot be fetched, or too many recent tokens to check for replay); see Retry-After",
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    400: {
        "model": Problem,
        "description": "Not JSON, a hook the service does not answer, or request data "
        "that cannot be used (e.g. a selection naming no draft order); the message names the member",
    },
    404: {"model": Problem, "description": "No CDS service with this id"},
    412: {
        "model": Problem,
        "description": "A required prefetch key (patient, conditions) is missing: "
        "the service does not query the FHIR server",
    },
    422: {
        "model": Problem,
        "description": "A member of the request has the wrong shape, or the body nests "
        "deeper than the configured limit (default 64); the message names the member or the limit",
    },
}
_SERVICE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    413: {"model": Problem, "description": "The body is larger than the configured limit (default 1 MiB)"},
    415: {"model": Problem, "description": "The Content-Type is not application/json"},
    503: {
        "model": Problem,
        "description": "Every evaluation place is taken, or the client's token cannot be "
        "checked now (the issuer's JWK Set cannot be fetched, or too many recent tokens to check for replay); "
        "see Retry-After",
        "headers": RETRY_AFTER_HEADER,
    },
}


@router.get(
    "",
    response_model=Discovery,
    response_model_exclude_none=True,
    summary="CDS Hooks discovery: the services, their hooks and prefetch templates",
)
def list_services(service: ServiceDep) -> Discovery:
    return Discovery(services=discovery(service))


@router.post(
    "/{service_id}",
    response_model=CDSResponse,
    response_model_exclude_none=True,
    summary="Call a CDS service: cards with summary, indicator, source, suggestions and links",
    openapi_extra=_REQUEST_BODY,
    responses=_SERVICE_ERRORS,
)
async def call(
    request: Request,
    service: ServiceDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    admission: AdmissionDep,
    _: ClientDep,
    service_id: ServiceId,
) -> JSONResponse:
    _known(service_id)
    issued = Issued(service_id)
    require_json(request.headers.get("content-type"))  # 415 otherwise: see `api.body`
    body = await request.body()  # already whole: `api.middleware` read it within its size and time limits
    async with admission.cds.place() as place:
        cards = await place.run(
            _cards,
            service_id,
            body,
            JsonLimits.for_records(settings),
            service,
            runtime.public_url,
            issued,
            size=len(body),
        )
    runtime.ledger.remember(issued)
    return JSONResponse(dump(CDSResponse(cards=cards)))


def _cards(
    service_id: str, body: bytes, limits: JsonLimits, service: TherapyKG, base_url: str, issued: Issued
) -> list[Card]:
    """Parse and answer one service call (in a pool thread): its prefetched record may be as large as a Bundle."""
    record = replace(limits, max_bytes=max(limits.max_record_bytes, limits.max_bytes))
    return call_service(service_id, _document(body, record), service, base_url=base_url, issued=issued)


def _document(body: bytes, limits: JsonLimits) -> object:
    """The JSON body (None when empty, for the request model to name); `decode_json` names a limit broken."""
    return decode_json(body, limits) if body else None


_FEEDBACK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline(FeedbackRequest.model_json_schema())}},
    }
}
_FEEDBACK_ERRORS: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    400: {"model": Problem, "description": "Not JSON"},
    404: {"model": Problem, "description": "No CDS service with this id"},
    415: {"model": Problem, "description": "The Content-Type is not application/json"},
    422: {"model": Problem, "description": "A feedback member has the wrong shape; the message names it"},
}


def _known(service_id: str) -> None:
    if service_id not in SERVICES:
        raise NotFoundError.at("service_id", f"no CDS service {service_id[:100]!r}; see GET /cds-services")


@router.post(
    "/{service_id}/feedback",
    response_model=FeedbackReceipt,
    summary="CDS Hooks feedback: a user accepted or overrode cards (counted, never stored with patient data)",
    openapi_extra=_FEEDBACK_BODY,
    responses=_FEEDBACK_ERRORS,
)
async def feedback(
    request: Request, runtime: RuntimeDep, settings: SettingsDep, _: ClientDep, service_id: ServiceId
) -> JSONResponse:
    _known(service_id)
    require_json(request.headers.get("content-type"))
    document = _document(await request.body(), JsonLimits.of(settings))
    try:
        entries = FeedbackRequest.model_validate(document).feedback
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequestError.at(member_path("", first["loc"]) or "body", first["msg"]) from None
    attributed = runtime.ledger.record(service_id, entries)
    return JSONResponse({"received": len(entries), "attributed": attributed})


@router.get(
    "/{service_id}/feedback",
    response_model=FeedbackCounts,
    summary="Feedback counted by this process: per card kind, intervention, statement and outcome",
    responses={**_UNAUTHORIZED, 404: {"model": Problem, "description": "No CDS service with this id"}},
)
async def feedback_counts(runtime: RuntimeDep, _: ClientDep, service_id: ServiceId) -> JSONResponse:
    _known(service_id)
    return JSONResponse(runtime.ledger.counts(service_id))
