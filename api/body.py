"""Bounded JSON decoding of request bodies: a size limit, then a depth limit, never a Python recursion.

Why: `json.loads` recurses in C under Python's recursion limit, so a body of 100,000 nested
brackets (200 KB, well under the size limit) raised `RecursionError` → 500. Even a document the
parser survives is unsafe further on: the FHIR models and `orjson.dumps` recurse too (a Bundle
nested about 250 deep fails in fhir.resources). So:

* the size is checked first (`max_body_bytes`, 413; the middleware refuses most such bodies unread);
* `orjson` parses: it is iterative up to its own depth guard (1,024) and fails cleanly beyond it;
* the nesting depth is then counted on the raw text, outside strings, by removing innermost
  bracket pairs one level per pass (C-speed `bytes.replace`, at most `max_depth` passes), and a
  document deeper than `max_depth` is refused naming the limit.

orjson is stricter than `json`: it refuses NaN/Infinity, numbers beyond a double and lone UTF-16
surrogates, none of which RFC 8259 JSON exchanges may carry.

Two more refusals close what a gateway and the engine could read differently (issue 22):

* **JSON only as JSON** (`require_json`): a body whose Content-Type is not JSON is 415. A browser
  page may post `text/plain` to any origin without a CORS preflight; parsed as JSON anyway, any page a
  clinician opened could post to a loopback or intranet deployment.
* **No duplicate keys**: `{"age": 45, "age": 9}` is read as 9 by the parser here and as 45 by
  others, so a gateway or audit log could see another patient than the engine. The keys in the text
  are counted (every string in turn, and whether a colon follows it) against the keys
  of the parsed document (counted the same way in its re-serialisation): both at C speed. Only when
  they differ is the text parsed again, slowly, to name the first duplicate and its path (422).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

import orjson

from kg.errors import BodyTooLargeError, DuplicateKeyError, InputShapeLimitError, MalformedBodyError, MediaTypeError

__all__ = [
    "FHIR_JSON",
    "JSON",
    "JsonLimits",
    "decode_json",
    "deeper_than",
    "first_duplicate_key",
    "require_json",
]

#: A JSON string: on text orjson has accepted every quote pairs up, so this is linear.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: Every JSON string, and whether a colon follows (then it is an object key).
_STRING_OR_KEY = re.compile(_STRING.pattern + rb"([ \t\r\n]*:)?")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


#: The media types of JSON bodies: every JSON route takes the first, routes that read FHIR the second too.
JSON = ("application/json",)
FHIR_JSON = ("application/json", "application/fhir+json")


@dataclass(frozen=True)
class JsonLimits:
    max_bytes: int
    max_depth: int
    #: a FHIR record (a Bundle; a CDS call with its prefetch) may be this large; other bodies `max_bytes`
    max_record_bytes: int = 0

    @classmethod
    def of(cls, settings) -> JsonLimits:
        return cls(max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)

    @classmethod
    def for_records(cls, settings) -> JsonLimits:
        """The limits of a route that takes FHIR records: `max_bundle_bytes` for those, `max_body_bytes` else."""
        return cls(
            max_bytes=settings.max_body_bytes,
            max_depth=settings.max_json_depth,
            max_record_bytes=max(settings.max_bundle_bytes, settings.max_body_bytes),
        )


def decode_record(body: bytes, limits: JsonLimits, media_type: str | None) -> object:
    """`decode_json` for a route that takes FHIR records: a body declared `application/fhir+json`, or whose
    `resourceType` is Bundle, may be up to `max_record_bytes`; any other body is held to `max_bytes`."""
    if len(body) <= limits.max_bytes or not limits.max_record_bytes:
        return decode_json(body, limits)
    large = replace(limits, max_bytes=max(limits.max_record_bytes, limits.max_bytes))
    document = decode_json(body, large)
    fhir = (media_type or "").split(";", 1)[0].strip().lower() == "application/fhir+json"
    if not fhir and not (isinstance(document, dict) and document.get("resourceType") == "Bundle"):
        raise BodyTooLargeError(
            f"the request body is larger than {limits.max_bytes} bytes (max_body_bytes; FHIR Bundles may be up "
            f"to {limits.max_record_bytes} bytes, max_bundle_bytes)",
            field="body",
        )
    return document


def decode_json(body: bytes, limits: JsonLimits) -> object:
    """The JSON value of `body` within `limits`; a `BodyTooLargeError`, `InputShapeLimitError`,
    `MalformedBodyError` or `DuplicateKeyError` (field `body`) names what is wrong.

    >>> decode_json(b'{"a": [1, {"b": 2}]}', JsonLimits(max_bytes=100, max_depth=3))
    {'a': [1, {'b': 2}]}
    >>> decode_json(b'[[[[]]]]', JsonLimits(max_bytes=100, max_depth=3))
    Traceback (most recent call last):
    kg.errors.InputShapeLimitError: JSON nested deeper than 3 levels of arrays and objects (the limit, max_json_depth)
    """
    if len(body) > limits.max_bytes:
        raise BodyTooLargeError(
            f"the request body is larger than {limits.max_bytes} bytes (max_body_bytes)", field="body"
        )
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in exc.msg:  # orjson's own guard, far above ours
            raise _too_deep(limits.max_depth) from None
        raise MalformedBodyError(
            f"body: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", field="body"
        ) from None
    if isinstance(document, (dict, list)):
        if deeper_than(body, limits.max_depth):
            raise _too_deep(limits.max_depth)
        duplicate = first_duplicate_key(body, document)
        if duplicate is not None:
            key, where = duplicate
            raise DuplicateKeyError(
                f"body: duplicate key {key[:100]!r} in {where}: each key may appear once in an object", field="body"
            )
    return document


def require_json(content_type: str | None, accepted: tuple[str, ...] = JSON) -> None:
    """A `MediaTypeError` (415) unless the Content-Type's media type is one of `accepted`.

    >>> require_json("application/json; charset=utf-8")
    >>> require_json("text/plain")
    Traceback (most recent call last):
    kg.errors.MediaTypeError: Content-Type 'text/plain' is not accepted here: send application/json
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in accepted:
        raise MediaTypeError(
            f"Content-Type {media[:100] or '(none)'!r} is not accepted here: send {' or '.join(accepted)}",
            field="Content-Type",
        )


def first_duplicate_key(text: bytes, document: object) -> tuple[str, str] | None:
    """(key, where) of the first key given twice in one object of JSON `text` (parsed as `document`), or None.

    >>> first_duplicate_key(b'{"a": {"b": 1, "b": 2}}', {"a": {"b": 2}})
    ('b', 'a')
    >>> first_duplicate_key(b'{"a": ["x:", {"b": 1}]}', {"a": ["x:", {"b": 1}]}) is None
    True
    """
    if _keys(text) == _keys(orjson.dumps(document)):
        return None
    stack: list[tuple[object, str]] = [(json.loads(text, object_pairs_hook=_Pairs), "the top level")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, _value in node:
                if key in seen:
                    return key, where
                seen.add(key)
            stack.extend((v, k if where == "the top level" else f"{where}.{k}") for k, v in reversed(node))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None


class _Pairs(list):
    """An object's members in order, duplicates kept (json's object_pairs_hook)."""


def _keys(text: bytes) -> int:
    """Object keys in JSON `text`: every string matches in turn from the start (so the scan stays aligned on
    the strings of valid JSON), and a string a colon follows is a key. Measured: 16 ms for an 850 KB Bundle."""
    return sum(map(bool, _STRING_OR_KEY.findall(text)))


def deeper_than(text: bytes, limit: int) -> bool:
    """Whether the arrays and objects of JSON `text` nest more than `limit` levels (brackets in strings ignored).

    Each pass removes every innermost `[]` (braces read as brackets), which lowers the depth by
    exactly one; what is left after `limit` passes is deeper than `limit`.

    >>> deeper_than(b'{"a": [1, "]]]", {"b": 2}]}', 3), deeper_than(b'{"a": [{"b": {}}]}', 3)
    (False, True)
    """
    brackets = _STRING.sub(b"", text).translate(_BRACES_AS_BRACKETS, _NOT_BRACKET)
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):  # unbalanced: not JSON (the parser has said so before us)
            return False
        brackets = shorter
    return bool(brackets)


def _too_deep(limit: int) -> InputShapeLimitError:
    return InputShapeLimitError(
        f"JSON nested deeper than {limit} levels of arrays and objects (the limit, max_json_depth)", field="body"
    )
