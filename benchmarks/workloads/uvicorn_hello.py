"""uvicorn serving a minimal ASGI "hello" app, loaded by ``wrk`` from another process.

The server is a real ``uvicorn.Server`` (its httptools HTTP/1.1 protocol, no lifespan, no
access log) run with ``await server.serve()`` inside the benchmark's child, so the loop it
serves on is the loop under test: ``uvicorn.Config(loop="none")`` keeps uvicorn from
choosing a loop of its own (it only matters to ``Server.run``, which is not called), and
``asyncio.get_running_loop()`` in uvicorn's start-up is the child's loop.  The app answers
every request with the 13-byte body ``Hello, world!``.

The load comes from the same generator as ``http_keepalive`` (``wrk``, one thread, 32
keep-alive connections; or ``_http_loadgen.py`` without wrk), stopped with SIGINT once the
app has answered ``n`` requests; any socket error or non-2xx answer fails the run.  So the
report's ops/CPU-s is requests per CPU-second of the server process alone.  Wall time also
holds uvicorn's start-up and its graceful shutdown, which waits for its 0.1 s tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from .http_keepalive import drive_load

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "uvicorn_hello"
DESCRIPTION = "uvicorn (httptools) + a minimal ASGI hello app under wrk in another process"
SIZE = 10_000

BODY = b"Hello, world!"
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
}
_BODY = {"type": "http.response.body", "body": BODY}

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _HelloApp:
    """The ASGI app: ``Hello, world!`` for every request; sets ``reached`` after ``target``."""

    def __init__(self, target: int, reached: asyncio.Future[None]) -> None:
        self.target = target
        self.answered = 0
        self.reached = reached

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unexpected ASGI scope {scope['type']!r}")
        await send(_START)
        await send(_BODY)
        self.answered += 1
        if self.answered == self.target and not self.reached.done():
            self.reached.set_result(None)


async def _started(api: ModuleType, server: Any, serving: asyncio.Future[None]) -> int:
    """Wait until uvicorn listens; return its port (re-raise if start-up failed)."""
    while not server.started:
        if serving.done():
            serving.result()
            raise RuntimeError("uvicorn stopped before it started serving")
        await api.sleep(0.005)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


async def run(api: ModuleType, n: int) -> int:
    """Serve ``n`` requests with uvicorn on the running loop; return ``n``."""
    import uvicorn

    loop = api.get_running_loop()
    reached: asyncio.Future[None] = loop.create_future()
    app = _HelloApp(n, reached)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, loop="none", http="httptools", ws="none",
        lifespan="off", access_log=False, log_level="warning",
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = api.ensure_future(server.serve())
    try:
        port = await _started(api, server, serving)
        await drive_load(api, port, reached, lambda: app.answered, n)
    finally:
        server.should_exit = True
        await serving
    return n
