"""Putting the release into a remote store's named graph by the SPARQL 1.1 Graph Store HTTP Protocol.

`PUT {graph store}?graph={knowledge graph}` replaces that one graph and nothing else, on every server
that speaks the protocol (Oxigraph server `/store`, Virtuoso `/sparql-graph-crud-auth`, Fuseki
`/{dataset}/data`). Where the graph store URL is not given it is found from the query endpoint by the
server's own name (its `Server` header) and that server's documented layout, or the caller is told to give it.
"""

from __future__ import annotations

from collections.abc import Generator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pyoxigraph as ox

from kg.errors import InputError, StoreError, StoreUnavailableError
from kg.store.fingerprint import StoredRelease, release_problem, stored_release
from kg.store.protocol import RETRY_AFTER_S

#: Where each server keeps its graph store, relative to its query endpoint's path: (Server header prefix,
#: endpoint path suffix, graph store path suffix).
LAYOUTS = (
    ("oxigraph", "/query", "/store"),
    ("virtuoso", "/sparql", "/sparql-graph-crud-auth"),
    ("apache jena fuseki", "/query", "/data"),
    ("apache jena fuseki", "/sparql", "/data"),
)


class ChallengedAuth(httpx.Auth):
    """Credentials sent the way the server's 401 challenge asks: Digest (Virtuoso) or Basic (Fuseki, proxies)."""

    requires_request_body = True  # a Digest retry sends the body again

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        scheme = response.headers.get("www-authenticate", "").split(" ", 1)[0].lower()
        inner: httpx.Auth = (
            httpx.DigestAuth(self.user, self.password)
            if scheme == "digest"
            else httpx.BasicAuth(self.user, self.password)
        )
        flow = inner.sync_auth_flow(request)
        retry = next(flow)
        if scheme == "digest":  # DigestAuth first sends the request bare to get the challenge: hand it ours
            retry = flow.send(response)
        yield retry


def graph_store_url(endpoint: str, server: str) -> str:
    """The graph store of the server that answered `endpoint` with `Server: {server}`.

    >>> graph_store_url("http://db:7878/query", "Oxigraph/0.4")
    'http://db:7878/store'
    >>> graph_store_url("http://db:8890/sparql", "Virtuoso/07.20.3229 (Linux)")
    'http://db:8890/sparql-graph-crud-auth'
    """
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    for name, suffix, store in LAYOUTS:
        if server.lower().startswith(name) and path.endswith(suffix):
            return urlunsplit(parts._replace(path=path.removesuffix(suffix) + store, query=""))
    raise InputError(
        f"no graph store is known for the server at {endpoint} ({server or 'it does not name itself'}): "
        "give --graph-store (Oxigraph server: …/store, Virtuoso: …/sparql-graph-crud-auth, Fuseki: …/{dataset}/data)",
        field="--graph-store",
    )


def server_name(client: httpx.Client, endpoint: str) -> str:
    """What the server at `endpoint` calls itself (its `Server` header), asked with `ASK {}`."""
    try:
        response = client.get(
            endpoint, params={"query": "ASK {}"}, headers={"Accept": "application/sparql-results+json"}
        )
    except httpx.HTTPError as exc:
        raise StoreUnavailableError(
            f"the SPARQL store at {endpoint} cannot be reached ({type(exc).__name__})", retry_after=RETRY_AFTER_S
        ) from exc
    return str(response.headers.get("server", ""))


def put_graph(
    client: httpx.Client, graph_store: str, graph: ox.NamedNode, ntriples: bytes, auth: httpx.Auth | None
) -> None:
    """Replace the named graph `graph` with `ntriples` (sent as Turtle, which every graph store takes)."""
    try:
        response = client.put(
            graph_store,
            params={"graph": graph.value},
            content=ntriples,
            headers={"Content-Type": "text/turtle; charset=utf-8"},
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        raise StoreUnavailableError(
            f"the graph store at {graph_store} cannot be reached ({type(exc).__name__})", retry_after=RETRY_AFTER_S
        ) from exc
    if response.status_code in (401, 403):
        raise StoreError(
            f"the graph store at {graph_store} refused the write ({response.status_code}): give a user with write "
            "access (--user, the password in TKG_STORE_PASSWORD)"
        )
    if response.status_code >= 300:
        raise StoreError(
            f"the graph store at {graph_store} answered {response.status_code} to the PUT of {graph.value}"
        )


def load_release(
    endpoint: str,
    ntriples: bytes,
    *,
    graph_store: str | None = None,
    user: str | None = None,
    password: str | None = None,
    graph: ox.NamedNode | None = None,
    timeout: float = 300.0,
) -> tuple[str, StoredRelease]:
    """Put the release `ntriples` into the named graph of the store behind `endpoint`, then read its fingerprint
    back through `endpoint`: the graph store used and what is there; StoreError if it is not whole."""
    from kg.store import KNOWLEDGE_GRAPH, RemoteSparqlStore

    graph = graph or KNOWLEDGE_GRAPH
    auth = ChallengedAuth(user, password or "") if user else None
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        target = graph_store or graph_store_url(endpoint, server_name(client, endpoint))
        put_graph(client, target, graph, ntriples, auth)
    store = RemoteSparqlStore(endpoint, timeout=timeout, graph=graph)
    try:
        stored = stored_release(store)
    finally:
        store.close()
    problem = release_problem(stored, None, where=f"after the load, {endpoint}")
    if problem is not None:
        raise StoreError(problem)
    return target, stored
