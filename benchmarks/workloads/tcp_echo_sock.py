"""TCP echo with the loop's socket calls: ``sock_accept``, ``sock_connect``, ``sock_recv_into``,
``sock_sendall`` on non-blocking sockets, one task per end of each connection.

No transport at all: each call tries the socket at once and waits for readiness only when it
would block, so this measures the ``sock_*`` path and its reader/writer registration.  See
``_echo.py`` for the variants.
"""

from __future__ import annotations

import asyncio
import socket
from types import ModuleType

from ._echo import check_echo, message, share, variants

__all__ = ["WORKLOADS"]

_CHUNK = 65536


async def _serve_one(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    conn.setblocking(False)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while nbytes := await loop.sock_recv_into(conn, buf):
            await loop.sock_sendall(conn, view[:nbytes])


async def _accept(
    api: ModuleType, loop: asyncio.AbstractEventLoop, listener: socket.socket, conns: int
) -> None:
    servers = []
    for _ in range(conns):
        conn, _ = await loop.sock_accept(listener)
        servers.append(api.ensure_future(_serve_one(loop, conn)))
    await api.gather(*servers)


async def _client(loop: asyncio.AbstractEventLoop, port: int, msg: bytes, count: int) -> int:
    size = len(msg)
    buf = bytearray(size)
    view = memoryview(buf)
    verified = 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        for _ in range(count):
            await loop.sock_sendall(sock, msg)
            got = 0
            while got < size:
                nbytes = await loop.sock_recv_into(sock, view[got:])
                if not nbytes:
                    raise ConnectionError("echo connection closed early")
                got += nbytes
            if buf != msg:
                raise AssertionError(f"echo of {size} bytes came back different")
            verified += 1
    return verified


async def echo(api: ModuleType, n: int, size: int, conns: int) -> int:
    """``n`` round trips of ``size`` bytes over ``conns`` connections driven by ``sock_*``."""
    loop = api.get_running_loop()
    msg = message(size)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(conns)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        server = api.ensure_future(_accept(api, loop, listener, conns))
        try:
            counts = share(n, conns)
            verified = sum(await api.gather(*(_client(loop, port, msg, c) for c in counts)))
        except BaseException:
            server.cancel()
            raise
        finally:
            await api.gather(server, return_exceptions=True)
    return check_echo(verified, max(n, conns), "sock_* echo")


WORKLOADS = variants("sock", "loop.sock_* calls", echo)
