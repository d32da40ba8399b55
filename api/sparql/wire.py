"""The messages between the API process and a SPARQL query worker: a JSON header and raw bytes, no pickle.

Why a format of our own: the parent used `multiprocessing.connection` over a socket pair, reading
replies with a blocking `recv` in a thread after `loop.add_reader` had told it one was ready. uvloop
(what `therapy-kg serve` runs) makes a socket it watches non-blocking, so the threaded read of a
large answer failed part-way with `BlockingIOError`: 502 and a worker restart, 2 times in 3 for
`SELECT * WHERE { ?s ?p ?o }`. Now the parent's socket is non-blocking on purpose and read on the event
loop (`receive`), while the worker, which has nothing else to do, reads and writes blocking (`read`,
`write`). And because a worker runs text from whoever calls /sparql, what it sends back is parsed as
data only: a pickle from a compromised worker would run code in the API process, JSON cannot.

A frame is `!IQ` (header length, body length), the UTF-8 JSON header (an object with a `kind`), then
the body. The reader checks both lengths before it allocates: a header over `MAX_HEADER_BYTES` or
a body over the caller's ceiling is refused unread (`MessageTooLargeError`), never buffered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

__all__ = ["MAX_HEADER_BYTES", "MessageTooLargeError", "Message", "read", "receive", "send", "write"]

_PREFIX = struct.Struct("!IQ")
#: Headers carry a query text (bounded by the request body limit), a status or a message: never more.
MAX_HEADER_BYTES = 4 * 1024 * 1024
#: Read large bodies in pieces of this size, on the loop: each piece is one non-blocking recv.
_CHUNK = 1024 * 1024

Message = tuple[dict[str, Any], bytes]


class MessageTooLargeError(Exception):
    """A body over the reader's ceiling (`size` bytes announced, `limit` allowed); nothing of it was read."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes announced, {limit} allowed")
        self.size = size
        self.limit = limit


def _frame(header: dict[str, Any], body_length: int) -> bytes:
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return _PREFIX.pack(len(encoded), body_length) + encoded


def _lengths(prefix: bytes, max_body: int) -> tuple[int, int]:
    header_length, body_length = _PREFIX.unpack(prefix)
    if header_length > MAX_HEADER_BYTES:
        raise MessageTooLargeError(header_length, MAX_HEADER_BYTES)
    if body_length > max_body:
        raise MessageTooLargeError(body_length, max_body)
    return header_length, body_length


def _header(raw: bytes) -> dict[str, Any]:
    header = json.loads(raw)
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise ValueError("a message header must be a JSON object with a kind")
    return header


# --- the worker's side: a blocking socket ----------------------------------------------------------


def write(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    """Send one message (blocking).

    >>> ours, theirs = socket.socketpair()
    >>> write(ours, {"kind": "ok", "truncated": False}, b"rows")
    >>> read(theirs)
    ({'kind': 'ok', 'truncated': False}, b'rows')
    """
    sock.sendall(_frame(header, len(body)))
    if body:
        sock.sendall(body)


def _exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n
    return bytes(buffer)


def read(sock: socket.socket, max_body: int = 2**63 - 1) -> Message:
    """Receive one message (blocking); EOFError when the other side has gone."""
    header_length, body_length = _lengths(_exactly(sock, _PREFIX.size), max_body)
    return _header(_exactly(sock, header_length)), _exactly(sock, body_length)


# --- the API's side: a non-blocking socket, on the event loop --------------------------------------


async def send(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    """Send one message on the running loop (`sock` non-blocking)."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, _frame(header, len(body)))
    if body:
        await loop.sock_sendall(sock, body)


async def _exactly_async(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = await loop.sock_recv_into(sock, view[got : got + _CHUNK])
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n
    return bytes(buffer)  # one copy, bounded by the ceiling and short-lived: a Response wants bytes


async def receive(sock: socket.socket, max_body: int) -> Message:
    """Receive one message on the running loop; MessageTooLargeError before reading a body over `max_body`."""
    header_length, body_length = _lengths(await _exactly_async(sock, _PREFIX.size), max_body)
    header = _header(await _exactly_async(sock, header_length))
    return header, await _exactly_async(sock, body_length)
