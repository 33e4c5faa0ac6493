"""The ``websockets`` package (its asyncio implementation) serving and connecting on a loop.

Server (``websockets.asyncio.server.serve``) and clients (``websockets.asyncio.client.connect``)
share the loop under test, plain and over TLS; the echo handler also reports the loop class.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from _integ import loop_class_name, require

require("websockets")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosedOK  # noqa: E402

Run = Callable[..., Any]


async def echo(ws: ServerConnection) -> None:
    """Echo every message; answer ``loop?`` with the running loop's class."""
    async for message in ws:
        if message == "loop?":
            cls = type(asyncio.get_running_loop())
            await ws.send(f"{cls.__module__}.{cls.__qualname__}")
        else:
            await ws.send(message)


def _port(server: Any) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


def test_echo_text_and_binary(arun: Run, loop_kind: str) -> None:
    big = os.urandom(2 * 1024 * 1024)

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, max_size=None) as server:
            url = f"ws://127.0.0.1:{_port(server)}"
            async with connect(url, max_size=None) as ws:
                await ws.send("loop?")
                assert await ws.recv() == loop_class_name(loop_kind)
                for i in range(100):
                    await ws.send(f"hello {i}")
                    assert await ws.recv() == f"hello {i}"
                await ws.send(big)
                assert await ws.recv() == big
                pong = await ws.ping()
                await pong
            assert ws.close_code == 1000

    arun(main())


def test_many_clients(arun: Run) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{_port(server)}"

            async def client(i: int) -> list[str | bytes]:
                async with connect(url) as ws:
                    got = []
                    for j in range(10):
                        await ws.send(f"{i}:{j}")
                        got.append(await ws.recv())
                    return got

            results = await asyncio.gather(*(client(i) for i in range(30)))
        assert results == [[f"{i}:{j}" for j in range(10)] for i in range(30)]

    arun(main())


def test_server_closes_connection(arun: Run) -> None:
    async def close_at_once(ws: ServerConnection) -> None:
        await ws.close(code=1000, reason="done")

    async def main() -> None:
        async with serve(close_at_once, "127.0.0.1", 0) as server:
            async with connect(f"ws://127.0.0.1:{_port(server)}") as ws:
                try:
                    await ws.recv()
                except ConnectionClosedOK as exc:
                    assert exc.rcvd is not None and exc.rcvd.reason == "done"
                else:
                    raise AssertionError("recv() returned after the server closed")

    arun(main())


def test_wss(arun: Run, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, ssl=server_ssl) as server:
            async with connect(f"wss://127.0.0.1:{_port(server)}", ssl=client_ssl) as ws:
                for i in range(20):
                    await ws.send(b"%d" % i * 1000)
                    assert await ws.recv() == b"%d" % i * 1000

    arun(main())


def test_wss_loop_many_clients_and_big_messages(
    arun: Run, loop_kind: str, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    big = os.urandom(1024 * 1024 + 3)

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, ssl=server_ssl, max_size=None) as server:
            url = f"wss://localhost:{_port(server)}"

            async def client(i: int) -> list[str | bytes]:
                async with connect(url, ssl=client_ssl, max_size=None) as ws:
                    assert ws.transport.get_extra_info("ssl_object") is not None
                    got = []
                    for j in range(5):
                        await ws.send(f"{i}:{j}")
                        got.append(await ws.recv())
                    return got

            results = await asyncio.gather(*(client(i) for i in range(20)))
            assert results == [[f"{i}:{j}" for j in range(5)] for i in range(20)]
            async with connect(url, ssl=client_ssl, max_size=None) as ws:
                await ws.send("loop?")
                assert await ws.recv() == loop_class_name(loop_kind)
                await ws.send(big)
                assert await ws.recv() == big
                await (await ws.ping())
            assert ws.close_code == 1000

    arun(main())


def test_wss_untrusted_certificate_is_refused(
    arun: Run, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, ssl=server_ssl) as server:
            # The default context does not trust the test CA: the client's handshake fails.
            with pytest.raises(ssl.SSLCertVerificationError):
                async with connect(f"wss://127.0.0.1:{_port(server)}", ssl=True):
                    pass
            # The server is unharmed: a trusting client still gets through.
            async with connect(f"wss://127.0.0.1:{_port(server)}", ssl=client_ssl) as ws:
                await ws.send("after")
                assert await ws.recv() == "after"

    arun(main())
