"""Safety checks run on every SPARQL request before anything is evaluated.

The endpoint is read-only and never talks to the outside world, but both pyoxigraph and rdflib
follow `SERVICE` out of the box, and no two SPARQL parsers read hostile text alike (rdflib ends a
`#` comment at LF only, Oxigraph at CR too; Oxigraph splits keywords glued to names, as in
`SERVICESILENT:x`, rdflib does not). So the guard does not re-read the query beside the engine: it
makes the *one* text both will read, and refuses whatever could still be read two ways.

1. **Canonical text.** `\\uXXXX` escapes are expanded (SPARQL 1.1 §19.2), CR LF and lone CR become
   LF, and characters on which readers differ (other controls, NEL, line and paragraph separators,
   BOM, zero-width and bidirectional marks) are refused. The engine is handed this canonical text,
   never the original.
2. **Tokens** (the SPARQL 1.1 terminals: IRIs, strings, comments, prefixed names): a bare update
   keyword or any word or prefixed name that *begins* with `SERVICE` is refused (fail closed: an
   engine may split `SERVICEx:` into a keyword and a name).
3. **Parse tree** (rdflib): `ServiceGraphPattern` at any depth, and `FROM`/`FROM NAMED` graphs
   outside the store. The dataset the tree names is returned, and the embedded engine runs with
   exactly that dataset, so a dataset clause only the engine saw has no effect.
4. **Names** (issue 22): every prefixed name uses a prefix the query declares (a store's predefined
   prefixes, such as Virtuoso's `bif:`, are not the query's), every function is a SPARQL 1.1
   built-in or on the operator's allow-list of extension functions (default: none), and no IRI,
   prefix or base is in a scheme that names a store's built-ins (`bif:`, `sql:`).

Beneath the guard, the worker processes that evaluate queries cannot open a network socket at all
(`api.sparql.sandbox`): a gap in the guard still connects nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pyparsing import ParseBaseException, ParseResults
from rdflib.plugins.sparql.algebra import translatePrologue
from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re, parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from kg.errors import QueryRejectedError, UpdateRefusedError

__all__ = ["CheckedQuery", "SparqlRequestError", "UpdateRefusedError", "check_dataset", "check_query"]

QueryForm = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]

_FORMS: dict[str, QueryForm] = {
    "SelectQuery": "SELECT",
    "AskQuery": "ASK",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
}
#: Words that only SPARQL Update uses; none of them can appear bare in a query.
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH", "USING"}
)

READ_ONLY = "SPARQL Update is not allowed: this endpoint is read-only"
NO_SERVICE = "SERVICE is not allowed: federated queries are refused"
NOT_FETCHED = "(remote graphs are never fetched)"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: The function IRIs of SPARQL 1.1 itself (§17.5, the XPath constructor functions); every other function is
#: an extension a store may act on (Virtuoso's bif:/sql: run SQL and more), allowed only by name.
BUILT_IN_FUNCTIONS = frozenset(
    XSD + name for name in ("boolean", "double", "float", "decimal", "integer", "dateTime", "string")
)
#: IRI schemes that name a store's own built-ins (Virtuoso: bif:contains as a predicate is full-text search),
#: refused wherever they appear: as an IRI, a prefix or a base.
STORE_BUILT_IN_SCHEMES = ("bif:", "sql:")


class SparqlRequestError(QueryRejectedError):
    """A SPARQL request refused before it runs (400); the message names the problem for the client."""


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed every check: the exact text to evaluate, its form and its dataset.

    `default_graphs` / `named_graphs` are the graphs its FROM / FROM NAMED clauses name (None: the
    query has no dataset clause and the store's own dataset applies).
    """

    text: str
    form: QueryForm
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None


# --- 1. code-point escapes ----------------------------------------------------------------------

_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def expand_codepoint_escapes(text: str) -> str:
    r"""Expand `\uXXXX` / `\UXXXXXXXX` once, as SPARQL 1.1 §19.2 says, before any parsing.

    >>> expand_codepoint_escapes(r'SELECT ("\u0041" AS ?x) {}')
    'SELECT ("A" AS ?x) {}'
    """

    def expand(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise SparqlRequestError(f"invalid code point escape {match.group(0)}")
        return chr(code)

    expanded = _CODEPOINT.sub(expand, text)
    if expandUnicodeEscapes_re.search(expanded):  # rdflib would expand a second time: refuse
        raise SparqlRequestError("escaped code point escapes (\\u005C u...) are not supported")
    return expanded


#: Characters that parsers disagree on, or that make a query read differently to a person: C0
#: controls other than TAB and LF (CR is normalised first), DEL, C1 controls (NEL among them),
#: zero-width and bidirectional marks, line/paragraph separators, BOM.
_AMBIGUOUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def canonical_text(text: str) -> str:
    r"""The one text the guard checks and the engine runs: escapes expanded, LF line ends only.

    >>> canonical_text('SELECT * { # note\r?s ?p ?o }\r\n')
    'SELECT * { # note\n?s ?p ?o }\n'
    >>> canonical_text('ASK { \u2028 }')
    Traceback (most recent call last):
    ...
    api.sparql.guard.SparqlRequestError: the query contains the character U+2028, which SPARQL parsers read differently; remove it
    """  # noqa: E501 (a doctest's expected message)
    for candidate in (text, expanded := expand_codepoint_escapes(text)):
        found = _AMBIGUOUS.search(candidate.replace("\r", ""))
        if found:
            char = found.group()
            name = "a NUL character" if char == "\x00" else f"the character U+{ord(char):04X}"
            raise SparqlRequestError(f"the query contains {name}, which SPARQL parsers read differently; remove it")
    return expanded.replace("\r\n", "\n").replace("\r", "\n")


# --- 2. tokens ------------------------------------------------------------------------------------

_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_PN_PREFIX = rf"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PN_LOCAL = rf"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"
_ECHAR = r"\\[tbnrf\\\"']"

_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<ws>[ \t\r\n]+)",
            r"(?P<comment>#[^\r\n]*)",
            r"(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)",
            rf"(?P<long1>'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}))*''')",
            rf"(?P<long2>\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|{_ECHAR}))*\"\"\")",
            rf"(?P<str1>'(?:[^'\\\n\r]|{_ECHAR})*')",
            rf"(?P<str2>\"(?:[^\"\\\n\r]|{_ECHAR})*\")",
            rf"(?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*)",
            r"(?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)",
            rf"(?P<bnode>_:[{_PN_CHARS_U}0-9](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)",
            rf"(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)",
            r"(?P<word>[A-Za-z_][A-Za-z0-9_]*)",
            r"(?P<other>.)",
        ]
    ),
    re.DOTALL,
)


def keyword_like_tokens(text: str) -> Iterator[str]:
    """Upper-cased bare words and prefixed names: every token an engine could read as a keyword."""
    for match in _TOKEN.finditer(text):
        if match.lastgroup in ("word", "pname"):
            yield match.group().upper()


def bare_words(text: str) -> Iterator[str]:
    """The upper-cased keywords of a query: bare words outside IRIs, strings, comments and names.

    >>> sorted(set(bare_words('SELECT * { ?service <urn:SERVICE> "SERVICE" } # SERVICE')))
    ['SELECT']
    """
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "word":
            yield match.group().upper()


# --- 3. parse tree --------------------------------------------------------------------------------


def _walk(node: object) -> Iterator[CompValue]:
    """Every CompValue of an rdflib parse tree, depth first, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, CompValue):
            yield current
            stack.extend(current.values())
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, (list, tuple, ParseResults)):
            stack.extend(current)


def _dataset_graphs(prologue: ParseResults, query: CompValue) -> Iterator[tuple[str, str]]:
    """(`FROM` or `FROM NAMED`, absolute IRI) for each dataset clause of the query."""
    clauses = dict.get(query, "datasetClause") or []  # CompValue.get returns the key when absent
    if not clauses:
        return
    resolved = translatePrologue(prologue, None)
    for clause in clauses:
        named = "named" in clause
        keyword, term = ("FROM NAMED", dict.get(clause, "named")) if named else ("FROM", dict.get(clause, "default"))
        try:
            yield keyword, str(resolved.absolutize(term))
        except Exception as exc:  # an undeclared prefix, for instance
            raise SparqlRequestError(f"{keyword} names an unresolvable graph: {exc}") from None


def _check_names(canonical: str, parsed: ParseResults, functions: frozenset[str]) -> None:
    """Step 4: declared prefixes only, built-in or allowed functions only, no store built-in schemes."""
    for match in _TOKEN.finditer(canonical):
        if match.lastgroup == "iri" and match.group()[1:].lower().startswith(STORE_BUILT_IN_SCHEMES):
            raise SparqlRequestError(f"the IRI {match.group()[:100]} names a store's built-in function: refused")
    declared: dict[str, str] = {}
    for node in _walk(parsed[0]):
        if node.name == "PrefixDecl":
            declared[str(dict.get(node, "prefix") or "")] = str(dict.get(node, "iri"))
        elif node.name == "Base" and str(dict.get(node, "iri")).lower().startswith(STORE_BUILT_IN_SCHEMES):
            raise SparqlRequestError("the BASE names a store's built-in functions: refused")
    for prefix, iri in declared.items():
        if iri.lower().startswith(STORE_BUILT_IN_SCHEMES):
            raise SparqlRequestError(
                f"the prefix {prefix!r} names a store's built-in functions (<{iri[:100]}>): refused"
            )

    def resolve(pname: CompValue) -> str:
        prefix = str(dict.get(pname, "prefix") or "")
        if prefix not in declared:
            raise SparqlRequestError(
                f"the prefix {prefix[:40]!r} is not declared in the query (PREFIX {prefix[:40]}: "
                "<...>): a store's predefined prefixes are not used"
            )
        return declared[prefix] + str(dict.get(pname, "localname") or "")

    for node in _walk(parsed):
        if node.name == "pname":
            resolve(node)
        elif node.name == "Function":
            name = dict.get(node, "iri")
            iri = resolve(name) if isinstance(name, CompValue) else str(name)
            if iri not in BUILT_IN_FUNCTIONS and iri not in functions:
                raise SparqlRequestError(
                    f"the function <{iri[:200]}> is neither a SPARQL 1.1 built-in nor on this server's allow-list of "
                    "extension functions (sparql_extension_functions)"
                )


@lru_cache(maxsize=512)
def check_query(text: str, store_graphs: frozenset[str], functions: frozenset[str] = frozenset()) -> CheckedQuery:
    """Refuse updates, SERVICE, dataset clauses outside the store, undeclared prefixes and extension functions
    not in `functions`; return what to evaluate."""
    canonical = canonical_text(text)
    tokens = set(keyword_like_tokens(canonical))
    if "SERVICE" in tokens:
        raise SparqlRequestError(NO_SERVICE)
    glued = sorted(token for token in tokens if token.startswith("SERVICE"))
    if glued:
        raise SparqlRequestError(
            f"{NO_SERVICE} (a word or prefixed name beginning with SERVICE, here "
            f"{glued[0][:40]!r}, is refused: an engine may read it as the keyword)"
        )
    words = {token for token in tokens if ":" not in token}
    if words & UPDATE_KEYWORDS:
        raise UpdateRefusedError(f"{READ_ONLY} ({', '.join(sorted(words & UPDATE_KEYWORDS))})")
    try:
        parsed = parseQuery(canonical)
    except ParseBaseException as exc:
        raise SparqlRequestError(f"SPARQL syntax error: {exc.msg} at line {exc.lineno}, column {exc.col}") from None
    except RecursionError:
        raise SparqlRequestError("the query is nested too deeply or too long to be checked") from None
    except ValueError as exc:
        raise SparqlRequestError(f"SPARQL syntax error: {exc}") from None
    prologue, query = parsed[0], parsed[1]
    if any(node.name == "ServiceGraphPattern" for node in _walk(parsed)):
        raise SparqlRequestError(NO_SERVICE)
    _check_names(canonical, parsed, functions)
    default: list[str] = []
    named: list[str] = []
    for keyword, iri in _dataset_graphs(prologue, query):
        if iri not in store_graphs:
            raise SparqlRequestError(f"{keyword} <{iri}> is not a graph of this store {NOT_FETCHED}")
        (named if keyword == "FROM NAMED" else default).append(iri)
    has_dataset = bool(default or named)
    return CheckedQuery(
        text=canonical,
        form=_FORMS[query.name],
        default_graphs=tuple(default) if has_dataset else None,
        named_graphs=tuple(named) if has_dataset else None,
    )


def check_dataset(
    default_graph_uris: Iterable[str], named_graph_uris: Iterable[str], store_graphs: frozenset[str]
) -> None:
    """Protocol dataset parameters may only name graphs the store already holds: nothing is fetched."""
    for parameter, uris in (("default-graph-uri", default_graph_uris), ("named-graph-uri", named_graph_uris)):
        for uri in uris:
            if uri not in store_graphs:
                raise SparqlRequestError(f"{parameter} <{uri}> is not a graph of this store {NOT_FETCHED}")
