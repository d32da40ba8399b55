"""The one outbound connection of /sparql in remote mode: the API process forwarding a checked query.

Only the configured endpoint is ever contacted, and only by the API process: the workers that read
user text check it and render the answer but hold no connection. Cancelling `query` (the time
limit passed, the client went away) closes the HTTP connection at once; the remote server's own
time limit (`oxigraph serve-read-only --timeout-s`, Virtuoso's `MaxQueryExecutionTime`) is what
stops its work, so the README's recipes set one.
"""

from __future__ import annotations

import asyncio

import httpx

from api.sparql.guard import CheckedQuery, SparqlRequestError
from api.sparql.wire import MessageTooLargeError
from api.sparql.worker import QueryJob
from kg.errors import StoreError, StoreUnavailableError
from kg.store import RemoteSparqlStore, accept_for
from kg.store.protocol import RETRY_AFTER_S, UNAVAILABLE, protocol_request, transport_error


class RemoteEndpoint:
    """The remote store's SPARQL 1.1 query endpoint, asked by the operation it takes (`kg.store.protocol`) over
    one pool of keep-alive connections; a query naming no dataset reads the release's graph, as the service's
    own queries do."""

    def __init__(self, store: RemoteSparqlStore, max_answer_bytes: int) -> None:
        self.url = store.endpoint
        self.protocol = store.protocol
        self.graph = store.graph.value
        self.max_answer_bytes = max_answer_bytes  # a larger answer is refused, not buffered
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    async def query(
        self, checked: CheckedQuery, job: QueryJob, timeout: float, graphs: frozenset[str]
    ) -> tuple[bytes, str]:
        """The endpoint's answer (body, content type) to a query the guard has checked. A query naming no dataset
        gets the embedded store's: the release's graph as default graph, and every named graph of the store
        (`graphs`) named, since servers differ on what a default-graph-uri alone leaves available."""
        params = [("default-graph-uri", g) for g in job.default_graphs]
        params += [("named-graph-uri", g) for g in job.named_graphs]
        if not params and checked.default_graphs is None:
            params = [("default-graph-uri", self.graph)] + [("named-graph-uri", g) for g in sorted(graphs)]
        operation = await asyncio.to_thread(lambda: self.protocol.operation)  # asked once, then remembered
        # the service's base IRI travels as a BASE the query's own BASE, if any, then resolves against
        text = f"BASE <{job.base_iri}>\n{checked.text}" if job.base_iri else checked.text
        request = protocol_request(operation, text, params, accept_for(checked.form))
        try:
            async with self._pooled_client().stream(
                request.method,
                self.url,
                params=httpx.QueryParams(tuple(request.params)),
                content=request.content,
                headers=request.headers,
                timeout=timeout,
            ) as response:
                body = await _read_capped(response, self.max_answer_bytes)
        except httpx.HTTPError as exc:
            raise transport_error(exc, timeout) from None
        if response.status_code == 400:
            reason = body[:200].decode("utf-8", "replace")
            raise SparqlRequestError(f"the SPARQL endpoint refused the query: {reason}")
        if response.status_code in UNAVAILABLE:
            raise StoreUnavailableError(f"the SPARQL store answered {response.status_code}", retry_after=RETRY_AFTER_S)
        if response.status_code >= 400:
            raise StoreError(f"the SPARQL endpoint answered {response.status_code}")
        return body, response.headers.get("content-type", "")

    def _pooled_client(self) -> httpx.AsyncClient:
        """The keep-alive pool of the running event loop (an app has one; tests may start several in turn)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
            self._client_loop = loop
        return self._client


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise MessageTooLargeError(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)
