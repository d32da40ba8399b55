"""POST /evaluate: a patient (JSON of SPEC §4 or a FHIR R4 Bundle) → the evaluation of SPEC §5."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import AppStateDep
from api.schemas import EvaluationOut
from kg.errors import PatientInputError, ReasonerUnavailableError
from kg.patient import PatientInput

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
        400: {"description": "The Content-Length header is not a number"},
        413: {"description": "The body is larger than the configured limit (default 1 MiB)"},
        422: {"description": "The body is not JSON, or the patient document is invalid; the message names the "
              "field"},
        503: {"description": "The DL reasoner (engine=owl) is unavailable or timed out"},
    },
)
async def evaluate(
    request: Request,
    state: AppStateDep,
    engine: Literal["fast", "owl"] = Query("fast", description="`owl` runs the HermiT DL engine"),
) -> Response:
    document = _decode(await request.body())
    service = state.service
    if engine == "fast":
        return _json(service.evaluate_document_json(document, "fast"))
    try:
        await asyncio.wait_for(state.reasoner_slots.acquire(), timeout=state.settings.reasoner_timeout_s)
    except TimeoutError:
        raise ReasonerUnavailableError("every reasoner slot stayed busy; try again later") from None
    try:
        return _json(await run_in_threadpool(service.evaluate_document_json, document, "owl"))
    finally:
        state.reasoner_slots.release()


def _json(encoded: bytes) -> Response:
    return Response(encoded, media_type="application/json")


def _decode(body: bytes) -> object:
    if not body:
        raise PatientInputError("body", "a JSON patient document or FHIR Bundle is required")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PatientInputError("body", f"not valid JSON: {exc.msg if hasattr(exc, 'msg') else 'bad encoding'}") from None


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
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
