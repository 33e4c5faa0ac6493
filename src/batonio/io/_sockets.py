"""The loop's low-level socket API (``sock_*``) and name resolution.

Follows ``asyncio.base_events`` (``getaddrinfo``, ``getnameinfo``, ``_ensure_resolved`` and
its ``_ipaddr_info`` short cut) and ``asyncio.selector_events`` (the ``sock_*`` coroutines)
for Python 3.11 to 3.13, whose behaviour here is the same.

Name resolution runs ``socket.getaddrinfo`` in the default executor, except when the host
is already a numeric IPv4/IPv6 address and the port numeric: that answer is built at once,
without a thread, so connecting to ``127.0.0.1`` never waits for the executor.

Invariants of the ``sock_*`` calls:

* The operation is tried at once; only ``BlockingIOError``/``InterruptedError`` makes the
  call register a reader or writer for the socket's fd, whose callback retries it.
* The registration lives exactly as long as the call's future: a done-callback removes it,
  so a cancelled call leaves no fd registered and no callback behind.
* One reader and one writer per fd, as in asyncio: a second ``sock_recv`` on the same socket
  replaces the first one's reader (the first call then waits until cancelled).  The
  done-callback of the replaced call sees its handle cancelled and leaves the new one alone.
* Deviation from asyncio (batonio's issue 8): a blocking socket is refused with
  ``ValueError("the socket must be non-blocking")`` always, not only in debug mode, since a
  blocking call would stall the whole loop.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._base_loop import logger
from ._socket_options import check_not_ssl_socket

if TYPE_CHECKING:
    from .._core import Future, Handle

__all__ = ["SocketsMixin", "ipaddr_info"]

_HAS_IPV6 = hasattr(socket, "AF_INET6")
_INET_PROTOS = frozenset((0, socket.IPPROTO_TCP, socket.IPPROTO_UDP))
_PROTO_OF_TYPE: dict[int, int] = {socket.SOCK_STREAM: socket.IPPROTO_TCP, socket.SOCK_DGRAM: socket.IPPROTO_UDP}

AddrInfo = tuple[Any, Any, int, str, tuple[Any, ...]]


# ---------------------------------------------------------------------- resolution
def _numeric_port(port: Any) -> int | None:
    """The port as an int when no service-name lookup is needed, else None."""
    if port is None or port == b"" or port == "":
        return 0
    try:
        return int(port)
    except (TypeError, ValueError):
        return None  # a service name such as "http": getaddrinfo must answer


def ipaddr_info(
    host: Any, port: Any, family: int, type: int, proto: int, flowinfo: int = 0, scopeid: int = 0
) -> AddrInfo | None:
    """The addrinfo tuple for an already numeric host and port, or None if a lookup is needed.

    asyncio's ``_ipaddr_info`` rules: only stream and datagram sockets of a TCP/UDP (or
    unspecified) protocol qualify; ``host=None`` and IPv6 zone indices (``'::1%lo'``, which
    Linux's ``inet_pton`` refuses) go to ``getaddrinfo``; an unspecified family tries IPv4
    and then IPv6.
    """
    if not hasattr(socket, "inet_pton") or host is None or proto not in _INET_PROTOS:
        return None
    resolved_proto = _PROTO_OF_TYPE.get(type)
    if resolved_proto is None:
        return None
    port_number = _numeric_port(port)
    if port_number is None:
        return None
    if family == socket.AF_UNSPEC:
        families: list[int] = [socket.AF_INET, socket.AF_INET6] if _HAS_IPV6 else [socket.AF_INET]
    else:
        families = [family]
    if isinstance(host, bytes):
        host = host.decode("idna")
    if "%" in host:
        return None
    for af in families:
        try:
            socket.inet_pton(af, host)
        except OSError:
            continue
        if _HAS_IPV6 and af == socket.AF_INET6:
            return af, type, resolved_proto, "", (host, port_number, flowinfo, scopeid)
        return af, type, resolved_proto, "", (host, port_number)
    return None


def _check_socket(sock: Any) -> None:
    """The checks every ``sock_*`` call makes first (non-blocking always: issue 8)."""
    check_not_ssl_socket(sock)
    if sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


# ---------------------------------------------------------------------- retry callbacks
# Each runs as the reader/writer handle of one pending sock_* call: it retries the operation
# and completes the call's future, or returns to wait for the next readiness event.  A done
# future means the call was cancelled and its done-callback is about to unregister us.
def _retry(fut: Future, sock: Any, method: str, args: tuple[Any, ...]) -> None:
    """Retry ``sock.<method>(*args)`` (recv, recv_into, recvfrom, recvfrom_into, sendto).

    The method is looked up on each attempt, as asyncio does: a wrapper or a test double
    may replace it while the call waits.
    """
    if fut.done():
        return
    try:
        result = getattr(sock, method)(*args)
    except (BlockingIOError, InterruptedError):
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


def _send_rest(fut: Future, sock: socket.socket, view: memoryview, position: list[int]) -> None:
    """Send more of ``view`` from ``position[0]``; done when all of it is sent."""
    if fut.done():
        return
    start = position[0]
    try:
        sent = sock.send(view[start:])
    except (BlockingIOError, InterruptedError):
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
        return
    start += sent
    if start == len(view):
        fut.set_result(None)
    else:
        position[0] = start


def _connect_finished(fut: Future, sock: socket.socket, address: Any) -> None:
    """The socket is writable: SO_ERROR tells whether the connection in progress succeeded."""
    if fut.done():
        return
    try:
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            # OSError picks the subclass from the errno: ConnectionRefusedError, or
            # BlockingIOError while the connection is still in progress.
            raise OSError(err, f"Connect call failed {address}")
    except (BlockingIOError, InterruptedError):
        pass  # still connecting: stay registered
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(None)
    finally:
        del fut  # break future -> exception -> traceback -> this frame -> future


def _accept_attempt(fut: Future, sock: socket.socket) -> None:
    """Accept one connection; the new socket is non-blocking, as asyncio sets it."""
    if fut.done():
        return
    try:
        conn, address = sock.accept()
        conn.setblocking(False)
    except (BlockingIOError, InterruptedError):
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result((conn, address))


def _byte_length(data: Any) -> int:
    """The size of a bytes-like object in bytes (a memoryview's len counts items)."""
    if type(data) is bytes or type(data) is bytearray:
        return len(data)
    return memoryview(data).nbytes


class SocketsMixin:
    """``sock_*`` coroutines, ``getaddrinfo``/``getnameinfo`` and ``_ensure_resolved``."""

    if TYPE_CHECKING:  # provided by the engine and EventLoop
        _debug: bool
        slow_callback_duration: float

        def time(self) -> float: ...
        def create_future(self) -> Future: ...
        def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Future: ...
        def _ensure_fd_no_transport(self, fd: Any) -> None: ...
        def _add_reader(self, fd: int, callback: Callable[..., object], args: tuple[Any, ...]) -> Handle: ...
        def _add_writer(self, fd: int, callback: Callable[..., object], args: tuple[Any, ...]) -> Handle: ...
        def _remove_reader(self, fd: int) -> bool: ...
        def _remove_writer(self, fd: int) -> bool: ...

    # ------------------------------------------------------------------ name resolution
    async def getaddrinfo(
        self, host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[AddrInfo]:
        """Resolve ``host``/``port`` with ``socket.getaddrinfo`` in the default executor."""
        resolve: Callable[..., list[AddrInfo]] = self._getaddrinfo_debug if self._debug else socket.getaddrinfo
        return await self.run_in_executor(None, resolve, host, port, family, type, proto, flags)  # type: ignore[no-any-return]

    async def getnameinfo(self, sockaddr: tuple[Any, ...], flags: int = 0) -> tuple[str, str]:
        """Look ``sockaddr`` up with ``socket.getnameinfo`` in the default executor."""
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)  # type: ignore[no-any-return]

    def _getaddrinfo_debug(
        self, host: Any, port: Any, family: int, type: int, proto: int, flags: int
    ) -> list[AddrInfo]:
        """getaddrinfo with asyncio's debug log lines (INFO when slower than a slow callback)."""
        parts = [f"{host}:{port!r}"]
        for name, value in (("family", family), ("type", type), ("proto", proto), ("flags", flags)):
            if value:
                parts.append(f"{name}={value!r}")
        what = ", ".join(parts)
        logger.debug("Get address info %s", what)
        started = self.time()
        addrinfo = socket.getaddrinfo(host, port, family, type, proto, flags)
        elapsed = self.time() - started
        message = f"Getting address info {what} took {elapsed * 1e3:.3f}ms: {addrinfo!r}"
        if elapsed >= self.slow_callback_duration:
            logger.info(message)
        else:
            logger.debug(message)
        return addrinfo  # type: ignore[return-value]

    async def _ensure_resolved(
        self,
        address: tuple[Any, ...],
        *,
        family: int = 0,
        type: int = socket.SOCK_STREAM,
        proto: int = 0,
        flags: int = 0,
        loop: Any = None,
    ) -> list[AddrInfo]:
        """getaddrinfo's answer for ``(host, port[, flowinfo, scopeid])``; numeric ones at once.

        ``loop`` is accepted for asyncio's signature and, as there, does the lookup.
        """
        host, port = address[:2]
        info = ipaddr_info(host, port, family, type, proto, *address[2:])
        if info is not None:
            return [info]
        resolver = self if loop is None else loop
        return await resolver.getaddrinfo(host, port, family=family, type=type, proto=proto, flags=flags)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ waiting for readiness
    def _wait_readable(self, sock: Any, callback: Callable[..., object], args: tuple[Any, ...]) -> Future:
        """A future that ``callback(future, *args)`` completes, run whenever ``sock`` is readable."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        handle = self._add_reader(fd, callback, (fut, *args))
        fut.add_done_callback(functools.partial(self._stop_reading_for, fd, handle))
        return fut

    def _wait_writable(self, sock: Any, callback: Callable[..., object], args: tuple[Any, ...]) -> Future:
        """A future that ``callback(future, *args)`` completes, run whenever ``sock`` is writable."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        handle = self._add_writer(fd, callback, (fut, *args))
        fut.add_done_callback(functools.partial(self._stop_writing_for, fd, handle))
        return fut

    def _stop_reading_for(self, fd: int, handle: Handle, fut: Future) -> None:
        """Done-callback: drop the call's reader unless another call has replaced it."""
        if not handle.cancelled():
            self._remove_reader(fd)

    def _stop_writing_for(self, fd: int, handle: Handle, fut: Future) -> None:
        """Done-callback: drop the call's writer unless another call has replaced it."""
        if not handle.cancelled():
            self._remove_writer(fd)

    # ------------------------------------------------------------------ receiving
    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        """Receive up to ``n`` bytes from ``sock``."""
        _check_socket(sock)
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self._wait_readable(sock, _retry, (sock, "recv", (n,)))
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            del fut

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        """Receive into the writable buffer ``buf``; return the number of bytes written."""
        _check_socket(sock)
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self._wait_readable(sock, _retry, (sock, "recv_into", (buf,)))
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            del fut

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
        """Receive a datagram of up to ``bufsize`` bytes: ``(data, address)``."""
        _check_socket(sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self._wait_readable(sock, _retry, (sock, "recvfrom", (bufsize,)))
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            del fut

    async def sock_recvfrom_into(self, sock: socket.socket, buf: Any, nbytes: int = 0) -> tuple[int, Any]:
        """Receive a datagram into ``buf`` (``nbytes=0``: its length): ``(nbytes, address)``."""
        _check_socket(sock)
        if not nbytes:
            nbytes = len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self._wait_readable(sock, _retry, (sock, "recvfrom_into", (buf, nbytes)))
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            del fut

    # ------------------------------------------------------------------ sending
    async def sock_sendall(self, sock: socket.socket, data: Any) -> None:
        """Send all of ``data``, waiting for writability as often as needed."""
        _check_socket(sock)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent == _byte_length(data):
            return
        view = memoryview(data).cast("B")
        fut = self._wait_writable(sock, _send_rest, (sock, view, [sent]))
        try:
            await fut
        finally:
            del fut

    async def sock_sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        """Send the datagram ``data`` to ``address``; return the number of bytes sent."""
        _check_socket(sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self._wait_writable(sock, _retry, (sock, "sendto", (data, address)))
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            del fut

    # ------------------------------------------------------------------ connecting and accepting
    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        """Connect ``sock`` to ``address`` (an IPv4/IPv6 host name is resolved first)."""
        _check_socket(sock)
        if sock.family == socket.AF_INET or (_HAS_IPV6 and sock.family == socket.AF_INET6):
            resolved = await self._ensure_resolved(
                address, family=sock.family, type=sock.type, proto=sock.proto
            )
            address = resolved[0][4]
        try:
            sock.connect(address)
        except (BlockingIOError, InterruptedError):
            # In progress (EINPROGRESS; EINTR too, gh-67806/bpo-23618): the kernel goes on
            # connecting and the socket turns writable when it has succeeded or failed.
            pass
        else:
            return
        fut = self._wait_writable(sock, _connect_finished, (sock, address))
        try:
            await fut
        finally:
            del fut

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        """Accept a connection on the listening ``sock``: ``(conn, address)``, conn non-blocking."""
        _check_socket(sock)
        try:
            conn, address = sock.accept()
        except (BlockingIOError, InterruptedError):
            pass
        else:
            conn.setblocking(False)
            return conn, address
        fut = self._wait_readable(sock, _accept_attempt, (sock,))
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            del fut
