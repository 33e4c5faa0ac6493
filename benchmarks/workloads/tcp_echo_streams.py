"""TCP echo with streams: ``start_server`` / ``open_connection``, ``StreamReader``/``Writer``.

The server task reads up to 64 KiB at a time and writes it back (draining); each client task
writes the message, drains and ``readexactly``-s the echo, then compares it.  On top of the
transport this adds the stream buffer, the flow-control futures and one task switch per
read on each side.  See ``_echo.py`` for the variants.
"""

from __future__ import annotations

import asyncio
from types import ModuleType

from ._echo import check_echo, message, share, variants

__all__ = ["WORKLOADS"]


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _client(api: ModuleType, port: int, msg: bytes, count: int) -> int:
    reader, writer = await api.open_connection("127.0.0.1", port)
    verified = 0
    try:
        for _ in range(count):
            writer.write(msg)
            await writer.drain()
            if await reader.readexactly(len(msg)) != msg:
                raise AssertionError(f"echo of {len(msg)} bytes came back different")
            verified += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return verified


async def echo(api: ModuleType, n: int, size: int, conns: int) -> int:
    """``n`` round trips of ``size`` bytes over ``conns`` stream connections."""
    msg = message(size)
    server = await api.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        counts = share(n, conns)
        verified = sum(await api.gather(*(_client(api, port, msg, c) for c in counts)))
    finally:
        server.close()
        await server.wait_closed()
    return check_echo(verified, max(n, conns), "streams echo")


WORKLOADS = variants("streams", "streams (start_server/open_connection)", echo)
