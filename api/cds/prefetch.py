"""Prefetch templates, and the FHIR Bundle assembled from what a CDS client prefetched.

The service has no access to the client's FHIR server and never contacts `fhirServer`: when a
required prefetch key is absent (or the client could only send an OperationOutcome for it), the
request gets 412 Precondition Failed, as CDS Hooks 2.0 asks of a service that cannot fetch the data
itself. A prefetch value of `null` means the client found no data for that template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kg.errors import InputError, PrefetchMissingError

#: key → FHIR read or search the client runs before calling the service (the discovery `prefetch`).
TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medications": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&status=active",
    "procedures": "Procedure?patient={{context.patientId}}",
}
#: Without these the service cannot evaluate the patient.
REQUIRED = ("patient", "conditions")
#: The resource type each search returns.
SEARCHED = {
    "conditions": "Condition",
    "medications": "MedicationStatement",
    "medicationRequests": "MedicationRequest",
    "procedures": "Procedure",
}
#: Members that hold the reference to the patient a resource is about.
_PATIENT_MEMBERS = ("subject", "patient")
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]+)")
MAX_ENTRIES = 1000


@dataclass
class PatientBundle:
    """The collection Bundle handed to the evaluation, with where each entry came from."""

    bundle: dict
    #: entry index in `bundle` → the request path of its resource (`prefetch.conditions.entry[2].resource`)
    origins: dict[int, str] = field(default_factory=dict)
    #: prefetch keys the client did not send or could not fill, with why (shown to the user)
    notes: list[str] = field(default_factory=list)

    @property
    def condition_count(self) -> int:
        return sum(1 for e in self.bundle["entry"] if e["resource"].get("resourceType") == "Condition")

    @property
    def medication_count(self) -> int:
        """MedicationStatements and MedicationRequests: a medication list alone is evaluated (SPEC §4)."""
        kinds = ("MedicationStatement", "MedicationRequest")
        return sum(1 for e in self.bundle["entry"] if e["resource"].get("resourceType") in kinds)

    def origin_of(self, path: str) -> str:
        """Translate a path into `bundle` (`entry[3].resource.code`) into the request's own path."""
        if path.startswith("entry["):
            index, _, rest = path.removeprefix("entry[").partition("]")
            if index.isdigit() and int(index) in self.origins:
                return self.origins[int(index)] + rest.removeprefix(".resource")
        if path == "Patient" or path.startswith("Patient."):
            return "prefetch.patient" + path.removeprefix("Patient")
        return path


def _is_outcome(value: object) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def patient_bundle(prefetch: dict[str, Any] | None, patient_id: str) -> PatientBundle:
    """Check the prefetched data against the templates and the patient in context; build one Bundle."""
    prefetch = prefetch or {}
    for key in REQUIRED:
        if key not in prefetch or _is_outcome(prefetch[key]) or (key == "patient" and prefetch[key] is None):
            raise PrefetchMissingError.at(
                f"prefetch.{key}",
                f"the required prefetch '{key}' ({TEMPLATES[key]}) is missing or failed; this service does not "
                "query the FHIR server, so the client must send it",
            )
    result = PatientBundle({"resourceType": "Bundle", "type": "collection", "entry": []})

    patient = prefetch["patient"]
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise InputError.at("prefetch.patient.resourceType", "expected a Patient resource")
    if "id" in patient and patient["id"] != patient_id:
        raise InputError.at("prefetch.patient.id", "does not match context.patientId")
    _add(result, patient, "prefetch.patient")

    for key, resource_type in SEARCHED.items():
        if key not in prefetch:
            result.notes.append(f"{key}: not sent by the client ({TEMPLATES[key]})")
            continue
        value = prefetch[key]
        if value is None:
            continue  # the client found no data for this template
        if _is_outcome(value):
            result.notes.append(f"{key}: the client could not fetch it ({TEMPLATES[key]})")
            continue
        _add_searchset(result, key, value, resource_type, patient_id)
    return result


def _add_searchset(result: PatientBundle, key: str, value: object, resource_type: str, patient_id: str) -> None:
    where = f"prefetch.{key}"
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise InputError.at(f"{where}.resourceType", f"expected a Bundle of {resource_type} resources")
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise InputError.at(f"{where}.entry", "expected a list of entries")
    if len(entries) > MAX_ENTRIES:
        raise InputError.at(f"{where}.entry", f"more than {MAX_ENTRIES} entries")
    for index, entry in enumerate(entries):
        path = f"{where}.entry[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            raise InputError.at(f"{path}.resource", "expected an entry with a resource")
        resource = entry["resource"]
        kind = resource.get("resourceType")
        if kind == "OperationOutcome" or kind == "Patient":
            continue  # search outcomes, and the patient already taken from prefetch.patient
        if not isinstance(kind, str):
            raise InputError.at(f"{path}.resource.resourceType", "expected a resource type")
        check_subject(resource, f"{path}.resource", patient_id)
        _add(result, resource, f"{path}.resource")


def check_subject(resource: dict, where: str, patient_id: str) -> None:
    """A resource about another patient must never reach this patient's evaluation."""
    for member in _PATIENT_MEMBERS:
        ref = resource.get(member)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            found = _PATIENT_REFERENCE.search(ref["reference"])
            if found and found.group(1) != patient_id:
                raise InputError.at(f"{where}.{member}.reference", "refers to a patient other than context.patientId")


def _add(result: PatientBundle, resource: dict, origin: str) -> None:
    result.origins[len(result.bundle["entry"])] = origin
    result.bundle["entry"].append({"resource": resource})
