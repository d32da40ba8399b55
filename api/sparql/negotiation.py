"""Accept header → result format, and serialisation of query results with an explicit row cap.

SELECT/ASK answer SPARQL results (JSON by default; XML; CSV and TSV for SELECT only), CONSTRUCT and
DESCRIBE answer RDF (Turtle by default; N-Triples, RDF/XML, JSON-LD). pyoxigraph writes every
format; the row cap is applied while it writes, so an unbounded result is never materialised.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, cast

import pyoxigraph as ox

from api.sparql.guard import QueryForm
from kg.errors import NotAcceptableError

FORMATS_NS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class ResultFormat:
    """One media type we can answer with, its pyoxigraph writer and its W3C format IRI."""

    media_type: str
    writer: ox.QueryResultsFormat | ox.RdfFormat
    format_iri: str
    aliases: tuple[str, ...] = ()

    @property
    def is_rdf(self) -> bool:
        return isinstance(self.writer, ox.RdfFormat)

    @property
    def rdf(self) -> ox.RdfFormat:
        """The writer of an RDF format (CONSTRUCT, DESCRIBE); a ValueError for a results format."""
        if not isinstance(self.writer, ox.RdfFormat):
            raise ValueError(f"{self.media_type} is not an RDF format")
        return self.writer

    @property
    def results(self) -> ox.QueryResultsFormat:
        """The writer of a results format (SELECT, ASK); a ValueError for an RDF format."""
        if not isinstance(self.writer, ox.QueryResultsFormat):
            raise ValueError(f"{self.media_type} is not a SPARQL results format")
        return self.writer

    @property
    def content_type(self) -> str:
        """Text types name their charset; the others are UTF-8 by definition."""
        return f"{self.media_type}; charset=utf-8" if self.media_type.startswith("text/") else self.media_type


SPARQL_JSON = ResultFormat(
    "application/sparql-results+json",
    ox.QueryResultsFormat.JSON,
    FORMATS_NS + "SPARQL_Results_JSON",
    ("application/json",),
)
SPARQL_XML = ResultFormat(
    "application/sparql-results+xml", ox.QueryResultsFormat.XML, FORMATS_NS + "SPARQL_Results_XML", ("application/xml",)
)
CSV = ResultFormat("text/csv", ox.QueryResultsFormat.CSV, FORMATS_NS + "SPARQL_Results_CSV")
TSV = ResultFormat("text/tab-separated-values", ox.QueryResultsFormat.TSV, FORMATS_NS + "SPARQL_Results_TSV")
TURTLE = ResultFormat("text/turtle", ox.RdfFormat.TURTLE, FORMATS_NS + "Turtle")
N_TRIPLES = ResultFormat("application/n-triples", ox.RdfFormat.N_TRIPLES, FORMATS_NS + "N-Triples")
RDF_XML = ResultFormat("application/rdf+xml", ox.RdfFormat.RDF_XML, FORMATS_NS + "RDF_XML")
JSON_LD = ResultFormat("application/ld+json", ox.RdfFormat.JSON_LD, FORMATS_NS + "JSON-LD")

#: Offered formats per query form, the default first (it wins ties and a missing Accept).
OFFERS: dict[QueryForm, tuple[ResultFormat, ...]] = {
    "SELECT": (SPARQL_JSON, SPARQL_XML, CSV, TSV),
    "ASK": (SPARQL_JSON, SPARQL_XML),
    "CONSTRUCT": (TURTLE, N_TRIPLES, RDF_XML, JSON_LD),
    "DESCRIBE": (TURTLE, N_TRIPLES, RDF_XML, JSON_LD),
}
RDF_OFFERS = OFFERS["CONSTRUCT"]
ALL_FORMATS = (SPARQL_JSON, SPARQL_XML, CSV, TSV, TURTLE, N_TRIPLES, RDF_XML, JSON_LD)


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """`Accept` → [(media range, q)], ignoring malformed members (RFC 9110 §12.5.1).

    >>> parse_accept("text/csv;q=0.5, application/sparql-results+json")
    [('text/csv', 0.5), ('application/sparql-results+json', 1.0)]
    """
    ranges: list[tuple[str, float]] = []
    for member in (header or "").split(","):
        media_range, *params = (part.strip() for part in member.split(";"))
        if "/" not in media_range:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media_range.lower(), q))
    return ranges


def _quality(fmt: ResultFormat, ranges: list[tuple[str, float]]) -> float:
    """The q of the most specific range matching `fmt` (exact > type/* > */*)."""
    best_specificity, best_q = -1, 0.0
    for media_range, q in ranges:
        kind, _, _ = media_range.partition("/")
        if media_range in (fmt.media_type, *fmt.aliases):
            specificity = 2
        elif media_range == f"{kind}/*" and fmt.media_type.startswith(kind + "/"):
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


def names_above(accept: str | None, wanted: tuple[str, ...], others: Iterable[str]) -> bool:
    """Whether the client names one of `wanted` by name, with a q above every one of `others` it names: a page
    or a drawing is sent only to a client that asks for it by name, never to `*/*`.

    >>> names_above("text/html, */*;q=0.8", ("text/html",), ["text/turtle"]), names_above("*/*", ("text/html",), [])
    (True, False)
    """
    ranges, rivals = parse_accept(accept), set(others)
    best = max((q for media, q in ranges if media in wanted), default=0.0)
    rival = max((q for media, q in ranges if media in rivals), default=0.0)
    return best > 0 and best > rival


def choose(offers: tuple[ResultFormat, ...], accept: str | None) -> ResultFormat:
    """The offered format the client prefers; the first offer when Accept is absent; else 406.

    >>> choose(OFFERS["SELECT"], "text/csv, */*;q=0.1").media_type
    'text/csv'
    """
    ranges = parse_accept(accept)
    if not ranges:
        return offers[0]
    scored = [(_quality(fmt, ranges), -rank, fmt) for rank, fmt in enumerate(offers)]
    q, _, fmt = max(scored, key=lambda item: item[:2])
    if q <= 0:
        wanted = ", ".join(f.media_type for f in offers)
        raise NotAcceptableError(f"not acceptable: this result can be sent as {wanted}", field="Accept")
    return fmt


def choose_for(form: QueryForm, accept: str | None) -> ResultFormat:
    return choose(OFFERS[form], accept)


class _Enough(Exception):
    """Raised by the capped writer to stop pyoxigraph once the row cap is passed."""


class _CappedLines:
    """A file-like sink that stops the writer after `max_lines` complete lines."""

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max_lines
        self.lines = 0
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.lines += data.count(b"\n")
        if self.lines > self.max_lines:
            raise _Enough
        return len(data)

    def flush(self) -> None:
        pass


def _cap_solutions(solutions: ox.QuerySolutions, max_rows: int) -> tuple[ox.QuerySolutions, bool]:
    """At most `max_rows` solutions, and whether more existed.

    TSV writes one solution per line (newlines inside literals are escaped) and round-trips every
    term exactly, so the solutions are written as TSV until one row past the cap, cut and re-read.
    """
    sink = _CappedLines(max_rows + 1)  # the header line plus max_rows solutions
    try:
        solutions.serialize(cast("IO[bytes]", sink), format=ox.QueryResultsFormat.TSV)  # only `write` is called
    except _Enough:
        pass
    complete = b"".join(sink.chunks).split(b"\n")[:-1]  # the header, then one line per solution
    truncated = len(complete) > max_rows + 1
    kept = b"".join(line + b"\n" for line in complete[: max_rows + 1])
    reread = ox.parse_query_results(kept, format=ox.QueryResultsFormat.TSV)
    if not isinstance(reread, ox.QuerySolutions):  # TSV holds solutions only
        raise TypeError("TSV results read back as a boolean")
    return reread, truncated


def serialize(result: object, fmt: ResultFormat, max_rows: int) -> tuple[bytes, bool]:
    """Write a query result in `fmt`: (body, truncated). Never more than `max_rows` rows or triples."""
    if isinstance(result, ox.QueryBoolean):
        return result.serialize(format=fmt.results) or b"", False
    if isinstance(result, ox.QuerySolutions):
        capped, truncated = _cap_solutions(result, max_rows)
        return capped.serialize(format=fmt.results) or b"", truncated
    triples = list(itertools.islice(cast("Iterable[ox.Triple]", result), max_rows + 1))  # QueryTriples or a list
    truncated = len(triples) > max_rows
    return ox.serialize(triples[:max_rows], format=fmt.rdf) or b"", truncated
