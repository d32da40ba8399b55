"""POST /evaluate: a patient (JSON of SPEC §4 or a FHIR R4 Bundle) → the evaluation of SPEC §5.

The body is parsed within the JSON limits (`api.body`) and evaluated in the evaluation pool
(`api.admission`), off the event loop unless it is small; the owl engine's run waits for a reasoner slot. No
place is taken before the body has arrived whole (`api.middleware`); when every place is taken the request
gets 503 with Retry-After at once.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.admission import RETRY_AFTER_HEADER, AdmissionDep
from api.body import FHIR_JSON, JsonLimits, decode_record, require_json
from api.deps import AppStateDep, SettingsDep
from api.errors import document_problems
from api.ladder_svg import evaluation_svg
from api.schemas import EvaluationOut
from api.sparql.negotiation import names_above
from kg.errors import PatientInputError
from kg.patient.document import PatientInput
from kg.service import TherapyKG

router = APIRouter(tags=["evaluation"])

_BODY_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/PatientInput"},
                    {
                        "type": "object",
                        "title": "FHIR R4 Bundle",
                        "description": "A FHIR R4 Bundle with Patient, Condition, MedicationStatement, "
                        "MedicationRequest and Procedure resources.",
                        "required": ["resourceType", "type"],
                        "properties": {
                            "resourceType": {"type": "string", "enum": ["Bundle"]},
                            "type": {"type": "string"},
                            "entry": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                ]
            }
        }
    },
}


@router.post(
    "/evaluate",
    response_model=EvaluationOut,
    summary="Evaluate one patient: options, statuses, reasons with sources",
    openapi_extra={"requestBody": _BODY_SCHEMA},
    responses={
        200: {
            "description": "The evaluation document; with `Accept: image/svg+xml`, the ladder of each indication "
            "drawn, each option filled and marked by its status",
            "content": {"image/svg+xml": {"schema": {"type": "string"}}},
        },
        400: {"description": "The Content-Length header is not a number"},
        413: {
            "description": "The body is larger than its limit: 16 MiB for a FHIR Bundle (application/fhir+json, or "
            "resourceType Bundle; max_bundle_bytes), 1 MiB for a plain patient document (max_body_bytes)"
        },
        415: {"description": "The Content-Type is not application/json or application/fhir+json"},
        422: {
            "description": "The body is not JSON, has a key twice in one object, nests deeper than the configured "
            "limit (default 64), or the "
            "patient document is invalid; the message names the field or the limit"
        },
        503: {
            "description": "Every evaluation place (or, for engine=owl, reasoner place) is taken: try again "
            "after Retry-After seconds; or the DL reasoner (engine=owl) is unavailable or timed out",
            "headers": RETRY_AFTER_HEADER,
        },
    },
)
async def evaluate(
    request: Request,
    state: AppStateDep,
    settings: SettingsDep,
    admission: AdmissionDep,
    engine: Literal["fast", "owl"] = Query("fast", description="`owl` runs the HermiT DL engine"),
    as_of: date | None = Query(
        None,
        description="The evaluation date (YYYY-MM-DD): a Bundle's ages, deaths and current records are judged on "
        "it, so the same record gives the same answer on any day; default today (or the document's `as_of`)",
    ),
) -> Response:
    limits = JsonLimits.for_records(settings)
    service = state.service
    media_type = request.headers.get("content-type")
    require_json(media_type, FHIR_JSON)
    body = await request.body()  # already whole: `api.middleware` read it within its size and time limits
    drawn = wants_svg(request.headers.get("accept"))
    if engine == "fast":
        async with admission.evaluations.place() as place:
            encoded = await place.run(_evaluate_fast, service, body, limits, media_type, as_of, size=len(body))
    else:
        async with admission.reasoner.place() as slot:
            async with admission.evaluations.place() as place:
                document = await place.run(_decode, body, limits, media_type, size=len(body))
            encoded = await slot.run(service.evaluate_document_json, document, "owl", as_of)
    if not drawn:
        return _json(encoded)
    async with admission.evaluations.place() as place:  # dot runs as a child process, off the event loop
        return _svg(await place.run(evaluation_svg, service, encoded))


def _evaluate_fast(
    service: TherapyKG, body: bytes, limits: JsonLimits, media_type: str | None, as_of: date | None
) -> bytes:
    return service.evaluate_document_json(_decode(body, limits, media_type), "fast", as_of)


def _json(encoded: bytes) -> Response:
    return Response(encoded, media_type="application/json", headers={"Vary": "Accept"})


def _svg(drawing: bytes) -> Response:
    return Response(drawing, media_type="image/svg+xml", headers={"Vary": "Accept"})


def wants_svg(accept: str | None) -> bool:
    """Whether the client names `image/svg+xml` above JSON: the answer drawn (`api.ladder_svg.evaluation_svg`).

    >>> wants_svg("image/svg+xml"), wants_svg("application/json, image/svg+xml;q=0.5"), wants_svg("*/*")
    (True, False, False)
    """
    return names_above(accept, ("image/svg+xml",), ("application/json", "application/*"))


def _decode(body: bytes, limits: JsonLimits, media_type: str | None) -> object:
    if not body:
        raise PatientInputError("body", "a JSON patient document or FHIR Bundle is required")
    return decode_record(body, limits, media_type)


def register_schemas(app) -> None:
    """Make `PatientInput` appear under components/schemas for the oneOf reference above."""
    from fastapi.openapi.utils import get_openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        defs = PatientInput.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in defs.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["PatientInput"] = defs
        document_problems(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
