"""UDP echo with ``loop.create_datagram_endpoint`` on both ends, over 127.0.0.1.

The server endpoint sends every datagram back to where it came from; each client endpoint is
connected to the server (``remote_addr``), sends one 1 KiB datagram, waits for the echo,
checks it byte for byte and sends the next.  ``n`` round trips are shared out over 1 or 10
clients running concurrently, so one operation is one verified round trip and the process CPU
counts both ends, as in the TCP echo cells (``_echo.py``).

Loopback UDP does not drop datagrams at one in flight per client, but a loop that loses one
must fail rather than hang: a client that waits longer than ``STALL_SECONDS`` for an echo
fails the run.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any, cast

from ._echo import EchoWorkload, check_echo, message, share

__all__ = ["STALL_SECONDS", "WORKLOADS"]

#: Datagram size and client counts measured.
DATAGRAM = 1024
CLIENTS = (1, 10)
#: Round trips at full size: about 0.5 s on stdlib asyncio.
ROUND_TRIPS = 20_000
#: Seconds without any echo after which the run fails (a lost datagram, a stalled loop).
STALL_SECONDS = 5.0


class _EchoServer(asyncio.DatagramProtocol):
    """Send every datagram back to its sender."""

    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's and rloop's transports do not subclass asyncio's: no isinstance.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class _EchoClient(asyncio.DatagramProtocol):
    """Send ``msg`` ``count`` times, each after its echo came back equal."""

    transport: asyncio.DatagramTransport

    def __init__(self, msg: bytes, count: int, done: asyncio.Future[int]) -> None:
        self.msg = msg
        self.left = count
        self.verified = 0
        self.done = done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.transport.sendto(self.msg)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data != self.msg:
            self._finish(
                AssertionError(f"echo of a {len(self.msg)}-byte datagram came back different")
            )
            return
        self.verified += 1
        self.left -= 1
        if self.left:
            self.transport.sendto(self.msg)
        else:
            self._finish(None)

    def error_received(self, exc: Exception) -> None:
        self._finish(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or ConnectionError("datagram endpoint closed early"))

    def _finish(self, exc: BaseException | None) -> None:
        if self.done.done():
            return
        if exc is None:
            self.done.set_result(self.verified)
        else:
            self.done.set_exception(exc)


async def _wait_all(api: ModuleType, clients: list[_EchoClient]) -> int:
    """Wait for every client; fail if no client made progress for ``STALL_SECONDS``."""
    pending = {c.done for c in clients}
    progress = -1
    while pending:
        now = sum(c.verified for c in clients)
        if now == progress:
            raise AssertionError(
                f"udp echo stalled: {now} round trips verified, none in {STALL_SECONDS:g} s"
                " (a datagram lost?)"
            )
        progress = now
        _, pending = await api.wait(pending, timeout=STALL_SECONDS)
    return sum([c.done.result() for c in clients])


async def echo(api: ModuleType, n: int, size: int, conns: int) -> int:
    """``n`` round trips of ``size``-byte datagrams over ``conns`` client endpoints."""
    loop = api.get_running_loop()
    msg = message(size)
    server, _ = await loop.create_datagram_endpoint(_EchoServer, local_addr=("127.0.0.1", 0))
    addr = server.get_extra_info("sockname")
    transports = []
    try:
        clients = []
        for count in share(n, conns):
            client = _EchoClient(msg, count, loop.create_future())
            transport, _ = await loop.create_datagram_endpoint(
                lambda client=client: client, remote_addr=addr[:2]
            )
            transports.append(transport)
            clients.append(client)
        verified = await _wait_all(api, clients)
    finally:
        for transport in transports:
            transport.close()
        server.close()
        await api.sleep(0)  # let the endpoints' connection_lost run
    return check_echo(verified, max(n, conns), "udp echo")


WORKLOADS = [
    EchoWorkload(
        NAME=f"udp_echo_1k_c{conns}",
        DESCRIPTION=f"UDP echo (create_datagram_endpoint both ends), 1 KiB datagrams,"
        f" {conns} client{'s' if conns > 1 else ''}",
        SIZE=ROUND_TRIPS,
        size=DATAGRAM,
        conns=conns,
        echo=echo,
    )
    for conns in CLIENTS
]
