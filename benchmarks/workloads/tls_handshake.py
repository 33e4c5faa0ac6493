"""TLS handshakes per second: connect, complete the handshake, close, on 10 connections at once.

Ten client tasks each loop: ``create_connection(ssl=..., server_hostname=...)`` to a TLS
``create_server`` in the same loop (the call returns once the handshake is done and the
certificate verified), then ``close()`` and wait for ``connection_lost``.  One op is one full
handshake counted on the client side, and the server's side of every connection must also
have been made and lost before the run ends, so nothing is left pending.  The CPU column
counts both ends' cryptography (ECDSA P-256 leaf, TLS 1.3; see ``_tls.py``).
"""

from __future__ import annotations

import asyncio
from types import ModuleType

from . import _tls
from ._echo import share

__all__ = ["DESCRIPTION", "NAME", "SIZE", "run"]

NAME = "tls_handshake"
DESCRIPTION = "TLS 1.3 handshakes (connect, handshake, close), 10 clients at once"
SIZE = 1_000

#: Clients handshaking concurrently.
CLIENTS = 10


class _Server(asyncio.Protocol):
    """Counts the server's connections made and lost; sets ``all_gone`` after the last."""

    def __init__(self, counts: dict[str, int], all_gone: asyncio.Event) -> None:
        self.counts = counts
        self.all_gone = all_gone

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.counts["made"] += 1
        self.counts["open"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.counts["open"] -= 1
        if not self.counts["open"] and self.counts["made"] == self.counts["expected"]:
            self.all_gone.set()


class _Client(asyncio.Protocol):
    """Resolves ``lost`` when the connection is gone."""

    def __init__(self, lost: asyncio.Future[None]) -> None:
        self.lost = lost

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def _client(api: ModuleType, port: int, count: int) -> int:
    loop = api.get_running_loop()
    ctx = _tls.client_context()
    for _ in range(count):
        lost = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda lost=lost: _Client(lost),
            "127.0.0.1",
            port,
            ssl=ctx,
            server_hostname=_tls.HOSTNAME,
        )
        if transport.get_extra_info("peercert") is None:
            raise AssertionError("handshake done without a verified peer certificate")
        transport.close()
        await lost
    return count


async def run(api: ModuleType, n: int) -> int:
    """Do ``n`` handshakes over ``CLIENTS`` concurrent clients; return how many were done."""
    loop = api.get_running_loop()
    expected = max(n, CLIENTS)
    counts = {"made": 0, "open": 0, "expected": expected}
    all_gone = api.Event()
    server = await loop.create_server(
        lambda: _Server(counts, all_gone), "127.0.0.1", 0, ssl=_tls.server_context()
    )
    port = server.sockets[0].getsockname()[1]
    try:
        done = sum(await api.gather(*(_client(api, port, c) for c in share(n, CLIENTS))))
        # Every server-side connection, handshaken and closed too (bounded: a loop that
        # loses one fails here rather than hanging the run).
        await api.wait_for(all_gone.wait(), 30)
    finally:
        server.close()
        await server.wait_closed()
    if done != expected or counts["made"] != expected:
        raise AssertionError(
            f"TLS handshakes: {done} on the clients, {counts['made']} on the server, "
            f"expected {expected}"
        )
    return done
