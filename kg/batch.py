"""`therapy-kg evaluate` / `explain` on files: one JSON document, a FHIR Bundle, or NDJSON (one per line).

NDJSON is streamed: memory stays flat in the number of patients. A malformed line does not stop
the run: its output line carries the error (with the line number and field), and the exit code
is 1 when any line failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from kg.errors import MalformedBodyError, PatientInputError, TherapyKGError
from kg.explain import explain

if TYPE_CHECKING:
    from kg.service import TherapyKG

#: Patients per engine call: one HermiT run per batch for the owl engine. The fast engine goes one
#: by one: batches of 256 cost as many instructions per patient (callgrind) and hold more in memory.
OWL_BATCH = 100
FAST_BATCH = 1


def _service() -> TherapyKG:
    from kg.service import TherapyKG
    from kg.store.release import embedded_store

    return TherapyKG(embedded_store())


def _read_document(path: Path) -> object:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PatientInputError("file", f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PatientInputError(
            "file", f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _is_ndjson(path: Path) -> bool:
    return path.suffix.lower() in (".ndjson", ".jsonl")


def evaluate_file(
    path: Path,
    engine: str = "fast",
    out: IO[str] = sys.stdout,
    progress: bool = True,
    service: TherapyKG | None = None,
    as_of: date | None = None,
) -> int:
    service = service or _service()
    if not _is_ndjson(path):
        out.write(json.dumps(service.evaluate_document(_read_document(path), engine, as_of), indent=2) + "\n")
        return 0
    return evaluate_ndjson(path, engine, out, progress, service, as_of)


def explain_file(
    path: Path,
    engine: str = "fast",
    out: IO[str] = sys.stdout,
    service: TherapyKG | None = None,
    as_of: date | None = None,
    verbose: bool = False,
) -> int:
    service = service or _service()
    out.write(explain(service.evaluate_document(_read_document(path), engine, as_of), verbose))
    return 0


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    handle = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    try:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line
    finally:
        if handle is not sys.stdin:
            handle.close()


def _count_lines(path: Path) -> int | None:
    if str(path) == "-":
        return None
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def evaluate_ndjson(
    path: Path, engine: str, out: IO[str], progress: bool, service: TherapyKG, as_of: date | None = None
) -> int:
    """One output line per input line, in order; returns 1 when any line failed, else 0."""
    from tqdm import tqdm

    failures = 0
    bar = tqdm(
        total=_count_lines(path) if progress else None,
        unit="patient",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5,
    )
    batch_size = OWL_BATCH if engine == "owl" else FAST_BATCH
    lines = _lines(path)
    write = _json_line_writer(out)
    try:
        while chunk := list(islice(lines, batch_size)):
            for encoded, failed in _evaluate_chunk(chunk, engine, service, as_of):
                failures += failed
                write(encoded)
            bar.update(len(chunk))
    finally:
        bar.close()
        out.flush()
    if failures:
        print(f"{failures} line(s) could not be evaluated", file=sys.stderr)
    return 1 if failures else 0


def _json_line_writer(out: IO[str]) -> Callable[[bytes], object]:
    """Write one JSON document (bytes, UTF-8) as a line: to the binary buffer under a text stream
    when it has one (stdout, a file), not decoded and encoded again."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # e.g. io.StringIO
        return lambda encoded: out.write(encoded.decode() + "\n")
    out.flush()  # whatever was written as text goes first
    return lambda encoded: buffer.write(encoded + b"\n")


def _evaluate_chunk(
    chunk: list[tuple[int, str]], engine: str, service: TherapyKG, as_of: date | None = None
) -> list[tuple[bytes, bool]]:
    """(JSON, failed) for each numbered line in order: its evaluation, or the error that stopped it."""
    parsed, results = [], {}
    for number, line in chunk:
        try:
            parsed.append((number, service.read_document(orjson.loads(line), as_of)))
        except orjson.JSONDecodeError as exc:
            results[number] = _error(number, MalformedBodyError(f"not valid JSON: {exc.msg}", field="line"))
        except PatientInputError as exc:
            results[number] = _error(number, exc)
    if parsed:
        try:
            evaluations = service.evaluate_many_json([p for _, p in parsed], engine)
            results.update({number: (e, False) for (number, _), e in zip(parsed, evaluations, strict=False)})
        except PatientInputError:  # one bad term in a batch: evaluate one by one
            for number, patient in parsed:
                try:
                    results[number] = (service.evaluate_many_json([patient], engine)[0], False)
                except PatientInputError as one:
                    results[number] = _error(number, one)
    return [results[number] for number, _ in chunk]


def _error(number: int, error: TherapyKGError) -> tuple[bytes, bool]:
    """The output line of an input line that could not be evaluated: its number, the message, field and code."""
    return orjson.dumps({"line": number, "error": str(error), "field": error.field, "code": error.code}), True
