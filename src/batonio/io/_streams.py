"""High-level stream API: open_connection, start_server and their Unix-socket twins.

The classes come from the compiled build (``_streams_c``) unless ``BATONIO_NO_EXTENSIONS=1``
or it is not built, in which case the interpreted ``_streams_py`` serves; both follow
``asyncio.streams`` of the running Python.  The functions ask for the running loop through
``asyncio.get_running_loop()`` and reach it only through ``create_connection`` /
``create_server`` / ``create_unix_*``, so they work on any asyncio loop, not only ours.
Signatures are asyncio's, the same on 3.11, 3.12 and 3.13.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

from .._extensions import select

_stream_impl = select("batonio.io", "_streams")

StreamReader: Any = _stream_impl.StreamReader
StreamReaderProtocol: Any = _stream_impl.StreamReaderProtocol
StreamWriter: Any = _stream_impl.StreamWriter
FlowControlMixin: Any = _stream_impl.FlowControlMixin

__all__ = [
    "FlowControlMixin",
    "StreamReader",
    "StreamReaderProtocol",
    "StreamWriter",
    "open_connection",
    "start_server",
]

_DEFAULT_LIMIT = 2**16  # 64 KiB

ClientConnected = Callable[[Any, Any], Any]


async def open_connection(
    host: Any = None, port: Any = None, *, limit: int = _DEFAULT_LIMIT, **kwds: Any
) -> tuple[Any, Any]:
    """Connect with ``loop.create_connection(...)`` and return a (StreamReader, StreamWriter) pair."""
    loop = asyncio.get_running_loop()
    reader = StreamReader(limit=limit, loop=loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_connection(lambda: protocol, host, port, **kwds)
    return reader, StreamWriter(transport, protocol, reader, loop)


def _server_protocol_factory(
    client_connected_cb: ClientConnected, limit: int, loop: asyncio.AbstractEventLoop
) -> Callable[[], Any]:
    """The protocol factory of a stream server: a fresh reader and protocol per client."""

    def factory() -> Any:
        reader = StreamReader(limit=limit, loop=loop)
        return StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return factory


async def start_server(
    client_connected_cb: ClientConnected,
    host: Any = None,
    port: Any = None,
    *,
    limit: int = _DEFAULT_LIMIT,
    **kwds: Any,
) -> Any:
    """Start a server that calls ``client_connected_cb(reader, writer)`` per client (a coroutine runs as a task)."""
    loop = asyncio.get_running_loop()
    factory = _server_protocol_factory(client_connected_cb, limit, loop)
    return await loop.create_server(factory, host, port, **kwds)


if hasattr(socket, "AF_UNIX"):
    __all__ += ["open_unix_connection", "start_unix_server"]

    async def open_unix_connection(
        path: Any = None, *, limit: int = _DEFAULT_LIMIT, **kwds: Any
    ) -> tuple[Any, Any]:
        """Like open_connection(), over a Unix domain socket."""
        loop = asyncio.get_running_loop()
        reader = StreamReader(limit=limit, loop=loop)
        protocol = StreamReaderProtocol(reader, loop=loop)
        transport, _ = await loop.create_unix_connection(lambda: protocol, path, **kwds)
        return reader, StreamWriter(transport, protocol, reader, loop)

    async def start_unix_server(
        client_connected_cb: ClientConnected,
        path: Any = None,
        *,
        limit: int = _DEFAULT_LIMIT,
        **kwds: Any,
    ) -> Any:
        """Like start_server(), listening on a Unix domain socket."""
        loop = asyncio.get_running_loop()
        factory = _server_protocol_factory(client_connected_cb, limit, loop)
        return await loop.create_unix_server(factory, path, **kwds)
