"""An aiohttp.web application for the integration tests, and a context manager serving it.

Routes:

* ``GET /hello`` — ``Hello, world!`` (13 bytes) with an ``X-Loop`` header naming the class
  of the loop that served it, so a test sees the server side really ran on batonio;
* ``POST /echo`` — the request body back, with its SHA-256 in ``X-Sha256``;
* ``GET /stream?chunks=N&size=S`` — a streamed response of N chunks of S bytes, chunk i
  filled with byte ``i % 251``;
* ``GET /ws`` — a websocket echoing text and binary messages; the text ``close`` closes it
  with code 4000;
* ``GET /peer`` — the client's address, to count keep-alive connections;
* ``GET /tls`` — what the server's transport says of the TLS session: ``version cipher``
  from its ``ssl_object`` and ``cipher`` extra infos (``plain`` on a plain connection);
* ``GET /file`` — ``app[FILE]`` as a ``FileResponse`` (the loop's ``sendfile``);
* ``GET /slow`` — waits until ``app[RELEASE]`` (an ``asyncio.Event``) is set; sets
  ``app[SLOW_STARTED]`` first and ``app[SLOW_CANCELLED]`` if the handler is cancelled.

The server binds 127.0.0.1 on a free port and is torn down completely on exit.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from ssl import SSLContext
from typing import Any

from _integ import require

__all__ = [
    "FILE",
    "HELLO",
    "RELEASE",
    "SLOW_CANCELLED",
    "SLOW_STARTED",
    "chunk_bytes",
    "make_app",
    "serve_app",
]

HELLO = b"Hello, world!"

web: Any = require("aiohttp.web")

#: Application keys (aiohttp's typed config keys).
FILE = web.AppKey("file", Path)
RELEASE = web.AppKey("release", asyncio.Event)
SLOW_STARTED = web.AppKey("slow_started", asyncio.Event)
SLOW_CANCELLED = web.AppKey("slow_cancelled", asyncio.Event)


def chunk_bytes(index: int, size: int) -> bytes:
    """The content of chunk ``index`` of the streamed response."""
    return bytes([index % 251]) * size


def _loop_name() -> str:
    cls = type(asyncio.get_running_loop())
    return f"{cls.__module__}.{cls.__qualname__}"


async def _hello(request: Any) -> Any:
    return web.Response(body=HELLO, headers={"X-Loop": _loop_name()})


async def _echo(request: Any) -> Any:
    body = await request.read()
    return web.Response(body=body, headers={"X-Sha256": hashlib.sha256(body).hexdigest()})


async def _stream(request: Any) -> Any:
    chunks = int(request.query.get("chunks", "16"))
    size = int(request.query.get("size", "65536"))
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    await response.prepare(request)
    for i in range(chunks):
        await response.write(chunk_bytes(i, size))
    await response.write_eof()
    return response


async def _ws(request: Any) -> Any:
    aiohttp = require("aiohttp")
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT:
            if msg.data == "close":
                await ws.close(code=4000, message=b"bye")
            else:
                await ws.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def _peer(request: Any) -> Any:
    host, port = request.transport.get_extra_info("peername")[:2]
    return web.Response(text=f"{host}:{port}")


async def _tls(request: Any) -> Any:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return web.Response(text="plain")
    cipher = transport.get_extra_info("cipher")
    return web.Response(text=f"{ssl_object.version()} {cipher[0]}")


async def _file(request: Any) -> Any:
    return web.FileResponse(request.app[FILE])


async def _slow(request: Any) -> Any:
    request.app[SLOW_STARTED].set()
    try:
        await request.app[RELEASE].wait()
    except asyncio.CancelledError:
        request.app[SLOW_CANCELLED].set()
        raise
    return web.Response(text="released")


def make_app() -> Any:
    """Build the test application."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[RELEASE] = asyncio.Event()
    app[SLOW_STARTED] = asyncio.Event()
    app[SLOW_CANCELLED] = asyncio.Event()
    app.router.add_get("/file", _file)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/hello", _hello)
    app.router.add_post("/echo", _echo)
    app.router.add_get("/stream", _stream)
    app.router.add_get("/ws", _ws)
    app.router.add_get("/peer", _peer)
    app.router.add_get("/tls", _tls)
    return app


@asynccontextmanager
async def serve_app(
    app: Any = None,
    ssl_context: SSLContext | None = None,
    unix_path: str | None = None,
    handler_cancellation: bool = False,
) -> AsyncIterator[str]:
    """Serve the app on 127.0.0.1 (a free port) or a Unix socket; yield its base URL."""
    runner = web.AppRunner(
        app if app is not None else make_app(),
        access_log=None,
        handler_cancellation=handler_cancellation,
    )
    await runner.setup()
    try:
        if unix_path is not None:
            await web.UnixSite(runner, unix_path).start()
            yield "http://localhost"
            return
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        host, port = runner.addresses[0][:2]
        scheme = "https" if ssl_context is not None else "http"
        yield f"{scheme}://{host}:{port}"
    finally:
        await runner.cleanup()
