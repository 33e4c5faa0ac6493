"""The loop's low-level socket API (``sock_*``) and name resolution.

Follows ``asyncio.base_events`` (``getaddrinfo``, ``getnameinfo``, ``_ensure_resolved`` and
its ``_ipaddr_info`` short cut) and ``asyncio.selector_events`` (the ``sock_*`` coroutines)
for Python 3.11 to 3.13, whose behaviour here is the same.

Name resolution runs ``socket.getaddrinfo`` in the default executor, except when the host
is already a numeric IPv4/IPv6 address and the port numeric: that answer is built at once,
without a thread, so connecting to ``127.0.0.1`` never waits for the executor.

The ``sock_*`` coroutines themselves live in ``_sockcalls`` (compiled, or interpreted; see
``batonio._extensions``) and are bound here as the loop's methods.  Their invariants:

* The operation is tried at once; only ``BlockingIOError``/``InterruptedError`` makes the
  call register a reader or writer for the socket's fd, whose callback retries it.
* The registration lives no longer than the call: it is dropped when the retry completes
  the call, and otherwise when the call's coroutine ends (cancelled, closed), so a
  cancelled call leaves no fd registered and no callback behind.
* One reader and one writer per fd, as in asyncio: a second ``sock_recv`` on the same socket
  replaces the first one's reader (the first call then waits until cancelled).  The
  replaced call sees its handle cancelled and leaves the new one alone.
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
from .._extensions import select

_calls = select(__package__ or "batonio.io", "_sockcalls")

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
    # sock_sendfile's wait (the sock_* calls have their own waiter in ``_sockcalls``).
    def _wait_writable(self, sock: Any, callback: Callable[..., object], args: tuple[Any, ...]) -> Future:
        """A future that ``callback(future, *args)`` completes, run whenever ``sock`` is writable."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        handle = self._add_writer(fd, callback, (fut, *args))
        fut.add_done_callback(functools.partial(self._stop_writing_for, fd, handle))
        return fut

    def _stop_writing_for(self, fd: int, handle: Handle, fut: Future) -> None:
        """Done-callback: drop the call's writer unless another call has replaced it."""
        if not handle.cancelled():
            self._remove_writer(fd)

    # ------------------------------------------------------------------ the sock_* calls
    # Compiled coroutine functions (``_sockcalls``), bound here as the loop's methods.
    sock_recv = _calls.sock_recv
    sock_recv_into = _calls.sock_recv_into
    sock_recvfrom = _calls.sock_recvfrom
    sock_recvfrom_into = _calls.sock_recvfrom_into
    sock_sendall = _calls.sock_sendall
    sock_sendto = _calls.sock_sendto
    sock_connect = _calls.sock_connect
    sock_accept = _calls.sock_accept
