"""A FHIR R4 Bundle validated with fhir.resources' R4B models; an invalid one is a
`PatientInputError` naming the element (`entry[2].resource.code`) with a short message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from kg.errors import PatientInputError
from kg.json_types import JsonObject


def validate_bundle(bundle: object, read: frozenset[str] | None = None) -> tuple[Bundle, dict[int, JsonObject]]:
    """The Bundle as R4B models, or a `PatientInputError` naming the first offending element; with `read`,
    only entries of those resource types are materialised (a real record is mostly Claims, Observations and
    Encounters, which the evaluation never reads): the others come back apart, by entry index, as their type
    and id, with their entry left empty in the models."""
    if not isinstance(bundle, dict):
        raise PatientInputError("Bundle", f"expected a JSON object, got {_json_type(bundle)}")
    if bundle.get("resourceType") != "Bundle":
        raise PatientInputError("resourceType", f"expected a FHIR Bundle, got {short(bundle.get('resourceType'))}")
    _check_resource_types(bundle)
    unread: dict[int, JsonObject] = {}
    entries = bundle.get("entry")
    if read is not None and isinstance(entries, list):
        kept = []
        for i, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if (
                isinstance(resource, dict)
                and resource.get("resourceType") not in read
                and not resource.get("contained")  # what it contains is reported: materialised
            ):
                unread[i] = {"resourceType": resource["resourceType"]} | (
                    {"id": resource["id"]} if isinstance(resource.get("id"), str) else {}
                )
                entry = {k: v for k, v in entry.items() if k != "resource"}
            kept.append(entry)
        bundle = {**bundle, "entry": kept}
    try:
        return Bundle.model_validate(bundle), unread
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PatientInputError(error_path(first["loc"]), _message(first)) from None
    except (KeyError, TypeError, AttributeError):  # fhir_core on input its validators do not expect
        raise PatientInputError("Bundle", "not a valid FHIR R4 Bundle") from None


def _check_resource_types(document: JsonObject) -> None:
    """fhir_core reads a resource without a resourceType as a bare `Resource` and fails with a
    KeyError on an unknown one: name the element first."""
    entries = document.get("entry")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        contained = resource.get("contained")
        contained = contained if isinstance(contained, list) else []
        for where, value in [
            (f"entry[{i}].resource", resource),
            *((f"entry[{i}].resource.contained[{j}]", c) for j, c in enumerate(contained)),
        ]:
            if isinstance(value, dict) and "resourceType" not in value:
                raise PatientInputError(f"{where}.resourceType", "a resource needs a resourceType")
    stack: list[tuple[Any, str]] = [(document, "")]  # every resourceType, nested Bundles included
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if "resourceType" in node and not _is_resource_type(node["resourceType"]):
                raise PatientInputError(
                    _join(where, "resourceType"), f"{short(node['resourceType'])} is not a FHIR R4 resource type"
                )
            stack.extend((value, _join(where, key)) for key, value in node.items() if isinstance(key, str))
        elif isinstance(node, list):
            stack.extend((value, f"{where}[{i}]") for i, value in enumerate(node))


def _is_resource_type(name: object) -> bool:
    if not isinstance(name, str) or name in ("Resource", "DomainResource"):
        return False
    try:
        model = get_fhir_model_class(name)
    except ValueError:
        return False
    return issubclass(model, Resource) and model.get_resource_type() == name


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def error_path(loc: tuple[str | int, ...]) -> str:
    """A pydantic error location as a FHIR element path: `entry[2].resource.code`."""
    parts = list(loc)
    if parts and parts[-1] == "root":  # fhir_core's name for "the value itself"
        parts.pop()
    where = ""
    for part in parts:
        where = f"{where}[{part}]" if isinstance(part, int) else _join(where, str(part))
    return where or "Bundle"


_MESSAGES = {
    "json_invalid": "expected a JSON object",
    "model_type": "expected a JSON object",
    "dict_type": "expected a JSON object",
    "list_type": "expected a JSON array",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "missing": "a required element is missing",
    "model_field_validation.missing": "a required element is missing",
    "extra_forbidden": "not an element of this FHIR R4 resource",
    "string_pattern_mismatch": "not in the format its FHIR type requires",
}


def _message(error: Mapping[str, Any]) -> str:
    kind, text = error["type"], str(error.get("msg", ""))
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind.startswith(("date", "datetime")) or re.search(r"Date(Time)? value", text):
        return "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"
    if kind == "model_validation_format" and "model_class" in (error.get("ctx") or {}):
        return f"expected one {error['ctx']['model_class']} object"
    text = " ".join(text.removeprefix("Value error, ").split())
    return text if len(text) <= 200 else text[:197] + "..."


def short(value: object) -> str:
    """A value from the input, quoted and cut short for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__
