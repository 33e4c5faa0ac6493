"""Stream connections: create_connection, create_unix_connection, connect_accepted_socket.

Follows asyncio's ``BaseEventLoop.create_connection`` (argument checks and messages, the
order addresses are tried in, how the errors of every attempt are combined, ``all_errors``
on 3.12+) and ``unix_events.create_unix_connection``.  Happy Eyeballs (RFC 8305) is our own
staggered race: attempt *n+1* starts ``happy_eyeballs_delay`` seconds after attempt *n*
started, or at once when attempt *n* fails; the first socket to connect wins, the other
attempts are cancelled and their sockets closed.  ``interleave`` reorders the resolved
addresses so that families alternate, the first family first.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._core._base_loop import logger
from ._socket_options import check_not_ssl_socket, check_tls_timeouts_early
from ._transport import SocketTransport

__all__ = ["ConnectionsMixin", "interleave_addrinfos"]

_PY312 = sys.version_info >= (3, 12)
_AddrInfo = tuple[Any, ...]


def interleave_addrinfos(infos: list[_AddrInfo], first_family_count: int = 1) -> list[_AddrInfo]:
    """Reorder addresses so families alternate (RFC 8305 section 4), the first family first."""
    by_family: dict[Any, list[_AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    groups = list(by_family.values())
    ordered: list[_AddrInfo] = []
    if first_family_count > 1:
        ordered.extend(groups[0][: first_family_count - 1])
        groups[0] = groups[0][first_family_count - 1 :]
    for row in itertools.zip_longest(*groups):
        ordered.extend(info for info in row if info is not None)
    return ordered


def _combined_error(exceptions: list[BaseException], all_errors: bool) -> BaseException:
    """One exception for every failed attempt, as asyncio combines them."""
    if all_errors:
        return ExceptionGroup("create_connection failed", exceptions)  # type: ignore[type-var]
    if len(exceptions) == 1:
        return exceptions[0]
    model = str(exceptions[0])
    if all(str(exc) == model for exc in exceptions):
        return exceptions[0]
    return OSError("Multiple exceptions: {}".format(", ".join(str(exc) for exc in exceptions)))


def _check_tls_client_arguments(
    ssl: Any, host: Any, server_hostname: Any, handshake: Any, shutdown: Any
) -> Any:
    """asyncio's checks of the TLS arguments; returns the server_hostname to use."""
    if server_hostname is not None and not ssl:
        raise ValueError("server_hostname is only meaningful with ssl")
    if server_hostname is None and ssl:
        if not host:
            raise ValueError("You must set server_hostname when using ssl without a host")
        server_hostname = host
    if handshake is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if shutdown is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    check_tls_timeouts_early(handshake, shutdown)
    return server_hostname



class ConnectionsMixin:
    """Client-side stream connections on batonio's loop."""

    _debug: bool

    async def create_connection(
        self,
        protocol_factory: Callable[[], Any],
        host: Any = None,
        port: Any = None,
        *,
        ssl: Any = None,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        sock: Any = None,
        local_addr: Any = None,
        server_hostname: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        happy_eyeballs_delay: float | None = None,
        interleave: int | None = None,
        all_errors: bool = False,
    ) -> tuple[Any, Any]:
        """Connect to host/port (or use ``sock``); return ``(transport, protocol)``."""
        if all_errors and not _PY312:
            raise TypeError("create_connection() got an unexpected keyword argument 'all_errors'")
        server_hostname = _check_tls_client_arguments(
            ssl, host, server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout
        )
        if sock is not None:
            check_not_ssl_socket(sock)
        if happy_eyeballs_delay is not None and interleave is None:
            interleave = 1  # RFC 8305 recommends interleaving when racing
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError("host/port and sock can not be specified at the same time")
            sock = await self._connect_to_host(
                host, port, family, proto, flags, local_addr, happy_eyeballs_delay,
                interleave, all_errors,
            )
        else:
            if sock is None:
                raise ValueError("host and port was not specified and no sock specified")
            if sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        transport, protocol = await self._make_stream_transport(
            sock, protocol_factory, ssl, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        if self._debug:
            sock = transport.get_extra_info("socket")
            logger.debug("%r connected to %s:%r: (%r, %r)", sock, host, port, transport, protocol)
        return transport, protocol

    async def _connect_to_host(
        self,
        host: Any,
        port: Any,
        family: int,
        proto: int,
        flags: int,
        local_addr: Any,
        happy_eyeballs_delay: float | None,
        interleave: int | None,
        all_errors: bool,
    ) -> socket.socket:
        infos = await self._ensure_resolved(  # type: ignore[attr-defined]
            (host, port), family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
        )
        if not infos:
            raise OSError("getaddrinfo() returned empty list")
        local_infos = None
        if local_addr is not None:
            local_infos = await self._ensure_resolved(  # type: ignore[attr-defined]
                local_addr, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
            )
            if not local_infos:
                raise OSError("getaddrinfo() returned empty list")
        if interleave:
            infos = interleave_addrinfos(infos, interleave)
        exceptions: list[list[BaseException]] = []
        if happy_eyeballs_delay is None:
            sock = None
            for info in infos:
                try:
                    sock = await self._connect_sock(exceptions, info, local_infos)
                    break
                except OSError:
                    continue
        else:
            attempts = [functools.partial(self._connect_sock, exceptions, info, local_infos) for info in infos]
            sock = await self._staggered_race(attempts, happy_eyeballs_delay)
        if sock is None:
            flat = [exc for attempt in exceptions for exc in attempt]
            try:
                raise _combined_error(flat, all_errors)
            finally:
                del flat, exceptions  # break the cycle through the traceback
        return sock

    async def _connect_sock(
        self,
        exceptions: list[list[BaseException]],
        info: _AddrInfo,
        local_infos: list[_AddrInfo] | None = None,
    ) -> socket.socket:
        """One connection attempt; its errors are appended to a list of its own in ``exceptions``."""
        mine: list[BaseException] = []
        exceptions.append(mine)
        family, type_, proto, _, address = info
        sock = None
        try:
            sock = socket.socket(family=family, type=type_, proto=proto)
            sock.setblocking(False)
            if local_infos is not None:
                _bind_local(sock, family, local_infos, mine)
            await self.sock_connect(sock, address)  # type: ignore[attr-defined]
            return sock
        except OSError as exc:
            mine.append(exc)
            if sock is not None:
                sock.close()
            raise
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        finally:
            exceptions = mine = []  # type: ignore[assignment]

    async def _staggered_race(
        self, attempts: Sequence[Callable[[], Awaitable[socket.socket]]], delay: float
    ) -> socket.socket | None:
        """Happy Eyeballs: start attempts ``delay`` apart (sooner on failure); first win counts."""
        pending: set[asyncio.Task[socket.socket]] = set()
        started = 0
        winner: socket.socket | None = None

        def start_next() -> None:
            nonlocal started
            pending.add(self.create_task(attempts[started]()))  # type: ignore[attr-defined]
            started += 1

        start_next()
        try:
            while pending and winner is None:
                timeout = delay if started < len(attempts) else None
                done, _ = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    start_next()
                    continue
                for task in done:
                    pending.discard(task)
                    if task.cancelled() or task.exception() is not None:
                        continue
                    if winner is None:
                        winner = task.result()
                    else:
                        task.result().close()  # two connected in the same turn: keep one
                if winner is None and started < len(attempts):
                    start_next()
        finally:
            for task in pending:
                task.cancel()
            for task in pending:
                try:
                    late = await task
                except BaseException:
                    continue
                late.close()
        return winner

    async def _make_stream_transport(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], Any],
        ssl: Any,
        server_hostname: Any,
        server_side: bool = False,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Any, Any]:
        """Wrap a connected socket in a transport; return once connection_made() ran."""
        sock.setblocking(False)
        protocol = protocol_factory()
        waiter = self.create_future()  # type: ignore[attr-defined]
        if ssl:
            sslcontext = None if isinstance(ssl, bool) else ssl
            transport = self._make_ssl_transport(  # type: ignore[attr-defined]
                sock, protocol, sslcontext, waiter, server_side=server_side,
                server_hostname=server_hostname, ssl_handshake_timeout=ssl_handshake_timeout,
                ssl_shutdown_timeout=ssl_shutdown_timeout,
            )
        else:
            transport = SocketTransport(self, sock, protocol, waiter)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        return transport, protocol

    async def create_unix_connection(
        self,
        protocol_factory: Callable[[], Any],
        path: Any = None,
        *,
        ssl: Any = None,
        sock: Any = None,
        server_hostname: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Any, Any]:
        """Connect to a Unix socket path (or use ``sock``); return ``(transport, protocol)``."""
        if ssl:
            if server_hostname is None:
                raise ValueError("you have to pass server_hostname when using ssl")
            check_tls_timeouts_early(ssl_handshake_timeout, ssl_shutdown_timeout)
        else:
            if server_hostname is not None:
                raise ValueError("server_hostname is only meaningful with ssl")
            if ssl_handshake_timeout is not None:
                raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
            if ssl_shutdown_timeout is not None:
                raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, path)  # type: ignore[attr-defined]
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
            sock.setblocking(False)
        return await self._make_stream_transport(
            sock, protocol_factory, ssl, server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def connect_accepted_socket(
        self,
        protocol_factory: Callable[[], Any],
        sock: socket.socket,
        *,
        ssl: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Any, Any]:
        """Wrap a connection accepted outside the loop; return ``(transport, protocol)``."""
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        check_not_ssl_socket(sock)
        transport, protocol = await self._make_stream_transport(
            sock, protocol_factory, ssl, "", server_side=True,
            ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        if self._debug:
            sock = transport.get_extra_info("socket")
            logger.debug("%r handled: (%r, %r)", sock, transport, protocol)
        return transport, protocol


def _bind_local(
    sock: socket.socket, family: int, local_infos: list[_AddrInfo], errors: list[BaseException]
) -> None:
    """Bind to the first local address of the same family, as asyncio tries them."""
    for local_family, _, _, _, local_address in local_infos:
        if local_family != family:
            continue
        try:
            sock.bind(local_address)
            return
        except OSError as exc:
            message = (
                f"error while attempting to bind on address {local_address!r}: "
                f"{(exc.strerror or '').lower()}"
            )
            errors.append(OSError(exc.errno, message))
    if errors:
        raise errors.pop()
    raise OSError(f"no matching local address with {family=} found")
