"""Datagram endpoints: ``loop.create_datagram_endpoint`` and the datagram socket transport.

Follows asyncio's ``base_events.BaseEventLoop.create_datagram_endpoint`` (argument checks,
messages, the pairing of local and remote addresses by family) and
``selector_events._SelectorDatagramTransport`` (the order of protocol calls, flow control,
write-after-close accounting) for the running Python:

- 3.11 and 3.12 drop an empty datagram in ``sendto``; 3.13 sends it (gh-113812) and counts
  8 header bytes per queued datagram in the write buffer size, which it takes back again
  when the datagram leaves the queue (the accounting as fixed by gh-135444).
- 3.13 accepts any ``sock=`` that is not a stream socket ("A datagram socket was expected");
  3.11 and 3.12 want ``SOCK_DGRAM`` ("A UDP Socket was expected").
- No version has ``reuse_address`` (3.11 removed it): passing it is a TypeError, as there.

Invariants of the transport:

- One ``sendto`` is one datagram: never split, never merged.  It is sent at once when
  nothing is queued; a datagram is queued, as an immutable copy with its address, only
  behind another one or when the kernel would block, and the queue drains in order when
  the socket turns writable.
- ``pause_writing`` fires once when the queued size rises above the high-water mark,
  ``resume_writing`` once when it falls back to the low-water mark.
- Reading starts only after ``connection_made`` ran (both go through ``call_soon``, in that
  order), one datagram per readiness event, and stops for good when the transport closes.
- An ``OSError`` from ``recvfrom``/``sendto`` (an ICMP error such as ECONNREFUSED on a
  connected socket, a full buffer) is not fatal: it goes to ``protocol.error_received``.
  Any other exception is fatal: reported through the loop's exception handler, then the
  transport is closed with it.
- ``connection_lost`` is called exactly once, from the loop: after the queue drained
  (``close``) or was dropped (``abort``, a fatal error).  The socket is closed right after
  it and the fd leaves ``loop._transports``.

Reads use ``recvfrom_into`` on one buffer the loop keeps for all its datagram transports
and copy out only the bytes received: a fresh 256 KiB ``recvfrom`` costs about 13 us per
datagram on Linux (the allocator maps and unmaps the block), the copy about 1.4 us.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import sys
import warnings
from asyncio import trsock
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._base_loop import logger
from ._flow import water_marks
from ._socket_options import remove_stale_unix_socket, set_reuseport

if TYPE_CHECKING:
    from .._core import Future, Handle

__all__ = ["DatagramMixin", "DatagramTransport"]

_PY313 = sys.version_info >= (3, 13)
_SEND_EMPTY_DATAGRAMS = _PY313  # gh-113812
_HEADER_SIZE = 8 if _PY313 else 0  # bytes counted per queued datagram (3.13+)
_LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5  # asyncio.constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES
_MAX_DATAGRAM_SIZE = 256 * 1024  # asyncio's max_size for recvfrom
_HAS_AF_UNIX = hasattr(socket, "AF_UNIX")

Address = Any  # a socket address: a tuple for IP families, a str (or bytes) for AF_UNIX


def _set_result_unless_cancelled(fut: Any, result: Any) -> None:
    """Wake the endpoint's waiter unless its caller gave up."""
    if not fut.cancelled():
        fut.set_result(result)


def _sockname(sock: socket.socket) -> Address:
    """``getsockname()``, or None when the socket cannot tell."""
    try:
        return sock.getsockname()
    except OSError:
        return None


def _peername(sock: socket.socket) -> Address:
    """``getpeername()``, or None for an unconnected socket."""
    try:
        return sock.getpeername()
    except OSError:
        return None


class DatagramTransport(asyncio.Transport, asyncio.DatagramTransport):
    """A datagram transport over a non-blocking socket (UDP or Unix datagram)."""

    max_size = _MAX_DATAGRAM_SIZE  # the longest datagram read; longer ones are truncated

    # Read by __del__ and __repr__ even when __init__ failed before setting it.
    _sock: socket.socket | None = None
    _extra: dict[str, Any]  # asyncio.BaseTransport's slot, which get_extra_info() reads

    def __init__(
        self,
        loop: Any,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        address: Address = None,
        waiter: Future | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(extra)
        self._extra["socket"] = trsock.TransportSocket(sock)
        self._extra["sockname"] = _sockname(sock)
        if "peername" not in self._extra:
            self._extra["peername"] = _peername(sock)
        self._loop: Any = loop
        self._sock = sock
        self._sock_fd = sock.fileno()
        self._address = address
        # A connected socket sends with send(): a Unix socketpair's peer name is '' (falsy).
        self._send_connected = self._extra["peername"] is not None
        self._protocol: Any = None
        self._protocol_connected = False
        self.set_protocol(protocol)
        self._read_buffer: bytearray = loop._datagram_read_buffer(self.max_size)
        self._read_view = memoryview(self._read_buffer)
        self._buffer: collections.deque[tuple[bytes, Address]] = collections.deque()
        self._buffer_size = 0
        self._conn_lost = 0  # set when connection_lost is scheduled; counts later writes
        self._closing = False
        self._paused = False
        self._protocol_paused = False
        self._high_water = 64 * 1024
        self._low_water = 16 * 1024
        loop._transports[self._sock_fd] = self
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter, None)

    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self._sock is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._sock_fd}")
        loop = self._loop
        if loop is not None and not loop.is_closed():
            info.append("read=polling" if self._sock_fd in loop._readers else "read=idle")
            state = "polling" if self._sock_fd in loop._writers else "idle"
            info.append(f"write=<{state}, bufsize={self.get_write_buffer_size()}>")
        return "<{}>".format(" ".join(info))

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if self._sock is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._sock.close()

    # ------------------------------------------------------------------ protocol
    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Deliver datagrams and events to ``protocol`` from now on."""
        self._protocol = protocol
        self._protocol_connected = True

    def get_protocol(self) -> asyncio.BaseProtocol:
        """Return the current protocol."""
        return self._protocol  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ reading
    def is_reading(self) -> bool:
        """True while datagrams are being received (not paused, not closing)."""
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        """Stop receiving datagrams until resume_reading()."""
        if not self.is_reading():
            return
        self._paused = True
        self._loop._remove_reader(self._sock_fd)
        if self._loop.get_debug():
            logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        """Receive datagrams again after pause_reading()."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._start_reading()
        if self._loop.get_debug():
            logger.debug("%r resumes reading", self)

    def _start_reading(self) -> None:
        """Watch the socket for datagrams, unless reading is paused or the transport closing."""
        if self.is_reading():
            self._loop._add_reader(self._sock_fd, self._read_ready, ())

    def _read_ready(self) -> None:
        """Receive one datagram and hand it to the protocol."""
        if self._conn_lost:
            return
        try:
            nbytes, addr = self._sock.recvfrom_into(self._read_buffer, self.max_size)  # type: ignore[union-attr]
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._protocol.error_received(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")
            return
        self._protocol.datagram_received(bytes(self._read_view[:nbytes]), addr)

    # ------------------------------------------------------------------ writing
    def sendto(self, data: bytes | bytearray | memoryview, addr: Address = None) -> None:
        """Send ``data`` as one datagram to ``addr`` (the peer's, if the socket is connected)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
        if not data and not _SEND_EMPTY_DATAGRAMS:
            return
        if self._address:
            if addr not in (None, self._address):
                raise ValueError(f"Invalid address: must be None or {self._address}")
            addr = self._address
        if self._conn_lost:
            self._count_write_after_close()
            return
        if not self._buffer:
            try:
                self._send(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                self._loop._add_writer(self._sock_fd, self._sendto_ready, ())
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        payload = bytes(data)  # the caller may reuse its buffer once sendto returns
        self._buffer.append((payload, addr))
        self._buffer_size += len(payload) + _HEADER_SIZE
        self._maybe_pause_protocol()

    def _send(self, data: Any, addr: Address) -> None:
        """One send call: ``send`` on a connected socket, ``sendto`` otherwise."""
        if self._send_connected:
            self._sock.send(data)  # type: ignore[union-attr]
        else:
            self._sock.sendto(data, addr)  # type: ignore[union-attr]

    def _count_write_after_close(self) -> None:
        """Drop a datagram written after close: asyncio counts them and warns past a threshold.

        asyncio does so for a connected transport only; an unconnected one still sends until
        its socket is closed, then fails with AttributeError.  Here both are dropped alike.
        """
        if self._conn_lost >= _LOG_THRESHOLD_FOR_CONNLOST_WRITES:
            logger.warning("socket.send() raised exception.")
        self._conn_lost += 1

    def _sendto_ready(self) -> None:
        """The socket is writable: send queued datagrams until it would block again."""
        buffer = self._buffer
        while buffer:
            data, addr = buffer.popleft()
            self._buffer_size -= len(data) + _HEADER_SIZE
            try:
                self._send(data, addr)
            except (BlockingIOError, InterruptedError):
                buffer.appendleft((data, addr))
                self._buffer_size += len(data) + _HEADER_SIZE
                break
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._maybe_resume_protocol()  # the protocol may queue more here
        if not buffer:
            self._loop._remove_writer(self._sock_fd)
            if self._closing:
                self._conn_lost += 1
                self._call_connection_lost(None)

    # ------------------------------------------------------------------ flow control
    def get_write_buffer_size(self) -> int:
        """Bytes queued for sending (with 8 per datagram from 3.13, as asyncio counts)."""
        return self._buffer_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return ``(low, high)``, the water marks of the write queue."""
        return (self._low_water, self._high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks (defaults: 64 KiB high, a quarter of it low)."""
        self._high_water, self._low_water = water_marks(high, low)
        self._maybe_pause_protocol()

    def _maybe_pause_protocol(self) -> None:
        if self._buffer_size <= self._high_water or self._protocol_paused:
            return
        self._protocol_paused = True
        self._call_flow_control("pause_writing")

    def _maybe_resume_protocol(self) -> None:
        if self._protocol_paused and self._buffer_size <= self._low_water:
            self._protocol_paused = False
            self._call_flow_control("resume_writing")

    def _call_flow_control(self, name: str) -> None:
        """Call ``protocol.pause_writing``/``resume_writing``, reporting a failure."""
        try:
            getattr(self._protocol, name)()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report(f"protocol.{name}() failed", exc)

    def _report(self, message: str, exc: BaseException) -> None:
        """Pass an error to the loop's exception handler with asyncio's context keys."""
        context = {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
        self._loop.call_exception_handler(context)

    # ------------------------------------------------------------------ closing
    def is_closing(self) -> bool:
        """True once close() or abort() was called."""
        return self._closing

    def close(self) -> None:
        """Stop reading; send what is queued, then call connection_lost(None)."""
        if self._closing:
            return
        self._closing = True
        self._loop._remove_reader(self._sock_fd)
        if not self._buffer:
            self._conn_lost += 1
            self._loop._remove_writer(self._sock_fd)
            self._loop.call_soon(self._call_connection_lost, None)

    def abort(self) -> None:
        """Close at once, dropping queued datagrams; connection_lost(None) follows."""
        self._force_close(None)

    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on transport") -> None:
        """Report an unexpected error (an OSError only in debug mode) and close with it."""
        if isinstance(exc, OSError):
            if self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=True)
        else:
            self._report(message, exc)
        self._force_close(exc)

    def _force_close(self, exc: BaseException | None) -> None:
        """Drop the queue, stop watching the socket, schedule connection_lost(exc) once."""
        if self._conn_lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._buffer_size = 0
            self._loop._remove_writer(self._sock_fd)
        if not self._closing:
            self._closing = True
            self._loop._remove_reader(self._sock_fd)
        self._conn_lost += 1
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        """Tell the protocol, then close the socket and let go of loop and protocol."""
        try:
            if self._protocol_connected:
                self._protocol.connection_lost(exc)
        finally:
            loop = self._loop
            if loop._transports.get(self._sock_fd) is self:
                del loop._transports[self._sock_fd]
            self._sock.close()  # type: ignore[union-attr]
            self._sock = None
            self._protocol = None
            self._loop = None


class DatagramMixin:
    """``create_datagram_endpoint`` for UDP (IPv4, IPv6) and Unix datagram sockets."""

    if TYPE_CHECKING:  # provided by the engine, EventLoop and SocketsMixin
        _debug: bool
        _transports: Any

        def create_future(self) -> Future: ...
        def _add_reader(self, fd: int, callback: Callable[..., object], args: tuple[Any, ...]) -> Handle: ...
        async def sock_connect(self, sock: socket.socket, address: Address) -> None: ...
        async def _ensure_resolved(
            self, address: tuple[Any, ...], *, family: int = 0, type: int = ..., proto: int = 0, flags: int = 0
        ) -> list[tuple[Any, Any, int, str, tuple[Any, ...]]]: ...

    _datagram_buffer: bytearray | None = None

    def _datagram_read_buffer(self, size: int) -> bytearray:
        """The loop's receive buffer for datagram transports (they read one at a time)."""
        buffer = self._datagram_buffer
        if buffer is None or len(buffer) < size:
            buffer = self._datagram_buffer = bytearray(size)
        return buffer

    def _make_datagram_transport(
        self,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        address: Address = None,
        waiter: Future | None = None,
        extra: dict[str, Any] | None = None,
    ) -> DatagramTransport:
        """Wrap a ready socket in a datagram transport (asyncio's hook name)."""
        return DatagramTransport(self, sock, protocol, address, waiter, extra)

    async def create_datagram_endpoint(
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        local_addr: Address = None,
        remote_addr: Address = None,
        *,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        reuse_port: bool | None = None,
        allow_broadcast: bool | None = None,
        sock: socket.socket | None = None,
    ) -> tuple[DatagramTransport, asyncio.BaseProtocol]:
        """Create a datagram socket (or adopt ``sock``) and return ``(transport, protocol)``."""
        created = sock is None
        if sock is not None:
            _check_given_socket(
                sock,
                local_addr=local_addr,
                remote_addr=remote_addr,
                family=family,
                proto=proto,
                flags=flags,
                reuse_port=reuse_port,
                allow_broadcast=allow_broadcast,
            )
            sock.setblocking(False)
            r_addr = None
        else:
            pairs = await self._datagram_address_pairs(local_addr, remote_addr, family, proto, flags)
            sock, r_addr = await self._open_datagram_socket(
                pairs, local_addr, remote_addr, reuse_port, allow_broadcast
            )
        try:
            protocol = protocol_factory()
            waiter = self.create_future()
            transport = self._make_datagram_transport(sock, protocol, r_addr, waiter)
        except BaseException:
            if created:
                sock.close()
            raise
        if self._debug:
            _log_endpoint(local_addr, remote_addr, transport, protocol)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        return transport, protocol

    async def _datagram_address_pairs(
        self, local_addr: Address, remote_addr: Address, family: int, proto: int, flags: int
    ) -> list[tuple[tuple[int, int], tuple[Address, Address]]]:
        """``((family, proto), (local, remote))`` candidates to try, in asyncio's order."""
        if not (local_addr or remote_addr):
            if family == 0:
                raise ValueError("unexpected address family")
            return [((family, proto), (None, None))]
        if _HAS_AF_UNIX and family == socket.AF_UNIX:
            for addr in (local_addr, remote_addr):
                if addr is not None and not isinstance(addr, str):
                    raise TypeError("string is expected")
            remove_stale_unix_socket(local_addr)
            return [((family, proto), (local_addr, remote_addr))]
        # Group the resolved addresses by (family, proto), in the order found; a pair is a
        # candidate only if it has an address for each endpoint that was asked for.
        by_family: dict[tuple[int, int], list[Address]] = {}
        for index, addr in ((0, local_addr), (1, remote_addr)):
            if addr is None:
                continue
            if not (isinstance(addr, tuple) and len(addr) == 2):
                raise TypeError("2-tuple is expected")
            infos = await self._ensure_resolved(
                addr, family=family, type=socket.SOCK_DGRAM, proto=proto, flags=flags
            )
            if not infos:
                raise OSError("getaddrinfo() returned empty list")
            for info_family, _, info_proto, _, address in infos:
                by_family.setdefault((info_family, info_proto), [None, None])[index] = address
        pairs = [
            (key, (local, remote))
            for key, (local, remote) in by_family.items()
            if not ((local_addr and local is None) or (remote_addr and remote is None))
        ]
        if not pairs:
            raise ValueError("can not get address information")
        return pairs

    async def _open_datagram_socket(
        self,
        pairs: list[tuple[tuple[int, int], tuple[Address, Address]]],
        local_addr: Address,
        remote_addr: Address,
        reuse_port: bool | None,
        allow_broadcast: bool | None,
    ) -> tuple[socket.socket, Address]:
        """Try each candidate in turn; the first OSError is raised if none works."""
        errors: list[OSError] = []
        for (family, proto), (local_address, remote_address) in pairs:
            sock = None
            try:
                sock = socket.socket(family=family, type=socket.SOCK_DGRAM, proto=proto)
                if reuse_port:
                    set_reuseport(sock)
                if allow_broadcast:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.setblocking(False)
                if local_addr:
                    sock.bind(local_address)
                if remote_addr and not allow_broadcast:
                    # A broadcast endpoint stays unconnected: it sends with sendto().
                    await self.sock_connect(sock, remote_address)
            except OSError as exc:
                if sock is not None:
                    sock.close()
                errors.append(exc)
                continue
            except BaseException:
                if sock is not None:
                    sock.close()
                raise
            return sock, (remote_address if remote_addr else None)
        raise errors[0]


def _check_given_socket(sock: Any, **modifiers: Any) -> None:
    """Refuse a stream ``sock=`` and any socket-shaping argument beside it, in asyncio's words."""
    if _PY313:
        if sock.type == socket.SOCK_STREAM:
            raise ValueError(f"A datagram socket was expected, got {sock!r}")
    elif sock.type != socket.SOCK_DGRAM:
        raise ValueError(f"A UDP Socket was expected, got {sock!r}")
    problems = ", ".join(f"{name}={value}" for name, value in modifiers.items() if value)
    if problems:
        raise ValueError(
            f"socket modifier keyword arguments can not be used when sock is specified. ({problems})"
        )


def _log_endpoint(local_addr: Address, remote_addr: Address, transport: Any, protocol: Any) -> None:
    """asyncio's debug-mode line for a new endpoint (INFO when bound to a local address)."""
    if local_addr:
        message = "Datagram endpoint local_addr=%r remote_addr=%r created: (%r, %r)"
        logger.info(message, local_addr, remote_addr, transport, protocol)
    else:
        message = "Datagram endpoint remote_addr=%r created: (%r, %r)"
        logger.debug(message, remote_addr, transport, protocol)
