"""Grouping an export's resources by patient in bounded memory: a spill-to-disk hash partition.

Resources of one patient are spread over many files in any order. Holding everything in a dict until the
last file is read would need memory for the whole export; instead each line goes, as read, to one of
`buckets` files on disk chosen by a hash of its patient id. Then one bucket at a time is read back and
grouped: memory holds one bucket, about export size / buckets. Lines keep their text as exported.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.population.bulk import SHARED, BulkLine, LineProblem, read_lines

#: Bytes of export per bucket: memory while grouping is about this much per bucket, times a small factor.
BUCKET_BYTES = 64 * 1024 * 1024
#: The order of resource types in a patient's Bundle: the Patient first, then the other types by name.
FIRST = "Patient"


@dataclass
class Spill:
    """The export partitioned: bucket files, the shared resources (Medication) by reference, what could not be
    used, and how many lines of each type were read."""

    buckets: list[Path]
    shared: dict[str, bytes] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)
    outside_records: dict[str, int] = field(default_factory=dict)  # resources of no patient (Organization, …)
    bucketed: int = 0  # the lines written to a bucket: every patient's resources


def bucket_count(files: dict[str, list[Path]]) -> int:
    """Enough buckets that each holds about BUCKET_BYTES of export (gzip files count 8 times their size)."""
    size = sum(p.stat().st_size * (8 if p.name.endswith(".gz") else 1) for paths in files.values() for p in paths)
    return max(1, -(-size // BUCKET_BYTES))


def partition(files: dict[str, list[Path]], workdir: Path, buckets: int) -> Spill:
    """Write every line of the export to the bucket of its patient, in Bundle order: types by `type_rank`, each
    type's files in name order, each file's lines in order (so a patient's lines in a bucket need no sort)."""
    paths = [workdir / f"bucket-{i:05d}.tsv" for i in range(buckets)]
    spill = Spill(paths)
    outs = [p.open("wb") for p in paths]
    try:
        for resource_type in sorted(files, key=type_rank):
            for path in files[resource_type]:
                for item in read_lines(path, resource_type):
                    if isinstance(item, LineProblem):
                        spill.problems.append(item)
                        continue
                    spill.lines[resource_type] = spill.lines.get(resource_type, 0) + 1
                    if item.resource_type in SHARED:
                        _keep_shared(spill, item)
                        continue
                    if item.patient is None:
                        spill.outside_records[resource_type] = spill.outside_records.get(resource_type, 0) + 1
                        continue
                    key = item.patient.encode()
                    spill.bucketed += 1
                    outs[zlib.crc32(key) % buckets].write(
                        b"\t".join((key, resource_type.encode(), item.file.encode(), str(item.line).encode()))
                        + b"\t"
                        + item.text
                        + b"\n"
                    )
    finally:
        for out in outs:
            out.close()
    return spill


def _keep_shared(spill: Spill, item: BulkLine) -> None:
    reference = shared_reference(item)
    if isinstance(reference, LineProblem):
        spill.problems.append(reference)
    else:
        spill.shared[reference] = item.text


def shared_reference(item: BulkLine) -> str | LineProblem:
    """The reference patients' resources name a shared resource by (`Medication/ID`), or the problem of one
    without an id."""
    import orjson

    resource_id = orjson.loads(item.text).get("id")
    if isinstance(resource_id, str):
        return f"{item.resource_type}/{resource_id}"
    return LineProblem(item.file, item.line, f"a {item.resource_type} without an id")


def type_rank(resource_type: str) -> tuple[int, str]:
    return (0 if resource_type == FIRST else 1, resource_type)


@dataclass(frozen=True)
class PatientLines:
    """One patient's resources, in Bundle order (Patient first, then by type, file and line)."""

    patient: str
    lines: list[tuple[str, str, int, bytes]]  # (resource type, file, line, text)


def grouped(bucket: Path) -> Iterator[PatientLines]:
    """The patients of one bucket, in id order."""
    patients: dict[str, list[tuple[str, str, int, bytes]]] = {}
    with bucket.open("rb") as stream:
        for raw in stream:
            key, resource_type, file, line, text = raw.rstrip(b"\n").split(b"\t", 4)
            patients.setdefault(key.decode(), []).append((resource_type.decode(), file.decode(), int(line), text))
    for patient in sorted(patients):  # lines were written in Bundle order (`partition`): no sort is needed
        yield PatientLines(patient, patients[patient])
