"""ASGI middleware: the whole request body, within its size limit and its deadline, before the app sees it.

Why: routes took an evaluation place and then read the body, with no deadline. 20 connections that
sent headers and one byte, then nothing, held every place: each `/evaluate` and each signed CDS call
got 503 for as long as they stayed open (issue 22). Here the body is buffered first (at most
`max_bytes`, the body limit of every route), so a route and its places are reached only by a
request whose body has fully arrived:

* a declared `Content-Length` over the limit is refused at once, unread (413); a chunked body is
  refused at the first byte over it;
* the body must arrive within `timeout_s` of the request's start, however it trickles; otherwise
  408, and the connection is closed;
* a client that goes away mid-body is one log line (method and route, nothing it sent), and the app
  is not called: nobody is left to answer.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_bytes
from kg.errors import BodyTimeoutError, BodyTooLargeError, MalformedBodyError, TherapyKGError

log = logging.getLogger("therapy-kg.http")


class BodySizeLimitMiddleware:
    """`app.add_middleware(BodySizeLimitMiddleware, max_bytes=..., timeout_s=..., errors_url=...)`."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float = 10.0,
        errors_url: str = "/errors",
        large_bytes: int | None = None,
        large_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.errors_url = errors_url
        #: the routes that take FHIR records (a Bundle, a CDS call's prefetch) may send up to `large_bytes`; the
        #: route itself then holds a body that is not a record to `max_bytes` (`api.body.JsonLimits`)
        self.large_bytes = large_bytes or max_bytes
        self.large_paths = large_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.large_bytes if path.startswith(self.large_paths) and self.large_paths else self.max_bytes
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await self._refuse(send, MalformedBodyError("Content-Length is not a number", field="Content-Length"))
                return
            if length > limit:
                await self._refuse(send, self._too_large(limit))
                return
            if length == 0:
                await self.app(scope, receive, send)
                return
        elif b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)  # no body
            return
        deadline = time.monotonic() + self.timeout_s
        messages, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await self._refuse(
                    send,
                    BodyTimeoutError(f"the request body did not arrive within {self.timeout_s:g} s (body_timeout_s)"),
                )
                return
            if message["type"] != "http.request":
                log.info(
                    "the client went away before its body had arrived: %s %s", scope.get("method"), scope.get("path")
                )
                return
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(send, self._too_large(limit))
                return
            messages.append(message)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(messages, receive), send)

    def _too_large(self, limit: int) -> BodyTooLargeError:
        setting = "max_bundle_bytes" if limit != self.max_bytes else "max_body_bytes"
        return BodyTooLargeError(f"the request body is larger than {limit} bytes ({setting})")

    async def _refuse(self, send: Send, error: TherapyKGError) -> None:
        """Answer `error` and close the connection: the rest of the body is never read."""
        status, headers, body = problem_bytes(error, self.errors_url)
        await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands back the buffered messages, then defers to the real one."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
