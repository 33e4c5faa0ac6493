"""TCP echo with ``asyncio.Protocol`` on both ends: ``loop.create_server`` / ``create_connection``.

The server protocol writes back every chunk it receives; the client protocol collects the
echo in a buffer, compares it with the message once it is complete and sends the next one.
This is the transport's own read and write path with no streams or tasks on top: one
``data_received`` call and one ``write`` per chunk.  See ``_echo.py`` for the variants.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import cast

from ._echo import check_echo, message, share, variants

__all__ = ["WORKLOADS"]


class _EchoServer(asyncio.Protocol):
    """Write back whatever arrives."""

    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and rloop's transports do not subclass asyncio.Transport: no isinstance.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _EchoClient(asyncio.Protocol):
    """Send ``msg`` ``count`` times, each after its echo came back whole and equal."""

    transport: asyncio.Transport

    def __init__(self, msg: bytes, count: int, done: asyncio.Future[int]) -> None:
        self.msg = msg
        self.left = count
        self.verified = 0
        self.received = bytearray()
        self.done = done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and rloop's transports do not subclass asyncio.Transport: no isinstance.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.msg)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) < len(self.msg):
            return
        if self.received != self.msg:
            self._finish(AssertionError(f"echo of {len(self.msg)} bytes came back different"))
            return
        self.received.clear()
        self.verified += 1
        self.left -= 1
        if self.left:
            self.transport.write(self.msg)
        else:
            self._finish(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or ConnectionError("echo connection closed early"))

    def _finish(self, exc: BaseException | None) -> None:
        if self.done.done():
            return
        if exc is None:
            self.done.set_result(self.verified)
        else:
            self.done.set_exception(exc)


async def echo(api: ModuleType, n: int, size: int, conns: int) -> int:
    """``n`` round trips of ``size`` bytes over ``conns`` protocol connections."""
    loop = api.get_running_loop()
    msg = message(size)
    server = await loop.create_server(_EchoServer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transports = []
    try:
        waiters = []
        for count in share(n, conns):
            done = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda count=count, done=done: _EchoClient(msg, count, done), "127.0.0.1", port
            )
            transports.append(transport)
            waiters.append(done)
        verified = sum(await api.gather(*waiters))
    finally:
        for transport in transports:
            transport.close()
        server.close()
        await server.wait_closed()
    return check_echo(verified, max(n, conns), "protocol echo")


WORKLOADS = variants("protocol", "Protocols (create_server/create_connection)", echo)
