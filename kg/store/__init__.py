"""Stage 2, the store: one small interface to a graph store, with backends chosen by name; the release put
into it (`release`), the named queries run on it (`queries`) and the graph's terms (`terms`).

`open_store("oxigraph:")` is the embedded in-process Oxigraph store; `open_store("rdflib:")` an
in-process rdflib Dataset (`rdflib_backend`); `open_store("sparql:URL")` talks SPARQL 1.1 Protocol
to any remote server. All return pyoxigraph result objects, so the callers (named queries, the API,
the engines' compiler) never know which one they hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Protocol, TypeAlias

import httpx
import orjson
import pyoxigraph as ox

from kg.errors import StoreError, StoreUnavailableError
from kg.store.protocol import RETRY_AFTER_S, SparqlClient

Term = ox.NamedNode | ox.BlankNode | ox.Literal


class TripleList(list[ox.Triple]):
    """CONSTRUCT/DESCRIBE results from a remote endpoint: a list of triples with `serialize`."""

    def __init__(self, quads: Iterable[ox.Quad]) -> None:
        super().__init__(ox.Triple(q.subject, q.predicate, q.object) for q in quads)

    def serialize(self, output: IO[bytes] | None = None, format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> bytes | None:  # noqa: A002
        return ox.serialize(self, output, format=format)


QueryResult: TypeAlias = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | TripleList

#: The named graph that holds the release graph (it is also loaded into the default graph).
KNOWLEDGE_GRAPH = ox.NamedNode("https://w3id.org/therapy-kg/graph/knowledge")


class Store(Protocol):
    """What every backend offers: read-only SPARQL with bound parameters, and a little metadata."""

    name: str

    @property
    def endpoint(self) -> str | None:
        """The SPARQL 1.1 query endpoint of a remote backend (where /sparql forwards checked queries); None
        for an in-process store."""
        ...

    def query(
        self,
        sparql: str,
        bindings: Mapping[str, Term] | None = None,
        *,
        default_graphs: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        timeout: float | None = None,
    ) -> QueryResult: ...

    def graph_names(self) -> list[ox.NamedNode]: ...

    def triple_count(self) -> int: ...

    def snapshot(self) -> bytes:
        """The whole dataset as N-Quads, for a query worker of its own; StoreError where the data is remote."""
        ...


class InProcessStore(Store, Protocol):
    """A store whose data lives in this process: the release is loaded into it, and copied from it."""

    def load_ntriples(self, data: bytes) -> None: ...


class OxigraphStore:
    """The embedded store: an in-memory pyoxigraph Store holding the release graph."""

    name = "oxigraph"
    endpoint: str | None = None

    def __init__(self, store: ox.Store | None = None) -> None:
        self.store = store if store is not None else ox.Store()

    def load_triples(self, triples: Iterable[ox.Triple]) -> None:
        """Load triples into the default graph and the knowledge named graph."""
        quads = []
        for t in triples:
            quads.append(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()))
            quads.append(ox.Quad(t.subject, t.predicate, t.object, KNOWLEDGE_GRAPH))
        self.store.extend(quads)

    def load_ntriples(self, data: bytes) -> None:
        """Load N-Triples into the default graph and the knowledge named graph."""
        for graph in (ox.DefaultGraph(), KNOWLEDGE_GRAPH):
            self.store.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)

    def query(
        self,
        sparql: str,
        bindings: Mapping[str, Term] | None = None,
        *,
        default_graphs: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run a query, `bindings` as inline data opening its WHERE group (`with_values`, as the remote stores get
        them); `timeout` is not enforced here (see api.sparql for cancellation)."""
        return self.store.query(
            with_values(sparql, bindings) if bindings else sparql,
            default_graph=list(default_graphs) if default_graphs else None,
            named_graphs=list(named_graphs) if named_graphs is not None else None,
        )

    def graph_names(self) -> list[ox.NamedNode]:
        return [g for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)]

    def triple_count(self) -> int:
        return sum(1 for _ in self.store.quads_for_pattern(None, None, None, ox.DefaultGraph()))

    def snapshot(self) -> bytes:
        return self.store.dump(format=ox.RdfFormat.N_QUADS) or b""


_RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}


class RemoteSparqlStore:
    """A remote SPARQL 1.1 query service reached over HTTP (Oxigraph server, Virtuoso, Fuseki, GraphDB…).

    The release lives in the named graph `graph` there. A query that names no dataset of its own is sent with
    that graph as its default graph (`default-graph-uri`): the answer is the same whether the server's default
    graph is its union of graphs (Virtuoso), its own default graph (Oxigraph, Fuseki) or empty, and the same as
    the embedded store's, whose default graph holds a copy of the release. Bindings travel as a VALUES block
    opening the WHERE group (`with_values`), built from serialised RDF terms, never as text pasted into the query.
    """

    name = "sparql"

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 30.0,
        graph: ox.NamedNode = KNOWLEDGE_GRAPH,
        operation: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.graph = graph
        self.protocol = SparqlClient(endpoint, timeout=timeout, operation=operation, client=client)

    def query(
        self,
        sparql: str,
        bindings: Mapping[str, Term] | None = None,
        *,
        default_graphs: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        text = with_values(sparql, bindings) if bindings else sparql
        if default_graphs is None and named_graphs is None:
            default_graphs = [self.graph]
        params = [("default-graph-uri", g.value) for g in default_graphs or []]
        params += [("named-graph-uri", g.value) for g in named_graphs or []]
        response = self.protocol.send(text, params, accept_for(query_form(sparql)), timeout)
        if response.status_code >= 400:
            raise StoreError(f"the SPARQL store refused a query of therapy-kg ({response.status_code})")
        return parse_response(response.content, response.headers.get("content-type", ""))

    def graph_names(self) -> list[ox.NamedNode]:
        # the server's own dataset: a default-graph-uri alone leaves no named graph on some servers (Oxigraph)
        result = solutions(self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", default_graphs=[]))
        return [g for s in result if isinstance(g := s["g"], ox.NamedNode)]

    def triple_count(self) -> int:
        count = next(iter(solutions(self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))))["n"]
        return int(count.value) if count is not None else 0

    def snapshot(self) -> bytes:
        raise StoreError(f"the data of {self.endpoint} stays on that server: it is queried there, not copied")

    def close(self) -> None:
        self.protocol.close()


#: What a remote query asks for: SPARQL JSON results for SELECT and ASK, N-Triples (or Turtle) for CONSTRUCT and
#: DESCRIBE. One Accept for both would not do: Virtuoso answers a CONSTRUCT as a table of ?s ?p ?o when JSON
#: results are acceptable.
RESULTS_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9"


def accept_for(form: str) -> str:
    """The Accept header of a query of `form` (SELECT, ASK, CONSTRUCT, DESCRIBE)."""
    return GRAPH_ACCEPT if form.upper() in ("CONSTRUCT", "DESCRIBE") else RESULTS_ACCEPT


def query_form(sparql: str) -> str:
    r"""The form of a query: its first SELECT, ASK, CONSTRUCT or DESCRIBE keyword after the prologue.

    >>> query_form("# SELECT in a comment\nPREFIX ex: <urn:x#>\nCONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    for line in sparql.splitlines():
        if _PROLOGUE.match(line) is None and (match := _FORM.search(line)) is not None:
            return match.group(1).upper()
    return "SELECT"


_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_PROLOGUE = re.compile(r"\s*(#|PREFIX\b|BASE\b)", re.IGNORECASE)


def parse_response(content: bytes, content_type: str) -> QueryResult:
    """A remote endpoint's answer as pyoxigraph results, by its media type; StoreUnavailableError for one
    that is not SPARQL (a proxy's error page, a truncated body)."""
    media_type = content_type.split(";")[0].strip().lower()
    try:
        if media_type in _RESULT_TYPES:
            if media_type == "application/sparql-results+json" and b'"bnode"' in content:
                content = _portable_blank_nodes(content)
            return ox.parse_query_results(content, format=_RESULT_TYPES[media_type])
        rdf_format = ox.RdfFormat.from_media_type(media_type)
        if rdf_format is not None:
            return TripleList(ox.parse(content, format=rdf_format))
    except (SyntaxError, ValueError) as exc:
        raise StoreUnavailableError(
            f"the SPARQL store's answer is not valid {media_type}", retry_after=RETRY_AFTER_S
        ) from exc
    raise StoreUnavailableError(
        f"the SPARQL store answered with an unexpected media type {media_type!r}", retry_after=RETRY_AFTER_S
    )


def _portable_blank_nodes(content: bytes) -> bytes:
    """SPARQL JSON results whose blank node labels are valid RDF ones: Virtuoso's are `nodeID://b10006`, which
    pyoxigraph refuses. Each label is replaced by its hex form, so distinct labels stay distinct."""
    try:
        document = orjson.loads(content)
        for binding in document["results"]["bindings"]:
            for term in binding.values():
                if term.get("type") == "bnode":
                    term["value"] = "x" + str(term["value"]).encode("utf-8").hex()
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return content  # not the shape of SELECT results: parsed (and refused) as it is
    return orjson.dumps(document)


def solutions(result: QueryResult) -> ox.QuerySolutions:
    """The solutions of a SELECT result; StoreError for another kind (a query file of the wrong form)."""
    if not isinstance(result, ox.QuerySolutions):
        raise StoreError(f"expected the solutions of a SELECT query, got {type(result).__name__}")
    return result


class Row:
    """One solution of a SELECT query as the values of its terms, by variable name.

    `row[v]` is a variable the query binds in every row of its kind (a `StoreError` naming it otherwise:
    the query and this code disagree); `row.get(v)` one it may leave unbound (an OPTIONAL label).
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str | None]) -> None:
        self._values = values

    def __getitem__(self, name: str) -> str:
        value = self._values.get(name)
        if value is None:
            raise StoreError(f"a query left ?{name} unbound where it must be bound")
        return value

    def get(self, name: str) -> str | None:
        return self._values.get(name)


def rows(result: ox.QuerySolutions) -> Iterator[Row]:
    """The solutions as `Row`s of term values (an IRI, a literal's lexical form)."""
    variables = [v.value for v in result.variables]
    for solution in result:
        yield Row(
            {v: (None if (term := solution[v]) is None else str(getattr(term, "value", term))) for v in variables}
        )


def triples(result: QueryResult) -> Iterable[ox.Triple]:
    """The triples of a CONSTRUCT or DESCRIBE result, from the embedded store or a remote one."""
    if not isinstance(result, (ox.QueryTriples, TripleList)):
        raise StoreError(f"expected the triples of a CONSTRUCT query, got {type(result).__name__}")
    return result


def with_values(sparql: str, bindings: Mapping[str, Term]) -> str:
    r"""`sparql` with `bindings` as a VALUES block opening its WHERE group (inline data, SPARQL 1.1 §10.2.1).

    Joined first, the values act as a substitution would: a BIND sees them, and the store's planner starts from
    them (a trailing VALUES, §10.2.2, is joined last: Oxigraph then walked every recommendation of the graph for
    one condition's ladder, issue 23 item 4). An ASK query's group opens at its brace (Virtuoso 7.2 takes no
    trailing VALUES after ASK); a query whose WHERE group is not found gets a trailing block. Full-line comments
    are skipped.

    >>> with_values("# {x}\nASK { ?s ?p ?x }", {"x": ox.NamedNode("urn:x")})
    '# {x}\nASK {\nVALUES (?x) { (<urn:x>) }\n ?s ?p ?x }'
    >>> with_values("# WHERE {\nSELECT ?s WHERE { ?s ?p ?x }", {"x": ox.NamedNode("urn:x")})
    '# WHERE {\nSELECT ?s WHERE {\nVALUES (?x) { (<urn:x>) }\n ?s ?p ?x }'
    """
    body = "".join(
        " " * len(line) if line.lstrip().startswith("#") else line for line in sparql.splitlines(keepends=True)
    )
    match = _WHERE.search(body) or _ASK.search(body)
    if match is None:
        return sparql + values_block(bindings)
    return sparql[: match.end()] + values_block(bindings) + sparql[match.end() :]


#: the brace that opens a query's WHERE group: after the WHERE keyword, or an ASK query's head (no WHERE)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
_ASK = re.compile(r"^[ \t]*ASK\b[^{#]*\{", re.IGNORECASE | re.MULTILINE)


def values_block(bindings: Mapping[str, Term]) -> str:
    """Render bindings as a one-row `VALUES` clause of serialised RDF terms.

    >>> values_block({"x": ox.NamedNode("https://w3id.org/therapy-kg/Baclofen")})
    '\\nVALUES (?x) { (<https://w3id.org/therapy-kg/Baclofen>) }\\n'
    """
    names = " ".join(f"?{k}" for k in bindings)
    terms = " ".join(str(v) for v in bindings.values())
    return f"\nVALUES ({names}) {{ ({terms}) }}\n"


def _rdflib_store() -> InProcessStore:
    from kg.store.rdflib_backend import RdflibStore  # rdflib's SPARQL engine is imported only when chosen

    return RdflibStore()


#: The backends whose data lives in this process, by name: the release is loaded into them.
_IN_PROCESS: dict[str, Callable[[], InProcessStore]] = {"oxigraph": OxigraphStore, "rdflib": _rdflib_store}
_BACKENDS: dict[str, Callable[[str], Store]] = {
    "oxigraph": lambda _rest: OxigraphStore(),
    "rdflib": lambda _rest: _rdflib_store(),
    "sparql": lambda rest: RemoteSparqlStore(rest),
}


def open_in_process_store(name: str) -> InProcessStore:
    """An empty in-process store by name (`oxigraph`, `rdflib`), to load the release into."""
    if name not in _IN_PROCESS:
        raise StoreError(f"{name!r} is not an in-process store; use one of: {', '.join(_IN_PROCESS)}")
    return _IN_PROCESS[name]()


def open_store(locator: str) -> Store:
    """Open a store by name: `oxigraph:` (embedded, empty), `rdflib:` (embedded, rdflib's SPARQL engine) or
    `sparql:http://host/query`."""
    scheme, _, rest = locator.partition(":")
    if scheme not in _BACKENDS:
        raise StoreError(f"unknown store {locator!r}; use one of: " + ", ".join(f"{k}:" for k in _BACKENDS))
    return _BACKENDS[scheme](rest)
