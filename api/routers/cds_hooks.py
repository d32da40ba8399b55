"""CDS Hooks 2.0: `GET /cds-services` (discovery) and `POST /cds-services/{id}` (patient-view, order-select).

The services read only what the client prefetched; they never contact `fhirServer`. Errors are
short JSON messages naming the member at fault: 404 unknown service, 400 wrong hook or request
data that cannot be used, 412 required prefetch missing, 422 a member of the wrong shape.
"""

from __future__ import annotations

import copy
import json

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.cds import CdsRequestError
from api.cds.models import CDSRequest, CDSResponse, Discovery, dump
from api.cds.services import SERVICES, call_service, discovery
from api.deps import ServiceDep
from api.errors import problem

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])


class CdsProblem(BaseModel):
    detail: str
    field: str | None = None


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
_ERRORS = {
    400: {"model": CdsProblem, "description": "Not JSON, a hook the service does not answer, or request data "
          "that cannot be used (e.g. a selection naming no draft order); the message names the member"},
    404: {"model": CdsProblem, "description": "No CDS service with this id"},
    412: {"model": CdsProblem, "description": "A required prefetch key (patient, conditions) is missing: "
          "the service does not query the FHIR server"},
    422: {"model": CdsProblem, "description": "A member of the request has the wrong shape; the message names it"},
}


@router.get(
    "",
    response_model=Discovery,
    response_model_exclude_none=True,
    summary="CDS Hooks discovery: the services, their hooks and prefetch templates",
)
def list_services() -> Discovery:
    return Discovery(services=discovery())


@router.post(
    "/{service_id}",
    response_model=CDSResponse,
    response_model_exclude_none=True,
    summary="Call a CDS service: cards with summary, indicator, source, suggestions and links",
    openapi_extra=_REQUEST_BODY,
    responses=_ERRORS,
)
async def call(
    request: Request,
    service: ServiceDep,
    service_id: str = Path(description="A service id from the discovery response", examples=list(SERVICES)),
) -> JSONResponse:
    try:
        if service_id not in SERVICES:
            raise CdsRequestError(404, "service_id", f"no CDS service {service_id[:100]!r}; see GET /cds-services")
        body = await request.body()
        try:
            document = json.loads(body) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CdsRequestError(400, "body", "not valid JSON") from None
        cards = call_service(service_id, document, service, base_url=str(request.base_url))
    except CdsRequestError as exc:
        return problem(exc.status, f"{exc.field}: {exc.message}", field=exc.field)
    return JSONResponse(dump(CDSResponse(cards=cards)))
