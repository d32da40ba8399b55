"""The SPARQL 1.1 Protocol as remote servers really speak it (issue 14 item 1).

The protocol has three ways to send a query: direct POST (`application/sparql-query`), form POST
(`application/x-www-form-urlencoded`) and GET. Servers differ in which they take: Virtuoso 7.2 never
answers a direct POST, some proxies refuse POST altogether. `SparqlClient` asks the server once, with
`ASK {}` sent each way in turn, and remembers the first way that gets a real answer; one pooled HTTP client
(keep-alive connections) carries every query after that.

What goes wrong is told apart: a server that cannot be reached, answers 502/503/504 or answers something
that is not SPARQL is *unavailable* (`StoreUnavailableError`, 503 with Retry-After: wait and it may come
back); a server that answers 4xx refused this query (`StoreError`, or the caller's own error).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import pyoxigraph as ox

from kg.errors import QueryTimeoutError, StoreError, StoreUnavailableError

#: The protocol operations, in the order they are tried: form POST is the one every server takes, and has
#: no URL length limit.
OPERATIONS = ("form-post", "direct-post", "get")
#: How long the `ASK {}` of discovery may take: Virtuoso 7.2 never answers a direct POST (it waits for more).
PROBE_TIMEOUT_S = 5.0
#: Seconds after which a request refused because the store is unavailable may be tried again.
RETRY_AFTER_S = 10

#: Answers that say the server (or the proxy before it) cannot serve now, whatever the query: 502, 503, 504.
#: A 500 is the server failing on this one query (an error, not an outage).
UNAVAILABLE = frozenset({502, 503, 504})

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class ProtocolRequest:
    """One query as the chosen operation sends it: what `httpx.Client.build_request` takes."""

    method: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    content: bytes | None = None


def protocol_request(operation: str, text: str, params: Params, accept: str) -> ProtocolRequest:
    """The HTTP request that sends `text` with the dataset `params` by `operation`.

    >>> protocol_request("get", "ASK {}", [("default-graph-uri", "urn:g")], "*/*").params
    [('query', 'ASK {}'), ('default-graph-uri', 'urn:g')]
    >>> protocol_request("form-post", "ASK {}", [], "*/*").content
    b'query=ASK+%7B%7D'
    """
    if operation == "direct-post":
        headers = {"Content-Type": "application/sparql-query; charset=utf-8", "Accept": accept}
        return ProtocolRequest("POST", list(params), headers, text.encode("utf-8"))
    if operation == "form-post":
        form = httpx.QueryParams([("query", text), *params])
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        return ProtocolRequest("POST", [], headers, str(form).encode("ascii"))
    if operation == "get":
        return ProtocolRequest("GET", [("query", text), *params], {"Accept": accept})
    raise StoreError(f"unknown SPARQL protocol operation {operation!r}; use one of: {', '.join(OPERATIONS)}")


class SparqlClient:
    """One remote SPARQL 1.1 query service: the operation it takes (found once) and a pooled HTTP client."""

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 30.0,
        operation: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if operation is not None and operation not in OPERATIONS:
            raise StoreError(f"unknown SPARQL protocol operation {operation!r}; use one of: {', '.join(OPERATIONS)}")
        self.endpoint = endpoint
        self.timeout = timeout
        self._operation = operation
        self._lock = threading.Lock()
        self.client = client or httpx.Client(
            timeout=timeout,
            trust_env=False,  # no proxy or .netrc from the environment: only the configured server is contacted
            follow_redirects=False,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=30),
        )

    @property
    def operation(self) -> str:
        """The protocol operation this server takes, asked once (StoreUnavailableError while it cannot be asked)."""
        if self._operation is None:
            with self._lock:
                if self._operation is None:
                    self._operation = self._discover()
        return self._operation

    def send(self, text: str, params: Params, accept: str, timeout: float | None = None) -> httpx.Response:
        """The server's answer to `text`, read whole; an unavailable server raises, a 4xx is returned."""
        request = protocol_request(self.operation, text, params, accept)
        response = self._exchange(request, timeout or self.timeout)
        if response.status_code in UNAVAILABLE:
            raise StoreUnavailableError(f"the SPARQL store answered {response.status_code}", retry_after=RETRY_AFTER_S)
        return response

    def _exchange(self, request: ProtocolRequest, timeout: float) -> httpx.Response:
        try:
            return self.client.request(
                request.method,
                self.endpoint,
                params=httpx.QueryParams(tuple(request.params)),
                headers=request.headers,
                content=request.content,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, timeout) from exc

    def _discover(self) -> str:
        """The first operation by which `ASK {}` gets a boolean answer."""
        refused: list[str] = []
        for operation in OPERATIONS:
            request = protocol_request(operation, "ASK {}", [], "application/sparql-results+json")
            try:
                response = self._exchange(request, min(self.timeout, PROBE_TIMEOUT_S))
            except QueryTimeoutError:
                refused.append(f"{operation}: no answer")
                continue
            except StoreUnavailableError as exc:
                if not isinstance(exc.__cause__, httpx.RemoteProtocolError):
                    raise  # nothing listens, or the network failed: no operation can be judged now
                refused.append(f"{operation}: connection dropped")
                continue
            if response.status_code < 300 and _is_boolean(response):
                return operation
            if response.status_code in UNAVAILABLE:
                raise StoreUnavailableError(
                    f"the SPARQL store answered {response.status_code}", retry_after=RETRY_AFTER_S
                )
            refused.append(f"{operation}: {response.status_code}")
        if not any(r[-1].isdigit() for r in refused):  # nothing but silence and dropped connections: an outage
            raise StoreUnavailableError(
                "the SPARQL store answered no query (" + "; ".join(refused) + ")", retry_after=RETRY_AFTER_S
            )
        raise StoreError("the server takes no SPARQL 1.1 Protocol query operation (" + "; ".join(refused) + ")")

    def close(self) -> None:
        self.client.close()


def transport_error(exc: httpx.HTTPError, timeout: float) -> StoreUnavailableError | QueryTimeoutError:
    """What an HTTP failure on the way to the store means: no connection or a broken one is an outage (503,
    Retry-After); a store that took the query and did not answer in time is a timeout."""
    if isinstance(exc, httpx.ConnectTimeout):
        message = f"the SPARQL store did not accept a connection within {timeout:g} s"
        return StoreUnavailableError(message, retry_after=RETRY_AFTER_S)
    if isinstance(exc, httpx.TimeoutException):
        return QueryTimeoutError(f"the SPARQL store did not answer within {timeout:g} s", retry_after=RETRY_AFTER_S)
    return StoreUnavailableError(
        f"the SPARQL store cannot be reached ({type(exc).__name__})", retry_after=RETRY_AFTER_S
    )


def _is_boolean(response: httpx.Response) -> bool:
    try:
        result = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError):
        return False
    return isinstance(result, ox.QueryBoolean)
