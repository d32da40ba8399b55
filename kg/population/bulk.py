"""A FHIR Bulk Data export folder (`$export`: NDJSON files, one resource a line, one or more files a resource
type, gzip or not), read line by line with the patient each resource belongs to.

Bulk exports name their files by resource type (`Patient.ndjson`, `Condition.000.ndjson`, `Condition_2.ndjson`,
`Observation.ndjson.gz`); a file's resource type is the part of its name before the first `.` or `_`. A line
that is not a JSON object with a `resourceType`, or whose patient cannot be told, is a `LineProblem` naming
the file and line: counted and reported, never the end of the run.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from kg.errors import InputError

#: A Bulk file's name: its resource type, then anything, then .ndjson (or .ndjson.gz).
_NAME = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)(?:[._][A-Za-z0-9._-]*)?\.ndjson(?:\.gz)?$")
#: Where a resource names its patient, by the FHIR R4 search parameter `patient` of its type.
PATIENT_FIELDS = ("subject", "patient", "beneficiary")
#: Resource types shared by patients (referenced from theirs, naming none): kept whole, looked up by id.
SHARED = frozenset({"Medication"})
#: FHIR ids: what a patient key may be (anything else is a problem, never a file name or a column).
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


@dataclass(frozen=True)
class LineProblem:
    """A line of an export that could not be used, and why."""

    file: str
    line: int
    problem: str


@dataclass(frozen=True)
class BulkLine:
    """One resource of an export: the patient it belongs to (None for a shared resource, or one outside any
    patient's record), where it came from and its JSON text as written."""

    patient: str | None
    resource_type: str
    file: str
    line: int
    text: bytes


def bulk_files(folder: Path) -> dict[str, list[Path]]:
    """The export's NDJSON files by resource type, each type's files in name order."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of FHIR Bulk Data NDJSON files", field="folder")
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        kind = resource_type_of(path.name)
        if kind is not None and path.is_file():
            found.setdefault(kind, []).append(path)
    if not found:
        raise InputError(f"{folder} holds no NDJSON file named by a resource type (Patient.ndjson, …)", field="folder")
    return found


def resource_type_of(name: str) -> str | None:
    """The resource type a Bulk file's name gives (`Condition.000.ndjson.gz` → Condition); None for a file
    that is not one of an export's NDJSON files."""
    match = _NAME.match(name)
    return match["type"] if match is not None else None


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile reads bytes like any IO[bytes]
    return path.open("rb")


def read_lines(path: Path, resource_type: str) -> Iterator[BulkLine | LineProblem]:
    """Each line of one file, with its patient, or the problem with it."""
    with _open(path) as stream:
        for number, raw in enumerate(stream, start=1):
            text = raw.strip()
            if not text:
                continue
            yield parse_line(text, path.name, number, resource_type)


def parse_line(text: bytes, file: str, number: int, resource_type: str) -> BulkLine | LineProblem:
    try:
        resource = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return LineProblem(file, number, f"not JSON ({exc.msg})")
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return LineProblem(file, number, "not a FHIR resource (no resourceType)")
    if resource["resourceType"] != resource_type:
        return LineProblem(file, number, f"a {resource['resourceType']} in the {resource_type} file")
    if resource_type in SHARED or not _names_patient(resource):
        return BulkLine(None, resource_type, file, number, text)  # shared, or outside any patient's record
    patient = patient_of(resource)
    if patient is None:
        return LineProblem(
            file,
            number,
            f"its {'id' if resource_type == 'Patient' else 'patient reference'} is not "
            "a FHIR id (Patient/ID or urn:uuid:ID)",
        )
    return BulkLine(patient, resource_type, file, number, text)


def _names_patient(resource: dict[str, Any]) -> bool:
    """Whether a resource belongs to a patient's record at all (an Organization or Practitioner does not)."""
    return resource["resourceType"] == "Patient" or any(field in resource for field in PATIENT_FIELDS)


def patient_of(resource: dict[str, Any]) -> str | None:
    """The id of the patient a resource belongs to: a Patient's own id, else its subject (or patient)
    reference, written `Patient/ID` (Bulk Data) or `urn:uuid:ID` (a transaction Bundle's)."""
    if resource["resourceType"] == "Patient":
        key = resource.get("id")
    else:
        key = None
        for field in PATIENT_FIELDS:
            value = resource.get(field)
            reference = value.get("reference") if isinstance(value, dict) else None
            if isinstance(reference, str):
                key = reference.removeprefix("Patient/").removeprefix("urn:uuid:")
                break
    return key if isinstance(key, str) and _ID.match(key) else None
