"""A plain ASGI application that uvicorn serves in the integration tests (no framework).

* ``GET /`` — ``Hello, world!`` (13 bytes);
* ``GET /loop`` — ``module.QualName`` of the running loop's class, and whether the
  lifespan startup saw the same loop class;
* ``POST /echo`` — the request body back;
* ``GET /stream`` — 20 body messages of 10,000 bytes (chunked on the wire);
* websocket ``/ws`` — echoes text and bytes messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["app"]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

HELLO = b"Hello, world!"
_state: dict[str, str] = {}


def _loop_name() -> str:
    cls = type(asyncio.get_running_loop())
    return f"{cls.__module__}.{cls.__qualname__}"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _state["startup_loop"] = _loop_name()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _respond(send: Send, body: bytes, status: int = 200) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    path, method = scope["path"], scope["method"]
    if path == "/" and method == "GET":
        await _respond(send, HELLO)
    elif path == "/loop":
        same = _state.get("startup_loop") == _loop_name()
        await _respond(send, f"{_loop_name()} lifespan-same={same}".encode())
    elif path == "/echo" and method == "POST":
        await _respond(send, await _read_body(receive))
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(20):
            await send(
                {"type": "http.response.body", "body": bytes([97 + i]) * 10_000, "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
    else:
        await _respond(send, b"not found", 404)


async def _websocket(receive: Receive, send: Send) -> None:
    message = await receive()
    assert message["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The ASGI entry point."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "websocket":
        await _websocket(receive, send)
