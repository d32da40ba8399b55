"""The one outbound connection of /sparql in remote mode: the API process forwarding a checked query.

Only the configured endpoint is ever contacted, and only by the API process: the workers that read
user text check it and render the answer but hold no connection. Cancelling `query` (the time
limit passed, the client went away) closes the HTTP connection at once; the remote server's own
time limit (`oxigraph serve-read-only --timeout-s`, Virtuoso's `MaxQueryExecutionTime`) is what
stops its work, so the README's recipes set one.
"""

from __future__ import annotations

import httpx

from api.sparql.guard import SparqlRequestError
from api.sparql.wire import MessageTooLargeError
from api.sparql.worker import QueryJob
from kg.errors import QueryTimeoutError, StoreError
from kg.store import REMOTE_ACCEPT


class RemoteEndpoint:
    """A SPARQL 1.1 query endpoint reached by direct POST."""

    def __init__(self, url: str, max_answer_bytes: int) -> None:
        self.url = url
        self.max_answer_bytes = max_answer_bytes  # a larger answer is refused, not buffered

    async def query(self, text: str, job: QueryJob, timeout: float) -> tuple[bytes, str]:
        """The endpoint's answer (body, content type) to a query the guard has checked."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("default-graph-uri", g) for g in job.default_graphs
        ]
        params += [("named-graph-uri", g) for g in job.named_graphs]
        headers = {"Content-Type": "application/sparql-query", "Accept": REMOTE_ACCEPT}
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
                async with client.stream(
                    "POST", self.url, params=params, content=text.encode("utf-8"), headers=headers
                ) as response:
                    body = await _read_capped(response, self.max_answer_bytes)
        except httpx.TimeoutException:
            raise QueryTimeoutError(f"the SPARQL endpoint did not answer within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise StoreError(f"the SPARQL endpoint cannot be reached: {type(exc).__name__}") from None
        if response.status_code == 400:
            reason = body[:200].decode("utf-8", "replace")
            raise SparqlRequestError(f"the SPARQL endpoint refused the query: {reason}")
        if response.status_code >= 400:
            raise StoreError(f"the SPARQL endpoint answered {response.status_code}")
        return body, response.headers.get("content-type", "")


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise MessageTooLargeError(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)
