"""A FHIR CodeableConcept read into a `Concept`: every coding with a system and a code, and its text.

A coding without both cannot be looked up; it is reported (with its path), never silently dropped.
Report items name the resource by type and id only (`identify`): no clinical value is copied.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from kg.errors import PatientInputError
from kg.json_types import JsonObject
from kg.patient.document import Concept
from kg.patient.fhir_validate import error_path

NO_SYSTEM_OR_CODE = "a coding without both system and code cannot be looked up"


def read_concept(codeable: Any, code_where: str) -> tuple[Concept | None, list[tuple[str, str]]]:
    """The concept of `codeable` (found at `code_where`), None when no coding can be looked up, and the
    (path, reason) of every coding left out; an invalid coding is a `PatientInputError` at its path."""
    codings, positions, unreadable = [], [], []
    for i, coding in enumerate(codeable.coding or []):
        if coding.system and coding.code:
            positions.append(i)
            codings.append(
                {
                    "system": coding.system,
                    "code": coding.code,
                    **({"display": coding.display} if coding.display else {}),
                }
            )
        else:
            unreadable.append(
                (f"{code_where}.coding[{i}]", "a coding without both system and code cannot be looked up")
            )
    if not codings:
        return None, unreadable
    try:
        concept = Concept.model_validate({"coding": codings, **({"text": codeable.text} if codeable.text else {})})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if len(loc) > 1 and loc[0] == "coding" and isinstance(loc[1], int):
            loc[1] = positions[loc[1]]  # back to the index in the Bundle
        raise PatientInputError(error_path((code_where, *loc)), first["msg"]) from None
    return concept, unreadable


def identify(resource: Any) -> JsonObject:
    """A resource named by its type and id, for a report item (no clinical value)."""
    if resource is None:
        return {}
    return {"resourceType": resource.get_resource_type(), **({"id": resource.id} if resource.id else {})}
