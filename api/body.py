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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

__all__ = ["JsonBodyError", "JsonLimits", "JsonSyntaxError", "decode_json", "deeper_than"]

#: A JSON string: on text orjson has accepted every quote pairs up, so this is linear.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


@dataclass(frozen=True)
class JsonLimits:
    max_bytes: int
    max_depth: int

    @classmethod
    def of(cls, settings) -> JsonLimits:
        return cls(max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)


class JsonBodyError(ValueError):
    """The body is refused by a limit: `status` 413 (size) or 422 (depth); the message names the limit."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class JsonSyntaxError(ValueError):
    """The body is not JSON (each route answers this with its own status)."""


def decode_json(body: bytes, limits: JsonLimits) -> object:
    """The JSON value of `body` within `limits`, or `JsonBodyError` / `JsonSyntaxError`.

    >>> decode_json(b'{"a": [1, {"b": 2}]}', JsonLimits(max_bytes=100, max_depth=3))
    {'a': [1, {'b': 2}]}
    >>> decode_json(b'[[[[]]]]', JsonLimits(max_bytes=100, max_depth=3))
    Traceback (most recent call last):
    api.body.JsonBodyError: JSON nested deeper than 3 levels of arrays and objects (the limit, max_json_depth)
    """
    if len(body) > limits.max_bytes:
        raise JsonBodyError(413, f"the request body is larger than {limits.max_bytes} bytes (max_body_bytes)")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in exc.msg:  # orjson's own guard, far above ours
            raise _too_deep(limits.max_depth) from None
        raise JsonSyntaxError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if isinstance(document, (dict, list)) and deeper_than(body, limits.max_depth):
        raise _too_deep(limits.max_depth)
    return document


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


def _too_deep(limit: int) -> JsonBodyError:
    return JsonBodyError(422, f"JSON nested deeper than {limit} levels of arrays and objects (the limit, "
                              "max_json_depth)")
