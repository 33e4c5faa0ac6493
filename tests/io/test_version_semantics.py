"""Networking behaviour that differs between Python 3.11, 3.12 and 3.13, found by running
CPython's own test_asyncio on each version.

Every test runs on stdlib asyncio (the oracle), uvloop and batonio through the ``loop``
fixture; a skip says where the oracle or uvloop cannot take part, and why.
"""
from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest

PY312 = sys.version_info >= (3, 12)


class Collector(asyncio.Protocol):
    """Keeps what it receives; ``done`` resolves at connection_lost."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.data = bytearray()
        self.done = loop.create_future()
        self.got_data = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.got_data.set()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_result(exc)


async def _collecting_server(loop: asyncio.AbstractEventLoop) -> tuple[Any, int, list[Collector]]:
    peers: list[Collector] = []

    def factory() -> Collector:
        peers.append(Collector(loop))
        return peers[-1]

    server = await loop.create_server(factory, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], peers


async def _spin(times: int = 3) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


def test_server_counts_an_attachment_without_transport(
    loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    # CPython 3.12's test_server (TestServer2) drives wait_closed() through the private
    # Server._attach()/_detach(), which take no argument before 3.13.
    if loop_kind == "uvloop":
        pytest.skip("uvloop's Server has no Python-level _attach()/_detach()")
    if loop_kind == "asyncio" and sys.version_info >= (3, 13):
        pytest.skip("asyncio 3.13's Server._attach() requires the transport")

    async def main() -> None:
        server, _, _ = await _collecting_server(loop)
        before_close = asyncio.ensure_future(server.wait_closed())
        await _spin()
        assert not before_close.done()
        server._attach()
        server.close()
        after_close = asyncio.ensure_future(server.wait_closed())
        await _spin()
        assert not before_close.done()  # an attached connection keeps it waiting
        assert after_close.done() is not PY312  # 3.11 returns at once once closed
        server._detach()
        await before_close
        await after_close
        await server.wait_closed()

    loop.run_until_complete(main())


@pytest.mark.parametrize("size", [5, 300_000], ids=["sent-at-once", "queued"])
def test_writelines_with_an_empty_chunk_still_closes(
    loop: asyncio.AbstractEventLoop, loop_kind: str, size: int
) -> None:
    if loop_kind == "asyncio" and PY312:
        # 3.12/3.13's _SelectorSocketTransport keeps the empty memoryview in its buffer
        # after the rest is sent and never finishes closing (gh-155888; 3.11 joins first)
        pytest.skip("asyncio 3.12+ never drains an empty writelines() chunk (gh-155888)")

    async def main() -> None:
        server, port, peers = await _collecting_server(loop)
        transport, client = await loop.create_connection(lambda: Collector(loop), "127.0.0.1", port)
        payload = os.urandom(size)
        transport.writelines([payload, b"", memoryview(b"")])
        transport.close()
        assert await asyncio.wait_for(client.done, 10) is None
        peer = peers[0]
        await asyncio.wait_for(peer.done, 10)
        assert bytes(peer.data) == payload
        server.close()
        await server.wait_closed()

    loop.run_until_complete(main())
