"""Named SPARQL queries: `.rq` files under queries/ with grlc-style `#+ key: value` headers.

Parameters follow the grlc convention: a variable `?_name` is a parameter; the suffix says its
type (`?_condition_iri` an IRI, `?_age_integer` an integer, otherwise a plain string). Values are
bound as RDF terms through `Store.query(..., bindings=...)`, never pasted into the query text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import PatientInputError, SourceFileError
from kg.resources import queries_dir
from kg.store import QueryResult, Store, Term
from kg.store.terms import TermResolver

_HEADER = re.compile(r"^#\+\s*([A-Za-z_]+)\s*:\s*(.*)$")
_PARAM = re.compile(r"\?(_[A-Za-z][A-Za-z0-9_]*)")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_TYPES = {"iri": "iri", "integer": _XSD + "integer", "decimal": _XSD + "decimal", "boolean": _XSD + "boolean"}


@dataclass(frozen=True)
class QueryParameter:
    variable: str  # without "?", e.g. "_condition_iri"
    name: str  # e.g. "condition"
    kind: str  # "iri", "string" or an XSD datatype IRI

    def to_term(self, value: str, resolver: TermResolver | None = None) -> Term:
        """Turn a request value into an RDF term; IRIs also accept CURIEs."""
        if self.kind == "iri":
            return ox.NamedNode(resolver.expand(value, field=self.name) if resolver else value)
        if self.kind == "string":
            return ox.Literal(value)
        literal = ox.Literal(value, datatype=ox.NamedNode(self.kind))
        if self.kind.endswith("integer") and not re.fullmatch(r"[+-]?\d+", value):
            raise PatientInputError(self.name, f"expected an integer, got {value!r}")
        return literal


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    text: str
    headers: dict[str, str]
    parameters: tuple[QueryParameter, ...]

    @property
    def summary(self) -> str:
        return self.headers.get("summary", "")

    def bindings(self, values: Mapping[str, str], resolver: TermResolver | None = None) -> dict[str, Term]:
        """Bind request values (by parameter name) as RDF terms; every parameter is required."""
        missing = [p.name for p in self.parameters if p.name not in values]
        if missing:
            raise PatientInputError(missing[0], f"query {self.name!r} needs parameter(s): {', '.join(missing)}")
        return {p.variable: p.to_term(values[p.name], resolver) for p in self.parameters}

    def run(
        self,
        store: Store,
        values: Mapping[str, str] | None = None,
        resolver: TermResolver | None = None,
        **kwargs: Any,
    ) -> QueryResult:
        return store.query(self.text, self.bindings(values or {}, resolver), **kwargs)


def parse_query_file(path: Path, name: str) -> NamedQuery:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceFileError(str(path), f"cannot read query: {exc.strerror}") from exc
    headers: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            headers[match.group(1).lower()] = match.group(2).strip()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    seen: dict[str, QueryParameter] = {}
    for variable in _PARAM.findall(body):
        if variable in seen:
            continue
        stem, _, suffix = variable[1:].rpartition("_")
        kind = _TYPES.get(suffix)
        name = stem if kind else variable[1:]
        seen[variable] = QueryParameter(variable, name, kind or "string")
    return NamedQuery(name, path, text, headers, tuple(seen.values()))


@lru_cache(maxsize=4)
def load_queries(directory: Path | None = None) -> dict[str, NamedQuery]:
    """Every `.rq` file under `directory` keyed by its path without suffix, e.g. `qc/missing-label-violation`."""
    root = directory or queries_dir()
    return {
        p.relative_to(root).with_suffix("").as_posix(): parse_query_file(
            p, p.relative_to(root).with_suffix("").as_posix()
        )
        for p in sorted(root.rglob("*.rq"))
    }


def named_query(name: str) -> NamedQuery:
    try:
        return load_queries()[name]
    except KeyError:
        raise SourceFileError(str(queries_dir() / f"{name}.rq"), "no such query") from None
