"""TLS echo with ``asyncio.Protocol`` on both ends: ``create_server(ssl=)`` / ``create_connection(ssl=)``.

The same echo as ``tcp_echo_protocol`` (the same server and client protocols, one verified
round trip per op), with TLS 1.3 on every connection: the loop's TLS layer encrypts each
write and decrypts each read on both ends, so this measures the TLS read/write pump on top
of the socket transport.  Measured at 1 and 100 KiB messages over 1 and 10 connections; the
handshakes are inside the timed run (a few ms of it).  Certificates: see ``_tls.py``.
"""

from __future__ import annotations

from types import ModuleType

from . import _tls
from ._echo import EchoWorkload, check_echo, message, share
from .tcp_echo_protocol import _EchoClient, _EchoServer

__all__ = ["WORKLOADS"]

#: (KiB, round trips at full size): about 0.3-1 s on stdlib asyncio.
_CELLS = ((1, 10_000), (100, 1_500))


async def echo(api: ModuleType, n: int, size: int, conns: int) -> int:
    """``n`` round trips of ``size`` bytes over ``conns`` TLS protocol connections."""
    loop = api.get_running_loop()
    msg = message(size)
    server_ctx, client_ctx = _tls.server_context(), _tls.client_context()
    server = await loop.create_server(_EchoServer, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    transports = []
    try:
        waiters = []
        for count in share(n, conns):
            done = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda count=count, done=done: _EchoClient(msg, count, done),
                "127.0.0.1",
                port,
                ssl=client_ctx,
                server_hostname=_tls.HOSTNAME,
            )
            transports.append(transport)
            waiters.append(done)
        verified = sum(await api.gather(*waiters))
    finally:
        for transport in transports:
            transport.close()
        server.close()
        await server.wait_closed()
    return check_echo(verified, max(n, conns), "TLS protocol echo")


def _cells() -> list[EchoWorkload]:
    cells = []
    for kib, trips in _CELLS:
        for conns in (1, 10):
            plural = "connection" if conns == 1 else "connections"
            cells.append(
                EchoWorkload(
                    NAME=f"tls_protocol_{kib}k_c{conns}",
                    DESCRIPTION=f"TLS echo with Protocols, {kib} KiB messages, {conns} {plural}",
                    SIZE=trips,
                    size=kib * 1024,
                    conns=conns,
                    echo=echo,
                )
            )
    return cells


WORKLOADS = _cells()
