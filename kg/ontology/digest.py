"""The release's fingerprint: how many triples it holds and a digest of them, so that a copy of it in a
remote SPARQL store can be checked whole (issue 14 item 3).

The digest must come out the same from the release file and from a server's answer, which relabels blank
nodes: each triple is written in N-Triples form by pyoxigraph with every blank node as `_:`, the lines are
sorted (repeats kept) and hashed. Two copies that differ only in how their blank nodes are wired would
agree; anything a load can lose or a server can change (an IRI, a literal, a triple) does not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

import pyoxigraph as ox

TKG = "https://w3id.org/therapy-kg/"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: The two annotations on the ontology header that hold the fingerprint; not part of what they count.
TRIPLE_COUNT = ox.NamedNode(TKG + "releaseTripleCount")
DIGEST = ox.NamedNode(TKG + "releaseDigest")
FINGERPRINT = frozenset({TRIPLE_COUNT, DIGEST})


def fingerprint(triples: Iterable[ox.Triple]) -> tuple[int, str]:
    """(count, "sha256:…") of `triples`, leaving out the fingerprint annotations themselves.

    >>> a = ox.Triple(ox.BlankNode("x"), ox.NamedNode("urn:p"), ox.Literal("1"))
    >>> b = ox.Triple(ox.BlankNode("y"), ox.NamedNode("urn:p"), ox.Literal("1"))
    >>> fingerprint([a]) == fingerprint([b]), fingerprint([a, b])[0]
    (True, 2)
    """
    lines = sorted(_line(t) for t in triples if t.predicate not in FINGERPRINT)
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    return len(lines), f"sha256:{digest}"


def _line(triple: ox.Triple) -> str:
    return " ".join(_term(term) for term in triple)


def _term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """A term as N-Triples, blank nodes as `_:`, numbers in their canonical form (stores normalise "10.0"
    to "10"; a language tag to lower case).

    >>> _term(ox.Literal("10.0", datatype=ox.NamedNode(XSD + "decimal")))
    '"10"^^<http://www.w3.org/2001/XMLSchema#decimal>'
    >>> _term(ox.Literal("Baclofen", language="EN"))
    '"Baclofen"@en'
    """
    if isinstance(term, ox.BlankNode):
        return "_:"
    if isinstance(term, ox.Literal):
        if term.language:
            return str(ox.Literal(term.value, language=term.language.lower()))
        canonical = _CANONICAL.get(term.datatype.value)
        if canonical is not None:
            try:
                return str(ox.Literal(canonical(term.value), datatype=term.datatype))
            except (ArithmeticError, ValueError):
                return str(term)  # not a valid number: compared as written
    return str(term)


def _decimal(text: str) -> str:
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError(text)
    return format(value.normalize(), "f") if value else "0"


def _integer(text: str) -> str:
    return str(int(text))


_CANONICAL = {XSD + "decimal": _decimal, XSD + "integer": _integer}
