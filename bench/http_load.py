"""A minimal HTTP/1.1 keep-alive load generator for the API benchmark.

httpx costs the client about as much CPU per request as the server spends answering it, so on a
small machine a Python client measures itself. This one sends pre-encoded requests over raw
asyncio streams and reads each response by its Content-Length: a few microseconds per request.
"""

from __future__ import annotations

import asyncio
import json
import time


def post_json(host: str, port: int, path: str, body: object) -> bytes:
    """One encoded `POST path` request with a JSON body, keep-alive."""
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


async def _connection(
    host: str, port: int, requests: list[bytes], count: int, offset: int, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for i in range(count):
            start = time.perf_counter()
            writer.write(requests[(offset + i) % len(requests)])
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    finally:
        writer.close()
        await writer.wait_closed()


def load(host: str, port: int, requests: list[bytes], clients: int, per_client: int) -> list[float]:
    """Latencies (s) of `clients` concurrent keep-alive connections sending `per_client` requests each."""
    latencies: list[float] = []

    async def run() -> None:
        await asyncio.gather(*(_connection(host, port, requests, per_client, c, latencies) for c in range(clients)))

    asyncio.run(run())
    return latencies
