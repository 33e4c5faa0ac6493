"""Servers: the ``Server`` object, ``create_server`` and ``create_unix_server``.

Follows asyncio's ``base_events.Server``, ``BaseEventLoop.create_server``,
``BaseSelectorEventLoop._accept_connection`` and ``unix_events.create_unix_server`` for the
running Python: the same argument checks and messages, the same socket options
(``SO_REUSEADDR`` by default on POSIX, ``IPV6_V6ONLY`` on IPv6 sockets so dual-stack hosts
get one socket per family), the same ``wait_closed`` semantics per version (3.11 returns
once ``close()`` ran, 3.12.1+ also waits for the connections to end).

Accepting differs from asyncio in one way that users do not see: a plain (non-TLS)
connection gets its protocol and transport in the accept callback itself, not in a new
task per connection, so accepting costs no coroutine.  An error making the protocol is
reported to the loop's exception handler, as asyncio does in debug mode, and the accepted
socket is closed rather than left for the garbage collector.
"""

from __future__ import annotations

import asyncio
import collections.abc
import errno
import itertools
import os
import socket
import sys
import weakref
from asyncio import trsock
from typing import Any

from .._core._base_loop import logger
from ._socket_options import (
    check_not_ssl_socket,
    check_tls_timeouts_early,
    remove_stale_unix_socket,
    set_reuseport,
)
from ._transport import SocketTransport

__all__ = ["Server", "ServersMixin"]

_PY312 = sys.version_info >= (3, 12)
_PY313 = sys.version_info >= (3, 13)
_ACCEPT_RETRY_DELAY = 1.0
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class Server(asyncio.AbstractServer):
    """A listening server on batonio's loop (what ``create_server`` returns)."""

    def __init__(
        self,
        loop: Any,
        sockets: list[socket.socket],
        protocol_factory: Any,
        ssl_context: Any,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        self._loop = loop
        self._sockets: list[socket.socket] | None = sockets
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()
        self._unnamed_clients = 0
        self._waiters: list[Any] | None = []
        self._protocol_factory = protocol_factory
        self._backlog = backlog
        self._ssl_context = ssl_context
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._ssl_shutdown_timeout = ssl_shutdown_timeout
        self._serving = False
        self._serving_forever_fut: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    # ------------------------------------------------------------------ connections
    def _attach(self, transport: Any = None) -> None:
        # Up to 3.12 asyncio's Server._attach()/_detach() take no argument and only count
        # connections, and CPython 3.12's test_server drives wait_closed() through them: an
        # attachment without a transport is counted too.
        if transport is None:
            self._unnamed_clients += 1
        else:
            self._clients.add(transport)

    def _detach(self, transport: Any = None) -> None:
        if transport is None:
            self._unnamed_clients -= 1
        else:
            self._clients.discard(transport)
        if not self._has_clients() and self._sockets is None:
            self._wakeup()

    def _has_clients(self) -> bool:
        return bool(self._clients) or self._unnamed_clients > 0

    def _wakeup(self) -> None:
        waiters = self._waiters
        self._waiters = None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------ serving
    def _start_serving(self) -> None:
        if self._serving:
            return
        self._serving = True
        for sock in self._sockets or ():
            sock.listen(self._backlog)
            self._loop._start_serving(
                self._protocol_factory,
                sock,
                self._ssl_context,
                self,
                self._backlog,
                self._ssl_handshake_timeout,
                self._ssl_shutdown_timeout,
            )

    def get_loop(self) -> Any:
        """Return the loop the server runs on."""
        return self._loop

    def is_serving(self) -> bool:
        """Return True while the server accepts connections."""
        return self._serving

    @property
    def sockets(self) -> tuple[Any, ...]:
        """The listening sockets (as ``TransportSocket`` wrappers); empty once closed."""
        if self._sockets is None:
            return ()
        return tuple(trsock.TransportSocket(sock) for sock in self._sockets)

    def close(self) -> None:
        """Stop listening and close the listening sockets; connections stay open."""
        sockets = self._sockets
        if sockets is None:
            return
        self._sockets = None
        for sock in sockets:
            self._loop._stop_serving(sock)
        self._serving = False
        forever = self._serving_forever_fut
        if forever is not None and not forever.done():
            forever.cancel()
            self._serving_forever_fut = None
        if not self._has_clients():
            self._wakeup()

    if _PY313:

        def close_clients(self) -> None:
            """Close every connection the server accepted (after their queued data)."""
            for transport in self._clients.copy():
                transport.close()

        def abort_clients(self) -> None:
            """Abort every connection the server accepted, dropping queued data."""
            for transport in self._clients.copy():
                transport.abort()

    async def start_serving(self) -> None:
        """Start accepting connections (a no-op if already serving)."""
        self._start_serving()
        await asyncio.sleep(0)

    async def serve_forever(self) -> None:
        """Accept connections until cancelled; cancelling closes the server."""
        if self._serving_forever_fut is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._sockets is None:
            raise RuntimeError(f"server {self!r} is closed")
        self._start_serving()
        self._serving_forever_fut = self._loop.create_future()
        try:
            await self._serving_forever_fut
        except asyncio.CancelledError:
            try:
                self.close()
                if _PY312:
                    await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    async def wait_closed(self) -> None:
        """Wait until the server is closed (3.12+: and every connection it accepted ended)."""
        if self._waiters is None or (not _PY312 and self._sockets is None):
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()


def _check_ssl_arguments(ssl: Any, handshake: float | None, shutdown: float | None) -> None:
    if isinstance(ssl, bool):
        raise TypeError("ssl argument must be an SSLContext or None")
    if handshake is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if shutdown is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    check_tls_timeouts_early(handshake, shutdown)


def _hosts_of(host: Any) -> list[Any]:
    """create_server's host argument as a list: '' means every interface, a sequence many."""
    if host == "":
        return [None]
    if isinstance(host, str) or not isinstance(host, collections.abc.Iterable):
        return [host]
    return list(host)


class ServersMixin:
    """Listening sockets that accept connections into transports."""

    _debug: bool
    _unix_server_sockets: dict[socket.socket, int]  # 3.13 cleanup_socket: socket -> inode

    async def create_server(
        self,
        protocol_factory: Any,
        host: Any = None,
        port: Any = None,
        *,
        family: int = socket.AF_UNSPEC,
        flags: int = socket.AI_PASSIVE,
        sock: Any = None,
        backlog: int = 100,
        ssl: Any = None,
        reuse_address: bool | None = None,
        reuse_port: bool | None = None,
        keep_alive: bool | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
    ) -> Server:
        """Listen on host/port (every address they resolve to) or on ``sock``; return a Server."""
        if keep_alive is not None and not _PY313:
            raise TypeError("create_server() got an unexpected keyword argument 'keep_alive'")
        _check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if sock is not None:
            check_not_ssl_socket(sock)
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError("host/port and sock can not be specified at the same time")
            if reuse_address is None:
                reuse_address = os.name == "posix" and sys.platform != "cygwin"
            sockets = await self._bind_server_sockets(
                _hosts_of(host), port, family, flags, reuse_address, reuse_port, keep_alive
            )
        else:
            if sock is None:
                raise ValueError("Neither host/port nor sock were specified")
            if sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A Stream Socket was expected, got {sock!r}")
            sockets = [sock]
        return await self._serve(
            sockets, protocol_factory, ssl, backlog, ssl_handshake_timeout,
            ssl_shutdown_timeout, start_serving,
        )

    async def _bind_server_sockets(
        self,
        hosts: list[Any],
        port: Any,
        family: int,
        flags: int,
        reuse_address: bool,
        reuse_port: bool | None,
        keep_alive: bool | None,
    ) -> list[socket.socket]:
        resolved = await asyncio.gather(
            *[self._server_addresses(host, port, family, flags) for host in hosts]
        )
        infos = set(itertools.chain.from_iterable(resolved))
        sockets: list[socket.socket] = []
        completed = False
        try:
            for af, socktype, proto, _canonname, address in infos:
                try:
                    sock = socket.socket(af, socktype, proto)
                except OSError:
                    if self._debug:
                        logger.warning(
                            "create_server() failed to create socket.socket(%r, %r, %r)",
                            af, socktype, proto, exc_info=True,
                        )
                    continue
                sockets.append(sock)
                if reuse_address:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
                if reuse_port:
                    set_reuseport(sock)
                if keep_alive:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)
                if af == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, True)
                try:
                    sock.bind(address)
                except OSError as err:
                    message = (
                        f"error while attempting to bind on address {address!r}: "
                        f"{(err.strerror or '').lower()}"
                    )
                    if _PY313 and err.errno == errno.EADDRNOTAVAIL:
                        sockets.pop()
                        sock.close()
                        if self._debug:
                            logger.warning(message)
                        continue
                    raise OSError(err.errno, message) from None
            if _PY313 and not sockets:
                raise OSError(
                    f"could not bind on any address out of {[info[4] for info in infos]!r}"
                )
            completed = True
        finally:
            if not completed:
                for sock in sockets:
                    sock.close()
        return sockets

    async def _server_addresses(self, host: Any, port: Any, family: int, flags: int) -> list[Any]:
        infos = await self._ensure_resolved(  # type: ignore[attr-defined]
            (host, port), family=family, type=socket.SOCK_STREAM, flags=flags
        )
        if not infos:
            raise OSError(f"getaddrinfo({host!r}) returned empty list")
        return infos  # type: ignore[no-any-return]

    async def _serve(
        self,
        sockets: list[socket.socket],
        protocol_factory: Any,
        ssl: Any,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
        start_serving: bool,
    ) -> Server:
        for sock in sockets:
            sock.setblocking(False)
        server = Server(
            self, sockets, protocol_factory, ssl, backlog, ssl_handshake_timeout, ssl_shutdown_timeout
        )
        if start_serving:
            server._start_serving()
            await asyncio.sleep(0)  # let the accept readers go through one iteration
        if self._debug:
            logger.info("%r is serving", server)
        return server

    async def create_unix_server(
        self,
        protocol_factory: Any,
        path: Any = None,
        *,
        sock: Any = None,
        backlog: int = 100,
        ssl: Any = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
        cleanup_socket: bool = True,
    ) -> Server:
        """Listen on a Unix socket path (or an abstract name, or ``sock``); return a Server."""
        _check_ssl_arguments(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            sock = _bind_unix_path(os.fspath(path))
        else:
            if sock is None:
                raise ValueError("path was not specified, and no sock specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
        if _PY313 and cleanup_socket:
            self._remember_unix_socket(sock)
        return await self._serve(
            [sock], protocol_factory, ssl, backlog, ssl_handshake_timeout,
            ssl_shutdown_timeout, start_serving,
        )

    def _remember_unix_socket(self, sock: socket.socket) -> None:
        """3.13: note the socket file's inode, so closing the server removes that file only."""
        name = sock.getsockname()
        if name and name[0] not in (0, "\x00"):
            try:
                self._unix_server_sockets[sock] = os.stat(name).st_ino
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------------ accepting
    def _start_serving(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        self._add_reader(  # type: ignore[attr-defined]
            sock.fileno(),
            self._accept_connection,
            (protocol_factory, sock, sslcontext, server, backlog, ssl_handshake_timeout, ssl_shutdown_timeout),
        )

    def _stop_serving(self, sock: socket.socket) -> None:
        inodes = self._unix_server_sockets
        path = sock.getsockname() if sock in inodes else None
        self._remove_reader(sock.fileno())  # type: ignore[attr-defined]
        sock.close()
        if path is not None:
            _unlink_if_same_inode(path, inodes.pop(sock))

    def _accept_connection(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any,
        server: Any,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
    ) -> None:
        """The listening socket is readable: accept up to ``backlog`` connections."""
        for _ in range(backlog):
            try:
                conn, address = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise  # the handle reports it to the exception handler
                self._pause_accepting(exc, sock, (
                    protocol_factory, sock, sslcontext, server, backlog,
                    ssl_handshake_timeout, ssl_shutdown_timeout,
                ))
                return
            if self._debug:
                logger.debug("%r got a new connection from %r: %r", server, address, conn)
            conn.setblocking(False)
            extra = {"peername": address}
            if sslcontext:
                self.create_task(  # type: ignore[attr-defined]
                    self._accept_tls_connection(
                        protocol_factory, conn, extra, sslcontext, server,
                        ssl_handshake_timeout, ssl_shutdown_timeout,
                    )
                )
            else:
                self._accept_plain_connection(protocol_factory, conn, extra, server)

    def _pause_accepting(self, exc: OSError, sock: socket.socket, args: tuple[Any, ...]) -> None:
        """Out of fds or memory: report it, stop accepting, try again after a delay."""
        self.call_exception_handler(  # type: ignore[attr-defined]
            {
                "message": "socket.accept() out of system resource",
                "exception": exc,
                "socket": trsock.TransportSocket(sock),
            }
        )
        self._remove_reader(sock.fileno())  # type: ignore[attr-defined]
        self.call_later(_ACCEPT_RETRY_DELAY, self._start_serving, *args)  # type: ignore[attr-defined]

    def _accept_plain_connection(
        self, protocol_factory: Any, conn: socket.socket, extra: dict[str, Any], server: Any
    ) -> None:
        try:
            protocol = protocol_factory()
        except (SystemExit, KeyboardInterrupt):
            conn.close()
            raise
        except BaseException as exc:
            conn.close()
            self.call_exception_handler(  # type: ignore[attr-defined]
                {"message": "Error on transport creation for incoming connection", "exception": exc}
            )
            return
        SocketTransport(self, conn, protocol, None, extra, server)

    async def _accept_tls_connection(
        self,
        protocol_factory: Any,
        conn: socket.socket,
        extra: dict[str, Any],
        sslcontext: Any,
        server: Any,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
    ) -> None:
        protocol = transport = None
        try:
            protocol = protocol_factory()
            waiter = self.create_future()  # type: ignore[attr-defined]
            transport = self._make_ssl_transport(  # type: ignore[attr-defined]
                conn, protocol, sslcontext, waiter, server_side=True, extra=extra, server=server,
                ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
            )
            try:
                await waiter
            except BaseException:
                transport.close()
                raise
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if transport is None:
                conn.close()
            if self._debug:
                context: dict[str, Any] = {
                    "message": "Error on transport creation for incoming connection",
                    "exception": exc,
                }
                if protocol is not None:
                    context["protocol"] = protocol
                if transport is not None:
                    context["transport"] = transport
                self.call_exception_handler(context)  # type: ignore[attr-defined]


def _bind_unix_path(path: Any) -> socket.socket:
    """A Unix stream socket bound to ``path``, replacing a stale socket file there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    remove_stale_unix_socket(path)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
        raise
    except BaseException:
        sock.close()
        raise
    return sock


def _unlink_if_same_inode(path: Any, inode: int) -> None:
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.error("Unable to clean up listening UNIX socket %r: %r", path, err)
