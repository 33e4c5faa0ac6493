"""A small keep-alive HTTP/1.1 load generator: the fallback when ``wrk`` is not installed.

``python _http_loadgen.py --port P [--conns C] [--path /]`` opens C connections to
127.0.0.1:P and on each sends one GET, waits for the whole response (Content-Length body),
checks status 200 and the body ``Hello, world!``, and sends the next, until it gets SIGINT
(or ``--duration`` seconds pass).  It then prints one line,
``LOADGEN requests=N errors=E loop=NAME``, and exits.

It runs on uvloop when that imports (a faster client disturbs the server's numbers less),
else on stdlib asyncio.  Being Python, it needs about as much CPU per request as the server
it loads, so on a 2-core machine it, not the server, may set the pace: prefer wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import cast

__all__ = ["main"]

EXPECTED_BODY = b"Hello, world!"


class _Client(asyncio.Protocol):
    """One keep-alive connection sending GETs back to back."""

    def __init__(self, request: bytes, stats: dict[str, int], stopping: asyncio.Event) -> None:
        self.request = request
        self.stats = stats
        self.stopping = stopping
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and rloop's transports do not subclass asyncio.Transport: no isinstance.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self._take_response():
            if self.stopping.is_set() or self.transport is None:
                return
            self.transport.write(self.request)

    def _take_response(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).lower()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return False
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        ok = head.startswith(b"http/1.1 200") and body == EXPECTED_BODY
        self.stats["requests" if ok else "errors"] += 1
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.stopping.is_set():
            self.stats["errors"] += 1


async def _load(port: int, conns: int, path: str, duration: float) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    stats = {"requests": 0, "errors": 0}
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii")
    transports = []
    for _ in range(conns):
        transport, _ = await loop.create_connection(
            lambda: _Client(request, stats, stopping), "127.0.0.1", port
        )
        transports.append(transport)
    try:
        await asyncio.wait_for(stopping.wait(), duration)
    except TimeoutError:
        stopping.set()
    for transport in transports:
        transport.close()
    return stats


def _new_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the server until told to stop, print the counts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--path", default="/")
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args(argv)
    loop, name = _new_loop()
    try:
        stats = loop.run_until_complete(_load(args.port, args.conns, args.path, args.duration))
    finally:
        loop.close()
    print(f"LOADGEN requests={stats['requests']} errors={stats['errors']} loop={name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
